"""Helpers for the browser tests (tests/test_browser*.py): a real dashboard server (`dlviz ui`,
what `./dev.sh dashboard` runs) on 127.0.0.1, Debian's Chromium driven by Playwright, and waits that understand a Streamlit page.

The fixtures built on these (`streamlit_server`, `browser`, `new_page`, and `streamlit_args` /
`streamlit_env` to configure a module's server) are in tests/conftest.py.

Nothing here is a test; pytest only collects `test_*.py`.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from PIL import Image  # a dependency of streamlit

# One list of Chromium flags for dlviz, the browser benchmark's, re-exported for the tests.
from dlviz.bench.browser import CHROMIUM as CHROMIUM
from dlviz.bench.browser import CHROMIUM_ARGS as CHROMIUM_ARGS
from dlviz.bench.browser import dump_stacks

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


# The app scrolls inside its own container, so a screenshot shows only the viewport: a tall one
# holds the whole live panel.
VIEWPORT = {"width": 1500, "height": 2000}

# This machine may have two slow cores shared by the server, its training threads and Chromium:
# waits are generous, and a test only waits as long as it has to.
STARTUP_S = 60.0
SLOW_MS = 60_000  # a first run, a page load, a pair of short runs
UI_MS = 20_000  # a rerun after a click, a Stop taking effect


def app_titles() -> list[str]:
    """The titles of app.py's pages, in its order (the `title=` of each `st.Page`): what the
    sidebar's navigation lists."""
    titles = []
    for node in ast.walk(ast.parse((REPO / "app.py").read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page":
            titles += [k.value.value for k in node.keywords if k.arg == "title"]
    return titles


def require_chromium() -> str:
    """The Chromium to drive; fails (or skips, with DLVIZ_SKIP_BROWSER=1) when it is missing."""
    if os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = (
        f"Chromium not found at {CHROMIUM}: the browser tests drive Debian's Chromium. "
        "Install it with `sudo apt-get install chromium` (./dev.sh test does), or set "
        "DLVIZ_SKIP_BROWSER=1 to skip these tests."
    )
    if os.environ.get("DLVIZ_SKIP_BROWSER") == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dashboard_command(python: str = sys.executable) -> list[str]:
    """`dlviz ui` of this checkout, as `./dev.sh dashboard` runs it."""
    return [python, "-m", "dlviz.cli", "ui"]


class StreamlitServer:
    """The dashboard's server in a child process, its output in a log file.

    `command` starts it (default `dashboard_command()`: `dlviz ui`, which runs app.py the way
    `./dev.sh dashboard` and an installed dlviz do), from the folder `cwd` (default the
    checkout). Its environment is this process's, with DLVIZ_HOME=`home`, PYTHONUNBUFFERED=1
    and, when `tmpdir` is given, TMPDIR=`tmpdir`; then `env` on top (a None value removes a
    variable). `extra_args` go after the standard `streamlit run` options (the last of a
    repeated option wins), e.g. `["--server.disconnectedSessionTTL", "2"]`.
    """

    def __init__(
        self,
        home: Path,
        log_path: Path,
        port: int | None = None,
        *,
        tmpdir: Path | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str | None] | None = None,
        command: Sequence[str] | None = None,
        cwd: Path = REPO,
    ):
        self.home = home
        self.log_path = log_path
        self.tmpdir = tmpdir
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.command = list(command or dashboard_command())
        self.cwd = cwd
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self) -> StreamlitServer:
        env = dict(os.environ)
        env.pop("DLVIZ_RUN_PROCESSES", None)  # runs train as a dashboard trains them
        env.update(DLVIZ_HOME=str(self.home), PYTHONUNBUFFERED="1")
        if self.tmpdir is not None:
            env["TMPDIR"] = str(self.tmpdir)
        for name, value in self.extra_env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        cmd = [
            *self.command,
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(self.port),
            "--browser.gatherUsageStats", "false",
            *self.extra_args,
        ]  # fmt: skip
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=self.cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return self

    def wait_healthy(self, timeout: float = STARTUP_S) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the dashboard's server exited with code {self.proc.returncode} before answering "
                    f"{self.url}/_stcore/health.\n--- server log ({self.log_path}) ---\n{self.log()}",
                    pytrace=False,
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    body = r.read().decode(errors="replace").strip()
                if body == "ok":
                    return
                last = f"answered {body!r}"
            except (urllib.error.URLError, OSError) as e:
                last = repr(e)
            time.sleep(0.25)
        self.stop()
        pytest.fail(
            f"streamlit did not answer 'ok' on {self.url}/_stcore/health within {timeout:.0f} s "
            f"(last: {last}).\n--- server log ({self.log_path}) ---\n{self.log()}",
            pytrace=False,
        )

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self, tail_chars: int = 20_000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"(could not read the server log: {e})"
        return text[-tail_chars:] if len(text) > tail_chars else text


