"""Transfer: start from a pretrained backbone - frozen feature extraction, fine-tuning or from
scratch - and see which wins, and how it depends on how many labelled images there are."""

import streamlit as st

from dlviz import text
from dlviz.labs.transfer import view as transfer_view
from dlviz.labs.transfer import widgets as transfer
from dlviz.ui import layout, live, state, url_state

state.ensure_app()
transfer.init()

st.title("Transfer learning")
st.caption(
    "Start from a network pretrained on another task: freeze it and train a new output layer, "
    "fine-tune some or all of it, or train the same network from scratch, on the same data."
)
url_state.notice("tl")

settings, main = layout.split("tl")
with settings:
    transfer.backbone_settings()
    backbone, backbone_problem = transfer.load_backbone()
    if backbone is not None:
        transfer.card(backbone)
    elif st.session_state["tl_backbone"] not in (transfer.UPLOAD, transfer.FROM_RUN):
        st.error(backbone_problem, icon=":material/error:")
    counts = transfer.target_counts(backbone)  # (smallest class's training images, classes) or None
    transfer.strategy_settings(backbone, counts)

with main:
    st.markdown(
        """
**What you are looking at.** The backbone's convolutional blocks learned general features -
colour, edges, stripes, corners - on its source task. A new output layer maps them to the
target's classes. *Feature extraction* freezes the blocks: they get no gradient, are not in the
optimizer, and their batch-norm statistics stay as pretrained (the blocks run in eval mode).
*Fine-tuning* lets the last blocks, or all of them, learn too, at a lower learning rate so they
keep what they know. *From scratch* trains the same network from random weights. With few
labelled images, pretrained features win clearly; with many, fine-tuning matches or beats the rest.
"""
    )
    if backbone is not None:
        transfer_view.plan_chart(backbone, counts)
    view = live.current_view(transfer.VIEW)
    eff = live.current_view(transfer.EFF_VIEW)
    busy = any(v is not None and v.live for v in (view, eff))
    blocked = backbone is None
    n_eff = transfer.efficiency_run_count(counts)
    buttons = layout.row("tl_buttons")
    label = transfer.strategy_label()
    buttons.button(
        f"Train: {label.lower()}",
        key="tl_train",
        icon=":material/play_arrow:",
        on_click=transfer.start,
        args=("single",),
        disabled=busy or blocked or bool(transfer.typed_problem("single")),
        width="stretch",
    )
    buttons.button(
        "Compare all four strategies",
        key="tl_compare",
        type="primary",
        icon=":material/compare_arrows:",
        on_click=transfer.start,
        args=("compare",),
        disabled=busy or blocked or bool(transfer.typed_problem("compare")),
        width="stretch",
    )
    buttons.button(
        f"Data efficiency ({text.plural(n_eff, 'run')})",
        key="tl_efficiency",
        icon=":material/query_stats:",
        on_click=transfer.start,
        args=("efficiency",),
        disabled=busy or blocked or bool(transfer.typed_problem("efficiency")),
        width="stretch",
    )
    transfer.efficiency_settings()
    if problem := st.session_state.pop(transfer.PROBLEM, ""):  # shown once, after its click
        st.error(problem, icon=":material/error:")
    elif typed := transfer.typed_problem("efficiency"):  # a refused number: its buttons are off
        st.error(typed, icon=":material/error:")
    elif blocked:
        st.info(backbone_problem, icon=":material/info:")
    elif busy:
        st.caption(
            "Runs are going: stop them to start others. Every run is saved to the run store."
        )
    if eff is not None:
        st.divider()
        st.markdown("### Data efficiency")
        live.live_panel(transfer.EFF_VIEW, single=transfer_view.draw_efficiency)
    if view is not None:
        st.divider()
        st.markdown("### Strategies")
        live.live_panel(transfer.VIEW, single=transfer_view.draw_strategies)
