"""The Images page's live view: what each layer of a training CNN sees (feature maps of a
chosen test image, scrubbable through the run), its first-layer filters, curves and gradient
health; after the run, the confusion matrix, the misclassified test images and what a channel
looks for. Shallow vs deep shows both runs' feature maps of the same image side by side.

Everything here is drawn inside the live fragment (`live.live_panel`): the number and order of
elements stay the same from one refresh to the next, so the live charts update in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
import torch

from dlviz import captions
from dlviz.compare import compare_runs, config_activation, gradient_verdict
from dlviz.data import Dataset
from dlviz.figures.classes import confusion_figure
from dlviz.figures.curves import curves_figure
from dlviz.figures.gradients import grad_norm_figure
from dlviz.figures.rasters import feature_maps_figure, filters_figure, image_grid_figure
from dlviz.history import RunHistory
from dlviz.labs.images import view_channels, view_projector
from dlviz.labs.images.figures import dead_units_figure
from dlviz.probes import FeatureSnapshot, ImageProbe, top_activating
from dlviz.text import plural
from dlviz.ui import fields, layout, live
from dlviz.ui import layers as layer_views
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import remembered
from dlviz.ui.widgets import snapshot_slider, test_item_chooser

KEEP = "session"  # widget values survive a page switch


def _cached_figure(name: str, source: Any, build):
    """The figure `build()` made for `source` the last time, if `source` is the same object:
    a feature-map figure costs tens of ms, and a refresh has 50 ms for everything."""
    return remembered("_im_figures", name, source, build)


def _final_snapshot(
    h: RunHistory, x_test: torch.Tensor, index: int, start: int = 0, slot: str = "single"
) -> FeatureSnapshot | None:
    """Feature maps of test image `index` (channels from `start` on) through the trained model
    (ended runs only), so a person can keep choosing images after training."""
    if h.model is None:
        return None
    cache = st.session_state.setdefault("_im_final_snaps", {})
    hit = cache.get(slot)
    if hit is not None and hit[0] is h.model and hit[1] == (index, start):
        return hit[2]
    probe = ImageProbe(x_test, sample_index=index)
    probe.choose(channel_start=start)
    snap = probe(h.model, h.step, h.epoch)
    cache[slot] = (h.model, (index, start), snap)
    return snap


def _shows(snap: FeatureSnapshot, index: int, start: int) -> bool:
    """Whether `snap` is of test image `index` with the channels from `start` on."""
    if snap.sample_index != index:
        return False
    per = max((len(m) for m in snap.maps.values()), default=0)
    return all(
        snap.first_channel.get(name, 0) == min(start, max(snap.channels[name] - per, 0))
        for name in snap.maps
    )


def _channel_pager(view: live.View) -> int:
    """Which channels the maps of wide layers show, 32 at a time (a select box, only for
    networks with a layer wider than that); every run of the view snapshots those next."""
    per = view.handles[0].probe.choice().max_channels
    widest = max(
        (b.channels or 0 for handle in view.handles for b in handle.config.model.blocks),
        default=0,
    )
    starts = list(range(0, widest, per))
    ss = st.session_state
    if ss.get("im_channel_start") not in starts:
        ss["im_channel_start"] = 0
    with st.container():
        if widest > per:
            st.selectbox(
                "Channels shown",
                starts,
                key="im_channel_start",
                format_func=lambda s: f"{s + 1} to {min(s + per, widest)} of {widest}",
                help=f"Layers with more than {per} channels show {per} at a time: pick which. "
                f"Layers with fewer show all of theirs.",
            )
    start = int(ss["im_channel_start"]) if widest > per else 0
    for handle in view.handles:
        handle.probe.choose(channel_start=start)  # the run's next snapshot takes these channels
    return start


def _sample_chooser(view: live.View, ds: Dataset) -> int:
    """Which test image the feature maps show (a number and a Random button, side by side);
    every run of the view snapshots that one next."""
    n = len(ds.x_test)
    return test_item_chooser(
        view,
        "im_sample",
        n,
        "Test image",
        help=f"Which of the {plural(n, 'test image')} to look at.",
        random_help="Draw one of the test images at random.",
        row_key="im_sample_row",
    )


def _image_caption(ds: Dataset, index: int) -> str:
    return f"test image {index}: {ds.class_names[int(ds.y_test[index])]}"


def _sample_chart(ds: Dataset, index: int, key: str, tile: int) -> None:
    """Test image `index`, captioned with its class."""
    live_chart(
        _cached_figure(
            "sample",
            (id(ds), index, tile),
            lambda: image_grid_figure(
                ds.x_test[index : index + 1].numpy(), [_image_caption(ds, index)], cols=1, tile=tile
            ),
        ),
        key=f"{key}_sample",
    )


def _feature_maps(view: live.View, key: str) -> None:
    """Which test image and which snapshot (top row); the image and the first layer's filters
    (left); every layer's feature maps (right)."""
    handle = view.handles[0]
    h = handle.history
    ds = live.view_dataset(handle)
    st.markdown("#### What each layer sees")
    choose, scrub = layout.columns(
        [2, 3], key=f"{key}_choose", min_width=300, gap="medium", vertical_alignment="bottom"
    )
    with choose:
        index = _sample_chooser(view, ds)
        start = _channel_pager(view)
    snap, note = None, ""
    with scrub:
        if h.fmaps:
            pos = snapshot_slider(f"{key}_fmap", h, h.fmaps)
            snap = h.fmaps[pos]
            if h.done and pos == len(h.fmaps) - 1 and not _shows(snap, index, start):
                snap = _final_snapshot(h, ds.x_test, index, start) or snap
            elif not h.done and not _shows(snap, index, start):
                note = "Your choice shows from the next snapshot, in a second or so."
    left, right = layout.columns([1, 3], key=f"{key}_maps", min_width=220, gap="medium")
    with left:
        _sample_chart(ds, snap.sample_index if snap is not None else index, key, tile=160)
        with st.container():
            if note:
                st.caption(note)
        st.markdown("**Filters of the first layer**")
        with st.container():
            if snap is not None and snap.filters is not None:
                cols = 4 if len(snap.filters) <= 16 else 8
                live_chart(
                    _cached_figure(
                        "filters",
                        snap,
                        lambda: filters_figure(snap.filters, tile=40, cols=cols),
                    ),
                    key=f"{key}_filters",
                )
                st.caption(
                    "One square per filter: "
                    + (
                        "its weights on the red, green and blue inputs as one colour image."
                        if snap.filters.shape[1] == 3
                        else "blue weights add the pixel under them, orange ones subtract it."
                    )
                )
    with right:
        if snap is None:
            st.caption(
                "Feature maps appear with the first snapshot, a moment after training starts."
            )
            return
        live_chart(
            _cached_figure("fmaps", snap, lambda: feature_maps_figure(snap)),
            key=f"{key}_fmaps",
        )
        when = (
            "the trained network"
            if h.done and snap.step == h.step
            else f"epoch {snap.epoch}, step {snap.step:,}"
        )
        st.caption(
            f"Every layer's output for {_image_caption(ds, snap.sample_index)} ({when}). One "
            "square per channel; each layer on one colour scale, from zero (dark) to its "
            "largest value (yellow). Early layers respond to edges and strokes, later ones to "
            "larger parts, on coarser maps."
        )


