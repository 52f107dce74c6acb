"""Browser test of the Generative page through a real `streamlit run app.py`: a new user opens
it, sees the ring of Gaussians it will learn, trains the default GAN for many epochs and
watches the plane move (the discriminator's heatmap and the warped latent mesh change as it
trains), then pauses it and steps it one update at a time: each Step adds exactly one to the
Steps metric and redraws the plane; Stop ends the run.

Screenshots go to test-artifacts/. Needs /usr/bin/chromium (DLVIZ_SKIP_BROWSER=1 skips). The
fixtures `streamlit_server` (one server for this module) and `new_page` are in tests/conftest.py.
"""

from __future__ import annotations

import re
import time

import pytest
from support.browser import (
    SLOW_MS,
    UI_MS,
    Steps,
    main_text,
    report_failure,
    screenshot,
    wait_for_main_text,
    wait_for_traces,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

EPOCHS = 300  # far more than the test waits for: the run is still training when it pauses
PLANE = "gn_view_plane"
MESH = "latent grid, as generated"  # the mesh trace's name (figures._mesh_trace)

# The plane's heatmap z and the mesh's x and y (the trace named `mesh`), flat, from the live
# chart's own frame (or the page); null until it is drawn.
_PLANE_JS = """([root, mesh]) => {
    const p = root.classList && root.classList.contains('js-plotly-plot') ? root
        : root.querySelector('.js-plotly-plot');
    if (!p || !p._fullData || !p.querySelector('.main-svg')) return null;
    const flat = (a) => a ? Array.from(a, r => (r != null && typeof r === 'object')
        ? Array.from(r) : [r]).flat() : [];
    const heat = p._fullData.find(d => d.type === 'heatmap');
    const lines = p._fullData.find(d => d.name === mesh);
    return {z: heat ? flat(heat.z) : null,
            mesh: lines ? [Array.from(lines.x), Array.from(lines.y)] : null};
}"""


def plane(page) -> dict | None:
    """{"z": the heatmap's values, "mesh": [x, y]} of the live plane (None until drawn)."""
    try:
        frames = page.locator(f".st-key-{PLANE} iframe")
        if frames.count():
            frame = frames.first.element_handle().content_frame()
            if frame is None:
                return None
            return frame.evaluate(f"(mesh) => ({_PLANE_JS})([document.body, mesh])", MESH)
        static = page.locator(f".st-key-{PLANE} .js-plotly-plot")
        if not static.count():
            return None
        return static.first.evaluate(f"(e, mesh) => ({_PLANE_JS})([e, mesh])", MESH)
    except Exception:  # a frame that went away while we looked
        return None


def wait_for_plane(page, unlike: dict | None = None, timeout: float = UI_MS) -> dict:
    """Wait until the plane shows a heatmap and a mesh (both other than `unlike`'s, when given:
    the plane has moved); returns them."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        now = plane(page)
        if now and now["z"] and now["mesh"]:
            if unlike is None or (now["z"] != unlike["z"] and now["mesh"] != unlike["mesh"]):
                return now
        assert time.monotonic() < deadline, (
            "the plane's heatmap and mesh did not change" if unlike else "no heatmap and mesh"
        )
        time.sleep(0.2)


def steady_plane(page, seconds: float = 1.0, timeout: float = UI_MS) -> dict:
    """The plane once it has stayed the same for `seconds` (a paused run's, fully drawn)."""
    deadline = time.monotonic() + timeout / 1000
    last, since = wait_for_plane(page), time.monotonic()
    while time.monotonic() - since < seconds:
        assert time.monotonic() < deadline, "the plane of a paused run kept changing"
        time.sleep(0.2)
        now = plane(page)
        if now and now["z"] and now != last:
            last, since = now, time.monotonic()
    return last


def steps_metric(page) -> int | None:
    """The Steps metric of the metrics row (None while it is not shown)."""
    value = page.evaluate(
        """() => { const m = Array.from(document.querySelectorAll(
                       '[data-testid="stMain"] [data-testid="stMetric"]'))
                     .find(m => m.querySelector('[data-testid="stMetricLabel"]')
                                 .innerText.trim() === 'Steps');
                   return m ? m.querySelector('[data-testid="stMetricValue"]').innerText : null; }"""
    )
    return int(value.replace(",", "")) if value else None


def wait_steps_settle(page, seconds: float = 1.5, timeout: float = UI_MS) -> int:
    """Wait until the Steps metric holds one value for `seconds` (a paused run); returns it."""
    deadline = time.monotonic() + timeout / 1000
    last, since = steps_metric(page), time.monotonic()
    while time.monotonic() - since < seconds:
        assert time.monotonic() < deadline, f"the Steps metric did not settle (last {last})"
        time.sleep(0.2)
        now = steps_metric(page)
        if now != last:
            last, since = now, time.monotonic()
    assert last is not None, "no Steps metric"
    return last


def wait_paused(page, timeout: float = UI_MS) -> None:
    """Wait until the progress line says the run is paused; fails saying what it says instead."""
    try:
        wait_for_main_text(page, rf"paused at epoch \d+/{EPOCHS} - press Resume", timeout)
    except playwright_api.TimeoutError:
        line = re.search(r"(training - epoch|paused at epoch) [^\n]+", main_text(page))
        raise AssertionError(
            "one press of Pause did not hold the run: it reads "
            f"{line.group(0) if line else 'no progress line'!r} (a toggle that ran twice "
            "pauses and resumes at once)"
        ) from None


def snapshot_step(page) -> int:
    """The step of the snapshot the plane shows, from its caption."""
    text = wait_for_main_text(page, r"generated ones \(colour\), epoch \d+, step [\d,]+")
    return int(re.search(r"step ([\d,]+)", text).group(1).replace(",", ""))


@report_failure
def test_train_a_gan_watch_the_plane_move_then_step_it(streamlit_server, new_page):
    step = Steps()
    page = new_page()
    main = page.get_by_test_id("stMain")
    step("the Generative page, the data preview")
    page.goto(streamlit_server.url + "/generative")
    expect(page.get_by_role("heading", name="Generative", exact=True)).to_be_visible(
        timeout=SLOW_MS
    )
    wait_for_traces(page, "gn_preview", "name", lambda names: "real data" in names)
    wait_for_main_text(page, r"2,800 training points to learn, around 8 modes \(crosses\)\.")
    wait_for_main_text(page, r"GAN \(non-saturating loss\) on the ring of 8 Gaussians")
    wait_idle(page, SLOW_MS)

    step(f"{EPOCHS} epochs, Train")
    page.get_by_role("tab", name="Training").click()
    epochs = page.get_by_label("Epochs", exact=True)
    expect(epochs).to_have_value(re.compile(r"^\d+$"))
    epochs.fill(str(EPOCHS))
    epochs.press("Enter")
    expect(epochs).to_have_value(str(EPOCHS))
    wait_idle(page)
    train = main.get_by_role("button", name="Train", exact=True)
    expect(train).to_be_enabled()
    train.click()
    wait_for_main_text(page, rf"training - epoch \d+/{EPOCHS}", SLOW_MS)

    step("the live plane: the discriminator's heatmap and the latent mesh, moving")
    types = wait_for_traces(page, PLANE, "type", lambda t: "heatmap" in t, SLOW_MS)
    names = wait_for_traces(page, PLANE, "name", lambda n: MESH in n)
    assert types.count("heatmap") == 1, types
    for name in ("discriminator", "real data", "mode centres", "generated", "generator's push"):
        assert name in names, names
    first = wait_for_plane(page)
    assert len(first["z"]) == 48 * 48, len(first["z"])
    assert len(first["mesh"][0]) == 2 * 15 * 16, len(first["mesh"][0])  # 30 lines, 15 + a gap
    wait_for_plane(page, unlike=first)
    screenshot(page, "browser-generative-training")

    step("Pause: the run holds, Step comes on")
    pause = main.get_by_role("button", name="Pause", exact=True)
    # Pause only pauses (it does not toggle): a press lost on a loaded machine, while the live
    # view redrew the button under the pointer, is pressed again (three presses at most)
    for _ in range(3):
        if pause.count() and pause.is_enabled():
            pause.click()
        try:
            wait_for_main_text(page, rf"paused at epoch \d+/{EPOCHS} - press Resume", UI_MS // 3)
            break
        except playwright_api.TimeoutError:
            continue
    wait_paused(page)
    expect(main.get_by_role("button", name="Resume", exact=True)).to_be_visible()
    step_button = main.get_by_role("button", name="Step", exact=True)
    expect(step_button).to_be_enabled()
    held = wait_steps_settle(page)
    assert snapshot_step(page) == held  # the snapshot taken as it paused
    shown = steady_plane(page)

    for press in (1, 2):
        step(f"Step, press {press}: one update, the plane redrawn")
        step_button.click()
        wait_for_main_text(page, rf"generated ones \(colour\), epoch \d+, step {held + 1:,}\.")
        shown = wait_for_plane(page, unlike=shown)
        assert wait_steps_settle(page) == held + 1  # exactly one update, then it holds again
        held += 1
        expect(step_button).to_be_enabled()
    wait_for_main_text(page, rf"paused at epoch \d+/{EPOCHS} - press Resume")
    screenshot(page, "browser-generative-stepped")

    step("Stop: the run ends, Train comes back")
    main.get_by_role("button", name="Stop", exact=True).click()
    wait_for_main_text(page, r"Stopped after \d+ of \d+ epochs\.", UI_MS)
    expect(main.get_by_role("button", name="Stop", exact=True)).to_be_disabled()
    expect(main.get_by_role("button", name="Train", exact=True)).to_be_enabled(timeout=UI_MS)
    assert steps_metric(page) == held  # a Stop while paused takes no more updates
    step("done")
