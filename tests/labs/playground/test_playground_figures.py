"""The Playground's figures: what each draws, checked in fig.data and fig.layout."""

import numpy as np
import plotly.graph_objects as go
from support.histories import snapshot

from dlviz.config import RunConfig
from dlviz.data import load_dataset
from dlviz.labs.playground.figures import boundary_figure, network_figure, neuron_maps_figure


def test_boundary_figure_has_the_heatmap_under_the_points():
    ds = load_dataset(RunConfig().data)
    fig = boundary_figure(
        snapshot(), ds.x_train.numpy(), ds.y_train.numpy(), ds.x_test.numpy(), ds.y_test.numpy()
    )
    assert isinstance(fig, go.Figure)
    assert fig.data[0].type == "heatmap" and fig.data[0].zmin == 0 and fig.data[0].zmax == 1
    scatter_points = sum(len(t.x) for t in fig.data[1:])
    assert scatter_points == len(ds)
    assert "epoch 1, step 5" in fig.layout.title.text
    assert fig.layout.yaxis.scaleanchor == "x"


def test_neuron_maps_put_the_first_layer_on_top_and_scale_each_map():
    snap = snapshot(layers=2, neurons=3, r=6)
    fig = neuron_maps_figure(snap)
    z = np.asarray(fig.data[0].z)
    assert z.dtype == np.int8
    gap = 2
    top_row = z[(6 + gap) :, :6]  # y axis points up: the last rows are drawn on top
    first = snap.neurons["hidden1"][0]
    np.testing.assert_array_equal(
        top_row, np.round(first / np.abs(first).max() * 127).astype(np.int8)
    )
    assert list(fig.layout.yaxis.ticktext) == ["hidden1", "hidden2"]
    assert fig.layout.yaxis.tickvals[0] > fig.layout.yaxis.tickvals[1]


def test_network_figure_draws_every_node_and_shortcut():
    fig = network_figure(2, (8, 8, 8), 2, residual=True, params=186)
    nodes = fig.data[1]
    assert len(nodes.x) == 2 + 8 * 3 + 2
    assert len(fig.layout.shapes) == 2  # shortcuts around hidden2 and hidden3
    assert "186 parameters" in fig.layout.title.text
    wide = network_figure(2, (100,) * 32, 2)
    assert (
        len(wide.data[1].x) == 2 + 10 * 32 + 2
        and "first 10 units drawn" in wide.layout.annotations[-1].text
    )


def test_neuron_maps_of_a_diverged_run_draw_blank_not_garbage():
    snap = snapshot(layers=1, neurons=2, r=4)
    snap.neurons["hidden1"][0] = np.nan
    z = np.asarray(neuron_maps_figure(snap).data[0].z)
    assert (z[:, :4] == 0).all()
