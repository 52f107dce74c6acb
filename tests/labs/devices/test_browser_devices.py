"""Browser test of the Devices page through a real `streamlit run app.py`: a person runs the
quick CPU benchmark and sees its charts, then downloads the CSV."""

from __future__ import annotations

import time

import pytest
from support.browser import SLOW_MS, Steps, keyed_chart, report_failure, screenshot

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def wait_for_chart(page, key: str) -> dict:
    deadline = time.monotonic() + SLOW_MS / 1000
    while (chart := keyed_chart(page, key)) is None:
        assert time.monotonic() < deadline, f"no chart under {key}"
        time.sleep(0.2)
    return chart


@report_failure
def test_measure_the_cpu_and_see_the_charts(streamlit_server, new_page):
    step = Steps()
    page = new_page()
    step("the Devices page: the machine's devices and the method")
    page.goto(streamlit_server.url + "/devices")
    expect(page.get_by_role("heading", name="Devices", exact=True)).to_be_visible(timeout=SLOW_MS)
    expect(page.get_by_text("How it is measured.")).to_be_visible()

    step("a quick CPU measurement: matmul and training-step charts")
    page.get_by_role("button", name="Measure", exact=True).click()
    matmul = wait_for_chart(page, "dv_matmul")
    train = wait_for_chart(page, "dv_train")
    assert matmul is not None and train is not None
    expect(page.get_by_text("Measured on")).to_be_visible(timeout=SLOW_MS)
    screenshot(page, "devices-cpu")

    step("the CSV download holds every measurement")
    with page.expect_download(timeout=SLOW_MS) as info:
        page.get_by_test_id("stDownloadButton").filter(has_text="CSV").click()
    text = open(info.value.path()).read()
    assert text.startswith("bench,device,dtype,size") and "\nmatmul,cpu,float32," in text
    assert "\ntrain_step,cpu," in text
