"""Charts of a classifier's answers, drawn by several labs: the confusion matrix and one
input's class probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.theme import RUN_COLORS, base_layout, make_figure

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
    layout = base_layout(
        height,
        xaxis={"title": {"text": "predicted"}, "side": "bottom", "tickangle": 0},
        yaxis={"title": {"text": "true"}, "autorange": "reversed"},
    )
    return make_figure(traces, layout)


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
    layout = base_layout(
        60 + 28 * len(order) + (30 if title else 0),
        title,
        xaxis={"range": [0, 1.32], "tickformat": ".0%", "title": {"text": "probability"}},
        yaxis={"autorange": "reversed", "type": "category"},
        showlegend=False,
        bargap=0.25,
    )
    return make_figure(traces, layout)