def _activation(h: RunHistory) -> str:
    model = h.config.get("model", {}) if isinstance(h.config, dict) else {}
    return config_activation({"model": model})


def _has_relu(h: RunHistory) -> bool:
    """Whether any layer of the run's network is a ReLU (the only units that can die)."""
    model = h.config.get("model", {}) if isinstance(h.config, dict) else {}
    acts = [b.get("activation") or model.get("activation") for b in model.get("blocks") or []]
    return "relu" in (acts or [model.get("activation", "relu")])


def _warnings(h: RunHistory, noun: str = "image") -> list[tuple[str, str]]:
    """(kind, sentence) readings of the gradients and the dead ReLUs; kind "warn" or "ok"."""
    out = []
    norms = h.grad_norms.column("norms")
    kind, reading = gradient_verdict(norms[-1] if norms else [], _activation(h))
    out.append(("warn" if kind == "bad" else "ok", reading))
    shares = h.dead.last["shares"] if h.dead.last else {}
    if not _has_relu(h):
        out.append(
            (
                "ok",
                f"No ReLU layers here ({_activation(h)} units), so none can die; saturated "
                "units show as weak gradients instead.",
            )
        )
    elif shares:
        worst = max(shares, key=shares.get)
        share = shares[worst]
        if share > 0.5:
            out.append(
                (
                    "warn",
                    f"Most ReLU channels of {worst} are dead ({share:.0%} output zero for every "
                    f"probe {noun}): they pass no gradient and learn nothing. Try a lower "
                    "learning rate, batch norm or residual connections.",
                )
            )
        else:
            out.append(
                ("ok", f"Dead ReLU channels: at most {share:.0%} in any layer ({worst}).")
                if share > 0
                else ("ok", "No ReLU channel is dead in any layer.")
            )
    return out


