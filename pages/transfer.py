"""Transfer: start from a pretrained backbone - frozen feature extraction, fine-tuning or from
scratch - and see which wins, and how it depends on how many labelled images there are."""

import streamlit as st

from dlviz import text
from dlviz.labs.transfer import view as tp
from dlviz.ui import layout, live, state

state.ensure_app()
tp.init()

st.title("Transfer learning")
st.caption(
    "Start from a network pretrained on another task: freeze it and train a new output layer, "
    "fine-tune some or all of it, or train the same network from scratch, on the same data."
)

settings, main = layout.split("tl")
with settings:
    tp.backbone_settings()
    backbone, backbone_problem = tp.load_backbone()
    if backbone is not None:
        tp.card(backbone)
    elif st.session_state["tl_backbone"] not in (tp.UPLOAD, tp.FROM_RUN):
        st.error(backbone_problem, icon=":material/error:")
    counts = tp.target_counts(backbone)  # (smallest class's training images, classes) or None
    tp.strategy_settings(backbone, counts)

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
        tp.plan_chart(backbone, counts)
    view = live.current_view(tp.VIEW)
    eff = live.current_view(tp.EFF_VIEW)
    busy = any(v is not None and v.live for v in (view, eff))
    blocked = backbone is None
    n_eff = tp.efficiency_run_count(counts)
    buttons = layout.row("tl_buttons")
    label = tp.strategy_label()
    buttons.button(
        f"Train: {label.lower()}",
        key="tl_train",
        icon=":material/play_arrow:",
        on_click=tp.start,
        args=("single",),
        disabled=busy or blocked or bool(tp.typed_problem("single")),
        width="stretch",
    )
    buttons.button(
        "Compare all four strategies",
        key="tl_compare",
        type="primary",
        icon=":material/compare_arrows:",
        on_click=tp.start,
        args=("compare",),
        disabled=busy or blocked or bool(tp.typed_problem("compare")),
        width="stretch",
    )
    buttons.button(
        f"Data efficiency ({text.plural(n_eff, 'run')})",
        key="tl_efficiency",
        icon=":material/query_stats:",
        on_click=tp.start,
        args=("efficiency",),
        disabled=busy or blocked or bool(tp.typed_problem("efficiency")),
        width="stretch",
    )
    tp.efficiency_settings()
    if problem := st.session_state.pop(tp.PROBLEM, ""):  # shown once, after its click
        st.error(problem, icon=":material/error:")
    elif typed := tp.typed_problem("efficiency"):  # a refused number: its buttons are off
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
        live.live_panel(tp.EFF_VIEW, single=tp.draw_efficiency)
    if view is not None:
        st.divider()
        st.markdown("### Strategies")
        live.live_panel(tp.VIEW, single=tp.draw_strategies)
