"""A run's folder in the store: its files and their limits, writing them atomically as a run
starts, trains and ends, telling whether the process that trains it still lives, and reading
its small JSON files back (the layout is described in `dlviz.runs`)."""

from __future__ import annotations

import errno
import json
import math
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as safetensors_bytes
from torch import nn

from dlviz import jsonread
from dlviz.config import SEQUENCE_ARCHS

FORMAT_VERSION = 1

CONFIG, STATUS, METRICS, SUMMARY, META, WEIGHTS = (
    "config.json",
    "status.json",
    "metrics.json",
    "summary.json",
    "meta.json",
    "weights.safetensors",
)
RUN_FILES = (CONFIG, STATUS, METRICS, SUMMARY, META, WEIGHTS)

# Largest file of each kind we read or import (a safetensors file of a big CNN is a few hundred MB).
MAX_JSON_BYTES = {
    CONFIG: 1 << 20,
    STATUS: 1 << 20,
    SUMMARY: 4 << 20,
    META: 1 << 20,
    METRICS: 64 << 20,
}
MAX_WEIGHTS_BYTES = 2 << 30
MAX_IMPORT_BYTES = 2 * MAX_WEIGHTS_BYTES + (256 << 20)  # a bundle holds the weights twice

MAX_NAME = 200
MAX_TAGS, MAX_TAG = 20, 40

TMP_SUFFIX = ".tmp"  # a file being written (hidden: its name starts with ".")

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

ROW_FIELDS = (
    "run_id",
    "name",
    "dataset",
    "arch",
    "depth",
    "params",
    "device",
    "best_test_accuracy",
    "final_test_accuracy",
    "epochs",
    "seconds",
    "started",
    "finished",
    "date",
    "tags",
    "status",
    "message",
    "path",
    "owner",  # an opaque id of the browser that started it (dashboard runs only)
    "stop_reason",  # why it was stopped, when not by the person who started it
    "saved_so_far",  # True: a running or interrupted run's figures, from its last saved curves
    "owner_told",  # True: the browser that started it was told the server's end cut it off
)
METRICS_COLUMNS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "elapsed")


class RunStoreError(Exception):
    """A run cannot be found, read, changed or imported; the message says why and what to do."""


class RunNotFound(RunStoreError):
    pass


# --- writing ----------------------------------------------------------------------------------


def default_root() -> Path:
    home = os.environ.get("DLVIZ_HOME") or Path.home() / ".dlviz"
    return Path(home) / "runs"


