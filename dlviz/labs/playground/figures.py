"""The Playground's figures: the data, the decision boundary, the neurons and the network."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.theme import (
    BOUNDARY_SCALE,
    CLASS_COLORS,
    DIVERGING,
    OKABE_ITO,
    base_layout,
    f32,
    legend_below,
    make_figure,
)
from dlviz.probes import Snapshot2D
from dlviz.text import plural


def _square_axes(extent: float) -> dict[str, Any]:
    common = {
        "range": [-extent, extent],
        "showgrid": False,
        "zeroline": False,
        "constrain": "domain",
    }
    return {"xaxis": dict(common), "yaxis": {**common, "scaleanchor": "x", "scaleratio": 1}}


def _point_traces(
    x: np.ndarray, y: np.ndarray, split: str, class_names: Sequence[str]
) -> list[dict[str, Any]]:
    traces = []
    is_test = split == "test"
    for c, name in enumerate(class_names):
        pts = x[y == c]
        if len(pts) == 0:
            continue
        color = CLASS_COLORS[c % len(CLASS_COLORS)]
        traces.append(
            {
                "type": "scatter",
                "x": f32(pts[:, 0]),
                "y": f32(pts[:, 1]),
                "mode": "markers",
                "name": f"{name} ({split})",
                "legendgroup": split,
                "marker": {
                    "size": 6 if is_test else 5,
                    "color": "white" if is_test else color,
                    "line": {
                        "color": color if is_test else "white",
                        "width": 1.5 if is_test else 0.5,
                    },
                },
                "hovertemplate": f"{name} ({split})<br>x1 %{{x:.2f}}, x2 %{{y:.2f}}<extra></extra>",
            }
        )
    return traces


def points_figure(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    extent: float,
    class_names: Sequence[str] = ("class 0", "class 1"),
    title: str | None = None,
    height: int = 380,
) -> go.Figure:
    """The 2-D dataset: filled dots for training points, rings for test points."""
    traces = _point_traces(np.asarray(x_train), np.asarray(y_train), "train", class_names)
    traces += _point_traces(np.asarray(x_test), np.asarray(y_test), "test", class_names)
    layout = base_layout(
        height,
        title,
        legend=legend_below(),
        **_square_axes(extent),
    )
    return make_figure(traces, layout)


def boundary_figure(
    snapshot: Snapshot2D,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    class_names: Sequence[str] = ("class 0", "class 1"),
    title: str | None = None,
    height: int = 380,
) -> go.Figure:
    """The model's P(class 1) over the plane as a heatmap, with the data points on top."""
    r = snapshot.boundary.shape[0]
    axis = np.linspace(-snapshot.extent, snapshot.extent, r, dtype=np.float32)
    traces: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "z": snapshot.boundary.astype(np.float32),
            "x": axis,
            "y": axis,
            "zmin": 0.0,
            "zmax": 1.0,
            "colorscale": BOUNDARY_SCALE,
            "zsmooth": "fast",  # the browser smooths the image: a fraction of "best"'s cost
            "showscale": False,
            "name": "P(class 1)",
            "hovertemplate": "x1 %{x:.2f}, x2 %{y:.2f}<br>P(class 1) %{z:.2f}<extra></extra>",
        },
        *_point_traces(np.asarray(x_train), np.asarray(y_train), "train", class_names),
    ]
    if x_test is not None and y_test is not None:
        traces += _point_traces(np.asarray(x_test), np.asarray(y_test), "test", class_names)
    if title is None:
        title = f"Decision boundary - epoch {snapshot.epoch}, step {snapshot.step}"
    layout = base_layout(
        height,
        title.strip() or None,
        showlegend=False,
        **_square_axes(snapshot.extent),
    )
    return make_figure(traces, layout)


