import json
import time

import pytest
import torch

from dlviz import admission, jobs, runs
from dlviz.config import RunConfig

SMALL = RunConfig().with_changes(data={"n_samples": 200}, train={"epochs": 3, "device": "cpu"})
LONG = SMALL.with_changes(train={"epochs": 100_000})


@pytest.fixture(autouse=True)
def fresh_slots(monkeypatch):
    monkeypatch.setattr(admission, "BOARD", admission.Admission())


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_run_sends_its_events_and_is_saved(tmp_path, run_path):
    handle = jobs.start(SMALL, runs_dir=tmp_path)
    seen = []
    while not handle.done:
        while not handle.events.empty():
            event = handle.events.get_nowait()
            seen.append(event["type"])
            handle.history.apply(event)
        time.sleep(0.01)
    assert seen[0] == "start" and seen[-1] == "end"
    assert seen.count("epoch") == 3 and "snapshot" in seen
    h = handle.history
    assert (
        h.status == "finished"
        and h.epoch == 3
        and h.layers == ["hidden1", "hidden2", "hidden3", "output"]
    )
    folder = tmp_path / h.run_id
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs"] == 3
    assert json.loads((folder / "config.json").read_text()) == SMALL.to_dict()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["epoch"] == [1, 2, 3]
    assert (folder / "weights.safetensors").stat().st_size > 0
    assert runs.list_runs(tmp_path)[0]["run_id"] == h.run_id


def test_two_runs_at_once_keep_to_themselves(run_path):
    a = jobs.start(SMALL.with_changes(data={"name": "xor"}))
    b = jobs.start(SMALL.with_changes(data={"name": "moons"}, model={"hidden": (4,)}))
    ha, hb = a.wait(30), b.wait(30)
    assert ha.config["data"]["name"] == "xor" and hb.config["data"]["name"] == "moons"
    assert ha.params != hb.params
    assert ha.status == hb.status == "finished"
    # and each equals the same run done alone
    solo = jobs.start(SMALL.with_changes(data={"name": "xor"})).wait(30)
    assert solo.final == ha.final


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")
def test_a_missing_device_is_a_clear_error_not_a_fallback():
    h = jobs.start(SMALL.with_changes(train={"device": "cuda"})).wait(10)
    assert h.status == "error"
    assert "no CUDA GPU" in h.message and "choose cpu or auto" in h.message
    assert h.epochs.seen == 0


def test_stop_ends_a_long_run_within_a_second(run_path):
    handle = jobs.start(LONG)
    wait_until(lambda: handle.poll() >= 0 and handle.history.epoch >= 1)
    t = time.monotonic()
    handle.stop()
    h = handle.wait(5)
    assert time.monotonic() - t < 1.0
    assert h.status == "stopped" and "Stopped after" in h.message


def test_pause_and_resume_reach_the_history(run_path):
    handle = jobs.start(LONG)
    wait_until(lambda: handle.poll() >= 0 and handle.history.epoch >= 1)
    handle.pause()
    wait_until(lambda: handle.poll() >= 0 and handle.history.status == "paused")
    step = handle.history.step
    time.sleep(0.4)
    handle.poll()
    assert handle.history.step == step
    handle.resume()
    wait_until(lambda: handle.poll() >= 0 and handle.history.step > step)
    assert handle.history.status == "running"
    handle.stop()
    assert handle.wait(5).status == "stopped"


def wait_for_status(handle, status):
    wait_until(lambda: handle.poll() >= 0 and handle.history.status == status)


@pytest.fixture
def one_slot_busy(monkeypatch):
    """One run slot per device, taken by a long run; yields (long run, a second, queued run)."""
    monkeypatch.setenv("DLVIZ_RUNS_PER_DEVICE", "1")
    first = jobs.start(LONG)
    wait_for_status(first, "running")
    second = jobs.start(SMALL)
    wait_for_status(second, "queued")
    yield first, second
    first.stop()
    second.stop()
    first.wait(5)
    second.wait(5)


def test_a_device_admits_a_limited_number_of_runs_and_queues_the_rest(one_slot_busy, run_path):
    first, second = one_slot_busy
    assert "1 run is already training" in second.history.message  # not "1 runs are"
    first.stop()
    assert second.wait(30).status == "finished"


def test_stop_while_queued_never_starts_the_run(one_slot_busy):
    _, second = one_slot_busy
    second.stop()
    h = second.wait(5)
    assert h.status == "stopped" and h.epoch == 0


def test_a_run_after_another_waits_for_it():
    first = jobs.start(SMALL.with_changes(train={"epochs": 5}))
    second = jobs.start(SMALL, after=first)
    h2 = second.wait(30)
    h1 = first.wait(1)
    assert h1.status == h2.status == "finished"
    assert first.thread.ident != second.thread.ident


