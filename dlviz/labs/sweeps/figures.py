"""The Sweep page's figures: a metric against an axis as the mean over seeds with its 95% band,
parallel coordinates of the trials, each axis's share of the variance, the best value as
trials finish, and each trial's final against its best value."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.theme import RUN_COLORS, base_layout, f32, legend_below, make_figure


def _words(metric: str) -> str:
    return metric.replace("_", " ")


def _tick(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def band_figure(
    gs: Sequence[dict[str, Any]], axis: str, values: Sequence[Any], metric: str, height: int = 340
) -> go.Figure:
    """`metric` against `axis` (its grid `values`, in order): one line per combination of the
    other axes, the mean over seeds at each value with its 95% interval as a band (`groups`
    from `dlviz.sweeps.aggregate`; a value with one finished seed has a dot and no band)."""
    others: dict[str, list[dict[str, Any]]] = {}
    for g in gs:
        rest = {k: v for k, v in g["params"].items() if k != axis}
        others.setdefault(json.dumps(rest, sort_keys=True), []).append(g)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    xs = list(values) if numeric else [_tick(v) for v in values]
    traces: list[dict[str, Any]] = []
    for i, (rest_key, mine) in enumerate(others.items()):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        rest = json.loads(rest_key)
        name = ", ".join(f"{k}={_tick(v)}" for k, v in rest.items()) or _words(metric)
        by = {json.dumps(g["params"].get(axis)): g for g in mine}
        mean, low, high, n = [], [], [], []
        for v in values:
            g = by.get(json.dumps(v))
            m = g["mean"].get(metric) if g else None
            ci = g["ci95"].get(metric) if g else None
            mean.append(m if m is not None else None)
            # an accuracy's interval is cut at 0 and 1, where the t interval can run past them
            cut = (0.0, 1.0) if "accuracy" in metric else (-np.inf, np.inf)
            low.append(max(ci[0], cut[0]) if ci else None)
            high.append(min(ci[1], cut[1]) if ci else None)
            n.append(g["n"] if g else 0)
        if any(v is not None for v in low):
            traces.append(
                {
                    "type": "scatter",
                    "x": xs + xs[::-1],
                    "y": [*high, *low[::-1]],
                    "fill": "toself",
                    "fillcolor": _rgba(color, 0.18),
                    "line": {"width": 0, "color": _rgba(color, 0.0)},
                    "hoverinfo": "skip",
                    "showlegend": False,
                    "name": f"{name} 95%",
                    "connectgaps": False,
                }
            )
        whiskers = {  # the same interval as whiskers: visible where a band has no width
            "type": "data",
            "symmetric": False,
            "array": [h - m if h is not None and m is not None else None
                      for h, m in zip(high, mean)],
            "arrayminus": [m - lo if lo is not None and m is not None else None
                           for lo, m in zip(low, mean)],
            "color": color,
            "thickness": 1.2,
            "width": 4,
        }  # fmt: skip
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": xs,
                "y": mean,
                "error_y": whiskers,
                "name": name,
                "line": {"color": color, "width": 2},
                "marker": {"size": 7},
                "customdata": n,
                "hovertemplate": f"{axis} %{{x}}: %{{y:.4g}} (mean of %{{customdata}})"
                f"<extra>{name}</extra>",
            }
        )
    layout = base_layout(height, None, legend=legend_below())
    layout["xaxis"] = {"title": {"text": axis}, **({} if numeric else {"type": "category"})}
    if numeric and all(isinstance(v, (int, float)) and v > 0 for v in values):
        spread = max(values) / min(values) if min(values) else 1
        if spread >= 50:
            layout["xaxis"]["type"] = "log"
    layout["yaxis"] = {"title": {"text": f"{_words(metric)}: mean, 95% band"}}
    if "accuracy" in metric:
        layout["yaxis"]["tickformat"] = ".0%"
    return make_figure(traces, layout)


def parallel_figure(
    trials: Sequence[dict[str, Any]], axes: Sequence[str], metric: str, height: int = 340
) -> go.Figure:
    """Parallel coordinates: one line per finished trial through each axis's value and its
    seed to its `metric`, coloured by the metric."""
    done = [
        t for t in trials if t.get("status") == "finished" and metric in (t.get("metrics") or {})
    ]
    dims = []
    for axis in axes:
        vals = [t["params"].get(axis) for t in done]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
        if numeric and vals:
            dims.append({"label": axis, "values": f32(vals)})
        else:
            levels = list(dict.fromkeys(json.dumps(v) for v in vals))
            dims.append(
                {
                    "label": axis,
                    "values": [levels.index(json.dumps(v)) for v in vals],
                    "tickvals": list(range(len(levels))),
                    "ticktext": [_tick(json.loads(x)) for x in levels],
                }
            )
    dims.append({"label": "seed", "values": [t["seed"] for t in done]})
    score = f32([t["metrics"][metric] for t in done])
    dims.append({"label": _words(metric), "values": score})
    trace = {
        "type": "parcoords",
        "dimensions": dims,
        "line": {"color": score, "colorscale": "Viridis", "showscale": True,
                 "colorbar": {"thickness": 10, "title": {"text": _words(metric)}}},
    }  # fmt: skip
    layout = base_layout(height, None)
    layout["margin"] = {"l": 60, "r": 40, "t": 40, "b": 20}
    return make_figure([trace], layout)


def importance_figure(shares: dict[str, float | None], metric: str, height: int = 240):
    """Each axis's share of the metric's variance (eta squared), as bars."""
    axes = [a for a, v in shares.items() if v is not None]
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": f32([shares[a] for a in axes]),
        "y": axes,
        "marker": {"color": RUN_COLORS[0]},
        "text": [f"{shares[a]:.0%}" for a in axes],
        "textposition": "auto",
        "hovertemplate": "%{y}: %{x:.0%} of the variance<extra></extra>",
    }
    layout = base_layout(height, None)
    layout["xaxis"] = {"title": {"text": f"share of the variance of {_words(metric)}"},
                       "range": [0, 1], "tickformat": ".0%"}  # fmt: skip
    layout["yaxis"] = {"type": "category", "autorange": "reversed"}
    return make_figure([trace], layout)


def best_so_far_figure(points: Sequence[tuple[int, float]], metric: str, height: int = 260):
    """The best `metric` found against the number of trials finished."""
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "x": [p[0] for p in points],
        "y": f32([p[1] for p in points]),
        "line": {"color": RUN_COLORS[1], "width": 2, "shape": "hv"},
        "name": "best so far",
        "hovertemplate": "after %{x} trials: %{y:.4g}<extra></extra>",
    }
    layout = base_layout(height, None)
    layout["xaxis"] = {"title": {"text": "trials finished"}}
    layout["yaxis"] = {"title": {"text": f"best {_words(metric)} so far"}}
    if "accuracy" in metric:
        layout["yaxis"]["tickformat"] = ".0%"
    return make_figure([trace], layout)


def final_vs_best_figure(trials: Sequence[dict[str, Any]], height: int = 300) -> go.Figure:
    """Each finished trial's final test accuracy against the best it reached on the way: a dot
    under the diagonal fell from its best (an early stop would have kept more)."""
    done = [
        t
        for t in trials
        if t.get("status") == "finished"
        and {"test_accuracy", "best_test_accuracy"} <= set(t.get("metrics") or {})
    ]
    best = f32([t["metrics"]["best_test_accuracy"] for t in done])
    final = f32([t["metrics"]["test_accuracy"] for t in done])
    lo = float(min(np.min(final), np.min(best))) if done else 0.0
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": [lo, 1.0],
            "y": [lo, 1.0],
            "line": {"color": "#999999", "dash": "dot", "width": 1},
            "name": "final = best",
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "markers",
            "x": best,
            "y": final,
            "text": [t.get("label", "") for t in done],
            "marker": {"color": RUN_COLORS[2], "size": 7},
            "name": "a trial",
            "hovertemplate": "%{text}<br>best %{x:.1%}, final %{y:.1%}<extra></extra>",
        },
    ]
    layout = base_layout(height, None, legend=legend_below())
    layout["xaxis"] = {"title": {"text": "best test accuracy during training"},
                       "tickformat": ".0%"}  # fmt: skip
    layout["yaxis"] = {"title": {"text": "final test accuracy"}, "tickformat": ".0%"}
    return make_figure(traces, layout)


def trial_curves_figure(
    curves: Sequence[tuple[str, str, Sequence[int], Sequence[float], bool]], height: int = 300
) -> go.Figure:
    """Each trial's test accuracy over epochs, `curves` of (trial label, its combination,
    epochs, values, running): one colour per combination, a running trial drawn thicker."""
    combos = list(dict.fromkeys(c for _, c, _, _, _ in curves))
    traces = []
    shown: set[str] = set()
    for label, combo, epochs, ys, live in curves:
        color = RUN_COLORS[combos.index(combo) % len(RUN_COLORS)]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": list(epochs),
                "y": f32([v if v is not None else float("nan") for v in ys]),
                "name": combo or "trials",
                "legendgroup": combo,
                "showlegend": combo not in shown,
                "line": {"color": color, "width": 2.5 if live else 1.2},
                "opacity": 1.0 if live else 0.7,
                "hovertemplate": f"{label}<br>epoch %{{x}}: %{{y:.1%}}<extra></extra>",
            }
        )
        shown.add(combo)
    layout = base_layout(height, None, legend=legend_below())
    layout["xaxis"] = {"title": {"text": "epoch"}}
    layout["yaxis"] = {"title": {"text": "test accuracy"}, "tickformat": ".0%"}
    return make_figure(traces, layout)
