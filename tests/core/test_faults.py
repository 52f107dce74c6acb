"""Faults injected on purpose, and what must survive them: a process killed (kill -9) while it
trains and saves, a disk that fills up, a GPU out of memory, damaged or foreign folders in the
run store, and a training step that raises. docs/faults.md says what a person sees for each."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from dlviz import admission, jobs, runs, train, trained
from dlviz.config import RunConfig
from dlviz.models import build_model
from dlviz.runs import store

SMALL = RunConfig().with_changes(data={"n_samples": 200}, train={"epochs": 3, "device": "cpu"})
LONG = SMALL.with_changes(train={"epochs": 100_000})


@pytest.fixture(autouse=True)
def fresh_slots(monkeypatch):
    monkeypatch.setattr(admission, "BOARD", admission.Admission())
    yield
    jobs.stop_all("the test ended", wait_s=10)  # no run outlives its test, failed or not


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def wait_for_status(handle, status):
    wait_until(lambda: handle.poll() >= 0 and handle.history.status == status)


def files_of(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def check_whole(folder: Path) -> None:
    """Every run file in `folder` is whole; anything else is a hidden temp file."""
    for path in folder.iterdir():
        if path.name == runs.WEIGHTS:
            assert load_file(path), path  # a truncated file raises
        elif path.name in runs.RUN_FILES:
            assert isinstance(json.loads(path.read_text()), dict), path
        else:
            assert path.name.startswith(".") and path.name.endswith(".tmp"), path


# --- 1. kill -9 at random moments while runs train and save ---------------------------------------

# One interpreter imports torch once, then forks a child for each kill: each child trains and
# saves runs in a loop (the weights, the curves after every epoch, tags, names, a delete now
# and then) until the test kills it, at a random moment, with SIGKILL.
SAVING_FOREVER = """
import itertools, os, sys
import torch
torch.set_num_threads(1)
from dlviz import jobs, runs
from dlviz.config import RunConfig

root = sys.argv[1]
jobs.METRICS_EVERY_S = 0.0  # curves saved after every epoch: more writes to be killed in
config = RunConfig().with_changes(
    data={"n_samples": 200},
    model={"hidden": (512, 512)},  # 1 MB of weights a run
    train={"epochs": 2, "device": "cpu"},
)

def save_forever():
    for i in itertools.count():
        end = jobs.execute(
            config.with_changes(name=f"round {i}"), emit=lambda e: None, runs_dir=root,
            snapshots=False,
        )
        assert end["status"] == "finished", end
        runs.set_tags(root, end["run_id"], [f"round-{i}"])
        runs.rename_run(root, end["run_id"], f"kept {i}")
        if i % 4 == 3:
            runs.delete_run(root, end["run_id"])

