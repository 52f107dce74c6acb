"""Pure functions: data -> plotly Figure. The only module of the core that imports plotly.

Figures are built from plain dicts with plotly's validation off (`_fig`): validating every
property costs tens of milliseconds a figure, and a live refresh has 50 ms for all of them.
Arrays go in as float32 or int8 numpy arrays, which plotly sends as compact binary, so a refresh
stays small (DESIGN.md budget: under 300 KB).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.captions import power_of_ten
from dlviz.history import RunHistory
from dlviz.probes import Snapshot2D
from dlviz.text import plural

# Colours people with any common colour-vision deficiency can tell apart: the Okabe-Ito palette
# (Okabe and Ito, "Color Universal Design", 2008) without its black, which vanishes on a dark
# background. Each reads on a white and on a dark page; none pairs red with green.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",  # bluish green
    "vermillion": "#D55E00",
    "purple": "#CC79A7",  # reddish purple
    "sky": "#56B4E9",
    "yellow": "#F0E442",
}
# Classes after TensorFlow Playground: orange for class 0, blue for class 1 (its own shades of
# the Okabe-Ito pair), then the rest of the palette.
CLASS_COLORS = (
    "#f59322",
    "#0877bd",
    *(OKABE_ITO[k] for k in ("green", "vermillion", "purple", "sky")),
)
# Negative orange, zero near white, positive blue: a diverging map that is not red/green.
DIVERGING = [[0.0, "#f59322"], [0.5, "#f7f7f7"], [1.0, "#0877bd"]]
# The same map faded a quarter toward white, opaque: the pale boundary the points stand out on,
# the same on a light and a dark page (a see-through heatmap would take the page's colour).
BOUNDARY_SCALE = [[0.0, "#f8ae59"], [0.5, "#f9f9f9"], [1.0, "#4699cd"]]
RUN_COLORS = tuple(OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky"))
TRANSPARENT = "rgba(0,0,0,0)"


def _fig(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            axis.setdefault("automargin", True)  # room for tick labels and titles
    return go.Figure(data=traces, layout=layout, _validate=False)


def _layout(height: int, title: str | None = None, **kw: Any) -> dict[str, Any]:
    layout = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        "font": {"size": 12, "family": '"Source Sans", "Source Sans Pro", sans-serif'},
        "uirevision": "keep",  # live refreshes keep the user's zoom and hidden traces
        # No plotly template (it is ~6 KB a figure): Streamlit's theme styles the charts in the
        # page, `themed` the live ones. Transparent, so the page's light or dark shows through.
        "template": {},
        "paper_bgcolor": TRANSPARENT,
        "plot_bgcolor": TRANSPARENT,
        **kw,
    }
    if title:
        # From the left edge of the figure, so a title wider than a narrow square plot is cut
        # at its end (if at all), never at its start.
        layout["title"] = {
            "text": title,
            "font": {"size": 14},
            "x": 0,
            "xref": "container",
            "xanchor": "left",
            "pad": {"l": 4},
        }
    return layout


def _legend_below(**kw: Any) -> dict[str, Any]:
    """A horizontal legend at the foot of the figure, under the x axis's ticks and title: placed
    in the figure's frame (``yref: container``), plotly makes room for it, where a legend placed
    under the plot (``y < 0`` of the plot) lands on the axis title of a short chart."""
    return {
        "orientation": "h",
        "x": 0,
        "xanchor": "left",
        "y": 0,
        "yanchor": "bottom",
        "yref": "container",
        **kw,
    }


# --- light and dark -------------------------------------------------------------------------------

# Text, grid and hover colours on Streamlit's light and dark pages; None: the theme is not known
# yet, mid-greys that read on both.
THEMES: dict[str | None, dict[str, str]] = {
    "light": {"text": "#31333f", "grid": "rgba(49,51,63,0.12)", "line": "rgba(49,51,63,0.35)",
              "background": "#ffffff"},
    "dark": {"text": "#fafafa", "grid": "rgba(250,250,250,0.14)", "line": "rgba(250,250,250,0.35)",
             "background": "#171614"},
    None: {"text": "#808495", "grid": "rgba(128,128,128,0.2)", "line": "rgba(128,128,128,0.45)",
           "background": "#808495"},
}  # fmt: skip
# Lines and markers against the page. WCAG asks 3:1 of graphics; the Okabe-Ito orange and sky
# blue have 2.25 and 2.3 on white, and are kept: a 2 px line of either reads. What falls below
# (yellow on white, viridis's dark purple on a dark page) is darkened or lightened to this.
MIN_CONTRAST = 2.2


def parse_rgb(color: Any) -> tuple[float, float, float] | None:
    """(r, g, b) in 0..255 of '#rrggbb', '#rgb', 'rgb(...)' or 'rgba(...)'; None otherwise."""
    if not isinstance(color, str):
        return None
    c = color.strip().lower()
    if c.startswith("#") and len(c) in (4, 7):
        h = c[1:] if len(c) == 7 else "".join(ch * 2 for ch in c[1:])
        try:
            return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
        except ValueError:
            return None
    if c.startswith("rgb"):
        try:
            parts = [float(v) for v in c[c.index("(") + 1 : c.index(")")].split(",")[:3]]
        except ValueError:
            return None
        return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None
    return None


def luminance(rgb: Sequence[float]) -> float:
    """WCAG relative luminance of an (r, g, b) colour in 0..255."""

    def channel(v: float) -> float:
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Sequence[float], b: Sequence[float]) -> float:
    """WCAG contrast ratio of two (r, g, b) colours: 1 (the same) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(color: str, background: str, ratio: float = MIN_CONTRAST) -> str:
    """`color`, or it mixed toward black (on a light page) or white (on a dark one) just enough
    to stand out from `background` by `ratio`; colours it cannot read are returned as they are."""
    rgb, bg = parse_rgb(color), parse_rgb(background)
    if rgb is None or bg is None or contrast(rgb, bg) >= ratio:
        return color
    target = (0.0, 0.0, 0.0) if luminance(bg) > 0.2 else (255.0, 255.0, 255.0)
    for step in range(1, 11):
        t = step / 10
        mixed = tuple(v + (w - v) * t for v, w in zip(rgb, target))
        if contrast(mixed, bg) >= ratio:
            break
    return "#{:02x}{:02x}{:02x}".format(*(int(round(v)) for v in mixed))


