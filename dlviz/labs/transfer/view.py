"""The Transfer page's view: the network's frozen and trainable layers, the four strategies side
by side (how far each layer moved from its pretrained weights and representation, where each
strategy separates the classes), and the data-efficiency experiment."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from dlviz import captions, jobs, runs, transfer
from dlviz.data import Dataset
from dlviz.figures.curves import curves_figure
from dlviz.figures.rasters import filters_figure
from dlviz.labs.transfer import efficiency
from dlviz.labs.transfer import layers as transfer_layers
from dlviz.labs.transfer.figures import (
    backbone_similarity_figure,
    efficiency_figure,
    transfer_plan_figure,
    weight_change_figure,
)
from dlviz.labs.transfer.widgets import AVAILABLE, transfer_settings
from dlviz.text import counted, plural
from dlviz.ui import layers as layer_views
from dlviz.ui import layout, live
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import remembered


def plan_chart(b: transfer.Backbone, counts: tuple[int, int] | None) -> None:
    cfg = transfer_settings(b)
    # the target's classes set the output layer; a target that cannot load yet: two
    n_classes = counts[1] if counts is not None else 2
    rows = transfer.plan(b, cfg, n_classes)
    trainable = sum(r["params"] for r in rows if r["role"] != "frozen")
    total = sum(r["params"] for r in rows)
    st.markdown(
        f"**The network for {transfer.STRATEGY_LABELS[cfg.strategy].lower()}**: "
        f"{trainable:,} of {total:,} parameters train ({trainable / total:.1%})"
    )
    st.plotly_chart(transfer_plan_figure(rows), key="tl_plan", config=live.CHART_CONFIG)


def _strategy_rows(view: live.View) -> list[dict[str, Any]]:
    rows = []
    for handle in view.handles:
        h = handle.history
        final = h.final if h.status == "finished" else {}  # a stopped run is not compared
        tests = [v for v in h.epochs.column("test_accuracy") if v is not None]
        rows.append(
            {
                "strategy": handle.config.transfer.strategy,
                "label": h.label,
                "params": h.params,  # 0 until the run starts
                "trainable": h.trainable_params,
                "seconds_per_epoch": h.elapsed / h.epoch if h.epoch else 0.0,
                "test_accuracy": final.get("test_accuracy", math.nan),
                "best": max(tests, default=math.nan),
                "status": h.status,
            }
        )
    return rows


SMALL_TEST_SET = 60


def small_test_set_note(histories: list) -> None:
    """A caption where the test set is so small that one image moves the accuracy a lot."""
    n = max((h.test_samples for h in histories if h.done), default=0)
    if 0 < n < SMALL_TEST_SET:
        st.caption(
            f":material/info: The test set has only {plural(n, 'image')}, so one image is worth "
            f"{100 / n:.0f} points of accuracy: add pictures (or raise the test share on Your "
            "images) for a steadier comparison."
        )


def draw_strategies(view: live.View, key: str) -> None:
    hs = [h.history for h in view.handles]
    for label, h in zip(view.labels, hs):
        live.status_line(label, h)
    st.markdown("**Loss and accuracy of each strategy**: train dashed, test solid")
    live_chart(
        curves_figure(list(zip(view.labels, hs)), show_batch_loss=False),
        key=f"{key}_curves",
    )
    summary(captions.loss_curves(list(zip(view.labels, hs))))
    st.caption(
        "Accuracies are measured in eval mode, with each batch-norm layer's running statistics. "
        "From scratch on few images those statistics lag behind fast-changing weights, so its "
        "curves can be rough or fall; more epochs let them settle. The pretrained blocks start "
        "with settled statistics."
    )
    rows = _strategy_rows(view)
    table = pd.DataFrame(
        {
            "strategy": [r["label"] for r in rows],
            "trainable parameters": [f"{r['trainable']:,}" if r["params"] else "-"
                                     for r in rows],
            "of": [f"{r['params']:,}" if r["params"] else "-" for r in rows],
            "s / epoch": [f"{r['seconds_per_epoch']:.2f}" if r["seconds_per_epoch"] else "-"
                          for r in rows],
            "final test accuracy": [f"{r['test_accuracy']:.1%}"
                                    if math.isfinite(r["test_accuracy"]) else "-" for r in rows],
            "best test accuracy": [f"{r['best']:.1%}" if math.isfinite(r["best"]) else "-"
                                   for r in rows],
        }
    )  # fmt: skip
    st.dataframe(table, hide_index=True, key=f"{key}_table")
    if any(h.done for h in hs):
        unfinished = [h.label for h in hs if h.done and h.status != "finished"]
        if unfinished and all(h.done for h in hs):
            st.caption(
                f"{', '.join(unfinished)} did not finish, so "
                f"{counted(len(unfinished), 'it is', 'they are')} left out of the reading "
                "and of the final accuracies."
            )
        for sentence in efficiency.strategies_reading(rows):
            st.markdown(f"- {sentence}")
        small_test_set_note(hs)
    moved = [
        (h.label, handle.config.transfer.strategy, h.summary["weight_change"])
        for handle, h in zip(view.handles, hs)
        if h.done and isinstance(h.summary.get("weight_change"), dict)
    ]
    if moved:
        _weights_moved(view, moved, key)
    if not view.live:
        try:
            datasets = _run_datasets(view)
        except transfer.BackboneError as e:  # the data is resized to the backbone's input
            st.caption(f"The probes cannot be fitted without the backbone: {e}")
            return
        layer_views.draw_runs(
            view.labels,
            hs,
            datasets,
            key,
            prefix="tl",
            noun="images",
            title="Where each strategy separates the classes",
            cka=False,
        )


BACKBONE_CKA_FOR = "_tl_backbone_cka_for"  # the networks whose CKA was asked for
CACHE = "_tl_layers"  # what was computed for them (`remembered`)


def _network_data(handle: jobs.RunHandle, backbone: transfer.Backbone) -> Dataset:
    """The data a run's network took: its training images (each class cut to the run's
    per_class; the test set whole), as the backbone takes them."""
    data = live.view_dataset(handle)
    if handle.data is not None:  # a person's images, given whole: cut as the run cut them
        data = jobs.load_data(handle.config, data)
    return transfer.adapt_data(data, backbone.input_shape)


def _backbone(handle: jobs.RunHandle) -> transfer.Backbone:
    """The backbone a run started from, whatever is chosen on the page now."""
    return transfer.load_backbone(handle.config.transfer.backbone, runs.default_root())


def _run_datasets(view: live.View) -> list[Dataset]:
    """Each run's data as its network took it (`_network_data`), once per view."""
    return remembered(
        CACHE,
        "data",
        tuple(view.handles),  # the objects, not their ids: a freed run's id can come again
        lambda: [_network_data(handle, _backbone(handle)) for handle in view.handles],
    )


