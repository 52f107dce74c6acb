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
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [0.0, 1.0] if relative else [traces[0]["x"][0], traces[0]["x"][-1]],
                "y": [chance, chance],
                "name": "chance",
                "line": {"color": "#999999", "dash": "dot", "width": 1},
                "hoverinfo": "skip",
            }
        )
    layout = base_layout(height, title, legend=legend_below())
    layout["yaxis"] = {"title": {"text": "linear probe: test accuracy"}, "range": [0, 1.02],
                       "tickformat": ".0%"}  # fmt: skip
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
