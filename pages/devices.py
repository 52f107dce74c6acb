"""Devices: what this machine has, and how fast each of its devices really is - matrix
multiply, convolution, copies, and a training step of a real network."""

import streamlit as st

from dlviz.labs.devices import view as dp
from dlviz.labs.devices import widgets
from dlviz.ui import live, server_board, state, url_state

state.ensure_app()
widgets.init()

st.title("Devices")
st.caption(
    "How much faster is a GPU, and when? Measured here, on this machine, not quoted from a "
    "data sheet."
)
url_state.notice("dv")
state.torch_threads()  # what the sidebar states, and what runs and benchmarks here use
m = dp.machine()
st.dataframe(dp.machine_table(m), hide_index=True, key="dv_machine")
if not m["gpus"] and not m["mps"]:
    st.info(
        "No GPU found: the benchmarks measure the CPU alone. On a machine with a CUDA GPU "
        "(and torch built for it) they measure both, side by side.",
        icon=":material/info:",
    )
st.caption(f"**How it is measured.** {dp.METHOD}")

which, bench_net, quick, go = widgets.measure_settings()

if go:
    report = dp.measure(which, quick, bench_net)
    st.session_state[dp.RESULT] = report
    path = dp.save(report)
    st.session_state["dv_saved"] = str(path) if path else ""

report = widgets.earlier_reports(st.session_state.get(dp.RESULT))

if report is not None:
    st.divider()
    dp.draw_report(report)

st.divider()
st.subheader("Generative families: seconds per training step")
st.caption(
    "A GAN, a VAE, diffusion and flow matching as the Generative lab trains them: how long one "
    "step takes on each device, at the lab's width and at a wide one, where a GPU is likelier "
    "to pay off."
)
if widgets.generative_button():
    st.session_state[dp.GENERATIVE] = dp.measure_generative()
if st.session_state.get(dp.GENERATIVE) is not None:
    dp.draw_generative(st.session_state[dp.GENERATIVE])

st.divider()
st.subheader("Race: the same training on each device, side by side")
race_view = widgets.race_settings()
if race_view is not None:
    live.live_panel(dp.RACE, single=dp.draw_race)

st.divider()
st.subheader("Who trains on this server now")
st.caption(
    "Every run the dashboard trains holds a place on its device while it trains; the rest wait "
    "in line and say why."
)
server_board.draw()