@contextlib.contextmanager
def running_streamlit(
    tmp: Path,
    *,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str | None] | None = None,
    command: Sequence[str] | None = None,
    cwd: Path = REPO,
) -> Iterator[StreamlitServer]:
    """A started, healthy StreamlitServer whose files all live under the folder `tmp`:
    run store `tmp/dlviz-home` (DLVIZ_HOME), temporary files `tmp/tmp` (TMPDIR), log
    `tmp/streamlit.log`; stopped on leaving. The `streamlit_server` fixture is one of these per
    test module; a test that needs a server of its own (a brand-new one, or an installed
    dlviz's: `command`, `cwd`) can use this directly."""
    home = tmp / "dlviz-home"
    tmpdir = tmp / "tmp"
    home.mkdir()
    tmpdir.mkdir()
    server = StreamlitServer(
        home=home,
        log_path=tmp / "streamlit.log",
        tmpdir=tmpdir,
        extra_args=extra_args,
        env=env,
        command=command,
        cwd=cwd,
    ).start()
    try:
        server.wait_healthy()
        yield server
    finally:
        server.stop()


class PageFactory:
    """Opens pages, each in a fresh browser context (its own cookies: its own Streamlit
    session), and remembers them for failure screenshots and closing."""

    def __init__(self, browser, viewport: dict, timeout_ms: float):
        self.browser, self.viewport, self.timeout_ms = browser, viewport, timeout_ms
        self.pages: list = []
        self._contexts: list = []

    def __call__(self, **context):
        """A page in a new context; `context` goes to Playwright's `new_context` (e.g.
        `viewport={"width": 800, "height": 1200}`, `color_scheme="dark"`)."""
        context.setdefault("viewport", self.viewport)
        ctx = self.browser.new_context(**context)
        ctx.set_default_timeout(self.timeout_ms)
        self._contexts.append(ctx)
        page = ctx.new_page()
        self.pages.append(page)
        return page

    def close(self) -> None:
        for ctx in self._contexts:
            try:
                ctx.close()
            except Exception:  # the browser may already be gone
                pass


def report_failure(fn):
    """On a failing test: save a screenshot of every page it opened (its `new_page` fixture)
    into test-artifacts/ and print the server's log, with every server thread's stack at the
    moment of the failure; pytest shows a failed test's output."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BaseException:
            factory = kwargs.get("new_page")
            for i, page in enumerate(getattr(factory, "pages", [])):
                try:
                    print(f"failure screenshot: {screenshot(page, f'FAILED-{fn.__name__}-{i}')}")
                except Exception as e:  # the page may be gone; the log matters more
                    print(f"(no failure screenshot of page {i}: {e})")
            server = kwargs.get("streamlit_server")
            if server is not None:
                # what every thread of the server was doing (dlviz.ui.state.warm_up registers
                # SIGUSR1 to print the stacks): a stuck script or run shows where it waits
                if server.proc.poll() is None:
                    dump_stacks(server.proc.pid, settle_s=1.0)
                print(f"--- server log ({server.log_path}) ---\n{server.log()}")
            raise

    return wrapper


def screenshot(page, name: str) -> Path:
    """The whole app as the person sees it, into test-artifacts/NAME.png. (The app scrolls inside
    its own container: the page is exactly the tall viewport, so no `full_page` is needed.)"""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def live_screenshot(page, name: str, chart_keys: list[str], attempts: int = 5) -> Path:
    """A screenshot of a live page in which the charts `chart_keys` (Streamlit keys) are drawn.

    Live charts update in place, but the first drawing of one can lag behind the page: look at
    the pixels, and take the picture again while a chart is still blank.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    for attempt in range(attempts):
        boxes = page.evaluate(_BOXES_JS, chart_keys)
        png = page.screenshot()
        image = Image.open(io.BytesIO(png)).convert("L")
        inked = [_ink(image, box) for box in boxes]
        if all(v > 0.01 for v in inked):
            break
        print(f"{name}: attempt {attempt + 1}: a chart was blank (inked share {inked}), again")
        time.sleep(0.5)
    path.write_bytes(png)
    return path


