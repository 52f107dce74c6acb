"""`dlviz bench soak`: many runs in a row in one server process. One browser session on the
Playground of a fresh `dlviz ui` (its own empty run store) presses Train for a tiny run (a few
epochs of a small set), waits for its end, and presses it again, `runs` times. Every `every`
runs it records the server's resident memory (VmRSS, VmHWM), the time `dlviz.runs.list_runs`
takes over the grown store (here, in this process: the first listing after the new runs, then
the median of 5), and the time a fresh browser session takes to open the Runs page until its
table counts every run. A straight line fitted to each series says whether it stays flat.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from dlviz.bench.browser import CHROMIUM, CHROMIUM_ARGS, Server, need_playwright, serve
from dlviz.bench.load import PAGE_MS, log_problems, memory_mb
from dlviz.timing import machine

EPOCHS = 2
FLAT_MB_PER_100_RUNS = 2.0  # 20 KB a run: less than one tiny run's network and its state
LINK = "/playground?until_stopped=false&samples=200&epochs={epochs}"

_READY_JS = """() => { const b = document.querySelector('.st-key-pg_train button');
    const app = document.querySelector('[data-testid="stApp"]');
    return !!b && !b.disabled && app.getAttribute('data-test-script-state') !== 'running'; }"""

# The run's end as the page shows it: Train back, no script running, the end's message.
_ENDED_JS = """() => { const b = document.querySelector('.st-key-pg_train button');
    const app = document.querySelector('[data-testid="stApp"]');
    const main = document.querySelector('[data-testid="stMain"]');
    return !!b && !b.disabled && app.getAttribute('data-test-script-state') !== 'running'
        && /finished \\d+ epochs? in/.test(main.innerText); }"""

_ERRORS_JS = """() => Array.from(document.querySelectorAll(
    '[data-testid="stException"], [data-testid="stAlertContentError"]')).map(e => e.innerText.slice(0, 300))"""


def _run_folders(root: Path) -> list[Path]:
    try:
        return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except FileNotFoundError:
        return []


def _ended(folder: Path) -> bool:
    return (folder / "summary.json").exists()


def slope(xs: list[float], ys: list[float]) -> float | None:
    """The least-squares slope of ys on xs (None with fewer than 2 points)."""
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else None


def _listing_ms(root: Path) -> tuple[float, float]:
    """(first, median of 5 more) ms of `runs.list_runs(root)`."""
    from dlviz import runs

    t = time.perf_counter()
    runs.list_runs(root)
    first = (time.perf_counter() - t) * 1000
    again = []
    for _ in range(5):
        t = time.perf_counter()
        runs.list_runs(root)
        again.append((time.perf_counter() - t) * 1000)
    return first, statistics.median(again)


async def _runs_page_ms(browser, url: str, count: int) -> float:
    """A fresh session opens the Runs page: ms until its table counts `count` runs."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(PAGE_MS)
    try:
        page = await ctx.new_page()
        t = time.perf_counter()
        await page.goto(f"{url}/runs", wait_until="commit")
        await page.wait_for_function(
            """(n) => { const m = document.querySelector('[data-testid="stMain"]');
                        const c = m && m.innerText.match(/of ([\\d,]+) runs? shown/);
                        return !!c && Number(c[1].replace(/,/g, '')) === n; }""",
            arg=count,
            timeout=PAGE_MS,
        )
        return (time.perf_counter() - t) * 1000
    finally:
        await ctx.close()


async def _soak(server: Server, n_runs: int, every: int, chromium: str) -> dict[str, Any]:
    try:  # the caller checked that Playwright is there (the test extra)
        from playwright.async_api import async_playwright
    except ImportError as e:
        raise RuntimeError("`dlviz bench soak` needs Playwright: pip install playwright") from e

    root = server.home / "runs"
    series: list[dict[str, Any]] = []
    problems: list[str] = []
    run_s: list[float] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
            ctx.set_default_timeout(PAGE_MS)
            page = await ctx.new_page()
            await page.goto(server.url + LINK.format(epochs=EPOCHS), wait_until="commit")
            await page.wait_for_function(_READY_JS, timeout=PAGE_MS)
            start = {"runs": 0, **memory_mb(server.pid)}
            t0 = time.monotonic()
            stuck = 0
            for i in range(1, n_runs + 1):
                t = time.monotonic()
                await page.wait_for_function(_READY_JS, timeout=PAGE_MS)
                before = len(_run_folders(root))
                await page.locator(".st-key-pg_train button").click()
                deadline = time.monotonic() + PAGE_MS / 1000
                while True:  # the store has the new run, ended, and the page says so
                    folders = _run_folders(root)
                    if len(folders) > before and all(_ended(f) for f in folders):
                        if await page.evaluate(_ENDED_JS):
                            break
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
                if time.monotonic() > deadline:
                    problems.append(f"run {i} did not end within {PAGE_MS / 1000:.0f} s")
                    stuck += 1
                    if stuck >= 3:
                        raise RuntimeError(f"3 runs in a row did not end: {problems[-3:]}")
                    await page.reload(wait_until="commit")
                    continue
                stuck = 0
                run_s.append(time.monotonic() - t)
                for e in await page.evaluate(_ERRORS_JS):
                    problems.append(f"run {i}: {e}")
                if i % every == 0 or i == n_runs:
                    count = len(_run_folders(root))
                    first, warm = _listing_ms(root)
                    series.append(
                        {
                            "runs": count,
                            "t_s": round(time.monotonic() - t0, 1),
                            **memory_mb(server.pid),
                            "list_first_ms": round(first, 2),
                            "list_ms": round(warm, 2),
                            "runs_page_ms": round(
                                await _runs_page_ms(browser, server.url, count), 1
                            ),
                        }
                    )
            total_s = time.monotonic() - t0
            await ctx.close()
        finally:
            await browser.close()
    return {
        "start": start,
        "series": series,
        "problems": problems,
        "total_s": total_s,
        "run_s": run_s,
    }