def _backbone_similarities(
    done: list[jobs.RunHandle],
) -> tuple[list[transfer_layers.Similarity], int]:
    """Each finished run's CKA against its pretrained backbone, layer by layer, on the first
    CKA inputs of its test set (the runs of one comparison share the backbone and the test
    set), and how many images that is."""
    backbone = _backbone(done[0])
    data = _network_data(done[0], backbone)
    x = layer_views.cka_inputs(data)
    pretrained = transfer_layers.pretrained_network(backbone, data.n_classes)
    sims = transfer_layers.similarity_to_pretrained(
        pretrained, [handle.history.model for handle in done], x
    )
    rows = [
        (handle.history.label, handle.config.transfer.strategy, cka)
        for handle, cka in zip(done, sims)
    ]
    return rows, len(x)


def _representations_moved(view: live.View, key: str) -> None:
    """On a button, CKA of each finished network's conv layers against the pretrained ones."""
    done = [h for h in view.handles if h.history.done and h.history.model is not None]
    if view.live or not done:
        return
    source = tuple(h.history.model for h in done)  # the networks (an id can come again)
    pressed = st.session_state.get(BACKBONE_CKA_FOR) == source
    st.button(
        "Compare each layer with its pretrained self (CKA)",
        key=f"{key}_backbone_cka_fit",
        icon=":material/compare:",
        disabled=pressed,
        on_click=st.session_state.__setitem__,
        args=(BACKBONE_CKA_FOR, source),
        help="Linear CKA between each conv layer's activations in the pretrained backbone and "
        "in each trained network, on the same test images (seconds).",
    )
    if not pressed:
        return
    try:
        with st.spinner("Comparing each layer with the pretrained one..."):
            rows, n = remembered(
                CACHE, "backbone_cka", source, lambda: _backbone_similarities(done)
            )
    except transfer.BackboneError as e:
        st.caption(f"The pretrained layers cannot be compared: {e}")
        return
    st.markdown("**How far each layer's representation moved**: similarity to the pretrained layer")
    st.plotly_chart(
        backbone_similarity_figure(rows), key=f"{key}_backbone_cka", config=live.CHART_CONFIG
    )
    for sentence in transfer_layers.backbone_reading(rows):
        st.markdown(f"- {sentence}")
    scratch = any(strategy == "scratch" for _, strategy, _ in rows)
    st.caption(
        layer_views.cka_caption(n, "images")
        + " Here each conv layer of a trained network against the same layer of the pretrained "
        "backbone: 1 where it represents the images as the pretrained layer did. A layer's CKA "
        "also carries what the layers below pass on to it: a layer with random weights on top "
        "of pretrained ones can still score high"
        + (", so read each line against the dashed one, from scratch." if scratch else ".")
    )


