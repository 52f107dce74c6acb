"""A run's loop in a process of its own (`dlviz.run_process`): the same run as in a thread, its
controls and the page's choices reaching it, and its process failing without taking the server
or other runs with it. (tests/core/test_jobs.py runs its tests both ways too: `run_path`.)"""

import dataclasses
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from dlviz import admission, jobs, run_process, runs
from dlviz.config import RunConfig

CNN = RunConfig.from_dict(
    {
        "data": {"name": "shapes", "n_samples": 240, "image_size": 16},
        "model": {"arch": "cnn", "blocks": [{"channels": 4}, {"channels": 8, "pool": "none"}]},
        "train": {"epochs": 2, "device": "cpu", "batch_size": 16},
    }
)
LONG = RunConfig().with_changes(data={"n_samples": 200}, train={"epochs": 100_000})

pytestmark = pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="needs fork server"
)


@pytest.fixture(autouse=True)
def fresh_slots(monkeypatch):
    monkeypatch.setattr(admission, "BOARD", admission.Admission())


@pytest.fixture
def apart(monkeypatch):
    monkeypatch.setenv(run_process.ENV, "1")


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def run_children() -> list:
    return [p for p in multiprocessing.active_children() if p.name.startswith("dlviz-run-")]


def trained(config, mode, monkeypatch, tmp_path, data=None):
    monkeypatch.setenv(run_process.ENV, mode)
    handle = jobs.start(config, runs_dir=tmp_path / mode, data=data)
    kinds = []
    while not handle.done:
        while not handle.events.empty():
            event = handle.events.get_nowait()
            kinds.append(event["type"])
            handle.history.apply(event)
        time.sleep(0.01)
    return handle.history, kinds


def test_a_cnn_trained_in_its_own_process_is_the_run_trained_in_a_thread(monkeypatch, tmp_path):
    here, here_kinds = trained(CNN, "0", monkeypatch, tmp_path)
    apart, apart_kinds = trained(CNN, "1", monkeypatch, tmp_path)
    assert here.status == apart.status == "finished", (here.message, apart.message)
    assert apart.final == here.final
    timed = {"elapsed", "samples_per_second"}  # the rest of every epoch's record is the same
    assert {k: v for k, v in apart.epochs.data.items() if k not in timed} == {
        k: v for k, v in here.epochs.data.items() if k not in timed
    }
    # reports and snapshots come on a timer: how many may differ; the rest come in the same order
    timer = {"report", "fmaps"}
    assert [k for k in apart_kinds if k not in timer] == [k for k in here_kinds if k not in timer]
    assert apart.fmaps and here.fmaps and "report" in apart_kinds
    a, b = apart.model.state_dict(), here.model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # the run store holds the same weights, saved by the server from the model sent back
    saved = runs.load_run(tmp_path / "1", apart.run_id)
    assert saved.has_weights and saved.summary["status"] == "finished"
    assert saved.metrics["epoch"] == [1, 2]


def test_pause_step_and_resume_reach_a_run_in_its_own_process(apart):
    handle = jobs.start(LONG)
    wait_until(lambda: handle.poll() >= 0 and handle.history.epoch >= 1)
    (child,) = run_children()  # the run trains in a process of its own, below this one
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, child.pid) == min(19, mine + run_process.RUN_NICE)
    handle.pause()
    wait_until(lambda: handle.poll() >= 0 and handle.history.status == "paused")
    time.sleep(0.2)
    seen = handle.control.updates
    assert seen > 0  # the child's count of updates, shared with the server
    handle.step(after=seen)  # the page's Step button: one update, then it holds again
    wait_until(lambda: handle.control.updates == seen + 1)
    handle.step(after=seen)  # the same click seen twice: nothing more
    time.sleep(0.3)
    assert handle.control.updates == seen + 1 and handle.control.paused
    handle.resume()
    wait_until(lambda: handle.control.updates > seen + 50)
    handle.stop()
    h = handle.wait(10)
    assert h.status == "stopped"


def test_the_page_choice_of_test_image_reaches_a_run_in_its_own_process(apart):
    handle = jobs.start(CNN.with_changes(train={"until_stopped": True}))
    wait_until(lambda: handle.poll() >= 0 and handle.history.fmaps)
    assert handle.history.fmaps[-1].sample_index == 0
    handle.probe.choose(sample_index=7)
    wait_until(lambda: handle.poll() >= 0 and handle.history.fmaps[-1].sample_index == 7)
    handle.stop()
    assert handle.wait(10).status == "stopped"


