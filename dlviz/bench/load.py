"""`dlviz bench load`: a class on one server. N browser sessions (separate Chromium contexts, each
its own cookie and Streamlit session) against one `dlviz ui` (app.py under `streamlit run`) with
its own empty run store, training at once: a mix of Playground, Images and Sequence lab runs,
while some sessions reload their page or switch to the Runs page and back mid-run.

What it checks, session by session:

- **no error**: no Streamlit exception box and no red error message on any page, and no
  traceback in the server's log;
- **only its own run**: each session trains a number of epochs no other session uses, so its
  live progress line (``training - epoch N/TOTAL``), its end (``finished TOTAL epochs``) and its
  sidebar's "Your runs" must name that total and no other;
- **finished or cleanly queued**: every run it starts ends as finished, or is still waiting at
  the end with the page saying why (`dlviz.admission`: two runs a device by default);
- **bounded memory**: the server's VmRSS and VmHWM (/proc/PID/status) before, during and after.

And **what the browsers received**: each page counts its websocket's bytes and messages, the
messages Streamlit marked cacheable and the references to its cache Streamlit sent instead of
one (none with the message cache off, as `.streamlit/config.toml` sets it: docs/load.md).

And the **refresh latency**, measured in each page: a script in the page (`_WS_JS`) reads
Streamlit's websocket messages (protobuf, decoded far enough to know each message's kind): a
live fragment's rerun request (`BackMsg.rerun_script` with `is_auto_rerun` and a
`fragment_id`), the run that served it (`new_session` ... `script_finished`, both tagged with
the run's fragment ids) and the next animation frame after its end. The latency of a request is
the time from sending it to that frame: queueing behind other reruns of the same session, the
server's work, the transfer and the browser applying the messages. A request that a full run
swallows (the click on Train, the rerun that ends a live view) is not timed. Reported for the
live panel's fragment (the one that reruns every `dlviz.ui.live.REFRESH_S` to `MAX_REFRESH_S`
seconds: a view slow to draw refreshes less often; the sidebar's reruns every 2 s, and the
sessions never open the Sweeps page, whose fragment reruns every second) and for all
fragments (the sidebar's "Your runs" too), with the live panel's in parts: to the run's first
message, the run, and from its last message to the frame (the browser's share).

Before the sessions start, one run of 1 epoch in each lab pays the server's one-time imports
and builds; the memory "at the start" is read after it. Chromium runs at nice `BROWSER_NICE`
(`yield_to_server`): on a small machine the browsers of a whole class would otherwise take the
CPU the server under test needs (in a class they run on the people's own machines), so the
browser's share of the latency is the part this machine inflates.

Chromium and Playwright are imported only here; the engine needs neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from dlviz.bench.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    dump_stacks,
    need_playwright,
    serve,
)
from dlviz.text import plural
from dlviz.timing import machine

# dlviz.ui.live.REFRESH_S and MAX_REFRESH_S (not imported: it would import streamlit here)
LIVE_REFRESH_S = (0.5, 1.5)
LOOK_EVERY_S = 1.0  # how often a session reads its page while its run goes
PAGE_MS = 90_000  # the longest wait for one page action on a loaded two-core machine


# --- the server ---------------------------------------------------------------------------------


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident memory now (VmRSS) and at its peak so far (VmHWM), in MB; and
    `tree_mb`: the proportional set size (PSS: each shared page split among the processes
    sharing it) of the process and every process it started (the fork server and the runs'
    processes of a dashboard, `dlviz.run_process`), now."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(rest.split()[0]) / 1024  # kB
    tree = sum(_pss_kb(p) for p in (pid, *_descendants(pid))) / 1024
    return {
        "rss_mb": round(out.get("VmRSS", 0.0), 1),
        "hwm_mb": round(out.get("VmHWM", 0.0), 1),
        "tree_mb": round(tree, 1),
    }


def _pss_kb(pid: int) -> int:
    """A process's proportional set size in kB (0 when it has gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def cpu_s(pid: int) -> float:
    """The CPU seconds the process has used (user and system, all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BROWSER_NICE = 10


def _descendants(pid: int) -> list[int]:
    """The processes started by `pid`, its children's children included."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def yield_to_server(server_pid: int) -> int:
    """Lower to nice `BROWSER_NICE` every thread of the Chromium processes this process
    started (never the server's): on a small machine the browsers of a whole class would
    otherwise take the CPU the server under test needs; in a class they run on the people's
    own machines. Returns how many threads were lowered now."""
    lowered = 0
    skip = {server_pid, *_descendants(server_pid)}
    for pid in _descendants(os.getpid()):
        if pid in skip:
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if not f.read().startswith(("chrom", "headless")):
                    continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                if os.getpriority(os.PRIO_PROCESS, int(tid)) < BROWSER_NICE:
                    os.setpriority(os.PRIO_PROCESS, int(tid), BROWSER_NICE)
                    lowered += 1
        except OSError:  # gone meanwhile
            continue
    return lowered


