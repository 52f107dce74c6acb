import pytest
import torch

from dlviz.config import ModelConfig
from dlviz.models import build_model
from dlviz.probes import activations, grid_points, snapshot_2d


def hook_count(model):
    return sum(len(m._forward_hooks) for m in model.modules())


def test_activations_match_a_manual_forward_and_leave_no_hooks():
    model = build_model(ModelConfig(hidden=(4, 3), activation="tanh"), (2,), 2, seed=0)
    model.train()
    x = torch.randn(6, 2)
    acts = activations(model, x)
    assert list(acts) == ["hidden1", "hidden2"]
    with torch.no_grad():
        h1 = torch.tanh(model.blocks[0].linear(x))
        h2 = torch.tanh(model.blocks[1].linear(h1))
    torch.testing.assert_close(acts["hidden1"], h1)
    torch.testing.assert_close(acts["hidden2"], h2)
    assert not acts["hidden1"].requires_grad
    assert hook_count(model) == 0
    assert model.training  # restored


def test_hooks_are_removed_even_when_the_forward_fails():
    model = build_model(ModelConfig(hidden=(4,)), (2,), 2, seed=0)
    try:
        activations(model, torch.randn(3, 5))  # wrong input width
    except RuntimeError:
        pass
    assert hook_count(model) == 0


def test_grid_points_cover_the_square_row_by_row():
    g = grid_points(1.0, 3)
    assert g.shape == (9, 2)
    assert (
        g[0].tolist() == [-1.0, -1.0]
        and g[2].tolist() == [1.0, -1.0]
        and g[-1].tolist() == [1.0, 1.0]
    )


def test_snapshot_boundary_is_the_models_probability_over_the_grid():
    model = build_model(
        ModelConfig(hidden=(8, 8, 8, 8), norm="batch", dropout=0.2), (2,), 2, seed=0
    )
    model.train()
    snap = snapshot_2d(model, extent=1.25, step=7, epoch=2, resolution=10, neuron_resolution=6)
    assert snap.step == 7 and snap.epoch == 2 and snap.boundary.shape == (10, 10)
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(grid_points(1.25, 10)), 1)[:, 1].reshape(10, 10)
    torch.testing.assert_close(torch.from_numpy(snap.boundary), expected)
    # first three hidden layers, one map per neuron
    assert list(snap.neurons) == ["hidden1", "hidden2", "hidden3"]
    assert snap.neurons["hidden1"].shape == (8, 6, 6)
    with torch.no_grad():
        h1 = torch.relu(model.blocks[0].norm(model.blocks[0].linear(grid_points(1.25, 6))))
    torch.testing.assert_close(torch.from_numpy(snap.neurons["hidden1"][3]), h1[:, 3].reshape(6, 6))
    assert hook_count(model) == 0


def test_snapshot_caps_neurons_per_layer():
    model = build_model(ModelConfig(hidden=(40,)), (2,), 2, seed=0)
    snap = snapshot_2d(model, 1.0, resolution=4, neuron_resolution=4, max_neurons=16)
    assert snap.neurons["hidden1"].shape == (16, 4, 4)


# --- images -----------------------------------------------------------------------------------

import numpy as np  # noqa: E402

from dlviz.config import ConvBlock  # noqa: E402
from dlviz.probes import ImageProbe, class_report, confusion, top_activating  # noqa: E402


def small_cnn(**kw):
    blocks = (ConvBlock(channels=4, pool="max"), ConvBlock(channels=40), ConvBlock(channels=6))
    return build_model(ModelConfig(arch="cnn", blocks=blocks, **kw), (1, 16, 16), 3, seed=0)


def test_image_probe_keeps_the_chosen_images_maps_capped_and_pooled():
    model = small_cnn()
    x = torch.rand(30, 1, 16, 16)
    probe = ImageProbe(x, sample_index=7, probe_batch=8, max_channels=32, max_side=4)
    snap = probe(model, step=3, epoch=1)
    assert snap.sample_index == 7 and snap.step == 3
    assert {k: v.shape for k, v in snap.maps.items()} == {
        "conv1": (4, 4, 4),  # 8x8 after pooling, averaged down to 4x4
        "conv2": (32, 4, 4),  # 40 channels, the first 32 kept
        "conv3": (6, 4, 4),
    }
    assert snap.channels == {"conv1": 4, "conv2": 40, "conv3": 6}
    model.eval()
    with torch.no_grad():
        block1 = model.blocks[0](x[7:8])[0]  # (4, 8, 8)
    expected = torch.nn.functional.adaptive_avg_pool2d(block1, 4).numpy()
    np.testing.assert_allclose(snap.maps["conv1"].astype(np.float32), expected, atol=2e-3)
    assert snap.filters.shape == (4, 1, 3, 3)
    assert hook_count(model) == 0
    probe.sample_index = 99  # out of range: clamped to the last image
    assert probe(model).sample_index == 29


