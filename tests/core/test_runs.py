"""The run store (dlviz.runs): round trip, runs killed half-way, damaged and foreign folders,
1,000 runs, rename/tag/delete, export and import, metrics as CSV; and what jobs leave in it."""

import io
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile

import pytest
import torch

from dlviz import admission, jobs, runs
from dlviz.bench import listing as bench_listing
from dlviz.config import RunConfig
from dlviz.models import build_model
from dlviz.runs import listing
from dlviz.train import Callback

CONFIG = RunConfig().with_changes(data={"n_samples": 200}, train={"epochs": 3, "device": "cpu"})
METRICS = {
    "epoch": [1, 2, 3],
    "step": [5, 10, 15],
    "elapsed": [0.25, 0.5, 0.75],
    "train_loss": [0.9, 0.5, 0.25],
    "train_accuracy": [0.5, 0.75, 0.875],
    "test_loss": [1.0, 0.625, float("nan")],
    "test_accuracy": [0.5, 0.875, 0.75],
}
SUMMARY = {
    "status": "finished",
    "message": "",
    "device": "cpu",
    "params": 202,
    "epochs": 3,
    "seconds": 0.75,
    "final": {"train_loss": 0.25, "train_accuracy": 0.875, "test_loss": 0.3, "test_accuracy": 0.75},
}


def model():
    return build_model(CONFIG.model, (2,), 2, seed=0)


def finished_run(root, run_id="20240101-000000-run-aaaaaa", config=CONFIG, with_model=True):
    runs.start_run(root, run_id, config.to_dict(), {"device": "cpu", "params": 202})
    runs.save_run(
        root, run_id, config.to_dict(), SUMMARY, METRICS, model=model() if with_model else None
    )
    return run_id


def row(root, run_id):
    (match,) = [r for r in runs.list_runs(root) if r["run_id"] == run_id]
    return match


# --- round trip --------------------------------------------------------------------------------


def test_a_run_round_trips_through_the_store(tmp_path):
    run_id = "20240101-000000-mlp-abc123"
    folder = runs.start_run(tmp_path, run_id, CONFIG.to_dict(), {"device": "cpu", "params": 202})
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "status.json"]
    assert [p.name for p in tmp_path.iterdir()] == [run_id]  # nothing hidden left behind
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "running" and status["pid"] == os.getpid()
    assert status["format_version"] == runs.FORMAT_VERSION and status["started"] <= time.time()
    r = row(tmp_path, run_id)
    assert r["status"] == "running" and r["params"] == 202 and r["depth"] == 3

    trained = model()
    runs.save_run(tmp_path, run_id, CONFIG.to_dict(), SUMMARY, METRICS, model=trained)
    r = row(tmp_path, run_id)
    assert {k: r[k] for k in ("status", "dataset", "arch", "depth", "params", "device")} == {
        "status": "finished",
        "dataset": "spiral",
        "arch": "mlp",
        "depth": 3,
        "params": 202,
        "device": "cpu",
    }
    assert r["best_test_accuracy"] == 0.875 and r["final_test_accuracy"] == 0.75
    assert r["seconds"] == 0.75 and r["epochs"] == 3 and r["tags"] == [] and r["name"] == ""
    assert r["started"] == status["started"] <= r["finished"]
    assert r["date"] == time.strftime("%Y-%m-%d %H:%M", time.localtime(status["started"]))
    assert set(runs.ROW_FIELDS) <= set(r)

    run = runs.load_run(tmp_path, run_id)
    assert run.config == CONFIG.to_dict() and run.has_weights
    assert run.summary["final"] == SUMMARY["final"] and run.summary["run_id"] == run_id
    assert run.metrics["epoch"] == [1, 2, 3] and run.metrics["test_loss"][2] != 0  # NaN kept
    fresh = runs.load_weights(tmp_path, run_id, model())
    for k, v in trained.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v)