def neuron_maps_figure(snapshot: Snapshot2D, width_px: int = 640) -> go.Figure:
    """What each neuron of the first hidden layers responds to over the plane.

    Rows are layers, columns neurons; each map is scaled to its own largest magnitude so its
    shape shows (orange negative, blue positive, white zero), as in TensorFlow Playground. The
    tiles go out as one int8 image, about 20 KB.
    """
    layers = list(snapshot.neurons)
    if not layers:
        return make_figure([], base_layout(60))
    r = next(iter(snapshot.neurons.values())).shape[-1]
    gap = max(2, r // 6)
    n_cols = max(m.shape[0] for m in snapshot.neurons.values())
    tile = np.zeros((len(layers) * (r + gap) - gap, n_cols * (r + gap) - gap), np.int8)
    for row, name in enumerate(layers):
        maps = np.nan_to_num(snapshot.neurons[name], nan=0.0, posinf=0.0, neginf=0.0)
        scale = np.abs(maps).reshape(len(maps), -1).max(axis=1)
        scale[scale == 0] = 1.0
        scaled = np.round(maps / scale[:, None, None] * 127).astype(np.int8)
        y0 = (len(layers) - 1 - row) * (r + gap)  # the y axis points up: first layer on top
        for col in range(len(maps)):
            x0 = col * (r + gap)
            tile[y0 : y0 + r, x0 : x0 + r] = scaled[col]
    tile_px = min(90, max(28, width_px // n_cols))  # about square maps at `width_px` wide
    traces = [
        {
            "type": "heatmap",
            "z": tile,
            "zmin": -127,
            "zmax": 127,
            "colorscale": DIVERGING,
            "showscale": False,
            "hoverinfo": "skip",
        }
    ]
    layout = base_layout(
        20 + tile_px * len(layers),
        xaxis={"visible": False, "constrain": "domain"},
        yaxis={
            "tickmode": "array",
            "tickvals": [(len(layers) - 1 - row) * (r + gap) + r / 2 for row in range(len(layers))],
            "ticktext": layers,
            "showgrid": False,
            "zeroline": False,
            "scaleanchor": "x",
            "constrain": "domain",
        },
    )
    return make_figure(traces, layout)


def network_figure(
    input_dim: int,
    hidden: Sequence[int],
    n_classes: int,
    activation: str = "relu",
    norm: str = "none",
    dropout: float = 0.0,
    residual: bool = False,
    params: int | None = None,
    max_nodes: int = 10,
    height: int = 260,
) -> go.Figure:
    """A diagram of an MLP: a column of nodes per layer, every connection drawn, shortcuts as
    arcs. Layers wider than `max_nodes` show that many nodes and their real width below."""
    widths = [input_dim, *hidden, n_classes]
    cols = [np.linspace(-(k - 1) / 2, (k - 1) / 2, k) for k in (min(w, max_nodes) for w in widths)]
    # Edges as one line trace: (x0, y0) -> (x1, y1), NaN between segments.
    seg_x, seg_y = [], []
    for i in range(len(cols) - 1):
        ya, yb = np.meshgrid(cols[i], cols[i + 1], indexing="ij")
        n = ya.size
        seg_x.append(np.stack([np.full(n, i), np.full(n, i + 1), np.full(n, np.nan)], 1).ravel())
        seg_y.append(np.stack([ya.ravel(), yb.ravel(), np.full(n, np.nan)], 1).ravel())
    names = ["input", *[f"hidden{i + 1}" for i in range(len(hidden))], "output"]
    kinds = ["input", *["hidden"] * len(hidden), "output"]
    palette = {"input": "#888888", "hidden": "#0877bd", "output": "#f59322"}
    node_x = np.concatenate([np.full(len(c), i) for i, c in enumerate(cols)])
    node_y = np.concatenate(cols)
    node_c = [palette[kinds[i]] for i, c in enumerate(cols) for _ in c]
    node_t = [f"{names[i]}: {plural(widths[i], 'unit')}" for i, c in enumerate(cols) for _ in c]
    traces = [
        {
            "type": "scatter",
            "x": f32(np.concatenate(seg_x)) if seg_x else [],
            "y": f32(np.concatenate(seg_y)) if seg_y else [],
            "mode": "lines",
            "line": {"color": "rgba(120,120,120,0.25)", "width": 1},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "x": f32(node_x),
            "y": f32(node_y),
            "mode": "markers",
            "marker": {
                "size": 9 if len(cols) < 16 else 6,
                "color": node_c,
                "line": {"color": "white", "width": 1},
            },
            "text": node_t,
            "hoverinfo": "text",
            "showlegend": False,
        },
    ]
    top = max(len(c) for c in cols) / 2
    # Each column's width under it (at most about 12 of them, so they never run into each
    # other); what every hidden layer shares, once, in a line under the diagram.
    annotations = []
    every = max(1, -(-len(widths) // 12))
    for i, w in enumerate(widths):
        if i % every and i != len(widths) - 1:
            continue
        annotations.append(
            {
                "x": i,
                "y": -top - 0.3,
                "text": str(w) if w <= max_nodes else f"{w}*",
                "showarrow": False,
                "yanchor": "top",
                "font": {"size": 10},
            }
        )
    norm_name = {"batch": "batch norm", "layer": "layer norm"}.get(norm)
    every_layer = ", ".join([activation, *([norm_name] if norm_name else []),
                             *([f"dropout {dropout:g}"] if dropout > 0 else [])])  # fmt: skip
    notes = [f"each hidden layer: {every_layer}"]
    if any(w > max_nodes for w in widths):
        notes.append(f"* first {max_nodes} units drawn")
    if residual:
        notes.append("green arcs: residual shortcuts")
    annotations.append(
        {
            "x": 0,
            "xref": "paper",
            "xanchor": "left",
            "y": 0,
            "yref": "paper",
            "yanchor": "top",  # in the bottom margin, made to fit them
            "text": "<br>".join(notes),
            "align": "left",
            "showarrow": False,
            "font": {"size": 11},
        }
    )
    shapes = []
    if residual:
        # Hidden layer k (k >= 2) adds its input, the output of layer k-1: an arc from column
        # k-1 to column k above the nodes.
        shapes = [
            {
                "type": "path",
                "path": f"M {k - 1},{top} Q {k - 0.5},{top + 1.2} {k},{top}",
                "line": {"color": OKABE_ITO["green"], "width": 2},
            }
            for k in range(2, len(hidden) + 1)
        ]
    depth = len(hidden)
    title = f"{depth} hidden layer{'s' if depth != 1 else ''}"
    if params is not None:
        title += f" - {params:,} parameters"
    layout = base_layout(
        height,
        title,
        annotations=annotations,
        shapes=shapes,
        xaxis={"visible": False, "range": [-0.5, len(widths) - 0.5]},
        yaxis={"visible": False, "range": [-top - 1.3, top + (1.0 if residual else 0.4)]},
    )
    layout["margin"]["b"] = 8 + 15 * len(notes)
    return make_figure(traces, layout)
