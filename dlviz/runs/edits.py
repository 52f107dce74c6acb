"""What a person changes in a stored run afterwards: its name, its tags, its deletion."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from pathlib import Path
from typing import Any

from dlviz.runs.listing import _row
from dlviz.runs.store import (
    FORMAT_VERSION,
    MAX_NAME,
    MAX_TAG,
    MAX_TAGS,
    META,
    RunStoreError,
    _folder,
    _read_json,
    atomic_write_json,
    default_root,
)

# --- changing ---------------------------------------------------------------------------------

_meta_lock = threading.Lock()


def _update_meta(
    root: str | os.PathLike[str] | None, run_id: str, **changes: Any
) -> dict[str, Any]:
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


def mark_owner_told(root: str | os.PathLike[str] | None, run_id: str) -> None:
    """Note that the person whose run this is was told that a server's end cut it off."""
    _update_meta(root, run_id, owner_told=True)


def rename_run(root: str | os.PathLike[str] | None, run_id: str, name: str) -> None:
    """Give a run a display name (its id, the folder name, stays); "" restores its config's."""
    if not isinstance(name, str) or len(name.strip()) > MAX_NAME:
        raise RunStoreError(f"a run name is text of at most {MAX_NAME} characters")
    if any(ord(c) < 32 for c in name):
        raise RunStoreError("a run name cannot hold line breaks or control characters")
    _update_meta(root, run_id, name=name.strip())


def set_tags(root: str | os.PathLike[str] | None, run_id: str, tags: list[str]) -> list[str]:
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


def delete_run(root: str | os.PathLike[str] | None, run_id: str) -> None:
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
