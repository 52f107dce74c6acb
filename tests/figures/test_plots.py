import math

import numpy as np
import pytest
from support.figures import figure_pixels
from support.histories import long_history, snapshot

from dlviz import jobs
from dlviz.config import RunConfig
from dlviz.data import load_dataset
from dlviz.figures.axes import log_value_axis
from dlviz.figures.curves import curves_figure
from dlviz.figures.gradients import grad_norm_figure
from dlviz.figures.rasters import feature_maps_figure
from dlviz.figures.theme import figure_bytes
from dlviz.labs.playground.figures import boundary_figure, neuron_maps_figure


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


def test_a_live_refresh_stays_under_300_kb_even_for_a_long_deep_run():
    """docs/ARCHITECTURE.md: one live refresh sends under 300 KB. These are all the figures the single-run
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
    px = figure_pixels(fig)
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