jobs.execute(config, emit=lambda e: None, snapshots=False)  # warm: lazy imports, first kernels
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            save_forever()
        finally:
            os._exit(1)
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
"""


@pytest.mark.slow
def test_kill_9_at_random_moments_leaves_every_file_whole_and_every_run_listed(tmp_path):
    rng = random.Random(20240607)
    # early kills land in a first start or save, later ones after some runs; the last child
    # lives long enough to finish several
    delays = [rng.uniform(0.0, 0.3) for _ in range(3)] + [rng.uniform(0.3, 1.2) for _ in range(4)]
    delays.append(2.0)
    server = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SAVING_FOREVER), str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DLVIZ_HOME": str(tmp_path / "home")},
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        for delay in delays:
            server.stdin.write("go\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            time.sleep(delay)
            os.kill(pid, signal.SIGKILL)
            status = int(server.stdout.readline())
            # killed, never ended on its own (an error in a child would end it with 1)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    finally:
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err

    folders = [p for p in tmp_path.iterdir() if not p.name.startswith(".") and p.is_dir()]
    rows = {r["run_id"]: r for r in runs.list_runs(tmp_path)}
    assert set(rows) == {f.name for f in folders}
    statuses = {r["status"] for r in rows.values()}
    assert statuses <= {"finished", "interrupted"}, rows  # never unreadable, never "running"
    assert "finished" in statuses
    for folder in folders:
        check_whole(folder)
        row = rows[folder.name]
        stored = runs.load_run(tmp_path, folder.name)  # never raises
        if row["status"] == "finished":
            assert stored.metrics["epoch"] == [1, 2] and stored.has_weights
            cfg = RunConfig.from_dict(stored.config)
            runs.load_weights(tmp_path, folder.name, build_model(cfg.model, (2,), 2))
        else:
            assert "ended before it finished" in row["message"]
    # a killed start or delete leaves only hidden folders, which the listing skips
    for hidden in (p for p in tmp_path.iterdir() if p.name.startswith(".")):
        assert hidden.name.endswith((".starting", ".deleting")), hidden

    # what killed writes left is removed once it is old enough that no write can be going on
    long_ago = time.time() - 2 * store.LEFTOVER_AGE_S
    for path in tmp_path.rglob(".*"):
        os.utime(path, (long_ago, long_ago))
    rows_again = {r["run_id"]: r for r in runs.list_runs(tmp_path)}
    assert rows_again.keys() == rows.keys()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    for folder in folders:
        left = [n for n in files_of(folder) if n not in runs.RUN_FILES]
        if rows[folder.name]["status"] == "interrupted":
            assert left == [], folder
        else:  # an ended run is not read again: a killed rename or tag leaves a tiny file
            assert all(n.startswith(".meta.json.") for n in left), left


def test_temp_files_of_a_write_still_going_on_are_left_alone(tmp_path):
    run_id = "20240101-000000-run-aaaaaa"
    folder = runs.start_run(tmp_path, run_id, SMALL.to_dict())
    os.utime(folder / runs.STATUS, (1.0, 1.0))
    (folder / ".weights.abc.tmp").write_bytes(b"being written")
    (tmp_path / f".{run_id}.x.starting").mkdir()
    status = json.loads((folder / runs.STATUS).read_text())
    (folder / runs.STATUS).write_text(json.dumps({**status, "pid": 0}))  # its process is gone
    (row,) = runs.list_runs(tmp_path)
    assert row["status"] == "interrupted"
    assert (folder / ".weights.abc.tmp").exists()  # fresh: a slow write may still finish it
    assert (tmp_path / f".{run_id}.x.starting").exists()


# --- 2. a full disk --------------------------------------------------------------------------------


class FullDisk:
    """The disk under `root` fills up: flushing a file there (where a full disk shows at the
    latest) fails with ENOSPC, half of the file written; with `what="weights"`, only the
    weights' file (its hidden temp file: the weights are written whole or not at all)."""

    def __init__(self, monkeypatch, root: Path, what: str = "everything"):
        self.root, self.what, self.full = str(root), what, False
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            if self.full:
                path = os.readlink(f"/proc/self/fd/{fd}")
                hit = self.what == "everything" or Path(path).name.startswith(f".{runs.WEIGHTS}.")
                if hit and path.startswith(self.root) and not os.path.isdir(path):
                    os.ftruncate(fd, os.fstat(fd).st_size // 2)
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)


def test_a_disk_too_full_for_the_weights_fails_the_run_and_keeps_the_rest(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch, tmp_path, what="weights")
    disk.full = True
    h = jobs.start(SMALL, runs_dir=tmp_path).wait(60)
    assert h.status == "error"
    assert h.message.startswith(f"The disk is full: the run could not be saved to {tmp_path}")
    assert "Free some space there" in h.message
    assert h.model is not None and h.final  # the page still has the run as it trained
    folder = tmp_path / h.run_id
    assert files_of(folder) == ["config.json", "metrics.json", "status.json", "summary.json"]
    check_whole(folder)
    summary = json.loads((folder / runs.SUMMARY).read_text())
    assert summary["status"] == "error" and summary["message"] == h.message
    (row,) = runs.list_runs(tmp_path)
    assert row["status"] == "error" and "The disk is full" in row["message"]
    assert runs.load_run(tmp_path, h.run_id).metrics["epoch"] == [1, 2, 3]
    with pytest.raises(runs.RunStoreError, match="no saved weights"):
        runs.load_weights(tmp_path, h.run_id, build_model(SMALL.model, (2,), 2))

    disk.full = False  # space is back: the next run is saved whole
    again = jobs.start(SMALL, runs_dir=tmp_path).wait(60)
    assert again.status == "finished" and again.run_id
    check_whole(tmp_path / again.run_id)
    assert (tmp_path / again.run_id / runs.WEIGHTS).is_file()


