import math

import numpy as np
import plotly.graph_objects as go
import pytest
from support.histories import long_history, snapshot

from dlviz import jobs
from dlviz.config import RunConfig
from dlviz.data import load_dataset
from dlviz.figures.axes import log_value_axis
from dlviz.figures.curves import curves_figure
from dlviz.figures.gradients import grad_norm_figure
from dlviz.figures.images import colorize, feature_maps_figure
from dlviz.figures.theme import figure_bytes
from dlviz.labs.devices.figures import matmul_figure, step_parts_figure, train_step_figure
from dlviz.labs.images.figures import confusion_figure
from dlviz.labs.playground.figures import boundary_figure, network_figure, neuron_maps_figure
from dlviz.labs.uploads.figures import explain_figure, probability_figure


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


def test_curves_figure_has_train_and_test_for_each_run():
    a, b = long_history(50), long_history(60)
    fig = curves_figure([("shallow", a), ("deep", b)])
    names = [t.name for t in fig.data]
    assert names.count("shallow: test") == 2 and names.count("deep: train") == 2  # loss + accuracy
    assert "shallow: batch loss" in names
    acc = [t for t in fig.data if t.yaxis == "y2"]
    assert len(acc) == 4
    assert fig.data[1].x[-1] == 50


def test_grad_norm_figure_orders_layers_input_to_output():
    h = long_history(20, layers=6)
    fig = grad_norm_figure(h)
    bars = [t for t in fig.data if t.type == "bar"][0]
    assert list(bars.x) == ["h1", "h2", "h3", "h4", "h5", "h6", "out"]
    np.testing.assert_allclose(bars.y, [10.0 ** -(6 - i) for i in range(7)], rtol=1e-5)
    assert fig.layout.yaxis.type == "log"


def test_grad_norm_figure_thins_lines_for_deep_nets_but_keeps_first_and_last():
    h = long_history(5, layers=31)
    fig = grad_norm_figure(h, max_lines=12)
    lines = [t.name for t in fig.data if t.type == "scatter"]
    assert len(lines) == 12 and lines[0] == "hidden1" and lines[-1] == "output"


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


def test_a_live_refresh_stays_under_300_kb_even_for_a_long_deep_run():
    """DESIGN.md: one live refresh sends under 300 KB. These are all the figures the single-run
    view draws, for a run much longer than the histories' point limit."""
    cfg = RunConfig().with_changes(data={"n_samples": 5000})
    ds = load_dataset(cfg.data)
    h = long_history(5000, layers=31)
    snap = snapshot(layers=3, neurons=16)
    figs = [
        boundary_figure(
            snap, ds.x_train.numpy(), ds.y_train.numpy(), ds.x_test.numpy(), ds.y_test.numpy()
        ),
        curves_figure([("", h)]),
        neuron_maps_figure(snap),
        grad_norm_figure(h),
    ]
    total = sum(figure_bytes(f) for f in figs)
    assert total < 300_000, total
    print("refresh bytes", total)


def test_a_real_run_history_draws():
    h = jobs.start(RunConfig().with_changes(data={"n_samples": 200}, train={"epochs": 2})).wait(30)
    for fig in (
        curves_figure([("", h)]),
        grad_norm_figure(h),
        neuron_maps_figure(h.snapshot),
    ):
        assert fig.to_json()


def test_neuron_maps_of_a_diverged_run_draw_blank_not_garbage():
    snap = snapshot(layers=1, neurons=2, r=4)
    snap.neurons["hidden1"][0] = np.nan
    z = np.asarray(neuron_maps_figure(snap).data[0].z)
    assert (z[:, :4] == 0).all()


def test_confusion_figure_is_light_where_nothing_is_and_dark_on_a_perfect_diagonal():
    cm = np.array([[5, 0], [1, 4]])
    fig = confusion_figure(cm, ["a", "b"])
    heat = fig.data[0]
    assert np.allclose(heat.z, [[1.0, 0.0], [0.2, 0.8]])  # shares of each true class
    assert [list(row) for row in heat.text] == [["5", "0"], ["1", "4"]]
    scale = heat.colorscale  # low end light, high end dark, whatever plotly calls "Blues"
    lo, hi = (np.array([int(scale[i][1][k : k + 2], 16) for k in (1, 3, 5)]) for i in (0, -1))
    assert lo.mean() > 240 and hi.mean() < 80


