import pytest

from dlviz.history import RunHistory, Series


def test_series_stays_bounded_and_spans_the_whole_run():
    s = Series(("i", "v"), max_points=100)
    for i in range(10_000):
        s.append(i=i, v=i * 2)
    assert len(s) <= 100
    kept = s.data["i"]
    assert kept[0] == 0
    steps = {b - a for a, b in zip(kept, kept[1:])}
    assert steps == {s.stride}  # evenly spaced
    assert s.column("i")[-1] == 9_999  # the newest row is always shown
    assert kept[-1] > 9_999 - 2 * s.stride


def test_series_keeps_everything_below_its_limit():
    s = Series(("x",), max_points=10)
    for i in range(10):
        s.append(x=i)
    assert s.column("x") == list(range(10)) and s.stride == 1


def test_series_needs_room_for_two_points():
    with pytest.raises(ValueError):
        Series(("x",), max_points=1)


def test_history_follows_a_run_from_events():
    h = RunHistory()
    h.apply({"type": "queued", "message": "waiting"})
    assert h.status == "queued" and h.message == "waiting"
    h.apply(
        {
            "type": "start",
            "config": {"model": {"hidden": [8]}},
            "device": "cpu",
            "params": 42,
            "layers": ["hidden1", "output"],
            "total_epochs": 2,
            "steps_per_epoch": 5,
        }
    )
    assert h.status == "running" and h.progress == 0.0
    h.apply(
        {
            "type": "report",
            "step": 3,
            "epoch": 0,
            "elapsed": 0.1,
            "samples_per_second": 100.0,
            "loss": 0.7,
        }
    )
    assert h.progress == pytest.approx(0.3)
    h.apply(
        {
            "type": "epoch",
            "epoch": 1,
            "step": 5,
            "elapsed": 0.2,
            "samples_per_second": 120.0,
            "train_loss": 0.5,
            "train_accuracy": 0.8,
            "test_loss": 0.6,
            "test_accuracy": 0.7,
            "grad_norms": {"output": 0.2, "hidden1": 0.1},
        }
    )
    assert h.epoch == 1 and h.final["test_accuracy"] == 0.7
    assert h.grad_norms.column("norms")[-1] == [0.1, 0.2]  # in layer order, not dict order
    h.apply({"type": "paused"})
    assert h.status == "paused"
    h.apply({"type": "resumed"})
    h.apply(
        {
            "type": "end",
            "status": "finished",
            "message": "",
            "summary": {"seconds": 0.3, "samples_per_second": 99.0},
            "run_id": "r1",
        }
    )
    assert h.done and h.run_id == "r1" and h.elapsed == 0.3