def test_a_disk_that_fills_while_training_never_loses_the_curves_saved(tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "METRICS_EVERY_S", 0.0)  # curves saved after every epoch
    disk = FullDisk(monkeypatch, tmp_path)
    handle = jobs.start(LONG, runs_dir=tmp_path)
    wait_until(lambda: handle.poll() >= 0 and handle.history.epoch >= 2)
    (folder,) = (p for p in tmp_path.iterdir() if not p.name.startswith("."))
    metrics = folder / runs.METRICS
    wait_until(metrics.exists)
    disk.full = True
    time.sleep(0.1)  # a save under way when the disk filled has ended by now
    saved = metrics.read_bytes()
    epoch = handle.history.epoch
    wait_until(lambda: handle.poll() >= 0 and handle.history.epoch >= epoch + 2)
    handle.stop()  # the end cannot be written at all
    h = handle.wait(30)
    assert h.status == "error" and "The disk is full" in h.message and "Stopped after" in h.message
    assert h.run_id == folder.name
    assert metrics.read_bytes() == saved  # no half-written file replaced the good one
    assert len(json.loads(saved)["epoch"]) < h.epoch
    assert files_of(folder) == ["config.json", "metrics.json", "status.json"]
    (row,) = runs.list_runs(tmp_path)  # not "running" while this process lives on
    assert row["status"] == "error" and row["message"] == h.message

    disk.full = False  # the process carries on: the next run is saved
    again = jobs.start(SMALL, runs_dir=tmp_path).wait(60)
    assert again.status == "finished"
    assert {r["run_id"]: r["status"] for r in runs.list_runs(tmp_path)} == {
        h.run_id: "error",
        again.run_id: "finished",
    }


def test_a_disk_full_from_the_start_leaves_nothing_half_made(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch, tmp_path)
    disk.full = True
    h = jobs.start(SMALL, runs_dir=tmp_path).wait(60)
    assert h.status == "error" and h.message.startswith("The disk is full")
    assert h.run_id == "" and h.final  # trained, shown, but not in the store
    assert runs.list_runs(tmp_path) == []
    assert list(tmp_path.iterdir()) == []  # no half-made folder, no temp file


def test_a_sweep_on_a_full_disk_runs_to_its_end_and_says_why_nothing_was_kept(
    tmp_path, monkeypatch
):
    from dlviz.sweeps.driver import Driver
    from dlviz.sweeps.executors import LocalExecutor
    from dlviz.sweeps.spec import parse

    sweep = {"base": {"data": {"n_samples": 200}, "train": {"epochs": 2}}, "seeds": [0, 1]}
    said: list[str] = []
    disk = FullDisk(monkeypatch, tmp_path)
    disk.full = True  # its manifest cannot be written either
    result = Driver(parse(sweep), sweep, tmp_path, LocalExecutor(1), say=said.append).run()
    assert (result["trials"], result["failed"], result["runs"]) == (2, 2, [])
    assert sum("manifest could not be written" in line for line in said) == 1
    lines = [line for line in said if "Not saved: the disk is full" in line]
    assert len(lines) == 2 and all("free some space" in line for line in lines)
    assert runs.list_runs(tmp_path) == []  # nothing half-saved

    disk.full = False  # space is back: running it again trains both and keeps them
    again = Driver(parse(sweep), sweep, tmp_path, LocalExecutor(1)).run()
    assert again["finished"] == 2 and len(again["runs"]) == 2


# --- 3 and 5. a training step that raises: out of memory, any error ------------------------------


class Faults:
    """Training steps of named runs that fail or hold on command: their model's forward in
    training (not the admission's estimate, which forwards without gradients), and the plain
    MLP's hand-written step where `dlviz.train` takes it instead of the forward."""

    def __init__(self, monkeypatch):
        self.fail: dict[str, BaseException] = {}
        self.now = threading.Event()
        self.hold: set[str] = set()
        self.release = threading.Event()
        self.names: dict[int, str] = {}  # id(model) -> its run's name
        real_build, real_mlp_update = jobs.build_network, getattr(train, "mlp_update", None)

        def build_network(config, data, runs_dir=None):
            net = real_build(config, data, runs_dir)
            forward, name = net.model.forward, config.name
            self.names[id(net.model)] = name

            def faulty(*args, **kwargs):
                if torch.is_grad_enabled() and net.model.training:
                    self.step(name)
                return forward(*args, **kwargs)

            net.model.forward = faulty
            return net

        def mlp_update(model, *args, **kwargs):
            update = real_mlp_update(model, *args, **kwargs)
            name = self.names.get(id(model))
            if update is None or name is None:
                return update

            def faulty(xb, yb):
                self.step(name)
                return update(xb, yb)

            return faulty

        monkeypatch.setattr(jobs, "build_network", build_network)
        if real_mlp_update is not None:
            monkeypatch.setattr(train, "mlp_update", mlp_update)

    def step(self, name: str) -> None:
        if name in self.fail and self.now.is_set():
            raise self.fail[name]
        if name in self.hold:
            self.release.wait(30)