def _weights_moved(view: live.View, moved: list, key: str) -> None:
    st.markdown("#### How far each layer moved from its pretrained weights")
    left, right = layout.columns([3, 2], key=f"{key}_moved_row", min_width=300, gap="medium")
    with left:
        live_chart(weight_change_figure(moved), key=f"{key}_moved")
        summary(captions.weight_change(moved))
        st.caption(
            "Relative change of each conv layer's weights, ||W - W0|| / ||W0||, after training. "
            "Frozen layers stay at zero. Fine-tuned, the last layers usually move most: early "
            "layers hold general edges and colours, later ones the source task's own features. "
            "How far a layer's weights moved does not say how far its representation of the "
            "images moved: CKA against the pretrained layer, below, does."
        )
        _representations_moved(view, key)
    with right:
        # the runs whose first layer learned (fine-tune all, or the top N with N = all)
        tuned = [
            (i, h.history)
            for i, h in enumerate(view.handles)
            if h.history.model is not None
            and next(iter(h.history.summary.get("weight_change", {}).values()), 0) > 0
        ]
        if not tuned:
            st.caption("No run fine-tuned the first layer, so its filters did not change.")
            return
        labels = {i: h.label for i, h in tuned}
        pick = st.selectbox(
            "First-layer filters of",
            list(labels),
            index=len(labels) - 1,
            format_func=labels.get,
            key=f"{key}_pick",
        )
        # the backbone that run started from, whatever is chosen on the page now
        try:
            b = transfer.load_backbone(
                view.handles[pick].config.transfer.backbone, runs.default_root()
            )
        except transfer.BackboneError as e:
            st.caption(f"Its pretrained filters cannot be shown: {e}")
            return
        h = dict(tuned)[pick]
        before = b.first_filters().numpy()
        after = h.model.block_conv(0).weight.detach().cpu().numpy()
        st.markdown("**Before** (pretrained)")
        st.plotly_chart(
            filters_figure(before, tile=44, cols=8), key=f"{key}_before",
            config=live.CHART_CONFIG,
        )  # fmt: skip
        st.markdown("**After** fine-tuning")
        # (each filter scaled to its own range, as RGB: a small change barely shows, which is
        # the point - see the chart of how far each layer moved)
        st.plotly_chart(
            filters_figure(after, tile=44, cols=8), key=f"{key}_after",
            config=live.CHART_CONFIG,
        )  # fmt: skip


def efficiency_rows(view: live.View) -> list[dict[str, Any]]:
    """One row per run: strategy, examples per class it used, test accuracy (NaN until done)."""
    rows = []
    available = int(st.session_state.get(AVAILABLE, 0))
    for handle in view.handles:
        h = handle.history
        cfg = handle.config
        used = cfg.data.per_class or available  # 0: all of the smallest class's images
        final = h.final if h.done and h.status == "finished" else {}
        rows.append(
            {
                "strategy": cfg.transfer.strategy,
                "label": transfer.STRATEGY_LABELS[cfg.transfer.strategy],
                "per_class": used,
                "test_accuracy": final.get("test_accuracy", math.nan),
            }
        )
    return rows


def draw_efficiency(view: live.View, key: str) -> None:
    current = live.ladder_progress([h.history for h in view.handles])
    rows = efficiency_rows(view)
    st.markdown("**Test accuracy against labelled training images per class**")
    live_chart(efficiency_figure(rows), key=f"{key}_chart")
    summary(captions.efficiency(rows))
    if current is None:
        for sentence in efficiency.efficiency_reading(rows):
            st.markdown(f"- {sentence}")
        small_test_set_note([h.history for h in view.handles])
