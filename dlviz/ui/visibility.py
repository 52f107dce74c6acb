"""Whose runs a browser sees: the one rule, used by every page that reads the run store for a
person.

- **Single-user mode** (the default, a laptop): one person, every run in the store, as they
  are on disk, whoever started them.
- **Shared-server mode** (``DLVIZ_SHARED=1``, or ``dlviz ui --shared``): a person sees, renames,
  tags, deletes, downloads, compares, restores and takes as a backbone only their own runs: those
  whose ``owner`` is theirs (`dlviz.ui.owner.owner_id`: a hash of the signed-in identity where
  `st.login` is set up, else of the browser's token). Runs with no owner (`dlviz train`,
  `dlviz sweep`, `dlviz runs import` on the server) belong to the server's operator, who reads
  them with the command line; browsers do not see them. Sweeps follow the same rule by their
  manifest's ``owner``.

Another's run is never told apart from a missing one: asking for it by id raises the same
`RunNotFound`, with the same message, as asking for an id nobody used, so ids cannot be probed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dlviz import runs
from dlviz.ui import owner

SHARED_VAR = "DLVIZ_SHARED"
_TRUE = ("1", "true", "yes", "on")


def shared() -> bool:
    """True in shared-server mode (`DLVIZ_SHARED` is 1, true, yes or on)."""
    return os.environ.get(SHARED_VAR, "").strip().lower() in _TRUE


def viewer() -> str:
    """The owner id of the person this session serves (what their runs carry)."""
    return owner.owner_id()


def _mine(who: Any) -> bool:
    return isinstance(who, str) and bool(who) and who == viewer()


def may_see(row: dict[str, Any]) -> bool:
    """May this session see run `row` (a listing row) at all: list, open, compare it?"""
    return not shared() or _mine(row.get("owner"))


def may_touch(row: dict[str, Any]) -> bool:
    """May this session change run `row`: rename, tag, delete, download it? What a person sees
    is theirs to change; the rule is the same, kept as its own name for the reader."""
    return may_see(row)


def visible_runs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of `rows` this session may see, in their order."""
    if not shared():
        return rows
    me = viewer()
    return [r for r in rows if r.get("owner") and r.get("owner") == me]


def not_found(root: str | os.PathLike[str] | None, run_id: str) -> runs.RunNotFound:
    """The error for a run id this session may not see: word for word the run store's for an
    id that is not there."""
    where = Path(root) if root else runs.default_root()
    return runs.RunNotFound(f"there is no run {run_id!r} in {where} (`dlviz runs ls` lists them)")


def run_row(root: str | os.PathLike[str] | None, run_id: str) -> dict[str, Any]:
    """Run `run_id`'s listing row, where this session may see it; RunNotFound otherwise."""
    row = runs.run_row(root, run_id)
    if not may_see(row):
        raise not_found(root, run_id)
    return row


def require(root: str | os.PathLike[str] | None, run_id: str) -> None:
    """Raise RunNotFound unless this session may see and change run `run_id` (in single-user
    mode nothing is read: the store's own errors come from the call that follows)."""
    if shared():
        run_row(root, run_id)


def load_run(root: str | os.PathLike[str] | None, run_id: str) -> runs.StoredRun:
    """`runs.load_run`, for a run this session may see."""
    require(root, run_id)
    return runs.load_run(root, run_id)


def may_see_sweep(manifest: dict[str, Any]) -> bool:
    """May this session follow the sweep of `manifest` (and see its trials' runs)?"""
    return not shared() or _mine(manifest.get("owner"))


def visible_sweeps(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in manifests if may_see_sweep(m)]


def scope_note() -> str:
    """One sentence on whose runs the pages show, for shared-server mode ("" otherwise)."""
    if not shared():
        return ""
    who = "your account" if owner.signed_in() else "this browser"
    return (
        f"This server is shared: you see the runs {who} started or imported, and nobody else "
        "sees them."
    )
