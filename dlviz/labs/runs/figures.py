"""The Runs page's figures: curves and gradient profiles of several runs side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.axes import log_decade_axis
from dlviz.figures.curves import curves_layout
from dlviz.figures.theme import (
    COMPARE_COLORS,
    MAX_LINE_POINTS,
    base_layout,
    f32,
    legend_below,
    make_figure,
    thin_out,
)

# --- stored runs side by side (the Runs page) -----------------------------------------------------


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
            cols[c] = f32(values)
        if cols[x] is None:
            continue
        names = [c for c in cols if cols[c] is not None]
        thinned = dict(zip(names, thin_out(*(cols[c] for c in names))))
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
    return make_figure(traces, curves_layout(height, xlabel))


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
        ys = f32([norms[n] if isinstance(norms[n], (int, float)) else None for n in names])
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
    layout = base_layout(
        height,
        xaxis={
            "title": {"text": "layer (1 = next to the input; the last is the output layer)"},
            **({"dtick": 1} if most <= 20 else {}),
        },
        yaxis=log_decade_axis(
            [t for tr in traces for t in tr["y"] if t == t], "mean |grad W|, last epoch"
        ),
        legend=legend_below(),
    )
    return make_figure(traces, layout)