def test_weights_load_only_into_a_model_they_fit(tmp_path):
    run_id = finished_run(tmp_path)
    other = build_model(CONFIG.model.__class__(hidden=(4,)), (2,), 2)
    with pytest.raises(runs.RunStoreError, match="do not fit this model"):
        runs.load_weights(tmp_path, run_id, other)
    bare = finished_run(tmp_path, "20240101-000001-bare-bbbbbb", with_model=False)
    with pytest.raises(runs.RunStoreError, match="no saved weights"):
        runs.load_weights(tmp_path, bare, model())
    (tmp_path / run_id / "weights.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(runs.RunStoreError, match="cannot be read"):
        runs.load_weights(tmp_path, run_id, model())


def test_unknown_and_malformed_ids_are_run_not_found(tmp_path):
    finished_run(tmp_path)
    for bad in ("nope", "../x", "..", "", "a/b", None):
        with pytest.raises(runs.RunNotFound):
            runs.load_run(tmp_path, bad)


# --- runs that never finished ---------------------------------------------------------------------

KILLED = """
import os, signal, sys
from dlviz import runs
from dlviz.config import RunConfig

root, run_id, where = sys.argv[1:]
config = RunConfig().to_dict()
runs.start_run(root, run_id, config, {"device": "cpu", "params": 202})
if where == "training":
    os.kill(os.getpid(), signal.SIGKILL)
write = runs.atomic_write_json

def dying_write(path, obj):  # killed as the last file of the save begins
    if path.name == "summary.json":
        os.kill(os.getpid(), signal.SIGKILL)
    write(path, obj)

runs.store.atomic_write_json = dying_write  # save_run writes through the store module
runs.save_run(root, run_id, config, {"status": "finished"}, {"epoch": [1]})
"""


KILLED_IN_EPOCH_3 = """
import os, signal, sys, time
from dlviz import jobs
from dlviz.config import RunConfig
from dlviz.train import Callback

class Killer(Callback):
    def on_epoch_end(self, state):
        if state.epoch == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.3)  # longer than a save takes: the saver saves again at the next epoch

jobs.METRICS_EVERY_S = 0.0
config = RunConfig().with_changes(data={"n_samples": 200}, train={"epochs": 50, "device": "cpu"})
jobs.execute(config, emit=lambda e: None, runs_dir=sys.argv[1], callbacks=(Killer(),))
"""


def test_a_run_killed_while_training_keeps_its_curves_up_to_the_last_save(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_IN_EPOCH_3), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr
    (r,) = runs.list_runs(tmp_path)
    assert r["status"] == "interrupted" and "its curves up to the last save" in r["message"]
    run = runs.load_run(tmp_path, r["run_id"])
    assert run.summary == {} and not run.has_weights
    assert run.metrics["epoch"] == [1, 2, 3]
    assert all(0 <= a <= 1 for a in run.metrics["test_accuracy"])
    # The listing shows what it reached by its last save, marked as such (not None).
    tests = run.metrics["test_accuracy"]
    assert r["saved_so_far"] is True and r["epochs"] == 3
    assert r["final_test_accuracy"] == tests[-1] and r["best_test_accuracy"] == max(tests)
    assert r["seconds"] == run.metrics["elapsed"][-1]
    assert runs.metrics_csv(tmp_path, [r["run_id"]]).count("\n") == 4  # header and 3 epochs


def test_curves_are_not_saved_into_a_run_that_ended_or_a_folder_that_is_gone(tmp_path):
    run_id = finished_run(tmp_path)
    runs.save_metrics(tmp_path, run_id, {"epoch": [1]})
    assert runs.load_run(tmp_path, run_id).metrics["epoch"] == METRICS["epoch"]
    runs.save_metrics(tmp_path, "20240101-000000-gone-abcdef", {"epoch": [1]})
    assert not (tmp_path / "20240101-000000-gone-abcdef").exists()


@pytest.mark.parametrize("where", ["training", "saving"])
def test_a_run_whose_process_was_killed_lists_as_interrupted(tmp_path, where):
    run_id = f"20240101-000000-{where}-abcdef"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED), str(tmp_path), run_id, where],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -9, proc.stderr
    r = row(tmp_path, run_id)
    assert r["status"] == "interrupted" and "ended before it finished" in r["message"]
    assert r["dataset"] == "spiral" and r["depth"] == 3 and r["params"] == 202
    run = runs.load_run(tmp_path, run_id)  # what is there can still be read
    assert run.summary == {} and run.config == RunConfig().to_dict()
    assert run.metrics == ({} if where == "training" else {"epoch": [1]})


