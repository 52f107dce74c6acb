"""The Playground's view: a preview of the data and the network before training, and the live
charts of a run (decision boundary, neuron maps, loss, gradient health) or of a shallow vs deep
pair."""

from __future__ import annotations

import streamlit as st

from dlviz import captions
from dlviz.compare import compare_runs, gradient_reading
from dlviz.config import DataConfig, ModelConfig, RunConfig
from dlviz.data import Dataset
from dlviz.figures.curves import curves_figure
from dlviz.figures.gradients import grad_norm_figure
from dlviz.history import RunHistory
from dlviz.labs.playground.figures import (
    boundary_figure,
    network_figure,
    neuron_maps_figure,
    points_figure,
)
from dlviz.labs.playground.widgets import VIEW
from dlviz.models import parameter_count
from dlviz.text import plural
from dlviz.ui import layers as layer_views
from dlviz.ui import layout, live
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import dataset
from dlviz.ui.widgets import DATASET_LABELS


def boundary(h: RunHistory, cfg: RunConfig, key: str, title: str | None = None) -> None:
    if h.snapshot is None:
        st.caption("The decision boundary appears when training starts.")
        return
    ds = dataset(cfg.data)
    fig = boundary_figure(
        h.snapshot,
        ds.x_train.numpy(),
        ds.y_train.numpy(),
        ds.x_test.numpy(),
        ds.y_test.numpy(),
        ds.class_names,
        title=title,
    )
    live_chart(fig, key=key)
    summary(captions.boundary(h))


def draw_single(view: live.View, key: str) -> None:
    h = view.handles[0].history
    cfg = view.handles[0].config
    live.status_line("", h)
    live.metrics_row(h)
    # What the network computes (its boundary, what each neuron responds to), then how training
    # goes (loss and accuracy, whether gradients reach every layer). The second row is filled
    # first: its loss chart is what a person waits for after Train, and the browser draws
    # charts in the order they arrive.
    inside = st.container()
    training = st.container()
    with training:
        left, right = layout.columns(2, key=f"{key}_training", min_width=420, gap="medium")
        with left:
            st.markdown("**Loss and accuracy**: train dashed, test solid")
            live_chart(curves_figure([("", h)]), key=f"{key}_curves")
            summary(captions.loss_curve(h))
        with right:
            st.markdown("**Gradient health**: mean weight-gradient norm per layer")
            if h.layers:
                live_chart(grad_norm_figure(h, height=300), key=f"{key}_grads")
                summary(captions.history_gradients(h))
                norms = h.grad_norms.column("norms")
                if norms:
                    st.caption(gradient_reading(norms[-1], cfg.model.activation))
    with inside:
        left, right = layout.columns([2, 3], key=f"{key}_inside", min_width=360, gap="medium")
        with left:
            boundary(h, cfg, f"{key}_boundary")
        with right:
            st.markdown("**What each neuron responds to** (first hidden layers)")
            if h.snapshot is not None and h.snapshot.neurons:
                live_chart(neuron_maps_figure(h.snapshot, width_px=560), key=f"{key}_neurons")
                summary(captions.neuron_maps(h.snapshot.neurons))
                st.caption(
                    "Each square is one neuron's output over the same plane as the boundary: "
                    "blue positive, orange negative, white zero; each scaled to its own largest "
                    "value."
                )
    # once it has ended: where the classes become linearly separable, layer by layer
    layer_views.draw(h, live.view_dataset(view.handles[0]), key, prefix="pg", noun="points")


def draw_pair(view: live.View, key: str) -> None:
    hs = [h.history for h in view.handles]
    for label, h in zip(view.labels, hs):
        live.status_line(label, h)
    live_chart(curves_figure(list(zip(view.labels, hs))), key=f"{key}_curves")
    summary(captions.loss_curves(list(zip(view.labels, hs))))
    cols = layout.columns(len(hs), key=f"{key}_runs", min_width=360, gap="medium")
    for i, (col, label, handle) in enumerate(zip(cols, view.labels, view.handles)):
        with col:
            h = handle.history
            depth = len(handle.config.model.hidden)
            st.markdown(
                f"**{label.capitalize()}** - {plural(depth, 'hidden layer')}, "
                f"{plural(h.params, 'parameter')}"
            )
            boundary(h, handle.config, f"{key}_boundary_{i}", title=" ")
            if h.layers:
                live_chart(grad_norm_figure(h, height=260), key=f"{key}_grads_{i}")
                summary(captions.history_gradients(h))
    if all(h.done for h in hs):
        st.markdown("#### What happened")
        for sentence in compare_runs(view.labels[0], hs[0], view.labels[1], hs[1]):
            st.markdown(f"- {sentence}")
        ds = live.view_dataset(view.handles[0])
        layer_views.draw_runs(view.labels, hs, ds, key, prefix="pg", noun="points")


def data_preview(data_cfg: DataConfig, ds: Dataset) -> None:
    """The training and test points of the chosen data, before and during training."""
    st.plotly_chart(
        points_figure(
            ds.x_train.numpy(),
            ds.y_train.numpy(),
            ds.x_test.numpy(),
            ds.y_test.numpy(),
            ds.extent,
            ds.class_names,
            height=330,
            title=f"{DATASET_LABELS[data_cfg.name]}: {len(ds.x_train)} train, {len(ds.x_test)} test",
        ),
        key="pg_data_preview",
        config=live.CHART_CONFIG,
    )


def network_preview(model_cfg: ModelConfig, ds: Dataset) -> None:
    """The network the widgets describe, with its parameter count on this data."""
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


def live_view() -> None:
    """The session's Playground run, live while it trains."""
    live.live_panel(VIEW, single=draw_single, pair=draw_pair)
