"""The Sound page's live view: what each layer of a training network hears (the chosen test
clip, playable, with its spectrogram and every layer's feature maps, scrubbable through the
run), its first-layer filters, curves and gradient health (the Image lab's panel); after the
run, the confusion matrix, the misclassified clips to play, and the clips that excite a
channel most. Spectrogram vs wave shows both runs on one chart and their maps of one clip.

Everything here is drawn inside the live fragment (`live.live_panel`): the number and order of
elements stay the same from one refresh to the next, so the live charts update in place.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st
import torch

from dlviz import captions
from dlviz.audio_features import axes, feature_steps
from dlviz.compare import compare_runs
from dlviz.data import Dataset
from dlviz.data.base import SAMPLE_RATE, AudioInfo
from dlviz.figures.classes import confusion_figure
from dlviz.figures.curves import curves_figure
from dlviz.figures.rasters import feature_maps_figure, filters_figure
from dlviz.history import RunHistory
from dlviz.labs.images import view as image_view
from dlviz.labs.sound.figures import (
    clip_figure,
    wave_filters_figure,
    wave_maps_figure,
)
from dlviz.probes import FeatureSnapshot, ImageProbe, top_activating
from dlviz.text import plural
from dlviz.ui import fields, layout, live
from dlviz.ui import layers as layer_views
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import remembered
from dlviz.ui.widgets import snapshot_slider, test_item_chooser

SHOWN_WRONG = 6  # misclassified clips listed, each playable
SHOWN_TOP = 6  # clips that excite a channel, each playable


def _cached(name: str, source: Any, build):
    """The value `build()` made for `source` the last time (`dlviz.ui.state.remembered`)."""
    return remembered("_sd_cache", name, source, build)


# --- one clip: its sound and its features ---------------------------------------------------------


def display_features(wave: np.ndarray, info: AudioInfo) -> tuple[np.ndarray, dict[str, Any]]:
    """What the network reads of a wave, before its front end standardises it, for a person to
    see: the mel or STFT spectrogram in dB, or the MFCCs (the raw wave: its mel spectrogram),
    with the axes to draw it on."""
    shown = info if info.features != "wave" else replace(info, features="mel")
    steps = feature_steps(wave, shown)
    image = {"mel": steps["mel_db"], "stft": steps["stft_db"], "mfcc": steps["mfcc"]}[
        shown.features
    ]
    return image, axes(shown, len(wave))


def clip_spectrogram(wave: np.ndarray, info: AudioInfo, title: str | None, height: int):
    """A clip's wave above the spectrogram of what the network reads."""
    image, ax = display_features(wave, info)
    return clip_figure(
        wave, info.sample_rate, image, ax["times"], ax["rows"], ax["rows_unit"], title, height
    )


def clip_name(ds: Dataset, index: int) -> str:
    return f"test clip {index}: {ds.class_names[int(ds.y_test[index])]}"


def play(wave: np.ndarray | torch.Tensor) -> None:
    """A player for one clip (16 kHz)."""
    x = wave.numpy() if isinstance(wave, torch.Tensor) else np.asarray(wave)
    st.audio(x.reshape(-1).astype(np.float32), sample_rate=SAMPLE_RATE)


def _small_clip(ds: Dataset, index: int, caption: str, key: str) -> None:
    """Test clip `index` after a run: a caption, a player and its wave and spectrogram, small."""
    assert ds.audio is not None
    wave = ds.x_test[index, 0].numpy()
    st.caption(caption)
    play(wave)
    st.plotly_chart(
        _cached(
            key, (id(ds), index, ds.audio), lambda: clip_spectrogram(wave, ds.audio, None, 130)
        ),
        key=key,
        config=live.CHART_CONFIG,
    )


def _clip_panel(ds: Dataset, index: int, key: str, height: int = 240) -> None:
    """Test clip `index`: a player and the spectrogram of what the network reads."""
    assert ds.audio is not None
    wave = ds.x_test[index, 0].numpy()
    st.markdown(f"**{clip_name(ds, index)}**")
    play(wave)
    live_chart(
        _cached(
            f"{key}_clip",
            (id(ds), index, ds.audio),
            lambda: clip_spectrogram(wave, ds.audio, None, height),
        ),
        key=f"{key}_clip",
    )


# --- what each layer hears ------------------------------------------------------------------------


def _low_at_bottom(snap: FeatureSnapshot) -> FeatureSnapshot:
    """Feature maps of a spectrogram with their rows flipped, so low frequencies are at the
    bottom of each map, as on the spectrogram."""
    return replace(snap, maps={k: (m[:, ::-1] if m.ndim == 3 else m) for k, m in snap.maps.items()})


def _maps_figure(snap: FeatureSnapshot, tile: int = 28):
    if any(np.asarray(m).ndim == 2 for m in snap.maps.values()):
        return wave_maps_figure(snap)
    return feature_maps_figure(_low_at_bottom(snap), tile=tile)