def themed(fig: go.Figure, scheme: str | None) -> go.Figure:
    """`fig` (changed in place, and returned) for a page in Streamlit's ``"light"`` or
    ``"dark"`` theme (None: not known, neutral greys): text, grid, axis and hover colours, and
    each line, marker and bar colour made to stand out from the page (`readable`). Images and
    heatmaps keep their own colours. For the charts Streamlit does not style (the live ones).

    It edits the figure's own dicts (plotly's `_layout` and `_data`, as `_fig` built them):
    setting a few dozen properties through plotly's objects costs more than a live refresh's
    whole 50 ms."""
    colors = THEMES.get(scheme, THEMES[None])
    text, grid, line = colors["text"], colors["grid"], colors["line"]
    layout: dict[str, Any] = fig._layout
    layout["font"] = {**layout.get("font", {}), "color": text}
    for name in ("xaxis", "yaxis"):  # the default axes, where a figure does not name them
        layout.setdefault(name, {})
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            axis.update(gridcolor=grid, linecolor=line, zerolinecolor=line, tickcolor=line)
    layout["hoverlabel"] = {
        "bgcolor": "#262730" if scheme == "dark" else "#ffffff",
        "bordercolor": line,
        "font": {"color": "#fafafa" if scheme == "dark" else "#31333f"},
    }
    if scheme is None:
        return fig
    background = colors["background"]
    for trace in fig._data:
        if trace.get("type", "scatter") not in ("scatter", "bar"):
            continue
        for part in (trace.get("line"), trace.get("marker")):
            if not isinstance(part, dict):
                continue
            color = part.get("color")
            if isinstance(color, str):
                part["color"] = readable(color, background)
            elif isinstance(color, (list, tuple)) and color and isinstance(color[0], str):
                part["color"] = [readable(c, background) for c in color]
    return fig


def _f32(values: Any) -> np.ndarray:
    """A float32 array; None becomes NaN (a gap in a line)."""
    return (
        np.array([np.nan if v is None else v for v in values], dtype=np.float32)
        if isinstance(values, list)
        else np.asarray(values, dtype=np.float32)
    )


MAX_LINE_POINTS = 400  # points per line sent to the browser; more does not show at chart width


