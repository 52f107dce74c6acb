"""The Runs page's widgets: every run in the store the person may see in one table (filter,
sort, select) and the import of a run's ZIP (`view` draws one run and the Compare view).

Every widget key starts with ``rs_``. What a person changes goes through `dlviz.runs`; a failure
is one message on the page (kept in ``rs_flash`` across the rerun a button causes). Which runs
are theirs is `dlviz.ui.visibility`'s rule: all of them on a laptop, their own on a shared server.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dlviz import runs
from dlviz.compare import (
    filter_runs,
    run_labels,
)
from dlviz.runs.archive import IMPORT_CAP_VAR, import_size_problem, max_import_bytes
from dlviz.ui import layout, upload_budget, url_state, visibility
from dlviz.ui.collection import megabytes, taken_in, uploader_key
from dlviz.ui.state import set_defaults

FLASH = "rs_flash"
SELECTED = "rs_selected"  # the ids of the selected runs, kept when the table changes


def root() -> Path:
    return runs.default_root()


# --- messages across a rerun ------------------------------------------------------------------


def flash(kind: str, text: str) -> None:
    st.session_state[FLASH] = (kind, text)


def show_flash() -> None:
    """The message of the last action (rename, delete, import ...), once."""
    kind, text = st.session_state.pop(FLASH, (None, ""))
    if kind == "error":
        st.error(text, icon=":material/error:")
    elif kind == "success":
        st.success(text, icon=":material/check_circle:")


# --- the listing ------------------------------------------------------------------------------


def list_rows() -> list[dict[str, Any]] | None:
    """The listing rows of every run this person may see; None (with a message) when the store
    itself cannot be read."""
    try:
        return visibility.visible_runs(runs.list_runs(root()))
    except runs.RunStoreError as e:
        st.error(f"{e}. Check that the folder exists and can be read, or set DLVIZ_HOME.")
        return None


def page_caption() -> str:
    what = (
        f"{visibility.scope_note()} Every run you train is kept."
        if visibility.shared()
        else "Every run from any page or from `dlviz train` is kept."
    )
    return (
        f"{what} Select one row to rename, tag, download or delete it and see its charts; "
        "select 2 to 10 to compare them."
    )


def empty_message() -> None:
    if visibility.shared():
        st.info(
            "No runs of yours yet. Every run you train is kept here: train one on the "
            "**Playground**, **Images** or **Your images** page, or import a run's ZIP above. "
            "Then come back to compare them.",
            icon=":material/history:",
        )
        return
    st.info(
        "No runs yet. Every run is kept here: train one on the **Playground**, **Images** or "
        "**Your images** page, or from a terminal with `dlviz train CONFIG.json`. Then come "
        f"back to compare them. (The run store is `{root()}`.)",
        icon=":material/history:",
    )


DEFAULTS: dict[str, Any] = {"rs_search": "", "rs_datasets": [], "rs_statuses": []}
WORD = re.compile(r"[A-Za-z0-9_.:-]{1,60}")


def _words(raw: str) -> list[str]:
    """A filter's values from a link: names, each once, at most 20."""
    out: list[str] = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        if not WORD.fullmatch(part):
            raise ValueError(f"{part[:20]!r} is not a name")
        if part not in out:
            out.append(part)
    if len(out) > 20:
        raise ValueError("more than 20 names")
    return out


def _search(raw: str) -> str:
    if len(raw) > 200:
        raise ValueError("longer than 200 characters")
    return raw


def init() -> None:
    """The filters' defaults, then the ones the page's link names (a search, datasets,
    statuses: a link to the runs a person means)."""
    set_defaults(DEFAULTS)
    words = url_state.Field(_words, lambda v: ",".join(v))
    fields = {"rs_search": url_state.Field(_search), "rs_datasets": words, "rs_statuses": words}
    url_state.sync("rs", fields, DEFAULTS)


def _options(key: str, values: list[str]) -> list[str]:
    """Choices of a filter: what the runs have, plus what is chosen (a run may be gone)."""
    chosen = st.session_state.get(key) or []
    return sorted(set(values) | set(chosen))


