"""Browser test of the Runs page (issue 5): train a shallow and a deep run on the Playground,
open the Runs page, select both rows of the table, and see both runs' curves in the Compare
chart. Screenshots go to test-artifacts/. The fixtures are in tests/conftest.py."""

from __future__ import annotations

import re
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
)

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

ROW_PX = 35  # st.dataframe's row (and header) height

# The traces of the Plotly chart under a Streamlit key: name, line dash and number of points.
_TRACES_JS = """(key) => {
    const e = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    if (!e || !e._fullData || !e.querySelector('.main-svg')) return null;
    return e._fullData.map(d => ({name: d.name, dash: d.line && d.line.dash,
                                  axis: d.yaxis, points: d.x ? d.x.length : 0}));
}"""


def tick_row(page, row: int) -> None:
    """Click the selection box of table row `row` (0 is the first run under the header). The
    table is drawn on a canvas, so by position: the boxes are in its first column."""
    grid = page.get_by_test_id("stDataFrame").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + ROW_PX * (row + 1) + ROW_PX / 2)


def chart_traces(page, key: str, timeout: float = UI_MS) -> list[dict]:
    handle = page.wait_for_function(
        f"() => ({_TRACES_JS})({key!r})", timeout=timeout
    )  # null until the chart is drawn
    return handle.json_value()


@report_failure
def test_train_two_runs_then_compare_them_on_the_runs_page(streamlit_server, new_page):
    step = Steps()
    page = new_page()
    step("the Playground: Train shallow vs deep, 8 epochs")
    open_playground(page, streamlit_server.url, via_home=False)
    set_epochs(page, 8)
    page.get_by_role("button", name="Train shallow vs deep").click()
    wait_for_main_text(page, r"deep: finished 8 epochs in [\d.]+ s", timeout=SLOW_MS)
    assert len(list((streamlit_server.home / "runs").iterdir())) == 2

    step("the Runs page through the sidebar: both runs in the table")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Runs").click()
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible(timeout=SLOW_MS)
    wait_for_main_text(page, r"2 of 2 runs shown")
    expect(page.get_by_test_id("stDataFrame")).to_have_count(1)

    step("select one run: its own curves")
    tick_row(page, 0)
    wait_for_main_text(page, r"Final test accuracy")
    one = chart_traces(page, "rs_curves")
    assert {t["name"] for t in one} == {"deep"}, one  # the newest first
    with page.expect_download(timeout=UI_MS) as download:
        page.get_by_role("button", name="Download ZIP").click()
    with zipfile.ZipFile(download.value.path()) as zf:
        names = sorted(n.split("/", 1)[1] for n in zf.namelist())
    names = [n for n in names if not n.startswith("take-away/")]  # the bundle's extras
    assert names == sorted(
        ["config.json", "metrics.json", "status.json", "summary.json", "weights.safetensors"]
    ), names

    step("select the second: the Compare view, both curves in one chart")
    tick_row(page, 1)
    wait_for_main_text(page, r"Compare 2 runs")
    traces = chart_traces(page, "rs_cmp_curves")
    assert sorted({t["name"] for t in traces}) == ["deep", "shallow"], traces
    assert len(traces) == 8  # per run: test and train, loss and accuracy
    assert all(t["points"] == 8 for t in traces), traces
    wait_for_main_text(page, r"fields? differs?, highlighted: model\.hidden")
    grads = chart_traces(page, "rs_cmp_grads")
    assert sorted(t["name"] for t in grads) == ["deep", "shallow"]
    text = page.get_by_test_id("stMain").inner_text()
    assert re.search(r"Final metrics", text) and "Configs" in text
    screenshot(page, "browser-runs-01-compare")

    step("against wall time")
    page.get_by_role("tab", name="Against wall time").click()
    by_time = chart_traces(page, "rs_cmp_curves_time")
    assert sorted({t["name"] for t in by_time}) == ["deep", "shallow"]
    step("done")