def _final_snapshot(
    h: RunHistory, x_test: torch.Tensor, index: int, slot: str
) -> FeatureSnapshot | None:
    """Maps of test clip `index` through the trained model (ended runs only), so a person can
    keep choosing clips after training."""
    if h.model is None:
        return None
    cache = st.session_state.setdefault("_sd_final_snaps", {})
    hit = cache.get(slot)
    if hit is not None and hit[0] is h.model and hit[1] == index:
        return hit[2]
    snap = ImageProbe(x_test, sample_index=index)(h.model, h.step, h.epoch)
    cache[slot] = (h.model, index, snap)
    return snap


def _chooser(view: live.View, ds: Dataset) -> int:
    n = len(ds.x_test)
    return test_item_chooser(
        view,
        "sd_sample",
        n,
        "Test clip",
        help=f"Which of the {plural(n, 'test clip')} to listen to and look at.",
        random_help="Draw one of the test clips at random.",
        row_key="sd_sample_row",
    )


def _filters(snap: FeatureSnapshot, key: str) -> None:
    if snap.filters is None:
        return
    if snap.filters.ndim == 3:  # a wave network's first layer: (C, 1, k)
        st.markdown("**What the first layer's filters pass**")
        live_chart(
            _cached(f"{key}_filters", snap, lambda: wave_filters_figure(snap.filters, SAMPLE_RATE)),
            key=f"{key}_filters",
        )
        st.caption(
            "Each row is one 5 ms filter of the first layer: bright where it lets a frequency "
            "through. At the start they pass noise; trained, many tune to bands, as a "
            "spectrogram's rows do."
        )
        return
    st.markdown("**Filters of the first layer**")
    cols = 4 if len(snap.filters) <= 16 else 8
    upright = snap.filters[:, :, ::-1, :]  # low frequencies at the bottom, as on the spectrogram
    live_chart(
        _cached(f"{key}_filters", snap, lambda: filters_figure(upright, tile=40, cols=cols)),
        key=f"{key}_filters",
    )
    st.caption(
        "One square per filter, frequency up and time across: blue weights add the "
        "spectrogram under them, orange ones subtract it."
    )


def _feature_maps(view: live.View, key: str) -> None:
    handle = view.handles[0]
    h = handle.history
    ds = live.view_dataset(handle)
    st.markdown("#### What each layer hears")
    choose, scrub = layout.columns(
        [2, 3], key=f"{key}_choose", min_width=300, gap="medium", vertical_alignment="bottom"
    )
    with choose:
        index = _chooser(view, ds)
    snap, note = None, ""
    with scrub:
        if h.fmaps:
            pos = snapshot_slider(f"{key}_fmap", h, h.fmaps)
            snap = h.fmaps[pos]
            if h.done and pos == len(h.fmaps) - 1 and snap.sample_index != index:
                snap = _final_snapshot(h, ds.x_test, index, "single") or snap
            elif not h.done and snap.sample_index != index:
                note = "Your choice shows from the next snapshot, in a second or so."
    left, right = layout.columns([2, 3], key=f"{key}_maps", min_width=260, gap="medium")
    with left:
        _clip_panel(ds, snap.sample_index if snap is not None else index, key)
        with st.container():
            if note:
                st.caption(note)
        with st.container():
            if snap is not None:
                _filters(snap, key)
    with right:
        if snap is None:
            st.caption(
                "Feature maps appear with the first snapshot, a moment after training starts."
            )
            return
        live_chart(_cached(f"{key}_fmaps", snap, lambda: _maps_figure(snap)), key=f"{key}_fmaps")
        when = (
            "the trained network"
            if h.done and snap.step == h.step
            else f"epoch {snap.epoch}, step {snap.step:,}"
        )
        wave = any(np.asarray(m).ndim == 2 for m in snap.maps.values())
        st.caption(
            f"Every layer's output for {clip_name(ds, snap.sample_index)} ({when}). "
            + (
                "One heat map per layer: its channels (rows) over time, from zero (dark) to "
                "the layer's largest value (yellow); each block pools time by 4."
                if wave
                else "One square per channel, low frequencies at the bottom, each layer on one "
                "colour scale from zero (dark) to its largest value (yellow). The first layers "
                "follow the spectrogram's lines and edges; deeper ones, coarser, respond to "
                "the parts that tell the classes apart."
            )
        )


# --- after the run --------------------------------------------------------------------------------


