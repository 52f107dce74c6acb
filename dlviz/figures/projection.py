"""A layer's activations in 2-D (`dlviz.projector`): one dot a test item, coloured by its
class; a chosen item ringed and its nearest neighbours (in the layer's own space) marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.theme import CLASS_COLORS, base_layout, f32, legend_below, make_figure

# Ten classes (the digits) need ten colours: the class colours, then four more that stay apart
# from them (Paul Tol's olive, purple, teal, and grey).
PALETTE = (*CLASS_COLORS, "#999933", "#aa4499", "#44aa99", "#888888")


def projection_figure(
    coords: np.ndarray,
    labels: Sequence[int],
    class_names: Sequence[str],
    chosen: int | None = None,
    near: Sequence[int] = (),
    axes: tuple[str, str] = ("", ""),
    height: int = 420,
    title: str | None = None,
) -> go.Figure:
    """`coords` (n, 2), one dot an item, one trace a class (a legend entry: click to hide),
    each dot's `customdata` its index among the n (what a click selects); `chosen` ringed in
    black, its `near` neighbours ringed in grey."""
    coords = np.asarray(coords, dtype=np.float32)
    labels = np.asarray(labels)
    traces: list[dict[str, Any]] = []
    for c, name in enumerate(class_names):
        idx = np.flatnonzero(labels == c)
        if not len(idx):
            continue
        traces.append(
            {
                "type": "scatter",
                "x": f32(coords[idx, 0]),
                "y": f32(coords[idx, 1]),
                "customdata": idx.astype(np.int32),
                "mode": "markers",
                "name": str(name),
                "marker": {"size": 7, "color": PALETTE[c % len(PALETTE)], "opacity": 0.8},
                "hovertemplate": f"{name}<br>test item %{{customdata}}<extra></extra>",
            }
        )
    for which, color, size, label in (
        (list(near), "#888888", 13, "nearest in the layer"),
        ([chosen] if chosen is not None else [], "#000000", 15, "chosen"),
    ):
        if not which:
            continue
        pts = coords[np.asarray(which, dtype=int)]
        traces.append(
            {
                "type": "scatter",
                "x": f32(pts[:, 0]),
                "y": f32(pts[:, 1]),
                "mode": "markers",
                "name": label,
                "marker": {"size": size, "symbol": "circle-open", "color": color,
                           "line": {"width": 2, "color": color}},
                "hoverinfo": "skip",
            }
        )  # fmt: skip
    layout = base_layout(height, title, legend=legend_below())
    layout["xaxis"] = {"title": {"text": axes[0]}, "zeroline": False, "showticklabels": False}
    layout["yaxis"] = {"title": {"text": axes[1]}, "zeroline": False, "showticklabels": False}
    return make_figure(traces, layout)
