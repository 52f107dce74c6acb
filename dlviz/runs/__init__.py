"""The run store on disk: ``$DLVIZ_HOME/runs`` (default ``~/.dlviz/runs``), one folder per run.

A run folder (its name is the run id) holds:

- ``config.json`` and ``status.json`` (who trains it: pid, host, start time), written when the
  run starts (`start_run`): both are written into a hidden folder that is then renamed into place,
  so a run folder never exists without them;
- ``metrics.json`` (per-epoch history), saved every few seconds while the run trains
  (`save_metrics`), so a run cut off keeps its curves;
- ``weights.safetensors`` and, last, ``summary.json``, written when the run ends (`save_run`).
  A folder without ``summary.json`` is a run that did not finish: *running* while its process
  lives, *interrupted* once it is gone;
- ``meta.json``: what a person changed afterwards (name, tags).

Every file is written atomically (temp file, then rename). ``summary.json`` and ``status.json``
carry the fields a Runs table shows, so `list_runs` reads one small file per run (plus
``meta.json`` where there is one), never metrics or weights. A damaged or foreign folder is listed
as *unreadable* with the reason; reading the store never raises for what is in it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

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
MAX_IMPORT_BYTES = MAX_WEIGHTS_BYTES + (128 << 20)

MAX_NAME = 200
MAX_TAGS, MAX_TAG = 20, 40

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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, allow_nan=True) + "\n").encode())


def describe_config(config: dict[str, Any]) -> dict[str, Any]:
    """The fields of a (possibly foreign or older) config dict that a Runs table shows."""
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    arch = model.get("arch", "mlp")
    layers = model.get("blocks") if arch == "cnn" else model.get("hidden", [8, 8, 8])
    name = config.get("name", "")
    return {
        "name": name if isinstance(name, str) else "",
        "dataset": data.get("name", "spiral"),
        "arch": arch,
        "depth": len(layers) if isinstance(layers, list) else None,
    }


def start_run(
    root: Path | str, run_id: str, config: dict[str, Any], info: dict[str, Any] | None = None
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
    return folder


def save_metrics(root: Path | str, run_id: str, metrics: dict[str, list[Any]]) -> None:
    """The curves of a run still training, so a run cut off keeps them (written atomically
    into the folder `start_run` made; a folder that is gone is not made again)."""
    folder = Path(root) / _check_id(run_id)
    if folder.is_dir() and not (folder / SUMMARY).exists():
        atomic_write_json(folder / METRICS, metrics)


def save_run(
    root: Path | str,
    run_id: str,
    config: dict[str, Any],
    summary: dict[str, Any],
    metrics: dict[str, list[Any]],
    model: nn.Module | None = None,
) -> Path:
    """Write one finished (or stopped, diverged or failed) run: metrics, weights, then
    ``summary.json`` last; returns its folder. Works with or without an earlier `start_run`."""
    _check_id(run_id)
    folder = Path(root) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / CONFIG, config)
    atomic_write_json(folder / METRICS, metrics)
    if model is not None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        tensors = {k: v for k, v in tensors.items() if isinstance(v, torch.Tensor)}
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".weights.", suffix=".tmp")
        os.close(fd)
        try:
            # the config travels with the weights, so the file alone can be a Transfer backbone
            save_file(tensors, tmp, metadata={"dlviz_config": json.dumps(config)})
            os.replace(tmp, folder / WEIGHTS)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    finished = time.time()
    try:
        started = _read_json(folder / STATUS).get("started")
    except (OSError, ValueError, AttributeError):
        started = None
    if not isinstance(started, (int, float)):
        seconds = summary.get("seconds")
        started = finished - seconds if isinstance(seconds, (int, float)) else finished
    final = summary.get("final") if isinstance(summary.get("final"), dict) else {}
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
    return folder


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


def _folder(root: Path | str | None, run_id: Any) -> Path:
    root = Path(root) if root else default_root()
    folder = root / _check_id(run_id)
    if folder.is_symlink() or not folder.is_dir():
        raise RunNotFound(f"there is no run {run_id!r} in {root} (`dlviz runs ls` lists them)")
    return folder


def run_folder(root: Path | str | None, run_id: str) -> Path:
    """The folder of run `run_id` (the id checked: no path tricks)."""
    return _folder(root, run_id)


def _read_json(path: str | os.PathLike[str], limit: int | None = None) -> Any:
    """Parse a small JSON file; raises OSError (FileNotFoundError) or ValueError."""
    limit = limit or MAX_JSON_BYTES.get(os.path.basename(path), 1 << 20)
    with open(path, "rb", buffering=0) as f:  # unbuffered: one read of the whole file
        if os.fstat(f.fileno()).st_size > limit:
            raise ValueError(f"it is over {limit // 1024} KB")
        data = f.read()  # the store replaces files, it never appends: the size holds
    return json.loads(data)


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


def _date(t: Any) -> str:
    if not isinstance(t, (int, float)) or not math.isfinite(t):
        return ""
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))
    except (OverflowError, OSError, ValueError):
        return ""


def _read_config(folder: str) -> tuple[dict[str, Any], str]:
    """A run folder's config, or ({}, why it cannot be read)."""
    try:
        config = _read_json(os.path.join(folder, CONFIG))
    except (OSError, ValueError) as e:
        return {}, f"config.json cannot be read: {e}"
    if not isinstance(config, dict):
        return {}, "config.json is not a JSON object"
    return config, ""


