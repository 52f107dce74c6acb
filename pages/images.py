"""Images: a convolutional network on image data, and what each of its layers sees as it learns."""

import streamlit as st

from dlviz.labs.images import view as image_view
from dlviz.labs.images import widgets as images
from dlviz.ui import layout, live, open_settings, state, sweep_link, url_state
from dlviz.ui.widgets import training_controls

state.ensure_app()
images.init()

st.title("Images")
st.caption(
    "Shapes or handwritten digits, a convolutional network you shape, and every layer's feature "
    "maps as it learns: edges first, then parts, then whole shapes."
)
open_settings.notice("im")
url_state.notice("im")

settings, main = layout.split("im")
with settings:
    tab_data, tab_net, tab_train = st.tabs(["Data", "Network", "Training"])
    with tab_data:
        images.data_controls()
    with tab_net:
        images.network_controls()
    with tab_train:
        training_controls("im")

ready = images.readiness()
problem = ready.problem or st.session_state.pop(images.PROBLEM, "")

with main:
    view = live.current_view(images.VIEW)
    busy = view is not None and view.live
    buttons = layout.row("im_buttons")
    with buttons:
        images.preset_buttons()
    live.train_buttons(
        "im",
        images.start,
        (buttons, buttons),
        disabled=busy or bool(problem),
        pair_disabled=busy or bool(ready.pair_problem),
        pair_help="The Shallow and Deep presets, one after the other, on the same data, seed and "
        "training settings (Deep with the residual switch as it is).",
    )
    with buttons:
        sweep_link.sweep_button(images.run_config, "Image lab", "im_sweep")
    # One container whatever it holds: the elements after it keep their places from one rerun
    # to the next, so the live charts below are updated, not rebuilt.
    with st.container():
        if problem:
            st.error(problem, icon=":material/error:")
        elif busy:
            st.caption(
                "A run is in progress: stop it to start another. Changing settings does not "
                "affect it."
            )

    left, right = layout.columns([2, 3], key="im_preview", min_width=220, gap="medium")
    with left:
        try:
            ds = state.dataset(images.data_config())
        except ValueError:
            ds = None
        with st.container():
            if ds is not None:
                st.markdown(f"**Samples**: {len(ds.x_train)} train, {len(ds.x_test)} test images")
                st.plotly_chart(
                    images.preview_figure(ds),
                    key="im_data_preview",
                    config=live.CHART_CONFIG,
                )
                st.caption(images.preview_caption(ds))
    with right:
        with st.container():
            if ready.rows is not None:
                st.markdown(images.summary_line(ready.rows))
                st.plotly_chart(
                    images.network_figure(ready.rows, ready.input_shape),
                    key="im_network",
                    config=live.CHART_CONFIG,
                )
    # Open before the first run; once a run is on, the live view below matters more.
    with st.expander("Network: edit the blocks, see every layer", expanded=view is None):
        tab_blocks, tab_layers = st.tabs(["Blocks", "Layers: shapes, parameters, FLOPs"])
        with tab_blocks:
            images.blocks_editor()
            st.caption(
                "Edit a cell, add a row at the bottom, or select rows and delete them. Each "
                "block: convolution ('same' padding) -> norm -> activation -> dropout, plus its "
                "input when residual, then 2x2 pooling. *default* takes the Network tab's setting."
            )
        with tab_layers:
            with st.container():
                if ready.rows is not None:
                    images.layer_table(ready.rows)
                else:
                    st.caption("Fix the problem above to see the layers.")

# The live view under both, across the page: its charts side by side where there is room.
if view is not None:
    st.divider()
    image_view.live_view(images.VIEW)
