"""The README's pictures (assets/*.png), taken again on the defaults, light theme, 1,400 px wide:

    python tests/readme_pictures.py                  # all of them (about 20 minutes on 2 cores)
    python tests/readme_pictures.py depth runs       # some

Each picture is what a person sees after the README's steps: the Playground while its default
run trains; the Images page's live view of the Deep CNN on shapes; Your images with three
classes from a ZIP and a new picture explained; the depth experiment and the data-efficiency
experiment on their defaults; Compare on the Runs page after a server restart (the two
32-layer networks of the depth experiment); the Devices page after a quick measurement; the
Sequence lab's Transformer on sort, trained to the end; the length experiment on its defaults;
the Sound lab's CNN on tones and chords, trained to the end, and where it listened; the
Generative lab's GAN on the ring of Gaussians, trained to the end; inside the Image lab's
trained Deep CNN (projector, probes, CKA); the Playground's step by hand after Backward; the
Sweep page after its default sweep.

Starts its own `streamlit run app.py` with an empty run store in a temporary folder, and
Debian's Chromium. Not a test (pytest collects only test_*.py).
"""

from __future__ import annotations

import argparse
import io
import re
import signal
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    SLOW_MS,
    StreamlitServer,
    wait_for_main_text,
    wait_settled,
)

ASSETS = REPO / "assets"
WIDTH = 1400
LONG_MS = 30 * 60_000  # an experiment of 18 runs on a busy 2-core machine


def fit_height(page) -> None:
    """Make the window as tall as the page (the app scrolls inside itself)."""
    height = page.evaluate(
        """() => { const m = document.querySelector('[data-testid="stMainBlockContainer"]');
                   return Math.ceil(m.getBoundingClientRect().top + m.scrollHeight + 48); }"""
    )
    page.set_viewport_size({"width": WIDTH, "height": max(800, min(int(height), 12000))})
    time.sleep(1.5)  # the charts follow the new size


def box(locator) -> dict:
    b = locator.first.bounding_box()
    assert b is not None, locator
    return b


def main_column(page, key: str):
    """The main area of a page split into settings and main area (`layout.split(key)`)."""
    return page.locator(
        f'.st-key-split_{key} > [data-testid="stLayoutWrapper"] > '
        '[data-testid="stHorizontalBlock"] > [data-testid="stColumn"]'
    ).last


def clip(
    page, path: Path, top, bottom=None, pad: int = 12, bottom_edge: str = "top", across=None
) -> None:
    """A picture of the main area (or of the width of `across`) from the top of `top` to the
    top (or `bottom_edge` "bottom") of `bottom`, or to the end of the page."""
    page.evaluate(  # the app scrolls inside itself: back to its top, where the boxes are
        "() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })"
    )
    main = box(page.get_by_test_id("stMainBlockContainer"))
    inner = box(
        across
        if across is not None
        else page.get_by_test_id("stMainBlockContainer").locator("> div")
    )
    y0 = box(top)["y"] - pad
    if bottom is None:
        y1 = inner["y"] + inner["height"] + pad
    else:
        b = box(bottom)
        y1 = (b["y"] if bottom_edge == "top" else b["y"] + b["height"]) + pad
    x0 = inner["x"] - pad
    page.screenshot(
        path=str(path),
        clip={"x": x0, "y": y0, "width": inner["width"] + 2 * pad, "height": y1 - y0},
    )
    print(path, f"({main['width']:.0f} px main area)", flush=True)


_STOP_ENABLED = """() => Array.from(document.querySelectorAll('button'))
    .some(b => /Stop$/.test(b.innerText.trim()) && !b.disabled)"""  # its label follows an icon


def wait_runs_ended(page, timeout: float = LONG_MS) -> None:
    """Until the runs a click started have all ended: a Stop button is enabled, then none."""
    page.wait_for_function(_STOP_ENABLED, timeout=SLOW_MS * 2)
    page.wait_for_function(f"() => !({_STOP_ENABLED})()", timeout=timeout)
    wait_settled(page, seconds=3, timeout=SLOW_MS * 2)


