"""Browser test of the Sequence lab through a real `dlviz ui`: a person trains the default
Transformer on sort, watches every head's attention map render and change as it learns, stops
it, and has it answer a test question token by token with the next-token probabilities shown.

Screenshots go to test-artifacts/. Needs /usr/bin/chromium (DLVIZ_SKIP_BROWSER=1 skips). The
fixtures `streamlit_server` (one server for this module) and `new_page` are in tests/conftest.py.
"""

from __future__ import annotations

import re
import time

import pytest
from support.browser import (
    SLOW_MS,
    Steps,
    live_screenshot,
    report_failure,
    screenshot,
    trace_field,
    wait_for_main_text,
    wait_for_progress,
    wait_for_traces,
    wait_idle,
)

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

# A fingerprint of the attention maps drawn under a key: the sum of every cell weighted by its
# place, over the heatmaps of its live chart (None until they are drawn).
_ATTENTION_JS = """(p) => { if (!p || !p._fullData) return null;
    let s = 0, n = 0;
    for (const d of p._fullData) { if (d.type !== 'heatmap' || !d.z) continue;
        Array.from(d.z).forEach((row, i) => Array.from(row).forEach((v, j) => {
            s += (v || 0) * (1 + i + 31 * j); n += 1; })); }
    return n ? [n, s] : null; }"""


def attention_print(page) -> list | None:
    chart = page.locator(".st-key-sq_view_attention .js-plotly-plot")
    try:
        return chart.first.evaluate(_ATTENTION_JS) if chart.count() else None
    except Exception:  # the chart was redrawn while we looked
        return None


@report_failure
def test_train_a_transformer_on_sort_watch_attention_then_sample(streamlit_server, new_page):
    step = Steps()
    page = new_page()
    step("the Sequence lab by its URL: sort, previewed as questions and answers")
    page.goto(streamlit_server.url + "/sequences")
    expect(page.get_by_role("heading", name="Sequences", exact=True)).to_be_visible(timeout=SLOW_MS)
    wait_for_main_text(page, r"Sort: 2,800 training and 1,200 test sequences")
    wait_for_main_text(page, r"Transformer, 2 layers of 64, 2 heads")

    step("30 epochs: long enough to watch the heads change")
    page.get_by_role("tab", name="Training").click()
    box = page.get_by_label("Epochs", exact=True)
    expect(box).to_have_value(re.compile(r"^\d+$"))
    box.fill("30")
    box.press("Enter")
    expect(box).to_have_value("30")
    wait_idle(page)

    step("Train: the attention maps render, one per head, and change as it learns")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_progress(page, total=30)
    types = wait_for_traces(
        page, "sq_view_attention", "type", lambda t: t.count("heatmap") == 4, timeout=SLOW_MS
    )
    assert types.count("heatmap") == 4  # 2 layers x 2 heads, every layer at once
    first = None
    deadline = time.monotonic() + SLOW_MS / 1000
    while first is None and time.monotonic() < deadline:
        first = attention_print(page)
        time.sleep(0.2)
    assert first is not None, "the attention maps were not drawn"
    changed = None
    deadline = time.monotonic() + SLOW_MS / 1000
    while time.monotonic() < deadline:
        now = attention_print(page)
        if now is not None and abs(now[1] - first[1]) > 1e-3 * max(abs(first[1]), 1):
            changed = now
            break
        time.sleep(0.5)
    assert changed is not None, f"the attention maps did not change while training: {first}"
    assert "scatter" in trace_field(page, "sq_view_heads", "type")
    live_screenshot(page, "browser-sequences-01-live", ["sq_view_attention", "sq_view_curves"])

    step("Stop after a few epochs: what it learned so far, and a question to answer")
    wait_for_progress(page, total=30, past_epoch=3)
    page.get_by_test_id("stMain").get_by_role("button", name="Stop").click()
    wait_for_main_text(page, r"What was drawn is kept\.", timeout=SLOW_MS)
    wait_for_main_text(page, r"What the trained network does")
    page.get_by_role("button", name="Write", exact=True).click()
    text = wait_for_main_text(page, r"= → [0-9 ]+ \((right|wrong)", timeout=SLOW_MS)
    assert "→" in text
    wait_for_traces(page, "sq_view_next_token", "type", lambda t: "bar" in t)
    screenshot(page, "browser-sequences-02-sampled")
    step("done")
