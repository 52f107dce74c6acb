"""The Generative view timed as Streamlit draws it, for `dlviz bench refresh`: a run's live
view drawn by Streamlit's AppTest again and again, each time with a new snapshot (the figures
drawn for the last one forgotten), and the bytes its live charts send. As the Sequence lab's
`view_timing`; `dlviz.bench` imports no streamlit, so this side lives here."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

from dlviz.labs.generative.widgets import VIEW


def time_view(handle: Any, repeats: int) -> tuple[list[float], int]:
    """Milliseconds of `repeats` drawings of the Generative view of run `handle` (after one
    that warms up: imports, the data, caches), and the bytes the last one's live charts
    carry."""
    from streamlit.testing.v1 import AppTest

    from dlviz.ui.live import View

    with _quiet("streamlit.runtime.scriptrunner_utils.script_run_context"):
        # made and set up outside a script run: Streamlit would warn of "bare mode"
        at = AppTest.from_function(_script, default_timeout=120)
        at.session_state[VIEW] = View(kind="single", handles=[handle], labels=[""])
    times, size = [], 0
    for i in range(repeats + 1):
        at.run()
        if at.exception:
            raise RuntimeError(f"the Generative view failed: {at.exception[0].message}")
        if i:
            times.append(at.session_state["_bench_draw_ms"])
        size = _live_chart_bytes(at)
    return times, size


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _script() -> None:
    """The page script AppTest runs (its source is copied into a file: imports go inside)."""
    from dlviz.labs.generative.view_timing import draw_timed

    draw_timed()


def draw_timed() -> None:
    """Inside a script run: the Generative view under VIEW drawn once, timed, with a new
    snapshot (the figures drawn for the last one forgotten)."""
    import streamlit as st

    from dlviz.labs.generative.view import draw_single

    ss = st.session_state
    ss.pop("_gn_cache", None)  # the view's figures of the last snapshot, reused until a new one
    start = time.perf_counter()
    draw_single(ss[VIEW], VIEW)
    ss["_bench_draw_ms"] = (time.perf_counter() - start) * 1000


def _live_chart_bytes(at: Any) -> int:
    """Bytes of the figures the live charts drawn by the last run of `at` carry."""
    total = 0
    for el in at.get("bidi_component"):
        spec = json.loads(el.proto.json).get("spec")
        total += len(spec) if spec else 0
    return total
