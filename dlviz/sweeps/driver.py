"""The sweep driver: feeds an executor the trials a sweep file expands to, at most its slots at a
time, and is the only writer of the run store (a Ray cluster needs no shared file system).

Each trial that ends is saved as a normal run, tagged ``sweep:<sweep id>`` and carrying
``summary["sweep"] = {"id", "key", "index", "params", "seed"}``, so the Runs page filters and
compares them. The sweep keeps a manifest, ``<run store>/.sweeps/<sweep id>/manifest.json``
(written atomically, at most once a second while epochs come in): every trial's status, run
and last metrics, the sweep's state and the driver's process. Running the same file again
resumes: a trial whose run finished is skipped; stopped and failed ones run again.

A stop comes from the process (Ctrl+C, SIGTERM) or from a file, ``.../stop``, that the
dashboard writes: it reaches every running trial through the executor within a couple of
seconds, and the trials not started are left pending.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlviz import jsonread, runs
from dlviz.runs import store
from dlviz.sweeps.aggregate import best_group, groups, trial_metrics
from dlviz.sweeps.executors import Executor
from dlviz.sweeps.spec import SweepSpec, Trial, expand, sweep_id

SWEEPS_DIR = ".sweeps"
MANIFEST = "manifest.json"
STOP_FILE = "stop"
WRITE_EVERY_S = 1.0
DRAIN_S = 30.0  # after a stop, how long the driver waits for running trials to end
FORMAT_VERSION = 1
CURVE_POINTS = 100  # points of a running trial's curve the manifest keeps at most
MAX_MANIFEST_BYTES = 64_000_000  # 10,000 trials' rows, with room


def sweep_folder(root: str | os.PathLike[str], sid: str) -> Path:
    return Path(root) / SWEEPS_DIR / sid


def request_stop(root: str | os.PathLike[str], sid: str) -> None:
    """Ask the sweep's driver, wherever it runs on this store, to stop (the dashboard's Stop)."""
    folder = sweep_folder(root, sid)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STOP_FILE).write_text(str(time.time()))


def read_manifest(root: str | os.PathLike[str], sid: str) -> dict[str, Any] | None:
    path = sweep_folder(root, sid) / MANIFEST
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            return None
        obj = jsonread.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def list_sweeps(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every sweep's manifest in the store, newest first."""
    base = Path(root) / SWEEPS_DIR
    out = []
    if base.is_dir():
        for entry in base.iterdir():
            m = read_manifest(root, entry.name) if entry.is_dir() else None
            if m is not None:
                out.append(m)
    return sorted(out, key=lambda m: m.get("started", 0), reverse=True)