def open_page(browser, url: str):
    ctx = browser.new_context(viewport={"width": WIDTH, "height": 1400}, color_scheme="light")
    ctx.set_default_timeout(SLOW_MS * 2)
    page = ctx.new_page()
    page.goto(url)
    page.get_by_test_id("stMainBlockContainer").wait_for()
    wait_settled(page, seconds=1.5, timeout=SLOW_MS * 2)
    return page


# --- the pictures ---------------------------------------------------------------------------------


def playground(browser, url: str) -> None:
    page = open_page(browser, url + "/playground")
    page.set_viewport_size({"width": WIDTH, "height": 2100})  # room for the live view to come
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        """() => { const m = document.querySelector('[data-testid="stMain"]').innerText
                     .match(/training - epoch (\\d+)/); return m && Number(m[1]) >= 40; }""",
        timeout=SLOW_MS * 3,
    )
    page.screenshot(path=str(ASSETS / "playground.png"))  # while it trains
    inner = box(page.get_by_test_id("stMainBlockContainer").locator("> div"))
    picture = Image.open(ASSETS / "playground.png")
    picture.crop((0, 0, WIDTH, min(picture.height, int(inner["y"] + inner["height"] + 40)))).save(
        ASSETS / "playground.png"
    )
    print(ASSETS / "playground.png", flush=True)
    stop = page.get_by_test_id("stMain").get_by_role("button", name="Stop", exact=True)
    if stop.is_enabled():
        stop.click()
    page.context.close()


def images(browser, url: str) -> None:
    page = open_page(browser, url + "/images")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_runs_ended(page)
    fit_height(page)
    clip(
        page,
        ASSETS / "images.png",
        page.get_by_role("heading", name="What each layer sees"),
        page.get_by_text("Dead ReLUs", exact=False),
    )
    page.context.close()


def clip_section(page, path: Path, top, bottom, pad: int = 12) -> None:
    """A picture of the main area from `top` down to `bottom`, a section too far down a long
    page for `clip`: the window made as tall as the section, the section scrolled to its top."""
    tall = box(bottom)["y"] - box(top)["y"]
    page.set_viewport_size({"width": page.viewport_size["width"], "height": int(tall) + 4 * pad})
    top.first.evaluate("e => e.scrollIntoView({block: 'start'})")
    time.sleep(1.5)  # the charts follow the new size
    y0, y1 = box(top)["y"] - pad, box(bottom)["y"]
    inner = box(page.get_by_test_id("stMainBlockContainer").locator("> div"))
    page.screenshot(
        path=str(path),
        clip={"x": inner["x"] - pad, "y": max(y0, 0), "width": inner["width"] + 2 * pad,
              "height": y1 - max(y0, 0)},
    )  # fmt: skip
    print(path, flush=True)


def inside(browser, url: str) -> None:
    """The Image lab's Deep CNN on shapes, trained to the end: where the classes go (PCA of the
    last layer), the probes taken while it trained, the probes of the trained network and CKA
    between its layers; the same at 800 px wide in the temporary folder (`INSIDE_800`)."""
    page = open_page(browser, url + "/images")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_runs_ended(page)
    for label in ("Fit a linear probe at every layer", "Compare every layer with every other"):
        page.get_by_role("button", name=re.compile(label)).click()
        wait_settled(page, seconds=2, timeout=SLOW_MS * 4)
    page.get_by_text("Linear CKA (Kornblith").wait_for(timeout=SLOW_MS * 4)
    wait_settled(page, seconds=2, timeout=SLOW_MS * 2)
    top = page.get_by_role("heading", name="Where the classes go")
    bottom = page.get_by_role("heading", name=re.compile("^Confusion matrix"))
    clip_section(page, ASSETS / "inside.png", top, bottom)
    page.set_viewport_size({"width": 800, "height": 1400})
    wait_settled(page, seconds=2, timeout=SLOW_MS * 2)
    clip_section(page, INSIDE_800, top, bottom)
    page.context.close()