def _thin(*arrays: np.ndarray, n: int = MAX_LINE_POINTS) -> list[np.ndarray]:
    """Every k-th element (and always the last) so each array has at most about `n`."""
    length = len(arrays[0]) if arrays else 0
    if length <= n:
        return list(arrays)
    idx = np.unique(np.append(np.arange(0, length, -(-length // n)), length - 1))
    return [np.asarray(a)[idx] for a in arrays]


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
                "x": _f32(pts[:, 0]),
                "y": _f32(pts[:, 1]),
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
    layout = _layout(
        height,
        title,
        legend=_legend_below(),
        **_square_axes(extent),
    )
    return _fig(traces, layout)


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
    layout = _layout(
        height,
        title.strip() or None,
        showlegend=False,
        **_square_axes(snapshot.extent),
    )
    return _fig(traces, layout)


def _curves_layout(height: int, xlabel: str) -> dict[str, Any]:
    """Loss on the left, accuracy on the right, one x axis each. The accuracy axis has its
    ticks and title on its right, outside the plot: between the two plots they would sit on
    the loss plot's ticks. The legend goes above (`_legend_above`)."""
    return _layout(
        height,
        xaxis={"domain": [0.0, 0.44], "title": {"text": xlabel}},
        yaxis={"title": {"text": "loss (cross-entropy)"}, "rangemode": "tozero"},
        xaxis2={"domain": [0.56, 1.0], "anchor": "y2", "title": {"text": xlabel}},
        yaxis2={
            "anchor": "x2",
            "side": "right",
            "title": {"text": "accuracy"},
            "range": [0, 1.02],
            "tickformat": ".0%",
        },
        legend=_legend_below(),
    )


def curves_figure(
    runs: Sequence[tuple[str, RunHistory]],
    x: str = "epoch",
    height: int = 340,
    show_batch_loss: bool = True,
) -> go.Figure:
    """Loss (left) and accuracy (right) of one or more runs; train dashed, test solid.

    `x` is ``"epoch"`` or ``"elapsed"`` (seconds of training). The thin line is the mean batch
    loss between reports, on a fractional-epoch axis, so the curve starts before epoch 1 ends.
    """
    traces: list[dict[str, Any]] = []
    xlabel = "epoch" if x == "epoch" else "seconds of training"
    for i, (label, h) in enumerate(runs):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        prefix = f"{label}: " if label else ""
        ep = {k: _f32(v) for k, v in h.epochs.to_dict().items()}
        cols = [c for c in ep if c != "step"]
        ep = dict(zip(cols, _thin(*(ep[c] for c in cols))))
        xs = ep["epoch"] if x == "epoch" else ep["elapsed"]
        mode = "lines" if len(xs) > 2 else "lines+markers"  # one epoch is still visible
        if show_batch_loss and len(h.steps):
            st = h.steps.to_dict()
            bx = (
                _f32(st["step"]) / max(h.steps_per_epoch, 1)
                if x == "epoch"
                else _f32(st["elapsed"])
            )
            bx, by = _thin(bx, _f32(st["loss"]))
            traces.append(
                {
                    "type": "scatter",
                    "x": bx,
                    "y": by,
                    "mode": "lines",
                    "name": f"{prefix}batch loss",
                    "line": {"color": color, "width": 1},
                    "opacity": 0.35,
                    "legendgroup": label,
                }
            )
        for split, dash in (("train", "dash"), ("test", "solid")):
            line = {"color": color, "dash": dash, "width": 2}
            traces.append(
                {
                    "type": "scatter",
                    "x": xs,
                    "y": ep[f"{split}_loss"],
                    "mode": mode,
                    "name": f"{prefix}{split}",
                    "line": line,
                    "legendgroup": label,
                }
            )
            traces.append(
                {
                    "type": "scatter",
                    "x": xs,
                    "y": ep[f"{split}_accuracy"],
                    "mode": mode,
                    "name": f"{prefix}{split}",
                    "line": line,
                    "legendgroup": label,
                    "xaxis": "x2",
                    "yaxis": "y2",
                    "showlegend": False,
                }
            )
    return _fig(traces, _curves_layout(height, xlabel))


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
    epochs, lines = _thin(_f32(data["epoch"]), norms)
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
    layout = _layout(
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
        legend=_legend_below(),
    )
    return _fig(traces, layout)


def neuron_maps_figure(snapshot: Snapshot2D, width_px: int = 640) -> go.Figure:
    """What each neuron of the first hidden layers responds to over the plane.

    Rows are layers, columns neurons; each map is scaled to its own largest magnitude so its
    shape shows (orange negative, blue positive, white zero), as in TensorFlow Playground. The
    tiles go out as one int8 image, about 20 KB.
    """
    layers = list(snapshot.neurons)
    if not layers:
        return _fig([], _layout(60))
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
    layout = _layout(
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
    return _fig(traces, layout)


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
            "x": _f32(np.concatenate(seg_x)) if seg_x else [],
            "y": _f32(np.concatenate(seg_y)) if seg_y else [],
            "mode": "lines",
            "line": {"color": "rgba(120,120,120,0.25)", "width": 1},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "x": _f32(node_x),
            "y": _f32(node_y),
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
    layout = _layout(
        height,
        title,
        annotations=annotations,
        shapes=shapes,
        xaxis={"visible": False, "range": [-0.5, len(widths) - 0.5]},
        yaxis={"visible": False, "range": [-top - 1.3, top + (1.0 if residual else 0.4)]},
    )
    layout["margin"]["b"] = 8 + 15 * len(notes)
    return _fig(traces, layout)


def figure_bytes(fig: go.Figure) -> int:
    """How many bytes the figure's JSON takes: what a refresh sends for it."""
    return len(fig.to_json())


# --- images ---------------------------------------------------------------------------------------
# Image-heavy figures are drawn as one PNG each (encoded here with zlib, no imaging library), laid
# under an invisible axis with captions as annotations: a grid of 64 feature maps is one small
# image, not 64 heatmaps.


def png_bytes(pixels: np.ndarray) -> bytes:
    """PNG file bytes of a uint8 image: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA."""
    import struct
    import zlib

    img = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = img.shape[:2]
    color_type = {3: 2, 4: 6}[img.shape[2]] if img.ndim == 3 else 0
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, -1)], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return (
            struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 1))  # fast: a live figure is rebuilt often
        + chunk(b"IEND", b"")
    )


def _data_uri(pixels: np.ndarray) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode()


_VIRIDIS = np.array(
    [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
     [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]],
    dtype=np.float32,
)  # fmt: skip
_DIVERGING = np.array([[245, 147, 34], [247, 247, 247], [8, 119, 189]], dtype=np.float32)


def _lut(stops: np.ndarray) -> np.ndarray:
    """256 RGB colours interpolated evenly through `stops`."""
    pos = np.linspace(0.0, len(stops) - 1, 256)
    i = np.minimum(pos.astype(int), len(stops) - 2)
    frac = (pos - i)[:, None]
    return (stops[i] * (1 - frac) + stops[i + 1] * frac).round().astype(np.uint8)


_LUTS = {False: _lut(_VIRIDIS), True: _lut(_DIVERGING)}


def colorize(values: np.ndarray, lo: float, hi: float, diverging: bool = False) -> np.ndarray:
    """Map `values` in [lo, hi] to RGB uint8 (viridis, or orange-white-blue when diverging),
    through a 256-colour table; NaN counts as 0."""
    v = np.asarray(values, dtype=np.float32)
    t = (np.nan_to_num(v) - lo) * (255.0 / max(hi - lo, 1e-12))
    index = np.clip(t + 0.5, 0, 255).astype(np.uint8)
    return _LUTS[diverging][index]


def _to_rgb(img: np.ndarray) -> np.ndarray:
    """(C, H, W) float in [0, 1] (C = 1 or 3) -> (H, W, 3) uint8."""
    img = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
    rgb = np.repeat(img, 3, axis=0) if img.shape[0] == 1 else img[:3]
    return (rgb.transpose(1, 2, 0) * 255).round().astype(np.uint8)


def _zoom(tile: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of an (H, W[, 3]) tile, or a stack (N, H, W[, 3]) of them, to
    side `size`."""
    stacked = tile.ndim == 4 or (tile.ndim == 3 and tile.shape[-1] != 3)
    h, w = tile.shape[1:3] if stacked else tile.shape[:2]
    rows = (np.arange(size) * h // size).clip(0, h - 1)
    cols = (np.arange(size) * w // size).clip(0, w - 1)
    return tile[:, rows][:, :, cols] if stacked else tile[rows][:, cols]


def _mosaic(tiles: Any, cols: int, gap: int = 2) -> np.ndarray:
    """Equal-size (s, s, 3) tiles (a list, or one (N, s, s, 3) array) in rows of `cols`, `gap`
    pixels apart, as one RGBA image: the gaps are transparent, so the page's own background,
    light or dark, shows between the tiles (and behind the captions laid over them)."""
    tiles = np.asarray(tiles, dtype=np.uint8)
    n, s = len(tiles), tiles.shape[1]
    rows = -(-n // cols)
    grid = np.zeros((rows * cols, s + gap, s + gap, 4), np.uint8)
    grid[:n, :s, :s, :3] = tiles
    grid[:n, :s, :s, 3] = 255
    grid = grid.reshape(rows, cols, s + gap, s + gap, 4).transpose(0, 2, 1, 3, 4)
    out = grid.reshape(rows * (s + gap), cols * (s + gap), 4)
    return np.ascontiguousarray(out[: rows * (s + gap) - gap, : cols * (s + gap) - gap])


def _clear(h: int, w: int) -> np.ndarray:
    """A transparent (h, w) strip of an RGBA image."""
    return np.zeros((h, w, 4), np.uint8)


def _image_figure(
    pixels: np.ndarray, annotations: list[dict], title: str | None, height: int | None
) -> go.Figure:
    h, w = pixels.shape[:2]
    traces = [{"type": "image", "source": _data_uri(pixels), "hoverinfo": "skip"}]
    layout = _layout(
        height or int(h * min(1.0, 720 / max(w, 1))) + (40 if title else 10),
        title,
        xaxis={"visible": False, "range": [0, w], "constrain": "domain"},
        yaxis={"visible": False, "range": [h, 0], "scaleanchor": "x", "constrain": "domain"},
        annotations=annotations,
    )
    return _fig(traces, layout)


def image_grid_figure(
    images: np.ndarray,
    captions: Sequence[str] = (),
    cols: int = 8,
    tile: int = 64,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Images (N, C, H, W) in [0, 1] as a grid, each with an optional caption under it."""
    images = np.asarray(images)
    if len(images) == 0:
        return _fig([], _layout(60, title or "No images"))
    cols = max(1, min(cols, len(images)))
    caption_px = 16 if len(captions) else 0
    gap = 4 + caption_px
    tiles = [_zoom(_to_rgb(img), tile) for img in images]
    mosaic = _mosaic(tiles, cols, gap=gap)
    if caption_px:  # room under the last row too
        mosaic = np.concatenate([mosaic, _clear(caption_px, mosaic.shape[1])])
    notes = [
        {
            "x": (k % cols) * (tile + gap) + tile / 2,
            "y": (k // cols) * (tile + gap) + tile + 2,
            "text": text,
            "showarrow": False,
            "yanchor": "top",
            "font": {"size": 10},
        }
        for k, text in enumerate(captions)
    ]
    return _image_figure(mosaic, notes, title, height)


def feature_maps_figure(
    snapshot: Any, layers: Sequence[str] | None = None, cols: int = 16, tile: int = 28
) -> go.Figure:
    """Every layer's activations for one image: a row of channel images per layer, each layer on
    one colour scale (its own 0 to largest), so strong and weak channels compare at a glance."""
    names = [n for n in (layers or list(snapshot.maps)) if n in snapshot.maps]
    if not names:
        return _fig([], _layout(60, "No feature maps yet"))
    label_px = 18
    blocks, notes, y = [], [], 0
    width = cols * (tile + 2) - 2
    for name in names:
        maps = np.asarray(snapshot.maps[name], dtype=np.float32)  # (C, h, w)
        lo, hi = float(min(maps.min(), 0.0)), float(max(maps.max(), 1e-6))
        diverging = lo < 0
        if diverging:
            lo, hi = -max(-lo, hi), max(-lo, hi)
        mosaic = _mosaic(_zoom(colorize(maps, lo, hi, diverging), tile), cols)
        if mosaic.shape[1] < width:
            mosaic = np.pad(mosaic, ((0, 0), (0, width - mosaic.shape[1]), (0, 0)))
        real = snapshot.channels.get(name, len(maps))
        first = getattr(snapshot, "first_channel", {}).get(name, 0)
        shown = (
            f"channels {first + 1}-{first + len(maps)} of {real}"
            if real > len(maps)
            else plural(real, "channel")
        )
        h, w = maps.shape[1:]
        notes.append(
            {"x": 0, "y": y + 2, "text": f"<b>{name}</b> - {shown}, {h}x{w}, scale 0 to {hi:.2g}"
             if not diverging else f"<b>{name}</b> - {shown}, {h}x{w}, scale ±{hi:.2g}",
             "showarrow": False, "xanchor": "left", "yanchor": "top", "font": {"size": 11}}
        )  # fmt: skip
        blocks += [_clear(label_px, width), mosaic, _clear(6, width)]
        y += label_px + mosaic.shape[0] + 6
    return _image_figure(np.concatenate(blocks), notes, None, None)


def filters_figure(weights: np.ndarray, tile: int = 40, cols: int = 16) -> go.Figure:
    """First-layer filters (C_out, C_in, k, k) as images: RGB for 3 input channels (each filter
    scaled to its own range), else a diverging map of the first input channel (orange negative,
    blue positive)."""
    w = np.asarray(weights, dtype=np.float32)
    tiles = []
    for f in w:
        if f.shape[0] == 3:
            lo, hi = f.min(), f.max()
            tiles.append(_zoom(_to_rgb((f - lo) / max(hi - lo, 1e-12)), tile))
        else:
            m = float(np.abs(f[0]).max()) or 1.0
            tiles.append(_zoom(colorize(f[0], -m, m, diverging=True), tile))
    return _image_figure(_mosaic(tiles, min(cols, len(tiles))), [], None, None)


# White for none of a class to dark blue for all of it. (plotly.js's named "Blues" runs the other
# way: dark at zero.)
CONFUSION_SCALE = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]


def confusion_figure(cm: np.ndarray, class_names: Sequence[str], height: int = 380) -> go.Figure:
    """Test-set confusion matrix: rows the true class, columns the prediction, counts written in."""
    cm = np.asarray(cm)
    names = list(class_names)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    traces = [
        {
            "type": "heatmap", "z": share.astype(np.float32), "x": names, "y": names, "zmin": 0, "zmax": 1,
            "colorscale": CONFUSION_SCALE, "showscale": False, "text": cm.astype(str).tolist(),
            "texttemplate": "%{text}", "customdata": cm.tolist(),
            "hovertemplate": "true %{y}, predicted %{x}: %{customdata}<extra></extra>",
        }
    ]  # fmt: skip
    layout = _layout(
        height,
        xaxis={"title": {"text": "predicted"}, "side": "bottom", "tickangle": 0},
        yaxis={"title": {"text": "true"}, "autorange": "reversed"},
    )
    return _fig(traces, layout)


def dead_units_figure(h: RunHistory, height: int = 300) -> go.Figure:
    """Share of ReLU channels that output zero for every probe image, per layer, over training."""
    data = h.dead.to_dict()
    if not data["shares"]:
        return _fig([], _layout(60, "Dead-unit shares appear with the first snapshot"))
    layers = list(data["shares"][-1])
    colors = layer_colors(len(layers))
    steps = _f32(data["step"])
    traces = [
        {
            "type": "scatter", "x": steps, "y": _f32([s.get(name) for s in data["shares"]]),
            "mode": "lines" if len(steps) > 2 else "lines+markers", "name": name,
            "line": {"color": colors[i], "width": 2},
        }
        for i, name in enumerate(layers)
    ]  # fmt: skip
    layout = _layout(
        height,
        xaxis={"title": {"text": "step"}},
        yaxis={"title": {"text": "dead ReLU channels"}, "range": [0, 1.02], "tickformat": ".0%"},
        legend=_legend_below(),
    )
    return _fig(traces, layout)


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
    layout = _layout(
        height, shapes=boxes, annotations=notes,
        xaxis={"visible": False, "range": [-0.1, x + 0.1]},
        yaxis={"visible": False, "range": [-3.8, 2.8]},
    )  # fmt: skip
    return _fig([], layout)


def probability_figure(
    class_names: Sequence[str], probs: np.ndarray, max_classes: int = 20
) -> go.Figure:
    """One image's class probabilities as horizontal bars, most likely on top and highlighted."""
    probs = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-probs, kind="stable")[:max_classes]
    names = [str(class_names[i]) for i in order]
    values = probs[order]
    colors = [RUN_COLORS[0] if k == 0 else "#9bbcd6" for k in range(len(order))]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "x": values.tolist(),
            "y": names,
            "marker": {"color": colors},
            "text": [f"{v:.1%}" for v in values],
            "textposition": "outside",
            "cliponaxis": False,
            "hovertemplate": "%{y}: %{x:.2%}<extra></extra>",
        }
    ]
    title = None if len(probs) <= max_classes else f"The {max_classes} most likely classes"
    layout = _layout(
        60 + 28 * len(order) + (30 if title else 0),
        title,
        xaxis={"range": [0, 1.15], "tickformat": ".0%", "title": {"text": "probability"}},
        yaxis={"autorange": "reversed", "type": "category"},
        showlegend=False,
        bargap=0.25,
    )
    return _fig(traces, layout)