# A chart under a Streamlit key: a static Plotly chart in the page, a live chart (in the page
# too), or a chart in a frame.
_BOXES_JS = """(keys) => keys.map(k => {
    const e = Array.from(document.querySelectorAll(`.st-key-${k} .js-plotly-plot, .st-key-${k} iframe`))
        .find(e => e.getBoundingClientRect().height > 0);
    if (!e) return null;
    const r = e.getBoundingClientRect();
    return {x: r.x, y: r.y, width: r.width, height: r.height};
})"""


def _ink(image, box: dict | None) -> float:
    """The share of non-white pixels of `image` inside `box` (a Playwright bounding box)."""
    if not box or box["width"] < 1 or box["height"] < 1:
        return 0.0
    crop = image.crop(
        (int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"]))
    )
    histogram = crop.histogram()  # 256 grey levels
    return sum(histogram[:230]) / max(1, sum(histogram))


# --- charts: static ones in the page, live ones each in its own frame ---------------------------

# Every drawn Plotly chart of one document: its title and its first training points.
_CHARTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && e.querySelector('.main-svg');
}).map(e => {
    const t = e.querySelector('.gtitle');
    const d = e._fullData && e._fullData.find(d => d.name === 'class 0 (train)');
    return {title: t ? t.textContent : '',
            points: d && d.x ? [Array.from(d.x).slice(0, 20), Array.from(d.y).slice(0, 20)] : null};
})"""


_ONE_CHART_JS = """(e) => { const t = e.querySelector('.gtitle');
    const d = e._fullData && e._fullData.find(d => d.name === 'class 0 (train)');
    return [{title: t ? t.textContent : '',
             points: d && d.x ? [Array.from(d.x).slice(0, 20), Array.from(d.y).slice(0, 20)] : null}]; }"""


def drawn_charts(page) -> list[dict]:
    """The drawn charts of the page and of its live-chart frames, in that order."""
    charts = []
    for frame in page.frames:
        try:
            charts += frame.evaluate(_CHARTS_JS)
        except Exception:  # a frame that went away while we looked
            continue
    return charts


def keyed_chart(page, key: str) -> dict | None:
    """The chart under Streamlit key `key`, static or live; None when it is not drawn."""
    static = page.locator(f".st-key-{key} .js-plotly-plot")
    frames = page.locator(f".st-key-{key} iframe")
    try:
        if frames.count():
            frame = frames.first.element_handle().content_frame()
            found = frame.evaluate(_CHARTS_JS) if frame else []
        elif static.count():
            found = static.first.evaluate(_ONE_CHART_JS)
        else:
            return None
    except Exception:
        return None
    return found[0] if found else None


# One field (type, name, ...) of every trace of the Plotly chart under an element: a static chart
# in the page, or a live chart in its own frame. [] while it is not drawn.
_TRACE_FIELD_JS = """([e, field]) => { const p = e.classList.contains('js-plotly-plot') ? e
        : e.querySelector('.js-plotly-plot');
    return p && p._fullData && p.querySelector('.main-svg') ? p._fullData.map(d => d[field]) : []; }"""


def trace_field(page, key: str, field: str) -> list:
    """`field` of each trace of the chart under Streamlit key `key` ([] until it is drawn)."""
    frames = page.locator(f".st-key-{key} iframe")
    try:
        if frames.count():
            frame = frames.first.element_handle().content_frame()
            if frame is None:
                return []
            return frame.evaluate(f"(field) => ({_TRACE_FIELD_JS})([document.body, field])", field)
        static = page.locator(f".st-key-{key} .js-plotly-plot")
        if not static.count():
            return []
        return static.first.evaluate(f"(e, field) => ({_TRACE_FIELD_JS})([e, field])", field)
    except Exception:  # a frame or element that went away while we looked
        return []


def wait_for_traces(page, key: str, field: str, check, timeout: float = SLOW_MS) -> list:
    """Wait until `check` holds for `trace_field(page, key, field)`; returns the values."""
    deadline = time.monotonic() + timeout / 1000
    while not check(values := trace_field(page, key, field)):
        if time.monotonic() > deadline:
            raise AssertionError(f"chart {key}: {field}s {values}")
        time.sleep(0.2)
    return values


def wait_for_charts(page, at_least: int, timeout: float = SLOW_MS) -> None:
    deadline = time.monotonic() + timeout / 1000
    while len(drawn_charts(page)) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {at_least} charts drawn: {chart_titles(page)}")
        time.sleep(0.2)


def chart_titles(page) -> list[str]:
    return [c["title"] for c in drawn_charts(page)]


def wait_for_chart_title(page, prefix: str, timeout: float = SLOW_MS) -> str:
    """Wait until a drawn chart's title starts with `prefix`; returns that title."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        found = [t for t in chart_titles(page) if t.startswith(prefix)]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no chart titled {prefix!r}…: {chart_titles(page)}")
        time.sleep(0.2)


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def wait_for_main_text(page, pattern: str, timeout: float = UI_MS) -> str:
    """Wait until the main area's text matches the JavaScript regex `pattern`; returns the match.

    Text, not a locator: while Streamlit swaps a rerun's elements in, a message can briefly
    be on the page twice.
    """
    try:
        handle = page.wait_for_function(
            """(p) => { const main = document.querySelector('[data-testid="stMain"]');
                        const m = main && main.innerText.match(new RegExp(p));
                        return m ? m[0] : false; }""",
            arg=pattern,
            timeout=timeout,
        )
    except Exception as e:  # say what was awaited and what the page showed instead
        from playwright.sync_api import TimeoutError as PageTimeout

        if not isinstance(e, PageTimeout):
            raise
        try:
            shown = main_text(page)[-1500:]
        except Exception:
            shown = "(the page could not be read)"
        raise PageTimeout(
            f"no text matching {pattern!r} within {timeout / 1000:.0f} s; the main area ends "
            f"with:\n{shown}"
        ) from e
    return handle.json_value()


