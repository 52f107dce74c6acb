"""Gradient health: each layer's gradient norm over training."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.axes import log_decade_axis
from dlviz.figures.theme import base_layout, f32, legend_below, make_figure, thin_out
from dlviz.history import RunHistory


def layer_colors(n: int) -> list[str]:
    """Input layer dark purple to output layer yellow (viridis-like), so depth reads as colour."""
    stops = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]])
    out = []
    for i in range(n):
        t = i / max(n - 1, 1) * (len(stops) - 1)
        lo = int(np.floor(t))
        hi = min(lo + 1, len(stops) - 1)
        rgb = stops[lo] + (stops[hi] - stops[lo]) * (t - lo)
        out.append("rgb({},{},{})".format(*rgb.astype(int)))
    return out


def grad_norm_figure(h: RunHistory, height: int = 340, max_lines: int = 12) -> go.Figure:
    """Left: each layer's mean weight-gradient norm per epoch (log scale). Right: the latest
    epoch's norms by layer, input to output - a slope down toward the input is vanishing."""
    layers = h.layers
    data = h.grad_norms.to_dict()
    norms = np.array(data["norms"], dtype=np.float32).reshape(-1, len(layers))
    colors = layer_colors(len(layers))
    epochs, lines = thin_out(f32(data["epoch"]), norms)
    # Many layers: draw an even selection as lines (first and last always), all of them as bars.
    picks = np.linspace(0, len(layers) - 1, min(max_lines, len(layers))).round().astype(int)
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "x": epochs,
            "y": lines[:, i],
            "mode": "lines" if len(epochs) > 2 else "lines+markers",
            "name": layers[i],
            "line": {"color": colors[i], "width": 2},
        }
        for i in sorted(set(picks.tolist()))
    ]
    latest = norms[-1] if len(norms) else np.zeros(len(layers), np.float32)
    short = [name.replace("hidden", "h").replace("output", "out") for name in layers]
    traces.append(
        {
            "type": "bar",
            "x": short,
            "y": latest,
            "marker": {"color": colors},
            "customdata": list(layers),
            "xaxis": "x2",
            "yaxis": "y2",
            "showlegend": False,
            "hovertemplate": "%{customdata}: %{y:.3g}<extra>latest epoch</extra>",
        }
    )
    # One scale for both: the same norms, over time (left) and by layer now (right).
    axis = log_decade_axis(norms.ravel(), max_ticks=5)
    layout = base_layout(
        height,
        xaxis={"domain": [0.0, 0.52], "title": {"text": "epoch"}},
        yaxis={**axis, "title": {"text": "mean |grad W|"}},
        xaxis2={
            "domain": [0.62, 1.0],
            "anchor": "y2",
            "title": {"text": "layer, latest epoch"},
            # upright names would run into each other
            "tickangle": -90 if len(layers) > 6 else 0,
        },
        yaxis2={**axis, "anchor": "x2", "side": "right"},
        legend=legend_below(),
    )
    return make_figure(traces, layout)
