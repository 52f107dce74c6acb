"""Charts of what a network's layers hold: a linear probe's test accuracy at each layer, input
to output, for one or several runs (`dlviz.representations.probe_layers`), and linear CKA
between the layers of one run or of two (`dlviz.representations.cka_matrix`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.theme import RUN_COLORS, base_layout, f32, legend_below, make_figure

CKA_SCALE = "Viridis"


def _chance(ends: list[Any], chance: float) -> dict[str, Any]:
    """The chance level as a dotted line from one end of the x axis to the other."""
    return {
        "type": "scatter",
        "mode": "lines",
        "x": ends,
        "y": [chance, chance],
        "name": "chance",
        "line": {"color": "#999999", "dash": "dot", "width": 1},
        "hoverinfo": "skip",
    }


def _probe_layout(height: int, title: str | None) -> dict[str, Any]:
    layout = base_layout(height, title, legend=legend_below())
    layout["yaxis"] = {"title": {"text": "linear probe: test accuracy"}, "range": [0, 1.02],
                       "tickformat": ".0%"}  # fmt: skip
    return layout


def probe_figure(
    runs: Sequence[tuple[str, Sequence[dict[str, Any]]]],
    chance: float | None = None,
    height: int = 320,
    title: str | None = None,
) -> go.Figure:
    """Each run's probe accuracy at each of its layers (a line with a dot a layer). One run:
    its layer names along x; several of different depths: x is the layer's place from input
    (0) to output (1), so a shallow and a deep network share the axis; `chance` as a dotted
    line."""
    traces: list[dict[str, Any]] = []
    relative = len(runs) > 1 and len({len(layers) for _, layers in runs}) > 1
    for i, (label, layers) in enumerate(runs):
        names = [str(layer["name"]) for layer in layers]
        acc = f32([float(layer["probe_accuracy"]) for layer in layers])
        x: Any = f32(np.linspace(0.0, 1.0, len(layers))) if relative and len(layers) > 1 else names
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": x,
                "y": acc,
                "text": names,
                "name": label or "probe accuracy",
                "line": {"color": RUN_COLORS[i % len(RUN_COLORS)], "width": 2},
                "marker": {"size": 7},
                "hovertemplate": "%{text}: %{y:.1%}<extra>" + (label or "") + "</extra>",
            }
        )
    if chance is not None:
        ends = [0.0, 1.0] if relative else [traces[0]["x"][0], traces[0]["x"][-1]]
        traces.append(_chance(ends, chance))
    layout = _probe_layout(height, title)
    layout["xaxis"] = {
        "title": {"text": "depth (0 input, 1 output)" if relative else "layer, input to output"}
    }
    return make_figure(traces, layout)


def cka_figure(
    rows: Sequence[str],
    cols: Sequence[str],
    matrix: np.ndarray,
    row_title: str = "",
    col_title: str = "",
    height: int = 380,
    title: str | None = None,
) -> go.Figure:
    """Linear CKA between layers: `matrix` (len(rows), len(cols)) in [0, 1] (NaN: undefined,
    blank), rows down and columns across, input at the top left."""
    z = np.asarray(matrix, dtype=np.float32)
    traces = [
        {
            "type": "heatmap",
            "z": z,
            "x": list(cols),
            "y": list(rows),
            "zmin": 0.0,
            "zmax": 1.0,
            "colorscale": CKA_SCALE,
            "colorbar": {"thickness": 10, "title": {"text": "CKA", "side": "right"}},
            "hovertemplate": f"{row_title or 'row'} %{{y}}, {col_title or 'column'} %{{x}}: "
            "CKA %{z:.2f}<extra></extra>",
        }
    ]
    layout = base_layout(height, title)
    layout["yaxis"] = {"title": {"text": row_title}, "autorange": "reversed", "type": "category"}
    layout["xaxis"] = {"title": {"text": col_title}, "type": "category"}
    return make_figure(traces, layout)


MAX_PROBE_LINES = 8  # probes a chart over training draws at most (evenly spread, last kept)


def probe_history_figure(
    layers: Sequence[str],
    epochs: Sequence[int],
    accuracies: Sequence[Sequence[float]],
    chance: float | None = None,
    height: int = 320,
) -> go.Figure:
    """A run's live probes (`RunHistory.probes`): probe accuracy at each layer, one line per
    probe, pale for the earliest and dark for the latest (at most MAX_PROBE_LINES, spread over
    training, the latest always drawn); `chance` dotted."""
    n = len(epochs)
    keep = sorted({round(i * (n - 1) / (MAX_PROBE_LINES - 1)) for i in range(MAX_PROBE_LINES)})
    keep = [i for i in keep if i < n] if n > 1 else list(range(n))
    names = list(layers)
    traces: list[dict[str, Any]] = []
    for rank, i in enumerate(keep):
        t = (rank + 1) / len(keep)  # 0..1, the latest darkest
        shade = int(round(205 - 160 * t))
        last = i == n - 1
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": names,
                "y": f32([float(a) for a in accuracies[i]]),
                "name": f"epoch {epochs[i]}",
                "line": {"color": f"rgb({shade // 3},{shade // 2 + 20},{shade})",
                         "width": 3 if last else 1.5},
                "marker": {"size": 7 if last else 4},
                "hovertemplate": "%{x}: %{y:.1%}<extra>epoch " + str(epochs[i]) + "</extra>",
            }
        )  # fmt: skip
    if chance is not None and names:
        traces.append(_chance([names[0], names[-1]], chance))
    layout = _probe_layout(height, None)
    layout["xaxis"] = {"title": {"text": "layer, input to output"}, "type": "category"}
    return make_figure(traces, layout)
