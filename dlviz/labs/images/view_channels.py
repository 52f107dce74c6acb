"""What a channel wants: for the layer chosen in the channel explorer, an input optimised from
noise to excite each channel of the chosen channel's group of eight (`dlviz.feature_viz`), each
next to the test images that excite that channel most.

Computed when the button is pressed, once per run, layer, channel, seed and step count; the
session keeps them (bounded), so reruns and a second press draw them at once. Drawn by
`dlviz.labs.images.view` after a run has ended.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
import torch

from dlviz import feature_viz
from dlviz.data import Dataset
from dlviz.history import RunHistory
from dlviz.labs.images.figures import channel_wants_figure
from dlviz.ui import fields, layout, live

GROUP = 8  # channels optimised and shown together (one batch)
TOP = 3  # test images shown next to each channel's optimised input
STEP_CHOICES = (32, 64, 128, 256)
CACHE = "_im_wants"
MAX_PICTURES = 256  # optimised inputs a session keeps (a 32x32 grey one is 4 KB)

fields.RANGES.setdefault("im_want_seed", ("Seed", 0, fields.SEED_MAX))


def channel_group(channel: int, channels: int) -> list[int]:
    """The channels shown with `channel`: its group of GROUP (0-7, 8-15, ...) of `channels`."""
    start = max(0, min(channel, channels - 1)) // GROUP * GROUP
    return list(range(start, min(start + GROUP, channels)))


def _cache(model: Any) -> dict[str, Any]:
    """The session's pictures and test-image scores of `model` (a new run starts afresh)."""
    ss = st.session_state
    cache = ss.get(CACHE)
    if cache is None or cache["model"] is not model:
        cache = {"model": model, "pictures": {}, "scores": {}}
        ss[CACHE] = cache
    return cache


def _scores(cache: dict[str, Any], model: Any, ds: Dataset, layer: str) -> torch.Tensor:
    """(N, C): every test image's mean activation of every channel of `layer`, one pass."""
    if layer not in cache["scores"]:
        cache["scores"][layer] = feature_viz.channel_scores(model, ds.x_test, layer)
    return cache["scores"][layer]