def test_image_probe_keeps_each_test_images_mean_channel_activation():
    model = small_cnn()
    x = torch.rand(30, 1, 16, 16)
    snap = ImageProbe(x, embed_count=20)(model)
    assert {k: v.shape for k, v in snap.embedding.items()} == {
        "conv1": (20, 4),
        "conv2": (20, 40),  # every channel, not the page of 32 the maps show
        "conv3": (20, 6),
    }
    model.eval()
    with torch.no_grad():
        h = x[:20]
        for i, block in enumerate(model.blocks):
            h = block(h)
            expected = h.mean(dim=(2, 3)).numpy()  # averaged over every position, by hand
            got = snap.embedding[f"conv{i + 1}"].astype(np.float32)
            np.testing.assert_allclose(got, expected, rtol=5e-3, atol=2e-3)
    assert ImageProbe(x[:5], embed_count=20)(model).embedding["conv1"].shape == (5, 4)
    assert ImageProbe(x, embed_count=0)(model).embedding == {}


def test_image_probe_pages_through_channels_of_wide_layers():
    model = small_cnn()
    x = torch.rand(10, 1, 16, 16)
    probe = ImageProbe(x, sample_index=2, max_channels=32, max_side=16)
    assert probe(model).first_channel == {"conv1": 0, "conv2": 0, "conv3": 0}
    probe.channel_start = 32  # the second page: 40 channels -> 8..39, a full last page
    snap = probe(model)
    assert snap.first_channel == {"conv1": 0, "conv2": 8, "conv3": 0}
    model.eval()
    with torch.no_grad():
        conv2 = model.blocks[1](model.blocks[0](x[2:3]))[0]  # (40, 8, 8)
    np.testing.assert_allclose(
        snap.maps["conv2"].astype(np.float32), conv2[8:40].numpy(), atol=2e-3
    )
    assert snap.maps["conv1"].shape[0] == 4 and snap.maps["conv3"].shape[0] == 6  # all they have


def test_dead_relu_share_counts_channels_that_never_fire():
    model = small_cnn()
    with torch.no_grad():
        model.blocks[0].conv.bias[:2] = -100.0  # two of four channels can never be positive
    snap = ImageProbe(torch.rand(10, 1, 16, 16), probe_batch=10)(model)
    assert snap.dead["conv1"] == 0.5
    tanh = small_cnn(activation="tanh")
    assert ImageProbe(torch.rand(4, 1, 16, 16))(tanh).dead == {}  # dead units are a ReLU thing


def test_confusion_and_class_report_by_hand():
    cm = confusion(torch.tensor([0, 0, 1, 2, 2, 2]), torch.tensor([0, 1, 1, 2, 0, 2]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]

    class Fixed(torch.nn.Module):  # predicts from the first pixel: 3 classes by thresholds
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            v = x.flatten(1)[:, 0]
            return torch.stack([-(v - 0.1).abs(), -(v - 0.5).abs(), -(v - 0.9).abs()], 1) * 10

    x = torch.tensor([0.1, 0.5, 0.9, 0.9, 0.5]).reshape(5, 1, 1, 1)
    y = torch.tensor([0, 1, 2, 1, 0])
    report = class_report(Fixed(), x, y, 3)
    assert report["confusion"].tolist() == [[1, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert report["accuracy"] == pytest.approx(0.6)
    wrong = report["misclassified"]
    assert {(w["index"], w["true"], w["pred"]) for w in wrong} == {(3, 1, 2), (4, 0, 1)}
    assert wrong[0]["confidence"] >= wrong[1]["confidence"]


def test_top_activating_finds_the_brightest_images_for_a_channel():
    model = small_cnn()
    with torch.no_grad():
        conv = model.blocks[0].conv
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[0, 0, 1, 1] = 1.0  # channel 0 copies the input
    x = torch.zeros(20, 1, 16, 16)
    x[[4, 11, 17]] += torch.tensor([0.5, 0.9, 0.7]).reshape(3, 1, 1, 1)
    idx, values = top_activating(model, x, "conv1", 0, k=3)
    assert idx == [11, 17, 4]
    assert values[0] > values[1] > values[2]
    with pytest.raises(KeyError, match="no layer 'conv9'"):
        top_activating(model, x, "conv9", 0)
    with pytest.raises(IndexError, match="conv1 has 4 channels"):
        top_activating(model, x, "conv1", 4)
