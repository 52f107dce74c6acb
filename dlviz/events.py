"""A run's training loop as events: `EventEmitter` turns the loop's callbacks into the small
event dicts a page folds into its history, with snapshots of the model (decision boundary,
feature maps) on a time budget; `FirstDrawGate` holds a run after its first report until its
page has drawn it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from torch import nn

from dlviz.data import Dataset
from dlviz.generative_probe import GenerativeProbe
from dlviz.probes import ImageProbe, snapshot_2d
from dlviz.sequence_probe import SequenceProbe
from dlviz.train import Callback, FitState

Emit = Callable[[dict[str, Any]], None]

Snapshotter = Callable[[nn.Module, int, int], dict[str, Any]]


def snapshotter_for(data: Dataset, probe: ImageProbe | None = None) -> Snapshotter | None:
    """What a live run samples of its model on a timer: the decision boundary and neuron maps
    for 2-D points, feature maps and dead units for images (through `probe`), states, gates,
    attention and the gradient through time for sequences (the example `probe` chooses)."""
    if data.generative:
        gen_probe = GenerativeProbe(extent=data.extent)
        return lambda model, step, epoch: {"type": "gen", "snapshot": gen_probe(model, step, epoch)}
    if data.kind == "points2d":
        return lambda model, step, epoch: {
            "type": "snapshot",
            "snapshot": snapshot_2d(model, data.extent, step=step, epoch=epoch),
        }
    if data.kind in ("image", "audio"):
        probe = probe or ImageProbe(data.x_test)
        return lambda model, step, epoch: {"type": "fmaps", "snapshot": probe(model, step, epoch)}
    if data.seq is not None:
        # the page's choice of test example is kept by the run's ImageProbe (its sample_index)
        seq_probe = SequenceProbe(data, chooser=probe)
        return lambda model, step, epoch: {"type": "seq", "snapshot": seq_probe(model, step, epoch)}
    return None


class EventEmitter(Callback):
    """Turns the loop's callbacks into small event dicts; takes snapshots on a timer.

    Snapshots come at most every `snapshot_every_s` seconds, and never more often than keeps
    their cost under `snapshot_budget` of the training time (a big network's snapshot is slow),
    but at least every `max_interval_s` unless a snapshot costs more than a tenth of that.
    """

    def __init__(
        self,
        emit: Emit,
        snapshot: Snapshotter | None = None,
        snapshot_every_s: float = 0.5,
        snapshot_budget: float = 0.03,
        max_interval_s: float = 8.0,
    ):
        self.emit = emit
        self.snapshot = snapshot
        self.snapshot_every_s = snapshot_every_s
        self.snapshot_budget = snapshot_budget
        self.max_interval_s = max_interval_s
        self._next_snapshot = 0.0

    def _progress(self, state: FitState) -> dict[str, Any]:
        return {
            "step": state.step,
            "epoch": state.epoch,
            "elapsed": state.elapsed,
            "samples_per_second": state.samples_per_second,
        }

    def _snapshot(self, state: FitState, force: bool = False) -> None:
        if self.snapshot is None:
            return
        now = time.perf_counter()
        if force or now >= self._next_snapshot:
            self.emit(self.snapshot(state.model, state.step, state.epoch))
            done = time.perf_counter()
            cost = done - now
            wait = max(self.snapshot_every_s, cost / self.snapshot_budget)
            self._next_snapshot = done + min(wait, max(self.max_interval_s, 10 * cost))

    def on_fit_start(self, state: FitState) -> None:
        self._snapshot(state, force=True)

    def on_report(self, state: FitState) -> None:
        self.emit({"type": "report", "loss": state.recent_loss, **self._progress(state)})
        self._snapshot(state)

    def on_epoch_end(self, state: FitState) -> None:
        self.emit(
            {
                "type": "epoch",
                **self._progress(state),
                **state.metrics,
                "test_samples": state.test_samples,
                "grad_norms": dict(state.grad_norms),
            }
        )
        self._snapshot(state)

    def on_pause(self, state: FitState) -> None:
        self._snapshot(state, force=True)
        self.emit({"type": "paused", **self._progress(state)})

    def on_resume(self, state: FitState) -> None:
        self.emit({"type": "resumed"})

    def on_fit_end(self, state: FitState) -> None:
        # The final boundary, except after a Stop: keep what was drawn and end at once (on a
        # huge network one more snapshot can take seconds).
        self._snapshot(state, force=state.status != "stopped")


class FirstDrawGate(Callback):
    """Holds the loop after its first report until `drawn` is set (the page has drawn the run's
    first point) or `timeout_s` passes. On a small machine the training thread and the page's
    script share the CPU and Python's lock: held for that moment, the first drawing of the
    live view takes its own time instead of two or three times as long. The wait is not
    counted as training time."""

    def __init__(self, drawn: threading.Event, timeout_s: float):
        self.drawn = drawn
        self.timeout_s = timeout_s
        self._done = False

    def on_report(self, state: FitState) -> None:
        if self._done:
            return
        self._done = True
        start = time.perf_counter()
        self.drawn.wait(self.timeout_s)
        state.held_s += time.perf_counter() - start