def test_half_written_files_never_make_a_corrupt_run(tmp_path):
    run_id = finished_run(tmp_path)
    # a write killed before its rename leaves only a hidden temp file
    (tmp_path / run_id / ".summary.json.x1y2.tmp").write_text('{"status": "fin')
    # a start killed before its rename leaves a hidden folder
    (tmp_path / ".20240102-000000-mlp-cccccc.abc.starting").mkdir()
    (tmp_path / ".20240102-000000-mlp-cccccc.abc.starting" / "config.json").write_text("{")
    # a save without a start, killed before summary.json
    half = tmp_path / "20240103-000000-mlp-dddddd"
    half.mkdir()
    (half / "config.json").write_text(CONFIG.to_json())
    (half / "metrics.json").write_text(json.dumps(METRICS))
    rows = runs.list_runs(tmp_path)
    assert {r["run_id"]: r["status"] for r in rows} == {
        run_id: "finished",
        half.name: "interrupted",
    }


def test_a_run_started_on_another_host_or_before_a_reboot_is_interrupted(tmp_path):
    alive = {"pid": os.getpid(), **runs._process_identity()}
    for i, change in enumerate(
        [{"host": "another-machine"}, {"boot_id": "an-earlier-boot"}, {"proc_start": -1}, {}]
    ):
        run_id = f"2024010{i}-000000-mlp-eeeeee"
        folder = runs.start_run(tmp_path, run_id, CONFIG.to_dict())
        status = json.loads((folder / "status.json").read_text())
        (folder / "status.json").write_text(json.dumps({**status, **alive, **change}))
        expected = "running" if not change else "interrupted"
        assert row(tmp_path, run_id)["status"] == expected, change


# --- damaged and foreign folders ------------------------------------------------------------------


