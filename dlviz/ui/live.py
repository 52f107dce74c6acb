"""The live view of a session's runs: a fragment that polls the run threads every half second
(less often while the server is busy), redraws the charts, and stops polling (one full rerun)
once every run has ended."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import median_high

import streamlit as st

from dlviz import jobs, runs
from dlviz.config import RunConfig
from dlviz.data import Dataset
from dlviz.history import RunHistory
from dlviz.text import plural
from dlviz.ui import layout, owner
from dlviz.ui.state import dataset, generative_dataset

REFRESH_S = 0.5  # a live view refreshes at most this often
MAX_REFRESH_S = 1.5  # and at least this often
# The server's work besides training (drawing and sending live views, other pages) takes about
# this share of a core at most: while it takes more, a live view refreshes less often. The
# browser's drawing grows with it (more charts, bigger ones), and on a small machine both take
# their time from training.
DRAW_SHARE = 0.1
RETUNE_AFTER_S = 10.0  # the interval changes at most this often (`live_panel`'s pacer)
FIRST_DRAW_WAIT_S = 1.0  # a run started here waits at most this long for its first drawing
ORPHAN_AFTER_S = 60.0  # a run no page has polled for this long is stopped (its tab is gone)
# A chart's own menu, on hover: save it as a PNG at twice the screen's resolution; the live-chart
# script (`dlviz.ui.livechart`) adds "Save as SVG" beside it
CHART_CONFIG = {
    "displaylogo": False,
    "modeBarButtons": [["toImage"]],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


# Which page shows the View a session keeps under a key, by the key's prefix: the sidebar links
# a person's runs to their pages.
VIEW_PAGES = {
    "pg": ("pages/playground.py", "Playground"),
    "im": ("pages/images.py", "Images"),
    "up": ("pages/uploads.py", "Your images"),
    "dp": ("pages/depth.py", "Depth"),
    "tl": ("pages/transfer.py", "Transfer"),
    "dv": ("pages/devices.py", "Devices"),
    "sq": ("pages/sequences.py", "Sequences"),
    "sd": ("pages/sound.py", "Sound"),
    "gn": ("pages/generative.py", "Generative"),
}


def view_page(key: str) -> tuple[str, str] | None:
    """(page file, title) of the page that shows the View kept under `key`."""
    return VIEW_PAGES.get(key.split("_", 1)[0])


@dataclass
class View:
    """What a page shows: one run, or a pair trained one after the other (shallow vs deep)."""

    kind: str  # "single" | "pair"
    handles: list[jobs.RunHandle]
    labels: list[str]
    started: float = field(default_factory=time.time)
    refresh_ms: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=50))
    refresh_s: float = REFRESH_S  # the live fragment's interval, as `pace` chose it
    # CPU ms the server spent besides training from one refresh to the next (`server_cpu_s`)
    server_ms: deque[float] = field(default_factory=lambda: deque(maxlen=20))
    server_mark: tuple[float, float] | None = None  # (process CPU s, training CPU s) at the last
    retuned: float = -math.inf  # when refresh_s last changed (time.monotonic)
    paced: float = REFRESH_S  # the interval the live fragment refreshed at last time
    # (the handles, whether a run was going) as of the last `poll()`: see `live`
    seen_live: tuple[tuple[int, ...], bool] | None = field(default=None, repr=False)

    @property
    def live(self) -> bool:
        """Whether a run of the view is still going, as of its last `poll()` (or the first
        look after it). One script run reads one answer: the page that greys Train as busy
        and the live panel that then polls agree, even when the run ends between the two (it
        did, under load, and left a page saying a run was in progress, Train off, with nothing
        polling to end it). The panel's next `poll()` sees the end and reruns the page."""
        handles = tuple(id(h) for h in self.handles)
        if self.seen_live is None or self.seen_live[0] != handles:
            self.seen_live = (handles, any(not h.done for h in self.handles))
        return self.seen_live[1]

    def poll(self) -> None:
        for h in self.handles:
            h.poll()
        self.seen_live = None

    def stop(self) -> None:
        for h in self.handles:
            h.stop()

    @property
    def paused(self) -> bool:
        return any(h.control.paused for h in self.handles if h.alive)

    def step(self, seen: Sequence[int] | None = None) -> None:
        """One update more of each paused run; `seen`, each run's update count when the Step
        button was drawn: a run that has moved on since (a click the fragment ran twice) is not
        stepped again."""
        for i, h in enumerate(self.handles):
            if h.alive:
                h.step(None if seen is None else seen[i])

    def set_paused(self, paused: bool) -> None:
        """Pause every run (or resume them): the same press seen twice changes nothing more."""
        for h in self.handles:
            if paused:
                h.pause()
            else:
                h.resume()

    def toggle_pause(self) -> None:
        if self.paused:
            for h in self.handles:
                h.resume()
        else:
            for h in self.handles:
                h.pause()


