import pytest

from dlviz.compare import compare_runs, overfitting
from dlviz.history import RunHistory


def history(
    test_losses,
    train_losses,
    *,
    depth,
    params,
    elapsed,
    sps=1000.0,
    status="finished",
    test_acc=None,
    train_acc=None,
):
    """A hand-made run: its losses per epoch, and accuracies (given, or 1 - loss / 2)."""
    h = RunHistory(status=status, config={"model": {"hidden": [8] * depth}}, params=params)
    h.elapsed, h.samples_per_second = elapsed, sps
    n = len(test_losses)
    test_acc = test_acc or [1 - te / 2 for te in test_losses]
    train_acc = train_acc or [1 - tr / 2 for tr in train_losses]
    for i in range(n):
        h.epochs.append(
            epoch=i + 1,
            step=(i + 1) * 10,
            elapsed=(i + 1) * 0.1,
            train_loss=train_losses[i],
            train_accuracy=train_acc[i],
            test_loss=test_losses[i],
            test_accuracy=test_acc[i],
        )
    h.epoch = h.total_epochs = n
    return h


def test_the_deep_net_that_reached_lower_test_loss_is_named_with_its_numbers():
    shallow = history(
        [0.6, 0.5, 0.48], [0.6, 0.5, 0.47], depth=1, params=42, elapsed=1.0, sps=20_000
    )
    deep = history([0.5, 0.3, 0.21], [0.5, 0.3, 0.2], depth=6, params=402, elapsed=2.5, sps=8_000)
    text = compare_runs("shallow", shallow, "deep", deep)
    assert text[0].startswith(
        "The deep net (6 hidden layers, 402 parameters) reached the lower test loss: 0.210 against 0.480"
    )
    assert "the shallow net (1 hidden layer, 42 parameters)" in text[0]
    assert "Neither overfits" in text[1]
    assert "the deep net took 2.5x as long as the shallow one" in text[2]
    assert "shallow 1.0 s (20,000 samples/s)" in text[2]


def test_a_cnn_is_described_by_its_conv_layers():
    shallow = history([0.9], [0.5], depth=1, params=99, elapsed=1.0)
    deep = history([0.3], [0.3], depth=1, params=147, elapsed=2.0)
    shallow.config = {"model": {"arch": "cnn", "hidden": [8, 8, 8], "blocks": [{}]}}
    deep.config = {"model": {"arch": "cnn", "hidden": [8, 8, 8], "blocks": [{}] * 8}}
    text = compare_runs("shallow", shallow, "deep", deep)[0]
    assert text.startswith("The deep net (8 conv layers, 147 parameters)"), text
    assert "the shallow net (1 conv layer, 99 parameters)" in text


def test_a_wave_cnn_is_described_by_its_conv_layers_not_the_mlp_default():
    spec = history([0.5], [0.4], depth=1, params=150, elapsed=1.0)
    wave = history([0.2], [0.2], depth=1, params=40, elapsed=2.0)
    spec.config = {"data": {"name": "tones"}, "model": {"arch": "cnn", "blocks": [{}] * 8}}
    wave.config = {
        "data": {"name": "tones", "features": "wave"},
        "model": {"arch": "cnn1d", "hidden": [8, 8, 8], "layers": 3},
    }
    text = compare_runs("spectrogram", spec, "wave", wave)[0]
    assert text.startswith("The wave net (4 conv layers, 40 parameters)"), text
    assert "the spectrogram net (8 conv layers, 150 parameters)" in text


def test_about_the_same_loss_is_said_so():
    a = history([0.300], [0.29], depth=1, params=42, elapsed=1.0)
    b = history([0.310], [0.30], depth=6, params=402, elapsed=1.0)
    assert "Both reached about the same test loss" in compare_runs("shallow", a, "deep", b)[0]


def test_overfitting_is_found_from_a_rising_test_loss():
    h = history([0.5, 0.3, 0.35, 0.45], [0.5, 0.2, 0.1, 0.05], depth=6, params=402, elapsed=1.0)
    note = overfitting(h)
    assert note and "lowest at epoch 2 (0.300)" in note and "rose to 0.450" in note
    text = compare_runs("shallow", history([0.4], [0.4], depth=1, params=42, elapsed=1), "deep", h)
    assert any(s.startswith("The deep net: its test loss was lowest at epoch 2") for s in text)