def explain_figure(
    image: np.ndarray, saliency: np.ndarray, cam: np.ndarray, layer: str = "", tile: int = 180
) -> go.Figure:
    """The image (C, H, W) in [0, 1], its saliency map (H, W) and its Grad-CAM heat map (H, W),
    both in [0, 1], the latter laid over a faded copy of the image."""
    rgb = _to_rgb(image).astype(np.float32)
    heat = colorize(cam, 0.0, 1.0).astype(np.float32)
    overlay = 0.45 * rgb + 0.55 * heat
    tiles = [rgb, colorize(saliency, 0.0, 1.0).astype(np.float32), overlay]
    stack = np.stack([t.transpose(2, 0, 1) / 255.0 for t in tiles])
    captions = ["the image", "saliency", f"Grad-CAM ({layer})" if layer else "Grad-CAM"]
    return image_grid_figure(stack, captions, cols=3, tile=tile)


# --- stored runs side by side (the Runs page) -----------------------------------------------------

# Ten runs, ten colours: Okabe-Ito's six, then Paul Tol's olive, purple and teal and a grey
# (https://personal.sron.nl/~pault/). The first seven stay apart with any colour vision (ten
# cannot all); each reads on a light and on a dark page.
COMPARE_COLORS = (*RUN_COLORS, "#999933", "#aa4499", "#44aa99", "#888888")