def log_problems(log_path: Path) -> list[str]:
    """The server log's tracebacks and exception lines (first line of each)."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return []
    return [
        line.strip()[:300]
        for line in text.splitlines()
        if line.startswith("Traceback") or re.match(r"^\w*(Error|Exception)\b", line)
    ]


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) of `values`, interpolated between order statistics; None on none."""
    xs = sorted(values)
    if not xs:
        return None
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency_summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": _round(percentile(values, 0.5)),
        "p95_ms": _round(percentile(values, 0.95)),
        "max_ms": _round(max(values) if values else None),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


# --- in the page: the websocket's messages, decoded far enough --------------------------------

# Installed in every page before Streamlit's own script: wraps WebSocket to time each live
# fragment's rerun request until the animation frame after the run that served it ended.
# Protobuf field numbers: BackMsg.rerun_script 11 -> ClientState.fragment_id 5, is_auto_rerun 6;
# ForwardMsg.metadata 2 -> ForwardMsgMetadata.run 6 -> RunIdentity.script_run_id 1,
# fragment_ids 2; ForwardMsg.new_session 4, script_finished 6, auto_rerun 21 -> interval 1
# (float), fragment_id 2; ForwardMsgMetadata.cacheable 1, ForwardMsg.ref_hash 11.
_WS_JS = r"""(() => {
  if (window.top !== window || window.__dlvizLoad) return;
  const rec = window.__dlvizLoad = {pending: [], runs: {}, intervals: {}, done: [], superseded: 0,
                                     wire: {bytes: 0, messages: 0, cacheable: 0, refs: 0}};
  const varint = (b, i) => { let v = 0, m = 1, x;
    do { x = b[i++]; v += (x & 0x7f) * m; m *= 128; } while (x & 0x80); return [v, i]; };
  const fields = (b) => { const out = []; let i = 0;
    while (i < b.length) { let k, v; [k, i] = varint(b, i); const w = k & 7;
      if (w === 0) [v, i] = varint(b, i);
      else if (w === 1) { v = b.subarray(i, i + 8); i += 8; }
      else if (w === 2) { let n; [n, i] = varint(b, i); v = b.subarray(i, i + n); i += n; }
      else if (w === 5) { v = b.subarray(i, i + 4); i += 4; }
      else break;
      out.push([Math.floor(k / 8), v]); }
    return out; };
  const get = (fs, n) => { const f = fs.find(f => f[0] === n); return f ? f[1] : undefined; };
  const text = new TextDecoder();
  const bytes = (d) => d instanceof ArrayBuffer ? new Uint8Array(d)
      : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
  const sent = (d) => { const b = bytes(d); if (!b) return;
    const rerun = get(fields(b), 11); if (rerun === undefined) return;
    const cs = fields(rerun); const fid = get(cs, 5);
    if (fid && fid.length && get(cs, 6)) rec.pending.push({fid: text.decode(fid), t: performance.now()});
    else if (!fid || !fid.length) { rec.superseded += rec.pending.length; rec.pending = []; } };
  const received = (d) => { const now = performance.now(); const b = bytes(d); if (!b) return;
    const fs = fields(b);
    rec.wire.bytes += b.length; rec.wire.messages += 1;
    if (get(fs, 11) !== undefined) rec.wire.refs += 1;  // ref_hash: "you have this one cached"
    const meta = get(fs, 2); if (meta && get(fields(meta), 1) === 1) rec.wire.cacheable += 1;
    const auto = get(fs, 21);
    if (auto !== undefined) { const a = fields(auto); const iv = get(a, 1), fid = get(a, 2);
      if (iv && fid) rec.intervals[text.decode(fid)] =
          new DataView(iv.buffer, iv.byteOffset, 4).getFloat32(0, true); }
    const run = meta && get(fields(meta), 6);
    if (run === undefined) return;
    const rf = fields(run); const id = text.decode(get(rf, 1) || new Uint8Array());
    if (get(fs, 4) !== undefined) {
      const fids = rf.filter(f => f[0] === 2).map(f => text.decode(f[1]));
      rec.runs[id] = {start: now, fids};
      // a full run (a click, or the st.rerun that ends a live view) reruns every fragment:
      // the requests it swallowed are not timed
      if (!fids.length) { rec.superseded += rec.pending.length; rec.pending = []; } }
    const status = get(fs, 6);
    if (status === undefined) return;
    const r = rec.runs[id]; delete rec.runs[id];
    if (!r || !r.fids.length || status !== 3) return;  // 3: FINISHED_FRAGMENT_RUN_SUCCESSFULLY
    const served = rec.pending.filter(p => r.fids.includes(p.fid) && p.t <= r.start);
    if (!served.length) return;
    rec.pending = rec.pending.filter(p => !served.includes(p));
    requestAnimationFrame(() => { const t = performance.now();
      for (const p of served) rec.done.push({fid: p.fid, ms: t - p.t, reply_ms: now - p.t,
                                             run_ms: now - r.start, status}); }); };
  const Native = window.WebSocket;
  class Watched extends Native {
    constructor(...args) { super(...args);
      this.addEventListener('message', (e) => { try { received(e.data); } catch (err) {} }); }
    send(d) { try { sent(d); } catch (err) {} return super.send(d); }
  }
  window.WebSocket = Watched;
})()"""