def health(h: RunHistory, key: str, n_test: int, noun: str = "image") -> None:
    """Curves, gradient health and dead ReLUs of a run on `n_test` test items (images, or the
    Sound lab's clips: `noun`), with what the gradients say."""
    left, right = layout.columns(2, key=f"{key}_health", min_width=420, gap="medium")
    with left:
        st.markdown("**Loss and accuracy**: train dashed, test solid")
        live_chart(curves_figure([("", h)], height=320), key=f"{key}_curves")
        summary(captions.loss_curve(h))
        with st.container():
            if 0 < h.test_samples < n_test:
                st.caption(
                    f"While training, each epoch's metrics use a random {h.test_samples} of the "
                    f"{n_test} test {noun}s (and a like share of the training {noun}s), so "
                    "measuring costs under 3% of the training time; the last epoch uses all of "
                    "them."
                )
    with right:
        st.markdown("**Gradient health**: mean weight-gradient norm per layer")
        if h.layers:
            # drawn again only when an epoch adds its norms (a refresh has no time to spare)
            grads = _cached_figure(
                f"{key}_grads",
                (id(h), h.grad_norms.seen),
                lambda: grad_norm_figure(h, height=320),
            )
            live_chart(grads, key=f"{key}_grads")
            summary(captions.history_gradients(h))
    left, right = layout.columns(2, key=f"{key}_dead_row", min_width=420, gap="medium")
    with left:
        st.markdown(
            f"**Dead ReLUs**: channels that output zero for every probe {noun}"
            if _has_relu(h)
            else "**Dead ReLUs**: none in this network, which has no ReLU layers"
        )
        with st.container():  # (no chart of what cannot happen: no ReLU, no dead units)
            if _has_relu(h):
                dead = _cached_figure(
                    f"{key}_dead", (id(h), h.dead.seen), lambda: dead_units_figure(h, height=300)
                )
                live_chart(dead, key=f"{key}_dead")
                summary(captions.dead_units(h))
    with right:
        st.markdown("**What the gradients say**")
        for kind, sentence in _warnings(h, noun):
            if kind == "warn":
                st.warning(sentence, icon=":material/warning:")
            else:
                st.caption(sentence)


def _results(view: live.View, key: str) -> None:
    """After the run: the confusion matrix, what a chosen channel responds to most, and the
    misclassified test images."""
    handle = view.handles[0]
    h = handle.history
    if not h.done or not h.classes:
        return
    ds = live.view_dataset(handle)
    st.divider()
    left, right = layout.columns(2, key=f"{key}_results", min_width=360, gap="medium")
    with left:
        st.markdown(f"#### Confusion matrix - test accuracy {h.classes['accuracy']:.1%}")
        st.plotly_chart(
            confusion_figure(h.classes["confusion"], ds.class_names, height=380),
            key=f"{key}_confusion",
            config=live.CHART_CONFIG,
        )
        st.caption("Rows: the true class; columns: what the network said. The diagonal is right.")
    with right:
        if h.model is not None:
            _channel_explorer(h, ds, key)
    view_channels.draw(h, ds, key)  # what the chosen layer's channels want, under it
    cm = np.asarray(h.classes["confusion"])
    total = int(cm.sum() - np.trace(cm))
    wrong = h.classes["misclassified"][:24]
    st.markdown(f"#### Misclassified test images - {total} of {len(ds.x_test)}")
    if wrong:
        names = ds.class_names
        st.plotly_chart(
            image_grid_figure(
                ds.x_test[[w["index"] for w in wrong]].numpy(),
                [f"{names[w['true']]} → {names[w['pred']]} ({w['confidence']:.0%})" for w in wrong],
                cols=6,
                tile=96,
            ),
            key=f"{key}_wrong",
            config=live.CHART_CONFIG,
        )
        st.caption(
            "true → predicted (confidence), most confidently wrong first"
            + (f"; the first 24 of {total}." if total > 24 else ".")
        )
    else:
        st.success("Every test image is classified correctly.", icon=":material/check:")


