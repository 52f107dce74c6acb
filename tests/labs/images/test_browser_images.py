"""Browser test of the Images page through a real `streamlit run app.py` (see test_browser.py):
a person picks the digits, trains the Deep CNN, watches every layer's feature maps render while
it trains, stops it, and sees the confusion matrix of what it learned so far.

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
    drawn_charts,
    keyed_chart,
    live_screenshot,
    progress,
    report_failure,
    screenshot,
    trace_field,
    wait_for_charts,
    wait_for_main_text,
    wait_for_progress,
    wait_idle,
)

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def trace_types(page, key: str) -> list[str]:
    return trace_field(page, key, "type")


def live_frame_notes(page, key: str) -> list[str]:
    """The annotation texts of the live chart under `key` (e.g. a feature-map grid's labels)."""
    return page.evaluate(
        "(key) => { const p = document.querySelector(`.st-key-${key} .js-plotly-plot`);"
        " return ((p && p.layout.annotations) || []).map(a => a.text); }",
        key,
    )


def wait_for_trace(page, key: str, kind: str, timeout: float = SLOW_MS) -> None:
    deadline = time.monotonic() + timeout / 1000
    while kind not in trace_types(page, key):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind} trace under {key}: {trace_types(page, key)}")
        time.sleep(0.2)


@report_failure
def test_train_a_cnn_and_watch_its_feature_maps(streamlit_server, new_page):
    step = Steps()
    page = new_page()
    step("the Images page by its URL: samples and the network's diagram")
    page.goto(streamlit_server.url + "/images")
    expect(page.get_by_role("heading", name="Images", exact=True)).to_be_visible(timeout=SLOW_MS)
    wait_for_charts(page, 2)
    assert "image" in trace_types(page, "im_data_preview")

    step("digits, 60 epochs of the Deep preset (the default network): long enough to watch")
    digits = page.get_by_role("radio", name="Digits", exact=True)
    digits.click()
    expect(digits).to_have_attribute("aria-checked", "true")
    wait_for_main_text(page, r"One column per class: 0 to 9\.")
    expect(page.get_by_text("8 conv layers").first).to_be_visible()
    page.get_by_role("tab", name="Training").click()
    box = page.get_by_label("Epochs", exact=True)
    expect(box).to_have_value(re.compile(r"^\d+$"))
    box.fill("60")
    box.press("Enter")
    expect(box).to_have_value("60")
    wait_idle(page)

    step("Train: while it trains, every layer's feature maps render as one image")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_progress(page, total=60)
    wait_for_trace(page, "im_view_fmaps", "image")
    assert progress(page) is not None, "the run ended before its feature maps were drawn"
    wait_for_trace(page, "im_view_filters", "image")
    labels = live_frame_notes(page, "im_view_fmaps")
    assert len(labels) == 8 and "conv8</b> - channels 1-32 of 64, 1x1" in labels[-1], labels
    live_screenshot(
        page, "browser-images-01-live", ["im_view_fmaps", "im_view_curves", "im_view_sample"]
    )

    step("Stop: the feature maps stay, the confusion matrix and the mistakes appear")
    wait_for_progress(page, total=60, past_epoch=0)  # a whole epoch to report on
    page.get_by_test_id("stMain").get_by_role("button", name="Stop").click()
    wait_for_main_text(page, r"What was drawn is kept\.", timeout=SLOW_MS)
    wait_for_trace(page, "im_view_confusion", "heatmap")
    wait_for_main_text(page, r"Confusion matrix - test accuracy [\d.]+%")
    wait_for_main_text(page, r"What a channel looks for")
    assert "image" in trace_types(page, "im_view_fmaps")
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled()
    assert keyed_chart(page, "im_view_confusion") is not None
    assert len(drawn_charts(page)) >= 8
    screenshot(page, "browser-images-02-finished")
    step("done")