def compare_curves_figure(
    runs: Sequence[tuple[str, dict[str, Sequence[Any]]]], x: str = "epoch", height: int = 380
) -> go.Figure:
    """Loss (left) and accuracy (right) of stored runs overlaid, one colour a run; test solid,
    train dashed. `runs` is (label, metrics columns: epoch, elapsed, train_loss, ...); `x` is
    ``"epoch"`` or ``"elapsed"`` (seconds of training). Each line has at most MAX_LINE_POINTS."""
    traces: list[dict[str, Any]] = []
    xlabel = "epoch" if x == "epoch" else "seconds of training"
    for i, (label, metrics) in enumerate(runs):
        color = COMPARE_COLORS[i % len(COMPARE_COLORS)]
        n = len(metrics.get("epoch") or [])
        # Long runs: pick evenly spread epochs before converting (a stored run's columns are
        # Python lists; converting 20,000 epochs of ten runs would cost more than the drawing).
        pick = (
            np.unique(np.linspace(0, n - 1, 2 * MAX_LINE_POINTS).round().astype(np.int64))
            if n > 2 * MAX_LINE_POINTS
            else None
        )
        cols = {}
        for c in ("epoch", "elapsed", "train_loss", "train_accuracy", "test_loss", "test_accuracy"):
            values = metrics.get(c)
            if values is None or len(values) != n:
                cols[c] = None
                continue
            values = list(values) if pick is None else [values[k] for k in pick]
            cols[c] = _f32(values)
        if cols[x] is None:
            continue
        names = [c for c in cols if cols[c] is not None]
        thinned = dict(zip(names, _thin(*(cols[c] for c in names))))
        xs = thinned[x]
        mode = "lines" if len(xs) > 2 else "lines+markers"
        for split, dash in (("test", "solid"), ("train", "dash")):
            for metric, axes in (("loss", {}), ("accuracy", {"xaxis": "x2", "yaxis": "y2"})):
                ys = thinned.get(f"{split}_{metric}")
                if ys is None:
                    continue
                traces.append(
                    {
                        "type": "scatter",
                        "x": xs,
                        "y": ys,
                        "mode": mode,
                        "name": label,
                        "line": {"color": color, "dash": dash, "width": 2},
                        "legendgroup": label,
                        # one legend entry a run (its test loss); clicking it hides all four
                        "showlegend": split == "test" and metric == "loss",
                        "hovertemplate": f"{split} {metric}: %{{y:.3g}}<extra>{label}</extra>",
                        **axes,
                    }
                )
    return _fig(traces, _curves_layout(height, xlabel))


