"""Browser journey of taking a run away: train on the Playground, open the run on the Runs page,
read it as PyTorch code, download the bundle (the run, its ONNX model, its code, its card), and
open the Playground's link in a fresh browser context to find the same settings there."""

from __future__ import annotations

import zipfile

import pytest
from support.browser import (
    SLOW_MS,
    UI_MS,
    Steps,
    open_playground,
    report_failure,
    screenshot,
    set_epochs,
    wait_for_main_text,
    wait_idle,
)

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ROW_PX = 35  # st.dataframe's row (and header) height


@report_failure
def test_train_read_the_code_take_the_bundle_and_reopen_the_link(
    streamlit_server, new_page, browser
):
    step = Steps()
    page = new_page()
    step("the Playground: XOR, 6 epochs, Train")
    open_playground(page, streamlit_server.url, via_home=False)
    page.get_by_role("tab", name="Data").click()
    page.locator(".st-key-pg_dataset").get_by_role("radio", name="XOR").click()
    wait_idle(page)
    set_epochs(page, 6)
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_main_text(page, r"finished 6 epochs in [\d.]+ s", timeout=SLOW_MS)
    link = page.url
    assert "dataset=xor" in link and "epochs=6" in link, link

    step("a live chart's own menu saves it as an SVG")
    chart = page.locator(".dlviz-chart.js-plotly-plot").first  # a drawn one (not the preload)
    chart.hover()
    with page.expect_download(timeout=UI_MS) as download:
        chart.locator('.modebar-btn[data-title="Save as SVG"]').click()
    svg = open(download.value.path(), encoding="utf-8").read()
    assert download.value.suggested_filename.endswith(".svg") and "<svg" in svg[:500]
    expect(chart.locator('.modebar-btn[data-title="Save as PNG"]')).to_have_count(1)

    step("the Runs page: the run, then its PyTorch code")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Runs").click()
    wait_for_main_text(page, r"1 of 1 runs? shown", timeout=SLOW_MS)
    grid = page.get_by_test_id("stDataFrame").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + ROW_PX * 1.5)
    wait_for_main_text(page, r"Take it with you", timeout=SLOW_MS)
    curves = page.locator(".st-key-rs_curves .js-plotly-plot").first  # a chart drawn by Streamlit
    curves.hover()
    expect(curves.locator('.modebar-btn[data-title="Save as SVG"]')).to_have_count(1)
    with page.expect_download(timeout=UI_MS) as download:
        curves.locator('.modebar-btn[data-title="Save as SVG"]').click()
    assert download.value.suggested_filename == "rs_curves.svg"
    assert "<svg" in open(download.value.path(), encoding="utf-8").read()[:500]
    code = page.get_by_test_id("stCode").first
    expect(code).to_contain_text("import torch", timeout=SLOW_MS)
    expect(code).to_contain_text("test_accuracy")
    screenshot(page, "take-away-code")

    step("the bundle: the run, its ONNX model, its code and its card")
    page.get_by_role("tab", name="Bundle and report").click()
    with page.expect_download(timeout=SLOW_MS) as download:
        page.get_by_role("button", name="Download the bundle (ZIP)").click()
    with zipfile.ZipFile(download.value.path()) as zf:
        names = {n.split("/", 1)[1] for n in zf.namelist()}
    assert {"config.json", "weights.safetensors", "take-away/model.onnx",
            "take-away/MODEL_CARD.md", "take-away/metrics.csv"} <= names, names  # fmt: skip
    assert any(n.endswith("_pytorch.py") for n in names)
    assert any(n.endswith("_keras.py") for n in names)

    step("the link in a fresh browser context: the same settings")
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        fresh = context.new_page()
        fresh.set_default_timeout(UI_MS)
        fresh.goto(link)
        expect(fresh.get_by_role("heading", name="Playground")).to_be_visible(timeout=SLOW_MS)
        wait_idle(fresh)
        fresh.get_by_role("tab", name="Training").click()
        expect(fresh.get_by_label("Epochs", exact=True)).to_have_value("6")
        fresh.get_by_role("tab", name="Data").click()
        xor = fresh.locator(".st-key-pg_dataset").get_by_role("radio", name="XOR")
        expect(xor).to_have_attribute("aria-checked", "true")
        screenshot(fresh, "take-away-link")
    finally:
        context.close()
