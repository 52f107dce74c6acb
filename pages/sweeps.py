"""Sweeps: a few settings varied over several seeds, every trial a run in the store; the mean
over seeds with its 95% band, parallel coordinates, what each setting explains."""

import streamlit as st

from dlviz.labs.sweeps import view, widgets
from dlviz.ui import layout, state, url_state

state.ensure_app()
widgets.init()

st.title("Sweeps")
st.caption(
    "Vary a few settings, repeat each combination over several seeds, and see which "
    "differences hold beyond the luck of one seed. Every trial is a run in the store."
)
url_state.notice("sw")

settings, main = layout.split("sw")
with settings:
    widgets.settings()

with main:
    source, problem, n = widgets.checked()
    problem = problem or st.session_state.pop(view.PROBLEM, "")
    st.button(
        f"Start the sweep ({n} trials)" if n else "Start the sweep",
        key="sw_start",
        type="primary",
        icon=":material/play_arrow:",
        on_click=view.start,
        disabled=source is None,
    )
    if problem:
        st.error(problem, icon=":material/error:")
    else:
        st.caption(
            f"{n} trials: every combination of the axes' values, once per seed, "
            f"{st.session_state['sw_parallel']} at a time. The sweep runs in a process of its "
            "own: it goes on if you close this tab, and this page follows it when you come "
            "back. Starting the same sweep again resumes it. From a terminal: `dlviz sweep "
            "FILE`, also on a Ray cluster (see the README)."
        )
    st.divider()
    view.live_sweep()
