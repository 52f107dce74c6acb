"""Listing the run store: one row per run folder, read from its small files, kept while the
folder does not change."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from dlviz.runs.store import (
    CONFIG,
    MAX_JSON_BYTES,
    META,
    METRICS,
    ROW_FIELDS,
    STATUS,
    SUMMARY,
    RunStoreError,
    _alive,
    _folder,
    _read_json,
    _version_problem,
    default_root,
    describe_config,
    sweep_hidden_folder,
    sweep_leftovers,
    unsaved_end,
)


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
    outcome: dict[str, Any] = got if isinstance(got := summary.get("outcome"), dict) else {}
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
        final: dict[str, Any] = got if isinstance(got := summary.get("final"), dict) else {}
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
        if ended := unsaved_end(folder):  # this process ended it, and the disk was full
            row.update(status=ended[0], message=ended[1])
        elif _alive(status):
            row.update(status="running", message=f"training in process {status['pid']}")
        else:
            row.update(
                status="interrupted",
                message="The run ended before it finished (its process stopped or the "
                "machine restarted); its config and its curves up to the last save are "
                "kept, its weights are not.",
            )
            sweep_leftovers(folder)  # what its killed writes left (hidden temp files)

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


def list_runs(root: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every run folder under `root`, newest first: one dict per run with `ROW_FIELDS`.

    `status` is finished, stopped, diverged or error for a run that ended; running or
    interrupted for one that did not (its process is alive, or gone); unreadable for a damaged
    or foreign folder, with the reason in `message`.
    """
    root = Path(root) if root else default_root()
    try:
        with os.scandir(root) as it:
            entries: list[os.DirEntry[str]] = []
            hidden: list[os.DirEntry[str]] = []
            for entry in it:
                (hidden if entry.name.startswith(".") else entries).append(entry)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as e:
        raise RunStoreError(f"the run store {root} cannot be read: {e}") from e
    for entry in hidden:  # runs a killed process left half-started or half-deleted
        sweep_hidden_folder(entry)
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


def run_row(root: str | os.PathLike[str] | None, run_id: str) -> dict[str, Any]:
    """The listing row of one run; RunNotFound if there is none."""
    return _row(_folder(root, run_id))