_DRAIN_JS = """() => { const r = window.__dlvizLoad;
    if (!r) return {done: [], intervals: {}, superseded: 0, wire: {}};
    const done = r.done, superseded = r.superseded, wire = r.wire; r.done = []; r.superseded = 0;
    r.wire = {bytes: 0, messages: 0, cacheable: 0, refs: 0};
    return {done, intervals: r.intervals, superseded, wire}; }"""

# What a session's page shows now.
_LOOK_JS = """(prefix) => { const q = (s) => document.querySelector(s);
    const text = (s) => { const e = q(s); return e ? e.innerText : ''; };
    const app = q('[data-testid="stApp"]'); const train = q(`.st-key-${prefix}_train button`);
    const all = (s, n) => Array.from(document.querySelectorAll(s)).map(e => e.innerText.slice(0, n));
    return {main: text('[data-testid="stMain"]'), side: text('[data-testid="stSidebar"]'),
            idle: !!app && app.getAttribute('data-test-script-state') !== 'running',
            train: train ? !train.disabled : null,
            exceptions: all('[data-testid="stException"]', 600),
            errors: all('[data-testid="stAlertContentError"]', 300)}; }"""

# Press Train, and watch (cheaply, every 50 ms) for the run's status line: a run of a few epochs
# can start and end between two looks of a session. A reload clears the flag: only read it
# before the session's first action.
_CLICK_JS = """(prefix) => {
    const b = document.querySelector(`.st-key-${prefix}_train button`);
    if (!b || b.disabled) return false;
    window.__dlvizWent = false;
    const started = performance.now();
    const watch = () => {
        for (const e of document.querySelectorAll('[data-testid="stMain"] [data-testid="stProgress"], '
                                                  + '[data-testid="stMain"] [data-testid="stAlertContentInfo"]'))
            if (/training - epoch \\d+\\/\\d+|Waiting/.test(e.textContent)) { window.__dlvizWent = true; return; }
        if (performance.now() - started < 300000) setTimeout(watch, 50);
    };
    b.click();
    watch();
    return true; }"""
_WENT_JS = "() => window.__dlvizWent === true"
# What makes part of the page inert (Playwright will not click there): inert or aria-hidden
# elements, open dialogs, popovers and menus, collapsed expanders around the sidebar's links.
_INERT_JS = """() => {
  const name = (e) => e.tagName.toLowerCase() + (e.dataset.testid ? `[${e.dataset.testid}]` : '')
      + (e.getAttribute('role') ? `(role ${e.getAttribute('role')})` : '')
      + (e.dataset.baseweb ? `{${e.dataset.baseweb}}` : '');
  const top = (sel) => [...document.querySelectorAll(sel)]
      .filter((e) => !e.parentElement || !e.parentElement.closest(sel)).map(name);
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  return {inert: top('[inert]').slice(0, 6),
          hidden: top('[aria-hidden="true"]:not([data-testid="stIconMaterial"])').slice(0, 6),
          open: [...document.querySelectorAll(
            '[role="dialog"], [role="menu"], [role="listbox"], [data-baseweb="popover"]')]
            .map((e) => `${name(e)}: ${(e.innerText || '').slice(0, 120)}`).slice(0, 4),
          navInert: nav ? !!nav.closest('[inert], [aria-hidden="true"]') : null};
}"""

_PROGRESS = re.compile(r"training - epoch (\d+)/(\d+)")
_FINISHED = re.compile(r"finished (\d+) epochs? in [\d.]+ s")
_WAITING = re.compile(r"Waiting[^\n]*")
_STOPPED = re.compile(r"[^\n]*What was drawn is kept\.[^\n]*")  # nobody here presses Stop
_SIDEBAR_RUN = re.compile(r": (\w+), epoch \d+/(\d+)")
# the live panel's own caption (dlviz.ui.live): the server's time to draw it
_DRAW_TIME = re.compile(
    r"Server time to draw this view \(median of the last \d+\): (\d+) ms of CPU, (\d+) ms"
)


# --- the labs a session trains in ---------------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    title: str  # its heading and its name in the navigation
    path: str
    prefix: str
    query: dict[str, str]  # small settings, by the page's link (dlviz.ui.url_state)
    # session i trains epochs + i (no two sessions the same number): each run some seconds long
    epochs: int