def _figure_pixels(fig) -> np.ndarray:
    """The RGB pixels of an image figure's one PNG (decoded independently, with Pillow)."""
    import base64
    import io

    from PIL import Image

    source = fig.data[0].source
    assert source.startswith("data:image/png;base64,")
    png = base64.b64decode(source.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_feature_maps_are_scaled_per_layer_and_name_the_channels_shown():
    from dlviz.probes import FeatureSnapshot

    conv1 = np.zeros((2, 4, 4), np.float16)
    conv1[1, 0, 0] = 2.0  # this layer's largest value
    conv2 = np.full((32, 2, 2), 0.01, np.float16)
    conv2[0, 1, 1] = 0.1  # ten times weaker than conv1's, yet its own layer's top colour
    snap = FeatureSnapshot(
        step=5, epoch=1, sample_index=0, maps={"conv1": conv1, "conv2": conv2},
        channels={"conv1": 2, "conv2": 64}, dead={}, filters=None, first_channel={"conv2": 32},
    )  # fmt: skip
    fig = feature_maps_figure(snap, cols=16, tile=8)
    notes = [a.text for a in fig.layout.annotations]
    assert notes == [
        "<b>conv1</b> - 2 channels, 4x4, scale 0 to 2",
        "<b>conv2</b> - channels 33-64 of 64, 2x2, scale 0 to 0.1",
    ]
    px = _figure_pixels(fig)
    yellow, purple = [253, 231, 37], [68, 1, 84]  # viridis' ends
    # conv1: label strip (18 px), then one row of 8-px tiles 2 px apart; a map pixel is 2x2 here
    assert px[18, 10].tolist() == yellow and px[19, 11].tolist() == yellow  # channel 1, (0, 0)
    assert px[18, 0].tolist() == purple and px[22, 12].tolist() == purple  # zeros
    # conv2 starts after conv1's 8-px row and a 6-px gap, under its own 18-px label
    top = 18 + 8 + 6 + 18
    assert px[top + 4, 4].tolist() == yellow  # channel 33's (1, 1): 0.1, the top of its scale
    assert px[top, 0].tolist() != yellow  # 0.01 is near the bottom
    assert px.shape[1] == 16 * 10 - 2


def test_an_8_layer_cnn_feature_map_figure_on_64px_rgb_stays_under_1_mb():
    import torch

    from dlviz.config import ConvBlock, ModelConfig
    from dlviz.models import build_model
    from dlviz.probes import ImageProbe

    blocks = tuple(ConvBlock(channels=c, pool=p) for c, p in [(32, "none"), (32, "max")] * 2)
    blocks += tuple(ConvBlock(channels=64, pool=p) for p in ("none", "max", "none", "none"))
    model = build_model(ModelConfig(arch="cnn", blocks=blocks), (3, 64, 64), 6, seed=0)
    snap = ImageProbe(torch.rand(20, 3, 64, 64))(model)
    fig = feature_maps_figure(snap)
    assert len(fig.layout.annotations) == 8
    assert "channels 1-32 of 64" in fig.layout.annotations[-1].text  # capped, and says so
    assert figure_bytes(fig) < 1_000_000


def test_probability_bars_put_the_most_likely_class_first_and_highlight_it():
    fig = probability_figure(["cat", "dog", "mug"], np.array([0.2, 0.7, 0.1]))
    bar = fig.data[0]
    assert list(bar.y) == ["dog", "cat", "mug"] and list(bar.x) == [0.7, 0.2, 0.1]
    assert list(bar.text) == ["70.0%", "20.0%", "10.0%"]
    assert bar.marker.color[0] != bar.marker.color[1] == bar.marker.color[2]
    many = probability_figure([str(i) for i in range(30)], np.full(30, 1 / 30))
    assert len(many.data[0].y) == 20 and "20 most likely" in many.layout.title.text


def test_explain_figure_lays_the_grad_cam_heat_over_the_image():
    image = np.zeros((1, 4, 4), np.float32)  # a black image
    cam = np.zeros((4, 4), np.float32)
    cam[0, 0] = 1.0
    fig = explain_figure(image, np.ones((4, 4)), cam, layer="conv2", tile=4)
    assert [a.text for a in fig.layout.annotations] == ["the image", "saliency", "Grad-CAM (conv2)"]
    pixels = _figure_pixels(fig)
    overlay = pixels[:4, 48:52]  # the third tile: tiles of 4 px, 20 px apart (room for captions)
    hot, cold = colorize(np.array([1.0, 0.0]), 0, 1)
    assert np.allclose(overlay[0, 0], 0.55 * hot, atol=1.5)  # black image: only the heat shows
    assert np.allclose(overlay[3, 3], 0.55 * cold, atol=1.5)


def test_log_value_axes_label_narrow_ranges_at_1_2_5_and_wide_ones_at_powers_of_ten():
    narrow = log_value_axis([0.03, 0.08, 0.2], "TFLOP/s")
    assert narrow["type"] == "log" and narrow["title"]["text"] == "TFLOP/s"
    assert narrow["tickvals"] == pytest.approx([0.02, 0.05, 0.1, 0.2])
    assert narrow["ticktext"] == ["0.02", "0.05", "0.1", "0.2"]
    assert narrow["range"] == pytest.approx([math.log10(0.02) - 0.04, math.log10(0.2) + 0.04])
    assert log_value_axis([400, 1600], "s")["ticktext"] == ["200", "500", "1,000", "2,000"]
    wide = log_value_axis([0.002, 790.0], "TFLOP/s")
    assert wide["ticktext"] == ["0.001", "0.01", "0.1", "1", "10", "100", "1,000"]
    assert log_value_axis([5.0], "x")["ticktext"] == ["2", "5", "10"]  # one value
    assert "tickvals" not in log_value_axis([], "x")  # nothing measured: plotly's own


def test_device_charts_label_their_value_axes_inside_one_decade():
    rows = [
        {"bench": "matmul", "device": "cpu", "dtype": "float32", "size": n, "tflops": t}
        for n, t in ((128, 0.12), (256, 0.19))
    ] + [
        {"bench": "train_step", "device": "cpu", "batch": b, "samples_per_s": v,
         "forward_s": 0.01, "backward_s": 0.01, "step_s": 0.001}
        for b, v in ((16, 1100.0), (64, 1500.0))
    ]  # fmt: skip
    y = matmul_figure(rows).layout.yaxis
    assert list(y.ticktext) == ["0.1", "0.2"]  # 0.12 to 0.19: the range runs from 0.1 to 0.2
    assert y.range[0] < math.log10(0.1) and y.range[1] > math.log10(0.2)
    y = train_step_figure(rows).layout.yaxis
    assert list(y.ticktext) == ["1,000", "2,000"]


def test_step_parts_are_microseconds_per_sample_with_the_step_in_the_hover():
    rows = [
        {"bench": "train_step", "device": "cpu", "batch": b, "samples_per_s": 1.0,
         "forward_s": f, "backward_s": 2 * f, "step_s": 0.002}
        for b, f in ((16, 0.008), (1024, 0.512))
    ]  # fmt: skip
    fig = step_parts_figure(rows)
    forward, backward, step = fig.data
    assert list(forward.x) == ["cpu b16", "cpu b1024"]
    assert list(forward.y) == pytest.approx([500.0, 500.0])  # 8 ms / 16, 512 ms / 1024
    assert list(backward.y) == pytest.approx([1000.0, 1000.0])
    assert list(step.y) == pytest.approx([125.0, 2000 / 1024])  # a fixed cost, spread thinner
    assert list(step.customdata) == pytest.approx([2.0, 2.0])
    assert fig.layout.yaxis.title.text == "µs per training sample"
