"""The plane's marks over the discriminator's heatmap keep their dark colours on a dark page
(the heatmap under them is pale on both themes), and the mode crosses have a white edge, so
they read over the heatmap, on white and on a dark page; without the heatmap, the live chart's
theming lightens them against a dark page as it does every line."""

from __future__ import annotations

import numpy as np

from dlviz.figures.theme import MIN_CONTRAST, THEMES, contrast, parse_rgb, themed
from dlviz.generative_probe import GenerativeSnapshot
from dlviz.labs.generative.figures import ARROW_COLOR, CENTRE_COLOR, plane_figure

CENTRES = np.array([[2.0, 0.0], [0.0, 2.0]], dtype=np.float32)


def snapshot(heat: bool) -> GenerativeSnapshot:
    arrows = np.array([[[0.0, 0.0], [0.3, 0.1]]], dtype=np.float32)
    return GenerativeSnapshot(
        step=1,
        epoch=1,
        samples=np.zeros((4, 2), np.float32),
        heat=np.full((8, 8), 0.5, np.float32) if heat else None,
        heat_kind="probability",
        arrows=arrows,
    )


def traces(fig) -> dict:
    return {t.name: t for t in fig.data}


def test_marks_over_the_heatmap_keep_their_colours_on_a_dark_page():
    real = np.zeros((3, 2), np.float32)
    fig = themed(plane_figure(snapshot(heat=True), real, CENTRES), "dark")
    shown = traces(fig)
    assert shown["generator's push"].line.color == ARROW_COLOR
    assert shown["mode centres"].marker.color == CENTRE_COLOR
    assert shown["mode centres"].marker.line.color == "white"


def test_without_the_heatmap_they_are_lightened_to_read_on_a_dark_page():
    real = np.zeros((3, 2), np.float32)
    fig = themed(plane_figure(snapshot(heat=False), real, CENTRES, show=("real", "arrows")), "dark")
    page = parse_rgb(THEMES["dark"]["background"])
    for name in ("generator's push", "mode centres"):
        trace = traces(fig)[name]
        color = trace.line.color if name == "generator's push" else trace.marker.color
        assert contrast(parse_rgb(color), page) >= MIN_CONTRAST - 0.05, (name, color)