def start_view(
    key: str,
    configs: list[RunConfig],
    labels: list[str],
    kind: str,
    data: Dataset | list[Dataset] | None = None,
    parallel: bool = False,
) -> View:
    """Start `configs` one after the other (all at once when `parallel`: a race between
    devices) and keep them in session state under `key`; on `data` when given (uploaded
    images; a list: one for each config, as the Sound lab's spectrogram and wave twins read
    the same clips through different front ends), else on the data each config names."""
    datas = data if isinstance(data, list) else [data] * len(configs)
    old = st.session_state.get(key)
    if isinstance(old, View):
        old.stop()
    handles: list[jobs.RunHandle] = []
    who = owner.owner_id()
    for cfg, label, cfg_data in zip(configs, labels, datas):
        after = handles[-1] if handles and not parallel else None
        handles.append(
            jobs.start(
                cfg,
                runs_dir=runs.default_root(),
                after=after,
                label=label,
                orphan_after_s=ORPHAN_AFTER_S,
                data=cfg_data,
                owner=who,
                # the runs that start now (not those waiting for the one before them)
                wait_for_page_s=FIRST_DRAW_WAIT_S if after is None else None,
            )
        )
    view = View(kind=kind, handles=handles, labels=labels)
    st.session_state[key] = view
    owner.register(key, view)  # found again after a reload or in a second tab
    return view


def wait_first_point(view: View, timeout_s: float = 0.6) -> None:
    """Hold the script briefly until the first run reports its first loss, so the first drawing
    of the live view already has a point on the loss chart instead of waiting for the next
    refresh (the loop reports after its first step, a few tens of milliseconds in)."""
    deadline = time.monotonic() + timeout_s
    first = view.handles[0]
    while time.monotonic() < deadline:
        first.poll()
        h = first.history
        if h.steps.seen or h.epochs.seen or h.done or h.status == "queued":
            return
        time.sleep(0.01)


def train_buttons(
    prefix: str,
    start: Callable[[str], None],
    columns: tuple,
    disabled: bool,
    pair_disabled: bool,
    pair_help: str,
    pair_label: str = "Train shallow vs deep",
) -> None:
    """The Train and Train shallow vs deep buttons (keys ``{prefix}_train`` and
    ``{prefix}_train_pair``; the second labelled `pair_label`) in the two `columns`; each
    calls `start("single" | "pair")`."""
    single_col, pair_col = columns
    single_col.button(
        "Train",
        key=f"{prefix}_train",
        type="primary",
        icon=":material/play_arrow:",
        on_click=start,
        args=("single",),
        disabled=disabled,
        width="stretch",
    )
    pair_col.button(
        pair_label,
        key=f"{prefix}_train_pair",
        icon=":material/compare_arrows:",
        on_click=start,
        args=("pair",),
        disabled=pair_disabled,
        help=pair_help,
        width="stretch",
    )


def view_dataset(handle: jobs.RunHandle) -> Dataset:
    """The data a run trains on: the one it was given, else the one its config names."""
    if handle.data is not None:
        return handle.data
    if handle.config.model.is_generative:
        return generative_dataset(handle.config.data)
    return dataset(handle.config.data)


def current_view(key: str) -> View | None:
    view = st.session_state.get(key)
    return view if isinstance(view, View) else None


# --- drawing ----------------------------------------------------------------------------------