_PROGRESS = re.compile(r"training - epoch (\d+)(?:/(\d+))?")


def progress(page) -> tuple[int, int] | None:
    """(epoch, total) from the live run's progress line (total 0: until stopped), or None when
    there is none."""
    m = _PROGRESS.search(main_text(page))
    return (int(m.group(1)), int(m.group(2) or 0)) if m else None


def wait_for_progress(page, total: int, past_epoch: int = -1, timeout: float = SLOW_MS) -> int:
    """Wait until the progress line reads `training - epoch N/total` (for `total` 0, a run until
    stopped: `training - epoch N, ... until you press Stop`) with N > past_epoch."""
    handle = page.wait_for_function(
        """([total, past]) => {
            const main = document.querySelector('[data-testid="stMain"]');
            const m = main && main.innerText.match(/training - epoch (\\d+)(?:\\/(\\d+))?/);
            return !!m && Number(m[2] || 0) === total && Number(m[1]) > past && [Number(m[1])];
        }""",
        arg=[total, past_epoch],
        timeout=timeout,
    )
    return handle.json_value()[0]


def wait_idle(page, timeout: float = UI_MS) -> None:
    """Wait until Streamlit reports no script run in progress for this page."""
    page.wait_for_function(
        """() => { const app = document.querySelector('[data-testid="stApp"]');
                   return app && app.getAttribute('data-test-script-state') !== 'running'; }""",
        timeout=timeout,
    )


def preview_title(page) -> str:
    """The data preview's title, e.g. 'Spiral: 700 train, 300 test'."""
    return (keyed_chart(page, "pg_data_preview") or {}).get("title", "")


def page_state(page) -> dict:
    """What a page shows: the main area's and the sidebar's text, the drawn charts' titles, and
    the first training points of the data preview and of the decision boundary (None where
    there is none)."""
    texts = page.evaluate(
        """() => { const text = (id) => { const e = document.querySelector(`[data-testid="${id}"]`);
                                          return e ? e.innerText : ''; };
                   return [text('stMain'), text('stSidebar')]; }"""
    )
    preview = keyed_chart(page, "pg_data_preview") or {}
    boundary = keyed_chart(page, "pg_view_boundary") or {}
    return {
        "main": texts[0],
        "sidebar": texts[1],
        "titles": chart_titles(page),
        "preview": preview.get("title", ""),
        "preview_points": preview.get("points"),
        "boundary_points": boundary.get("points"),
    }