def grad_profiles_figure(
    profiles: Sequence[tuple[str, dict[str, float]]], height: int = 340
) -> go.Figure:
    """Each run's gradient profile (mean weight-gradient norm per layer, input to output, log
    scale) as one line, layers numbered from the input: runs of any depth side by side, and a
    line that falls toward layer 1 is a vanishing gradient."""
    traces: list[dict[str, Any]] = []
    most = 0
    for i, (label, norms) in enumerate(profiles):
        if not norms:
            continue
        names = list(norms)
        ys = _f32([norms[n] if isinstance(norms[n], (int, float)) else None for n in names])
        ys[~(ys > 0)] = np.nan  # a zero or broken norm has no place on a log axis: a gap
        most = max(most, len(names))
        traces.append(
            {
                "type": "scatter",
                "x": np.arange(1, len(names) + 1, dtype=np.int32),
                "y": ys,
                "mode": "lines+markers",
                "name": label,
                "line": {"color": COMPARE_COLORS[i % len(COMPARE_COLORS)], "width": 2},
                "customdata": names,
                "hovertemplate": "%{customdata}: %{y:.3g}<extra>" + label + "</extra>",
            }
        )
    layout = _layout(
        height,
        xaxis={
            "title": {"text": "layer (1 = next to the input; the last is the output layer)"},
            **({"dtick": 1} if most <= 20 else {}),
        },
        yaxis=log_decade_axis(
            [t for tr in traces for t in tr["y"] if t == t], "mean |grad W|, last epoch"
        ),
        legend=_legend_below(),
    )
    return _fig(traces, layout)


def log_decade_axis(
    values: Sequence[Any], title: str | None = None, max_ticks: int = 6
) -> dict[str, Any]:
    """A log axis for values that span many orders of magnitude (gradient norms): labelled at
    powers of ten only - every decade, or every 2nd, 3rd, 5th ... so that at most `max_ticks`
    labels show - as 10⁻³ in one line. (Plotly's own log ticks add small 2 and 5 labels
    between the decades, which pile up into an unreadable column on a short chart.)"""
    vs = (
        np.asarray(values, dtype=np.float64).ravel()
        if isinstance(values, np.ndarray)
        else np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    )
    vs = vs[np.isfinite(vs) & (vs > 0)]
    axis: dict[str, Any] = {"type": "log"}
    if title:
        axis["title"] = {"text": title}
    if not len(vs):
        return axis
    lo, hi = math.floor(math.log10(vs.min())), math.ceil(math.log10(vs.max()))
    if hi == lo:  # one value, a power of ten: the decade below it too
        lo -= 1
    step = next(s for s in (1, 2, 3, 5, 10, 20, 50, 100) if (hi - lo) // s + 1 <= max_ticks)
    first = -(-lo // step) * step  # labels at multiples of `step`: 10⁻¹⁵, 10⁻¹⁰, 10⁻⁵, 1
    ticks = list(range(first, hi + 1, step))
    pad = 0.03 * (hi - lo)
    axis.update(
        tickvals=[10.0**k for k in ticks],
        ticktext=[power_of_ten(k) for k in ticks],
        range=[lo - pad, hi + pad],
        minor={"showgrid": False},
    )
    return axis


LOG_DTICK_2X = math.log10(2)  # a log axis ticked at 1, 2, 4, 8, ...


def _tick_text(t: float) -> str:
    return f"{t:,.0f}" if t >= 1000 else f"{t:g}"


def log_value_axis(values: Sequence[float], title: str) -> dict[str, Any]:
    """A log axis for measured values with labelled ticks however narrow their range: 1, 2, 5
    in each decade where they span under 2.5 decades, the powers of ten where wider (a plain
    log axis labels only the powers of ten, and none at all inside one decade). The range runs
    from the tick at or below the smallest value to the one at or above the largest, so at
    least two labels always show."""
    vs = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v) and v > 0]
    axis: dict[str, Any] = {"type": "log", "title": {"text": title}}
    if not vs:
        return axis
    lo, hi = min(vs), max(vs)
    steps = (1,) if hi / lo > 10**2.5 else (1, 2, 5)
    first, last = math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1
    candidates = [m * 10.0**k for k in range(first, last + 1) for m in steps]
    bottom = max(t for t in candidates if t <= lo * (1 + 1e-9))
    top = min(t for t in candidates if t >= hi * (1 - 1e-9))
    if top == bottom:  # one value, on a tick: the ticks either side
        i = candidates.index(bottom)
        bottom, top = candidates[i - 1], candidates[i + 1]
    ticks = [t for t in candidates if bottom <= t <= top]
    pad = 0.04 * max(math.log10(top / bottom), 0.3)
    axis.update(
        tickvals=ticks,
        ticktext=[_tick_text(t) for t in ticks],
        range=[math.log10(bottom) - pad, math.log10(top) + pad],
    )
    return axis


VARIANT_COLORS = {"plain": RUN_COLORS[1], "residual": RUN_COLORS[0], "sigmoid": RUN_COLORS[2]}


def _depth_axis() -> dict[str, Any]:
    return {"type": "log", "title": {"text": "hidden layers"}, "dtick": LOG_DTICK_2X}


def depth_accuracy_figure(results: Sequence[Any], height: int = 340) -> go.Figure:
    """Final train (solid) and test (dashed) accuracy against depth, one colour per variant;
    `results` are `dlviz.labs.depth.experiment.DepthResult`s (NaN where a run has not ended)."""
    traces = []
    for variant, color in VARIANT_COLORS.items():
        rows = sorted((r for r in results if r.variant == variant), key=lambda r: r.depth)
        if not rows:
            continue
        for part, dash in (("train", "solid"), ("test", "dash")):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{variant} ({part})",
                    "x": [r.depth for r in rows],
                    "y": _f32([getattr(r, f"{part}_accuracy") for r in rows]),
                    "line": {"color": color, "dash": dash},
                    "hovertemplate": f"{variant}, depth %{{x}}: {part} %{{y:.1%}}<extra></extra>",
                }
            )
    layout = _layout(
        height,
        xaxis=_depth_axis(),
        yaxis={"title": {"text": "accuracy"}, "tickformat": ".0%", "range": [0, 1.02]},
        legend=_legend_below(),
    )
    return _fig(traces, layout)