def run_verdict(h: RunHistory) -> tuple[str, str]:
    """(kind, message) of what an ended run learned (`dlviz.outcome`, recorded in its summary):
    kind "ok", "chance" or "dead"."""
    verdict = h.summary.get("outcome") if isinstance(h.summary, dict) else None
    if not isinstance(verdict, dict):
        return "ok", ""
    return str(verdict.get("kind") or "ok"), str(verdict.get("message") or "")


def status_line(label: str, h: RunHistory) -> None:
    prefix = f"**{label}**: " if label else ""
    total = h.total_epochs or "?"
    kind, verdict = run_verdict(h)
    if h.status == "queued":
        st.info(f"{prefix}{h.message or 'Waiting to start.'}", icon=":material/hourglass_top:")
    elif h.status in ("starting", "running") and h.open_ended:
        st.info(
            f"{prefix}training - epoch {h.epoch}, step {h.step:,} - until you press Stop",
            icon=":material/autorenew:",
        )
    elif h.status == "paused" and h.open_ended:
        st.info(f"{prefix}paused at epoch {h.epoch} - press Resume", icon=":material/pause:")
    elif h.status in ("starting", "running"):
        st.progress(h.progress, text=f"{prefix}training - epoch {h.epoch}/{total}, step {h.step:,}")
    elif h.status == "paused":
        st.progress(h.progress, text=f"{prefix}paused at epoch {h.epoch}/{total} - press Resume")
    elif h.status == "stopped" and h.open_ended and not h.stop_reason:
        # The person's own Stop is how such a run ends: news, not a warning, unless it learned
        # nothing.
        text = (
            f"{prefix}trained {plural(h.epoch, 'epoch')} in {h.elapsed:.1f} s, until you "
            "stopped it. What was drawn is kept."
        )
        if kind != "ok":
            st.warning(f"{text} {verdict}", icon=":material/warning:")
        else:
            st.info(text, icon=":material/stop_circle:")
    elif h.status == "finished":
        note = f" {h.message}" if h.message else ""  # e.g. the run store could not be written
        done = f"{prefix}finished {plural(h.epoch, 'epoch')} in {h.elapsed:.1f} s"
        if kind != "ok":  # dead or at chance: not a success, whatever the loop says
            st.warning(f"{done}, but: {verdict}{note}", icon=":material/warning:")
        else:
            st.success(f"{done}.{note}", icon=":material/check_circle:")
    elif h.status == "stopped":
        extra = f" {verdict}" if kind != "ok" else ""
        st.warning(
            f"{prefix}{h.message or 'Stopped.'} What was drawn is kept.{extra}",
            icon=":material/stop_circle:",
        )
    elif h.status == "diverged":
        st.error(f"{prefix}{h.message}", icon=":material/trending_up:")
    elif h.status == "error":
        st.error(f"{prefix}{h.message}", icon=":material/error:")


def ladder_summary(hs: list[RunHistory]) -> tuple[str, str]:
    """(kind, sentence) on runs made one after another once all have ended: kind "success"
    when every one finished, else "warning", saying how many finished and that only those are
    read (a stopped experiment says it was stopped)."""
    n = len(hs)
    finished = [h for h in hs if h.status == "finished"]
    elapsed = sum(h.elapsed for h in hs)
    if len(finished) == n:
        return "success", f"All {plural(n, 'run')} finished, in {elapsed:.0f} s of training."
    failed = [h for h in hs if h.status in ("diverged", "error")]
    stopped = n - len(finished) - len(failed)
    parts = []
    if stopped:
        parts.append(f"{stopped} stopped before the end" if stopped > 1 else "1 was stopped")
    if failed:
        parts.append(f"{len(failed)} diverged or failed (see the table)")
    head = "The experiment was stopped" if stopped else "Not every run finished"
    if not finished:
        return (
            "warning",
            f"{head}: none of the {plural(n, 'run')} finished, so there is nothing to read yet.",
        )
    return "warning", (
        f"{head}: {len(finished)} of the {plural(n, 'run')} finished ({', '.join(parts)}). "
        "The charts and the reading use only the runs that finished; run it again for all of them."
    )


