"""Browser test of the Generative page's canvas through a real `streamlit run app.py`: a person
chooses "Your drawing", clears the starting face, paints a region by dragging a lasso on the
canvas, erases part of it the same way, and trains a GAN on what they drew; the run's data is
the drawing (its CSV, named by its content, under the server's DLVIZ_HOME).

Screenshots go to test-artifacts/. Needs /usr/bin/chromium (DLVIZ_SKIP_BROWSER=1 skips). The
fixtures `streamlit_server` and `new_page` are in tests/conftest.py.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from support.browser import UI_MS, main_text, report_failure, screenshot, wait_idle

from dlviz.data import gen2d

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

DRAWING = re.compile(r"The drawing: ([\d,]+) points?")


def drawn_points(page) -> int:
    """The point count the canvas's caption states (0 when it says the drawing is empty, -1
    while there is no caption yet)."""
    text = main_text(page)
    if "The drawing is empty" in text:
        return 0
    found = DRAWING.search(text)
    return int(found.group(1).replace(",", "")) if found else -1


def canvas_box(page) -> dict:
    """The canvas's plotting area on the screen (its drag layer), in page pixels; waits while
    a new canvas replaces the last one (each stroke draws the chart afresh)."""
    end = time.monotonic() + UI_MS / 1000
    while True:
        area = page.locator("[class*='st-key-gn_canvas_'] .nsewdrag")
        box = area.first.bounding_box() if area.count() == 1 else None
        if box and box["width"] > 100:
            return box
        assert time.monotonic() < end, f"no canvas to draw on ({area.count()} found)"
        time.sleep(0.1)


def to_screen(box: dict, x: float, y: float, extent: float = 2.2) -> tuple[float, float]:
    """Data coordinates (the canvas spans [-2.2, 2.2] on both axes) to page pixels."""
    return (
        box["x"] + (x + extent) / (2 * extent) * box["width"],
        box["y"] + (extent - y) / (2 * extent) * box["height"],
    )


def lasso(page, polygon: list[tuple[float, float]]) -> None:
    """Drag the mouse round `polygon` (data coordinates) on the canvas, as a person draws a
    lasso, and wait for the page to take it."""
    box = canvas_box(page)
    points = [to_screen(box, x, y) for x, y in polygon + polygon[:1]]
    page.mouse.move(*points[0])
    page.mouse.down()
    for a, b in zip(points, points[1:]):
        for t in np.linspace(0, 1, 8)[1:]:
            page.mouse.move(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
    page.mouse.up()
    wait_idle(page)


def wait_for_count(page, check, what: str) -> int:
    end = time.monotonic() + UI_MS / 1000
    while True:
        n = drawn_points(page)
        if check(n):
            return n
        assert time.monotonic() < end, f"{what}: the drawing has {n} points"
        time.sleep(0.25)


@report_failure
def test_a_person_paints_erases_and_trains_on_a_drawing(streamlit_server, new_page):
    page = new_page(viewport={"width": 1400, "height": 1600})
    page.goto(streamlit_server.url + "/generative")
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=UI_MS)

    page.get_by_role("tab", name="Data").click()
    page.locator(".st-key-gn_data").get_by_role("combobox").click()
    page.get_by_role("option", name="Your drawing").click()
    wait_idle(page)
    start = wait_for_count(page, lambda n: n > 0, "the starting face")  # the face

    page.get_by_role("button", name="Clear").click()
    wait_for_count(page, lambda n: n == 0, "Clear")
    expect(page.get_by_text("The drawing is empty: paint a region on the canvas.")).to_be_visible()
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_disabled()

    # a square from (-1, -1) to (1, 1): 21 x 21 cells of 0.1
    lasso(page, [(-1.04, -1.04), (1.04, -1.04), (1.04, 1.04), (-1.04, 1.04)])
    painted = wait_for_count(page, lambda n: n > 0, "painting a square")
    assert 300 <= painted <= 500, painted  # 441 cells, give or take the lasso's edge

    page.locator(".st-key-gn_draw_mode").get_by_text("Erase", exact=True).click()
    wait_idle(page)
    lasso(page, [(-1.2, -1.2), (0.0, -1.2), (0.0, 1.2), (-1.2, 1.2)])  # its left half
    left = wait_for_count(page, lambda n: n < painted, "erasing the left half")
    assert painted * 0.3 < left < painted * 0.7, (painted, left)
    screenshot(page, "generative-drawing")

    page.get_by_role("button", name="Undo").click()
    wait_for_count(page, lambda n: n == painted, "Undo")
    assert start != painted

    page.get_by_role("tab", name="Training").click()
    box = page.get_by_label("Epochs", exact=True)
    box.fill("3")
    box.press("Enter")
    expect(box).to_have_value("3")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"Real points \(grey\)"))).to_be_visible(timeout=60_000)

    # the run's data is the drawing as it was when Train was pressed
    configs = list((streamlit_server.home / "runs").glob("*/config.json"))
    assert len(configs) == 1, configs
    data = json.loads(configs[0].read_text())["data"]
    assert data["name"] == "drawn", data
    points, weights, _ = gen2d.parse_points(Path(data["path"]).read_bytes())
    assert len(points) == painted and np.all(np.abs(points) <= 1.05)
    assert np.all(weights == 1)
