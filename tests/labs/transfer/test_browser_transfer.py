"""Browser test of the Transfer page (issue 7): the network plan follows the chosen strategy;
Compare all four strategies trains them on the built-in target and draws their curves, the
reading, how far each layer moved and the first-layer filters. Screenshots go to
test-artifacts/. The fixtures are in tests/conftest.py."""

from __future__ import annotations

import re

import pytest
from support.browser import (
    SLOW_MS,
    Steps,
    report_failure,
    screenshot,
    wait_for_main_text,
    wait_for_traces,
)

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@report_failure
def test_compare_the_four_strategies_in_one_click(streamlit_server, new_page):
    step = Steps()
    page = new_page()
    step("open the Transfer page: the plan shows six frozen blocks and a new output layer")
    page.goto(streamlit_server.url + "/transfer")
    expect(page.get_by_role("heading", name="Transfer learning")).to_be_visible(timeout=SLOW_MS)
    wait_for_traces(page, "tl_plan", "name", lambda n: n == ["frozen (pretrained, not trained)",
                                         "new layer (random, trains)"], SLOW_MS
    )  # fmt: skip
    expect(page.get_by_text("390 of 75,478 parameters train")).to_be_visible()

    step("choose Fine-tune all: every block is fine-tuned")
    page.get_by_text("Fine-tune all", exact=True).click()
    wait_for_traces(page, "tl_plan", "name", lambda n: n and n[0].startswith("fine-tuned"))
    expect(page.get_by_text("75,478 of 75,478 parameters train")).to_be_visible()

    step("two epochs a run, then Compare all four strategies")
    page.get_by_text("Training", exact=True).click()
    box = page.get_by_label("Epochs", exact=True)
    expect(box).to_have_value(re.compile(r"^\d+$"))
    box.fill("2")
    box.press("Enter")
    expect(box).to_have_value("2")
    page.get_by_role("button", name="Compare all four strategies").click()
    wait_for_main_text(page, r"Fine-tune all: finished 2 epochs in [\d.]+ s", timeout=SLOW_MS * 3)
    for label in ("From scratch", "Feature extraction", "Fine-tune top blocks"):
        expect(page.get_by_text(re.compile(f"{label}: finished 2 epochs")).first).to_be_visible()

    step("the curves of all four, the reading, the layers moved and the filters")
    names = wait_for_traces(
        page, "tl_view_curves", "name", lambda n: len(n) == 16
    )  # loss and accuracy, train and test
    assert {n.split(":")[0] for n in names} == {
        "From scratch", "Feature extraction", "Fine-tune top blocks", "Fine-tune all"
    }  # fmt: skip
    wait_for_main_text(page, r"reached the best test accuracy, \d+")
    wait_for_main_text(page, r"Feature extraction trained 390 parameters")
    moved = wait_for_traces(page, "tl_view_moved", "name", lambda n: len(n) == 3)
    assert moved == ["Feature extraction", "Fine-tune top blocks", "Fine-tune all"]
    for key in ("tl_view_before", "tl_view_after"):
        expect(page.locator(f".st-key-{key} .js-plotly-plot")).to_be_visible()
    screenshot(page, "transfer_compare")