def test_runs_nobody_watches_are_stopped_as_orphans(run_path):
    handle = jobs.start(LONG, orphan_after_s=30)
    wait_until(lambda: handle.poll() >= 0 and handle.history.status == "running")
    assert jobs.reap_orphans(now=time.monotonic()) == 0  # just polled
    assert jobs.reap_orphans(now=time.monotonic() + 31) == 1
    h = handle.wait(5)
    assert h.status == "stopped" and "No page had shown it for 30 s" in h.message


def test_a_run_store_that_cannot_be_written_is_reported_and_the_run_kept(tmp_path, run_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store should be")
    h = jobs.start(SMALL, runs_dir=blocked).wait(30)
    assert h.status == "finished" and h.final  # the training itself is not lost
    assert h.run_id == ""
    assert f"could not be saved to {blocked}" in h.message


def test_a_run_given_its_data_trains_on_it_not_on_its_config(run_path):
    import numpy as np

    from dlviz.data import image_dataset

    rng = np.random.default_rng(0)
    x = rng.random((40, 3, 16, 16), dtype=np.float32)
    y = np.repeat(np.arange(2), 20)
    x[y == 1] *= 0.3  # dark against bright: learnable
    data = image_dataset("upload", x, y, ("bright", "dark"), 0.25, 0)
    cfg = RunConfig.from_dict(
        {
            "data": {"name": "upload", "n_samples": 40, "image_size": 16, "channels": 3},
            "model": {"arch": "cnn", "blocks": [{"channels": 4}]},
            "train": {"epochs": 3, "device": "cpu", "lr": 0.01},
        }
    )
    h = jobs.start(cfg, data=data).wait(30)
    assert h.status == "finished", h.message
    assert h.classes["confusion"].sum() == len(data.x_test) == 10
    assert h.model is not None and h.model.blocks[0].conv.in_channels == 3


# A process that trains in a background thread (as the dashboard does) and is told to end by a
# signal while the run is going: as Streamlit does on SIGTERM, the signal ends the main thread.
ENDED_BY_SIGTERM = """
import os, signal, sys, time
import torch
from dlviz import jobs
from dlviz.config import RunConfig
from dlviz.train import Callback

torch.set_num_threads(2)  # intra-op worker threads, as on any multi-core machine

class SignalAtEpoch3(Callback):
    def on_epoch_end(self, state):
        if state.epoch == 3:
            os.kill(os.getpid(), signal.SIGTERM)

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
jobs.METRICS_EVERY_S = 3600.0  # no timed save: whatever is saved comes from the end of the run
config = RunConfig.from_dict({
    "data": {"name": "shapes", "n_samples": 400},
    "model": {"arch": "cnn", "blocks": [{"channels": 32}, {"channels": 32, "pool": "max"}]},
    "train": {"until_stopped": True, "device": "cpu"},
})
original = jobs.execute
jobs.execute = lambda *a, callbacks=(), **k: original(
    *a, callbacks=(*callbacks, SignalAtEpoch3()), **k
)
jobs.start(config, runs_dir=sys.argv[1])
while True:
    time.sleep(0.05)
"""


def test_a_server_ended_by_sigterm_saves_every_epoch_of_its_runs_and_exits_cleanly(tmp_path):
    """Before `jobs.stop_all` ran at exit, the interpreter ended with the run's daemon thread
    inside a torch operation: torch's intra-op thread pool was torn down under it and C++ aborted
    ("terminate called without an active exception"), and the run kept only its last timed
    save. (Seen every time on a 2-core machine with this script and no exit hook.)"""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", ENDED_BY_SIGTERM, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = runs.list_runs(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "terminate called" not in proc.stderr
    (r,) = rows
    assert r["status"] == "stopped" and r["stop_reason"] == jobs.SERVER_STOP_REASON
    run = runs.load_run(tmp_path, r["run_id"])
    # Every epoch up to the stop is saved, though no timed save ran, and the weights too.
    assert run.summary["epochs"] >= 3
    assert run.metrics["epoch"] == list(range(1, run.summary["epochs"] + 1))
    assert run.has_weights


def test_a_run_waiting_for_its_page_holds_after_its_first_report_until_drawn(tmp_path, run_path):
    began = time.monotonic()
    handle = jobs.start(LONG, wait_for_page_s=30.0)
    wait_until(lambda: (handle.poll(), handle.history.steps.seen)[1])  # its first report
    step = handle.history.step
    time.sleep(0.5)
    handle.poll()
    assert handle.history.step == step and handle.history.epoch == 0  # held
    handle.drawn.set()
    wait_until(lambda: handle.poll() or handle.history.epoch >= 2)  # and on it goes
    handle.stop()
    h = handle.wait(20)
    # The wait (at least the 0.5 s slept above) is not counted as training time.
    assert h.summary["seconds"] <= time.monotonic() - began - 0.5


def test_a_run_whose_page_never_draws_goes_on_after_the_wait(tmp_path, run_path):
    handle = jobs.start(SMALL, wait_for_page_s=0.2)
    assert handle.wait(30).status == "finished"