class Cut(BaseException):
    """Not an Exception: what a KeyboardInterrupt or SystemExit raised inside a run is like."""


def one_run_fails(monkeypatch, tmp_path, error: BaseException):
    """Two runs train (the most a device takes), a third waits; the first one's step raises
    `error`. Returns the three handles once all have ended."""
    monkeypatch.setenv("DLVIZ_RUNS_PER_DEVICE", "2")
    # `steady` holds inside a step: taking turns (dlviz.turns), it would hold the others too
    monkeypatch.setattr(jobs, "takes_turns", lambda net, device: False)
    faults = Faults(monkeypatch)
    faults.fail["failing"] = error
    faults.hold.add("steady")
    failing = jobs.start(LONG.with_changes(name="failing"), runs_dir=tmp_path)
    wait_for_status(failing, "running")
    steady = jobs.start(SMALL.with_changes(name="steady"), runs_dir=tmp_path)
    wait_for_status(steady, "running")
    waiting = jobs.start(SMALL.with_changes(name="waiting"), runs_dir=tmp_path)
    wait_for_status(waiting, "queued")
    assert "2 runs are already training" in waiting.history.message
    faults.now.set()
    assert failing.wait(30).status == "error"
    # its place was given back: the run that waited trains and ends while `steady` still holds
    assert waiting.wait(30).status == "finished", waiting.history.message
    assert steady.alive
    faults.release.set()
    assert steady.wait(30).status == "finished", steady.history.message
    assert admission.board() == []  # every place given back
    rows = {r["name"]: r for r in runs.list_runs(tmp_path)}
    assert rows["waiting"]["status"] == rows["steady"]["status"] == "finished"
    assert rows["failing"]["status"] == "error"
    assert rows["failing"]["message"] == failing.history.message
    return failing, steady, waiting


def test_out_of_memory_fails_the_run_with_advice_and_gives_its_place_back(monkeypatch, tmp_path):
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    failing, _, _ = one_run_fails(monkeypatch, tmp_path, oom)
    message = failing.history.message
    assert message == jobs.OUT_OF_MEMORY
    for advice in ("smaller batch size", "narrower or shallower network", "on the CPU"):
        assert advice in message
    assert failing.history.epoch >= 0 and failing.history.run_id


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom in a step"), ValueError("a bad value in a step"), Cut("cut off")],
    ids=["RuntimeError", "ValueError", "BaseException"],
)
def test_a_step_that_raises_fails_its_run_alone(monkeypatch, tmp_path, error):
    failing, _, _ = one_run_fails(monkeypatch, tmp_path, error)
    message = failing.history.message
    assert message.startswith(f"The run failed unexpectedly: {type(error).__name__}: {error}")
    summary = json.loads((tmp_path / failing.history.run_id / runs.SUMMARY).read_text())
    assert summary["status"] == "error" and summary["message"] == message


