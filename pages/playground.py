"""Playground: 2-D data, a network you shape, live training."""

import streamlit as st

from dlviz.config import ConfigError, preset
from dlviz.labs.playground import widgets as controls
from dlviz.labs.playground.figures import network_figure, points_figure
from dlviz.models import parameter_count
from dlviz.ui import layout, live, state

VIEW = "pg_view"
PROBLEM = "pg_problem"


def start(kind: str) -> None:
    """Button callback: it runs before the page is drawn, so the page that follows already
    shows the run, with Train disabled and the first loss point on the chart."""
    try:
        config = controls.run_config()
    except ConfigError as e:
        st.session_state[PROBLEM] = f"These settings cannot train: {e}."
        return
    if kind == "single":
        view = live.start_view(VIEW, [config], ["run"], kind="single")
    else:  # one after the other: each trains the epoch limit, even when Train would not stop
        config = config.with_changes(train={"until_stopped": False})
        pair = [preset("shallow", config), preset("deep", config)]
        view = live.start_view(VIEW, pair, ["shallow", "deep"], kind="pair")
    live.wait_first_point(view)


state.ensure_app()
controls.init()

st.title("Playground")
st.caption(
    "Pick a dataset, shape a network, press Train and watch it learn. Shallow or deep: try both."
)

settings, main = layout.split("pg")
with settings:
    tab_data, tab_net, tab_train = st.tabs(["Data", "Network", "Training"])
    with tab_data:
        data_cfg = controls.data_controls()
    with tab_net:
        model_cfg = controls.network_controls()
    with tab_train:
        controls.training_controls()

problem = st.session_state.pop(PROBLEM, "")
try:
    controls.run_config()
except ConfigError as e:
    problem = (
        "Fix the hidden-layer widths (Network tab) to train."
        if e.field == "hidden widths"
        else f"These settings cannot train: {e}."
    )

with main:
    view = live.current_view(VIEW)
    busy = view is not None and view.live
    buttons = layout.row("pg_buttons")
    with buttons:
        controls.preset_buttons()
    live.train_buttons(
        "pg",
        start,
        (buttons, buttons),
        disabled=busy or bool(problem),
        pair_disabled=busy or bool(problem),
        pair_help="Same data, split, seed and training settings; 1 hidden layer against 6, "
        f"{st.session_state['pg_epochs']} epochs each (Training tab).",
    )
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
            st.plotly_chart(
                points_figure(
                    ds.x_train.numpy(),
                    ds.y_train.numpy(),
                    ds.x_test.numpy(),
                    ds.y_test.numpy(),
                    ds.extent,
                    ds.class_names,
                    height=330,
                    title=f"{controls.DATASET_LABELS[data_cfg.name]}: {len(ds.x_train)} train, {len(ds.x_test)} test",
                ),
                key="pg_data_preview",
                config=live.CHART_CONFIG,
            )
    with right:
        if model_cfg is not None and ds is not None:
            params = parameter_count(model_cfg, ds.input_shape, ds.n_classes)
            st.plotly_chart(
                network_figure(
                    2,
                    model_cfg.hidden,
                    ds.n_classes,
                    model_cfg.activation,
                    model_cfg.norm,
                    model_cfg.dropout,
                    model_cfg.residual,
                    params=params,
                    height=330,
                ),
                key="pg_network",
                config=live.CHART_CONFIG,
            )

# The live view under both, across the page: its charts side by side where there is room.
if view is not None:
    st.divider()
    live.live_panel(VIEW)
