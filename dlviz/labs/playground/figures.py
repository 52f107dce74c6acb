"""The Playground's figures: the data, the decision boundary, the neurons and the network."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.theme import (
    BOUNDARY_SCALE,
    CHIP,
    CHIP_TEXT,
    CLASS_COLORS,
    DIVERGING,
    OKABE_ITO,
    OWN_COLOURS,
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


# --- step by hand ---------------------------------------------------------------------------------

POSITIVE, NEGATIVE = "#0877bd", "#f59322"  # the ends of DIVERGING: blue positive, orange negative
CHOSEN = OKABE_ITO["purple"]
NODE_PX = 34  # a neuron's diameter
# What the label placement assumes of the drawing (px): the plot's width at its narrowest
# (an 800 px window), a character of the numbers, a line of them.
PLOT_PX, CHAR_PX, LINE_PX = 600, 6.2, 15


def _short(v: float) -> str:
    """A number in at most about 6 characters: 0.123, -0.0456, 1.2e-05."""
    return f"{v:.3g}"


def _step_height(units: Sequence[Sequence[str]]) -> int:
    return 150 + 115 * (max(len(c) for c in units) - 1)


def step_figure(
    units: Sequence[Sequence[str]],
    edges: Sequence[np.ndarray],
    node_values: Sequence[Sequence[float]] | None = None,
    above: Sequence[Sequence[str]] | None = None,
    below: Sequence[Sequence[str]] | None = None,
    hover: Sequence[Sequence[str]] | None = None,
    chosen: tuple[int, int, int] | None = None,
    edge_name: str = "w",
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """A small network with its numbers: a column of neurons per layer, every connection drawn.

    Args:
        units: each layer's neuron names, input to output.
        edges: per weight layer, an (n_out, n_in) array: the number each connection carries
            (a weight, a gradient), written on it; blue positive, orange negative, thicker
            for a larger magnitude (against the largest of all).
        node_values: each neuron's colour value (the same colours, against the largest); None
            or NaN: no colour.
        above, below: text above and below each neuron.
        hover: each neuron's hover text.
        chosen: (layer, j, i), the weight from unit i of layer `layer` to unit j of the next,
            drawn in purple under its number in bold.
        edge_name: what the numbers on the connections are, in their hover text.
        height: in px; by default enough for the widest layer.
    """
    n_layers = len(units)
    height = height or _step_height(units)
    ys = [np.linspace((len(c) - 1) / 2, -(len(c) - 1) / 2, len(c)) for c in units]  # top down
    top = (max(len(c) for c in units) - 1) / 2 + 0.62
    # px per unit along x and y, for placing the numbers where they do not cover each other
    px = (PLOT_PX / (n_layers - 0.1), (height - (50 if title else 20)) / (2 * top))
    biggest = max((float(np.abs(e).max()) for e in edges if e.size), default=0.0) or 1.0
    traces: list[dict[str, Any]] = []
    order = sorted(
        ((layer, j, i) for layer, e in enumerate(edges) for j in range(e.shape[0])
         for i in range(e.shape[1])),
        key=lambda w: w != chosen,  # the chosen weight's number first: it gets the best place
    )  # fmt: skip
    taken = _node_boxes(units, ys, above, below, px)
    lines = _line_points(order, ys, px)  # (E, S, 2): points along every connection, in px
    labels = []
    for layer, j, i in order:
        v = float(edges[layer][j, i])
        x0, x1, y0, y1 = layer, layer + 1, ys[layer][i], ys[layer + 1][j]
        if chosen == (layer, j, i):
            traces.append(
                {
                    "type": "scatter",
                    "x": [x0, x1],
                    "y": [y0, y1],
                    "mode": "lines",
                    "line": {"color": CHOSEN, "width": 12},
                    "opacity": 0.5,
                    "hoverinfo": "skip",
                    "showlegend": False,
                }
            )
        traces.append(
            {
                "type": "scatter",
                "x": [x0, x1],
                "y": [y0, y1],
                "mode": "lines",
                "line": {
                    "color": POSITIVE if v >= 0 else NEGATIVE,
                    "width": 0.8 + 4.2 * min(1.0, abs(v) / biggest),
                },
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
        text = _short(v)
        others = np.delete(lines, len(labels), axis=0)  # every connection but this one
        t = _place(text, (x0, y0), (x1, y1), taken, others, px)
        labels.append(
            (
                (layer, j, i),
                x0 + t * (x1 - x0),
                y0 + t * (y1 - y0),
                f"<b>{text}</b>" if chosen == (layer, j, i) else text,
                f"{edge_name}({units[layer][i]}→{units[layer + 1][j]}) = {v:.6g}",
            )
        )
    labels.sort()  # input side first, as `edges` are: the trace's order does not depend on `chosen`
    # The numbers: on chips that hide the lines under them; the trace under them gives each a
    # hover text (and keeps them as data).
    traces.append(
        {
            "type": "scatter",
            "x": [lb[1] for lb in labels],
            "y": [lb[2] for lb in labels],
            "mode": "markers",
            "marker": {"size": 16, "color": "rgba(0,0,0,0)"},
            "text": [lb[3] for lb in labels],
            "hovertext": [lb[4] for lb in labels],
            "hoverinfo": "text",
            "showlegend": False,
            "name": "edges",
        }
    )
    annotations = [
        {
            "x": x,
            "y": y,
            "text": text,
            "showarrow": False,
            "font": {"size": 10, "color": CHIP_TEXT},
            "bgcolor": CHIP,
            "borderpad": 1,
        }
        for _, x, y, text, _ in labels
    ]
    node_x = [float(k) for k in range(n_layers) for _ in units[k]]
    node_y = [float(y) for k in range(n_layers) for y in ys[k]]
    flat_values = [float(v) for row in node_values for v in row] if node_values else []
    finite = [abs(v) for v in flat_values if np.isfinite(v)]
    scale = max(finite, default=0.0) or 1.0
    shade = [
        v / scale if k < len(flat_values) and np.isfinite(v := flat_values[k]) else 0.0
        for k in range(len(node_x))
    ]
    flat = [str(name) for row in units for name in row]
    traces.append(
        {
            "type": "scatter",
            "x": node_x,
            "y": node_y,
            "mode": "markers+text",
            "marker": {
                "size": NODE_PX,
                "color": [_mix(v) for v in shade],
                "line": {"color": "#555555", "width": 1},
            },
            "text": flat,
            "textposition": "middle center",
            # dark on a pale neuron, white on a deep blue or orange one
            "textfont": {
                "size": 10,
                "color": ["white" if abs(v) > 0.6 else "#31333f" for v in shade],
            },
            "hovertext": [str(h) for row in hover for h in row] if hover else flat,
            "hoverinfo": "text",
            "showlegend": False,
            "name": "neurons",
        }
    )
    # The text above and below each neuron: on chips, as the numbers on the lines are (the
    # traces keep it as data, each under its neuron).
    for texts, side in ((above, 1), (below, -1)):
        if texts is None:
            continue
        flat_texts = [str(t) for row in texts for t in row]
        traces.append(
            {
                "type": "scatter",
                "x": node_x,
                "y": node_y,
                "mode": "markers",
                "marker": {"size": 1, "color": "rgba(0,0,0,0)"},
                "text": flat_texts,
                "hoverinfo": "skip",
                "showlegend": False,
                "name": "top" if side > 0 else "bottom",
            }
        )
        annotations += [
            {
                "x": x,
                "y": y,
                "text": t,
                "showarrow": False,
                "yshift": side * (NODE_PX / 2 + LINE_PX / 2 + 1),
                "font": {"size": 11, "color": CHIP_TEXT},
                "bgcolor": CHIP,
                "borderpad": 1,
            }
            for x, y, t in zip(node_x, node_y, flat_texts)
            if t
        ]
    layout = base_layout(
        height,
        title,
        annotations=annotations,
        xaxis={"visible": False, "range": [-0.45, n_layers - 0.55], "fixedrange": True},
        yaxis={"visible": False, "range": [-top, top], "fixedrange": True},
        hovermode="closest",
    )
    for trace in traces:  # the colours are the numbers' signs and sizes: no theme may move them
        trace["meta"] = OWN_COLOURS
    return make_figure(traces, layout)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in px


def _node_boxes(
    units: Sequence[Sequence[str]],
    ys: Sequence[np.ndarray],
    above: Sequence[Sequence[str]] | None,
    below: Sequence[Sequence[str]] | None,
    px: tuple[float, float],
) -> list[Box]:
    """Where the neurons and the text above and below them are, in px."""
    boxes = []
    r = NODE_PX / 2
    for k, column in enumerate(units):
        for n in range(len(column)):
            cx, cy = k * px[0], ys[k][n] * px[1]
            boxes.append((cx - r, cy - r, cx + r, cy + r))
            for texts, sign in ((above, 1), (below, -1)):
                if texts and texts[k][n]:
                    w = CHAR_PX * len(str(texts[k][n])) / 2 + 2
                    edge = cy + sign * r
                    boxes.append((cx - w, min(edge, edge + sign * LINE_PX), cx + w,
                                  max(edge, edge + sign * LINE_PX)))  # fmt: skip
    return boxes


def _line_points(
    order: Sequence[tuple[int, int, int]], ys: Sequence[np.ndarray], px: tuple[float, float]
) -> np.ndarray:
    """(E, S, 2): S points along each connection of `order`, in px."""
    t = np.linspace(0.0, 1.0, 41)[:, None]
    starts = np.array([(layer * px[0], ys[layer][i] * px[1]) for layer, j, i in order])
    ends = np.array([((layer + 1) * px[0], ys[layer + 1][j] * px[1]) for layer, j, i in order])
    return starts[:, None, :] + t[None] * (ends - starts)[:, None, :]


def _place(
    text: str,
    start: tuple[float, float],
    end: tuple[float, float],
    taken: list[Box],
    others: np.ndarray,
    px: tuple[float, float],
) -> float:
    """How far along the line from `start` to `end` (0 to 1) to write `text`: where its chip
    covers no neuron, no text and no other number, and as few other lines as can be (a
    number where two lines cross could be either's); the middle first. The place's box joins
    `taken`."""
    w, h = CHAR_PX * len(text) / 2 + 3, LINE_PX / 2 + 1
    best, best_t, best_box = float("inf"), 0.5, (0.0, 0.0, 0.0, 0.0)
    for t in (0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75, 0.45, 0.55, 0.36, 0.64, 0.28, 0.72):
        cx = (start[0] + t * (end[0] - start[0])) * px[0]
        cy = (start[1] + t * (end[1] - start[1])) * px[1]
        box = (cx - w, cy - h, cx + w, cy + h)
        inside = (
            (others[..., 0] > box[0]) & (others[..., 0] < box[2])
            & (others[..., 1] > box[1]) & (others[..., 1] < box[3])
        )  # fmt: skip
        cost = 10 * sum(_overlap(box, other) for other in taken) + 100 * int(inside.any(1).sum())
        if cost < best:
            best, best_t, best_box = cost, t, box
        if cost == 0:
            break
    taken.append(best_box)
    return best_t


def _overlap(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _mix(v: float) -> str:
    """A colour of DIVERGING for v in [-1, 1]: orange negative, near white 0, blue positive."""
    end = POSITIVE if v >= 0 else NEGATIVE
    r, g, b = (int(end[k : k + 2], 16) for k in (1, 3, 5))
    a = min(1.0, abs(v))
    blend = [round(0xF7 + (c - 0xF7) * a) for c in (r, g, b)]
    return "#" + "".join(f"{c:02x}" for c in blend)
