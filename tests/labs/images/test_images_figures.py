"""The Image lab's figures: what each draws, checked in fig.data and fig.layout."""

import numpy as np

from dlviz.labs.images.figures import confusion_figure


def test_confusion_figure_is_light_where_nothing_is_and_dark_on_a_perfect_diagonal():
    cm = np.array([[5, 0], [1, 4]])
    fig = confusion_figure(cm, ["a", "b"])
    heat = fig.data[0]
    assert np.allclose(heat.z, [[1.0, 0.0], [0.2, 0.8]])  # shares of each true class
    assert [list(row) for row in heat.text] == [["5", "0"], ["1", "4"]]
    scale = heat.colorscale  # low end light, high end dark, whatever plotly calls "Blues"
    lo, hi = (np.array([int(scale[i][1][k : k + 2], 16) for k in (1, 3, 5)]) for i in (0, -1))
    assert lo.mean() > 240 and hi.mean() < 80