def test_damaged_and_foreign_folders_are_unreadable_with_a_reason(tmp_path):
    good = finished_run(tmp_path)
    cases = {
        "garbage-summary": ("summary.json", "{not json", "summary.json cannot be read"),
        "garbage-status": ("status.json", "\x00\x01", "status.json cannot be read"),
        "list-summary": ("summary.json", "[1, 2]", "not a JSON object"),
        "newer": ("summary.json", json.dumps({"format_version": 99}), "newer dlviz"),
        "newer-start": ("status.json", json.dumps({"format_version": 99}), "newer dlviz"),
    }
    for name, (file, content, _) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(CONFIG.to_json())
        (folder / file).write_text(content)
    foreign = tmp_path / "holiday-photos"
    foreign.mkdir()
    (foreign / "beach.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / "no-config").mkdir()
    (tmp_path / "no-config" / "summary.json").write_text(json.dumps(SUMMARY))
    (tmp_path / "a-file.txt").write_text("not a folder: not listed")
    os.symlink(tmp_path / "holiday-photos", tmp_path / "a-link")  # not followed

    rows = {r["run_id"]: r for r in runs.list_runs(tmp_path)}
    assert set(rows) == {good, *cases, "holiday-photos", "no-config"}
    assert rows[good]["status"] == "finished"
    for name, (_, _, reason) in cases.items():
        assert rows[name]["status"] == "unreadable" and reason in rows[name]["message"], name
    for name in ("holiday-photos", "no-config"):
        assert rows[name]["status"] == "unreadable" and "no config.json" in rows[name]["message"]
    with pytest.raises(runs.RunStoreError, match="cannot be read"):
        runs.load_run(tmp_path, "garbage-summary")


def test_a_damaged_meta_keeps_the_run_and_says_so(tmp_path):
    run_id = finished_run(tmp_path)
    (tmp_path / run_id / "meta.json").write_text("{oops")
    r = row(tmp_path, run_id)
    assert r["status"] == "finished" and "meta.json cannot be read" in r["message"]


def test_a_store_that_does_not_exist_lists_nothing(tmp_path):
    assert runs.list_runs(tmp_path / "nowhere") == []
    (tmp_path / "file").write_text("x")
    assert runs.list_runs(tmp_path / "file") == []


# --- 1,000 runs -----------------------------------------------------------------------------------


def test_a_thousand_runs_list_correctly(tmp_path):
    ids = bench_listing.fake_run_store(tmp_path, 1000)
    rows = runs.list_runs(tmp_path)
    assert len(rows) == 1000
    assert [r["run_id"] for r in rows] == ids[::-1]  # newest first
    by_id = {r["run_id"]: r for r in rows}
    for i in (0, 1, 7, 48, 49, 500, 999):
        r = by_id[f"bench-{i:06d}"]
        depth = 1 + i % 8
        assert r["depth"] == depth and r["params"] == 72 * depth - 30
        assert r["dataset"] == ("spiral", "xor", "moons", "circle")[i % 4]
        assert r["name"] == f"run {i}" and r["arch"] == "mlp" and r["device"] == "cpu"
        assert r["started"] == 1.7e9 + 60 * i and r["date"]
        if i % 50 == 49:
            assert r["status"] == "interrupted" and r["final_test_accuracy"] is None
        else:
            assert r["status"] == "finished" and r["seconds"] == 2.5
            assert r["final_test_accuracy"] == pytest.approx(0.5 + (i % 50) / 100)
            assert r["best_test_accuracy"] == pytest.approx(r["final_test_accuracy"] + 0.01)
    assert sum(r["status"] == "interrupted" for r in rows) == 20


def test_listing_again_reads_only_what_changed_and_sees_every_change(tmp_path, monkeypatch):
    ids = bench_listing.fake_run_store(tmp_path, 60)
    first = runs.list_runs(tmp_path)
    reads = []
    real_row = runs._row
    monkeypatch.setattr(listing, "_row", lambda folder: reads.append(folder) or real_row(folder))
    assert runs.list_runs(tmp_path) == first
    assert len(reads) == 1  # only the interrupted run (bench-000049): it depends on a process
    # what a listing returns is the caller's to change
    first[0]["tags"].append("mine")
    first[0]["name"] = "changed by the caller"
    # a rename (meta.json), a damaged summary written in place, a run that ends
    runs.rename_run(tmp_path, ids[3], "renamed")
    (tmp_path / ids[5] / "summary.json").write_text("{damaged")
    ended = finished_run(tmp_path, "20990101-000000-new-aaaaaa")
    reads.clear()
    again = {r["run_id"]: r for r in runs.list_runs(tmp_path)}
    assert sorted(os.path.basename(f) for f in reads) == sorted([ids[3], ids[5], ids[49], ended])
    assert again[ids[3]]["name"] == "renamed"
    assert again[ids[5]]["status"] == "unreadable"
    assert again[ended]["status"] == "finished"
    assert again[first[0]["run_id"]]["tags"] == [] and again[first[0]["run_id"]]["name"] != (
        "changed by the caller"
    )
    # and every row is what reading the folder afresh gives
    assert [r for r in again.values()] == [
        real_row(tmp_path / r["run_id"]) | {"path": r["path"]} for r in again.values()
    ]


# --- rename, tag, delete --------------------------------------------------------------------------


def test_rename_and_tag(tmp_path):
    run_id = finished_run(tmp_path, config=CONFIG.with_changes(name="deep one"))
    assert row(tmp_path, run_id)["name"] == "deep one"
    runs.rename_run(tmp_path, run_id, "  the baseline ")
    assert row(tmp_path, run_id)["name"] == "the baseline"
    assert runs.set_tags(tmp_path, run_id, [" relu", "depth", "relu", ""]) == ["relu", "depth"]
    r = row(tmp_path, run_id)
    assert r["tags"] == ["relu", "depth"] and r["name"] == "the baseline"
    runs.rename_run(tmp_path, run_id, "")  # back to the config's name
    assert row(tmp_path, run_id)["name"] == "deep one"
    runs.set_tags(tmp_path, run_id, [])
    assert row(tmp_path, run_id)["tags"] == []
    assert not list((tmp_path / run_id).glob(".*"))  # no temp files left
    with pytest.raises(runs.RunStoreError, match="at most"):
        runs.set_tags(tmp_path, run_id, ["x" * 41])
    with pytest.raises(runs.RunStoreError, match="list"):
        runs.set_tags(tmp_path, run_id, "relu")
    with pytest.raises(runs.RunStoreError, match="line breaks"):
        runs.rename_run(tmp_path, run_id, "two\nlines")
    with pytest.raises(runs.RunNotFound):
        runs.rename_run(tmp_path, "missing", "x")


def test_delete(tmp_path):
    keep, gone = finished_run(tmp_path, "a-keep"), finished_run(tmp_path, "b-gone")
    runs.delete_run(tmp_path, gone)
    assert [r["run_id"] for r in runs.list_runs(tmp_path)] == [keep]
    assert sorted(p.name for p in tmp_path.iterdir()) == [keep]
    with pytest.raises(runs.RunNotFound):
        runs.delete_run(tmp_path, gone)


def test_delete_refuses_paths_outside_the_store_and_running_runs(tmp_path):
    store, outside = tmp_path / "store", tmp_path / "precious"
    outside.mkdir()
    (outside / "config.json").write_text("{}")
    finished_run(store)
    os.symlink(outside, store / "link")
    for bad in ("../precious", "link", "/etc", ".."):
        with pytest.raises(runs.RunStoreError):
            runs.delete_run(store, bad)
    assert (outside / "config.json").is_file()
    runs.start_run(store, "still-training", CONFIG.to_dict())
    with pytest.raises(runs.RunStoreError, match="still training"):
        runs.delete_run(store, "still-training")


# --- export and import ----------------------------------------------------------------------------


def test_export_then_import_round_trips(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run_id = finished_run(a)
    runs.set_tags(a, run_id, ["shared"])
    data = runs.export_run(a, run_id)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sorted(names) == sorted(
        f"{run_id}/{n}"
        for n in ("config.json", "status.json", "metrics.json", "summary.json", "meta.json")
        + ("weights.safetensors",)
    )
    assert runs.import_run(b, data) == run_id
    strip = lambda r: {k: v for k, v in r.items() if k != "path"}  # noqa: E731
    assert strip(row(b, run_id)) == strip(row(a, run_id))
    assert runs.load_run(b, run_id).metrics["epoch"] == [1, 2, 3]
    torch.testing.assert_close(
        runs.load_weights(b, run_id, model()).state_dict(), model().state_dict()
    )
    # the same ZIP again: a fresh id, and the summary says so too
    again = runs.import_run(b, data)
    assert again != run_id and again.startswith(run_id)
    assert runs.load_run(b, again).summary["run_id"] == again
    assert len(runs.list_runs(b)) == 2


def test_an_unfinished_run_imports_as_interrupted(tmp_path):
    runs.start_run(tmp_path / "a", "mine", CONFIG.to_dict())  # running in this very process
    assert row(tmp_path / "a", "mine")["status"] == "running"
    run_id = runs.import_run(tmp_path / "b", runs.export_run(tmp_path / "a", "mine"))
    assert row(tmp_path / "b", run_id)["status"] == "interrupted"


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buf.getvalue()


GOOD_CONFIG = CONFIG.to_json()


@pytest.mark.parametrize(
    "files, message",
    [
        ({"../evil/config.json": GOOD_CONFIG}, "unsafe path"),
        ({"run/../config.json": GOOD_CONFIG}, "unsafe path"),
        ({"/abs/config.json": GOOD_CONFIG}, "unsafe path"),
        ({"run\\config.json": GOOD_CONFIG}, "unsafe path"),
        ({"run/config.json": GOOD_CONFIG, "run/evil.py": "import os"}, "unexpected file"),
        ({"a/b/config.json": GOOD_CONFIG}, "nested too deep"),
        ({"a/config.json": GOOD_CONFIG, "b/metrics.json": "{}"}, "one folder"),
        ({"run/metrics.json": "{}"}, "no config.json"),
        ({"run/config.json": "{broken"}, "config.json is not valid JSON"),
        ({"run/config.json": '{"model": {"arch": "gpt"}}'}, "model.arch"),
        ({"run/config.json": GOOD_CONFIG, "run/summary.json": "[]"}, "not a JSON object"),
        (
            {"run/config.json": GOOD_CONFIG, "run/summary.json": '{"format_version": 7}'},
            "newer dlviz",
        ),
        ({"run/config.json": GOOD_CONFIG, "run/weights.safetensors": "xx"}, "truncated"),
    ],
)
def test_import_refuses_what_is_not_a_run(tmp_path, files, message):
    with pytest.raises(runs.RunStoreError, match=message):
        runs.import_run(tmp_path, make_zip(files))
    assert runs.list_runs(tmp_path) == [] and not list(tmp_path.glob("*"))


def test_import_refuses_non_zips_and_oversized_files(tmp_path, monkeypatch):
    with pytest.raises(runs.RunStoreError, match="not a ZIP"):
        runs.import_run(tmp_path, b"PK but not really")
    monkeypatch.setitem(runs.MAX_JSON_BYTES, "metrics.json", 100)
    big = make_zip({"r/config.json": GOOD_CONFIG, "r/metrics.json": "[" + "0," * 100 + "0]"})
    with pytest.raises(runs.RunStoreError, match="metrics.json is over"):
        runs.import_run(tmp_path, big)


def test_a_flat_zip_without_ids_gets_a_fresh_id(tmp_path):
    run_id = runs.import_run(tmp_path, make_zip({"config.json": GOOD_CONFIG}))
    assert "imported" in run_id
    assert row(tmp_path, run_id)["status"] == "interrupted"  # config alone: never finished


# --- metrics as CSV -------------------------------------------------------------------------------


def test_metrics_csv(tmp_path):
    a = finished_run(tmp_path, "run-a")
    b = "run-b"
    runs.save_run(
        tmp_path,
        b,
        CONFIG.to_dict(),
        SUMMARY,
        {"epoch": [1], "elapsed": [0.5], "train_loss": [2.0], "test_accuracy": [None]},
    )
    assert runs.metrics_csv(tmp_path, [a, b]) == (
        "run_id,epoch,train_loss,train_accuracy,test_loss,test_accuracy,elapsed\n"
        "run-a,1,0.9,0.5,1.0,0.5,0.25\n"
        "run-a,2,0.5,0.75,0.625,0.875,0.5\n"
        "run-a,3,0.25,0.875,nan,0.75,0.75\n"
        "run-b,1,2.0,,,,0.5\n"
    )
    with pytest.raises(runs.RunNotFound):
        runs.metrics_csv(tmp_path, ["run-a", "missing"])


# --- what jobs leave in the store ----------------------------------------------------------------


def test_jobs_list_a_run_as_running_while_it_trains_then_finished(tmp_path, monkeypatch):
    monkeypatch.setattr(admission, "BOARD", admission.Admission())
    long = CONFIG.with_changes(train={"epochs": 100_000})
    events = []
    handle = jobs.start(long, runs_dir=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not any(e["type"] == "epoch" for e in events):
            assert time.monotonic() < deadline and handle.alive
            while not handle.events.empty():
                events.append(handle.events.get_nowait())
            time.sleep(0.02)
        (start,) = [e for e in events if e["type"] == "start"]
        run_id = start["run_id"]  # in the store from the start
        (r,) = runs.list_runs(tmp_path)
        assert r["run_id"] == run_id and r["status"] == "running"
        assert r["params"] == start["params"] and r["device"] == start["device"]
    finally:
        handle.stop()
        handle.thread.join(30)
    while not handle.events.empty():
        events.append(handle.events.get_nowait())
    h = handle.history
    for e in events:
        h.apply(e)
    assert h.run_id == run_id
    r = row(tmp_path, run_id)
    assert r["status"] == "stopped" and r["epochs"] == h.epoch

    h = jobs.start(CONFIG, runs_dir=tmp_path).wait(30)
    r = row(tmp_path, h.run_id)
    assert r["status"] == "finished" and r["epochs"] == 3
    assert r["final_test_accuracy"] == h.final["test_accuracy"]
    assert r["best_test_accuracy"] == max(h.epochs.column("test_accuracy"))


def test_a_run_that_fails_is_listed_as_an_error_not_left_running(tmp_path, monkeypatch):
    monkeypatch.setattr(admission, "BOARD", admission.Admission())

    class Boom(Callback):
        def on_epoch_end(self, state):
            raise RuntimeError("boom")

    events = []
    result = jobs.execute(CONFIG, emit=events.append, runs_dir=tmp_path, callbacks=(Boom(),))
    assert result["status"] == "error" and "boom" in result["message"]
    r = row(tmp_path, result["run_id"])
    assert r["status"] == "error" and "boom" in r["message"]
    # the epoch it finished before failing is kept (no weights: they may be what broke)
    assert r["epochs"] == 1 and r["final_test_accuracy"] is not None
    run = runs.load_run(tmp_path, result["run_id"])
    assert run.metrics["epoch"] == [1] and not run.has_weights
