"""The classifier charts several labs draw: what each draws, checked in fig.data."""

import numpy as np

from dlviz.figures.classes import confusion_figure, probability_figure


def test_confusion_figure_is_light_where_nothing_is_and_dark_on_a_perfect_diagonal():
    cm = np.array([[5, 0], [1, 4]])
    fig = confusion_figure(cm, ["a", "b"])
    heat = fig.data[0]
    assert np.allclose(heat.z, [[1.0, 0.0], [0.2, 0.8]])  # shares of each true class
    assert [list(row) for row in heat.text] == [["5", "0"], ["1", "4"]]
    scale = heat.colorscale  # low end light, high end dark, whatever plotly calls "Blues"
    lo, hi = (np.array([int(scale[i][1][k : k + 2], 16) for k in (1, 3, 5)]) for i in (0, -1))
    assert lo.mean() > 240 and hi.mean() < 80


def test_probability_bars_put_the_most_likely_class_first_and_highlight_it():
    fig = probability_figure(["cat", "dog", "mug"], np.array([0.2, 0.7, 0.1]))
    bar = fig.data[0]
    assert list(bar.y) == ["dog", "cat", "mug"] and list(bar.x) == [0.7, 0.2, 0.1]
    assert list(bar.text) == ["70.0%", "20.0%", "10.0%"]
    assert bar.marker.color[0] != bar.marker.color[1] == bar.marker.color[2]
    many = probability_figure([str(i) for i in range(30)], np.full(30, 1 / 30))
    assert len(many.data[0].y) == 20 and "20 most likely" in many.layout.title.text