INSIDE_800 = Path(tempfile.gettempdir()) / "dlviz-inside-800.png"


def sweeps(browser, url: str) -> None:
    """The Sweep page after its default sweep (18 trials) has finished: the band chart, the
    parallel coordinates, the importance, best so far and final against best."""
    page = open_page(browser, url + "/sweeps")
    page.get_by_role("button", name=re.compile("^Start the sweep")).click()
    page.get_by_text(re.compile(r"^Finished, on this machine")).wait_for(timeout=LONG_MS)
    wait_settled(page, seconds=3, timeout=SLOW_MS * 2)
    fit_height(page)
    clip(
        page,
        ASSETS / "sweeps.png",
        page.get_by_role("heading", name="Sweeps"),
        page.get_by_text("A trial's run", exact=True),
    )
    page.context.close()


def by_hand(browser, url: str) -> None:
    """The Playground's step by hand after Forward, Loss and Backward: every neuron's and
    weight's gradient on the diagram, and the chain rule of the chosen weight."""
    page = open_page(browser, url + "/playground")
    page.set_viewport_size({"width": WIDTH, "height": 2400})
    section = page.get_by_text("Step by hand: one training step of a tiny network, every number")
    section.click()
    buttons = page.locator(".st-key-row_pg_bh_buttons")
    for label in ("Forward", "Loss", "Backward"):
        buttons.get_by_role("button", name=label, exact=True).click()
        wait_settled(page, seconds=1.5, timeout=SLOW_MS * 2)
    fit_height(page)
    clip(page, ASSETS / "by_hand.png", section)
    page.context.close()


def _shape(kind: str, rng) -> Image.Image:
    img = Image.fromarray(rng.integers(0, 40, (128, 128, 3)).astype(np.uint8))
    d = ImageDraw.Draw(img)
    color = tuple(int(v) for v in rng.integers(60, 256, 3))
    cx, cy, r = (int(v) for v in (*rng.integers(40, 88, 2), rng.integers(22, 36)))
    if kind == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif kind == "triangle":
        a = rng.uniform(0, 2 * np.pi)
        d.polygon([(cx + r * np.cos(a + k * 2.094), cy + r * np.sin(a + k * 2.094))
                   for k in range(3)], fill=color)  # fmt: skip
    else:
        a = rng.uniform(0, 2 * np.pi)
        d.polygon([(cx + (r if k % 2 == 0 else r * 0.45) * np.cos(a + k * np.pi / 5),
                    cy + (r if k % 2 == 0 else r * 0.45) * np.sin(a + k * np.pi / 5))
                   for k in range(10)], fill=color)  # fmt: skip
    return img


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def uploads(browser, url: str, tmp: Path) -> None:
    rng = np.random.default_rng(0)
    archive = tmp / "shapes.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for kind in ("star", "circle", "triangle"):
            for k in range(40):
                z.writestr(f"{kind}/{kind}-{k}.png", _png(_shape(kind, rng)))
    star = tmp / "new star.png"
    star.write_bytes(_png(_shape("star", np.random.default_rng(99))))

    page = open_page(browser, url + "/uploads")
    page.get_by_test_id("stFileUploader").filter(has_text="Or a ZIP").locator(
        "input[type=file]"
    ).set_input_files(str(archive))
    wait_for_main_text(page, r"120 images in 3 classes", timeout=SLOW_MS * 2)
    wait_settled(page, seconds=3)
    fit_height(page)
    left, right = tmp / "left.png", tmp / "right.png"
    clip(  # the classes, before the live view below them pushes them about
        page,
        left,
        page.get_by_role("heading", name="Classes"),
        page.get_by_role("button", name="Download as ZIP"),
        bottom_edge="bottom",
        across=main_column(page, "up"),
    )
    page.get_by_role("button", name="Train", exact=True).click()
    wait_runs_ended(page)
    page.get_by_test_id("stFileUploader").filter(has_text="An image to classify").locator(
        "input[type=file]"
    ).set_input_files(str(star))
    wait_for_main_text(page, r"the network says", timeout=SLOW_MS * 2)
    wait_settled(page, seconds=3)
    fit_height(page)
    clip(page, right, page.get_by_role("heading", name="Predict"), across=main_column(page, "up"))
    a, b = Image.open(left), Image.open(right)
    both = Image.new("RGB", (a.width + b.width + 24, max(a.height, b.height)), "white")
    both.paste(a, (0, 0))
    both.paste(b, (a.width + 24, 0))
    both.save(ASSETS / "uploads.png")
    print(ASSETS / "uploads.png", flush=True)
    page.context.close()


