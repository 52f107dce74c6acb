"""Your images' figures: what each draws, checked in fig.data and fig.layout."""

import numpy as np
from support.figures import figure_pixels

from dlviz.figures.rasters import colorize
from dlviz.labs.uploads.figures import explain_figure


def test_explain_figure_lays_the_grad_cam_heat_over_the_image():
    image = np.zeros((1, 4, 4), np.float32)  # a black image
    cam = np.zeros((4, 4), np.float32)
    cam[0, 0] = 1.0
    fig = explain_figure(image, np.ones((4, 4)), cam, layer="conv2", tile=4)
    assert [a.text for a in fig.layout.annotations] == ["the image", "saliency", "Grad-CAM (conv2)"]
    pixels = figure_pixels(fig)
    overlay = pixels[:4, 48:52]  # the third tile: tiles of 4 px, 20 px apart (room for captions)
    hot, cold = colorize(np.array([1.0, 0.0]), 0, 1)
    assert np.allclose(overlay[0, 0], 0.55 * hot, atol=1.5)  # black image: only the heat shows
    assert np.allclose(overlay[3, 3], 0.55 * cold, atol=1.5)
