"""A lab's live view timed as Streamlit draws it, for `dlviz bench refresh`: the view drawn by
Streamlit's AppTest again and again, each time with a new snapshot (the lab's `draw_timed`
forgets the figures drawn for the last one), and the bytes its live charts send. `dlviz.bench`
imports no streamlit, so each lab's `view_timing.py` calls this with its own script."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any


def time_view(
    script: Callable[[], None],
    view_key: str,
    handle: Any,
    repeats: int,
    what: str,
    state: Mapping[str, Any] | None = None,
) -> tuple[list[float], int]:
    """Milliseconds of `repeats` runs of `script` (which draws the view under `view_key` and
    leaves its time in ``_bench_draw_ms``) after one that warms up (imports, the data,
    caches), with run `handle` as the view and `state` set first; and the bytes the last
    drawing's live charts carry. `what` names the view in an error."""
    from streamlit.testing.v1 import AppTest

    from dlviz.ui.live import View

    with quiet("streamlit.runtime.scriptrunner_utils.script_run_context"):
        # made and set up outside a script run: Streamlit would warn of "bare mode"
        at = AppTest.from_function(script, default_timeout=120)
        at.session_state[view_key] = View(kind="single", handles=[handle], labels=[""])
        for key, value in (state or {}).items():
            at.session_state[key] = value
    times, size = [], 0
    for i in range(repeats + 1):
        at.run()
        if at.exception:
            raise RuntimeError(f"the {what} failed: {at.exception[0].message}")
        if i:
            times.append(at.session_state["_bench_draw_ms"])
        size = live_chart_bytes(at)
    return times, size


@contextlib.contextmanager
def quiet(logger: str) -> Iterator[None]:
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def live_chart_bytes(at: Any) -> int:
    """Bytes of the figures the live charts drawn by the last run of `at` carry."""
    total = 0
    for el in at.get("bidi_component"):
        spec = json.loads(el.proto.json).get("spec")
        total += len(spec) if spec else 0
    return total
