"""Browser journey of the Sweep page through a real `streamlit run app.py`: a person makes a
small sweep (depth 2 and 16, plain and residual, 4 seeds), starts it, watches the first mean
with its 95% band appear while the rest trains, and stops it; the sweep's manifest says
stopped, with its finished trials kept.

Screenshots go to test-artifacts/. Needs /usr/bin/chromium (DLVIZ_SKIP_BROWSER=1 skips). The
fixtures `streamlit_server` and `new_page` are in tests/conftest.py."""

from __future__ import annotations

import re

import pytest
from support.browser import SLOW_MS, report_failure, screenshot, wait_for_traces, wait_idle

from dlviz.sweeps.driver import list_sweeps

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def fill(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    expect(box).to_have_value(value)
    wait_idle(page)


@report_failure
def test_a_person_starts_a_sweep_sees_the_band_form_and_stops_it(streamlit_server, new_page):
    page = new_page(viewport={"width": 1400, "height": 2400})
    # a third axis of one value, batches of 4 (the base's are 32), by the page's link: trials
    # eight times as long, several seconds each; at the base's, all 16 could end before the
    # band showed and Stop was pressed
    axes = "model.depth,model.residual,train.batch_size"
    page.goto(f"{streamlit_server.url}/sweeps?axes={axes}&values_train.batch_size=4")
    expect(page.get_by_role("heading", name="Sweeps", exact=True)).to_be_visible(timeout=SLOW_MS)
    expect(page.get_by_label("Values of train.batch_size", exact=True)).to_have_value("4")
    fill(page, "Values of model.depth", "2, 16")
    fill(page, "Seeds", "4")
    start = page.get_by_role("button", name="Start the sweep (16 trials)")
    expect(start).to_be_enabled(timeout=SLOW_MS)
    start.click()
    # the first combination's seeds run first, two side by side: its mean and band come first
    expect(page.get_by_text(re.compile(r"of 16 trials done"))).to_be_visible(timeout=SLOW_MS)
    wait_for_traces(page, "sw_band", "fill", lambda v: "toself" in v, timeout=SLOW_MS * 4)
    screenshot(page, "sweeps_band")
    page.get_by_role("button", name="Stop the sweep").click()
    expect(page.get_by_text(re.compile(r"^Stopped, on this machine"))).to_be_visible(
        timeout=SLOW_MS * 2
    )
    screenshot(page, "sweeps_stopped")
    (m,) = list_sweeps(streamlit_server.home / "runs")
    assert m["state"] == "stopped"
    statuses = [t["status"] for t in m["trials"]]
    assert 2 <= statuses.count("finished") < 16  # stopped before the end
    assert set(statuses) <= {"finished", "stopped", "pending"}
    assert all(t["run_id"] for t in m["trials"] if t["status"] in ("finished", "stopped"))