def ladder_progress(hs: list[RunHistory]) -> RunHistory | None:
    """Progress through runs made one after another (an experiment): the run going now, or
    once all have ended how many finished (a stopped experiment says so). Returns the run going
    now (None when all ended)."""
    done = sum(h.done for h in hs)
    current = next((h for h in hs if not h.done), None)
    if current is not None:
        text = f"Run {done + 1} of {len(hs)}: {current.label}"
        if current.status in ("running", "paused"):
            text += f" - epoch {current.epoch}/{current.total_epochs}"
        st.progress(done / len(hs), text=text)
    else:
        kind, text = ladder_summary(hs)
        if kind == "success":
            st.success(text, icon=":material/check_circle:")
        else:
            st.warning(text, icon=":material/stop_circle:")
    return current


def metrics_row(h: RunHistory, key: str = "metrics") -> None:
    c = layout.columns(5, key=key, min_width=120)  # on a narrow page: 3 and 2, not "1…"
    final = h.final
    c[0].metric(f"Epoch (of {h.total_epochs})" if h.total_epochs else "Epoch", f"{h.epoch}")
    c[1].metric("Elapsed", f"{h.elapsed:.1f} s")
    c[2].metric("Samples / s", f"{h.samples_per_second:,.0f}")
    c[3].metric("Train accuracy", f"{final['train_accuracy']:.1%}" if final else "-")
    c[4].metric("Test accuracy", f"{final['test_accuracy']:.1%}" if final else "-")


def run_controls(view: View, key: str, stepping: bool = False) -> None:
    """Pause (Resume) and Stop; with `stepping`, a Step button that, while paused, advances
    each run by one update and holds it again."""
    live = any(h.alive for h in view.handles)
    controls = layout.row(f"{key}_controls")
    controls.button(
        "Resume" if view.paused else "Pause",
        # two buttons, not one that changes its label: a press of Pause that reaches the
        # server after the view has redrawn it as Resume (a second press of a slow Pause)
        # presses a button the page no longer has, and is dropped instead of resuming
        key=f"{key}_resume" if view.paused else f"{key}_pause",
        icon=":material/play_arrow:" if view.paused else ":material/pause:",
        # what the button says, not a toggle: a click the fragment runs twice must not undo it
        on_click=view.set_paused,
        args=(not view.paused,),
        disabled=not live,
    )
    if stepping:
        controls.button(
            "Step",
            key=f"{key}_step",
            icon=":material/skip_next:",
            on_click=view.step,
            args=([h.control.updates for h in view.handles],),
            disabled=not live or not view.paused,
            help="Pause first; then each press takes one update (a GAN: its discriminator's "
            "steps and one generator step) and shows it.",
        )
    controls.button(
        "Stop",
        key=f"{key}_stop",
        icon=":material/stop:",
        on_click=view.stop,
        disabled=not live,
    )


def training_cpu_s() -> float | None:
    """CPU seconds of every run's training thread alive in this process; None where a thread's
    CPU clock cannot be read (`time.pthread_getcpuclockid`: Linux and most Unixes)."""
    clock = getattr(time, "pthread_getcpuclockid", None)
    if clock is None:
        return None
    total = 0.0
    for t in threading.enumerate():
        if t.name == jobs.RUN_THREAD and t.ident is not None:
            try:
                total += time.clock_gettime(clock(t.ident))
            except (OSError, ValueError):  # it ended meanwhile
                continue
    return total


def note_server_cpu(view: View) -> None:
    """Record the CPU the server spent besides training since the view's last refresh: the
    process's CPU time less its training threads'. That is drawing this view and sending it,
    and whatever else the server does meanwhile (other people's pages too: a busy server
    refreshes everyone's views less often)."""
    training = training_cpu_s()
    now = time.process_time()
    if training is None:
        return
    if view.server_mark is not None:
        spent = (now - view.server_mark[0]) - (training - view.server_mark[1])
        view.server_ms.append(max(0.0, spent) * 1000)
    view.server_mark = (now, training)


def refresh_interval(cpu_ms: float) -> float:
    """Seconds between a live view's refreshes when each refresh costs the server `cpu_ms` of
    CPU besides training (the median of recent ones): REFRESH_S while that is at most
    DRAW_SHARE of a core, else as long as keeps it there, in quarter seconds, up to
    MAX_REFRESH_S."""
    wanted = math.ceil(cpu_ms / 1000 / DRAW_SHARE * 4 - 1e-9) / 4
    return min(MAX_REFRESH_S, max(REFRESH_S, wanted))


