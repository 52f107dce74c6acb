"""The Sequence lab's figures: curves for each task, a network's states, gates, attention and
the gradient reaching each time step, attention heads over training and switched off, the next
token's distribution, forecasts beside their baselines, and the length experiment.

Heatmaps go out as float32 (plotly's binary arrays) and at most MAX_CELLS cells a figure, a
long series is thinned, so one live refresh stays under 300 KB (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.axes import log_decade_axis, log_value_axis
from dlviz.figures.curves import batch_loss_trace, curves_layout
from dlviz.figures.theme import (
    COMPARE_COLORS,
    DIVERGING,
    OKABE_ITO,
    RUN_COLORS,
    accuracy_error_bars,
    base_layout,
    f32,
    legend_below,
    make_figure,
    thin_out,
)
from dlviz.history import RunHistory
from dlviz.sequence_probe import HEAD_KINDS, TURNED_ON, SequenceSnapshot, turned_on

MAX_CELLS = 16_384  # heatmap cells a figure sends (64 units x 256 steps): about 90 KB as float32
GREY = "#999999"  # what the eye reads past: the past of a series, the batch loss, baselines
INK = "#31333f"  # near black (the light page's text); `themed` lightens it on a dark page
# The feature maps' scales (dlviz.figures.rasters): viridis for shares, orange-white-blue for
# signed values (states), zero in the middle.
SEQUENTIAL = "Viridis"
# A fixed colour per architecture in the length experiment: the plain RNN orange (as the Depth
# lab's plain network), the gated ones blue and green, the transformer purple.
ARCH_COLORS = {
    "rnn": RUN_COLORS[1],
    "lstm": RUN_COLORS[0],
    "gru": RUN_COLORS[2],
    "transformer": RUN_COLORS[4],
}
# Forecast baselines (dlviz.forecast.BASELINES) in muted colours (Paul Tol's muted scheme): the
# network's own line stands out.
BASELINE_COLORS = {"naive": "#88ccee", "seasonal naive": "#ddcc77", "linear AR": "#cc6677"}
KIND_NAMES = {
    "previous": "previous-token",
    "self": "self",
    "duplicate": "duplicate-token",
    "induction": "induction",
}
NO_GATES = "this layer has no gates (a plain RNN, a convolution or attention)"


# --- helpers --------------------------------------------------------------------------------------


def printable(token: str) -> str:
    """A token as a label shows it: a space as ␣, a newline as ⏎, a tab as ⇥, nothing as ∅,
    and < > & escaped (plotly reads its text as HTML: "<pad>" would vanish)."""
    if token == "":
        return "∅"
    text = token.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥")


def _message(text: str, height: int) -> go.Figure:
    """An empty figure that says `text` in its middle."""
    layout = base_layout(
        height,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {"text": text, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
             "showarrow": False, "font": {"size": 13}}
        ],
    )  # fmt: skip
    return make_figure([], layout)


def _hline(y: float, color: str = GREY, dash: str = "dot", yref: str = "y") -> dict[str, Any]:
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": yref, "y0": y, "y1": y,
            "line": {"color": color, "dash": dash, "width": 1.5}}  # fmt: skip


def _vline(x: float, color: str = GREY, dash: str = "dot") -> dict[str, Any]:
    return {"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": x, "x1": x,
            "line": {"color": color, "dash": dash, "width": 1.5}}  # fmt: skip


def _note(x: Any, y: Any, text: str, **kw: Any) -> dict[str, Any]:
    return {"x": x, "y": y, "text": text, "showarrow": False, "font": {"size": 11}, **kw}


def _bin_sums(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Sums of `a` over bins of `k` along `axis` (the last bin may be shorter)."""
    return np.add.reduceat(a, np.arange(0, a.shape[axis], k), axis=axis)