def test_a_base_exception_still_reaches_the_caller_of_execute(tmp_path, monkeypatch):
    faults = Faults(monkeypatch)
    faults.fail["cut"] = Cut("cut off")
    faults.now.set()
    events = []
    with pytest.raises(Cut):
        jobs.execute(SMALL.with_changes(name="cut"), emit=events.append, runs_dir=tmp_path)
    assert events[-1]["type"] == "end" and events[-1]["status"] == "error"
    assert admission.board() == []
    (row,) = runs.list_runs(tmp_path)
    assert row["status"] == "error" and "Cut: cut off" in row["message"]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_a_real_cuda_out_of_memory_fails_one_run_and_frees_its_memory(monkeypatch, tmp_path):
    # other programs hold all but 2 GB, and the estimate misses: admission lets the run in
    monkeypatch.setattr(jobs, "network_bytes", lambda net: 1)
    steady = jobs.start(
        SMALL.with_changes(name="steady", train={"device": "cuda", "epochs": 300}),
        runs_dir=tmp_path,
    )
    wait_until(lambda: steady.poll() >= 0 and steady.history.epoch >= 2, timeout=120)
    free, _ = torch.cuda.mem_get_info()
    filler = torch.empty(free - (2 << 30), dtype=torch.uint8, device="cuda")
    before = torch.cuda.memory_allocated()
    huge = RunConfig().with_changes(
        name="huge",
        data={"n_samples": 200_000},
        model={"hidden": (1024,) * 16},
        train={"batch_size": 65_536, "epochs": 1, "device": "cuda"},
    )
    h = jobs.start(huge, runs_dir=tmp_path).wait(300)
    assert h.status == "error" and h.message == jobs.OUT_OF_MEMORY
    # the failed run held about 2 GB when it ran out; all of it is free again (the run beside
    # it allocates and frees its own small tensors meanwhile)
    assert torch.cuda.memory_allocated() < before + (256 << 20)
    del filler
    torch.cuda.empty_cache()
    assert steady.wait(300).status == "finished", steady.history.message
    after = jobs.start(SMALL.with_changes(train={"device": "cuda"}), runs_dir=tmp_path).wait(120)
    assert after.status == "finished"
    assert admission.board() == []
    rows = {r["name"]: r["status"] for r in runs.list_runs(tmp_path)}
    assert rows["huge"] == "error" and rows["steady"] == "finished"


# --- 4. damaged and foreign folders in the store ---------------------------------------------------


def finished_run(root: Path, run_id: str) -> Path:
    cfg = SMALL.with_changes(name=run_id)
    model = build_model(cfg.model, (2,), 2, seed=0)
    runs.start_run(root, run_id, cfg.to_dict(), {"device": "cpu", "params": 202})
    summary = {"status": "finished", "message": "", "epochs": 3, "final": {}}
    return runs.save_run(root, run_id, cfg.to_dict(), summary, {"epoch": [1, 2, 3]}, model=model)


def damaged_store(root: Path) -> dict[str, str]:
    """A store with one good run and damaged or foreign folders; the reason each is listed."""
    finished_run(root, "good")
    (finished_run(root, "garbage-summary") / runs.SUMMARY).write_text('{"status": "fini')
    folder = finished_run(root, "garbage-status")
    (folder / runs.SUMMARY).unlink()
    (folder / runs.STATUS).write_bytes(b"\x00\xff garbage")
    (root / "random-text").mkdir()
    (root / "random-text" / "notes.txt").write_text("just some notes\n")
    foreign = root / "foreign-layout"
    (foreign / "checkpoints").mkdir(parents=True)
    (foreign / "checkpoints" / "model.pt").write_bytes(os.urandom(64))
    (foreign / "config.yaml").write_text("lr: 0.1\n")
    folder = finished_run(root, "summary-is-a-folder")
    (folder / runs.SUMMARY).unlink()
    (folder / runs.SUMMARY).mkdir()
    folder = finished_run(root, "config-is-a-folder")
    (folder / runs.CONFIG).unlink()
    (folder / runs.CONFIG).mkdir()
    (root / "locked").mkdir()
    (root / "locked" / runs.CONFIG).write_text(SMALL.to_json())
    (root / "locked" / runs.SUMMARY).write_text("{}")
    (root / "a-file-not-a-folder").write_text("a file where a run folder should be")
    return {
        "garbage-summary": "summary.json cannot be read",
        "garbage-status": "status.json cannot be read",
        "random-text": "no config.json",
        "foreign-layout": "no config.json",
        "summary-is-a-folder": "summary.json cannot be read",
        "config-is-a-folder": "no config.json",
        "locked": "Permission denied",
    }


@pytest.fixture
def locked_folder(tmp_path, monkeypatch):
    """`locked` cannot be read (chmod 000; for root, who reads anything, reading fails)."""
    yield
    os.chmod(tmp_path / "locked", 0o755)