def filters(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The search box and the dataset and status filters; returns the rows that match."""
    c1, c2, c3, c4 = layout.columns(
        [3, 2, 2, 1], key="rs_filters", min_width=140, vertical_alignment="bottom"
    )
    text = c1.text_input(
        "Search", key="rs_search", placeholder="words of a name, id or tag", max_chars=200
    )
    datasets = c2.multiselect(
        "Dataset",
        _options("rs_datasets", [str(r["dataset"]) for r in rows if r.get("dataset")]),
        key="rs_datasets",
        wrap=True,
        placeholder="all",
    )
    statuses = c3.multiselect(
        "Status",
        _options("rs_statuses", [str(r["status"]) for r in rows if r.get("status")]),
        key="rs_statuses",
        wrap=True,
        placeholder="all",
    )
    c4.button("Refresh", key="rs_refresh", icon=":material/refresh:", help="Read the store again")
    return filter_runs(rows, text, datasets, statuses)


def as_number(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def _status_cell(row: dict[str, Any]) -> str:
    """A run's status; for one still running or cut off, that its figures are the last saved."""
    status = str(row.get("status") or "")
    if row.get("saved_so_far"):
        return f"{status} (last saved: epoch {row.get('epochs')})"
    return status


def table_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The table's columns, one row per run, in `rows` order."""
    return pd.DataFrame(
        {
            "name": run_labels(rows),
            "status": [_status_cell(r) for r in rows],
            "dataset": [str(r.get("dataset") or "") for r in rows],
            "architecture": [str(r.get("arch") or "") for r in rows],
            "depth": [r["depth"] if isinstance(r.get("depth"), int) else None for r in rows],
            "parameters": [r["params"] if isinstance(r.get("params"), int) else None for r in rows],
            "device": [str(r.get("device") or "") for r in rows],
            "best test acc": [as_number(r.get("best_test_accuracy")) for r in rows],
            "final test acc": [as_number(r.get("final_test_accuracy")) for r in rows],
            "time (s)": [as_number(r.get("seconds")) for r in rows],
            "date": [str(r.get("date") or "") for r in rows],
            "tags": [", ".join(r.get("tags") or []) for r in rows],
            "note": [str(r.get("message") or "") for r in rows],
            "run id": [str(r.get("run_id")) for r in rows],
        }
    ).astype({"depth": "Int64", "parameters": "Int64"})


def table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs table with row selection; returns the selected rows (in table order).

    A selection is rows by position, so the table's key changes with the set of runs it shows
    (after a filter, a delete or an import) and the new table starts with the runs that were
    selected before and are still in it (`SELECTED`): it never points at other runs."""
    ids = [str(r["run_id"]) for r in rows]
    key = "rs_table_" + hashlib.sha1("\n".join(ids).encode()).hexdigest()[:10]
    before = set(st.session_state.get(SELECTED) or [])
    default = [i for i, run_id in enumerate(ids) if run_id in before]
    event = st.dataframe(
        table_frame(rows),
        key=key,
        on_select="rerun",
        selection_mode="multi-row",
        selection_default={"selection": {"rows": default, "columns": []}} if default else None,
        hide_index=True,
        width="stretch",
        height=min(36 + 35 * len(rows), 420),
        column_config={
            "name": st.column_config.TextColumn(width="medium"),
            "depth": st.column_config.NumberColumn(help="hidden layers or conv blocks"),
            "parameters": st.column_config.NumberColumn(format="localized"),
            "best test acc": st.column_config.NumberColumn(
                format="percent",
                help="For a run still training or cut off: the best of the curves it saved last.",
            ),
            "final test acc": st.column_config.NumberColumn(
                format="percent",
                help="For a run still training or cut off: its last saved epoch's.",
            ),
            "time (s)": st.column_config.NumberColumn(format="%.1f"),
            "note": st.column_config.TextColumn(width="large"),
        },
    )
    picked = sorted(set(event.selection.rows)) if event and event.selection else []
    selected = [rows[i] for i in picked if 0 <= i < len(rows)]
    st.session_state[SELECTED] = [str(r["run_id"]) for r in selected]
    return selected


# --- import -----------------------------------------------------------------------------------


IMPORT = "rs_import"  # the uploader's name, and the upload budget's for the ZIP while it is read


def _import() -> None:
    key = uploader_key(IMPORT)
    upload = st.session_state.get(key)
    if upload is None:
        return
    taken_in(IMPORT)  # a new, empty uploader: the ZIP's bytes are not kept after this
    if problem := import_size_problem(upload.size):
        flash("error", f"{upload.name}: {problem}. Import a smaller run.")
        return
    if problem := upload_budget.claim(IMPORT, upload.size, "Runs", upload.name):
        flash("error", problem)
        return
    try:
        run_id = runs.import_run(root(), upload.getvalue(), owner=visibility.viewer())
    except runs.RunStoreError as e:
        flash(
            "error", f"{upload.name}: {e}. Pick a ZIP that a Runs page or `dlviz runs export` made."
        )
    except OSError as e:
        flash("error", f"{upload.name} could not be imported: {e}")
    else:
        flash("success", f"Imported {upload.name} as run {run_id}.")
    finally:
        upload_budget.release(IMPORT)


def import_box() -> None:
    cap = max_import_bytes()
    with st.expander("Import a run (a ZIP another dlviz exported)", icon=":material/upload:"):
        st.file_uploader(
            "Run ZIP",
            type=["zip"],
            key=uploader_key(IMPORT),
            on_change=_import,
            max_upload_size=megabytes(min(cap, upload_budget.session_cap())),
            help="A ZIP from **Download ZIP** below, or from `dlviz runs export ID`; at most "
            f"{cap >> 20} MB ({IMPORT_CAP_VAR}).",
        )
