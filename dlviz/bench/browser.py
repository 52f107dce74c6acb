"""`dlviz bench browser`: what a person waits for, measured in a real browser.

A fresh dashboard server (`dlviz ui`, 127.0.0.1, its own empty run store) and Debian's Chromium
driven by Playwright, neither of which the engine needs; both are imported here only.

- **first paint**: for a new browser session (a new browser context, nothing cached), the
  browser's first contentful paint and the time until the page's own title is on screen,
  from the start of navigation. The first session of a fresh server is reported apart: it
  pays for the server's first script run.
- **first point**: on a freshly opened Playground, the time from the click on Train until the
  loss chart shows its first point, read in the page itself (`performance.now()` at the click,
  and when the chart's data first holds a point). Measured twice per session: clicking as
  soon as Train can be clicked, and after 3 s on the page (a person reading it first).
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("DLVIZ_CHROMIUM", "/usr/bin/chromium")  # Debian's; never Playwright's
# The flags every headless Chromium dlviz drives is started with (the browser tests too).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FIRST_POINT_BUDGET_MS = 1000.0

# The browser records the paint entry a little after the paint itself: wait for it.
_PAINT_JS = """() => new Promise((resolve) => {
    const start = performance.now();
    const look = () => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        if (fcp || performance.now() - start > 5000) return resolve(fcp ? fcp.startTime : null);
        setTimeout(look, 20);
    };
    look(); })"""

# The time (ms since navigation start) at which a selector first held visible text: polled on
# every animation frame from as early as the page allows.
_CONTENT_JS = """(selector) => new Promise((resolve) => {
    const look = () => {
        const e = document.querySelector(selector);
        if (e && e.innerText.trim() && e.getBoundingClientRect().height > 0)
            return resolve(performance.now());
        requestAnimationFrame(look);
    };
    look(); })"""

_CLICK_TRAIN_JS = """() => {
    const b = Array.from(document.querySelectorAll('.st-key-pg_train button'))[0];
    if (!b || b.disabled) return false;
    window.__dlvizClick = performance.now();
    b.click();
    return true; }"""

_TRAIN_READY_JS = """() => {
    const b = document.querySelector('.st-key-pg_train button');
    const app = document.querySelector('[data-testid="stApp"]');
    return !!b && !b.disabled && app.getAttribute('data-test-script-state') !== 'running'; }"""

# A point on the loss chart: any trace of its left (loss) axes with data, drawn.
_FIRST_POINT_JS = """() => {
    const p = document.querySelector('.st-key-pg_view_curves .js-plotly-plot');
    const data = p && p.querySelector('.main-svg') && p._fullData;
    const t = data && data.find(d => (d.xaxis || 'x') === 'x' && d.x && d.x.length);
    return t ? performance.now() - window.__dlvizClick : false; }"""


def need_playwright(bench: str, chromium: str = CHROMIUM) -> None:
    """Raise RuntimeError, saying what to install, unless Playwright (the test extra, not a
    dependency) and Debian's Chromium are both here: the browser benches need both."""
    try:
        import playwright  # noqa: F401
    except ImportError as e:
        raise RuntimeError(
            f"`dlviz bench {bench}` needs Playwright: pip install playwright (it drives Debian's "
            f"Chromium at {chromium}; no browser download is needed)"
        ) from e
    if not Path(chromium).exists():
        raise RuntimeError(f"no Chromium at {chromium}: apt-get install chromium")


def sync_playwright_for(bench: str, chromium: str = CHROMIUM) -> Any:
    """Playwright's `sync_playwright`, once `need_playwright` found it and Chromium."""
    need_playwright(bench, chromium)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:  # a broken install: found above, not importable
        raise RuntimeError(f"`dlviz bench {bench}` could not import Playwright: {e}") from e
    return sync_playwright


@dataclass
class Server:
    url: str
    pid: int
    home: Path
    log_path: Path


