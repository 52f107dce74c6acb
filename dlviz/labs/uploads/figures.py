"""Your images' figures: class probabilities and what the network looked at."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.rasters import colorize, image_grid_figure, to_rgb
from dlviz.figures.theme import RUN_COLORS, base_layout, make_figure


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
        xaxis={"range": [0, 1.15], "tickformat": ".0%", "title": {"text": "probability"}},
        yaxis={"autorange": "reversed", "type": "category"},
        showlegend=False,
        bargap=0.25,
    )
    return make_figure(traces, layout)


def explain_figure(
    image: np.ndarray, saliency: np.ndarray, cam: np.ndarray, layer: str = "", tile: int = 180
) -> go.Figure:
    """The image (C, H, W) in [0, 1], its saliency map (H, W) and its Grad-CAM heat map (H, W),
    both in [0, 1], the latter laid over a faded copy of the image."""
    rgb = to_rgb(image).astype(np.float32)
    heat = colorize(cam, 0.0, 1.0).astype(np.float32)
    overlay = 0.45 * rgb + 0.55 * heat
    tiles = [rgb, colorize(saliency, 0.0, 1.0).astype(np.float32), overlay]
    stack = np.stack([t.transpose(2, 0, 1) / 255.0 for t in tiles])
    captions = ["the image", "saliency", f"Grad-CAM ({layer})" if layer else "Grad-CAM"]
    return image_grid_figure(stack, captions, cols=3, tile=tile)