def test_overfitting_is_found_from_a_train_test_gap():
    h = history([0.5, 0.5], [0.2, 0.1], depth=1, params=42, elapsed=1.0)  # 95% train, 75% test
    note = overfitting(h)
    assert "right on 95% of its training data but 75% of the test data (20 points less" in note
    assert overfitting(history([0.31, 0.30], [0.3, 0.29], depth=1, params=42, elapsed=1.0)) is None


def test_a_97_percent_network_with_a_point_or_two_of_gap_does_not_overfit():
    # The Image lab's Deep preset on shapes: 99% train, 97% test, and a test loss that wobbles
    # up a little from its best (0.08 to 0.11) at the end: the ordinary noise of a test set.
    h = history(
        [0.9, 0.3, 0.12, 0.08, 0.09, 0.11],
        [0.9, 0.25, 0.08, 0.05, 0.04, 0.03],
        depth=8,
        params=120_000,
        elapsed=10.0,
        test_acc=[0.6, 0.9, 0.95, 0.97, 0.97, 0.97],
        train_acc=[0.6, 0.92, 0.97, 0.98, 0.99, 0.99],
    )
    assert overfitting(h) is None
    # the same test loss rising far above its minimum, with accuracy falling: that overfits
    h = history(
        [0.9, 0.3, 0.12, 0.08, 0.2, 0.35],
        [0.9, 0.25, 0.08, 0.05, 0.02, 0.01],
        depth=8,
        params=120_000,
        elapsed=10.0,
        test_acc=[0.6, 0.9, 0.95, 0.97, 0.94, 0.92],
        train_acc=[0.6, 0.92, 0.97, 0.98, 1.0, 1.0],
    )
    note = overfitting(h)
    assert note and "lowest at epoch 4 (0.080) and rose to 0.350" in note
    assert "train loss kept falling (0.050 to 0.010)" in note
    # a rising test loss while the train loss rises too is not overfitting (training is off)
    h = history([0.3, 0.2, 0.5], [0.3, 0.2, 0.45], depth=1, params=4, elapsed=1.0)
    assert overfitting(h) is None


def test_a_stopped_run_is_not_compared():
    stopped = history([0.5, 0.3], [0.5, 0.3], depth=6, params=402, elapsed=1.0, status="stopped")
    stopped.total_epochs = 10
    done = history([0.4] * 10, [0.4] * 10, depth=1, params=42, elapsed=1.0)
    text = compare_runs("shallow", done, "deep", stopped)
    assert text == [
        "The deep run was stopped after 2 of 10 epochs.",
        "Train both to the end to compare them.",
    ]


def test_a_diverged_run_is_reported_and_nothing_is_made_up():
    bad = history([], [], depth=6, params=402, elapsed=0.1, status="diverged")
    bad.message = "Training diverged in epoch 1"
    good = history([0.3], [0.3], depth=1, params=42, elapsed=1.0)
    text = compare_runs("shallow", good, "deep", bad)
    assert text == ["The deep run diverged: Training diverged in epoch 1"]


def test_gradient_readings():
    from dlviz.compare import gradient_reading

    assert gradient_reading([1e-9, 1e-5, 1e-2]).startswith(
        "Vanishing gradients: the first layer's gradient is 10⁷x smaller"
    )
    assert gradient_reading([1e-6, 1e-4, 1e-2]).startswith(
        "Vanishing gradients: the first layer's gradient is 10⁴x smaller"
    )
    assert gradient_reading([5e-5, 1e-3, 1e-2]).startswith(
        "Gradients weaken toward the input: the first layer's is 200x"
    )
    assert gradient_reading([0.1, 0.2, 0.1]).startswith(
        "Gradients reach every layer at similar strength (within 2x of each other)"
    )
    # The Playground's default network after a while: the hidden layers get 78x the output
    # layer's gradient. Nothing vanishes, but "similar strength" would not be true.
    text = gradient_reading([0.5, 0.9, 0.4, 0.0115])
    assert "similar strength" not in text and "nothing vanishes" in text
    assert "the first layer's is 43x larger than the output layer's" in text and "78x" in text
    assert "dead" in gradient_reading([0.0, 0.0, 0.0])
    assert "dead ReLUs" in gradient_reading([0.0, 0.01, 0.1])
    assert gradient_reading([1e-6, 1e-4, 1e-2]).endswith(
        "Try residual connections or normalisation."  # not "try relu" on a ReLU network
    )
    assert "NaN" in gradient_reading([float("nan"), 0.1])
    assert "Very large" in gradient_reading([500.0, 1.0])
    assert gradient_reading([]).startswith("Gradient norms appear")


