from dlviz.compare import compare_runs, overfitting
from dlviz.history import RunHistory


def history(test_losses, train_losses, *, depth, params, elapsed, sps=1000.0, status="finished"):
    h = RunHistory(status=status, config={"model": {"hidden": [8] * depth}}, params=params)
    h.elapsed, h.samples_per_second = elapsed, sps
    for i, (te, tr) in enumerate(zip(test_losses, train_losses), start=1):
        h.epochs.append(
            epoch=i,
            step=i * 10,
            elapsed=i * 0.1,
            train_loss=tr,
            train_accuracy=1 - tr / 2,
            test_loss=te,
            test_accuracy=1 - te / 2,
        )
    h.epoch = len(test_losses)
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
    h = history([0.5, 0.5], [0.2, 0.1], depth=1, params=42, elapsed=1.0)
    assert "far above its train loss" in overfitting(h)
    assert overfitting(history([0.31, 0.30], [0.3, 0.29], depth=1, params=42, elapsed=1.0)) is None


def test_a_diverged_run_is_reported_and_nothing_is_made_up():
    bad = history([], [], depth=6, params=402, elapsed=0.1, status="diverged")
    bad.message = "Training diverged in epoch 1"
    good = history([0.3], [0.3], depth=1, params=42, elapsed=1.0)
    text = compare_runs("shallow", good, "deep", bad)
    assert text == ["The deep run diverged: Training diverged in epoch 1"]


def test_gradient_readings():
    from dlviz.compare import gradient_reading

    assert gradient_reading([1e-9, 1e-5, 1e-2]).startswith(
        "Vanishing gradients: the first layer's gradient is 10^7 times smaller"
    )
    assert gradient_reading([1e-6, 1e-4, 1e-2]).startswith(
        "Vanishing gradients: the first layer's gradient is 10,000x smaller"
    )
    assert gradient_reading([5e-5, 1e-3, 1e-2]).startswith(
        "Gradients weaken toward the input: the first layer's is 200x"
    )
    assert gradient_reading([0.1, 0.2, 0.1]).startswith(
        "Gradients reach every layer at similar strength"
    )
    assert "dead" in gradient_reading([0.0, 0.0, 0.0])
    assert "dead ReLUs" in gradient_reading([0.0, 0.01, 0.1])
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