def dump_stacks(pid: int, settle_s: float = 0.0) -> bool:
    """Have a dashboard server print every thread's stack to its log (SIGUSR1, which
    `dlviz.ui.server.print_stacks_on_signal` registers); `settle_s`: wait that long for it to
    write them. False when the signal could not be sent (no such process, no SIGUSR1 here)."""
    if not hasattr(signal, "SIGUSR1"):
        return False
    try:
        os.kill(pid, signal.SIGUSR1)
    except OSError:
        return False
    if settle_s:
        time.sleep(settle_s)
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(
    home: Path,
    timeout_s: float = 120.0,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[Server]:
    """`dlviz ui` (app.py under `streamlit run`, in the process whose pid is `Server.pid`) on
    `port` (else a free one) of 127.0.0.1, with the run store `home`/runs; its log is
    `home`/server.log."""
    port = port or free_port()
    log_path = home / "server.log"
    cmd = [sys.executable, "-m", "dlviz.cli", "ui", "--server.headless", "true"]
    cmd += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    cmd += ["--browser.gatherUsageStats", "false"]
    full_env = dict(os.environ, DLVIZ_HOME=str(home), PYTHONUNBUFFERED="1")
    full_env.pop("DLVIZ_RUN_PROCESSES", None)  # its runs train as a dashboard's do
    full_env.update(env or {})
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the dashboard exited ({proc.returncode}); see {log_path}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the dashboard did not answer within {timeout_s:.0f} s")
                time.sleep(0.2)
            yield Server(url, proc.pid, home, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@contextlib.contextmanager
def dashboard(home: Path, port: int | None = None, timeout_s: float = 90.0) -> Iterator[str]:
    """A `dlviz ui` server on 127.0.0.1 with its own run store; yields its URL."""
    with serve(home, timeout_s, port=port) as server:
        yield server.url


def _visit(browser, url: str, width: int) -> tuple[Any, Any, dict[str, float]]:
    """Open `url` in a new context; returns (context, page, paint timings in ms)."""
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.goto(url, wait_until="commit")
    content = page.evaluate(_CONTENT_JS, '[data-testid="stMain"] h1')
    fcp = page.evaluate(_PAINT_JS)
    return ctx, page, {"fcp_ms": fcp, "content_ms": content}


def _first_point(page, wait_s: float, timeout_ms: float = 30_000) -> float:
    """Click Train (after `wait_s` on the page) and return ms until the loss chart's first
    point; then stop the run, so the next one gets a device slot at once."""
    page.wait_for_function(_TRAIN_READY_JS, timeout=timeout_ms)
    time.sleep(wait_s)
    if not page.evaluate(_CLICK_TRAIN_JS):
        raise RuntimeError("Train could not be clicked")
    ms = page.wait_for_function(_FIRST_POINT_JS, timeout=timeout_ms).json_value()
    stop = page.locator(".st-key-pg_view_stop button")
    stop.wait_for(timeout=timeout_ms)
    if stop.is_enabled():
        stop.click()
    page.wait_for_function(
        "() => !document.querySelector('.st-key-pg_view_stop button') || "
        "document.querySelector('.st-key-pg_view_stop button').disabled",
        timeout=timeout_ms,
    )
    return ms


def _stats(values: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(values), 1),
        "min_ms": round(min(values), 1),
        "max_ms": round(max(values), 1),
        "values_ms": [round(v, 1) for v in values],
    }


def browser(repeats: int = 5, width: int = 1400, chromium: str = CHROMIUM) -> dict[str, Any]:
    """Measure first paint and the first Train's first point; see the module docstring."""
    sync_playwright = sync_playwright_for("browser", chromium)

    result: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "width": width,
        "repeats": repeats,
    }
    with tempfile.TemporaryDirectory(prefix="dlviz-bench-browser-") as tmp:
        t0 = time.monotonic()
        with dashboard(Path(tmp)) as url, sync_playwright() as pw:
            result["server_start_s"] = round(time.monotonic() - t0, 2)
            b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                ctx, _, first = _visit(b, url, width)
                ctx.close()
                result["first_session"] = {k: round(v, 1) for k, v in first.items() if v}
                fcp, content, eager, reading = [], [], [], []
                for _ in range(repeats):
                    ctx, _, t = _visit(b, url, width)
                    if t["fcp_ms"] is not None:
                        fcp.append(t["fcp_ms"])
                    content.append(t["content_ms"])
                    ctx.close()
                    ctx, page, _ = _visit(b, f"{url}/playground", width)
                    eager.append(_first_point(page, 0.0))
                    ctx.close()
                    ctx, page, _ = _visit(b, f"{url}/playground", width)
                    reading.append(_first_point(page, 3.0))
                    ctx.close()
            finally:
                b.close()
    result["new_session_fcp"] = _stats(fcp or [float("nan")])
    result["new_session_content"] = _stats(content)
    result["first_point_click_at_once"] = _stats(eager)
    result["first_point_after_3s"] = _stats(reading)
    result["budget_ms"] = FIRST_POINT_BUDGET_MS
    return result


def format_browser(r: dict[str, Any]) -> str:
    def line(name: str, s: dict[str, Any]) -> str:
        return (
            f"{name:<44} median {s['median_ms']:7.0f} ms  (min {s['min_ms']:.0f}, "
            f"max {s['max_ms']:.0f}, n={len(s['values_ms'])})"
        )

    first = r["first_session"]
    return "\n".join(
        [
            f"dlviz bench browser - {r['machine']}, Chromium headless, {r['width']} px wide",
            f"server start (process to healthy)          {r['server_start_s']:.1f} s",
            f"first session of the server: first contentful paint {first.get('fcp_ms', 0):.0f} ms,"
            f" title on screen {first.get('content_ms', 0):.0f} ms",
            line("new session: first contentful paint", r["new_session_fcp"]),
            line("new session: page title on screen", r["new_session_content"]),
            line("first Train, clicked at once: first point", r["first_point_click_at_once"]),
            line("first Train, clicked after 3 s: first point", r["first_point_after_3s"]),
            f"budget: first point within {r['budget_ms']:.0f} ms of the click",
        ]
    )