def test_an_error_in_the_loop_of_its_own_process_fails_the_run_with_its_message(
    monkeypatch, tmp_path
):
    import numpy as np

    from dlviz.data import image_dataset

    rng = np.random.default_rng(0)
    data = image_dataset(
        "upload",
        rng.random((40, 1, 16, 16), dtype=np.float32),
        np.repeat([0, 1], 20),
        ("a", "b"),
        0.25,
        0,
    )
    # labels the network has no output for: the loss raises
    data = dataclasses.replace(data, y_train=data.y_train + 5)
    config = CNN.with_changes(data={"name": "upload", "n_samples": 40})
    here, _ = trained(config, "0", monkeypatch, tmp_path, data=data)
    apart, _ = trained(config, "1", monkeypatch, tmp_path, data=data)
    assert here.status == apart.status == "error"
    assert apart.message.startswith("The run failed unexpectedly: IndexError: Target")
    assert apart.message == here.message  # the same words, the same place named
    row = runs.list_runs(tmp_path / "1")[0]
    assert row["status"] == "error" and "IndexError" in row["message"]


def test_a_run_whose_process_dies_fails_and_the_others_go_on(apart, tmp_path):
    doomed = jobs.start(LONG, runs_dir=tmp_path)
    wait_until(lambda: doomed.poll() >= 0 and doomed.history.epoch >= 1)
    (child,) = run_children()
    other = jobs.start(CNN, runs_dir=tmp_path)
    os.kill(child.pid, signal.SIGKILL)  # the kernel's out-of-memory killer, say
    h = doomed.wait(10)
    assert h.status == "error" and "The run's process ended unexpectedly" in h.message
    assert other.wait(60).status == "finished"
    by_id = {r["run_id"]: r for r in runs.list_runs(tmp_path)}
    assert by_id[h.run_id]["status"] == "error"  # kept as failed, with its curves so far
    assert runs.load_run(tmp_path, h.run_id).metrics["epoch"][:1] == [1]


def test_stop_all_ends_runs_in_their_own_processes_and_saves_them(apart, tmp_path):
    handles = [jobs.start(LONG, runs_dir=tmp_path) for _ in range(2)]
    for handle in handles:
        wait_until(lambda h=handle: h.poll() >= 0 and h.history.epoch >= 2)
    assert jobs.stop_all("The server is going away.", wait_s=20) == 2
    for handle in handles:
        h = handle.wait(5)
        assert h.status == "stopped"
        saved = runs.load_run(tmp_path, h.run_id)
        assert saved.summary["stop_reason"] == "The server is going away." and saved.has_weights
    wait_until(lambda: not run_children(), timeout=10)  # the processes are gone too


# A dashboard whose run trains in a process of its own, ended by SIGTERM mid-run (as Streamlit
# is): the run is stopped, saved whole, and the process exits cleanly.
ENDED_BY_SIGTERM = """
import os, signal, sys, time
from dlviz import jobs, run_process
from dlviz.config import RunConfig

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_process.enable()
    jobs.METRICS_EVERY_S = 3600.0  # no timed save: whatever is saved comes from the run's end
    config = RunConfig.from_dict({
        "data": {"name": "shapes", "n_samples": 400, "image_size": 16},
        "model": {"arch": "cnn", "blocks": [{"channels": 8}]},
        "train": {"until_stopped": True, "device": "cpu"},
    })
    handle = jobs.start(config, runs_dir=sys.argv[1])
    while handle.poll() >= 0 and handle.history.epoch < 3:
        time.sleep(0.02)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(60)
"""


def test_a_server_ended_by_sigterm_saves_a_run_training_in_its_own_process(tmp_path):
    script = tmp_path / "server.py"
    script.write_text(ENDED_BY_SIGTERM)
    env = dict(os.environ, DLVIZ_RUN_PROCESSES="1")
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    (r,) = runs.list_runs(tmp_path / "runs")
    assert r["status"] == "stopped" and r["stop_reason"] == jobs.SERVER_STOP_REASON
    run = runs.load_run(tmp_path / "runs", r["run_id"])
    assert run.summary["epochs"] >= 3
    assert run.metrics["epoch"] == list(range(1, run.summary["epochs"] + 1))
    assert run.has_weights