class Steps:
    """Prints each step of a test with the seconds since the test began (shown when it fails,
    or with `pytest -s`), so a slow or stuck step is easy to find."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, what: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f} s] {what}", flush=True)


# --- layout: text cut short, words broken, charts whose parts collide ---------------------------

# Everything on a page (or in a live chart's frame) that does not read: text cut short with "…",
# a word broken across two lines inside a label, a page wider than its window, and in each
# Plotly chart a title or a legend that sticks out of the chart, a legend on an axis title or
# tick labels, an axis title on tick labels, and tick labels of one axis on each other.
_LAYOUT_PROBLEMS_JS = r"""() => {
  const problems = [];
  const roots = [document.querySelector('[data-testid="stMain"]'),
                 document.querySelector('[data-testid="stSidebar"]')].filter(Boolean);
  if (!roots.length) roots.push(document.body);  // a live chart's own frame
  // drawn, and inside the window (a folded sidebar is moved out of it, not hidden)
  const shown = (e) => { const r = e.getBoundingClientRect();
                         return r.width > 0 && r.height > 0 && r.right > 0 && r.left < innerWidth; };
  const text = (e) => (e.innerText || e.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 60);
  const SKIP = '[data-testid="stDataFrame"], .js-plotly-plot, [data-testid="stSidebarCollapsedControl"]';
  for (const root of roots) {
    for (const e of root.querySelectorAll('*')) {
      if (!shown(e) || e.closest(SKIP) || !text(e)) continue;
      const s = getComputedStyle(e);
      if (s.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth + 1)
        problems.push(`cut short: "${text(e)}" (${e.scrollWidth} px in ${e.clientWidth})`);
    }
    for (const b of root.querySelectorAll('button'))
      if (shown(b) && /…$/.test(text(b))) problems.push(`cut short: button "${text(b)}"`);
    // a select box shows its value in an input, which clips it without an ellipsis
    for (const i of root.querySelectorAll('[data-testid="stSelectbox"] input'))
      if (shown(i) && i.value && i.scrollWidth > i.clientWidth + 1)
        problems.push(`cut short: the choice "${i.value}" (${i.scrollWidth} px in ${i.clientWidth})`);
    const LABELS = '[data-testid="stWidgetLabel"], [data-testid="stMetricLabel"], ' +
      '[data-testid="stMetricValue"], button, [data-testid="stTab"], [data-baseweb="tag"], ' +
      '[data-testid="stExpander"] summary';
    for (const label of root.querySelectorAll(LABELS)) {
      if (!shown(label) || label.closest(SKIP)) continue;
      const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
      let broken = false;
      for (let n = walker.nextNode(); n && !broken; n = walker.nextNode()) {
        const t = n.textContent;
        let top = null;
        for (let i = 0; i < t.length && !broken; i++) {
          if (/[\s\-\/–—]/.test(t[i])) { top = null; continue; }
          const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
          const rect = r.getClientRects()[0];
          if (!rect || rect.width === 0) continue;
          if (top !== null && rect.top > top + 2) broken = true;
          top = rect.top;
        }
      }
      if (broken) problems.push(`word broken across lines: "${text(label)}"`);
    }
  }
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  if (main && main.scrollWidth > main.clientWidth + 2)
    problems.push(`page wider than its window: ${main.scrollWidth} px in ${main.clientWidth}`);
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 &&
                        a.top < b.bottom - 1 && b.top < a.bottom - 1;
  for (const p of document.querySelectorAll('.js-plotly-plot')) {
    const svg = p.querySelector('.main-svg');
    if (!svg || !shown(p)) continue;
    const box = svg.getBoundingClientRect();
    const key = (p.closest('[class*="st-key-"]') || {className: ''}).className.match(/st-key-(\S+)/);
    const title = p.querySelector('.gtitle');
    const name = (title && title.textContent) || (key && key[1]) || 'a chart';
    const inside = (r) => r.left >= box.left - 1 && r.right <= box.right + 1 &&
                          r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
    const rects = (sel) => Array.from(p.querySelectorAll(sel))
      .map(e => [e, e.getBoundingClientRect()]).filter(([e, r]) => r.width > 0 && r.height > 0);
    if (title && !inside(title.getBoundingClientRect()))
      problems.push(`chart "${name}": its title is cut off by the chart's edge`);
    const axisTitles = rects('.infolayer text[class*="title"]').filter(([e]) =>
      !e.classList.contains('gtitle') && !e.classList.contains('legendtitletext'));
    const layers = Array.from(p.querySelectorAll('.xaxislayer-above, .yaxislayer-above'));
    const ticks = layers.map(l => Array.from(l.querySelectorAll('text'))
      .map(e => [e, e.getBoundingClientRect()]).filter(([e, r]) => r.width > 0));
    const allTicks = ticks.flat();
    const legend = p.querySelector('.legend');
    if (legend && shown(legend)) {
      const r = legend.getBoundingClientRect();
      if (!inside(r)) problems.push(`chart "${name}": its legend sticks out of the chart`);
      const under = [...axisTitles, ...allTicks].find(([e, q]) => hit(r, q));
      if (under) problems.push(`chart "${name}": the legend covers "${under[0].textContent}"`);
    }
    for (const [e, r] of axisTitles) {
      const on = allTicks.find(([k, q]) => hit(r, q));
      if (on) problems.push(`chart "${name}": axis title "${e.textContent}" on tick "${on[0].textContent}"`);
    }
    for (const axis of ticks)
      for (let i = 0; i < axis.length; i++)
        for (let j = i + 1; j < axis.length; j++)
          if (hit(axis[i][1], axis[j][1])) {
            problems.push(`chart "${name}": tick labels "${axis[i][0].textContent}" and ` +
                          `"${axis[j][0].textContent}" overlap`);
            i = j = axis.length;
          }
  }
  return problems;
}"""


def layout_problems(page) -> list[str]:
    """What does not read on `page` and in each of its live charts' frames (see
    _LAYOUT_PROBLEMS_JS); [] when all is well."""
    found = []
    for frame in page.frames:
        try:
            found += frame.evaluate(_LAYOUT_PROBLEMS_JS)
        except Exception:  # a frame that went away while we looked
            continue
    return found


_SETTLED_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') === 'running') return false;
    if (document.querySelector('[data-testid="stSkeleton"]')) return false;
    const main = document.querySelector('[data-testid="stMainBlockContainer"]');
    return !!main && main.innerText.trim().length > 0;
}"""


