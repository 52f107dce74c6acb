"""Browser test of the Image lab's projector through a real `streamlit run app.py`: a person
trains a CNN on the digits for 30 epochs, sees the test images' dots in a layer's space
while it trains, then, trained, switches to t-SNE, clicks a dot and sees that image with its
nearest neighbours in the layer's own space.

Screenshots go to test-artifacts/. Needs /usr/bin/chromium (DLVIZ_SKIP_BROWSER=1 skips). The
fixtures `streamlit_server` and `new_page` are in tests/conftest.py.
"""

from __future__ import annotations

import re

import pytest
from support.browser import SLOW_MS, UI_MS, report_failure, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

PROJ = "im_view_proj_tsne_conv8"


@report_failure
def test_a_person_sees_the_classes_sort_and_picks_a_dot(streamlit_server, new_page):
    page = new_page(viewport={"width": 1400, "height": 1800})
    page.goto(streamlit_server.url + "/images")
    expect(page.get_by_role("heading", name="Images", exact=True)).to_be_visible(timeout=SLOW_MS)
    digits = page.get_by_role("radio", name="Digits", exact=True)
    digits.click()
    expect(digits).to_have_attribute("aria-checked", "true")
    wait_idle(page)
    page.get_by_role("tab", name="Training").click()
    box = page.get_by_label("Epochs", exact=True)
    expect(box).to_have_value(re.compile(r"^\d+$"))
    # 30 epochs (about 40 s here): long enough that the live projector is seen while the run
    # trains; 8 took 11 s, over before the page was looked at
    box.fill("30")
    box.press("Enter")
    expect(box).to_have_value("30")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()

    # while it trains: the projector's live chart and its reading
    expect(page.get_by_text("Where the classes go")).to_be_visible(timeout=SLOW_MS)
    # the shown one: Streamlit keeps a keyed element that a rerun replaced, hidden, in case it
    # comes back later in the same run (the live chart once the run has ended)
    live_projection = page.locator(".st-key-im_view_proj .js-plotly-plot").filter(visible=True)
    expect(live_projection.first).to_be_visible(timeout=SLOW_MS)
    expect(page.get_by_text(re.compile(r"^Of 128 test images, the share"))).to_be_visible()

    expect(page.get_by_text(re.compile(r"finished 30 epochs"))).to_be_visible(timeout=240_000)
    wait_idle(page)
    page.locator(".st-key-im_proj_method").get_by_text("t-SNE of the trained network").click()
    chart = page.locator(f".st-key-{PROJ} .js-plotly-plot")
    expect(chart).to_be_visible(timeout=SLOW_MS)
    wait_idle(page)
    # click one of the dots (plotly's points are SVG paths in the scatter layer)
    dot = page.locator(f".st-key-{PROJ} .scatterlayer .trace .points path").nth(10)
    dot.click(force=True)
    expect(
        page.get_by_text(re.compile(r"^Test image \d+ and its 5 nearest neighbours"))
    ).to_be_visible(timeout=UI_MS)
    caption = page.get_by_text(
        re.compile(r"^Test image \d+ and its 5 nearest neighbours")
    ).inner_text()
    assert re.search(r"\d of 5 share its class\.$", caption), caption
    page.locator(f".st-key-{PROJ}").scroll_into_view_if_needed()
    screenshot(page, "images-projector")
