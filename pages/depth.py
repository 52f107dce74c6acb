"""Depth: the same network at 1 to 32 layers, plain and residual, trained one after another on
the same data - where depth stops helping, and why residual connections fix it."""

import streamlit as st

from dlviz import text
from dlviz.labs.depth import view as depth_view
from dlviz.ui import fields, layout, live, state, url_state

state.ensure_app()
depth_view.init()

st.title("Depth experiment")
st.caption(
    "One click trains the same network at every depth you choose, without and with residual "
    "connections, on the same data, split and seed, one after another."
)
url_state.notice("dp")

settings, main = layout.split("dp")
with settings:
    depth_view.settings()

problem = depth_view.problem() or st.session_state.pop(depth_view.PROBLEM, "")
with main:
    st.markdown(
        """
**What you are looking at.** Each point is one network trained to the end: its depth (hidden
layers of the same width) across, what it reached up. On the defaults - the spiral, 16 units a
layer, ReLU, no normalisation - watch the *training* accuracy of the plain networks: it rises
up to a few layers, then falls, down to guessing at 16 and 32 layers. Not overfitting (the
training data itself is fitted worse) but an optimisation problem: the signal and its gradient
fade on their way through many layers. The residual networks, whose layers add their input to
their output, keep training at every depth (He et al., 2016). The gradient chart shows the cause:
how much gradient reaches the first layer. The sigmoid networks show it most clearly: their
gradient shrinks layer by layer toward the input, by many orders of magnitude in the deepest
ones (Glorot and Bengio, 2010) - see the chart of the gradient along the deepest networks.
"""
    )
    view = live.current_view(depth_view.VIEW)
    busy = view is not None and view.live
    seeds = st.session_state["dp_seeds"] if not fields.problem("dp_seeds") else 1
    n = len(st.session_state["dp_depths"]) * len(st.session_state["dp_variants"]) * int(seeds)
    st.button(
        f"Run the depth experiment ({text.plural(n, 'run')})",
        key="dp_run",
        type="primary",
        icon=":material/stacked_line_chart:",
        on_click=depth_view.start,
        disabled=busy or bool(problem),
    )
    with st.container():
        if problem:
            st.error(problem, icon=":material/error:")
        elif busy:
            st.caption("The experiment is running: stop it to start another.")
        else:
            st.caption(
                "On the defaults it takes about two minutes on a 2-core CPU; the deepest "
                "networks take longest. Every run is also saved to the run store."
            )
    if view is not None:
        st.divider()
        live.live_panel(depth_view.VIEW, single=depth_view.draw)