def _optimise(
    model: Any, ds: Dataset, layer: str, channels: list[int], seed: int, steps: int
) -> dict[int, tuple[torch.Tensor, float]]:
    """Each channel's optimised input and its mean activation, in one batch, with a progress
    bar while it runs."""
    x = ds.x_test
    bar = st.progress(0.0, text=f"Optimising inputs for {len(channels)} channels of {layer}")
    every = max(1, steps // 20)

    def progress(step: int, total: int) -> None:
        if step % every == 0 or step == total:
            bar.progress(step / total, text=f"Step {step} of {total}")

    try:
        images, _ = feature_viz.maximise_layer(
            model,
            layer,
            channels,
            input_shape=tuple(x.shape[1:]),
            steps=steps,
            seed=seed,
            value_range=(float(x.min()), float(x.max())),
            baseline=x.mean(dim=(0, 2, 3)).tolist(),
            progress=progress,
        )
        reached = feature_viz.channel_means(model, images, layer, channels)
    finally:
        bar.empty()
    return {ch: (img, act) for ch, img, act in zip(channels, images, reached)}


def draw(h: RunHistory, ds: Dataset, key: str) -> None:
    """The section under the channel explorer of a finished image run."""
    model = h.model
    if model is None:
        return
    ss = st.session_state
    layers = [f"conv{i + 1}" for i in range(len(model.blocks))]
    layer = ss.get("im_explore_layer")
    layer = layer if layer in layers else layers[-1]
    n_channels = model.block_shapes[layers.index(layer)][0]
    chosen = ss.get("im_explore_channel")
    chosen = int(chosen) if isinstance(chosen, (int, float)) and not isinstance(chosen, bool) else 0
    chosen = min(max(chosen, 0), n_channels - 1)  # (the explorer says when it is out of range)
    group = channel_group(chosen, n_channels)

    st.markdown("#### What the channel wants")
    ss.setdefault("im_want_seed", 0)
    ss.setdefault("im_want_steps", 64)
    row = layout.columns(
        [1, 1, 1], key=f"{key}_want_row", min_width=180, vertical_alignment="bottom"
    )
    fields.number_input(
        row[0],
        "im_want_seed",
        "Seed",
        help="The starting noise and the random shifts; the same seed gives the same pictures.",
        persist=False,
    )
    row[1].select_slider(
        "Steps",
        STEP_CHOICES,
        key="im_want_steps",
        help="Gradient-ascent steps per picture: more reach a higher activation and take longer.",
    )
    refused = fields.problem("im_want_seed")
    pressed = row[2].button(
        f"Optimise for channels {group[0]} to {group[-1]}",
        key="im_want_go",
        disabled=bool(refused),
        help="Pictures already made for this run, layer, channel, seed and step count are "
        "kept and shown at once.",
    )
    if refused:
        st.error(refused, icon=":material/error:")
        return
    seed, steps = int(ss["im_want_seed"]), int(ss["im_want_steps"])
    cache = _cache(model)
    pictures = cache["pictures"]
    missing = [ch for ch in group if (layer, ch, seed, steps) not in pictures]
    if pressed and missing:
        try:
            made = _optimise(model, ds, layer, missing, seed, steps)
        except (RuntimeError, ValueError) as e:
            st.error(
                f"Could not optimise the inputs: {e}. Try fewer steps, or train again.",
                icon=":material/error:",
            )
            return
        for ch, value in made.items():
            pictures[(layer, ch, seed, steps)] = value
        while len(pictures) > MAX_PICTURES:
            del pictures[next(iter(pictures))]
        missing = []
    if missing:
        st.caption(
            f"Press the button to optimise an input for each of channels {group[0]} to "
            f"{group[-1]} of {layer} (the group of {GROUP} holding channel {chosen}, chosen "
            "above), each shown next to the test images that excite it most."
        )
        return
    scores = _scores(cache, model, ds, layer)[:, group]  # (N, len(group))
    made = [pictures[(layer, ch, seed, steps)] for ch in group]
    half = (len(group) + 1) // 2
    cols = layout.columns(2, key=f"{key}_wants", min_width=360, gap="medium")
    for i, col in enumerate(cols):
        part = slice(i * half, (i + 1) * half)
        if group[part]:  # (a layer of one channel fills one column)
            col.plotly_chart(
                _wants_figure(ds, group[part], chosen, made[part], scores[:, part]),
                key=f"{key}_wants_{i}",
                config=live.CHART_CONFIG,
            )
    st.caption(
        f"Each row is one channel of {layer}. Framed in orange, an input optimised from faint "
        f"noise (seed {seed}) by {steps} steps of gradient ascent on the channel's mean "
        "activation, with the usual regularisers: a random shift of up to "
        f"{feature_viz.JITTER} pixels at every step, a Gaussian blur every "
        f"{feature_viz.BLUR_EVERY} steps and a slight pull towards the test images' average "
        "pixel, within their pixel range; its mean activation under it. To its right, the "
        f"{min(TOP, len(scores))} test images that excite the channel most, with theirs. The "
        "mean counts every position, so what a channel wants comes repeated over the picture: "
        "in early layers, edges, strokes or plain brightness; in deeper ones, larger patterns."
    )


def _wants_figure(
    ds: Dataset,
    group: list[int],
    chosen: int,
    made: list[tuple[torch.Tensor, float]],
    scores: torch.Tensor,
):
    """One row per channel of `group`: its optimised input (`made`: image and activation), then
    the TOP test images with the highest `scores` (N, len(group)) in that channel's column."""
    k = min(TOP, len(scores))
    top_scores, top_idx = torch.topk(scores, k, dim=0)  # (k, len(group))
    wanted = torch.stack([img for img, _ in made]).numpy()
    top = ds.x_test[top_idx.T.flatten()].reshape(len(group), k, *ds.x_test.shape[1:]).numpy()
    wanted_captions = [
        f"<b>ch {ch}: {act:.2g}</b>" if ch == chosen else f"ch {ch}: {act:.2g}"
        for ch, (_, act) in zip(group, made)
    ]
    top_captions = [
        [
            f"{ds.class_names[int(ds.y_test[int(i)])]} ({float(v):.2g})"
            for i, v in zip(top_idx[:, j], top_scores[:, j])
        ]
        for j in range(len(group))
    ]
    return channel_wants_figure(wanted, wanted_captions, top, top_captions)
