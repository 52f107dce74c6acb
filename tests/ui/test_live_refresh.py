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