LABS = (
    Lab("Playground", "playground", "pg", {"until_stopped": "false"}, 200),
    Lab(
        "Images",
        "images",
        "im",
        {
            "dataset": "digits",
            "digits_samples": "1000",
            "blocks": json.dumps([{"channels": 8}, {"channels": 16, "pool": "max"}]),
            "norm": "none",
        },
        40,
    ),
    Lab("Sequences", "sequences", "sq", {"samples": "2000", "hidden": "16", "layers": "1"}, 40),
)


@dataclass
class SessionReport:
    index: int
    lab: str
    epochs: int
    started: int = 0
    finished: int = 0
    seen_queued: int = 0  # runs that waited for a place before training
    queued_at_end: int = 0  # runs still waiting, the page saying why, when the time was up
    stopped: int = 0  # runs that ended stopped (nobody here presses Stop): a problem
    unfinished: int = 0  # runs neither finished nor waiting when the time was up
    reloads: int = 0
    switches: int = 0
    waiting_messages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # errors, another's run, stuck waits
    notes: list[str] = field(
        default_factory=list
    )  # an unfinished run at the end; a cookie-less reload
    latencies: list[dict[str, Any]] = field(default_factory=list)
    superseded: int = 0  # refresh requests a full run swallowed: not timed
    draw_ms: list[tuple[int, int]] = field(default_factory=list)  # the panel's caption: CPU, wall
    intervals: dict[str, float] = field(default_factory=dict)
    # what its browser received on the websocket: bytes, messages, messages Streamlit marked
    # cacheable (large elements) and references to the browser's cache sent instead of one
    wire: dict[str, int] = field(default_factory=dict)


class StoreWatch:
    """The server's run store, read from outside: how many runs of each epoch count it holds
    (each session trains its own count, so this tells a session's runs apart)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._epochs: dict[str, int] = {}  # run folder -> its config's train.epochs
        self._ended: set[str] = set()  # run folders with a summary

    def runs_of(self, epochs: int) -> int:
        try:
            names = [e.name for e in os.scandir(self.root) if not e.name.startswith(".")]
        except FileNotFoundError:
            return 0
        for name in names:
            if name not in self._epochs:
                try:
                    cfg = json.loads((self.root / name / "config.json").read_text())
                    self._epochs[name] = int(cfg["train"]["epochs"])
                except (OSError, ValueError, KeyError, TypeError):
                    continue  # being written: read it next time
        return sum(1 for e in self._epochs.values() if e == epochs)

    def ended_of(self, epochs: int) -> int:
        """How many runs of `epochs` epochs the store holds that have ended (a run's
        summary.json is written when it ends, whatever its end)."""
        self.runs_of(epochs)  # folders new since the last look
        for name, e in self._epochs.items():
            if (
                e == epochs
                and name not in self._ended
                and (self.root / name / "summary.json").exists()
            ):
                self._ended.add(name)
        return sum(1 for name in self._ended if self._epochs[name] == epochs)


class StacksOnce:
    """The server's threads' stacks printed to its log once per bench (`browser.dump_stacks`),
    by whichever session first finds a run or a page that did not move."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.done = False

    def note(self) -> str:
        """What a problem's note adds: where the stacks are, the first time only."""
        if self.done:
            return ""
        self.done = True
        if not dump_stacks(self.server_pid):
            return ""
        return " (the server's threads' stacks are in its log)"