def _channel_explorer(h: RunHistory, ds: Dataset, key: str) -> None:
    st.markdown("#### What a channel looks for")
    layers = [f"conv{i + 1}" for i in range(len(h.model.blocks))]
    ss = st.session_state
    if ss.get("im_explore_layer") not in layers:
        ss["im_explore_layer"] = layers[-1]
    c1, c2 = layout.columns(2, key="im_explore_row", min_width=140)
    layer = c1.selectbox("Layer", layers, key="im_explore_layer")
    channels = h.model.block_shapes[layers.index(layer)][0]
    ss.setdefault("im_explore_channel", 0)
    fields.number_input(c2, "im_explore_channel", f"Channel (0 to {channels - 1})", persist=False)
    refused = fields.problem("im_explore_channel", 0, channels - 1, "Channel")
    if refused:
        st.error(refused, icon=":material/error:")
        return
    channel = int(ss["im_explore_channel"])
    cache = ss.setdefault("_im_top", {})
    hit = cache.get("top")
    if hit is not None and hit[0] is h.model and hit[1] == (layer, channel):
        idx, scores = hit[2]
    else:
        idx, scores = top_activating(h.model, ds.x_test, layer, int(channel), k=12)
        cache["top"] = (h.model, (layer, channel), (idx, scores))
    st.plotly_chart(
        image_grid_figure(
            ds.x_test[idx].numpy(),
            [f"{ds.class_names[int(ds.y_test[i])]} ({s:.2g})" for i, s in zip(idx, scores)],
            cols=4,
            tile=72,
        ),
        key=f"{key}_top",
        config=live.CHART_CONFIG,
    )
    st.caption(
        "The 12 test images that excite this channel most (its mean activation in brackets): "
        "what it has learned to look for. Early layers pick edges and strokes; deeper ones, "
        "corners and whole shapes."
    )


def draw_single(view: live.View, key: str) -> None:
    h = view.handles[0].history
    live.status_line("", h)
    live.metrics_row(h)
    _feature_maps(view, key)
    health(h, key, len(live.view_dataset(view.handles[0]).x_test))
    view_projector.draw(h, live.view_dataset(view.handles[0]), key)
    layer_views.draw(h, live.view_dataset(view.handles[0]), key, prefix="im")
    _results(view, key)


def draw_pair(view: live.View, key: str) -> None:
    """Both runs' curves on one chart, then their feature maps of the same test image side by
    side, and once both have ended, what happened in plain words."""
    hs = [handle.history for handle in view.handles]
    for label, h in zip(view.labels, hs):
        live.status_line(label, h)
    live_chart(curves_figure(list(zip(view.labels, hs)), height=320), key=f"{key}_curves")
    summary(captions.loss_curves(list(zip(view.labels, hs))))
    ds = live.view_dataset(view.handles[0])
    st.markdown("#### What each layer sees")
    choose, image, _ = layout.columns(
        [2, 1, 2], key=f"{key}_choose", min_width=180, gap="medium", vertical_alignment="center"
    )
    with choose:
        index = _sample_chooser(view, ds)
        start = _channel_pager(view)
    with image:
        _sample_chart(ds, index, key, tile=110)
    cols = layout.columns(2, key=f"{key}_runs", min_width=360, gap="medium")
    for i, (col, label, handle) in enumerate(zip(cols, view.labels, view.handles)):
        h = handle.history
        with col:
            depth = len(handle.config.model.blocks)
            st.markdown(
                f"**{label.capitalize()}** - {plural(depth, 'conv layer')}, "
                f"{plural(h.params, 'parameter')}"
            )
            snap = h.fmaps[-1] if h.fmaps else None
            if h.done and (snap is None or not _shows(snap, index, start)):
                snap = _final_snapshot(h, ds.x_test, index, start, slot=f"pair{i}")
            if snap is None:
                st.caption("Its feature maps appear once it starts training.")
                continue
            live_chart(
                _cached_figure(
                    f"pair{i}",
                    snap,
                    # half the main column: small tiles, so the figure is not shrunk to fit
                    lambda snap=snap: feature_maps_figure(snap, tile=21),
                ),
                key=f"{key}_fmaps_{i}",
            )
            when = "trained" if h.done and snap.step == h.step else f"epoch {snap.epoch}"
            st.caption(f"{_image_caption(ds, snap.sample_index)} ({when})")
    if all(h.done for h in hs):
        st.markdown("#### What happened")
        for sentence in compare_runs(view.labels[0], hs[0], view.labels[1], hs[1]):
            st.markdown(f"- {sentence}")
        layer_views.draw_runs(view.labels, hs, ds, key, prefix="im")


def live_view(key: str) -> None:
    """The session's image run(s) under `key`, live while any of them trains."""
    live.live_panel(key, single=draw_single, pair=draw_pair)
