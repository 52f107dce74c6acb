"""The one-line summaries under the live charts (dlviz.captions), on hand-made histories."""

import math

import numpy as np

from dlviz import captions
from dlviz.history import RunHistory
from dlviz.labs.depth.experiment import DepthResult
from dlviz.probes import Snapshot2D


def history(test_loss, train_loss=None, test_accuracy=0.8, layers=("hidden1", "output")):
    """A run whose epoch e (from 1) has test_loss[e - 1]; the train loss keeps falling."""
    h = RunHistory(layers=list(layers))
    train_loss = train_loss or [1.0 / (e + 1) for e in range(len(test_loss))]
    for e, (test, train) in enumerate(zip(test_loss, train_loss), 1):
        h.epoch = e
        h.epochs.append(
            epoch=e,
            step=e * 10,
            elapsed=e * 0.1,
            train_loss=train,
            train_accuracy=0.9,
            test_loss=test,
            test_accuracy=test_accuracy,
        )
    return h


def test_a_test_loss_that_turns_up_is_rising_since_its_lowest_epoch():
    losses = [0.9 - 0.05 * e for e in range(12)] + [0.35 + 0.02 * e for e in range(1, 9)]
    text = captions.loss_curve(history(losses, test_accuracy=0.86))
    assert text.startswith("Test loss rising since epoch 12 (0.350 → 0.510)"), text
    assert "while the train loss keeps falling: overfitting" in text
    assert text.endswith("test accuracy 86% at epoch 20.")


def test_a_jumpy_test_loss_says_where_it_went_last():
    text = captions.loss_curve(history([2.0, 0.6, 2.0, 0.3, 2.0, 4.8, 0.2, 0.15, 0.1, 0.118]))
    assert text.startswith("Test loss 0.118, up from 0.100 at epoch 9 (its lowest: 0.100)"), text
    text = captions.loss_curve(history([2.0, 0.6, 2.0, 0.3, 2.0, 4.8, 0.2, 0.15, 0.3, 0.118]))
    assert text.startswith("Test loss still falling (2.000 → 0.118)"), text  # its lowest, now


def test_one_noisy_epoch_at_the_end_is_not_a_rise():
    losses = [1.0 - 0.006 * e for e in range(98)] + [0.45, 0.47]
    assert not captions.loss_curve(history(losses)).startswith("Test loss rising")


def test_the_gradient_caption_names_the_output_layer_as_such():
    text = captions.gradient_chart(["hidden1", "hidden2", "output"], [[0.3, 0.9, 0.03]], [4])
    assert text == "Epoch 4: the gradient of hidden2 is 30x larger than the output layer's."


def test_a_test_loss_still_going_down_is_falling():
    text = captions.loss_curve(history([1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2]))
    assert text.startswith("Test loss still falling (1.000 → 0.200)"), text


def test_a_test_loss_that_settled_is_flat_since_the_epoch_it_settled():
    text = captions.loss_curve(history([1.0, 0.6, 0.4, 0.301, 0.3, 0.302, 0.299, 0.3, 0.301, 0.3]))
    assert text.startswith("Test loss flat at about 0.300 since epoch 4"), text


def test_before_the_first_epoch_the_batch_loss_is_read_and_a_nan_says_diverged():
    h = RunHistory()
    assert "first point" in captions.loss_curve(h)
    h.steps.append(step=1, elapsed=0.1, loss=0.7)
    h.steps.append(step=2, elapsed=0.2, loss=0.6)
    assert captions.loss_curve(h).startswith("Batch loss 0.7 at the start, 0.6 now")
    assert "diverged" in captions.loss_curve(history([0.5, math.nan]))


def test_several_runs_are_ranked_by_test_accuracy_and_a_rising_one_is_named():
    shallow = history([0.7, 0.6, 0.55, 0.5], test_accuracy=0.7)
    deep = history([0.5, 0.2, 0.3, 0.45], test_accuracy=0.9)
    text = captions.loss_curves([("shallow", shallow), ("deep", deep)])
    assert text.startswith("Test accuracy now: deep 90%, shallow 70%."), text
    assert "deep: test loss rising since epoch 2." in text and "shallow: test" not in text
    assert "No epoch" in captions.loss_curves([("a", RunHistory())])


def test_the_gradient_caption_names_the_weak_layer_and_how_many_times_smaller():
    layers = ["hidden1", "hidden2", "output"]
    norms = [[0.1, 0.2, 0.3], [1e-3, 0.1, 1.0]]
    text = captions.gradient_chart(layers, norms, [1, 12])
    assert text == (
        "Epoch 12: the gradient of hidden1 is 1,000x smaller than the output layer's "
        "(at epoch 1: 3x)."
    )
    huge = captions.gradient_chart(layers, [[1e-15, 1e-3, 1.0]], [5])
    assert "10¹⁵x smaller" in huge
    even = captions.gradient_chart(layers, [[0.5, 0.6, 1.0]], [3])
    assert even == "Epoch 3: every layer's gradient is within 2x of every other's."
    assert "gets no gradient at all" in captions.gradient_chart(layers, [[0.0, 0.1, 1.0]], [2])
    assert "no layer gets any gradient" in captions.gradient_chart(layers, [[0, 0, 0]], [2])
    assert "NaN" in captions.gradient_chart(layers, [[math.nan, 1, 1]], [2])
    assert "first epoch" in captions.gradient_chart(layers, [], [])


