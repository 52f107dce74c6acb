"""Small runs on the CPU take turns (`dlviz.turns`): a slice each, round and round; a paused or
ended run hands its turn on; a stop ends a wait; two Playground runs at once both move and
both finish, their waits not counted as training time."""

from __future__ import annotations

import threading
import time

import pytest

from dlviz import jobs, turns
from dlviz.config import RunConfig


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def waiter(t: turns.Turns, run: int, stop=lambda: False):
    """`run` asking for its turn in a thread of its own; .got is set once it has it."""
    got = threading.Event()
    held = []

    def main() -> None:
        held.append(t.take(run, stop))
        got.set()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    return got, held, thread


def test_one_run_alone_never_waits_however_long_it_holds_the_turn():
    clock = Clock()
    t = turns.Turns(slice_s=0.5, clock=clock)
    a = t.join()
    assert t.take(a) == 0.0
    clock.now += 60
    assert t.take(a) == 0.0 and t.holder() == a


def test_two_runs_take_a_slice_each_round_and_round():
    clock = Clock()
    t = turns.Turns(slice_s=0.5, clock=clock)
    a, b = t.join(), t.join()
    assert t.take(a) == 0.0
    got_b, _, _ = waiter(t, b)
    assert not got_b.wait(0.3)  # a's slice is not over: b waits
    assert t.wanting() == [a, b] and t.holder() == a
    clock.now += 0.2
    assert t.take(a) == 0.0  # still within its slice
    clock.now += 0.3
    got_a, held_a, _ = waiter(t, a)  # a's slice is over: it hands on and waits
    assert got_b.wait(5) and t.holder() == b
    assert not got_a.wait(0.3)
    clock.now += 0.5
    got_b2, _, _ = waiter(t, b)  # b's next report: its slice is over, the turn goes back
    assert got_a.wait(5) and t.holder() == a and held_a[0] > 0.2
    assert not got_b2.wait(0.2)  # and b waits for it again
    t.give_up(a)
    assert got_b2.wait(5)


def test_a_paused_or_ended_run_hands_its_turn_on_at_once():
    clock = Clock()
    t = turns.Turns(slice_s=0.5, clock=clock)
    a, b, c = t.join(), t.join(), t.join()
    t.take(a)
    got_b, _, _ = waiter(t, b)
    got_c, _, _ = waiter(t, c)
    time.sleep(0.1)
    t.give_up(a)  # paused: the next in turn, b
    assert got_b.wait(5) and t.holder() == b
    assert not got_c.is_set() and t.wanting() == [b, c]
    t.give_up(b)  # ended
    assert got_c.wait(5) and t.holder() == c
    t.give_up(c)
    assert t.holder() is None and t.wanting() == []


def test_a_stop_ends_the_wait_for_a_turn():
    t = turns.Turns(slice_s=0.5)
    a, b = t.join(), t.join()
    t.take(a)
    stop = threading.Event()
    got_b, _, thread = waiter(t, b, stop.is_set)
    assert not got_b.wait(0.2)
    stop.set()
    assert got_b.wait(5)
    thread.join(5)
    assert t.holder() == a


@pytest.fixture
def own_turns(monkeypatch):
    fresh = turns.Turns(slice_s=0.2)
    monkeypatch.setattr(turns, "TURNS", fresh)
    return fresh


def test_two_playground_runs_at_once_both_move_and_both_finish(own_turns, tmp_path):
    config = RunConfig().with_changes(train={"device": "cpu", "epochs": 150})
    seen: list[set[int]] = []
    a = jobs.start(config, runs_dir=tmp_path)
    b = jobs.start(config, runs_dir=tmp_path)
    moved: dict[str, list[float]] = {"a": [], "b": []}  # when each run's step count grew
    last = {"a": 0, "b": 0}
    while not (a.done and b.done):
        seen.append(set(own_turns.wanting()))
        for name, h in (("a", a), ("b", b)):
            h.poll()
            if h.history.step > last[name] and h.history.status == "running":
                last[name] = h.history.step
                moved[name].append(time.monotonic())
        time.sleep(0.02)
    for h in (a, b):
        assert h.history.status == "finished", h.history.message
        assert h.history.epoch == 150
    assert any(len(w) == 2 for w in seen), "the two runs never trained at the same time"
    # both moved while the other was still training: neither waited for the other's end
    assert moved["a"][0] < moved["b"][-1] and moved["b"][0] < moved["a"][-1], moved
    # a run's training time leaves out its waits: about half its span on the clock, as the
    # two alternate (0.55 to 0.6 of it in our runs)
    for name, h in (("a", a), ("b", b)):
        span = moved[name][-1] - moved[name][0]
        assert h.history.summary["seconds"] < 0.85 * span, (name, span, h.history.summary)
    assert own_turns.wanting() == [] and own_turns.holder() is None
