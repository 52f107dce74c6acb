"""Browser tests of how dlviz looks (issue 12, "It looks right at any width, in either theme"),
through a real `streamlit run app.py` in Debian's Chromium at 800 and 1,400 px wide:

- every page reads: no button, metric, selector or tag cut short with "…", no word broken inside
  a label, nothing wider than the window; in every chart the title and the legend stay inside
  the chart, the legend covers no axis title or tick label, no axis title sits on tick labels
  and no tick labels on each other (`browser_support.layout_problems`);
- the sidebar is folded away at 800 px and open at 1,400 px;
- after a run, the Playground's live view reads too, and each live chart has its line of words;
- a browser that prefers a dark theme gets the dark theme, and the charts' text is light.

Screenshots go to test-artifacts/layout-*.png. The fixtures are in tests/conftest.py;
`new_page(viewport=..., color_scheme=...)` opens a page of that size and theme.
"""

from __future__ import annotations

import re

import pytest
from support.browser import (
    SLOW_MS,
    Steps,
    layout_problems,
    report_failure,
    screenshot,
    set_epochs,
    wait_for_main_text,
    wait_settled,
)

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

WIDTHS = (800, 1400)
PAGES = {
    "Home": "/",
    "Playground": "/playground",
    "Images": "/images",
    "Your images": "/uploads",
    "Depth": "/depth",
    "Transfer": "/transfer",
    "Runs": "/runs",
    "Devices": "/devices",
}


def open_at(new_page, base_url: str, path: str, width: int, scheme: str = "light"):
    page = new_page(viewport={"width": width, "height": 1400}, color_scheme=scheme)
    page.goto(base_url + path)
    page.get_by_test_id("stMainBlockContainer").wait_for(timeout=SLOW_MS)
    wait_settled(page, seconds=1.5)
    return page


def sidebar_folded(page) -> bool:
    return page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "true"


@pytest.mark.parametrize("width", WIDTHS)
@report_failure
def test_every_page_reads_at_this_width(width, streamlit_server, new_page):
    step = Steps()
    problems = {}
    for name, path in PAGES.items():
        step(f"{name} at {width} px")
        page = open_at(new_page, streamlit_server.url, path, width)
        found = []
        if name == "Home":  # the first page: the sidebar's state once it has settled
            try:
                page.wait_for_function(
                    """(folded) => { const s = document.querySelector('[data-testid="stSidebar"]');
                        return s && (s.getAttribute('data-collapsed') === 'true') === folded; }""",
                    arg=width < 1024,
                    timeout=10_000,
                )
            except playwright_api.TimeoutError:
                found.append(f"the sidebar is {'open' if width < 1024 else 'folded'}")
        found += layout_problems(page)
        if found:
            problems[name] = found
            screenshot(page, f"layout-{width}-{name.replace(' ', '-').lower()}")
    assert not problems, "\n".join(
        f"{name}: {p}" for name, found in problems.items() for p in found
    )
    step("done")


@pytest.mark.parametrize("width", WIDTHS)
@report_failure
def test_the_playground_after_a_run_reads_and_says_what_each_chart_shows(
    width, streamlit_server, new_page
):
    step = Steps()
    page = open_at(new_page, streamlit_server.url, "/playground", width)
    step(f"a 20-epoch run at {width} px")
    set_epochs(page, 20)
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_main_text(page, r"finished 20 epochs", timeout=SLOW_MS)
    wait_settled(page, seconds=2)

    step("each live chart has its line of words")
    text = page.get_by_test_id("stMain").inner_text()
    assert re.search(r"Epoch 20: \d+% of the training points and \d+% of the test points", text)
    assert re.search(r"Test loss (still falling|flat at about|rising since)", text), text
    assert re.search(r"Epoch 20: (every layer's gradient|the gradient of)", text), text
    assert "Neurons with the same output" in text or "Every neuron shown responds" in text

    step("the live view reads: metrics, buttons and every chart")
    found = layout_problems(page)
    screenshot(page, f"layout-{width}-playground-trained")
    assert not found, "\n".join(found)
    step("done")


@report_failure
def test_a_browser_that_prefers_dark_gets_the_dark_theme(streamlit_server, new_page):
    step = Steps()
    page = open_at(new_page, streamlit_server.url, "/playground", 1400, scheme="dark")
    step("the page is dark, its text light")
    colors = page.evaluate(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   const h1 = document.querySelector('h1');
                   return [getComputedStyle(app).backgroundColor, getComputedStyle(h1).color]; }"""
    )
    assert luminance(colors[0]) < 0.05 < 0.6 < luminance(colors[1]), colors

    step("the charts have no white background, and light text")
    charts = page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
              .filter(p => p.getBoundingClientRect().right > 0)  // not plotly.js's warm-up
              .map(p => [p._fullLayout.paper_bgcolor, p._fullLayout.plot_bgcolor,
                         p._fullLayout.font.color])"""
    )
    assert charts, "no chart drawn"
    for paper, plot, font in charts:
        assert paper == plot == "rgba(0, 0, 0, 0)" or luminance(paper) < 0.05, charts
        assert luminance(font) > 0.5, charts

    step("a live chart, drawn by dlviz's component, is dark-themed by the server")
    set_epochs(page, 5)
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_main_text(page, r"finished 5 epochs", timeout=SLOW_MS)
    wait_settled(page, seconds=2)
    fonts = page.evaluate(
        "() => Array.from(document.querySelectorAll('[class*=st-key-pg_view_] .js-plotly-plot'))"
        ".map(p => p._fullLayout.font.color)"
    )
    assert fonts and all(luminance(f) > 0.5 for f in fonts), fonts
    screenshot(page, "layout-1400-dark-playground")
    assert not layout_problems(page)
    step("done")


def luminance(css: str) -> float:
    """WCAG relative luminance of a CSS colour, rgb(...), rgba(...) or #rrggbb (computed here,
    not with dlviz's own helper: the test checks what the browser drew)."""
    css = css.strip()
    if css.startswith("#"):
        values = [int(css[i : i + 2], 16) for i in (1, 3, 5)]
    else:
        values = [float(v) for v in re.findall(r"[\d.]+", css)[:3]]
    channels = [v / 255 for v in values]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