def wait_settled(page, seconds: float = 1.0, timeout: float = SLOW_MS) -> None:
    """Wait until the page has drawn (no script running, no placeholders left), then give its
    charts `seconds` to draw."""
    page.wait_for_function(_SETTLED_JS, timeout=timeout)
    time.sleep(seconds)
    page.wait_for_function(_SETTLED_JS, timeout=timeout)


def set_epochs(page, epochs: int, until_stopped: bool | None = False) -> None:
    """On the Playground: type the epoch count in the Training tab. `until_stopped` False (the
    default here) turns *Train until I press Stop* off, so Train trains that many epochs; True
    turns it on; None leaves it as it is (Train shallow vs deep trains the count either way)."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Training").click()
    if until_stopped is not None:
        toggle = page.get_by_role("switch", name="Train until I press Stop")
        if toggle.is_checked() != until_stopped:
            page.locator(".st-key-pg_until_stopped label").click()
            expect(toggle).to_be_checked(checked=until_stopped)
            wait_idle(page)
    box = page.get_by_label("Epochs", exact=True)
    expect(box).to_be_visible()
    expect(box).to_have_value(re.compile(r"^\d+$"))  # the widget has its value from the server
    box.fill(str(epochs))
    box.press("Enter")  # Streamlit commits a number input on Enter or blur, then reruns
    expect(box).to_have_value(str(epochs))
    wait_idle(page)


def open_playground(page, base_url: str, via_home: bool = True) -> None:
    """Open the Playground: from Home through the sidebar navigation, or by its URL."""
    from playwright.sync_api import expect

    if via_home:
        page.goto(base_url + "/")
        expect(
            page.get_by_role("heading", name="dlviz - a deep-learning lab in your browser")
        ).to_be_visible(timeout=SLOW_MS)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Playground").click()
    else:
        page.goto(base_url + "/playground")
    expect(page.get_by_role("heading", name="Playground", exact=True)).to_be_visible(
        timeout=SLOW_MS
    )
    # The data preview and the network sketch are drawn: the page has finished its first run.
    wait_for_charts(page, 2)