def depth_gradient_figure(results: Sequence[Any], height: int = 340) -> go.Figure:
    """Mean first-layer (solid) and output-layer (dotted) weight-gradient norm of the last
    epoch against depth, log scale; a norm of exactly 0 is drawn at the axis floor."""
    traces = []
    values = [v for r in results for v in (r.first_grad, r.last_grad) if v == v and v > 0]
    floor = min(values) / 10 if values else 1e-12
    for variant, color in VARIANT_COLORS.items():
        rows = sorted((r for r in results if r.variant == variant), key=lambda r: r.depth)
        if not rows:
            continue
        for part, dash in (("first", "solid"), ("last", "dot")):
            ys = [getattr(r, f"{part}_grad") for r in rows]
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{variant} ({'first layer' if part == 'first' else 'output layer'})",
                    "x": [r.depth for r in rows],
                    "y": _f32([max(v, floor) if v == v else None for v in ys]),
                    "line": {"color": color, "dash": dash},
                    "hovertemplate": f"{variant}, depth %{{x}}: %{{y:.2e}}<extra></extra>",
                }
            )
    layout = _layout(
        height,
        xaxis=_depth_axis(),
        yaxis=log_decade_axis([t for tr in traces for t in tr["y"]], "gradient norm"),
        legend=_legend_below(),
    )
    return _fig(traces, layout)


def depth_profile_figure(results: Sequence[Any], height: int = 340) -> go.Figure:
    """Every layer's gradient norm (input to output, log scale) in the deepest finished network
    of each variant: where along the network the gradient fades."""
    traces = []
    values = [v for r in results for v in r.profile if v > 0]
    floor = min(values) / 10 if values else 1e-12
    for variant, color in VARIANT_COLORS.items():
        done = [r for r in results if r.variant == variant and r.profile]
        if not done:
            continue
        deepest = max(done, key=lambda r: r.depth)
        n = len(deepest.profile)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{variant}, {plural(deepest.depth, 'hidden layer')}",
                "x": list(range(1, n + 1)),
                "y": _f32([max(v, floor) for v in deepest.profile]),
                "line": {"color": color},
                "hovertemplate": f"{variant}: layer %{{x}} of {n}: %{{y:.2e}}<extra></extra>",
            }
        )
    layout = _layout(
        height,
        xaxis={"title": {"text": "layer (1 = first hidden layer, last = output)"}},
        yaxis=log_decade_axis([t for tr in traces for t in tr["y"]], "gradient norm"),
        legend=_legend_below(),
    )
    return _fig(traces, layout)


def _series_color(i: int) -> str:
    return COMPARE_COLORS[i % len(COMPARE_COLORS)]


def matmul_figure(rows: Sequence[dict[str, Any]], height: int = 360) -> go.Figure:
    """Matrix-multiply TFLOP/s against size (log-log), one line per device and dtype; the
    hover gives the share of the device's data-sheet peak where known."""
    done = [r for r in rows if r.get("bench") == "matmul" and r.get("tflops")]
    keys = list(dict.fromkeys((r["device"], r["dtype"]) for r in done))
    traces = []
    for i, (dev, dtype) in enumerate(keys):
        line = [r for r in done if (r["device"], r["dtype"]) == (dev, dtype)]
        peak = [
            f"{r['percent_of_peak']:.0f}% of its {r.get('peak_source', 'data sheet')} peak"
            if r.get("percent_of_peak")
            else "peak unknown"
            for r in line
        ]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{dev} {dtype}",
                "x": [r["size"] for r in line],
                "y": [r["tflops"] for r in line],
                "customdata": peak,
                "line": {"color": _series_color(i)},
                "hovertemplate": f"{dev} {dtype}, n=%{{x}}: %{{y:.3g}} TFLOP/s (%{{customdata}})"
                "<extra></extra>",
            }
        )
    layout = _layout(
        height,
        xaxis={
            "type": "log",
            "title": {"text": "matrix side n (n x n times n x n)"},
            "dtick": LOG_DTICK_2X,
        },
        yaxis=log_value_axis([r["tflops"] for r in done], "TFLOP/s"),
        legend=_legend_below(),
    )
    return _fig(traces, layout)


def train_step_figure(rows: Sequence[dict[str, Any]], height: int = 360) -> go.Figure:
    """Training samples a second against batch size (log-log), one line per device: where the
    lines cross, the GPU starts to pay off."""
    done = [r for r in rows if r.get("bench") == "train_step"]
    traces = []
    for i, dev in enumerate(dict.fromkeys(r["device"] for r in done)):
        line = [r for r in done if r["device"] == dev]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": dev,
                "x": [r["batch"] for r in line],
                "y": [r["samples_per_s"] for r in line],
                "customdata": [
                    [r["forward_s"] * 1e3, r["backward_s"] * 1e3, r["step_s"] * 1e3] for r in line
                ],
                "line": {"color": _series_color(i)},
                "hovertemplate": f"{dev}, batch %{{x}}: %{{y:,.0f}} samples/s<br>forward "
                "%{customdata[0]:.1f} ms, backward %{customdata[1]:.1f} ms, step "
                "%{customdata[2]:.1f} ms<extra></extra>",
            }
        )
    layout = _layout(
        height,
        xaxis={"type": "log", "title": {"text": "batch size"}, "dtick": LOG_DTICK_2X},
        yaxis=log_value_axis([r["samples_per_s"] for r in done], "training samples / s"),
        legend=_legend_below(),
    )
    return _fig(traces, layout)


def step_parts_figure(rows: Sequence[dict[str, Any]], height: int = 360) -> go.Figure:
    """Where one training step's time goes - forward, backward, optimizer step - per device and
    batch size: stacked bars of microseconds per training sample, so that every batch size
    reads on one scale (per step, the largest batch dwarfs the rest); the hover gives the
    milliseconds of the whole step's part."""
    done = [r for r in rows if r.get("bench") == "train_step"]
    labels = [f"{r['device']} b{r['batch']}" for r in done]
    parts = zip(("forward", "backward", "step"), RUN_COLORS)
    traces = [
        {
            "type": "bar",
            "name": part,
            "x": labels,
            "y": [r[f"{part}_s"] * 1e6 / r["batch"] for r in done],
            "customdata": [r[f"{part}_s"] * 1e3 for r in done],
            "marker": {"color": color},
            "hovertemplate": f"%{{x}}: {part} %{{y:.3g}} µs a sample "
            "(%{customdata:.2f} ms a step)<extra></extra>",
        }
        for part, color in parts
    ]
    layout = _layout(
        height,
        barmode="stack",
        yaxis={"title": {"text": "µs per training sample"}},
        legend=_legend_below(),
    )
    return _fig(traces, layout)


