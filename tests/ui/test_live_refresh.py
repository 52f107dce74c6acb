"""The live view's pace: how often it refreshes for what drawing it costs, and a live chart
drawn again unchanged costing no new JSON."""

from __future__ import annotations

import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from dlviz import jobs
from dlviz.bench import load
from dlviz.ui import charts, live


@pytest.mark.parametrize(
    ("cpu_ms", "seconds"),
    [
        (0.0, 0.5),
        (30.0, 0.5),
        (50.0, 0.5),  # 50 ms every 0.5 s: a tenth of a core, the most it may take
        (60.0, 0.75),  # 0.6 s keeps it at a tenth; in quarter seconds, 0.75
        (100.0, 1.0),
        (101.0, 1.25),
        (150.0, 1.5),
        (1000.0, 1.5),  # never slower than 1.5 s: the view stays live
    ],
)
def test_a_view_slow_to_draw_refreshes_less_often(cpu_ms, seconds):
    assert live.refresh_interval(cpu_ms) == seconds


def test_the_load_benchmark_knows_the_live_views_intervals():
    assert load.LIVE_REFRESH_S == (live.REFRESH_S, live.MAX_REFRESH_S)


def _script():
    import plotly.graph_objects as go
    import streamlit as st

    from dlviz.ui import charts

    if "fig" not in st.session_state or st.session_state.get("new"):
        st.session_state.fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]))
        st.session_state.new = False
    charts.live_chart(st.session_state.fig, key="t_curves")


def test_a_figure_drawn_again_unchanged_is_not_serialised_again(monkeypatch):
    themed = []
    original = charts.themed
    monkeypatch.setattr(charts, "themed", lambda fig, s: themed.append(fig) or original(fig, s))
    at = AppTest.from_function(_script).run()
    assert not at.exception
    first = at.session_state[charts._SPECS]["t_curves"]
    assert len(themed) == 1 and first[2] == original(at.session_state.fig, None).to_json()
    at.run()  # the same figure object: the JSON of the last time
    assert len(themed) == 1 and at.session_state[charts._SPECS]["t_curves"][2] is first[2]
    at.session_state.new = True
    at.run()  # a new figure: themed and serialised
    assert len(themed) == 2 and at.session_state[charts._SPECS]["t_curves"][0] is not first[0]


@pytest.mark.skipif(not hasattr(time, "pthread_getcpuclockid"), reason="no per-thread CPU clock")
def test_the_servers_work_besides_training_leaves_out_the_run_threads():
    """A run thread busy while the server idles costs the server nothing; the server's own
    work between two refreshes is counted."""
    stop = threading.Event()

    def train() -> None:
        while not stop.is_set():
            sum(range(2000))

    run = threading.Thread(target=train, name=jobs.RUN_THREAD)
    run.start()
    view = live.View(kind="single", handles=[], labels=[])
    try:
        before = live.training_cpu_s()
        live.note_server_cpu(view)
        time.sleep(0.4)  # the run trains; the server waits
        live.note_server_cpu(view)
        end = time.perf_counter() + 0.4
        while time.perf_counter() < end:  # the server works (sharing the CPU with the run)
            sum(range(2000))
        live.note_server_cpu(view)
        assert live.training_cpu_s() - before > 0.2  # the run thread's CPU is read
    finally:
        stop.set()
        run.join()
    idle, busy = view.server_ms
    assert idle < 60 < 100 < busy, (idle, busy)


def _view(server_ms: list[float], refreshes: int = 6) -> live.View:
    view = live.View(kind="single", handles=[], labels=[])
    view.server_ms.extend(server_ms)
    view.refresh_ms.extend([(10.0, 20.0)] * refreshes)
    return view


@pytest.mark.skipif(not hasattr(time, "pthread_getcpuclockid"), reason="no per-thread CPU clock")
def test_a_busy_server_slows_the_pace_once_the_pacer_takes_it_up_and_measures_afresh():
    view = _view([120.0] * 5)  # 120 ms of server work per refresh: 1.25 s keeps it at a tenth
    live.pace(view, live.REFRESH_S)
    assert view.refresh_s == 1.25 and view.paced == live.REFRESH_S
    retuned = view.retuned
    live.pace(view, live.REFRESH_S)  # the panel still runs at 0.5 s: nothing changes meanwhile
    assert view.refresh_s == 1.25 and view.retuned == retuned and len(view.server_ms) == 5
    live.pace(view, 1.25)  # the pacer made the panel again at 1.25 s
    assert view.paced == 1.25 and not view.server_ms  # measured at the old pace: dropped
    view.server_ms.extend([10.0] * 4)
    live.pace(view, 1.25)  # four measures at the new pace are not enough to judge by
    assert view.refresh_s == 1.25


@pytest.mark.skipif(not hasattr(time, "pthread_getcpuclockid"), reason="no per-thread CPU clock")
def test_the_pace_changes_at_most_every_retune_interval(monkeypatch):
    view = _view([120.0] * 5)
    clock = [1000.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: clock[0])
    live.pace(view, live.REFRESH_S)
    assert view.refresh_s == 1.25
    live.pace(view, 1.25)  # taken up
    view.server_ms.extend([10.0] * 5)  # the server is quiet again
    clock[0] += live.RETUNE_AFTER_S - 1
    live.pace(view, 1.25)
    assert view.refresh_s == 1.25  # too soon after the last change
    clock[0] += 1
    live.pace(view, 1.25)
    assert view.refresh_s == live.REFRESH_S


def test_a_quiet_server_keeps_the_fastest_pace_and_the_caption_says_so():
    view = _view([20.0] * 5)
    live.pace(view, live.REFRESH_S)
    assert view.refresh_s == live.REFRESH_S
    text = live.draw_caption(view, live.REFRESH_S, live=True)
    assert "20 ms of work besides training" in text
    assert text.endswith("It refreshes every 0.5 s while a run trains.")
    slow = live.draw_caption(view, 1.25, live=True)  # the caption names the pace it runs at
    assert "It refreshes every 1.25 s while a run trains (not every 0.5 s" in slow


class _Handle:
    """A run handle as a View sees it: `done` once its thread has ended and been polled."""

    def __init__(self) -> None:
        self.done = False
        self.polls = 0

    def poll(self) -> int:
        self.polls += 1
        return 0


def test_a_view_stays_live_until_polled_so_one_script_run_reads_one_answer():
    handle = _Handle()
    view = live.View(kind="single", handles=[handle], labels=["run"])  # type: ignore[list-item]
    assert view.live  # the page greys Train
    handle.done = True  # the run ends before the live panel is drawn
    assert view.live  # the panel still polls, as the page that greyed Train expects
    view.poll()
    assert handle.polls == 1 and not view.live  # the poll sees the end: the panel reruns the page
    other = _Handle()
    view.handles.append(other)  # a second run of a pair: looked at afresh
    assert view.live
    other.done = True
    view.poll()
    assert not view.live