def lock(root: Path, monkeypatch) -> None:
    locked = root / "locked"
    os.chmod(locked, 0)
    if os.geteuid() == 0:  # root reads a chmod 000 folder anyway: make its reads fail
        real_open = open

        def denied(path, *args, **kwargs):
            if os.fspath(path).startswith(str(locked)):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(store, "open", denied, raising=False)


def test_damaged_and_foreign_folders_are_listed_with_the_reason(
    tmp_path, monkeypatch, locked_folder
):
    reasons = damaged_store(tmp_path)
    # and runs whose big files are damaged: listed as they ended, refused when opened
    (finished_run(tmp_path, "garbage-config") / runs.CONFIG).write_text("{oops")
    weights = finished_run(tmp_path, "truncated-weights") / runs.WEIGHTS
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    (finished_run(tmp_path, "garbage-metrics") / runs.METRICS).write_text("[1, 2")
    lock(tmp_path, monkeypatch)

    rows = {r["run_id"]: r for r in runs.list_runs(tmp_path)}
    assert "a-file-not-a-folder" not in rows  # a file is not a run
    assert set(rows) == {
        "good",
        *reasons,
        "garbage-config",
        "truncated-weights",
        "garbage-metrics",
    }
    assert rows["good"]["status"] == "finished" and rows["good"]["message"] == ""
    for name, reason in reasons.items():
        assert rows[name]["status"] == "unreadable", name
        assert reason in rows[name]["message"], (name, rows[name]["message"])
    for name in ("garbage-config", "truncated-weights", "garbage-metrics"):
        assert rows[name]["status"] == "finished"


def test_opening_a_damaged_run_is_a_clear_error(tmp_path, monkeypatch, locked_folder):
    from dlviz.export import bundle

    reasons = damaged_store(tmp_path)
    (finished_run(tmp_path, "garbage-config") / runs.CONFIG).write_text("{oops")
    (finished_run(tmp_path, "garbage-metrics") / runs.METRICS).write_text("[1, 2")
    lock(tmp_path, monkeypatch)
    for name in [*reasons, "garbage-config", "garbage-metrics", "a-file-not-a-folder"]:
        with pytest.raises(runs.RunStoreError, match=name):
            runs.load_run(tmp_path, name)
        with pytest.raises(runs.RunStoreError, match=name):
            bundle.make(tmp_path, name)
        with pytest.raises(runs.RunStoreError):
            runs.metrics_csv(tmp_path, [name])
        if name not in ("garbage-config", "garbage-metrics"):
            with pytest.raises(runs.RunStoreError):
                runs.rename_run(tmp_path, name, "a new name")
    # the good run is untouched by all of it
    good = runs.load_run(tmp_path, "good")
    assert good.row["status"] == "finished" and good.metrics["epoch"] == [1, 2, 3]
    assert runs.export_run(tmp_path, "good")


def test_damaged_weights_are_a_clear_error_when_the_network_is_loaded(tmp_path):
    from dlviz.data import load_dataset
    from dlviz.export import bundle

    cfg = SMALL.with_changes(name="truncated-weights")
    data = load_dataset(cfg.data)
    weights = finished_run(tmp_path, "truncated-weights") / runs.WEIGHTS
    model, _ = trained.trained_model(tmp_path, "truncated-weights", cfg, data)  # whole: loads
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(runs.RunStoreError, match="weights of run truncated-weights cannot be read"):
        trained.trained_model(tmp_path, "truncated-weights", cfg, data)
    with pytest.raises(runs.RunStoreError, match="weights of run truncated-weights cannot be read"):
        trained.backbone_input(tmp_path, "truncated-weights", cfg, data)
    # exporting it still makes a bundle (the run, its curves), and says what it left out
    made = bundle.make(tmp_path, "truncated-weights")
    assert "ONNX: the weights of run truncated-weights cannot be read" in "\n".join(made.left_out)
    weights.write_text("not safetensors at all")
    with pytest.raises(runs.RunStoreError, match="cannot be read"):
        runs.load_weights(tmp_path, "truncated-weights", model)
    weights.unlink()
    weights.mkdir()  # a folder where the weights file should be
    with pytest.raises(runs.RunStoreError, match="no saved weights"):
        trained.trained_model(tmp_path, "truncated-weights", cfg, data)
    with pytest.raises(runs.RunStoreError, match="no saved weights"):
        trained.backbone_input(tmp_path, "truncated-weights", cfg, data)
