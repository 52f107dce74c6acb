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
