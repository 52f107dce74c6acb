"""Browser tests: the main journey through a real `streamlit run app.py`, driven by Playwright
(sync API) in Debian's Chromium.

- a person opens dlviz, goes to the Playground, trains a long run, watches it live and stops it;
- "Train shallow vs deep" runs both networks and explains what happened in plain words;
- two browser sessions train at the same time without seeing each other's runs.

Screenshots go to test-artifacts/ (gitignored). Needs /usr/bin/chromium; set
DLVIZ_SKIP_BROWSER=1 to skip these tests where it is missing. Only these: `pytest -m browser`;
all but these: `pytest -m "not browser"`. Each test prints its steps with timings (shown when
it fails, or with `-s`). The fixtures `streamlit_server` (one server for this module) and
`new_page` are in tests/conftest.py.
"""

from __future__ import annotations

import re

import pytest
from support.browser import (
    SLOW_MS,
    UI_MS,
    Steps,
    chart_titles,
    live_screenshot,
    main_text,
    open_playground,
    page_state,
    preview_title,
    progress,
    report_failure,
    screenshot,
    set_epochs,
    wait_for_chart_title,
    wait_for_charts,
    wait_for_main_text,
    wait_for_progress,
)

from dlviz.config import DEEP_HIDDEN, SHALLOW_HIDDEN

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


# --- steps a person takes ------------------------------------------------------------------------


def choose_dataset(page, label: str) -> None:
    page.get_by_role("tab", name="Data").click()
    option = page.get_by_role("radio", name=label, exact=True)
    option.click()
    expect(option).to_have_attribute("aria-checked", "true")
    page.wait_for_function(
        """(p) => { const t = document.querySelector('.st-key-pg_data_preview .js-plotly-plot .gtitle');
                    return !!t && t.textContent.startsWith(p); }""",
        arg=f"{label}:",
        timeout=UI_MS,
    )


def twice_the_samples(page) -> None:
    """The Data tab's Samples one notch up, 2,000 (1,400 to train): epochs twice as long as the
    default's, so that a run of a few thousand epochs outlasts a test's minute or two (more
    points make each redraw slower too)."""
    page.get_by_role("tab", name="Data").click()
    thumb = page.locator(".st-key-pg_samples input[type=range]")
    thumb.focus()
    thumb.press("ArrowRight")
    page.wait_for_function(
        """() => { const t = document.querySelector('.st-key-pg_data_preview .js-plotly-plot .gtitle');
                   return !!t && t.textContent.includes('1400 train'); }""",
        timeout=UI_MS,
    )


def train_button(page):
    return page.get_by_role("button", name="Train", exact=True)


def stop_button(page):
    return page.get_by_test_id("stMain").get_by_role("button", name="Stop", exact=True)


def stop_and_wait(page, until_stopped: bool = False) -> str:
    """Press Stop; returns the message that says the run stopped once it shows: 'Stopped after N
    of M epochs', or for a run until stopped 'trained N epochs in S s, until you stopped it'."""
    stop_button(page).click()
    if until_stopped:
        return wait_for_main_text(
            page,
            r"trained [\d,]+ epochs in [\d.,]+ s, until you stopped it\. What was drawn is kept\.",
        )
    return wait_for_main_text(page, r"Stopped after \d+ of \d+ epochs\. What was drawn is kept\.")


LIVE_CHARTS = ["pg_view_boundary", "pg_view_curves", "pg_view_neurons", "pg_view_grads"]


# --- tests ----------------------------------------------------------------------------------------


@report_failure
def test_train_live_and_stop(streamlit_server, new_page):
    step = Steps()
    page = new_page()
    step("Home, then the Playground through the sidebar navigation")
    open_playground(page, streamlit_server.url, via_home=True)
    assert re.fullmatch(r"[\w ]+: \d+ train, \d+ test", preview_title(page)), preview_title(page)
    expect(stop_button(page)).to_have_count(0)  # no run yet, no run panel

    step("the defaults: Train trains until stopped, and says so")
    expect(page.get_by_text("Train keeps training until you press Stop")).to_be_visible()
    step("plotly.js for the live charts is loaded before Train is pressed")
    page.wait_for_function("() => typeof window.Plotly === 'object'", timeout=SLOW_MS)
    train_button(page).click()

    step("live: progress line, decision boundary, loss/accuracy curves")
    first = wait_for_progress(page, total=0)
    boundary = wait_for_chart_title(page, "Decision boundary")
    assert re.fullmatch(r"Decision boundary - epoch \d+, step \d+", boundary), boundary
    wait_for_charts(page, 4)  # preview, network, boundary, curves
    expect(page.locator(".st-key-pg_view_curves .js-plotly-plot").last).to_be_attached()
    expect(stop_button(page)).to_be_enabled()

    step("the page and the sidebar say a run is in progress; one run at a time")
    expect(train_button(page)).to_be_disabled()
    expect(page.get_by_role("button", name="Train shallow vs deep")).to_be_disabled()
    expect(page.get_by_text("A run is in progress").first).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text(re.compile(r"run: \w+, epoch \d+"))

    step("the epoch counter advances, past the epoch limit (200) that Train does not use")
    later = wait_for_progress(page, total=0, past_epoch=first)
    assert later > first
    wait_for_charts(page, 6)  # neuron maps and gradient health too
    # The live charts are drawn in the page, by the one copy of plotly.js the tab loaded.
    assert page.locator('script[src*="plotly.min.js"]').count() == 1
    assert page.locator("[data-testid=stMain] iframe").count() == 0
    live_screenshot(page, "browser-01-live", LIVE_CHARTS)
    live_epoch = wait_for_progress(page, total=0, past_epoch=max(later, 200))

    step("Stop")
    message = stop_and_wait(page, until_stopped=True)
    epochs_done = int(re.search(r"trained ([\d,]+) epochs", message).group(1).replace(",", ""))
    assert live_epoch <= epochs_done, message

    step("stopped for good: Train back, Stop off, no progress line, the charts kept")
    expect(train_button(page)).to_be_enabled()
    expect(stop_button(page)).to_be_disabled()
    expect(page.get_by_text("A run is in progress")).to_have_count(0)
    assert progress(page) is None
    wait_for_charts(page, 6)
    titles = chart_titles(page)
    assert any(re.fullmatch(r"Decision boundary - epoch \d+, step \d+", t) for t in titles), titles
    assert "What was drawn is kept" in main_text(page)
    assert re.search(rf"Epoch\s+{epochs_done}\b", main_text(page))  # the metric agrees
    screenshot(page, "browser-02-stopped")
    step("done")