def soak(runs: int = 200, every: int = 10, chromium: str = CHROMIUM) -> dict[str, Any]:
    """See the module docstring."""
    need_playwright("soak", chromium)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="dlviz-bench-soak-") as tmp:
        with serve(Path(tmp)) as server:
            raw = asyncio.run(_soak(server, runs, every, chromium))
            raw["log_problems"] = log_problems(server.log_path)
    return summarize_soak(raw, runs, every, load_before)


def _tenths(series: list[dict[str, Any]], key: str) -> tuple[float, float]:
    k = max(1, len(series) // 10)
    return (
        statistics.fmean(s[key] for s in series[:k]),
        statistics.fmean(s[key] for s in series[-k:]),
    )


def summarize_soak(
    raw: dict[str, Any], runs: int, every: int, load_before: float
) -> dict[str, Any]:
    series = raw["series"]
    xs = [float(s["runs"]) for s in series]
    fits = {}
    for key in ("rss_mb", "tree_mb", "list_ms", "list_first_ms", "runs_page_ms"):
        ys = [float(s.get(key, 0.0)) for s in series]
        b = slope(xs, ys)
        half = len(xs) // 2  # the second half: past the first runs' warm-up
        b2 = slope(xs[half:], ys[half:])
        first, last = _tenths(series, key) if series else (0.0, 0.0)
        fits[key] = {
            "per_100_runs": None if b is None else round(b * 100, 3),
            "per_100_runs_second_half": None if b2 is None else round(b2 * 100, 3),
            "first_tenth": round(first, 2),
            "last_tenth": round(last, 2),
        }
    rss = fits["rss_mb"]
    rise = (rss["per_100_runs"] or 0.0) * runs / 100
    # flat: past the first runs' warm-up (caches, the allocator's arenas), memory rises less
    # than FLAT_MB_PER_100_RUNS: a run left behind in memory shows as a steady slope
    late = rss["per_100_runs_second_half"]
    m = machine()
    return {
        "benchmark": "soak",
        "machine": {
            "cpu": m["cpu"],
            "cores": m["cores"],
            "memory_gb": m["memory_gb"],
            "torch": m["torch"],
            "load_1min_before": round(load_before, 2),
            "load_1min_after": round(os.getloadavg()[0], 2),
        },
        "runs": runs,
        "every": every,
        "epochs_a_run": EPOCHS,
        "total_s": round(raw["total_s"], 1),
        "run_s_median": round(statistics.median(raw["run_s"]), 2) if raw["run_s"] else None,
        "start": raw["start"],
        "series": series,
        "fits": fits,
        "memory_rise_mb": round(rise, 1),
        "memory_flat": late is not None and late < FLAT_MB_PER_100_RUNS,
        "peak_hwm_mb": max((s["hwm_mb"] for s in series), default=None),
        "problems": raw["problems"],
        "log_problems": raw["log_problems"],
    }


def _signed(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


def format_soak(r: dict[str, Any]) -> str:
    m, f = r["machine"], r["fits"]

    def fit(name: str, key: str, unit: str) -> str:
        x = f[key]
        return (
            f"{name:<34} first tenth {x['first_tenth']:8.1f} {unit}, last tenth "
            f"{x['last_tenth']:8.1f} {unit}; slope per 100 runs {_signed(x['per_100_runs'])} "
            f"{unit} (second half {_signed(x['per_100_runs_second_half'])})"
        )

    lines = [
        f"dlviz bench soak - {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, torch "
        f"{m['torch']}; load average {m['load_1min_before']:.2f} before, "
        f"{m['load_1min_after']:.2f} after",
        f"{r['runs']} Playground runs of {r['epochs_a_run']} epochs in one server, one after "
        f"another, in {r['total_s']:.0f} s (median {r['run_s_median']:.2f} s a run, Train to "
        f"its end); sampled every {r['every']} runs",
        f"server memory at the start {r['start']['rss_mb']:.0f} MB; peak VmHWM "
        f"{r['peak_hwm_mb']:.0f} MB",
        fit("server memory (VmRSS)", "rss_mb", "MB"),
        fit("with its runs' processes (PSS)", "tree_mb", "MB"),
        fit("list_runs, first after new runs", "list_first_ms", "ms"),
        fit("list_runs, warm (median of 5)", "list_ms", "ms"),
        fit("Runs page, fresh session", "runs_page_ms", "ms"),
        f"memory {'flat' if r['memory_flat'] else 'GROWING'}: the fitted line rises "
        f"{r['memory_rise_mb']:+.0f} MB over the soak; flat means under "
        f"{FLAT_MB_PER_100_RUNS:.0f} MB per 100 runs in the second half",
    ]
    problems = r["problems"] + [f"server log: {p}" for p in r["log_problems"]]
    lines.append("problems: none" if not problems else "problems:\n  " + "\n  ".join(problems[:30]))
    return "\n".join(lines)