def _message_with_outcome(summary: dict[str, Any]) -> str:
    """A run's message, and what its end said it learned when that was nothing (dead, at
    chance: `dlviz.outcome`), so the listing does not read "finished" alone."""
    message = str(summary.get("message") or "")
    outcome = summary.get("outcome") if isinstance(summary.get("outcome"), dict) else {}
    if outcome.get("kind") not in (None, "ok") and outcome.get("message"):
        message = f"{message} {outcome['message']}".strip()
    return message


def _unreadable(row: dict[str, Any], reason: str) -> dict[str, Any]:
    row.update(status="unreadable", message=reason)
    return row


def _row(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """One run's listing row from its small files; never raises for what is in the folder."""
    # os.path on strings, not pathlib: listing 1,000 runs calls this 1,000 times
    folder = os.fspath(folder)
    run_id = os.path.basename(folder)
    join = os.path.join
    row: dict[str, Any] = dict.fromkeys(ROW_FIELDS)
    row.update(run_id=run_id, path=folder, name="", tags=[], message="")
    try:
        summary = _read_json(join(folder, SUMMARY))
    except FileNotFoundError:
        summary = None
    except (OSError, ValueError) as e:
        return _unreadable(row, f"summary.json cannot be read: {e}")
    if summary is not None and not isinstance(summary, dict):
        return _unreadable(row, "summary.json is not a JSON object")
    if not os.path.isfile(join(folder, CONFIG)):
        return _unreadable(
            row,
            "no config.json: not a dlviz run (or a folder copied in part, or one whose run "
            "did not finish starting)",
        )

    if summary is not None:
        if problem := _version_problem("summary.json", summary):
            return _unreadable(row, problem)
        if "arch" not in summary:  # written before the listing fields were kept in it
            config, problem = _read_config(folder)
            if problem:
                return _unreadable(row, problem)
            summary = {**describe_config(config), **summary}
        final = summary.get("final") if isinstance(summary.get("final"), dict) else {}
        row.update({k: summary.get(k) for k in ROW_FIELDS if k in summary})
        row.update(
            run_id=run_id,
            path=folder,
            status=str(summary.get("status") or "finished"),
            message=_message_with_outcome(summary),
            final_test_accuracy=summary.get("final_test_accuracy", final.get("test_accuracy")),
            tags=[],
        )
    else:
        try:
            status = _read_json(join(folder, STATUS))
        except FileNotFoundError:
            status = {}
        except (OSError, ValueError) as e:
            return _unreadable(row, f"status.json cannot be read: {e}")
        if not isinstance(status, dict):
            return _unreadable(row, "status.json is not a JSON object")
        if problem := _version_problem("status.json", status):
            return _unreadable(row, problem)
        if not status:  # config but neither status nor summary: a save killed half-way
            config, problem = _read_config(folder)
            if problem:
                return _unreadable(row, problem)
            status = describe_config(config)
        row.update({k: status.get(k) for k in ROW_FIELDS if k in status})
        row.update(run_id=run_id, path=folder, tags=[])
        row.update(_saved_so_far(join(folder, METRICS)))
        if _alive(status):
            row.update(status="running", message=f"training in process {status['pid']}")
        else:
            row.update(
                status="interrupted",
                message="The run ended before it finished (its process stopped or the "
                "machine restarted); its config and its curves up to the last save are "
                "kept, its weights are not.",
            )

    row["date"] = _date(row.get("started") or row.get("finished"))
    try:
        meta = _read_json(join(folder, META))
    except FileNotFoundError:
        meta = {}
    except (OSError, ValueError) as e:
        meta = {}
        row["message"] = f"{row['message']} (meta.json cannot be read: {e}; name and tags ignored)"
    if isinstance(meta, dict):
        if isinstance(meta.get("name"), str) and meta["name"]:
            row["name"] = meta["name"]
        if isinstance(meta.get("tags"), list):
            row["tags"] = [t for t in meta["tags"] if isinstance(t, str)]
        row["owner_told"] = meta.get("owner_told") is True
    if not isinstance(row["name"], str):
        row["name"] = str(row["name"])
    return row


def _saved_so_far(path: str) -> dict[str, Any]:
    """A running or interrupted run's epochs, last and best test accuracy and training time,
    from the curves it saved last ({} when it saved none or they cannot be read)."""
    try:
        metrics = _read_json(path, MAX_JSON_BYTES[METRICS])
    except (OSError, ValueError):
        return {}
    if not isinstance(metrics, dict) or not isinstance(metrics.get("epoch"), list):
        return {}
    epochs = [e for e in metrics["epoch"] if isinstance(e, int)]
    tests = metrics.get("test_accuracy")
    good = (
        [v for v in tests if isinstance(v, (int, float)) and math.isfinite(v)]
        if isinstance(tests, list)
        else []
    )
    elapsed = metrics.get("elapsed")
    seconds = (
        elapsed[-1]
        if isinstance(elapsed, list) and elapsed and isinstance(elapsed[-1], (int, float))
        else None
    )
    if not epochs:
        return {}
    return {
        "epochs": epochs[-1],
        "final_test_accuracy": good[-1] if good else None,
        "best_test_accuracy": max(good) if good else None,
        "seconds": seconds,
        "saved_so_far": True,
    }


# Listing rows of ended runs, by folder: a row is read again only when its folder (a file
# renamed into it), summary.json or meta.json changed. Running and interrupted rows depend on
# whether a process lives, so they are never kept. Shared by every session: it holds only what
# is on disk.
_ROWS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
_ROWS_MAX = 50_000
_UNCACHED = ("running", "interrupted")


def _stamp(folder: str, folder_mtime_ns: int) -> tuple[Any, ...]:
    parts: list[Any] = [folder_mtime_ns]
    for name in (SUMMARY, META):
        try:
            st = os.stat(os.path.join(folder, name))
            parts += [st.st_mtime_ns, st.st_size]
        except OSError:
            parts += [None, None]
    return tuple(parts)


def _listed_row(entry: os.DirEntry[str]) -> dict[str, Any]:
    try:
        stamp = _stamp(entry.path, entry.stat(follow_symlinks=False).st_mtime_ns)
    except OSError:
        return _row(entry.path)
    hit = _ROWS.get(entry.path)
    if hit is not None and hit[0] == stamp:
        row = hit[1]
    else:
        row = _row(entry.path)
        if row["status"] in _UNCACHED:
            return row
        if len(_ROWS) >= _ROWS_MAX:
            _ROWS.clear()
        _ROWS[entry.path] = (stamp, row)
    return {**row, "tags": list(row["tags"])}  # the caller's copy


def list_runs(root: Path | str | None = None) -> list[dict[str, Any]]:
    """Every run folder under `root`, newest first: one dict per run with `ROW_FIELDS`.

    `status` is finished, stopped, diverged or error for a run that ended; running or
    interrupted for one that did not (its process is alive, or gone); unreadable for a damaged
    or foreign folder, with the reason in `message`.
    """
    root = Path(root) if root else default_root()
    try:
        with os.scandir(root) as it:
            entries = [e for e in it if not e.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as e:
        raise RunStoreError(f"the run store {root} cannot be read: {e}") from e
    rows = []
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        row = _listed_row(entry)
        when = row.get("started") or row.get("finished")
        if not isinstance(when, (int, float)) or not math.isfinite(when):
            try:
                when = entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                when = 0.0
        rows.append((when, entry.name, row))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return [r for _, _, r in rows]


def run_row(root: Path | str | None, run_id: str) -> dict[str, Any]:
    """The listing row of one run; RunNotFound if there is none."""
    return _row(_folder(root, run_id))


@dataclass
class StoredRun:
    """A run read back: `summary` and `metrics` are empty for a run that did not finish."""

    run_id: str
    path: Path
    row: dict[str, Any]  # its listing row: status, name, tags, ...
    config: dict[str, Any]
    summary: dict[str, Any]
    metrics: dict[str, list[Any]]  # per epoch: epoch, step, elapsed, train_loss, ...
    has_weights: bool


def load_run(root: Path | str | None, run_id: str) -> StoredRun:
    """Read one run's config, summary and metrics; RunStoreError says what is wrong."""
    folder = _folder(root, run_id)
    row = _row(folder)
    if row["status"] == "unreadable":
        raise RunStoreError(f"run {run_id} cannot be read: {row['message']}")
    parts: dict[str, Any] = {}
    for name in (CONFIG, SUMMARY, METRICS):
        try:
            parts[name] = _read_json(folder / name)
        except FileNotFoundError:
            parts[name] = {}
        except (OSError, ValueError) as e:
            raise RunStoreError(f"run {run_id}: {name} cannot be read: {e}") from e
        if not isinstance(parts[name], dict):
            raise RunStoreError(f"run {run_id}: {name} is not a JSON object")
    metrics = parts[METRICS]
    if (
        not all(isinstance(v, list) for v in metrics.values())
        or len({len(v) for v in metrics.values()}) > 1
    ):
        raise RunStoreError(f"run {run_id}: metrics.json is not columns of equal length")
    return StoredRun(
        run_id=run_id,
        path=folder,
        row=row,
        config=parts[CONFIG],
        summary=parts[SUMMARY],
        metrics=metrics,
        has_weights=(folder / WEIGHTS).is_file(),
    )


def load_weights(root: Path | str | None, run_id: str, model: nn.Module) -> nn.Module:
    """Load a run's saved weights (safetensors only) into `model`, built from its config."""
    path = _folder(root, run_id) / WEIGHTS
    if not path.is_file():
        raise RunStoreError(
            f"run {run_id} has no saved weights (it did not finish); train it again to get them"
        )
    try:
        tensors = load_file(path)
    except Exception as e:  # safetensors raises its own error types for damaged files
        raise RunStoreError(f"the weights of run {run_id} cannot be read: {e}") from e
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise RunStoreError(
            f"the weights of run {run_id} do not fit this model; build it from the run's "
            f"config ({str(e).splitlines()[0]})"
        ) from e
    return model


def metrics_csv(root: Path | str | None, run_ids: list[str]) -> str:
    """The per-epoch metrics of `run_ids` as one CSV table (a run_id column first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("run_id", *METRICS_COLUMNS))
    for run_id in run_ids:
        metrics = load_run(root, run_id).metrics
        n = len(metrics.get("epoch", []))
        for i in range(n):
            row = [metrics[c][i] if c in metrics else None for c in METRICS_COLUMNS]
            writer.writerow([run_id, *("" if v is None else v for v in row)])
    return out.getvalue()


# --- changing ---------------------------------------------------------------------------------

_meta_lock = threading.Lock()


def _update_meta(root: Path | str | None, run_id: str, **changes: Any) -> dict[str, Any]:
    folder = _folder(root, run_id)
    if _row(folder)["status"] == "unreadable":
        raise RunStoreError(f"run {run_id} cannot be read, so it cannot be changed")
    with _meta_lock:
        try:
            meta = _read_json(folder / META)
        except (OSError, ValueError):
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
        meta.update(changes, format_version=FORMAT_VERSION)
        meta = {k: v for k, v in meta.items() if v not in (None, "")}
        atomic_write_json(folder / META, meta)
    return meta


def mark_owner_told(root: Path | str | None, run_id: str) -> None:
    """Note that the person whose run this is was told that a server's end cut it off."""
    _update_meta(root, run_id, owner_told=True)


def rename_run(root: Path | str | None, run_id: str, name: str) -> None:
    """Give a run a display name (its id, the folder name, stays); "" restores its config's."""
    if not isinstance(name, str) or len(name.strip()) > MAX_NAME:
        raise RunStoreError(f"a run name is text of at most {MAX_NAME} characters")
    if any(ord(c) < 32 for c in name):
        raise RunStoreError("a run name cannot hold line breaks or control characters")
    _update_meta(root, run_id, name=name.strip())


def set_tags(root: Path | str | None, run_id: str, tags: list[str]) -> list[str]:
    """Replace a run's tags (trimmed, duplicates dropped); returns them."""
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise RunStoreError("tags are a list of words")
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip():
            continue
        tag = tag.strip()
        if len(tag) > MAX_TAG or any(ord(c) < 32 for c in tag):
            raise RunStoreError(f"tag {tag[:50]!r}: at most {MAX_TAG} characters, on one line")
        if tag not in clean:
            clean.append(tag)
    if len(clean) > MAX_TAGS:
        raise RunStoreError(f"a run has at most {MAX_TAGS} tags, got {len(clean)}")
    _update_meta(root, run_id, tags=clean or None)
    return clean


def delete_run(root: Path | str | None, run_id: str) -> None:
    """Remove a run's folder: renamed aside first (so it leaves the listing at once), then
    deleted. Refuses anything not directly inside `root`, and a run still training."""
    root = Path(root) if root else default_root()
    folder = _folder(root, run_id)
    if folder.resolve().parent != root.resolve():
        raise RunStoreError(f"refusing to delete {folder}: it is not inside the run store {root}")
    if _row(folder)["status"] == "running":
        raise RunStoreError(f"run {run_id} is still training; stop it first, then delete it")
    trash = root / f".{run_id}.{secrets.token_hex(4)}.deleting"
    try:
        os.rename(folder, trash)
    except OSError as e:
        raise RunStoreError(f"run {run_id} could not be deleted: {e}") from e
    shutil.rmtree(trash, ignore_errors=True)  # what is left is hidden and never listed


# --- export and import ------------------------------------------------------------------------


def export_run(root: Path | str | None, run_id: str) -> bytes:
    """A ZIP of the run's folder (its files under one folder named by the run id)."""
    folder = _folder(root, run_id)
    if not (folder / CONFIG).is_file():
        raise RunStoreError(f"run {run_id} has no config.json; there is nothing to export")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in RUN_FILES:
            path = folder / name
            if path.is_file():
                method = zipfile.ZIP_STORED if name == WEIGHTS else zipfile.ZIP_DEFLATED
                zf.write(path, f"{run_id}/{name}", compress_type=method)
    return buf.getvalue()


def _zip_problem(message: str) -> RunStoreError:
    return RunStoreError(f"this is not a dlviz run ZIP that can be imported: {message}")


def _read_run_zip(data: bytes) -> tuple[str, dict[str, bytes]]:
    """The folder name (or "") and the known files of a run ZIP; refuses anything else."""
    if len(data) > MAX_IMPORT_BYTES:
        raise _zip_problem(f"it is over {MAX_IMPORT_BYTES >> 20} MB")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as e:
        raise _zip_problem(f"not a ZIP file ({e})") from e
    infos = zf.infolist()
    if len(infos) > 2 * len(RUN_FILES):
        raise _zip_problem(f"{len(infos)} entries; a run has at most {len(RUN_FILES)} files")
    top: set[str] = set()
    files: dict[str, bytes] = {}
    for info in infos:
        name = info.filename
        parts = name.rstrip("/").split("/")
        if (
            not name
            or "\\" in name
            or ":" in name
            or name.startswith("/")
            or any(p in ("", ".", "..") for p in parts)
            or any(ord(c) < 32 for c in name)
        ):
            raise _zip_problem(f"unsafe path {name!r}")
        if info.is_dir():
            if len(parts) != 1:
                raise _zip_problem(f"unexpected folder {name!r}")
            top.add(parts[0])
            continue
        if len(parts) > 2:
            raise _zip_problem(f"{name!r} is nested too deep (a run is one folder of files)")
        top.add(parts[0] if len(parts) == 2 else "")
        base = parts[-1]
        if base not in RUN_FILES:
            raise _zip_problem(f"unexpected file {name!r} (a run holds {', '.join(RUN_FILES)})")
        if base in files:
            raise _zip_problem(f"{base} is in it twice")
        limit = MAX_WEIGHTS_BYTES if base == WEIGHTS else MAX_JSON_BYTES[base]
        if info.file_size > limit:
            raise _zip_problem(f"{name} is over {limit >> 20} MB")
        try:
            with zf.open(info) as f:
                content = f.read(limit + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as e:
            raise _zip_problem(f"{name} cannot be read ({e})") from e
        if len(content) > limit:
            raise _zip_problem(f"{name} is over {limit >> 20} MB")
        files[base] = content
    if len(top) > 1:
        raise _zip_problem("its files must all lie in one folder")
    return (top.pop() if top else ""), files


def _check_safetensors(data: bytes) -> None:
    if len(data) < 8:
        raise _zip_problem("weights.safetensors is truncated")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise _zip_problem("weights.safetensors is truncated")
    try:
        header = json.loads(data[8 : 8 + n])
    except ValueError as e:
        raise _zip_problem("weights.safetensors is not a safetensors file") from e
    if not isinstance(header, dict):
        raise _zip_problem("weights.safetensors is not a safetensors file")


def import_run(root: Path | str | None, data: bytes) -> str:
    """Add a run from a ZIP that `export_run` made; returns its id in this store (a fresh one
    if the id is taken). Refuses unknown files, oversized files, unsafe paths and a config this
    dlviz cannot read, with a message saying which."""
    from dlviz.config import ConfigError, RunConfig

    root = Path(root) if root else default_root()
    folder_name, files = _read_run_zip(data)
    if CONFIG not in files:
        raise _zip_problem("it has no config.json")
    parsed: dict[str, Any] = {}
    for name, content in files.items():
        if name == WEIGHTS:
            _check_safetensors(content)
            continue
        try:
            parsed[name] = json.loads(content)
        except ValueError as e:
            raise _zip_problem(f"{name} is not valid JSON ({e})") from e
        if not isinstance(parsed[name], dict):
            raise _zip_problem(f"{name} is not a JSON object")
        if problem := _version_problem(name, parsed[name]):
            raise _zip_problem(problem)
    try:
        RunConfig.from_dict(parsed[CONFIG])
    except ConfigError as e:
        raise _zip_problem(f"config.json is not a run config this dlviz can read: {e}") from e

    candidates = [
        folder_name,
        parsed.get(SUMMARY, {}).get("run_id"),
        parsed.get(STATUS, {}).get("run_id"),
    ]
    run_id = next((c for c in candidates if isinstance(c, str) and RUN_ID.fullmatch(c)), "")
    if not run_id:
        run_id = new_run_id("imported")
    root.mkdir(parents=True, exist_ok=True)
    while (root / run_id).exists():
        run_id = f"{run_id[:100]}-{secrets.token_hex(3)}"
    for name in (SUMMARY, STATUS):
        if name in parsed:
            parsed[name]["run_id"] = run_id
    if STATUS in parsed:  # the process that trained it is not ours: unfinished means interrupted
        parsed[STATUS].update(pid=None, host=None, proc_start=None)

    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{run_id}.", suffix=".importing"))
    try:
        for name, content in files.items():
            if name in parsed:
                content = (json.dumps(parsed[name], indent=2, allow_nan=True) + "\n").encode()
            atomic_write_bytes(tmp / name, content)
        os.rename(tmp, root / run_id)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RunStoreError(f"the run could not be written to {root}: {e}") from e
    return run_id