def _bin_means(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Means of `a` over bins of `k` along `axis`, each over the values it really has."""
    n = a.shape[axis]
    counts = np.diff(np.append(np.arange(0, n, k), n)).astype(np.float32)
    shape = [1] * a.ndim
    shape[axis] = len(counts)
    return _bin_sums(a, k, axis) / counts.reshape(shape)


def pool_attention(att: np.ndarray, k: int) -> np.ndarray:
    """(..., T, T) attention with `k` positions a cell: queries averaged, keys summed, so each
    row still sums to 1 (as dlviz.sequence_probe.binned_attention bins long sequences)."""
    if k <= 1:
        return att
    return _bin_sums(_bin_means(att, k, axis=-2), k, axis=-1)


def _token_ticks(tokens: Sequence[str], n: int, every: int = 1) -> dict[str, Any]:
    """Tick labels at positions 0..n-1 (every `every`-th): the tokens, printable."""
    ticks = list(range(0, n, every))
    return {
        "tickmode": "array",
        "tickvals": ticks,
        "ticktext": [printable(tokens[t]) for t in ticks],
        "tickangle": 0 if n <= 32 else -90,
    }


# --- curves ---------------------------------------------------------------------------------------


def sequence_curves_figure(
    runs: Sequence[tuple[str, RunHistory]], task: str, x: str = "epoch", height: int = 340
) -> go.Figure:
    """Left: loss, train dashed, test solid, the batch loss thin. Right, by `task`: "class"
    accuracy (train dashed, test solid); "tokens" per-token accuracy (solid) and whole-sequence
    accuracy (dotted), train faint and test strong; "forecast" the network's test MSE against
    the naive forecast's (grey dashed), on a log axis. `x` is "epoch" or "elapsed" (seconds)."""
    xlabel = "epoch" if x == "epoch" else "seconds of training"
    traces: list[dict[str, Any]] = []
    right_values: list[float] = []
    for i, (label, h) in enumerate(runs):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        prefix = f"{label}: " if label else ""
        ep = {k: f32(v) for k, v in h.epochs.to_dict().items()}
        cols = [c for c in ep if c != "step"]
        ep = dict(zip(cols, thin_out(*(ep[c] for c in cols))))
        xs = ep["epoch"] if x == "epoch" else ep["elapsed"]
        mode = "lines" if len(xs) > 2 else "lines+markers"  # one epoch is still visible
        common = {"type": "scatter", "mode": mode, "legendgroup": label}
        right = {**common, "xaxis": "x2", "yaxis": "y2"}
        if len(h.steps):
            traces.append(batch_loss_trace(h, x, color, prefix, label))
        for split, dash in (("train", "dash"), ("test", "solid")):
            traces.append(
                {**common, "x": xs, "y": ep[f"{split}_loss"], "name": f"{prefix}{split}",
                 "line": {"color": color, "dash": dash, "width": 2}}
            )  # fmt: skip
        if task == "class":
            for split, dash in (("train", "dash"), ("test", "solid")):
                traces.append(
                    {**right, "x": xs, "y": ep[f"{split}_accuracy"], "name": f"{prefix}{split}",
                     "line": {"color": color, "dash": dash, "width": 2}, "showlegend": False}
                )  # fmt: skip
        elif task == "tokens":
            for split, width, opacity in (("train", 1.5, 0.55), ("test", 2.5, 1.0)):
                for part, column, dash in (
                    ("per token", f"{split}_accuracy", "solid"),
                    ("whole sequence", f"{split}_sequence_accuracy", "dot"),
                ):
                    traces.append(
                        {**right, "x": xs, "y": ep[column], "name": f"{prefix}{split}, {part}",
                         "line": {"color": color, "dash": dash, "width": width},
                         "opacity": opacity}
                    )  # fmt: skip
        else:  # forecast
            traces.append(
                {**right, "x": xs, "y": ep["test_mse"], "name": f"{prefix}test MSE",
                 "line": {"color": color, "width": 2.5}}
            )  # fmt: skip
            right_values += ep["test_mse"].tolist()
            base = [v for v in ep["baseline_mse"].tolist() if math.isfinite(v)]
            if base and len(xs):
                right_values.append(base[-1])
                traces.append(
                    {**right, "mode": "lines", "x": f32([xs.min(), xs.max()]),
                     "y": f32([base[-1], base[-1]]), "name": f"{prefix}naive forecast",
                     "line": {"color": GREY, "dash": "dash", "width": 2}}
                )  # fmt: skip
    layout = curves_layout(height, xlabel)
    if task == "forecast":
        layout["yaxis"]["title"] = {"text": "loss (mean squared error)"}
        layout["yaxis2"] = {
            **log_value_axis(right_values, "test MSE (log)"),
            "anchor": "x2",
            "side": "right",
        }
    elif task == "tokens":
        layout["yaxis2"]["title"] = {"text": "accuracy (per token, whole sequence)"}
    return make_figure(traces, layout)


# --- inside the network ---------------------------------------------------------------------------


def states_figure(snap: SequenceSnapshot, layer: str, height: int = 300) -> go.Figure:
    """A layer's hidden states for the snapshot's example: units (rows) by position (columns),
    orange negative, blue positive, white zero. Token data labels the positions with its tokens;
    a series gets its input values drawn above, on the same positions. Long sequences are
    averaged in bins of positions so the figure stays under MAX_CELLS cells."""
    if layer not in snap.states:
        return _message(f"no states recorded for {layer}", height)
    z = np.asarray(snap.states[layer], dtype=np.float32)  # (units, T)
    units, t = z.shape
    k = max(1, -(-(units * t) // MAX_CELLS))  # positions a cell
    if k > 1:
        z = _bin_means(z, k, axis=1)
    m = float(np.nanmax(np.abs(z))) if z.size else 0.0
    m = m if m > 0 and math.isfinite(m) else 1.0
    series = snap.values is not None
    heat = {
        "type": "heatmap", "z": z, "x0": (k - 1) / 2, "dx": k, "zmin": -m, "zmax": m,
        "colorscale": DIVERGING, "name": layer,
        "colorbar": {"thickness": 10, "title": {"text": "state", "side": "right"},
                     "len": 0.66 if series else 1, "y": 0, "yanchor": "bottom"},
        "hovertemplate": "position %{x}, unit %{y}: %{z:.3f}<extra></extra>",
    }  # fmt: skip
    xtitle = "position t (time step)" if series else "position t (token)"
    if k > 1:
        xtitle += f", states averaged in bins of {k}"
    xaxis: dict[str, Any] = {"title": {"text": xtitle}, "range": [-0.5, t - 0.5]}
    if not series and snap.tokens:
        xaxis.update(_token_ticks(snap.tokens, t, 1 if t <= 64 else -(-t // 32)))
    yaxis: dict[str, Any] = {"title": {"text": f"unit (of {units})"}, "autorange": "reversed"}
    traces: list[dict[str, Any]] = [heat]
    layout_kw: dict[str, Any] = {}
    if series:
        values = np.asarray(snap.values, dtype=np.float32)
        vx, vy = thin_out(np.arange(len(values), dtype=np.float32), values)
        traces.append(
            {"type": "scatter", "mode": "lines", "x": vx, "y": vy, "yaxis": "y2",
             "name": "input", "line": {"color": INK, "width": 1.5}, "showlegend": False,
             "hovertemplate": "position %{x}: %{y:.3f}<extra>input</extra>"}
        )  # fmt: skip
        yaxis["domain"] = [0.0, 0.66]
        layout_kw["yaxis2"] = {"domain": [0.74, 1.0], "anchor": "x",
                               "title": {"text": "input"}}  # fmt: skip
    layout = base_layout(height, xaxis=xaxis, yaxis=yaxis, **layout_kw)
    return make_figure(traces, layout)


def gates_figure(snap: SequenceSnapshot, layer: str, height: int = 280) -> go.Figure:
    """A gated layer's gates over the probe batch, by time step: each gate's mean activation
    (solid) and the share of its activations that are saturated, shut or wide open (dotted).
    A layer without gates gets a figure saying so."""
    gates = snap.gates.get(layer) or {}
    if not gates:
        return _message(NO_GATES, height)
    traces: list[dict[str, Any]] = []
    low = 0.0
    for i, (name, parts) in enumerate(gates.items()):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        mean = np.asarray(parts["mean"], dtype=np.float32)
        sat = np.asarray(parts["saturated"], dtype=np.float32)
        xs, mean, sat = thin_out(np.arange(len(mean), dtype=np.float32), mean, sat)
        if len(mean):
            low = min(low, float(np.nanmin(mean)))
        mode = "lines" if len(xs) > 2 else "lines+markers"
        for part, ys, dash in (("mean", mean, "solid"), ("saturated", sat, "dot")):
            traces.append(
                {"type": "scatter", "mode": mode, "x": xs, "y": ys, "name": f"{name}: {part}",
                 "legendgroup": name, "line": {"color": color, "dash": dash, "width": 2},
                 "hovertemplate": f"{name}, step %{{x}}: {part} %{{y:.2f}}<extra></extra>"}
            )  # fmt: skip
    layout = base_layout(
        height,
        xaxis={"title": {"text": "time step t"}},
        yaxis={
            "title": {"text": "mean activation, share saturated"},
            # tanh candidates (an LSTM's cell, a GRU's new state) run from -1
            "range": [-1.02 if low < 0 else 0, 1.02],
        },
        legend=legend_below(),
    )
    return make_figure(traces, layout)


LAYER_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def time_gradient_figure(
    snaps: Sequence[tuple[str, SequenceSnapshot]], height: int = 300
) -> go.Figure:
    """The size of the gradient of the loss reaching each time step's state, ‖∂L/∂h_t‖ (mean
    over the probe batch, log scale), one colour per snapshot (say "at the start" and "now"),
    the first layer solid and deeper ones dashed. A fall toward t = 0 is the gradient vanishing
    on its way back through time. Zero and missing values are left out (no log of them)."""
    traces: list[dict[str, Any]] = []
    values: list[np.ndarray] = []
    for i, (label, snap) in enumerate(snaps):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        layers = [name for name in snap.layers if name in snap.grad_steps]
        layers += [name for name in snap.grad_steps if name not in layers]
        for depth, name in enumerate(layers):
            g = np.asarray(snap.grad_steps[name], dtype=np.float32)
            keep = np.isfinite(g) & (g > 0)
            xs, ys = thin_out(np.flatnonzero(keep).astype(np.float32), g[keep])
            if not len(ys):
                continue
            values.append(ys)
            traces.append(
                {"type": "scatter", "mode": "lines" if len(xs) > 2 else "lines+markers",
                 "x": xs, "y": ys, "name": f"{label}: {name}" if label else name,
                 "legendgroup": label,
                 "line": {"color": color, "width": 2,
                          "dash": LAYER_DASHES[depth % len(LAYER_DASHES)]},
                 "hovertemplate": f"{name}, t=%{{x}}: %{{y:.2e}}<extra>{label}</extra>"}
            )  # fmt: skip
    if not traces:
        return _message("the gradient per time step appears with the first snapshot", height)
    layout = base_layout(
        height,
        xaxis={"title": {"text": "time step t"}},
        yaxis=log_decade_axis(np.concatenate(values), "gradient reaching step t (log)"),
        legend=legend_below(),
    )
    return make_figure(traces, layout)


MAX_ATTENTION_LAYERS = 4  # the all-layers attention grid: at most this many rows ...
MAX_ATTENTION_HEADS = 8  # ... of this many heads


def attention_figure(
    snap: SequenceSnapshot, layer: str | None = None, height: int | None = None
) -> go.Figure:
    """Where each head looks: one heatmap per head, rows the query position, columns the key
    position, the share of the query's attention (0 to 1). A `layer`'s heads in one row; with
    `layer` None every layer's (a row each) for at most 4 layers of at most 8 heads (more: the
    first 4 and 8, said in the title). Tokens label the axes of short sequences (24 positions
    or fewer); maps too big for MAX_CELLS are averaged in bins, as the axis titles say."""
    names = [n for n in snap.layers if n in snap.attention]
    names += [n for n in snap.attention if n not in names]
    if layer is not None:
        names = [layer] if layer in snap.attention else []
    if not names:
        where = f" in {layer}" if layer else ""
        return _message(f"no attention{where}: only a transformer's layers have it", height or 200)
    maps = [np.asarray(snap.attention[n], dtype=np.float32) for n in names]
    total_layers, total_heads = len(names), max(len(m) for m in maps)
    names, maps = names[:MAX_ATTENTION_LAYERS], [m[:MAX_ATTENTION_HEADS] for m in maps]
    rows, cols = len(names), max(len(m) for m in maps)
    side = maps[0].shape[-1]
    k = 1
    while sum(len(m) for m in maps) * (-(-side // k)) ** 2 > MAX_CELLS:
        k += 1
    maps = [pool_attention(m, k) for m in maps]
    bins = snap.attention_bins * k
    cell = -(-side // k)
    labels = bins == 1 and side <= 24 and len(snap.tokens) >= side
    unit = f"positions, in bins of {bins}" if bins > 1 else "position"
    # Maps about square on a page 900 px wide: `size` px a side, rows 16 px apart.
    size = max(90, min(240, 900 // cols))
    gap_x, gap_y = 0.02, 16 / (rows * size + (rows - 1) * 16)
    w = (1 - gap_x * (cols - 1)) / cols
    h = (1 - gap_y * (rows - 1)) / rows
    traces: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    axes: dict[str, Any] = {}
    for r, (name, m) in enumerate(zip(names, maps)):
        for c, att in enumerate(m):
            n = r * cols + c + 1
            xa, ya = ("x", "y") if n == 1 else (f"x{n}", f"y{n}")
            x0 = round(c * (w + gap_x), 6)
            top = round(1 - r * (h + gap_y), 6)
            traces.append(
                {"type": "heatmap", "z": att, "x0": 0, "dx": 1, "y0": 0, "dy": 1,
                 "zmin": 0, "zmax": 1, "colorscale": SEQUENTIAL, "xaxis": xa, "yaxis": ya,
                 "showscale": n == 1, "name": f"{name} head {c + 1}",
                 "colorbar": {"thickness": 10, "title": {"text": "attention", "side": "right"}},
                 "hovertemplate": f"{name}, head {c + 1}<br>query %{{y}}, key %{{x}}: "
                                  "%{z:.2f}<extra></extra>"}
            )  # fmt: skip
            xaxis: dict[str, Any] = {
                "domain": [x0, min(round(x0 + w, 6), 1)], "anchor": ya, "range": [-0.5, cell - 0.5],
                "showgrid": False, "zeroline": False, "showticklabels": r == rows - 1,
            }  # fmt: skip
            yaxis: dict[str, Any] = {
                "domain": [max(round(top - h, 6), 0), top], "anchor": xa, "range": [cell - 0.5, -0.5],
                "showgrid": False, "zeroline": False, "showticklabels": c == 0,
            }  # fmt: skip
            if labels:
                font = {"tickfont": {"size": 9 if side > 12 else 11}}
                xaxis.update(_token_ticks(snap.tokens, side), **font)
                yaxis.update(_token_ticks(snap.tokens, side), **font)
                yaxis["tickangle"] = 0
            if r == rows - 1 and (c == 0 or cols <= 4):  # 8 titles would run into each other
                xaxis["title"] = {"text": f"key {unit}"}
            if c == 0:
                query = f"query {unit}"
                yaxis["title"] = {"text": f"{name}<br>{query}" if rows > 1 else query}
            axes["xaxis" if n == 1 else f"xaxis{n}"] = xaxis
            axes["yaxis" if n == 1 else f"yaxis{n}"] = yaxis
            if r == 0:
                notes.append(
                    _note(x0 + w / 2, 1, f"head {c + 1}", xref="paper", yref="paper",
                          yanchor="bottom")
                )  # fmt: skip
    title = None
    if total_layers > rows or total_heads > cols:
        title = f"the first {rows} of {total_layers} layers, {cols} of {total_heads} heads"
    layout = base_layout(
        height or rows * size + (rows - 1) * 16 + 90 + (30 if title else 0),
        title,
        annotations=notes,
        **axes,
    )
    layout["margin"]["t"] = 56 if title else 28  # room for the heads' titles
    return make_figure(traces, layout)


def head_scores_figure(
    steps: list[int],
    scores: list[np.ndarray],
    kind: int,
    loss_steps: list[int] | None = None,
    loss: list[float] | None = None,
    height: int = 300,
) -> go.Figure:
    """Every attention head's score for one kind of work (HEAD_KINDS[kind]: the share of its
    attention that lands where that work looks) over training, a line per head ("L1 H2"); a
    dotted line at TURNED_ON and a vertical line where a head passed it (it turned on), and
    the batch loss on the right axis (grey), to see the loss drop as a head turns on."""
    if not scores:
        return _message("head scores appear with a transformer's first snapshot", height)
    s = np.stack([np.asarray(a, dtype=np.float32) for a in scores])  # (snaps, layers, heads, 4)
    _, layers, heads, _ = s.shape
    kind_name = KIND_NAMES.get(HEAD_KINDS[kind], HEAD_KINDS[kind])
    per_line = max(50, min(400, 4000 // max(layers * heads, 1)))  # points a line: the bytes
    xs, ys = thin_out(f32(steps), s[:, :, :, kind], n=per_line)
    mode = "lines" if len(xs) > 2 else "lines+markers"
    colors = {}
    traces: list[dict[str, Any]] = []
    for li in range(layers):
        for hi in range(heads):
            name = f"L{li + 1} H{hi + 1}"
            colors[li, hi] = COMPARE_COLORS[hi % len(COMPARE_COLORS)]
            traces.append(
                {"type": "scatter", "mode": mode, "x": xs, "y": ys[:, li, hi], "name": name,
                 "line": {"color": colors[li, hi], "width": 2,
                          "dash": LAYER_DASHES[li % len(LAYER_DASHES)]},
                 "hovertemplate": f"{name}, step %{{x}}: %{{y:.2f}}<extra></extra>"}
            )  # fmt: skip
    shapes = [_hline(TURNED_ON)]
    notes = [_note(1, TURNED_ON, f"turned on ({TURNED_ON:g})", xref="paper", xanchor="right",
                   yanchor="bottom")]  # fmt: skip
    on: dict[int, list[tuple[int, int]]] = {}
    for (li, hi, k), step in sorted(turned_on(list(steps), list(scores)).items()):
        if k == kind:
            on.setdefault(step, []).append((li, hi))
    for step, who in sorted(on.items()):
        color = colors[who[0]] if len(who) == 1 else GREY
        shapes.append(_vline(step, color, "dash"))
        text = ", ".join(f"L{li + 1} H{hi + 1}" for li, hi in who)
        notes.append(_note(step, 1, text, yref="paper", yanchor="bottom", textangle=0))
    layout_kw: dict[str, Any] = {}
    if loss_steps and loss:
        lx, ly = thin_out(f32(loss_steps), f32(loss))
        traces.append(
            {"type": "scatter", "mode": "lines", "x": lx, "y": ly, "yaxis": "y2",
             "name": "batch loss", "line": {"color": GREY, "width": 1}, "opacity": 0.7,
             "hovertemplate": "step %{x}: loss %{y:.3f}<extra></extra>"}
        )  # fmt: skip
        layout_kw["yaxis2"] = {"overlaying": "y", "side": "right", "showgrid": False,
                               "rangemode": "tozero", "tickformat": ".2~g",
                               "title": {"text": "batch loss"}}  # fmt: skip
    layout = base_layout(
        height,
        xaxis={"title": {"text": "step"}},
        yaxis={"title": {"text": f"{kind_name} score (share of attention)"},
               "range": [0, 1.02]},
        shapes=shapes,
        annotations=notes,
        legend=legend_below(),
        **layout_kw,
    )  # fmt: skip
    layout["margin"]["t"] = 24  # room for the turn-on labels
    return make_figure(traces, layout)


def _lower_is_better(metric: str) -> bool:
    return any(w in metric.lower() for w in ("loss", "error", "mse"))


def ablation_figure(
    base: float,
    ablated: dict[tuple[int, int], float],
    metric: str = "test accuracy",
    height: int = 280,
) -> go.Figure:
    """The `metric` with each attention head switched off, a bar per head ("L1 H1": `ablated`'s
    keys are 0-based (layer, head)), and a dashed line at `base`, every head on. A bar's colour
    is how much worse the metric gets without that head: grey for none, vermillion the most."""
    if not ablated:
        return _message("switch heads off to see what each one is worth", height)
    keys = sorted(ablated)
    values = f32([ablated[k] for k in keys])
    worse = (values - base) if _lower_is_better(metric) else (base - values)
    worse = np.nan_to_num(np.maximum(worse, 0)).astype(np.float32)
    top = float(worse.max()) or 1.0
    share = "accuracy" in metric.lower()
    fmt = ".1%" if share else ".3g"
    traces = [
        {"type": "bar", "x": [f"L{li + 1} H{hi + 1}" for li, hi in keys], "y": values,
         "customdata": worse, "name": metric, "showlegend": False,
         "marker": {"color": worse, "cmin": 0, "cmax": top,
                    "colorscale": [[0.0, "#bbbbbb"], [1.0, OKABE_ITO["vermillion"]]]},
         "hovertemplate": f"%{{x}} off: %{{y:{fmt}}} (worse by %{{customdata:{fmt}}})"
                          "<extra></extra>"}
    ]  # fmt: skip
    yaxis: dict[str, Any] = {"title": {"text": f"{metric}, the head off"}}
    if share:
        yaxis.update(range=[0, 1.02], tickformat=".0%")
    else:
        yaxis["rangemode"] = "tozero"
    label = f"{base:.1%}" if share else f"{base:.3g}"
    layout = base_layout(
        height,
        xaxis={"title": {"text": "head switched off (layer, head)"}},
        yaxis=yaxis,
        shapes=[_hline(base, INK, "dash")],
        annotations=[_note(1, base, f"all heads on: {label}", xref="paper", xanchor="right",
                           yanchor="bottom")],
    )  # fmt: skip
    return make_figure(traces, layout)


def next_token_figure(
    vocab: Sequence[str],
    raw: np.ndarray,
    adjusted: np.ndarray,
    chosen: int | None = None,
    top: int = 15,
    height: int = 280,
) -> go.Figure:
    """The next token's distribution: the `top` most likely tokens' probability at temperature 1
    (`raw`) beside the one it is drawn from after temperature, top-k and top-p (`adjusted`); the
    drawn token's bars outlined. Spaces and newlines show as ␣ and ⏎."""
    raw, adjusted = f32(raw), f32(adjusted)
    order = np.argsort(-np.maximum(np.nan_to_num(raw), np.nan_to_num(adjusted)), kind="stable")
    picks = order[:top].tolist()
    if chosen is not None and chosen not in picks:
        picks = picks[: max(top - 1, 0)] + [chosen]
    labels = [printable(vocab[i]) for i in picks]
    outline = [2.5 if i == chosen else 0 for i in picks]
    traces = [
        {"type": "bar", "x": labels, "y": probs[picks], "name": name,
         "marker": {"color": color, "line": {"color": INK, "width": outline}},
         "hovertemplate": f"%{{x}}: %{{y:.1%}}<extra>{name}</extra>"}
        for name, probs, color in (
            ("temperature 1", raw, GREY),
            ("after temperature, top-k, top-p", adjusted, RUN_COLORS[0]),
        )
    ]  # fmt: skip
    layout = base_layout(
        height,
        barmode="group",
        xaxis={"title": {"text": "next token (outlined: the one drawn)" if chosen is not None
                         else "next token"}, "type": "category", "tickangle": 0},
        yaxis={"title": {"text": "probability"}, "tickformat": ".0%", "rangemode": "tozero"},
        legend=legend_below(),
    )  # fmt: skip
    return make_figure(traces, layout)


# --- forecasts ------------------------------------------------------------------------------------


def _forecast_style(name: str, network: int) -> tuple[str, float, str]:
    """(colour, width, dash) of a forecaster's line: baselines muted and thin."""
    if name in BASELINE_COLORS:
        return BASELINE_COLORS[name], 1.5, "dot"
    return RUN_COLORS[network % len(RUN_COLORS)], 3.0, "solid"


def _ordered(models: dict[str, Any]) -> list[str]:
    """The networks first (in order), then the baselines."""
    return [n for n in models if n not in BASELINE_COLORS] + [
        n for n in models if n in BASELINE_COLORS
    ]


def forecast_figure(
    history: np.ndarray,
    truth: np.ndarray,
    forecasts: dict[str, np.ndarray],
    title: str = "",
    height: int = 320,
) -> go.Figure:
    """One forecast: the values seen (grey, up to now at t = 0), the truth ahead (near-black
    dashed, t = 1..H) and each forecaster's prediction of it, the network first and strongest,
    the baselines ("naive", "seasonal naive", "linear AR") muted."""
    past = f32(history)
    px = np.arange(-(len(past) - 1), 1, dtype=np.float32)
    px, past = thin_out(px, past)
    ahead = f32(truth)
    hx = np.arange(1, len(ahead) + 1, dtype=np.float32)
    mode = "lines+markers" if len(ahead) <= 30 else "lines"
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "x": px, "y": past, "name": "seen",
         "line": {"color": GREY, "width": 1.5},
         "hovertemplate": "t=%{x}: %{y:.3f}<extra>seen</extra>"},
        {"type": "scatter", "mode": mode, "x": hx, "y": ahead, "name": "truth",
         "line": {"color": INK, "dash": "dash", "width": 2}, "marker": {"size": 4},
         "hovertemplate": "t=+%{x}: %{y:.3f}<extra>truth</extra>"},
    ]  # fmt: skip
    networks = 0
    for name in _ordered(forecasts):
        color, width, dash = _forecast_style(name, networks)
        networks += name not in BASELINE_COLORS
        ys = f32(forecasts[name])
        traces.append(
            {"type": "scatter", "mode": mode, "x": hx[: len(ys)], "y": ys, "name": name,
             "line": {"color": color, "width": width, "dash": dash}, "marker": {"size": 4},
             "hovertemplate": f"t=+%{{x}}: %{{y:.3f}}<extra>{name}</extra>"}
        )  # fmt: skip
    layout = base_layout(
        height,
        title or None,
        xaxis={"title": {"text": "time step (0 = now, negative: seen, positive: ahead)"}},
        yaxis={"title": {"text": "value (normalised)"}},
        shapes=[_vline(0, INK)],
        annotations=[_note(0, 1, "now", yref="paper", yanchor="bottom")],
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def one_step_figure(
    truth: np.ndarray, forecasts: dict[str, np.ndarray], height: int = 300
) -> go.Figure:
    """One step ahead along the test part of a series: at each step, the truth (near-black
    dashed) and each forecaster's forecast of it made from the true values before it, the
    network's line strong, the baselines muted."""
    ys = f32(truth)
    xs = np.arange(len(ys), dtype=np.float32)
    tx, ty = thin_out(xs, ys)
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "x": tx, "y": ty, "name": "truth",
         "line": {"color": INK, "dash": "dash", "width": 2},
         "hovertemplate": "step %{x}: %{y:.3f}<extra>truth</extra>"},
    ]  # fmt: skip
    networks = 0
    for name in _ordered(forecasts):
        color, width, dash = _forecast_style(name, networks)
        networks += name not in BASELINE_COLORS
        fx, fy = thin_out(xs[: len(forecasts[name])], f32(forecasts[name]))
        traces.append(
            {"type": "scatter", "mode": "lines", "x": fx, "y": fy, "name": name,
             "line": {"color": color, "width": min(width, 2.5), "dash": dash},
             "hovertemplate": f"step %{{x}}: %{{y:.3f}}<extra>{name}</extra>"}
        )  # fmt: skip
    layout = base_layout(
        height,
        xaxis={"title": {"text": "test time step"}},
        yaxis={"title": {"text": "value (normalised)"}},
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def horizon_error_figure(errors: dict[str, np.ndarray], height: int = 280) -> go.Figure:
    """Test mean squared error against how many steps ahead, per forecaster: the network's line
    thick, the baselines' thin."""
    traces: list[dict[str, Any]] = []
    networks, longest = 0, 0
    for name in _ordered(errors):
        color, width, _ = _forecast_style(name, networks)
        networks += name not in BASELINE_COLORS
        ys = f32(errors[name])
        longest = max(longest, len(ys))
        traces.append(
            {"type": "scatter", "mode": "lines+markers", "x": np.arange(1, len(ys) + 1),
             "y": ys, "name": name, "line": {"color": color, "width": width},
             "marker": {"size": 6 if width > 2 else 4},
             "hovertemplate": f"%{{x}} ahead: %{{y:.3g}}<extra>{name}</extra>"}
        )  # fmt: skip
    xaxis: dict[str, Any] = {"title": {"text": "steps ahead"}}
    if longest <= 20:
        xaxis["dtick"] = 1
    layout = base_layout(
        height,
        xaxis=xaxis,
        yaxis={"title": {"text": "test MSE (normalised units²)"}, "rangemode": "tozero"},
        legend=legend_below(),
    )
    return make_figure(traces, layout)


MAX_SERIES_POINTS = 2000


def series_preview_figure(series: np.ndarray, split_at: int, height: int = 220) -> go.Figure:
    """The whole series (normalised): the part trained on, the part tested on (from `split_at`),
    and a line at the split. At most MAX_SERIES_POINTS points go out."""
    ys = f32(series)
    xs = np.arange(len(ys), dtype=np.float32)
    xs, ys = thin_out(xs, ys, n=MAX_SERIES_POINTS - 1)  # thin_out may add the last one
    train = xs < split_at
    traces = [
        {"type": "scatter", "mode": "lines", "x": xs[part], "y": ys[part], "name": name,
         "line": {"color": color, "width": 1.5},
         "hovertemplate": f"t=%{{x}}: %{{y:.3f}}<extra>{name}</extra>"}
        for name, part, color in (("train", train, RUN_COLORS[0]),
                                  ("test", ~train, RUN_COLORS[1]))
    ]  # fmt: skip
    layout = base_layout(
        height,
        xaxis={"title": {"text": "time step"}},
        yaxis={"title": {"text": "value (normalised)"}},
        shapes=[_vline(split_at, INK, "dash")],
        annotations=[_note(split_at, 1, "test from here", yref="paper", yanchor="bottom")],
        legend=legend_below(),
    )  # fmt: skip
    layout["margin"]["t"] = 24  # room for the split's label
    return make_figure(traces, layout)


# --- the length experiment ------------------------------------------------------------------------


def _arch_rows(rows: Sequence[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """The rows whose `key` is a finite number, by architecture (known ones first), by length."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        v = r.get(key)
        if isinstance(v, (int, float)) and math.isfinite(v):
            out.setdefault(r["arch"], []).append(r)
    order = [a for a in ARCH_COLORS if a in out] + [a for a in out if a not in ARCH_COLORS]
    return {a: sorted(out[a], key=lambda r: r["length"]) for a in order}


def _arch_color(arch: str, i: int) -> str:
    return ARCH_COLORS.get(arch, COMPARE_COLORS[(6 + i) % len(COMPARE_COLORS)])


def _length_axis(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    lengths = sorted({int(r["length"]) for r in rows})
    return {"type": "log", "title": {"text": "sequence length (steps, log)"},
            "tickmode": "array", "tickvals": lengths, "ticktext": [str(n) for n in lengths]}  # fmt: skip


def _seeds_note(r: dict[str, Any]) -> str:
    """What a row over seeds adds to its hover: how many seeds its point is over."""
    n = r.get("n")
    return f", over {n} seeds" if isinstance(n, int) and n > 1 else ""


def length_accuracy_figure(
    rows: Sequence[dict[str, Any]], chance: float, height: int = 320
) -> go.Figure:
    """Test accuracy against sequence length, a line per architecture (rnn, lstm, gru,
    transformer), and a dotted line at chance: where a network stops carrying information
    across the sequence it falls to chance. Rows without an accuracy yet are left out. Rows over
    seeds (`LengthResult.row`, with a `test_ci`) draw the mean with its 95% interval as error
    bars, cut at 0 and 1."""
    traces = []
    for i, (arch, rs) in enumerate(_arch_rows(rows, "test_accuracy").items()):
        color = _arch_color(arch, i)
        ys = [float(r["test_accuracy"]) for r in rs]
        trace = {
            "type": "scatter", "mode": "lines+markers", "name": arch,
            "x": [int(r["length"]) for r in rs], "y": f32(ys),
            "customdata": [r.get("status", "") + _seeds_note(r) for r in rs],
            "line": {"color": color, "width": 2},
            "hovertemplate": f"{arch}, length %{{x}}: %{{y:.1%}} (%{{customdata}})"
                             "<extra></extra>",
        }  # fmt: skip
        cis = [r.get("test_ci") for r in rs]
        if any(cis):  # the mean over seeds: its 95% interval, cut at 0 and 1
            trace["error_y"] = accuracy_error_bars(ys, cis, color)
        traces.append(trace)
    layout = base_layout(
        height,
        xaxis=_length_axis(rows),
        yaxis={"title": {"text": "test accuracy"}, "tickformat": ".0%", "range": [0, 1.02]},
        shapes=[_hline(chance)],
        annotations=[_note(1, chance, "chance", xref="paper", xanchor="right",
                           yanchor="bottom")],
        legend=legend_below(),
    )  # fmt: skip
    return make_figure(traces, layout)


def length_gradient_figure(rows: Sequence[dict[str, Any]], height: int = 320) -> go.Figure:
    """The share of the gradient at the last time step that reaches the first (a ratio, log)
    against sequence length (log), a line per architecture. A ratio of exactly 0 (it underflowed)
    is drawn at the axis floor; rows without one are left out. Rows over seeds (with a
    `first_step_gradient_range`) draw the median with a bar from the smallest seed's ratio to
    the largest's (a 0 at the floor)."""
    by_arch = _arch_rows(rows, "first_step_gradient")
    ranges = {id(r): r.get("first_step_gradient_range") for rs in by_arch.values() for r in rs}
    positive = [r["first_step_gradient"] for rs in by_arch.values() for r in rs]
    positive += [v for span in ranges.values() if span for v in span]
    positive = [v for v in positive if v > 0]
    floor = min(positive) / 10 if positive else 1e-12
    traces = []
    for i, (arch, rs) in enumerate(by_arch.items()):
        ratio = [float(r["first_step_gradient"]) for r in rs]
        ys = [max(v, floor) for v in ratio]
        trace = {
            "type": "scatter", "mode": "lines+markers", "name": arch,
            "x": [int(r["length"]) for r in rs], "y": f32(ys),
            "customdata": f32(ratio), "line": {"color": _arch_color(arch, i), "width": 2},
            # a ratio that underflowed to 0 points down from the floor it is drawn at
            "marker": {"symbol": ["triangle-down" if v <= 0 else "circle" for v in ratio],
                       "size": [10 if v <= 0 else 6 for v in ratio]},
            "hovertemplate": f"{arch}, length %{{x}}: %{{customdata:.2e}}<extra></extra>",
        }  # fmt: skip
        spans = [ranges[id(r)] for r in rs]
        if any(spans):  # over seeds: the median, its bar from the smallest to the largest
            trace["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": f32([max(s[1], floor) - y if s else 0.0 for s, y in zip(spans, ys)]),
                "arrayminus": f32([y - max(s[0], floor) if s else 0.0 for s, y in zip(spans, ys)]),
                "color": _arch_color(arch, i),
                "thickness": 1.5,
                "width": 4,
            }
            trace["text"] = [
                f"median{_seeds_note(r)}, {s[0]:.2e} to {s[1]:.2e}" if s else ""
                for r, s in zip(rs, spans)
            ]
            trace["hovertemplate"] = (
                f"{arch}, length %{{x}}: %{{customdata:.2e}} (%{{text}})<extra></extra>"
            )
        traces.append(trace)
    ends = [max(v, floor) for s in ranges.values() if s for v in s]  # the bars fit the axis
    layout = base_layout(
        height,
        xaxis=_length_axis([r for rs in by_arch.values() for r in rs]),
        yaxis=log_decade_axis(
            [v for t in traces for v in t["y"]] + ends,
            "gradient at step 1 / at the last step (log)",
        ),
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def state_path_figure(snap: SequenceSnapshot, layer: str, height: int = 340) -> go.Figure:
    """A layer's hidden state of the snapshot's example as a path through time: the states
    (one a position) flattened to their two main directions (PCA of this example's states),
    joined in order, each dot coloured by its position, the first and last labelled. Each
    axis's sign is chosen so the path ends on the positive side (PCA's signs are arbitrary)."""
    from dlviz.projector import pca

    if layer not in snap.states:
        return _message(f"no states recorded for {layer}", height)
    states = np.asarray(snap.states[layer], dtype=np.float32).T  # (T, units)
    t = len(states)
    if t < 2:
        return _message("a path needs at least two positions", height)
    coords, share = pca(states)
    end = coords[-1] - coords[0]
    coords = coords * np.where(end < 0, -1.0, 1.0)
    text = [printable(tok) for tok in snap.tokens[:t]] if snap.tokens else [""] * t
    pos = np.arange(t, dtype=np.float32)
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "x": f32(coords[:, 0]), "y": f32(coords[:, 1]),
         "line": {"color": GREY, "width": 1}, "hoverinfo": "skip", "showlegend": False},
        {"type": "scatter", "mode": "markers", "x": f32(coords[:, 0]), "y": f32(coords[:, 1]),
         "marker": {"size": 7, "color": pos, "colorscale": SEQUENTIAL, "cmin": 0, "cmax": t - 1,
                    "colorbar": {"thickness": 10, "title": {"text": "position", "side": "right"}}},
         "text": text, "showlegend": False,
         "hovertemplate": "position %{marker.color:.0f} %{text}<extra></extra>"},
        {"type": "scatter", "mode": "text", "x": f32(coords[[0, -1], 0]),
         "y": f32(coords[[0, -1], 1]), "text": ["start", "end"], "textposition": "top center",
         "showlegend": False, "hoverinfo": "skip"},
    ]  # fmt: skip
    layout = base_layout(height)
    layout["xaxis"] = {"title": {"text": f"PC1 ({share[0]:.0%})"}, "zeroline": False}
    layout["yaxis"] = {"title": {"text": f"PC2 ({share[1]:.0%})"}, "zeroline": False}
    return make_figure(traces, layout)
