"""The depth experiment's figures: accuracy, gradients and their profiles against depth."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from dlviz.figures.axes import LOG_DTICK_2X, log_decade_axis
from dlviz.figures.theme import (
    RUN_COLORS,
    accuracy_error_bars,
    base_layout,
    f32,
    legend_below,
    make_figure,
)
from dlviz.text import plural

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
            ys = [getattr(r, f"{part}_accuracy") for r in rows]
            trace = {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{variant} ({part})",
                "x": [r.depth for r in rows],
                "y": f32(ys),
                "line": {"color": color, "dash": dash},
                "hovertemplate": f"{variant}, depth %{{x}}: {part} %{{y:.1%}}<extra></extra>",
            }
            cis = [getattr(r, f"{part}_ci", None) for r in rows]
            if any(cis):  # the mean over seeds: its 95% interval, cut at 0 and 1
                trace["error_y"] = accuracy_error_bars(ys, cis, color)
            traces.append(trace)
    layout = base_layout(
        height,
        xaxis=_depth_axis(),
        yaxis={"title": {"text": "accuracy"}, "tickformat": ".0%", "range": [0, 1.02]},
        legend=legend_below(),
    )
    return make_figure(traces, layout)


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
                    "y": f32([max(v, floor) if v == v else None for v in ys]),
                    "line": {"color": color, "dash": dash},
                    "hovertemplate": f"{variant}, depth %{{x}}: %{{y:.2e}}<extra></extra>",
                }
            )
    layout = base_layout(
        height,
        xaxis=_depth_axis(),
        yaxis=log_decade_axis([t for tr in traces for t in tr["y"]], "gradient norm"),
        legend=legend_below(),
    )
    return make_figure(traces, layout)


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
                "y": f32([max(v, floor) for v in deepest.profile]),
                "line": {"color": color},
                "hovertemplate": f"{variant}: layer %{{x}} of {n}: %{{y:.2e}}<extra></extra>",
            }
        )
    layout = base_layout(
        height,
        xaxis={"title": {"text": "layer (1 = first hidden layer, last = output)"}},
        yaxis=log_decade_axis([t for tr in traces for t in tr["y"]], "gradient norm"),
        legend=legend_below(),
    )
    return make_figure(traces, layout)