class Session:
    """One person: a browser context, a lab, and a number of epochs nobody else trains."""

    def __init__(
        self,
        browser,
        url: str,
        index: int,
        epochs: int,
        lab: Lab,
        store: StoreWatch,
        stacks: StacksOnce | None = None,
    ) -> None:
        self.browser, self.url, self.lab, self.store = browser, url, lab, store
        self.stacks = stacks
        self.report = SessionReport(index=index, lab=lab.title, epochs=epochs)
        self.link = f"{url}/{lab.path}?" + urlencode({**lab.query, "epochs": str(epochs)})
        self.page = None
        self.ctx = None

    def dump_stacks(self) -> str:
        """The server's threads' stacks to its log, once per bench (`StacksOnce`)."""
        return self.stacks.note() if self.stacks is not None else ""

    def problem(self, what: str) -> None:
        if what not in self.report.problems:
            self.report.problems.append(what)

    async def open(self) -> None:
        self.ctx = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.ctx.set_default_timeout(PAGE_MS)
        await self.ctx.add_init_script(_WS_JS)
        self.page = await self.ctx.new_page()
        await self.page.goto(self.link, wait_until="commit")
        await self.heading(self.lab.title)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.drain()
        if self.ctx is not None:
            with contextlib.suppress(Exception):
                await self.ctx.close()

    async def heading(self, title: str) -> None:
        await self.page.get_by_role("heading", name=title, exact=True).wait_for(timeout=PAGE_MS)

    async def drain(self) -> None:
        got = await self.page.evaluate(_DRAIN_JS)
        self.report.latencies += got["done"]
        self.report.superseded += got["superseded"]
        self.report.intervals.update(got["intervals"])
        for k, v in got["wire"].items():
            self.report.wire[k] = self.report.wire.get(k, 0) + int(v)

    async def look(self) -> dict[str, Any]:
        """What the page shows, checked: no error, no other session's run."""
        s = await self.page.evaluate(_LOOK_JS, self.lab.prefix)
        for e in s["exceptions"]:
            self.problem(f"exception box: {e}")
        for e in s["errors"]:
            self.problem(f"error message: {e}")
        drawn = _DRAW_TIME.search(s["main"])
        if drawn:
            self.report.draw_ms.append((int(drawn.group(1)), int(drawn.group(2))))
        if "This link's settings are set, except" in s["main"]:
            self.problem("the page did not take every setting of its link")
        mine = self.report.epochs
        for _, total in _PROGRESS.findall(s["main"]):
            if int(total) != mine:
                self.problem(f"another run's progress on this page: {total} epochs, not {mine}")
        for total in _FINISHED.findall(s["main"]):
            if int(total) != mine:
                self.problem(f"another run's end on this page: {total} epochs, not {mine}")
        for _, total in _SIDEBAR_RUN.findall(s["side"]):
            if int(total) != mine:
                self.problem(f"another run under Your runs: {total} epochs, not {mine}")
        return s

    async def train_once(self, action: str | None, stop_at: float) -> bool:
        """Press Train, watch the run until it ends (taking `action` once it is going: reload
        the page, or switch to the Runs page and back), or until `stop_at`. Returns whether it
        took the action."""
        r = self.report
        page = self.page
        await page.wait_for_function(
            """(p) => { const b = document.querySelector(`.st-key-${p}_train button`);
                        const app = document.querySelector('[data-testid="stApp"]');
                        return !!b && !b.disabled &&
                               app.getAttribute('data-test-script-state') !== 'running'; }""",
            arg=self.lab.prefix,
            timeout=PAGE_MS,
        )
        before = _FINISHED.search((await self.look())["main"])
        before = before.group(0) if before else None
        stored = self.store.runs_of(r.epochs)
        ended_before = self.store.ended_of(r.epochs)
        if not await page.evaluate(_CLICK_JS, self.lab.prefix):
            self.problem("Train could not be pressed")
            r.unfinished += 1
            return False
        r.started += 1
        queued = False
        acted = action is None
        went = False  # the run has started: the page showed it, or the store has it
        live = False
        watched = True  # the click's watcher is in this window (a reload ends it)
        last_change = time.monotonic()
        while True:
            s = await self.look()
            main = s["main"]
            waiting = _WAITING.search(main)
            going = _PROGRESS.search(main)
            if waiting and not going:
                if not queued:
                    queued = True
                    r.seen_queued += 1
                    if len(r.waiting_messages) < 3:
                        r.waiting_messages.append(waiting.group(0)[:200])
            ended = _FINISHED.search(main)
            ended_new = bool(ended and ended.group(0) != before)
            # the page has shown this run going (training, waiting, Train off while it goes)
            live = live or bool(going or waiting) or s["train"] is False
            live = live or (watched and await page.evaluate(_WENT_JS))
            went = went or live or ended_new or self.store.runs_of(r.epochs) > stored
            # its end: an end line this page did not show before the click, or one shown after
            # the page showed the run going, or once the store has the run's end (two runs of
            # a session can end in the same words: the same epochs and seconds, and a reload
            # as the run started can keep the page from showing it going)
            ended_stored = self.store.ended_of(r.epochs) > ended_before
            if (
                went
                and ended
                and (ended_new or live or ended_stored)
                and not going
                and s["idle"]
                and s["train"]
            ):
                r.finished += 1
                return acted
            stopped = _STOPPED.search(main)
            if went and stopped and not going and s["idle"] and s["train"]:
                r.stopped += 1
                self.problem(
                    f"run {r.started} stopped though nobody pressed Stop: {stopped.group(0)}"
                )
                return acted
            now = time.monotonic()
            if now > stop_at:
                if waiting and not going:
                    r.queued_at_end += 1
                else:
                    r.unfinished += 1
                    shown = [m.group(0)[:160] for m in (going, waiting, ended, stopped) if m]
                    side = [line for line in s["side"].splitlines() if "epoch" in line]
                    r.notes.append(
                        f"run {r.started} when the time was up: status {shown or 'none shown'}; "
                        f"in progress: {'A run is in progress' in main}; Your runs: {side}; "
                        f"page idle: {s['idle']}; Train enabled: {s['train']}" + self.dump_stacks()
                    )
                return acted
            if not went and now - last_change > PAGE_MS / 1000:
                self.problem(
                    f"run {r.started} did not start within {PAGE_MS / 1000:.0f} s (nothing in "
                    f"the store, no status on the page; the page's end: {main[-200:]})"
                )
                r.unfinished += 1
                return acted
            if not acted and went:  # mid-run, unless the run was quicker than this look
                acted = True
                watched = action != "reload"
                await self.act(action)
                continue
            await asyncio.sleep(LOOK_EVERY_S)

    async def act(self, action: str) -> None:
        """Reload the page, or go to the Runs page and back, while the run goes on."""
        page = self.page
        await self.drain()
        if action == "reload":
            self.report.reloads += 1
            # owner.py finds a browser's runs again by its cookie, which a script in the page
            # sets once it runs: a reload before that loses the view of the run
            if not any(c["name"] == "dlviz_owner" for c in await self.ctx.cookies()):
                self.report.notes.append(
                    f"run {self.report.started}: reloaded before the page had set its "
                    "dlviz_owner cookie"
                )
            await page.reload(wait_until="commit")
            await self.heading(self.lab.title)
        else:
            self.report.switches += 1
            nav = page.get_by_test_id("stSidebarNav")
            await nav.get_by_role("link", name="Runs", exact=True).click()
            await self.heading("Runs")
            await asyncio.sleep(2.0)
            await self.look()  # the sidebar's Your runs, seen from another page
            await nav.get_by_role("link", name=self.lab.title, exact=True).click()
            await self.heading(self.lab.title)

    async def run(self, until: float, grace_until: float) -> None:
        """Train run after run until `until`; the last one may go on until `grace_until`."""
        try:
            await self.open()
            cycle = self.report.index  # stagger the reloads and switches between sessions
            while time.monotonic() < until:
                action = (None, "reload", "switch")[cycle % 3]
                if await self.train_once(action, grace_until) or action is None:
                    cycle += 1  # an action not taken (the time was up) is the next run's
            await self.drain()
        except Exception as e:  # one session's failure is a finding, not the end of the bench
            text = ""
            with contextlib.suppress(Exception):
                text = (await self.page.evaluate(_LOOK_JS, self.lab.prefix))["main"][-400:]
            lines = [line.strip() for line in str(e).splitlines() if line.strip()]
            # Playwright's call log says what the wait was for (its locator) and, in its last
            # lines, why it failed
            target = next((line for line in lines if "locator(" in line), "")
            why = " / ".join(lines[1:][-3:])
            inert = ""
            if "inert" in why:  # what made the page inert there, for the next look
                with contextlib.suppress(Exception):
                    inert = f" | inert: {await self.page.evaluate(_INERT_JS)}"
            self.problem(
                f"{type(e).__name__}: {lines[0][:300] if lines else ''}"
                + (f" [{target[:200]}]" if target else "")
                + (f" ({why[:300]})" if why else "")
                + inert[:600]
                + f" | page: {text}"
            )


