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


# --- one run as an HTML report that opens offline -------------------------------------------


def report_html(stored: Any) -> str:
    """A stored run (`dlviz.runs.StoredRun`) as one HTML file: its numbers, its curves and
    gradient profile as interactive charts (plotly.js inlined once: it opens offline), and
    its config."""
    import html
    import json

    from plotly.offline import get_plotlyjs

    label = str(stored.row.get("name") or stored.run_id)
    s = stored.summary if isinstance(stored.summary, dict) else {}
    final = s.get("final") if isinstance(s.get("final"), dict) else {}
    tests = [v for v in stored.metrics.get("test_accuracy", []) if isinstance(v, (int, float))]

    def pct(v: Any) -> str:
        return f"{v:.1%}" if isinstance(v, (int, float)) else "-"

    rows = [
        ("status", stored.row.get("status")),
        ("date", stored.row.get("date")),
        ("dataset", stored.row.get("dataset")),
        ("architecture", stored.row.get("arch")),
        (
            "parameters",
            f"{stored.row['params']:,}" if isinstance(stored.row.get("params"), int) else "-",
        ),  # fmt: skip
        ("epochs", s.get("epochs", len(stored.metrics.get("epoch", [])))),
        ("final test accuracy", pct(final.get("test_accuracy"))),
        ("best test accuracy", pct(max(tests) if tests else None)),
        ("final training accuracy", pct(final.get("train_accuracy"))),
        ("seconds", f"{s['seconds']:.1f}" if isinstance(s.get("seconds"), (int, float)) else "-"),
        ("device", s.get("device", "-")),
    ]
    charts = []
    if stored.metrics.get("epoch"):
        fig = compare_curves_figure([(label, stored.metrics)])
        charts.append(("Loss and accuracy (solid: test; dashed: train)", fig))
    norms = s.get("gradient_norms")
    if isinstance(norms, dict) and norms:
        charts.append(("Gradient norms by layer, last epoch",
                       grad_profiles_figure([(label, norms)])))  # fmt: skip
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(label)} - dlviz run report</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;"
        "padding:0 1em;color:#222}table{border-collapse:collapse}td{padding:.2em 1em .2em 0;"
        "border-bottom:1px solid #ddd}pre{background:#f5f5f5;padding:1em;overflow:auto}</style>",
        f"<script>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(label)}</h1><p>Run <code>{html.escape(stored.run_id)}</code>, "
        "a report from dlviz.</p><table>",
        *(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows),
        "</table>",
    ]
    for title, fig in charts:
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False))
    parts.append(
        "<h2>Config</h2><pre>" + html.escape(json.dumps(stored.config, indent=2)) + "</pre>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)