@dataclass
class _Row:
    trial: Trial
    status: str = "pending"  # pending, running, finished, stopped, error, diverged
    run_id: str = ""
    message: str = ""
    epoch: int = 0
    last: dict[str, Any] = field(default_factory=dict)  # the latest epoch's numbers
    metrics: dict[str, float] = field(default_factory=dict)  # a finished trial's
    finished: float = 0.0  # when it ended (time.time())
    curve: list[list[Any]] = field(default_factory=list)  # [epoch, test accuracy] while running

    def to_dict(self) -> dict[str, Any]:
        t = self.trial
        return {
            "index": t.index,
            "key": t.key,
            "label": t.label(),
            "params": t.params,
            "seed": t.seed,
            "status": self.status,
            "run_id": self.run_id,
            "message": self.message,
            "epoch": self.epoch,
            "epochs": t.config.train.epochs,
            "last": self.last,
            "metrics": self.metrics,
            "finished": self.finished,
            # a running trial's curve (thinned to CURVE_POINTS); an ended one's is in its run
            "curve": self.curve[:: max(1, len(self.curve) // CURVE_POINTS)]
            if self.status == "running"
            else [],
        }


def _finished_before(root: Path, entry: dict[str, Any]) -> bool:
    """A trial of an earlier run of the sweep that finished and whose run is still stored."""
    run_id = entry.get("run_id")
    if entry.get("status") != "finished" or not isinstance(run_id, str) or not run_id:
        return False
    try:
        return (runs.run_folder(root, run_id) / "summary.json").is_file()
    except runs.RunStoreError:
        return False


class Driver:
    """One run of a sweep file over `executor`, saving into the run store at `root`. `say`
    gets a line of progress for a person (the CLI prints it to stderr)."""

    def __init__(
        self,
        spec: SweepSpec,
        source: dict[str, Any],
        root: str | os.PathLike[str],
        executor: Executor,
        say: Callable[[str], None] = lambda line: None,
        owner: str = "",
    ):
        self.spec = spec
        self.owner = owner  # the person whose runs the trials are (the page's; "" for a CLI)
        self.source = source  # the sweep file as given, kept in the manifest
        self.root = Path(root)
        self.executor = executor
        self.say = say
        self.id = sweep_id(spec)
        self.folder = sweep_folder(self.root, self.id)
        self.rows = [_Row(t) for t in expand(spec)]
        self.by_key = {r.trial.key: r for r in self.rows}
        self.state = "running"
        self.started = time.time()
        self._stop = threading.Event()
        self._written = 0.0
        self._write_problem = ""  # why the manifest could not be written last time ("" if it was)
        self.skipped = 0

    # --- the manifest -------------------------------------------------------------------------

    def _resume(self) -> None:
        old = read_manifest(self.root, self.id)
        if not old:
            return
        for entry in old.get("trials", []):
            row = self.by_key.get(entry.get("key")) if isinstance(entry, dict) else None
            if row is not None and _finished_before(self.root, entry):
                row.status, row.run_id = "finished", entry["run_id"]
                row.epoch = int(entry.get("epoch") or 0)
                row.last = entry.get("last") or {}
                row.metrics = entry.get("metrics") or {}
                row.finished = float(entry.get("finished") or 0.0)
                self.skipped += 1

    def manifest(self) -> dict[str, Any]:
        trials = [r.to_dict() for r in self.rows]
        return {
            "format_version": FORMAT_VERSION,
            "sweep_id": self.id,
            "name": self.spec.name,
            "source": self.source,
            "metric": {"name": self.spec.metric, "goal": self.spec.goal},
            "axes": list(self.spec.grid),
            "seeds": self.spec.seeds,
            "state": self.state,
            "where": self.executor.where,
            "owner": self.owner,
            "pid": os.getpid(),
            "started": self.started,
            "updated": time.time(),
            "trials": trials,
        }

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < WRITE_EVERY_S:
            return
        self._written = now
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            runs.atomic_write_json(self.folder / MANIFEST, self.manifest())
        except OSError as e:  # a full disk: the sweep goes on, each trial says how it ended
            problem = f"the sweep's manifest could not be written: {e}"
            if problem != self._write_problem:
                self.say(problem)
            self._write_problem = problem
        else:
            self._write_problem = ""

    # --- a trial's end --------------------------------------------------------------------------

    def _save(self, row: _Row, result: dict[str, Any]) -> None:
        t = row.trial
        status = str(result.get("status") or "error")
        message = str(result.get("message") or "")
        summary = dict(result.get("summary") or {})
        if not summary:
            summary = {"status": status, "message": message, "epochs": 0, "final": {}}
        if self.owner:
            summary["owner"] = self.owner
        summary["sweep"] = {
            "id": self.id,
            "key": t.key,
            "index": t.index,
            "params": t.params,
            "seed": t.seed,
        }
        metrics = result.get("metrics") or {}
        run_id = runs.new_run_id(f"{self.spec.name or 'sweep'} {t.index}")
        try:
            runs.save_run(
                self.root,
                run_id,
                t.config.to_dict(),
                summary,
                metrics,
                tensors=result.get("state"),
            )
            runs.set_tags(self.root, run_id, [f"sweep:{self.id}"])
        except (OSError, runs.RunStoreError) as e:
            why = (
                f"the disk is full ({e.strerror}); free some space, then run the sweep again to "
                "train what did not finish"
                if store.is_disk_full(e)
                else str(e)
            )
            status, message, run_id = "error", f"{message} Not saved: {why}".strip(), ""
        row.status, row.message, row.run_id = status, message, run_id
        row.finished = time.time()
        row.metrics = trial_metrics(summary, metrics) if status == "finished" else {}

    def _line(self, row: _Row) -> str:
        done = sum(r.status not in ("pending", "running") for r in self.rows)
        what = row.trial.label()
        m = row.metrics.get(self.spec.metric)
        value = (
            f": {self.spec.metric.replace('_', ' ')} {m:.4g}"
            if isinstance(m, float)
            else (f": {row.message}" if row.message else "")
        )
        return f"[{done}/{len(self.rows)}] {row.status} {what}{value}"

    # --- the loop ---------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def _stop_asked(self) -> bool:
        return self._stop.is_set() or (self.folder / STOP_FILE).exists()

    def run(self) -> dict[str, Any]:
        """Run every trial not finished before; return the result (`result()`)."""
        self._resume()
        (self.folder / STOP_FILE).unlink(missing_ok=True)  # an old stop is not this run's
        pending = [r for r in self.rows if r.status != "finished"]
        if self.skipped:
            self.say(f"{self.skipped} of {len(self.rows)} trials finished before: skipped")
        self.say(f"sweep {self.id}: {len(pending)} trials on {self.executor.where}")
        self.write(force=True)
        queue = list(pending)
        running: dict[str, _Row] = {}
        stopping_since: float | None = None
        try:
            while queue or running:
                if stopping_since is None and self._stop_asked():
                    stopping_since = time.monotonic()
                    self.state = "stopping"
                    self.executor.stop()
                    self.say("stopping: the running trials end within seconds")
                if stopping_since is None:
                    while queue and len(running) < self.executor.slots:
                        row = queue.pop(0)
                        row.status = "running"
                        running[row.trial.key] = row
                        self.executor.submit(row.trial.key, row.trial.config.to_dict())
                elif not running or time.monotonic() - stopping_since > DRAIN_S:
                    break
                for event in self.executor.events(timeout=0.5):
                    row = running.get(event.get("key", ""))
                    if row is None:
                        continue
                    if event.get("type") == "epoch":
                        row.epoch = int(event.get("epoch") or row.epoch)
                        row.last = {k: v for k, v in event.items() if k not in ("type", "key")}
                        row.curve.append([row.epoch, event.get("test_accuracy")])
                    elif event.get("type") == "done":
                        self._save(row, event.get("result") or {})
                        running.pop(row.trial.key, None)
                        self.say(self._line(row))
                        self.write(force=True)
                        continue
                self.write()
        finally:
            for row in running.values():  # never came back: left as not run
                row.status = "pending"
            self.state = "stopped" if stopping_since is not None else "finished"
            if self.state == "finished" and any(r.status == "pending" for r in self.rows):
                self.state = "stopped"
            self.executor.close()
            self.write(force=True)
        return self.result()

    def result(self) -> dict[str, Any]:
        """The CLI's JSON: ``{"sweep_id", "trials", "finished", "failed", "runs", "groups",
        "best"}``."""
        trials = [r.to_dict() for r in self.rows]
        gs = groups(trials)
        best = best_group(gs, self.spec.metric, self.spec.goal)
        return {
            "sweep_id": self.id,
            "state": self.state,
            "trials": len(self.rows),
            "finished": sum(r.status == "finished" for r in self.rows),
            "failed": sum(r.status in ("error", "diverged") for r in self.rows),
            "stopped": sum(r.status == "stopped" for r in self.rows),
            "pending": sum(r.status == "pending" for r in self.rows),
            "metric": {"name": self.spec.metric, "goal": self.spec.goal},
            "runs": [r.run_id for r in self.rows if r.run_id],
            "groups": gs,
            "best": best["params"] if best else None,
        }


def install_signal_stop(driver: Driver) -> None:
    """SIGTERM (the dashboard's process stop) and Ctrl+C stop the sweep cleanly."""

    def handler(signum, frame) -> None:  # noqa: ARG001
        driver.stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# --- a sweep started from the dashboard ----------------------------------------------------------

SWEEP_FILE = "sweep.json"
LOG_FILE = "log.txt"


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def running(manifest: dict[str, Any] | None) -> bool:
    """The manifest's driver is still at work (its state says so and its process lives)."""
    return bool(
        manifest
        and manifest.get("state") in ("starting", "running", "stopping")
        and _pid_alive(manifest.get("pid"))
    )


def _when(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else time.time()


def record(
    root: str | os.PathLike[str],
    *,
    name: str,
    trials: list[dict[str, Any]],
    where: str,
    owner: str = "",
    metric: tuple[str, str] = ("test_accuracy", "max"),
) -> str:
    """Keep runs a lab trained over seeds (`trials`: ``{"run_id", "params", "seed"}`` each, in
    the order they ran) as a sweep: tagged ``sweep:<id>``, with a manifest, so the Sweep page
    shows them with its views and the Runs page filters them. Returns the sweep's id (the same
    for the same runs: recording them again rewrites the one sweep)."""
    import hashlib

    ids = [str(t["run_id"]) for t in trials]
    digest = hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:8]
    words = "".join(c if c.isalnum() else " " for c in name.lower()).split()
    slug = "-".join(words)[:40].strip("-") or "sweep"
    sid = f"{slug}-{digest}"
    axes = list(dict.fromkeys(k for t in trials for k in t["params"]))
    rows = []
    for index, t in enumerate(trials):
        stored = runs.load_run(root, t["run_id"])
        status = str(stored.row.get("status") or "error")
        params, seed = dict(t["params"]), int(t["seed"])
        shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in params.items())
        rows.append(
            {
                "index": index,
                "key": stored.run_id,
                "label": f"{shown}, seed {seed}",
                "params": params,
                "seed": seed,
                "status": status,
                "run_id": stored.run_id,
                "message": str(stored.summary.get("message") or ""),
                "epoch": len(stored.metrics.get("epoch") or []),
                "epochs": int((stored.config.get("train") or {}).get("epochs") or 0),
                "last": {},
                "metrics": trial_metrics(stored.summary, stored.metrics)
                if status == "finished"
                else {},
                "finished": _when(stored.row.get("finished")),
                "curve": [],
            }
        )
        tags = list(stored.row.get("tags") or [])
        if f"sweep:{sid}" not in tags:
            runs.set_tags(root, stored.run_id, [*tags, f"sweep:{sid}"])
    values = {a: list(dict.fromkeys(json.dumps(t["params"][a]) for t in trials)) for a in axes}
    folder = sweep_folder(root, sid)
    folder.mkdir(parents=True, exist_ok=True)
    runs.atomic_write_json(
        folder / MANIFEST,
        {
            "format_version": FORMAT_VERSION,
            "sweep_id": sid,
            "name": name,
            "source": {"grid": {a: [json.loads(v) for v in vs] for a, vs in values.items()}},
            "metric": {"name": metric[0], "goal": metric[1]},
            "axes": axes,
            "seeds": sorted({int(t["seed"]) for t in trials}),
            "state": "finished",
            "where": where,
            "owner": owner,
            "pid": None,
            "started": min((r["finished"] for r in rows), default=time.time()),
            "updated": time.time(),
            "trials": rows,
        },
    )
    return sid


def running_for(root: str | os.PathLike[str], owner: str) -> list[dict[str, Any]]:
    """The manifests of the sweeps `owner` has running now."""
    return [m for m in list_sweeps(root) if owner and m.get("owner") == owner and running(m)]


def launch(
    source: dict[str, Any], root: str | os.PathLike[str], parallel: int = 1, owner: str = ""
) -> tuple[str, int]:
    """Start `dlviz sweep` on the sweep file `source` in a process of its own (its own session:
    it outlives the page that started it and the browser tab), writing into the run store at
    `root`; its file and log in the sweep's folder; its trials are `owner`'s runs. Returns
    (sweep id, process id). Raises SweepError for a bad sweep and RuntimeError when that sweep
    is already running, or `owner` has one running (one person runs one sweep at a time)."""
    import subprocess
    import sys

    from dlviz.sweeps.spec import parse

    spec = parse(source)
    expand(spec)  # every trial checked here, before a process starts
    sid = sweep_id(spec)
    if running(read_manifest(root, sid)):
        raise RuntimeError(f"the sweep {sid} is already running")
    mine = running_for(root, owner)
    if mine:
        name = mine[0].get("name") or mine[0].get("sweep_id")
        raise RuntimeError(
            f"You already have a sweep running ({name}). One person runs one sweep at a time "
            "here: stop it, or wait for it to end."
        )
    folder = sweep_folder(root, sid)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SWEEP_FILE
    runs.atomic_write_json(path, source)
    (folder / STOP_FILE).unlink(missing_ok=True)
    command = [sys.executable, "-m", "dlviz", "sweep", str(path), "--runs-dir", str(root),
               "--parallel", str(int(parallel)), "--yes"]  # fmt: skip
    if owner:
        command += ["--owner", owner]
    with open(folder / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    old = read_manifest(root, sid)
    if old is not None:  # a sweep run again: its trials kept (the driver resumes from them)
        old.update(state="starting", pid=proc.pid, updated=time.time())
        runs.atomic_write_json(folder / MANIFEST, old)
    else:  # the page follows the sweep from its first second
        runs.atomic_write_json(
            folder / MANIFEST,
            {
                "format_version": FORMAT_VERSION,
                "sweep_id": sid,
                "name": spec.name,
                "source": source,
                "metric": {"name": spec.metric, "goal": spec.goal},
                "axes": list(spec.grid),
                "seeds": spec.seeds,
                "state": "starting",
                "where": "this machine",
                "owner": owner,
                "pid": proc.pid,
                "started": time.time(),
                "updated": time.time(),
                "trials": [],
            },
        )
    return sid, proc.pid