def test_history_gradients_reads_a_runs_norms():
    h = RunHistory(layers=["hidden1", "output"])
    h.grad_norms.append(epoch=1, norms=[0.001, 1.0])
    assert captions.history_gradients(h).startswith("Epoch 1: the gradient of hidden1 is 1,000x")


def test_factor_and_powers_of_ten_read_as_words_do():
    assert [captions.factor(r) for r in (2.5, 40, 1000, 3e15)] == ["2.5x", "40x", "1,000x", "10¹⁵x"]
    assert [captions.power_of_ten(k) for k in (0, 1, -3, 12)] == ["1", "10", "10⁻³", "10¹²"]


def test_the_boundary_caption_says_how_many_points_are_on_their_side():
    h = history([0.5], test_accuracy=0.87)
    assert "appears" in captions.boundary(h)
    h.snapshot = Snapshot2D(step=10, epoch=1, extent=1, boundary=np.zeros((4, 4)), neurons={})
    assert captions.boundary(h) == (
        "Epoch 1: 90% of the training points and 87% of the test points are on their own "
        "class's side."
    )


def test_the_neuron_caption_counts_the_neurons_that_respond_to_nothing():
    rng = np.random.default_rng(0)
    maps = rng.standard_normal((4, 8, 8)).astype(np.float32)
    maps[1] = 0.0  # a dead ReLU
    maps[3] = 0.7  # a saturated unit
    text = captions.neuron_maps({"hidden1": maps, "hidden2": rng.standard_normal((4, 8, 8))})
    assert "hidden1 2 of 4" in text and "hidden2" not in text
    assert captions.neuron_maps({"hidden1": rng.standard_normal((2, 8, 8))}).startswith("Every")


def test_the_dead_unit_caption_names_the_worst_layer_and_its_change():
    h = RunHistory()
    assert "first snapshot" in captions.dead_units(h)
    h.dead.append(step=100, epoch=1, shares={"conv1": 0.0, "conv2": 0.1})
    h.dead.append(step=900, epoch=3, shares={"conv1": 0.05, "conv2": 0.4})
    assert captions.dead_units(h) == (
        "Step 900: conv2 has the most dead ReLU channels, 40% (at step 100: 10%)."
    )


def rung(variant, depth, train, first, last, profile=()):
    return DepthResult(variant, depth, "finished", train, train, first, last, 1.0, profile)


def test_the_depth_captions_read_the_ladder():
    rows = [
        rung("plain", 1, 0.6, 0.1, 0.2),
        rung("plain", 4, 0.85, 0.01, 0.2),
        rung("plain", 32, 0.5, 1e-16, 0.1, (1e-16, 1e-8, 0.1)),
        rung("residual", 1, 0.6, 0.1, 0.2),
        rung("residual", 32, 0.95, 0.2, 0.3, (0.2, 0.25, 0.3)),
        DepthResult("sigmoid", 1, "running", *[math.nan] * 5),
    ]
    assert captions.depth_accuracy(rows) == (
        "Plain: train accuracy peaks at depth 4 (85%), 50% at depth 32; residual: 95% train "
        "accuracy at depth 32."
    )
    assert captions.depth_gradient(rows) == (
        "Plain at depth 32: the first layer gets 10¹⁵x less than the output layer; residual at "
        "depth 32: the first layer gets about as much as the output layer."
    )
    assert captions.depth_profile(rows) == (
        "From the output layer back to layer 1, the gradient: plain (32 layers): shrinks "
        "10¹⁵x; residual (32 layers): about the same all the way."
    )
    assert "appears" in captions.depth_accuracy(rows[-1:])


def test_the_transfer_captions_read_weight_changes_and_data_efficiency():
    moved = [
        ("Fine-tune all", "finetune_all", {"conv1": 0.01, "conv2": 0.12}),
        ("Feature extraction", "frozen", {"conv1": 0.0, "conv2": 0.0}),
    ]
    assert captions.weight_change(moved) == (
        "Fine-tune all moved conv2 most (12.0%); Feature extraction: every conv layer kept its "
        "weights."
    )
    rows = [
        {"label": "From scratch", "per_class": 1, "test_accuracy": 0.18},
        {"label": "Feature extraction", "per_class": 1, "test_accuracy": 0.74},
        {"label": "Fine-tune all", "per_class": 70, "test_accuracy": 1.0},
        {"label": "From scratch", "per_class": 70, "test_accuracy": 0.78},
        {"label": "Fine-tune all", "per_class": 25, "test_accuracy": math.nan},
    ]
    assert captions.efficiency(rows) == (
        "With 1 labelled image a class, feature extraction is best (74%); with 70 labelled "
        "images a class, fine-tune all is best (100%)."
    )
    assert "appears" in captions.efficiency(rows[-1:])
