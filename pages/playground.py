"""Playground: 2-D data, a network you shape, live training."""

import streamlit as st

from dlviz.labs.playground import view as playground_view
from dlviz.labs.playground import view_by_hand
from dlviz.labs.playground import widgets as playground
from dlviz.ui import layout, live, open_settings, state, sweep_link, url_state
from dlviz.ui.widgets import training_controls

state.ensure_app()
playground.init()

st.title("Playground")
st.caption(
    "Pick a dataset, shape a network, press Train and watch it learn. Shallow or deep: try both."
)
open_settings.notice("pg")
url_state.notice("pg")

settings, main = layout.split("pg")
with settings:
    tab_data, tab_net, tab_train = st.tabs(["Data", "Network", "Training"])
    with tab_data:
        data_cfg = playground.data_controls()
    with tab_net:
        model_cfg = playground.network_controls()
    with tab_train:
        training_controls("pg")

problem = playground.settings_problem()

with main:
    view = live.current_view(playground.VIEW)
    busy = view is not None and view.live
    buttons = layout.row("pg_buttons")
    with buttons:
        playground.preset_buttons()
    live.train_buttons(
        "pg",
        playground.start,
        (buttons, buttons),
        disabled=busy or bool(problem),
        pair_disabled=busy or bool(problem),
        pair_help="Same data, split, seed and training settings; 1 hidden layer against 6, "
        f"{st.session_state['pg_epochs']} epochs each (Training tab).",
    )
    with buttons:
        sweep_link.sweep_button(playground.run_config, "Playground", "pg_sweep")
    # One container whatever it holds: the elements after it keep their places from one rerun
    # to the next, so the live charts below are updated, not rebuilt.
    with st.container():
        if problem:
            st.error(problem)
        elif busy:
            st.caption(
                "A run is in progress: stop it to start another. Changing settings does not "
                "affect it."
            )
        elif st.session_state["pg_until_stopped"]:
            st.caption(
                "Train keeps training until you press Stop (or Pause): watch the boundary "
                "take shape. For a fixed number of epochs, turn off *Train until I press Stop* "
                "in the Training tab."
            )
        else:
            st.caption(f"Train trains {st.session_state['pg_epochs']} epochs.")

    ds = state.dataset(data_cfg) if data_cfg is not None else None  # None: a refused seed
    left, right = layout.columns([2, 3], key="pg_preview", min_width=220)
    with left:
        if ds is not None:
            playground_view.data_preview(data_cfg, ds)
    with right:
        if model_cfg is not None and ds is not None:
            playground_view.network_preview(model_cfg, ds)

# The live view under both, across the page: its charts side by side where there is room.
if view is not None:
    st.divider()
    playground_view.live_view()

# One training step of a tiny network of its own, number by number: closed until opened.
view_by_hand.expander()
