"""`dlviz bench watch`: what watching a run costs. Training samples/s inside the dashboard, with
the lab's live view open in Chromium, against the same config trained by headless `dlviz train`
(budget: 0.9x or more, docs/ARCHITECTURE.md).

For each case (the Playground's default network on its default spiral, trained for a fixed
number of epochs; the Image lab's default CNN on shapes with its live feature maps and probes)
and each repeat:

- **in the browser**: a fresh dashboard (`dlviz.bench.browser.dashboard`: `dlviz ui` on
  127.0.0.1 with its own empty run store) and a new Chromium page, 1400 px wide, opened on the
  lab with the case's settings in its URL (`dlviz.ui.url_state`); Train is pressed, the live
  view scrolled into sight, and the page kept open until the run store holds the run's end. Its
  `samples_per_second` is read from the stored summary (training time only: the first point's
  wait for the page, `dlviz.events.FirstDrawGate`, is not counted).
- **headless**: `dlviz train CONFIG.json --json --runs-dir TMP` on the config the page stored
  in the first repeat (the page always runs first there), its `samples_per_second` read from
  the last JSON line; twice: with torch's own thread count (`dlviz train` leaves it alone:
  `DLVIZ_TORCH_THREADS` and `OMP_NUM_THREADS` unset), and with the dashboard's
  (`dlviz.devices.server_threads()`, set by a small `python -c` wrapper around
  `dlviz.cli.main`). The second is the like-for-like comparison: the same training on the
  same threads, with and without a page watching it.

Each later page's stored config is compared with the headless one (`same_config`). The order
alternates over repeats (page first, then headless first), and so does the order of the two
thread counts. Reported per case: the median samples/s of each side with its spread, and the
median of the per-repeat ratios (page / headless) with their range, for both thread counts.

**Placement.** By default the dashboard, Chromium and the headless runs share every CPU, as on
a laptop where one person opens dlviz in their own browser. With `apart` (`--apart`), the
dashboard's server (every thread of it) and the headless runs are held to the first CPU and
Chromium to the others (`os.sched_setaffinity`): a browser on a machine of its own, as for a
class on one server, where what watching costs the server is the page's script runs and their
messages, not the drawing. The server and the headless run then have one CPU each time, alike.

Where the time of a page's run goes: CPU seconds over the run (from /proc) of the training
thread (the server's busiest thread), the server's other threads (Streamlit reruns, figures)
and Chromium, against the run's wall time; and at how many looks (every half second) the
loss chart had new points while the run went.

Chromium and Playwright are imported only here; the engine needs neither.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from dlviz.bench.browser import CHROMIUM, CHROMIUM_ARGS, dashboard, sync_playwright_for
from dlviz.timing import machine, summarize

WATCH_BUDGET = 0.9  # page samples/s over headless samples/s, at least
WIDTH = 1400
PAGE_MS = 120_000  # the longest wait for the page to load or to take the click, on a busy machine
LOOK_MS = 500  # how often the run store, the page and /proc are read while a run goes
ENDED = ("finished", "stopped", "diverged", "error")


@dataclass(frozen=True)
class Case:
    """A lab page and the settings its URL carries (the page's own names, without its prefix)."""

    name: str
    page: str  # its url_path
    prefix: str  # its widget keys' prefix: the Train button is `{prefix}_train`
    query: dict[str, str] = field(default_factory=dict)
    what: str = ""


def cases(playground_epochs: int = 300, image_epochs: int = 3) -> dict[str, Case]:
    """The two cases, each trained for a fixed number of epochs (the Playground trains until
    stopped by default: its link turns that off)."""
    return {
        "playground": Case(
            "playground",
            "playground",
            "pg",
            {"until_stopped": "false", "epochs": str(playground_epochs)},
            f"Playground default (mlp 8x3, spiral of 1000 points), {playground_epochs} epochs",
        ),
        "images": Case(
            "images",
            "images",
            "im",
            {"epochs": str(image_epochs)},
            f"Image lab default (deep CNN on 1200 shapes, live feature maps and probes), "
            f"{image_epochs} epochs",
        ),
    }


# --- CPU seconds from /proc --------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(stat_path: str) -> float | None:
    """User + system CPU seconds of a process or a thread (its /proc .../stat)."""
    try:
        with open(stat_path) as f:
            text = f.read()
    except OSError:
        return None
    fields_ = text[text.rindex(")") + 2 :].split()
    return (int(fields_[11]) + int(fields_[12])) / _TICK  # utime, stime


def _descendants(root: int) -> dict[int, str]:
    """Every process under `root`: pid -> its command line."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    text = f.read()
                parent[int(name)] = int(text[text.rindex(")") + 2 :].split()[1])
            except (OSError, ValueError):
                continue
    out: dict[int, str] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in out:
                try:
                    with open(f"/proc/{child}/cmdline", "rb") as f:
                        out[child] = f.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                todo.append(child)
    return out


def server_pid(procs: dict[int, str] | None = None) -> int | None:
    """The dashboard server this process started (`dashboard`), among `procs` (pid ->
    command line; this process's descendants when not given), or None."""
    procs = _descendants(os.getpid()) if procs is None else procs
    return next((p for p, cmd in procs.items() if "dlviz.cli ui" in cmd), None)


class CpuWatch:
    """CPU seconds the dashboard's server (per thread) and Chromium spend between `start` and
    `stop`; `look` between them keeps up with threads that end before `stop` (the run's)."""

    def __init__(self) -> None:
        procs = _descendants(os.getpid())
        self.server = server_pid(procs)
        self.chromium = [p for p, cmd in procs.items() if "chrom" in cmd.split(" ")[0]]
        self._first: dict[str, float] = {}
        self._last: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.server is not None:
            out["server"] = _cpu_s(f"/proc/{self.server}/stat") or 0.0
            try:
                tids = os.listdir(f"/proc/{self.server}/task")
            except OSError:
                tids = []
            for tid in tids:
                s = _cpu_s(f"/proc/{self.server}/task/{tid}/stat")
                if s is not None:
                    out[f"thread {tid}"] = s
            # the runs' processes (`dlviz.run_process`): the fork server's children
            for pid, cmd in _descendants(self.server).items():
                if "forkserver" in cmd:
                    for run in _descendants(pid):
                        s = _cpu_s(f"/proc/{run}/stat")
                        if s is not None:
                            out[f"run {run}"] = s
        out["chromium"] = sum(_cpu_s(f"/proc/{p}/stat") or 0.0 for p in self.chromium)
        return out

    def start(self) -> None:
        self._first = self._sample()
        self._last = dict(self._first)

    def look(self) -> None:
        self._last.update(self._sample())

    def stop(self) -> dict[str, float]:
        """CPU seconds since `start`: the training (the run's own process, as last seen, when
        it trained in one; else the server's busiest thread, as last seen: a look every half
        second misses at most its last half second, counted with the rest), the server's other
        threads (each script run has a short-lived thread of its
        own: the server's total less the training thread), and Chromium's processes."""
        self.look()
        spent = {k: v - self._first.get(k, 0.0) for k, v in self._last.items()}
        apart = sum(v for k, v in spent.items() if k.startswith("run "))
        if apart > 0:  # the run trained in a process of its own: the server's threads all draw
            return {
                "training_thread_s": round(apart, 2),
                "server_other_threads_s": round(spent.get("server", 0.0), 2),
                "chromium_s": round(spent.get("chromium", 0.0), 2),
            }
        training = max((v for k, v in spent.items() if k.startswith("thread ")), default=0.0)
        return {
            "training_thread_s": round(training, 2),
            "server_other_threads_s": round(spent.get("server", 0.0) - training, 2),
            "chromium_s": round(spent.get("chromium", 0.0), 2),
        }


# --- one run on each side ----------------------------------------------------------------------

# Train can be clicked and the page's script is not running.
_READY_JS = """(prefix) => {
    const b = document.querySelector(`.st-key-${prefix}_train button`);
    const app = document.querySelector('[data-testid="stApp"]');
    return !!b && !b.disabled && app.getAttribute('data-test-script-state') !== 'running'; }"""

# The loss chart's points (its left-axis trace with the most), or -1 before it is drawn.
_POINTS_JS = """(prefix) => {
    const p = document.querySelector(`.st-key-${prefix}_view_curves .js-plotly-plot`);
    const data = p && p._fullData;
    if (!data) return -1;
    return Math.max(-1, ...data.filter(d => (d.xaxis || 'x') === 'x' && d.x).map(d => d.x.length));
}"""

_SHOW_VIEW_JS = """(prefix) => {
    const e = document.querySelector(`.st-key-${prefix}_view_curves`);
    if (e) e.scrollIntoView({block: 'start'});
    return !!e; }"""


SERVER_CPUS = {0}  # with `apart`: the dashboard's server and the headless runs


def _pin_process(pid: int, cpus: set[int]) -> None:
    """Hold every thread of process `pid` to `cpus` (threads it makes later inherit it)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:  # a thread that ended meanwhile
            continue


def in_browser(
    browser: Any, case: Case, timeout_s: float = 1800.0, apart: bool = False
) -> dict[str, Any]:
    """Train `case` from its lab page in a fresh dashboard, watching it until it ends; returns
    the stored run's config and figures, its wall time, how often the loss chart had new
    points and where the CPU went."""
    from dlviz import runs
    from dlviz.devices import server_threads

    with tempfile.TemporaryDirectory(prefix="dlviz-bench-watch-") as tmp:
        home = Path(tmp)
        store = home / "runs"
        with dashboard(home) as url:
            ctx = browser.new_context(viewport={"width": WIDTH, "height": 900})
            try:
                if apart:
                    server = server_pid()
                    if server is not None:
                        _pin_process(server, SERVER_CPUS)
                page = ctx.new_page()
                page.goto(f"{url}/{case.page}?{urlencode(case.query)}")
                page.wait_for_function(_READY_JS, arg=case.prefix, timeout=PAGE_MS)
                cpu = CpuWatch()  # Chromium's processes for this page are there now
                cpu.start()
                load_before = os.getloadavg()[0]
                clicked = time.monotonic()
                page.locator(f".st-key-{case.prefix}_train button").click()
                shown, seen, redraws = False, -1, 0
                row: dict[str, Any] = {}
                while True:
                    page.wait_for_timeout(LOOK_MS)
                    cpu.look()
                    if not shown:
                        shown = page.evaluate(_SHOW_VIEW_JS, case.prefix)
                    points = page.evaluate(_POINTS_JS, case.prefix)
                    if points > max(seen, 0):  # new points drawn since the last look
                        redraws += 1
                    seen = max(seen, points)
                    rows = runs.list_runs(store)
                    if rows and rows[0]["status"] in ENDED:
                        row = rows[0]
                        break
                    if time.monotonic() - clicked > timeout_s:
                        raise RuntimeError(
                            f"{case.name}: the page's run did not end within {timeout_s:.0f} s"
                        )
                wall = time.monotonic() - clicked
                spent = cpu.stop()
                server_cpus = sorted(os.sched_getaffinity(cpu.server)) if cpu.server else []
                load_after = os.getloadavg()[0]
            finally:
                ctx.close()
        run = runs.load_run(store, row["run_id"])
    if run.summary.get("status") != "finished":
        raise RuntimeError(
            f"{case.name}: the page's run ended {run.summary.get('status')}: "
            f"{run.summary.get('message', '')}"
        )
    return {
        "samples_per_second": run.summary["samples_per_second"],
        "seconds": run.summary["seconds"],
        "wall_s": round(wall, 2),
        "threads": server_threads(),
        "config": run.config,
        "loss_chart_updates_seen": redraws,  # looks at which it had new points
        "cpu_s": spent,
        "load_1min": [round(load_before, 2), round(load_after, 2)],
        "server_cpus": server_cpus,  # the CPUs the server's main thread may use
    }


_WRAPPER = (
    "import sys, torch; torch.set_num_threads(int(sys.argv[1])); "
    "from dlviz.cli import main; sys.exit(main(sys.argv[2:]))"
)


def _headless_env(threads: int | None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DLVIZ_TORCH_THREADS", "OMP_NUM_THREADS")
    }
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def default_threads() -> int:
    """torch's own thread count in a fresh process, as `dlviz train` gets it."""
    out = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        env=_headless_env(None),
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


def headless(
    config_path: Path, threads: int | None = None, timeout_s: float = 1800.0, apart: bool = False
) -> dict:
    """`dlviz train CONFIG --json --runs-dir TMP` in a process of its own: with torch's own
    thread count (`threads` None), else with `threads` (OMP_NUM_THREADS and
    `torch.set_num_threads` before `dlviz.cli.main`). Returns its samples/s, training seconds
    and CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="dlviz-bench-watch-") as store:
        args = ["train", str(config_path), "--json", "--runs-dir", store]
        if threads is None:
            cmd = [sys.executable, "-m", "dlviz.cli", *args]
        else:
            cmd = [sys.executable, "-c", _WRAPPER, str(threads), *args]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_before = os.getloadavg()[0]
        try:
            out = subprocess.run(
                cmd,
                env=_headless_env(threads),
                capture_output=True,
                text=True,
                timeout=timeout_s,
                preexec_fn=(lambda: os.sched_setaffinity(0, SERVER_CPUS)) if apart else None,
            )
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(f"`dlviz train` did not end within {timeout_s:.0f} s") from e
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"`dlviz train` failed ({out.returncode}): {out.stderr[-2000:]}")
    summary = json.loads(lines[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "samples_per_second": summary["samples_per_second"],
        "seconds": summary["seconds"],
        "process_cpu_s": round(cpu, 2),  # the whole process: start-up and data included
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


# --- the comparison ----------------------------------------------------------------------------


def config_differences(a: Any, b: Any, where: str = "") -> list[str]:
    """The dotted paths at which two configs (dicts from config.json) differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            path = f"{where}.{key}" if where else str(key)
            if key not in a or key not in b:
                out.append(path)
            else:
                out += config_differences(a[key], b[key], path)
        return out
    return [] if a == b else [where or "(config)"]


def _spread(values: list[float]) -> dict[str, Any]:
    s = summarize(values)
    return {
        "median": round(s.median, 3),
        "min": round(s.min, 3),
        "max": round(s.max, 3),
        "values": [round(v, 3) for v in values],
    }


def run_case(
    browser: Any, case: Case, repeats: int, timeout_s: float = 1800.0, apart: bool = False
) -> dict:
    """`repeats` rounds of the page and headless `dlviz train` at both thread counts."""
    from dlviz.devices import server_threads

    dash_threads = server_threads()
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dlviz-bench-watch-") as tmp:
        config_path = Path(tmp) / "config.json"
        config: dict[str, Any] | None = None
        for i in range(repeats):
            r: dict[str, Any] = {"page_first": i % 2 == 0}
            steps = (
                ("page", "default", "dashboard") if i % 2 == 0 else ("dashboard", "default", "page")
            )
            for step in steps:
                if step == "page":
                    r["browser"] = in_browser(browser, case, timeout_s, apart)
                    stored = r["browser"].pop("config")
                    if config is None:  # the first page's config is the headless one
                        config = stored
                        config_path.write_text(json.dumps(config))
                    r["config_differences"] = config_differences(stored, config)
                else:
                    threads = None if step == "default" else dash_threads
                    r[f"headless_{step}"] = headless(config_path, threads, timeout_s, apart)
            rounds.append(r)
    sps = {
        side: [r[side]["samples_per_second"] for r in rounds]
        for side in ("browser", "headless_default", "headless_dashboard")
    }
    ratios = {
        which: [
            b / h if h else float("nan") for b, h in zip(sps["browser"], sps[f"headless_{which}"])
        ]
        for which in ("default", "dashboard")
    }
    diffs = sorted({d for r in rounds for d in r["config_differences"]})
    return {
        "case": case.name,
        "what": case.what,
        "url": f"/{case.page}?{urlencode(case.query)}",
        "config": config,
        "same_config": not diffs,
        "same_train_config": not [d for d in diffs if d.startswith("train.")],
        "config_differences": diffs,
        "threads": {"dashboard": dash_threads, "headless_default": default_threads()},
        "samples_per_second": {side: _spread(v) for side, v in sps.items()},
        "ratio_to_default_threads": _spread(ratios["default"]),
        "ratio_to_dashboard_threads": _spread(ratios["dashboard"]),
        "meets_budget": summarize(ratios["dashboard"]).median >= WATCH_BUDGET,
        "rounds": rounds,
    }


def watch(
    repeats: int = 3,
    which: tuple[str, ...] = ("playground", "images"),
    playground_epochs: int = 300,
    image_epochs: int = 3,
    chromium: str = CHROMIUM,
    timeout_s: float = 1800.0,
    apart: bool = False,
) -> dict[str, Any]:
    """Training samples/s with the live view open in Chromium against headless `dlviz train`;
    see the module docstring (`apart`: its placement)."""
    sync_playwright = sync_playwright_for("watch", chromium)
    everywhere = os.sched_getaffinity(0)
    if apart and len(everywhere) < 2:
        raise RuntimeError("--apart needs two CPUs or more: one for the server, one for Chromium")
    chosen = cases(playground_epochs, image_epochs)
    results = []
    load_start = os.getloadavg()
    if apart:  # Chromium, started from here, inherits the CPUs this process may use
        os.sched_setaffinity(0, everywhere - SERVER_CPUS)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                for name in which:
                    results.append(run_case(browser, chosen[name], repeats, timeout_s, apart))
            finally:
                browser.close()
    finally:
        os.sched_setaffinity(0, everywhere)
    return {
        "benchmark": "watch",
        "budget": WATCH_BUDGET,
        "machine": {**machine(brief=True), "cpus": os.cpu_count()},
        "load_average": {
            "start": [round(x, 2) for x in load_start],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "repeats": repeats,
        "width": WIDTH,
        "placement": (
            f"apart: server and headless runs on CPU {sorted(SERVER_CPUS)[0]}, Chromium on the "
            "others"
            if apart
            else "together: server, Chromium and headless runs on every CPU"
        ),
        "cases": results,
    }


def format_watch(r: dict[str, Any]) -> str:
    m = r["machine"]
    la = r["load_average"]
    lines = [
        f"dlviz bench watch - {m['cpu_model']}, {m['cpus']} CPUs, Chromium headless "
        f"{r['width']} px wide, {r['repeats']} repeats",
        f"placement: {r.get('placement', 'together')}",
        f"load average at the start {la['start'][0]:.2f} (1 min), {la['start'][1]:.2f} (5 min); "
        f"at the end {la['end'][0]:.2f}, {la['end'][1]:.2f}",
    ]
    for c in r["cases"]:
        s, t = c["samples_per_second"], c["threads"]
        lines += [
            "",
            f"{c['what']}  ({c['url']})",
            f"  config the page ran = the headless one: {'yes' if c['same_config'] else 'no'}"
            + ("" if c["same_config"] else f" (differs at {', '.join(c['config_differences'])})"),
        ]

        def row(label: str, x: dict[str, Any]) -> str:
            return (
                f"  {label:<46} {x['median']:>10,.1f} samples/s  "
                f"(min {x['min']:,.1f}, max {x['max']:,.1f})"
            )

        lines += [
            row(f"page, live view open ({t['dashboard']} torch thread(s))", s["browser"]),
            row(f"headless, dashboard's {t['dashboard']} thread(s)", s["headless_dashboard"]),
            row(
                f"headless, torch's default {t['headless_default']} thread(s)",
                s["headless_default"],
            ),
        ]
        for label, key in (
            ("same threads (like for like)", "ratio_to_dashboard_threads"),
            ("torch's default threads", "ratio_to_default_threads"),
        ):
            x = c[key]
            lines.append(
                f"  page / headless, {label:<30} {x['median']:.2f}x  "
                f"(min {x['min']:.2f}, max {x['max']:.2f})"
            )
        lines.append(
            f"  budget {r['budget']:.1f}x, like for like: "
            + ("met" if c["meets_budget"] else "NOT met")
        )
        for i, rnd in enumerate(c["rounds"], 1):
            b = rnd["browser"]
            cpu = b["cpu_s"]
            lines.append(
                f"  round {i} ({'page' if rnd['page_first'] else 'headless'} first): run "
                f"{b['seconds']:.1f} s of training in {b['wall_s']:.1f} s; CPU: training thread "
                f"{cpu['training_thread_s']:.1f} s, other server threads "
                f"{cpu['server_other_threads_s']:.1f} s, Chromium {cpu['chromium_s']:.1f} s; "
                f"loss chart new at {b['loss_chart_updates_seen']} looks; "
                f"load {b['load_1min'][0]:.1f}"
            )
    return "\n".join(lines)