# --- the bench ----------------------------------------------------------------------------------


async def _sample_memory(pid: int, every_s: float, out: list[dict[str, float]]) -> None:
    """The server's memory every `every_s`; and the browsers' new threads lowered."""
    t0 = time.monotonic()
    while True:
        with contextlib.suppress(OSError):
            out.append({"t": round(time.monotonic() - t0, 1), **memory_mb(pid)})
        yield_to_server(pid)
        await asyncio.sleep(every_s)


async def _warm_up(browser, url: str) -> None:
    """One run of 1 epoch in each lab (no session trains 1), watched to its end: the server
    imports and builds once what every later run and drawing of that lab reuses."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(PAGE_MS)
    page = await ctx.new_page()
    for lab in LABS:
        await page.goto(f"{url}/{lab.path}?" + urlencode({**lab.query, "epochs": "1"}))
        await page.get_by_role("heading", name=lab.title, exact=True).wait_for()
        train = page.locator(f".st-key-{lab.prefix}_train button")
        await train.click()
        await page.wait_for_function(
            """(p) => { const m = document.querySelector('[data-testid="stMain"]');
                        const b = document.querySelector(`.st-key-${p}_train button`);
                        return /finished 1 epoch in/.test(m.innerText) && !!b && !b.disabled; }""",
            arg=lab.prefix,
            timeout=PAGE_MS,
        )
    await ctx.close()


async def _load(
    server: Server, sessions: int, seconds: float, grace_s: float, chromium: str
) -> dict[str, Any]:
    try:  # the caller checked that Playwright is there (the test extra)
        from playwright.async_api import async_playwright
    except ImportError as e:
        raise RuntimeError("`dlviz bench load` needs Playwright: pip install playwright") from e

    memory: list[dict[str, float]] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield_to_server(server.pid)
            t = time.monotonic()
            await _warm_up(browser, server.url)
            warm_s = time.monotonic() - t
            await asyncio.sleep(2.0)
            start = memory_mb(server.pid)
            sampler = asyncio.create_task(_sample_memory(server.pid, 1.0, memory))
            labs = [LABS[i % len(LABS)] for i in range(sessions)]
            store = StoreWatch(server.home / "runs")
            stacks = StacksOnce(server.pid)
            people = [
                Session(browser, server.url, i, lab.epochs + i, lab, store, stacks)
                for i, lab in enumerate(labs)
            ]
            t0, cpu0 = time.monotonic(), cpu_s(server.pid)
            until, grace_until = t0 + seconds, t0 + seconds + grace_s
            await asyncio.gather(*(p.run(until, grace_until) for p in people))
            driven_s = time.monotonic() - t0
            server_cpu = (cpu_s(server.pid) - cpu0) / driven_s
            during = memory_mb(server.pid)
            for p in people:
                await p.close()
            await asyncio.sleep(5.0)  # the closed sessions' reruns end
            sampler.cancel()
            end = memory_mb(server.pid)
        finally:
            await browser.close()
    return {
        "warm_up_s": round(warm_s, 1),
        "driven_s": round(driven_s, 1),
        "server_cores": round(server_cpu, 2),
        "start": start,
        "during": during,
        "end": end,
        "memory": memory,
        "sessions": [asdict(p.report) for p in people],
    }


def load(
    sessions: int = 10,
    seconds: float = 180.0,
    grace_s: float = 120.0,
    server: Server | None = None,
    chromium: str = CHROMIUM,
) -> dict[str, Any]:
    """Drive `sessions` browser sessions against one server for `seconds` (the runs going at
    the end get up to `grace_s` more); see the module docstring. `server`: one already started
    (a test's), else a fresh `dlviz ui` with an empty run store."""
    need_playwright("load", chromium)
    load_before = os.getloadavg()[0]
    if server is None:
        with tempfile.TemporaryDirectory(prefix="dlviz-bench-load-") as tmp:
            with serve(Path(tmp)) as fresh:
                raw = asyncio.run(_load(fresh, sessions, seconds, grace_s, chromium))
                raw["log_problems"] = log_problems(fresh.log_path)
    else:
        raw = asyncio.run(_load(server, sessions, seconds, grace_s, chromium))
        raw["log_problems"] = log_problems(server.log_path)
    return summarize_load(raw, sessions, seconds, load_before)


_WIRE_KEYS = ("bytes", "messages", "cacheable", "refs")


def summarize_load(
    raw: dict[str, Any], sessions: int, seconds: float, load_before: float
) -> dict[str, Any]:
    reports = raw["sessions"]
    panel, every, panel_reply, panel_run, panel_wait, panel_paint = [], [], [], [], [], []
    for s in reports:
        for item in s["latencies"]:
            every.append(item["ms"])
            interval = s["intervals"].get(item["fid"], 0.0)
            if LIVE_REFRESH_S[0] - 1e-3 < interval < LIVE_REFRESH_S[1] + 1e-3:
                panel.append(item["ms"])
                panel_reply.append(item["reply_ms"])
                panel_run.append(item["run_ms"])
                panel_wait.append(item["reply_ms"] - item["run_ms"])
                panel_paint.append(item["ms"] - item["reply_ms"])
    draw_cpu = [c for s in reports for c, _ in s["draw_ms"]]
    draw_wall = [w for s in reports for _, w in s["draw_ms"]]
    total = {
        k: sum(s[k] for s in reports)
        for k in ("started", "finished", "seen_queued", "queued_at_end", "stopped", "unfinished")
    }
    total.update(reloads=sum(s["reloads"] for s in reports))
    total.update(switches=sum(s["switches"] for s in reports))
    peak_rss = max([m["rss_mb"] for m in raw["memory"]] + [raw["during"]["rss_mb"]])
    wire = {k: sum(s["wire"].get(k, 0) for s in reports) for k in _WIRE_KEYS}
    session_s = max(1e-9, len(reports) * raw["driven_s"])
    wire["kb_per_session_s"] = round(wire["bytes"] / 1000 / session_s, 1)
    m = machine()
    return {
        "benchmark": "load",
        "machine": {
            "cpu": m["cpu"],
            "cores": m["cores"],
            "memory_gb": m["memory_gb"],
            "torch": m["torch"],
            "load_1min_before": round(load_before, 2),
            "load_1min_after": round(os.getloadavg()[0], 2),
        },
        "sessions": sessions,
        "seconds": seconds,
        "driven_s": raw["driven_s"],
        "warm_up_s": raw["warm_up_s"],
        "server_cores": raw["server_cores"],
        "runs": total,
        "wire": wire,
        "latency_live_panel": latency_summary(panel),
        "latency_all_fragments": latency_summary(every),
        # to the run's last message (script_finished) only: without the page's drawing
        "latency_live_panel_reply": latency_summary(panel_reply),
        # the live panel's refresh in three parts, as the page saw them: from the request to
        # the run's first message (new_session), the run (to script_finished), then to the
        # next animation frame
        "live_panel_wait": latency_summary(panel_wait),
        "live_panel_run": latency_summary(panel_run),
        "live_panel_paint": latency_summary(panel_paint),
        # what the live panels' captions said (the server's own medians), over all looks
        "live_panel_draw_cpu_ms": _round(percentile(draw_cpu, 0.5)),
        "live_panel_draw_wall_ms": _round(percentile(draw_wall, 0.5)),
        "memory_mb": {
            "start_rss": raw["start"]["rss_mb"],
            "peak_rss": peak_rss,
            "peak_hwm": raw["end"]["hwm_mb"],
            "end_rss": raw["end"]["rss_mb"],
            # the server, its fork server and its runs' processes together (PSS)
            "start_tree": raw["start"]["tree_mb"],
            "peak_tree": max([m["tree_mb"] for m in raw["memory"]] + [raw["during"]["tree_mb"]]),
            "end_tree": raw["end"]["tree_mb"],
        },
        "memory_series": raw["memory"],
        "problems": {
            f"session {s['index']} ({s['lab']})": s["problems"] for s in reports if s["problems"]
        },
        "log_problems": raw["log_problems"],
        "per_session": [
            {k: v for k, v in s.items() if k not in ("latencies", "draw_ms")} for s in reports
        ],
    }


def format_load(r: dict[str, Any]) -> str:
    m, runs, mem, wire = r["machine"], r["runs"], r["memory_mb"], r["wire"]

    def lat(name: str, s: dict[str, Any]) -> str:
        if not s["n"]:
            return f"{name}: no refreshes measured"
        return (
            f"{name}: p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms, max {s['max_ms']:.0f} ms "
            f"(n={s['n']:,})"
        )

    lines = [
        f"dlviz bench load - {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, torch "
        f"{m['torch']}; load average {m['load_1min_before']:.2f} before, "
        f"{m['load_1min_after']:.2f} after",
        f"{r['sessions']} browser sessions for {r['seconds']:.0f} s (driven {r['driven_s']:.0f} s, "
        f"the last runs included); the server used {r['server_cores']:.2f} cores on average "
        f"(Chromium at nice {BROWSER_NICE})",
        f"runs: {runs['started']} started, {runs['finished']} finished, {runs['seen_queued']} "
        f"waited for a place first, {runs['queued_at_end']} still waiting at the end (the page "
        f"saying why), {runs['stopped']} stopped, {runs['unfinished']} none of these; "
        f"{runs['reloads']} reloads and "
        f"{runs['switches']} page switches mid-run",
        lat("refresh latency, live panel (request to the next frame)", r["latency_live_panel"]),
        lat("  every fragment (the sidebar's too)", r["latency_all_fragments"]),
        lat("  live panel, request to the run's last message", r["latency_live_panel_reply"]),
        lat("  live panel: request to the run's first message", r["live_panel_wait"]),
        lat("  live panel: the run (first to last message)", r["live_panel_run"]),
        lat("  live panel: last message to the next frame", r["live_panel_paint"]),
        f"  the live panels' own captions (median): {r['live_panel_draw_cpu_ms']} ms of server "
        f"CPU, {r['live_panel_draw_wall_ms']} ms from start to end",
        f"server memory: {mem['start_rss']:.0f} MB at the start, peak {mem['peak_rss']:.0f} MB "
        f"(VmHWM {mem['peak_hwm']:.0f} MB), {mem['end_rss']:.0f} MB after the sessions closed",
        f"with its fork server and runs' processes (PSS): {mem['start_tree']:.0f} MB at the "
        f"start, peak {mem['peak_tree']:.0f} MB, {mem['end_tree']:.0f} MB after",
        f"the browsers received {wire['bytes'] / 1e6:.1f} MB in {wire['messages']:,} websocket "
        f"messages ({wire['kb_per_session_s']:.0f} kB a session a second); "
        f"{plural(wire['cacheable'], 'large one')} Streamlit let the browser cache, "
        f"{plural(wire['refs'], 'reference')} to one cached",
    ]
    notes = [
        f"session {s['index']} ({s['lab']}): {n}" for s in r["per_session"] for n in s["notes"]
    ]
    if notes:
        lines.append("notes:\n  " + "\n  ".join(notes))
    problems = r["problems"]
    lines.append(
        "problems: none"
        if not problems and not r["log_problems"]
        else "problems:\n"
        + "\n".join(f"  {who}: {p}" for who, ps in problems.items() for p in ps)
        + "".join(f"\n  server log: {p}" for p in r["log_problems"][:20])
    )
    return "\n".join(lines)