def server_work_ms(view: View) -> float | None:
    """The median of the server's CPU ms besides training from one refresh to the next, once
    five refreshes have measured it (None before, or where it cannot be measured)."""
    return median_high(view.server_ms) if len(view.server_ms) >= 5 else None


def pace(view: View, every: float) -> None:
    """After a refresh at `every` seconds: choose the view's pace, which `live_panel`'s pacer
    takes up at its next run. The measure is the server's whole work besides training where
    it can be read, else this view's own drawing; the pace changes at most every
    RETUNE_AFTER_S, and only on what was measured at the pace the view refreshes at now."""
    if every != view.paced:  # the pacer has just made the panel again at a new pace
        view.paced = every
        view.server_ms.clear()  # measured at the old pace
        return
    if every != view.refresh_s or len(view.refresh_ms) < 6:  # a new pace not taken up yet
        return
    if hasattr(time, "pthread_getcpuclockid"):
        cpu_ms = server_work_ms(view)
        if cpu_ms is None:
            return
    else:
        cpu_ms = median_high(c for c, _ in view.refresh_ms)
    wanted = refresh_interval(cpu_ms)
    if wanted != view.refresh_s and time.monotonic() - view.retuned >= RETUNE_AFTER_S:
        view.refresh_s, view.retuned = wanted, time.monotonic()


def draw_caption(view: View, every: float, live: bool) -> str:
    """What drawing the view costs the server, and how often it refreshes (at `every` s)."""
    cpu_ms = median_high(c for c, _ in view.refresh_ms)
    wall_ms = median_high(w for _, w in view.refresh_ms)
    server_ms = server_work_ms(view)
    besides = (
        f" From one refresh to the next the server did {server_ms:.0f} ms of work besides "
        "training (drawing and sending this view, and whatever else it serves)."
        if server_ms is not None and live
        else ""
    )
    often = f" It refreshes every {every:g} s while a run trains" + (
        f" (not every {REFRESH_S:g} s: at that pace the server's work besides training "
        "would take more than a tenth of a core)."
        if every > REFRESH_S
        else "."
    )
    return (
        f"Server time to draw this view (median of the last {len(view.refresh_ms)}): "
        f"{cpu_ms:.0f} ms of CPU, {wall_ms:.0f} ms from start to end while sharing the CPU "
        f"with training.{besides}{often}"
    )


Drawer = Callable[[View, str], None]


def live_panel(
    key: str, single: Drawer, pair: Drawer | None = None, stepping: bool = False
) -> None:
    """Draw the session's view under `key`, live while any of its runs is.

    `single` draws a view's runs below the Pause / Stop buttons (and Step, with `stepping`),
    `pair` a view of kind "pair" (two runs one after the other: shallow vs deep); they are
    called inside the polling fragment.
    """
    view = current_view(key)
    if view is None:
        return
    live = view.live

    # Two fragments, one inside the other: `panel` polls and draws at the view's pace, and
    # `pacer` around it reruns every RETUNE_AFTER_S, making `panel` again at the pace `pace`
    # last chose (the browser replaces a fragment's timer when its interval changes). A change
    # of pace reruns this fragment, not the page.
    @st.fragment(run_every=RETUNE_AFTER_S if live else None)
    def pacer() -> None:
        every = view.refresh_s

        @st.fragment(run_every=every if live else None)
        def panel() -> None:
            draw(every)

        panel()

    def draw(every: float) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        view.poll()
        run_controls(view, key, stepping)
        if view.kind == "pair" and pair is not None:
            pair(view, key)
        else:
            single(view, key)
        for h in view.handles:  # drawn: a run held for its first drawing goes on (FirstDrawGate)
            h.drawn.set()
        note_server_cpu(view)
        if view.refresh_ms:
            st.caption(draw_caption(view, every, live))
        view.refresh_ms.append(
            ((time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000)
        )
        if live and not view.live:
            st.rerun()  # every run ended: one full rerun turns polling off and re-enables Train
        if live:
            pace(view, every)

    pacer()