def bars_figure(
    rows: Sequence[dict[str, Any]], bench: str, label: str, value: str, unit: str, height: int = 320
) -> go.Figure:
    """One bar per measurement of `bench` (e.g. conv2d shapes, copies), grouped by device."""
    done = [r for r in rows if r.get("bench") == bench and r.get(value) is not None]
    traces = []
    for i, dev in enumerate(dict.fromkeys(r["device"] for r in done)):
        line = [r for r in done if r["device"] == dev]
        traces.append(
            {
                "type": "bar",
                "name": dev,
                "x": [str(r[label]) for r in line],
                "y": [r[value] for r in line],
                "marker": {"color": _series_color(i)},
                "hovertemplate": f"{dev}: %{{x}}: %{{y:.3g}} {unit}<extra></extra>",
            }
        )
    layout = _layout(
        height,
        barmode="group",
        yaxis={"title": {"text": unit}},
        legend=_legend_below(),
    )
    return _fig(traces, layout)


# --- transfer learning ----------------------------------------------------------------------------

# Light blue and light orange for the pretrained blocks, vermillion and bluish green for the
# layers that start from random weights (Okabe-Ito): told apart with any colour vision, and
# dark text reads on each.
ROLE_COLORS = {"frozen": "#9ecae1", "fine-tuned": "#fdae6b", "trained": OKABE_ITO["vermillion"],
               "new": OKABE_ITO["green"]}  # fmt: skip
ROLE_LABELS = {
    "frozen": "frozen (pretrained, not trained)",
    "fine-tuned": "fine-tuned (pretrained, trains)",
    "trained": "trained from random weights",
    "new": "new layer (random, trains)",
}
STRATEGY_COLORS = {  # the run colours, in the order a comparison runs them
    "scratch": RUN_COLORS[0],
    "frozen": RUN_COLORS[1],
    "finetune_top": RUN_COLORS[2],
    "finetune_all": RUN_COLORS[3],
}


def transfer_plan_figure(rows: Sequence[dict[str, Any]], height: int = 190) -> go.Figure:
    """The network as a row of blocks, input to output, coloured by what training does to each
    (`dlviz.transfer.plan` rows: layer, what, params, role, lr)."""
    traces = []
    for role, color in ROLE_COLORS.items():
        mine = [r for r in rows if r["role"] == role]
        if not mine:
            continue
        text = []
        for r in mine:
            lr = "" if r["role"] == "frozen" or r["lr"] == 1.0 else f"<br>lr x{r['lr']:g}"
            text.append(f"<b>{r['layer']}</b><br>{r['params']:,}{lr}")
        traces.append(
            {
                "type": "bar",
                "name": ROLE_LABELS[role],
                "x": [r["layer"] for r in mine],
                "y": [1.0] * len(mine),
                "text": text,
                "textposition": "inside",
                "insidetextanchor": "middle",
                "textfont": {"size": 11, "color": "#222"},
                "marker": {"color": color, "line": {"color": "#555", "width": 1}},
                "customdata": [[r["what"], r["params"]] for r in mine],
                "hovertemplate": "%{x}: %{customdata[0]}, %{customdata[1]:,} parameters"
                "<extra>" + role + "</extra>",
            }
        )
    layout = _layout(
        height,
        barmode="overlay",
        bargap=0.12,
        xaxis={"categoryorder": "array", "categoryarray": [r["layer"] for r in rows],
               "title": {"text": "input  \u2192  output"}},
        yaxis={"visible": False, "range": [0, 1]},
        legend={"orientation": "h", "yref": "container", "y": 1, "yanchor": "top", "x": 0},
        uniformtext={"minsize": 9, "mode": "hide"},
    )  # fmt: skip
    return _fig(traces, layout)


def weight_change_figure(
    changes: Sequence[tuple[str, str, dict[str, float]]], height: int = 300
) -> go.Figure:
    """Relative weight change per conv layer, ||W - W0|| / ||W0||, one bar series per run:
    `changes` are (label, strategy, {layer: change})."""
    traces = []
    for label, strategy, change in changes:
        traces.append(
            {
                "type": "bar",
                "name": label,
                "x": list(change),
                "y": _f32(list(change.values())),
                "marker": {"color": STRATEGY_COLORS.get(strategy, "#444")},
                "hovertemplate": f"{label}, %{{x}}: moved %{{y:.2%}}<extra></extra>",
            }
        )
    layout = _layout(
        height,
        barmode="group",
        xaxis={"title": {"text": "layer (input \u2192 output)"}},
        yaxis={
            "title": {"text": "change from pretrained"},
            "tickformat": ".0%",
            "rangemode": "tozero",
        },
        legend=_legend_below(),
    )
    return _fig(traces, layout)


def efficiency_figure(rows: Sequence[dict[str, Any]], height: int = 380) -> go.Figure:
    """Test accuracy against labelled examples per class (log axis), one line per strategy;
    `rows` have strategy, label, per_class and test_accuracy (NaN until the run ends)."""
    traces = []
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        mine = sorted((r for r in rows if r["strategy"] == strategy), key=lambda r: r["per_class"])
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": mine[0]["label"],
                "x": [r["per_class"] for r in mine],
                "y": _f32([r["test_accuracy"] for r in mine]),
                "line": {"color": STRATEGY_COLORS.get(strategy, "#444"), "width": 2.5},
                "marker": {"size": 8},
                "hovertemplate": f"{mine[0]['label']}, %{{x}} a class: test %{{y:.1%}}<extra></extra>",
            }
        )
    ticks = sorted({r["per_class"] for r in rows})
    layout = _layout(
        height,
        xaxis={"type": "log", "title": {"text": "labelled training images per class"},
               "tickvals": ticks, "ticktext": [str(t) for t in ticks]},
        yaxis={"title": {"text": "test accuracy"}, "tickformat": ".0%", "range": [0, 1.02]},
        legend=_legend_below(),
    )  # fmt: skip
    return _fig(traces, layout)