@report_failure
def test_shallow_vs_deep(streamlit_server, new_page):
    step = Steps()
    page = new_page()
    step("the Playground by its URL; 30 epochs")
    open_playground(page, streamlit_server.url, via_home=False)
    set_epochs(page, 30)

    step("Train shallow vs deep; wait for the reading")
    page.get_by_role("button", name="Train shallow vs deep").click()
    wait_for_main_text(page, r"What happened", timeout=SLOW_MS)
    wait_for_main_text(page, r"shallow: finished 30 epochs in [\d.]+ s")
    wait_for_main_text(page, r"deep: finished 30 epochs in [\d.]+ s")

    step("both networks drawn, the reading in plain words")
    text = main_text(page)
    assert f"Shallow - {len(SHALLOW_HIDDEN)} hidden layer" in text
    assert f"Deep - {len(DEEP_HIDDEN)} hidden layers" in text
    reading = text.split("What happened", 1)[1]
    assert "shallow" in reading and "deep" in reading
    assert re.search(r"Time: shallow [\d.]+ s", reading), reading
    wait_for_charts(page, 7)  # preview, network, curves, two boundaries, two gradient charts
    expect(train_button(page)).to_be_enabled()
    screenshot(page, "browser-03-shallow-vs-deep")
    step("done")


@report_failure
def test_two_sessions_do_not_see_each_others_runs(streamlit_server, new_page):
    step = Steps()
    a, b = new_page(), new_page()

    step("session A: a long run on the spiral")
    open_playground(a, streamlit_server.url, via_home=False)
    choose_dataset(a, "Spiral")
    twice_the_samples(a)
    set_epochs(a, 5000, until_stopped=False)
    train_button(a).click()
    a_epoch = wait_for_progress(a, total=5000)
    wait_for_chart_title(a, "Decision boundary")

    step("session B opens the Playground: its own settings, no run, nothing of A's")
    open_playground(b, streamlit_server.url, via_home=True)
    expect(train_button(b)).to_be_enabled()
    expect(stop_button(b)).to_have_count(0)
    expect(b.get_by_role("button", name="Pause")).to_have_count(0)
    sb = page_state(b)
    assert "training - epoch" not in sb["main"]
    assert "A run is in progress" not in sb["main"]
    assert not any(t.startswith("Decision boundary") for t in sb["titles"]), sb["titles"]
    assert "epoch" not in sb["sidebar"]
    b.get_by_role("tab", name="Training").click()
    expect(b.get_by_label("Epochs", exact=True)).not_to_have_value("5000")  # not A's setting

    step("session B: its own run, on the circle, 4000 epochs")
    choose_dataset(b, "Circle")
    twice_the_samples(b)
    set_epochs(b, 4000, until_stopped=False)
    train_button(b).click()
    b_epoch = wait_for_progress(b, total=4000)
    wait_for_chart_title(b, "Decision boundary")
    wait_for_charts(b, 4)

    step("each page shows its own run: dataset, length, the points under its boundary")
    a_epoch = wait_for_progress(a, total=5000, past_epoch=a_epoch)  # A still runs and redraws
    expect(a.get_by_test_id("stSidebar")).to_contain_text(re.compile(r"epoch \d+/5000"))
    expect(b.get_by_test_id("stSidebar")).to_contain_text(re.compile(r"epoch \d+/4000"))
    sa, sb = page_state(a), page_state(b)
    assert sa["preview"].startswith("Spiral:"), sa["preview"]
    assert sb["preview"].startswith("Circle:"), sb["preview"]
    assert "/4000" not in sa["main"] + sa["sidebar"]
    assert "/5000" not in sb["main"] + sb["sidebar"]
    assert sa["boundary_points"] and sb["boundary_points"]
    assert sa["boundary_points"] == sa["preview_points"]  # A's boundary is drawn over A's data
    assert sb["boundary_points"] == sb["preview_points"]
    assert sa["boundary_points"] != sb["boundary_points"]
    wait_for_progress(b, total=4000, past_epoch=b_epoch)  # B runs on too

    step("stop B: A runs on")
    assert "of 4000 epochs" in stop_and_wait(b)
    wait_for_progress(a, total=5000, past_epoch=a_epoch)
    assert "Stopped after" not in main_text(a)

    step("stop A")
    assert "of 5000 epochs" in stop_and_wait(a)
    screenshot(a, "browser-04-session-a-spiral")
    screenshot(b, "browser-05-session-b-circle")
    step("done")