def test_race_reading_names_the_faster_device_and_the_factor():
    from types import SimpleNamespace

    from dlviz.compare import race_reading

    def h(elapsed, sps, acc):
        return SimpleNamespace(
            status="finished", epoch=10, elapsed=elapsed, samples_per_second=sps,
            final={"test_accuracy": acc},
        )  # fmt: skip

    text = race_reading(["on cpu", "on cuda:0"], [h(40.0, 500, 0.91), h(4.0, 5000, 0.912)])
    assert text[0] == (
        "on cuda:0 finished 10 epochs in 4.0 s, on cpu in 40.0 s: on cuda:0 was 10.0x faster "
        "(5,000 against 500 samples a second)."
    )
    assert text[1].endswith("- the same result, sooner.")
    assert race_reading(["a", "b"], [h(1, 1, 0.5), SimpleNamespace(status="stopped")]) == []


@pytest.mark.parametrize(
    "activation, says, never",
    [
        ("relu", "A ReLU passes the gradient back only where it is active", "sigmoid"),
        ("sigmoid", "by its slope, at most 0.25", "ReLU"),
        ("tanh", "at most 1 and near 0 where units saturate", "ReLU"),
    ],
)
def test_gradient_readings_are_about_the_networks_own_activation(activation, says, never):
    from dlviz.compare import gradient_reading

    vanishing = gradient_reading([1e-14, 1e-8, 1e-2], activation)
    assert vanishing.startswith("Vanishing gradients") and says in vanishing
    assert never not in vanishing
    stopped = gradient_reading([0.0, 1e-5, 1e-2], activation)  # none reaches the first layer
    assert ("dead ReLUs" in stopped) == (activation == "relu")
    dead = gradient_reading([0.0, 0.0, 0.0], activation)
    assert ("saturated" in dead) == (activation != "relu")


def test_a_32_layer_sigmoid_network_is_not_explained_by_dead_relus():
    from dlviz.compare import gradient_reading

    # what the Runs page showed for the depth experiment's deepest sigmoid network
    norms = [0.0] * 10 + [10.0 ** -(30 - i) for i in range(22)] + [0.01]
    text = gradient_reading(norms, "sigmoid")
    assert "ReLU" not in text and "slope (at most 0.25)" in text
    assert "smallest 32-bit float" in text


def test_frozen_layers_are_said_to_be_frozen_not_dead():
    from dlviz.compare import frozen_layers, gradient_reading

    config = {"transfer": {"backbone": "dlviz-shapes32", "strategy": "frozen"}}
    assert frozen_layers(config, 7) == 6
    top = {"transfer": {"backbone": "x", "strategy": "finetune_top", "top_blocks": 2}}
    assert frozen_layers(top, 7) == 4 and frozen_layers({}, 7) == 0
    text = gradient_reading([0.0] * 6 + [0.2], "relu", frozen=6)
    assert "dead" not in text and "The first 6 layers are frozen" in text


def test_the_image_labs_deep_net_at_97_percent_is_not_called_overfitting():
    # The Image lab's defaults, measured (shapes, 10 epochs): the deep net's test loss was
    # lowest at epoch 9 (0.024, 100% of the sampled test images) and ended at 0.118 (96.9%),
    # with 97.9% on its training data. A wobble, not overfitting.
    h = history(
        [1.904, 0.568, 1.895, 0.257, 1.33, 4.552, 0.164, 0.221, 0.024, 0.118],
        [1.8, 0.55, 1.7, 0.25, 1.2, 4.0, 0.15, 0.2, 0.07, 0.06],
        depth=8,
        params=146_742,
        elapsed=229.0,
        test_acc=[0.281, 0.656, 0.467, 0.891, 0.656, 0.298, 0.969, 0.891, 1.0, 0.969],
        train_acc=[0.3, 0.66, 0.5, 0.9, 0.66, 0.3, 0.97, 0.9, 0.98, 0.979],
    )
    assert overfitting(h) is None
    # its shallow partner: 99.5% on its training data, 56% on the test set: that overfits
    shallow = history(
        [1.43, 1.225, 1.086, 1.234, 1.416],
        [1.2, 0.9, 0.537, 0.2, 0.068],
        depth=1,
        params=98_726,
        elapsed=29.7,
        test_acc=[0.484, 0.562, 0.609, 0.496, 0.561],
        train_acc=[0.5, 0.7, 0.85, 0.97, 0.995],
    )
    assert "train accuracy 99.5%, test accuracy 56%: it overfits" in overfitting(shallow)