def depth(browser, url: str) -> None:
    page = open_page(browser, url + "/depth")
    page.get_by_role("button", name="Run the depth experiment").click()
    wait_for_main_text(page, r"All \d+ runs ended", timeout=LONG_MS)
    wait_settled(page, seconds=3)
    fit_height(page)
    clip(
        page,
        ASSETS / "depth.png",
        page.get_by_text(re.compile(r"All \d+ runs ended")),
        page.get_by_test_id("stDataFrame").last,  # the table of every run, left out
        across=main_column(page, "dp"),
    )
    page.context.close()


def runs(browser, url: str) -> None:
    page = open_page(browser, url + "/runs")
    search = page.get_by_role("textbox", name="Search")
    search.fill("depth-32")  # in the ids of the three 32-layer runs (bare 32: in times too)
    search.press("Enter")
    wait_for_main_text(page, r"3 of \d+ runs shown")
    grid = box(page.get_by_test_id("stDataFrame"))
    # Newest first: sigmoid, residual, plain. The table is a canvas: its boxes by position.
    for row in (1, 2):
        page.mouse.click(grid["x"] + 18, grid["y"] + 35 * (row + 1) + 17)
        time.sleep(1.5)
    wait_for_main_text(page, r"Compare 2 runs", timeout=SLOW_MS)
    wait_settled(page, seconds=3)
    fit_height(page)
    top = page.get_by_role("heading", name="Compare 2 runs")
    clip(
        page, ASSETS / "runs.png", top, page.get_by_role("heading", name="Gradient norms by layer")
    )
    picture = Image.open(ASSETS / "runs.png")
    if picture.height > 1300:  # the configs table goes on; its first rows say enough
        picture.crop((0, 0, picture.width, 1300)).save(ASSETS / "runs.png")
    page.context.close()


def transfer(browser, url: str) -> None:
    page = open_page(browser, url + "/transfer")
    page.get_by_role("button", name=re.compile(r"Data efficiency")).click()
    wait_for_main_text(page, r"All \d+ runs ended", timeout=LONG_MS)
    wait_settled(page, seconds=3)
    fit_height(page)
    clip(page, ASSETS / "transfer.png", page.get_by_role("heading", name="Transfer learning"))
    page.context.close()


def devices(browser, url: str) -> None:
    page = open_page(browser, url + "/devices")
    page.get_by_role("button", name="Measure", exact=True).click()
    wait_for_main_text(page, r"Measured on", timeout=LONG_MS)
    wait_settled(page, seconds=3)
    fit_height(page)
    race = box(page.get_by_role("heading", name=re.compile("Race")))
    page.screenshot(
        path=str(ASSETS / "devices.png"), clip={"x": 0, "y": 0, "width": WIDTH, "height": race["y"]}
    )
    print(ASSETS / "devices.png", flush=True)
    page.context.close()


def sequences(browser, url: str) -> None:
    """The default Transformer on sort, trained to the end: its curves, and inside it every
    head's attention on a test question and the head scores over training."""
    page = open_page(browser, url + "/sequences")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_runs_ended(page)
    fit_height(page)
    clip(
        page,
        ASSETS / "sequences.png",
        page.get_by_text(re.compile(r"finished [\d,]+ epochs")),
        page.get_by_role("heading", name="What the trained network does"),
    )
    page.context.close()


