"""What the pages where a person builds a labelled set of files share (Your images, Sound):
class names that can be folder names, uploaders that empty once their files are taken in, and
the report of what the last change did, naming each refused file."""

from __future__ import annotations

from typing import Any

import streamlit as st

GENERATIONS = "_dlviz_uploader_gen"
MAX_LISTED = 20  # refused files named in a report; the rest are counted


def class_name_problem(name: str, existing: list[str]) -> str:
    """Why `name` cannot be a new class ("" when it can): class names become folder names."""
    name = name.strip()
    if not name:
        return "Type a name for the class first."
    if name in existing:
        return f"There is already a class called {name}."
    if any(c in name for c in '/\\:*?"<>|') or name.startswith("."):
        return f'{name!r} cannot be a class name: leave out / \\ : * ? " < > | and a leading dot.'
    if len(name) > 60:
        return "Class names are at most 60 characters."
    return ""


def megabytes(n_bytes: int) -> int:
    """A byte limit in whole megabytes, rounded up (what st.file_uploader takes)."""
    return max(1, -(-n_bytes // 2**20))


def uploader_key(name: str) -> str:
    """An uploader's key. Each uploader gets a new key (so it empties) only after its own
    files were taken in (`taken_in`): files dropped on another uploader during that rerun are
    not lost with a replaced widget."""
    return f"{name}_{st.session_state.setdefault(GENERATIONS, {}).get(name, 0)}"


def taken_in(name: str) -> None:
    gen = st.session_state.setdefault(GENERATIONS, {})
    gen[name] = gen.get(name, 0) + 1


def show_report(r: dict[str, Any] | None) -> None:
    """A report ({"title", "problems", "kind": ok | info | warn | error}) of what the last
    change did: what was added, and each file that was refused, by name."""
    if not r:
        return
    text = r["title"]
    if r["problems"]:
        shown = r["problems"][:MAX_LISTED]
        text += "\n" + "\n".join(f"- {p}" for p in shown)
        if len(r["problems"]) > MAX_LISTED:
            text += f"\n- ... and {len(r['problems']) - MAX_LISTED} more"
    icon = {"ok": ":material/check_circle:", "info": ":material/info:"}.get(r["kind"])
    if r["kind"] == "error":
        st.error(text, icon=":material/error:")
    elif r["kind"] == "warn":
        st.warning(text, icon=":material/warning:")
    elif r["kind"] == "ok":
        st.success(text, icon=icon)
    else:
        st.info(text, icon=icon)