def new_run_id(label: str = "") -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:24]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return "-".join(p for p in (stamp, slug, secrets.token_hex(3)) if p)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: a hidden temp file beside it, flushed to the disk, then
    renamed over it. A write that fails (a full disk) or is killed leaves the old file as it was;
    a temp file left by a kill is hidden from the listing and removed later (`sweep_leftovers`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` last through a power cut (best effort: not every file system
    lets a folder be opened or synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, *((errno.EDQUOT,) if hasattr(errno, "EDQUOT") else ())})


def is_disk_full(e: BaseException | None) -> bool:
    """Whether `e` says the disk (or the person's quota on it) is full."""
    return isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, allow_nan=True) + "\n").encode())


def describe_config(config: dict[str, Any]) -> dict[str, Any]:
    """The fields of a (possibly foreign or older) config dict that a Runs table shows."""
    data: dict[str, Any] = got if isinstance(got := config.get("data"), dict) else {}
    model: dict[str, Any] = got if isinstance(got := config.get("model"), dict) else {}
    arch = model.get("arch", "mlp")
    name = config.get("name", "")
    if arch in SEQUENCE_ARCHS:  # stacked layers (a bag of words has one hidden layer)
        layers = model.get("layers", 1)
        depth = layers if isinstance(layers, int) and not isinstance(layers, bool) else None
    else:
        blocks = model.get("blocks") if arch == "cnn" else model.get("hidden", [8, 8, 8])
        depth = len(blocks) if isinstance(blocks, list) else None
    return {
        "name": name if isinstance(name, str) else "",
        "dataset": data.get("name", "spiral"),
        "arch": arch,
        "depth": depth,
    }


def start_run(
    root: str | os.PathLike[str],
    run_id: str,
    config: dict[str, Any],
    info: dict[str, Any] | None = None,
) -> Path:
    """Create the folder of a run that starts now: ``config.json`` and ``status.json`` (this
    process, host and boot, the start time, and `info`: e.g. params and device). Returns it.

    Raises OSError when the store cannot be written or the run id is taken.
    """
    _check_id(run_id)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    folder = root / run_id
    if folder.exists():
        raise FileExistsError(f"{folder} already exists")
    status = {
        "format_version": FORMAT_VERSION,
        "run_id": run_id,
        "status": "running",
        "started": time.time(),
        **_process_identity(),
        **describe_config(config),
        **(info or {}),
    }
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{run_id}.", suffix=".starting"))
    try:
        atomic_write_json(tmp / CONFIG, config)
        atomic_write_json(tmp / STATUS, status)
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(root)
    return folder


def save_metrics(root: str | os.PathLike[str], run_id: str, metrics: dict[str, list[Any]]) -> None:
    """The curves of a run still training, so a run cut off keeps them (written atomically
    into the folder `start_run` made; a folder that is gone is not made again)."""
    folder = Path(root) / _check_id(run_id)
    if folder.is_dir() and not (folder / SUMMARY).exists():
        atomic_write_json(folder / METRICS, metrics)


def save_run(
    root: str | os.PathLike[str],
    run_id: str,
    config: dict[str, Any],
    summary: dict[str, Any],
    metrics: dict[str, list[Any]] | None,
    model: nn.Module | None = None,
    tensors: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write one finished (or stopped, diverged or failed) run: metrics, weights (of `model`,
    or `tensors`, a state dict already on the CPU: a run trained elsewhere), then
    ``summary.json`` last; returns its folder. Works with or without an earlier `start_run`.
    `metrics` None keeps the curves already saved (the end of a run whose full save failed)."""
    _check_id(run_id)
    folder = Path(root) / run_id
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _write_run(folder, run_id, config, summary, metrics, model, tensors)
    except BaseException:
        if made:  # a folder this call made (no start): no half-saved run is left in the store
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _write_run(
    folder: Path,
    run_id: str,
    config: dict[str, Any],
    summary: dict[str, Any],
    metrics: dict[str, list[Any]] | None,
    model: nn.Module | None,
    tensors: dict[str, torch.Tensor] | None,
) -> None:
    atomic_write_json(folder / CONFIG, config)
    if metrics is not None:
        atomic_write_json(folder / METRICS, metrics)
    else:
        try:
            metrics = _read_json(folder / METRICS)
        except (OSError, ValueError):
            metrics = None
        metrics = metrics if isinstance(metrics, dict) else {}
    if model is not None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if tensors is not None:
        tensors = {k: v for k, v in tensors.items() if isinstance(v, torch.Tensor)}
        # The config travels with the weights, so the file alone can be a Transfer backbone.
        # Made in memory and written by `atomic_write_bytes`: safetensors' own `save_file`
        # writes through a temp file of its own (".tmpXXXXXX"), which a kill would leave behind
        # under a name `sweep_leftovers` does not know.
        data = safetensors_bytes(tensors, metadata={"dlviz_config": json.dumps(config)})
        atomic_write_bytes(folder / WEIGHTS, data)
    finished = time.time()
    try:
        started = _read_json(folder / STATUS).get("started")
    except (OSError, ValueError, AttributeError):
        started = None
    if not isinstance(started, (int, float)):
        seconds = summary.get("seconds")
        started = finished - seconds if isinstance(seconds, (int, float)) else finished
    final: dict[str, Any] = got if isinstance(got := summary.get("final"), dict) else {}
    atomic_write_json(
        folder / SUMMARY,
        {
            "format_version": FORMAT_VERSION,
            "run_id": run_id,
            **summary,
            # what a Runs table shows, so listing reads this file alone
            **describe_config(config),
            "started": started,
            "finished": finished,
            "best_test_accuracy": _best(metrics.get("test_accuracy")),
            "final_test_accuracy": final.get("test_accuracy"),
        },
    )


# Runs of this process whose end could not be written at all (a full disk): the listing shows
# each as ended, with the reason, while this process lives; afterwards it reads as interrupted.
_UNSAVED_ENDS: dict[str, tuple[str, str]] = {}
_UNSAVED_MAX = 10_000


def note_unsaved_end(root: str | os.PathLike[str], run_id: str, status: str, message: str) -> None:
    """Remember, in this process, how a run ended when not even its summary could be written."""
    if len(_UNSAVED_ENDS) >= _UNSAVED_MAX:
        _UNSAVED_ENDS.clear()
    _UNSAVED_ENDS[os.path.abspath(os.path.join(root, _check_id(run_id)))] = (status, message)


def unsaved_end(folder: str) -> tuple[str, str] | None:
    """(status, message) of a run of this process whose end could not be written, else None."""
    return _UNSAVED_ENDS.get(os.path.abspath(folder)) if _UNSAVED_ENDS else None


# Temp files and folders a killed write leaves behind are hidden (their names start with "."),
# so the listing never shows them; they are removed once older than this, when no write can
# still be going on in them.
LEFTOVER_AGE_S = 600.0


def sweep_leftovers(folder: str | os.PathLike[str], now: float | None = None) -> int:
    """Remove the hidden temp files (``.*.tmp``) older than `LEFTOVER_AGE_S` in `folder`, a run
    folder; returns how many. Never raises."""
    now = time.time() if now is None else now
    removed = 0
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if not (entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX)):
                    continue
                try:
                    if now - entry.stat(follow_symlinks=False).st_mtime > LEFTOVER_AGE_S:
                        os.unlink(entry.path)
                        removed += 1
                except OSError:
                    continue
    except OSError:
        pass
    return removed


def sweep_hidden_folder(entry: os.DirEntry[str], now: float | None = None) -> None:
    """Remove a hidden folder of the store's top level that a killed process left: a run
    deleted half-way (``.<id>.<hex>.deleting``, any age) or started half-way
    (``.<id>.<hex>.starting``, older than `LEFTOVER_AGE_S`). Never raises."""
    name = entry.name
    if not (name.endswith(".deleting") or name.endswith(".starting")):
        return
    try:
        if not entry.is_dir(follow_symlinks=False):
            return
        age = (time.time() if now is None else now) - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return
    if name.endswith(".deleting") or age > LEFTOVER_AGE_S:
        shutil.rmtree(entry.path, ignore_errors=True)


def _best(values: Any) -> float | None:
    if not isinstance(values, list):
        return None
    good = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return max(good) if good else None


# --- is the process that trains a run still there? ------------------------------------------------


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _proc_start(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (Linux); None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    try:  # the command name (field 2) may hold spaces and parentheses: split after the last ')'
        return int(stat[stat.rindex(")") + 2 :].split()[19])
    except (ValueError, IndexError):
        return None


_identity: dict[str, Any] = {}


def _process_identity() -> dict[str, Any]:
    """pid, host, boot and process start of this process: enough to tell later whether the
    process that started a run is still alive (a recycled pid after a container restart
    has a different start time)."""
    pid = os.getpid()
    if _identity.get("pid") != pid:  # computed once per process (and again after a fork)
        _identity.update(
            pid=pid, host=socket.gethostname(), boot_id=_boot_id(), proc_start=_proc_start(pid)
        )
    return dict(_identity)


def _alive(status: dict[str, Any]) -> bool:
    me = _process_identity()
    pid = status.get("pid")
    if not isinstance(pid, int) or pid <= 0 or status.get("host") != me["host"]:
        return False
    if status.get("boot_id") and me["boot_id"] and status["boot_id"] != me["boot_id"]:
        return False
    if pid == me["pid"]:
        return status.get("proc_start") == me["proc_start"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    except OSError:
        return False
    started = status.get("proc_start")
    return started is None or _proc_start(pid) in (None, started)


# --- reading ----------------------------------------------------------------------------------


def _check_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise RunNotFound(
            f"{run_id!r} is not a run id (letters, digits, '.', '_' and '-'; "
            "`dlviz runs ls` lists them)"
        )
    return run_id


def _folder(root: str | os.PathLike[str] | None, run_id: Any) -> Path:
    root = Path(root) if root else default_root()
    folder = root / _check_id(run_id)
    if folder.is_symlink() or not folder.is_dir():
        raise RunNotFound(f"there is no run {run_id!r} in {root} (`dlviz runs ls` lists them)")
    return folder


def run_folder(root: str | os.PathLike[str] | None, run_id: str) -> Path:
    """The folder of run `run_id` (the id checked: no path tricks)."""
    return _folder(root, run_id)


def _read_json(path: str | os.PathLike[str], limit: int | None = None) -> Any:
    """Parse a small JSON file; raises OSError (FileNotFoundError) or ValueError."""
    limit = limit or MAX_JSON_BYTES.get(os.path.basename(path), 1 << 20)
    with open(path, "rb", buffering=0) as f:  # unbuffered: one read of the whole file
        if os.fstat(f.fileno()).st_size > limit:
            raise ValueError(f"it is over {limit // 1024} KB")
        data = f.read()  # the store replaces files, it never appends: the size holds
    return jsonread.loads(data)  # ValueError too when nested too deep


def _version_problem(name: str, obj: dict[str, Any]) -> str:
    version = obj.get("format_version", 1)
    if not isinstance(version, int):
        return f"{name} has a format_version that is not a number ({version!r})"
    if version > FORMAT_VERSION:
        return (
            f"made by a newer dlviz ({name}: format {version}; this one reads up to "
            f"{FORMAT_VERSION}): upgrade dlviz to open it"
        )
    return ""