def lengths(browser, url: str) -> None:
    """The length experiment on its defaults: accuracy and the gradient reaching the first
    step against length, per network."""
    page = open_page(browser, url + "/sequences")
    page.get_by_role("radio", name="Length experiment", exact=True).click()
    page.get_by_role("button", name=re.compile(r"Run the length experiment")).click()
    wait_for_main_text(page, r"All \d+ runs (finished|ended)", timeout=LONG_MS)
    wait_settled(page, seconds=3)
    fit_height(page)
    clip(
        page,
        ASSETS / "lengths.png",
        page.get_by_text(re.compile(r"All \d+ runs (finished|ended)")),
        page.get_by_test_id("stDataFrame").last,
        across=main_column(page, "sq"),
    )
    page.context.close()


def sound(browser, url: str, tmp: Path) -> None:
    """The default CNN on tones and chords, trained to the end: a test clip to play with its
    wave and mel spectrogram and every layer's feature maps (above); the same clip through the
    trained network, with where it listened (below)."""
    page = open_page(browser, url + "/sound")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_runs_ended(page)
    fit_height(page)
    maps, predict = tmp / "sound-maps.png", tmp / "sound-predict.png"
    clip(
        page,
        maps,
        page.get_by_role("heading", name="What each layer hears"),
        page.get_by_text(re.compile(r"^Every layer's output for test clip")),
        bottom_edge="bottom",
    )
    clip(
        page,
        predict,
        page.get_by_role("heading", name="Predict", exact=True),
        page.get_by_role("heading", name="Your recordings as a test set"),
    )
    a, b = Image.open(maps), Image.open(predict)
    both = Image.new("RGB", (max(a.width, b.width), a.height + b.height), "white")
    both.paste(a, (0, 0))
    both.paste(b, (0, a.height))
    both.save(ASSETS / "sound.png")
    print(ASSETS / "sound.png", flush=True)
    page.context.close()


def generative(browser, url: str) -> None:
    """The default GAN on the ring of 8 Gaussians, trained to the end: the plane with the
    discriminator's heatmap, the generator's warped latent grid and its push on each sample,
    beside the losses and how close the samples came to the data."""
    page = open_page(browser, url + "/generative")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_runs_ended(page)
    fit_height(page)
    clip(
        page,
        ASSETS / "generative.png",
        page.get_by_text(re.compile(r"finished [\d,]+ epochs")),
        page.get_by_text(re.compile(r"^Epoch \d+: \d+ of \d+ modes covered")),
        bottom_edge="bottom",
    )
    page.context.close()


PICTURES = (
    "playground", "images", "uploads", "depth", "runs", "transfer", "devices", "sequences",
    "lengths", "sound", "generative", "inside", "by_hand", "sweeps",
)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pictures", nargs="*", help=f"some of {', '.join(PICTURES)} (all)")
    parser.add_argument("--home", help="the run store's DLVIZ_HOME, kept (default: a new one)")
    args = parser.parse_args(argv)
    args.pictures = args.pictures or list(PICTURES)
    if unknown := [p for p in args.pictures if p not in PICTURES]:
        parser.error(f"no picture called {', '.join(unknown)}: choose from {', '.join(PICTURES)}")
    if "runs" in args.pictures and "depth" not in args.pictures and not args.home:
        parser.error("runs compares the depth experiment's runs: take depth too, or --home")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as name, sync_playwright() as p:
        tmp = Path(name)
        home = Path(args.home) if args.home else tmp / "dlviz-home"
        home.mkdir(parents=True, exist_ok=True)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def server() -> StreamlitServer:
            s = StreamlitServer(home=home, log_path=tmp / "streamlit.log").start()
            s.wait_healthy()
            return s

        s = server()
        try:
            for name in args.pictures:
                if name == "runs":  # after a restart: the runs come back from the store
                    s.stop()
                    s = server()
                    runs(browser, s.url)
                elif name in ("uploads", "sound"):
                    globals()[name](browser, s.url, tmp)
                else:
                    globals()[name](browser, s.url)
        finally:
            s.stop()
            browser.close()


if __name__ == "__main__":
    main()
