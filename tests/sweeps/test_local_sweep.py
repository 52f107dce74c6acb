"""Sweeps on this machine, end to end on tiny runs: `dlviz sweep` and its JSON line, every
trial a normal run in the store (tagged, its sweep and parameters in its summary), the groups'
means checked against the stored runs, resume, a stop through the dashboard's stop file,
failed trials counted, at most `parallel` trials at once, and the CLI's refusals."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
import torch

from dlviz import runs
from dlviz.cli import main
from dlviz.sweeps.driver import (
    Driver,
    launch,
    list_sweeps,
    read_manifest,
    request_stop,
    running_for,
)
from dlviz.sweeps.executors import LocalExecutor, cores
from dlviz.sweeps.spec import parse

BASE = {"data": {"name": "circle", "n_samples": 200}, "train": {"epochs": 3}}
SWEEP = {"name": "tiny", "base": BASE, "grid": {"model.depth": [1, 2], "train.lr": [0.03, 0.3]},
         "seeds": [0, 1, 2]}  # fmt: skip


def write(tmp_path, obj, name="sweep.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return str(path)


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_two_by_two_by_three_seed_sweep_lands_in_the_store_with_its_groups(tmp_path, capsys):
    store = tmp_path / "runs"
    code = main(["sweep", write(tmp_path, SWEEP), "--parallel", "2", "--json",
                 "--runs-dir", str(store)])  # fmt: skip
    assert code == 0
    out = last_json(capsys)
    assert (out["trials"], out["finished"], out["failed"]) == (12, 12, 0)
    assert len(out["runs"]) == 12 and len(out["groups"]) == 4
    listed = {r["run_id"]: r for r in runs.list_runs(store)}
    assert set(out["runs"]) <= set(listed)
    for g in out["groups"]:
        assert set(g) >= {"params", "n", "mean", "ci95"} and g["n"] == 3
        # the group's mean, from the stored runs themselves
        finals = []
        for run_id in out["runs"]:
            stored = runs.load_run(store, run_id)
            sweep = stored.summary["sweep"]
            assert listed[run_id]["tags"] == [f"sweep:{out['sweep_id']}"]
            if sweep["params"] == g["params"]:
                finals.append(stored.summary["final"]["test_accuracy"])
                assert stored.config["train"]["seed"] == sweep["seed"]
        assert len(finals) == 3
        assert g["mean"]["test_accuracy"] == pytest.approx(sum(finals) / 3)
        low, high = g["ci95"]["test_accuracy"]
        assert low <= g["mean"]["test_accuracy"] <= high
    manifest = read_manifest(store, out["sweep_id"])
    assert manifest["state"] == "finished" and len(manifest["trials"]) == 12
    assert all(t["status"] == "finished" and t["epoch"] == 3 for t in manifest["trials"])
    assert [m["sweep_id"] for m in list_sweeps(store)] == [out["sweep_id"]]

    # the same file again: every trial finished before, nothing runs, the same runs
    assert main(["sweep", write(tmp_path, SWEEP), "--json", "--runs-dir", str(store)]) == 0
    again = last_json(capsys)
    assert again["runs"] == out["runs"] and again["finished"] == 12
    assert len(runs.list_runs(store)) == 12


def test_failed_trials_are_counted_not_averaged(tmp_path, capsys):
    sweep = {"base": {"data": {"name": "zip", "path": str(tmp_path / "none.zip")},
                      "model": {"arch": "cnn"}, "train": {"epochs": 1}},
             "grid": {}, "seeds": [0, 1]}  # fmt: skip
    code = main(["sweep", write(tmp_path, sweep), "--json", "--runs-dir", str(tmp_path / "r")])
    assert code == 1  # a failed trial fails the sweep's exit status
    out = last_json(capsys)
    assert (out["finished"], out["failed"]) == (0, 2)
    (g,) = out["groups"]
    assert (g["n"], g["trials"], g["failed"]) == (0, 2, 2) and g["mean"] == {}
    stored = runs.load_run(tmp_path / "r", out["runs"][0])
    assert stored.summary["status"] == "error" and "no ZIP file" in stored.summary["message"]


class CountingExecutor(LocalExecutor):
    """A LocalExecutor that records how many trials ran at once."""

    def __init__(self, parallel: int):
        super().__init__(parallel)
        self.now, self.most, self.lock = 0, 0, threading.Lock()

    def submit(self, key, config):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        super().submit(key, config)

    def events(self, timeout):
        out = super().events(timeout)
        with self.lock:
            self.now -= sum(e["type"] == "done" for e in out)
        return out


def test_at_most_parallel_trials_run_at_once_and_the_cores_are_shared(tmp_path):
    before = torch.get_num_threads()
    ex = CountingExecutor(2)
    assert ex.threads_per_trial == max(1, cores() // 2)
    spec = parse({**SWEEP, "seeds": [0, 1]})
    result = Driver(spec, SWEEP, tmp_path, ex).run()
    assert result["finished"] == 8
    assert ex.most == 2  # the driver kept both slots busy, never more
    assert torch.get_num_threads() == before  # put back on close


def test_a_stop_file_stops_the_running_trials_within_seconds_and_resume_runs_the_rest(tmp_path):
    # trials long enough (about 5 s each) that two are caught running: at 30 epochs they took
    # under a second, and on a slower machine both could end between two looks. Since the
    # Playground's faster step, 100 epochs took about 1 s, and one trial of a CI run ended
    # before the stop: 500 epochs
    long = {"base": {"data": {"name": "spiral", "n_samples": 2000}, "train": {"epochs": 500}},
            "grid": {"train.lr": [0.01, 0.03]}, "seeds": [0, 1]}  # fmt: skip
    spec = parse(long)
    driver = Driver(spec, long, tmp_path, LocalExecutor(2))
    results: list[dict] = []
    thread = threading.Thread(target=lambda: results.append(driver.run()))
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until both running trials have an epoch behind them
        m = read_manifest(tmp_path, driver.id)
        if m and sum(t["epoch"] > 0 for t in m["trials"]) >= 2:
            break
        time.sleep(0.2)
    live = [t for t in m["trials"] if t["status"] == "running"]
    assert live and all(t["curve"][-1][0] == t["epoch"] for t in live)  # the curve so far
    asked = time.monotonic()
    request_stop(tmp_path, driver.id)  # what the dashboard's Stop does
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert time.monotonic() - asked < 10
    (result,) = results
    assert result["state"] == "stopped"
    assert (result["stopped"], result["pending"], result["finished"]) == (2, 2, 0)
    m = read_manifest(tmp_path, driver.id)
    assert m["state"] == "stopped"
    stopped = [t for t in m["trials"] if t["status"] == "stopped"]
    assert all(t["run_id"] and t["epoch"] > 0 for t in stopped)  # saved, curves kept
    # the same sweep again: the old stop is not this run's; every trial that did not finish runs
    again = Driver(parse(long), long, tmp_path, LocalExecutor(2))
    assert again.id == driver.id and again.skipped == 0
    result = again.run()
    assert (result["state"], result["finished"]) == ("finished", 4)
    assert len(runs.list_runs(tmp_path)) == 2 + 4  # the stopped runs stay in the store


def test_the_cli_refuses_bad_files_big_sweeps_without_yes_and_gpu_without_ray(tmp_path, capsys):
    bad = write(tmp_path, {"base": BASE, "grid": {"lr": [1]}}, "bad.json")
    assert main(["sweep", bad]) == 2
    assert "bad sweep: grid.lr: must be a dotted field" in capsys.readouterr().err
    big = write(tmp_path, {"base": BASE, "grid": {"train.lr": [0.01, 0.02, 0.03]}, "seeds": 100})
    assert main(["sweep", big, "--runs-dir", str(tmp_path / "r")]) == 2
    assert "300 trials is a big sweep: run it with --yes" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # nothing ran
    ok = write(tmp_path, SWEEP, "ok.json")
    assert main(["sweep", ok, "--gpu", "0.5", "--runs-dir", str(tmp_path / "r")]) == 2
    assert "--gpu is for --ray" in capsys.readouterr().err
    assert main(["sweep", ok, "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "12 trials: 4 combinations x 3 seeds" in out.err
    assert out.out.startswith("trial 0 (model.depth=1, train.lr=0.03, seed 0), key ")
    assert "... and 9 more" in out.out


def test_a_pages_sweep_belongs_to_its_person_who_runs_one_sweep_at_a_time(tmp_path, capsys):
    store = tmp_path / "runs"
    one = {**SWEEP, "grid": {"train.lr": [0.03]}, "seeds": [0]}
    assert main(["sweep", write(tmp_path, one), "--json", "--runs-dir", str(store),
                 "--owner", "ann-hash"]) == 0  # fmt: skip
    out = last_json(capsys)
    (run_id,) = out["runs"]
    assert runs.load_run(store, run_id).summary["owner"] == "ann-hash"
    manifest = read_manifest(store, out["sweep_id"])
    assert manifest["owner"] == "ann-hash"
    # while that sweep's process lives (here: this one), ann cannot start another from the page
    manifest.update(state="running", pid=os.getpid())
    runs.atomic_write_json(store / ".sweeps" / out["sweep_id"] / "manifest.json", manifest)
    assert [m["sweep_id"] for m in running_for(store, "ann-hash")] == [out["sweep_id"]]
    assert running_for(store, "bob-hash") == [] and running_for(store, "") == []
    other = {**one, "name": "another"}
    with pytest.raises(RuntimeError, match=r"You already have a sweep running \(tiny\)"):
        launch(other, store, owner="ann-hash")
    assert len(list_sweeps(store)) == 1  # nothing started
