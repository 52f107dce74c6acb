"""The Image lab's figures: dead units, the CNN's block diagram and what a channel wants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.gradients import layer_colors
from dlviz.figures.rasters import image_grid_figure
from dlviz.figures.theme import base_layout, f32, legend_below, make_figure
from dlviz.history import RunHistory


def dead_units_figure(h: RunHistory, height: int = 300) -> go.Figure:
    """Share of ReLU channels that output zero for every probe image, per layer, over training."""
    data = h.dead.to_dict()
    if not data["shares"]:
        return make_figure([], base_layout(60, "Dead-unit shares appear with the first snapshot"))
    layers = list(data["shares"][-1])
    colors = layer_colors(len(layers))
    steps = f32(data["step"])
    traces = [
        {
            "type": "scatter", "x": steps, "y": f32([s.get(name) for s in data["shares"]]),
            "mode": "lines" if len(steps) > 2 else "lines+markers", "name": name,
            "line": {"color": colors[i], "width": 2},
        }
        for i, name in enumerate(layers)
    ]  # fmt: skip
    layout = base_layout(
        height,
        xaxis={"title": {"text": "step"}},
        yaxis={"title": {"text": "dead ReLU channels"}, "range": [0, 1.02], "tickformat": ".0%"},
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def cnn_figure(
    rows: Sequence[dict[str, Any]], input_shape: Sequence[int], height: int = 220
) -> go.Figure:
    """A CNN as a row of boxes, one per layer: height follows the feature maps' side, width the
    number of channels (log scale), so the shrinking maps and growing channels show."""
    shapes = [tuple(input_shape)]
    labels = ["input"]
    for r in rows:
        if r["layer"].startswith("conv"):
            shapes.append(tuple(int(v) for v in str(r["output"]).split("x")))
            labels.append(r["layer"])
    top = max(s[1] for s in shapes)
    # Each layer has a slot at least SLOT wide, its box in the middle, so that the labels of
    # thin boxes (the input, a few channels) do not run into each other.
    slot_min, gap = 0.9, 0.35
    boxes, notes, x = [], [], 0.0

    def add(label: str, width: float, half: float, color: str, fill: str) -> None:
        nonlocal x
        slot = max(width, slot_min)
        x0 = x + (slot - width) / 2
        boxes.append({"type": "rect", "x0": x0, "x1": x0 + width, "y0": -half, "y1": half,
                      "line": {"color": color}, "fillcolor": fill})  # fmt: skip
        notes.append({"x": x + slot / 2, "y": -2.9, "text": label, "showarrow": False,
                      "font": {"size": 10}, "yanchor": "top"})  # fmt: skip
        x += slot + gap

    for label, (c, h, _w) in zip(labels, shapes):
        width = 0.4 + 0.25 * np.log2(max(c, 1))
        add(f"{label}<br>{c}x{h}", width, 0.5 + 2.0 * h / top, "#0877bd", "rgba(8,119,189,0.15)")
    for r in (r for r in rows if not r["layer"].startswith("conv")):
        add(f"{r['layer']}<br>{r['output']}", 0.3, 0.6, "#f59322", "rgba(245,147,34,0.2)")
    x -= gap
    layout = base_layout(
        height, shapes=boxes, annotations=notes,
        xaxis={"visible": False, "range": [-0.1, x + 0.1]},
        yaxis={"visible": False, "range": [-3.8, 2.8]},
    )  # fmt: skip
    return make_figure([], layout)


def channel_wants_figure(
    wanted: np.ndarray,
    wanted_captions: Sequence[str],
    top: np.ndarray,
    top_captions: Sequence[Sequence[str]],
    tile: int = 72,
) -> go.Figure:
    """One row per channel: the input optimised for it (`wanted`, (G, C, H, W) in [0, 1]),
    framed in orange so a white or black one still shows, then the test images that excite it
    most (`top`, (G, k, C, H, W)), each with its caption under it."""
    wanted, top = np.asarray(wanted), np.asarray(top)
    g, k = top.shape[:2]
    images = np.concatenate([wanted[:, None], top], axis=1).reshape(g * (1 + k), *top.shape[2:])
    captions = [c for i in range(g) for c in (wanted_captions[i], *top_captions[i])]
    fig = image_grid_figure(images, captions, cols=1 + k, tile=tile)
    # A tile's caption sits 2 px under it, centred: the frames follow the grid's own layout,
    # just inside each tile (the grid's edge would clip a frame outside it).
    notes = fig.layout.annotations
    frames = [
        {"type": "rect", "x0": n.x - tile / 2 + 1, "x1": n.x + tile / 2 - 1,
         "y0": n.y - 2 - tile + 1, "y1": n.y - 3, "line": {"color": "#f59322", "width": 2}}
        for n in notes[:: 1 + k]
    ]  # fmt: skip
    fig.update_layout(shapes=frames)
    return fig
