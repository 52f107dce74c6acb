"""Small runs on the CPU take turns, a slice of time each.

A Playground network's step is dozens of operations each costing more in Python and dispatch
than in arithmetic (`devices.small_step`). Two such runs in threads of one process take turns
at Python's interpreter lock anyway, and badly: two Playground runs at once finished later
than the same two one after the other (0.61 of the speed; docs/benchmarks.md, "Several runs
at once"). So while more than one of them trains, only one steps at a time: each trains for
`SLICE_S`, then hands the turn to the next, round and round. Every run goes on (each page
sees its run move every slice), and together they finish as soon as one after the other.

A run takes its turn at its start and at every report (`TakeTurns`, a training callback,
about every 0.1 s); the time it waits is not training time (`FitState.held_s`). A paused run
gives its turn up, and a run that ends leaves. A run beside a larger network's run does not
wait for it: that one's operations are long enough to let the other's Python run between
them (a Playground run and an Image lab CNN at once: 1.21 times as fast as one after the
other).

The core: imports torch's training loop's callback, never streamlit.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from dlviz.train import Callback, FitState

SLICE_S = 0.5  # a run's turn: about a live view's refresh, so each view moves at every other


class Turns:
    """Whose turn it is among the small runs of this process. Thread-safe; one per process
    (`TURNS`)."""

    def __init__(self, slice_s: float = SLICE_S, clock: Callable[[], float] = time.monotonic):
        self.slice_s = slice_s
        self._clock = clock
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._wanting: list[int] = []  # runs that train or wait for their turn, in turn order
        self._holder: int | None = None
        self._since = 0.0  # when the holder took its turn

    def join(self) -> int:
        """A new small run: its id in the turns (it asks for its turn with `take`)."""
        return next(self._ids)

    def _hand_on(self) -> None:
        """The turn to the next run that wants it after the holder (the first, if none)."""
        if not self._wanting:
            self._holder = None
            return
        after = [r for r in self._wanting if self._holder is None or r > self._holder]
        self._holder = (after or self._wanting)[0]
        self._since = self._clock()
        self._cond.notify_all()

    def take(self, run: int, should_stop: Callable[[], bool] = lambda: False) -> float:
        """`run` trains now if it is its turn; else it waits for it (or for `should_stop()`).
        The holder whose slice is over hands the turn on, and waits for it again, when another
        run wants it. Returns the seconds waited."""
        start = time.perf_counter()
        with self._cond:
            if run not in self._wanting:
                self._wanting.append(run)
                self._wanting.sort()
            if self._holder is None:
                self._holder, self._since = run, self._clock()
            if self._holder == run:
                if len(self._wanting) == 1 or self._clock() - self._since < self.slice_s:
                    return 0.0
                self._hand_on()
            while self._holder != run and not should_stop():
                self._cond.wait(0.05)
        return time.perf_counter() - start

    def give_up(self, run: int) -> None:
        """`run` no longer wants the turn (it is paused, or it has ended): the next one takes
        it."""
        with self._cond:
            if run in self._wanting:
                self._wanting.remove(run)
            if self._holder == run:
                self._hand_on()
            self._cond.notify_all()

    def holder(self) -> int | None:
        with self._cond:
            return self._holder

    def wanting(self) -> list[int]:
        with self._cond:
            return list(self._wanting)


TURNS = Turns()


class TakeTurns(Callback):
    """A small run's part in the turns: it takes its turn at its start and at every report,
    gives it up while paused, and leaves when it ends. The wait is not training time."""

    def __init__(self, should_stop: Callable[[], bool], turns: Turns | None = None):
        self.turns = turns or TURNS
        self.should_stop = should_stop
        self.run = self.turns.join()

    def _take(self, state: FitState) -> None:
        state.held_s += self.turns.take(self.run, self.should_stop)

    def on_fit_start(self, state: FitState) -> None:
        self.turns.take(self.run, self.should_stop)  # before the loop's clock starts

    def on_report(self, state: FitState) -> None:
        self._take(state)

    def on_pause(self, state: FitState) -> None:
        self.turns.give_up(self.run)

    def on_fit_end(self, state: FitState) -> None:
        self.leave()

    def leave(self) -> None:
        """Out of the turns (at the loop's end; again, harmlessly, after it raised)."""
        self.turns.give_up(self.run)
