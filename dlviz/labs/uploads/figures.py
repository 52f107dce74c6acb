"""Your images' figures: what the network looked at."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.rasters import colorize, image_grid_figure, to_rgb


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
