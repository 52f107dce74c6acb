"""The Sequence view timed as Streamlit draws it, for `dlviz bench refresh`
(`dlviz.ui.view_timing`): each drawing with a new snapshot, its figures drawn afresh."""

from __future__ import annotations

import time
from typing import Any

from dlviz.labs.sequences.widgets import VIEW
from dlviz.ui import view_timing


def time_view(handle: Any, repeats: int) -> tuple[list[float], int]:
    """Milliseconds of `repeats` drawings of the Sequence view of run `handle` (after one that
    warms up: imports, the data, caches), and the bytes the last one's live charts carry."""
    return view_timing.time_view(
        _script, VIEW, handle, repeats, "Sequence view", state={"sq_example": 0}
    )


def _script() -> None:
    """The page script AppTest runs (its source is copied into a file: imports go inside)."""
    from dlviz.labs.sequences.view_timing import draw_timed

    draw_timed()


def draw_timed() -> None:
    """Inside a script run: the Sequence view under VIEW drawn once, timed, with a new snapshot
    (the figures drawn for the last one forgotten)."""
    import streamlit as st

    from dlviz.labs.sequences.view import draw_single

    ss = st.session_state
    ss.pop("_sq_figures", None)  # the view's figures of the last snapshot, reused until a new one
    start = time.perf_counter()
    draw_single(ss[VIEW], VIEW)
    ss["_bench_draw_ms"] = (time.perf_counter() - start) * 1000