def _results(view: live.View, key: str) -> None:
    handle = view.handles[0]
    h = handle.history
    if not h.done or not h.classes:
        return
    ds = live.view_dataset(handle)
    st.divider()
    cm = np.asarray(h.classes["confusion"])
    total = int(cm.sum() - np.trace(cm))
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
    wrong = h.classes["misclassified"][:SHOWN_WRONG]
    st.markdown(f"#### Misclassified test clips - {total} of {len(ds.x_test)}")
    if not wrong:
        st.success("Every test clip is classified correctly.", icon=":material/check:")
    names = ds.class_names
    cols = layout.columns(3, key=f"{key}_wrong", min_width=180, gap="small")
    for k, w in enumerate(wrong):
        with cols[k % 3]:
            _small_clip(
                ds,
                w["index"],
                f"clip {w['index']}: {names[w['true']]} → heard as {names[w['pred']]} "
                f"({w['confidence']:.0%})",
                f"{key}_wrong_{k}",
            )
    if total > SHOWN_WRONG:
        st.caption(f"The {SHOWN_WRONG} most confidently wrong of {total}.")


def _channel_explorer(h: RunHistory, ds: Dataset, key: str) -> None:
    st.markdown("#### What a channel listens for")
    layers = [f"conv{i + 1}" for i in range(len(h.model.blocks))]
    ss = st.session_state
    if ss.get("sd_explore_layer") not in layers:
        ss["sd_explore_layer"] = layers[-1]
    c1, c2 = layout.columns(2, key="sd_explore_row", min_width=140)
    layer = c1.selectbox("Layer", layers, key="sd_explore_layer")
    block = h.model.blocks[layers.index(layer)]
    channels = block.conv.out_channels
    ss.setdefault("sd_explore_channel", 0)
    fields.number_input(c2, "sd_explore_channel", f"Channel (0 to {channels - 1})", persist=False)
    refused = fields.problem("sd_explore_channel", 0, channels - 1, "Channel")
    if refused:
        st.error(refused, icon=":material/error:")
        return
    channel = int(ss["sd_explore_channel"])
    idx, scores = _cached(
        "top",
        (id(h.model), layer, channel),
        lambda: top_activating(h.model, ds.x_test, layer, channel, k=SHOWN_TOP),
    )
    cols = layout.columns(2, key=f"{key}_top", min_width=180, gap="small")
    for k, (i, s) in enumerate(zip(idx, scores)):
        with cols[k % 2]:
            _small_clip(
                ds, i, f"clip {i}: {ds.class_names[int(ds.y_test[i])]} ({s:.2g})", f"{key}_top_{k}"
            )
    st.caption(
        f"The {len(idx)} test clips that excite this channel most (its mean activation in "
        "brackets): listen for what they share."
    )


# --- the views ------------------------------------------------------------------------------------


def draw_single(view: live.View, key: str) -> None:
    h = view.handles[0].history
    live.status_line("", h)
    live.metrics_row(h)
    _feature_maps(view, key)
    ds = live.view_dataset(view.handles[0])
    image_view.health(h, key, len(ds.x_test), noun="clip")
    layer_views.draw(h, ds, key, prefix="sd", noun="clips")
    _results(view, key)


def draw_pair(view: live.View, key: str) -> None:
    """Both runs' curves on one chart, then their maps of the same test clip side by side, and
    once both have ended, what happened in plain words."""
    hs = [handle.history for handle in view.handles]
    for label, h in zip(view.labels, hs):
        live.status_line(label, h)
    live_chart(curves_figure(list(zip(view.labels, hs)), height=320), key=f"{key}_curves")
    summary(captions.loss_curves(list(zip(view.labels, hs))))
    ds = live.view_dataset(view.handles[0])
    st.markdown("#### What each layer hears")
    choose, clip = layout.columns(
        [2, 3], key=f"{key}_choose", min_width=260, gap="medium", vertical_alignment="center"
    )
    with choose:
        index = _chooser(view, ds)
    with clip:
        _clip_panel(ds, index, key, height=170)
    cols = layout.columns(2, key=f"{key}_runs", min_width=360, gap="medium")
    for i, (col, label, handle) in enumerate(zip(cols, view.labels, view.handles)):
        h = handle.history
        with col:
            st.markdown(f"**{label.capitalize()}** - {plural(h.params, 'parameter')}")
            snap = h.fmaps[-1] if h.fmaps else None
            if h.done and (snap is None or snap.sample_index != index):
                snap = _final_snapshot(h, live.view_dataset(handle).x_test, index, f"pair{i}")
            if snap is None:
                st.caption("Its maps appear once it starts training.")
                continue
            live_chart(
                _cached(f"{key}_pair{i}", snap, lambda snap=snap: _maps_figure(snap, tile=21)),
                key=f"{key}_fmaps_{i}",
            )
            when = "trained" if h.done and snap.step == h.step else f"epoch {snap.epoch}"
            st.caption(f"{clip_name(ds, snap.sample_index)} ({when})")
    if all(h.done for h in hs):
        st.markdown("#### What happened")
        for sentence in compare_runs(view.labels[0], hs[0], view.labels[1], hs[1]):
            st.markdown(f"- {sentence}")
        layer_views.draw_runs(view.labels, hs, ds, key, prefix="sd", noun="clips")


def live_view(key: str) -> None:
    """The session's sound run(s) under `key`, live while any of them trains."""
    live.live_panel(key, single=draw_single, pair=draw_pair)
