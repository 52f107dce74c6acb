"""Screenshots of every page at several widths and in both themes, to look at by eye.

    python tests/support/look.py                       # every page, 1400 and 800 px, light and dark
    python tests/support/look.py --pages playground --widths 800 --themes dark --train

Starts its own `streamlit run app.py` (an empty run store in a temporary folder) and Debian's
Chromium; the pictures go to test-artifacts/look/PAGE-WIDTH-THEME[-trained].png. With
`--train`, the pages that train press their main button with short settings first and wait for
the run to end, so the pictures show the live view as it stays after training.

Under each picture it lists what does not read there (text cut short, a word broken, chart
parts on each other: `support.browser.layout_problems`). Not a test (pytest collects only
test_*.py); the layout tests are tests/ui/test_browser_layout.py.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    SLOW_MS,
    layout_problems,
    running_streamlit,
    set_epochs,
    wait_idle,
    wait_settled,
)

PAGES = {
    "home": "/",
    "playground": "/playground",
    "images": "/images",
    "uploads": "/uploads",
    "depth": "/depth",
    "transfer": "/transfer",
    "runs": "/runs",
    "devices": "/devices",
    "sequences": "/sequences",
    "sound": "/sound",
    "generative": "/generative",
    "sweeps": "/sweeps",
}


def settle(page, seconds: float = 1.5) -> None:
    wait_settled(page, seconds, timeout=SLOW_MS * 2)


def fit_height(page, width: int) -> None:
    """Make the viewport as tall as the page's content (the app scrolls inside itself, so a
    screenshot shows only the viewport)."""
    height = page.evaluate(
        """() => { const m = document.querySelector('[data-testid="stMainBlockContainer"]');
                   const r = m.getBoundingClientRect();
                   return Math.ceil(r.top + m.scrollHeight + 48); }"""
    )
    page.set_viewport_size({"width": width, "height": max(600, min(int(height), 6000))})
    time.sleep(1.0)  # charts follow the new size


def _fill(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def train(page, name: str, pair: bool = False) -> None:
    """Press the page's main button (Train shallow vs deep with `pair`) with short settings;
    wait for the run to end."""
    if name == "playground":  # a set number of epochs, not until stopped
        set_epochs(page, 40, until_stopped=None if pair else False)
        button = "Train shallow vs deep" if pair else "Train"
        page.get_by_role("button", name=button, exact=True).click()
    elif name in ("images", "sound"):
        page.get_by_role("tab", name="Training").first.click()
        _fill(page, "Epochs", "2")
        pair_name = "Train spectrogram vs wave" if name == "sound" else "Train shallow vs deep"
        button = pair_name if pair else "Train"
        page.get_by_role("button", name=button, exact=True).click()
    elif name == "generative":
        page.get_by_role("tab", name="Training").first.click()
        _fill(page, "Epochs", "40")
        button = "Train the twins" if pair else "Train"
        page.get_by_role("button", name=button, exact=True).click()
    elif name == "sequences":
        page.get_by_role("tab", name="Training").first.click()
        _fill(page, "Epochs", "3")
        page.get_by_role("button", name="Train", exact=True).click()
    elif name == "depth":
        _fill(page, "Epochs", "3")
        _fill(page, "Seeds", "2")
        page.get_by_role("button", name="Run the depth experiment").click()
    elif name == "transfer":
        page.get_by_role("button", name="Compare all four strategies").click()
    elif name == "devices":
        page.get_by_role("button", name="Measure", exact=True).click()
    else:
        return
    # The runs have started once a Stop button is enabled (its label follows an icon's
    # name), and have all ended once none is.
    stop = """() => Array.from(document.querySelectorAll('button'))
                 .some(b => /Stop$/.test(b.innerText.trim()) && !b.disabled)"""
    page.wait_for_function(stop, timeout=SLOW_MS * 2)
    page.wait_for_function(f"() => !({stop})()", timeout=900_000)
    settle(page, 3)


def report(path: Path, page) -> None:
    """The picture's name, and what does not read on it (browser_support.layout_problems)."""
    print(path, flush=True)
    for problem in layout_problems(page):
        print(f"    {problem}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", nargs="*", default=list(PAGES), choices=list(PAGES))
    parser.add_argument("--widths", nargs="*", type=int, default=[1400, 800])
    parser.add_argument("--themes", nargs="*", default=["light", "dark"])
    parser.add_argument("--height", type=int, default=0, help="viewport height (default: auto)")
    parser.add_argument("--train", action="store_true", help="also after a short run")
    parser.add_argument("--pair", action="store_true", help="the run: Train shallow vs deep")
    parser.add_argument("--out", default=str(ARTIFACTS / "look"))
    args = parser.parse_args(argv)
    # A kill stops the server and the browser too (the `with` blocks below close them).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, running_streamlit(Path(tmp)) as server:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for width in args.widths:
                height = args.height or 1000
                for theme in args.themes:
                    ctx = browser.new_context(
                        viewport={"width": width, "height": height}, color_scheme=theme
                    )
                    ctx.set_default_timeout(SLOW_MS)
                    for name in args.pages:
                        page = ctx.new_page()
                        page.goto(server.url + PAGES[name])
                        page.get_by_test_id("stMain").wait_for()
                        settle(page)
                        fit_height(page, width)
                        path = out / f"{name}-{width}-{theme}.png"
                        page.screenshot(path=str(path))
                        report(path, page)
                        if args.train and name in (
                            "playground",
                            "images",
                            "depth",
                            "transfer",
                            "sound",
                            "generative",
                            "sequences",
                        ):
                            train(page, name, args.pair)
                            fit_height(page, width)
                            kind = (
                                "pair"
                                if args.pair
                                and name in ("playground", "images", "sound", "generative")
                                else "trained"
                            )
                            path = out / f"{name}-{width}-{theme}-{kind}.png"
                            page.screenshot(path=str(path))
                            report(path, page)
                        page.close()
                    ctx.close()
            browser.close()


if __name__ == "__main__":
    main()
