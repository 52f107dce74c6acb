"""The depth experiment: its ladder of configs, its reading of results, and a tiny ladder run
end to end through the background runner."""

from __future__ import annotations

import math

import pytest

from dlviz import jobs
from dlviz.config import ConfigError, DataConfig, TrainConfig
from dlviz.history import RunHistory
from dlviz.labs.depth.experiment import (
    DepthExperiment,
    DepthResult,
    over_seeds,
    reading,
    result_of,
    seeds_reading,
)


def test_the_ladder_runs_each_variant_from_shallow_to_deep_on_the_same_data():
    exp = DepthExperiment(depths=(4, 1, 2), width=8, variants=("plain", "residual"))
    ladder = exp.configs()
    assert [(v, d) for v, d, _ in ladder] == [
        ("plain", 1), ("plain", 2), ("plain", 4), ("residual", 1), ("residual", 2), ("residual", 4)
    ]  # fmt: skip
    for variant, depth, cfg in ladder:
        assert cfg.model.hidden == (8,) * depth
        assert cfg.model.residual is (variant == "residual")
        assert cfg.model.activation == "relu"
        assert cfg.data == exp.data and cfg.train == exp.train
        assert cfg.name == f"depth {depth} {variant}"
    sig = DepthExperiment(depths=(2,), activation="tanh").configs()
    assert [(v, c.model.activation, c.model.residual) for v, _, c in sig] == [
        ("plain", "tanh", False), ("residual", "tanh", True), ("sigmoid", "sigmoid", False)
    ]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"depths": ()}, "depths"),
        ({"depths": (2, 2)}, "depths"),
        ({"depths": (64,)}, "model.hidden"),
        ({"width": 0}, "model.hidden[0]"),
        ({"variants": ("wide",)}, "variants"),
        ({"variants": ()}, "variants"),
        ({"activation": "swish"}, "model.activation"),
    ],
)
def test_bad_settings_name_their_field(kwargs, field):
    with pytest.raises(ConfigError) as err:
        DepthExperiment(**kwargs)
    assert err.value.field == field


def r(variant, depth, train, first=math.nan, last=0.2, activation="relu"):
    act = "sigmoid" if variant == "sigmoid" else activation
    return DepthResult(variant, depth, "finished", train, train, first, last, 1.0, (), act)


def test_the_reading_names_degradation_and_vanishing_gradients():
    results = [
        r("plain", 1, 0.63, 1e-1), r("plain", 4, 0.85, 4e-1), r("plain", 16, 0.50, 1e-9),
        r("plain", 32, 0.50, 4e-17),
        r("residual", 1, 0.63), r("residual", 4, 0.84), r("residual", 16, 0.97),
        r("residual", 32, 0.95),
        r("sigmoid", 1, 0.6, 1e-2), r("sigmoid", 32, 0.5, 0.0),
    ]  # fmt: skip
    text = reading(results)
    assert text[0].startswith(
        "Plain: training accuracy is highest at depth 4 (85%) and falls to 50% at depth 32 - "
        "no better than guessing."
    )
    assert text[1].startswith(
        "Residual: training accuracy 95% at depth 32, within 5 points of its best (97% at depth 16)"
    )
    assert text[2].startswith(
        "The plain network's first-layer gradient is 10¹⁵x smaller at depth 32 than at "
        "depth 1. Along that network it shrinks layer by layer toward the input: the output "
        "layer gets 2.0e-01. A ReLU's slope is 1 where it is active and 0 where it is not"
    )
    assert "sigmoid" not in text[2] and "0.25" not in text[2]  # the note of a ReLU network
    assert text[3].startswith(
        "The sigmoid network's first-layer gradient falls from 1.0e-02 at depth 1 to exactly "
        "zero at depth 32 (too small for a 32-bit float). Along that network it shrinks layer "
        "by layer toward the input: the output layer gets 2.0e-01. On its way back each layer "
        "multiplies the gradient by its weights and by the sigmoid's slope, which is at most 0.25"
    )
    assert len(text) == 4
    assert reading([]) == []


def test_each_networks_note_is_about_its_own_activation():
    tanh = reading([r("plain", 1, 0.6, 1e-1, activation="tanh"), r("plain", 8, 0.5, 1e-9)])
    assert "slope, at most 1 and near 0 where units saturate" not in tanh[-1]  # depth 8: relu
    tanh = [r("plain", d, 0.6, g, activation="tanh") for d, g in ((1, 1e-1), (8, 1e-9))]
    assert "the tanh's slope, at most 1" in reading(tanh)[-1]
    dead = reading([r("plain", 1, 0.6, 1e-1), r("plain", 8, 0.5, 0.0)])[-1]
    assert "every ReLU outputs zero for every input (they are dead)" in dead


def test_a_stopped_run_has_no_numbers_to_read():
    h = RunHistory()
    h.layers = ["hidden1", "output"]
    h.apply({"type": "start", "config": {}, "device": "cpu", "params": 1,
             "layers": h.layers, "total_epochs": 40, "steps_per_epoch": 1})  # fmt: skip
    h.apply({"type": "epoch", "epoch": 1, "step": 1, "elapsed": 0.5, "samples_per_second": 1,
             "train_loss": 0.5, "train_accuracy": 0.5, "test_loss": 0.6, "test_accuracy": 0.5,
             "grad_norms": {"hidden1": 0.01, "output": 0.3}})  # fmt: skip
    h.apply({"type": "end", "status": "stopped", "message": "Stopped after 1 of 40 epochs."})
    stopped = result_of("plain", 1, h)
    assert stopped.status == "stopped" and not stopped.finished
    assert math.isnan(stopped.train_accuracy) and math.isnan(stopped.first_grad)
    assert reading([stopped]) == []


def test_a_result_comes_from_a_finished_history_and_is_nan_before():
    h = RunHistory()
    h.layers = ["hidden1", "hidden2", "output"]
    h.apply({"type": "start", "config": {}, "device": "cpu", "params": 1,
             "layers": h.layers, "total_epochs": 1, "steps_per_epoch": 1})  # fmt: skip
    running = result_of("plain", 2, h)
    assert math.isnan(running.train_accuracy) and math.isnan(running.first_grad)
    h.apply({"type": "epoch", "epoch": 1, "step": 1, "elapsed": 0.5, "samples_per_second": 1,
             "train_loss": 0.5, "train_accuracy": 0.75, "test_loss": 0.6, "test_accuracy": 0.7,
             "grad_norms": {"hidden1": 0.01, "hidden2": 0.1, "output": 0.3}})  # fmt: skip
    h.apply({"type": "end", "status": "finished", "summary": {"seconds": 0.6}})
    done = result_of("plain", 2, h)
    assert (done.train_accuracy, done.test_accuracy) == (0.75, 0.7)
    assert (done.first_grad, done.last_grad, done.seconds) == (0.01, 0.3, 0.6)


def test_a_tiny_ladder_runs_one_after_another():
    exp = DepthExperiment(
        depths=(1, 3),
        width=4,
        data=DataConfig(name="xor", n_samples=100),
        train=TrainConfig(epochs=2, device="cpu"),
    )
    handles = []
    for _, _, cfg in exp.configs():
        handles.append(jobs.start(cfg, after=handles[-1] if handles else None, label=cfg.name))
    results = [result_of(v, d, h.wait(60)) for (v, d, _), h in zip(exp.configs(), handles)]
    assert [x.status for x in results] == ["finished"] * 6
    assert all(0 <= x.train_accuracy <= 1 and x.first_grad >= 0 for x in results)
    assert [h.history.label for h in handles] == [
        "depth 1 plain", "depth 3 plain", "depth 1 residual", "depth 3 residual",
        "depth 1 sigmoid", "depth 3 sigmoid",
    ]  # fmt: skip
    assert [len(x.profile) for x in results] == [2, 4, 2, 4, 2, 4]
    text = reading(results)
    assert text[0].startswith("Plain: ") and text[1].startswith("Residual: ")


def seeded(variant, depth, seed, train, first=0.1, status="finished"):
    return DepthResult(variant, depth, status, train, train - 0.1, first, 0.2, 1.0,
                       (first, 0.2), "relu", seed)  # fmt: skip


def test_over_seeds_averages_each_rung_with_its_interval():
    rows = [seeded("plain", 16, s, acc) for s, acc in enumerate((0.5, 0.6, 0.7))]
    rows += [seeded("residual", 16, s, acc) for s, acc in enumerate((0.9, 0.95, 0.85))]
    rows += [seeded("residual", 32, 0, 0.8), seeded("residual", 32, 1, math.nan, status="running")]
    plain, res16, res32 = over_seeds(rows)
    assert (plain.n, plain.train_accuracy) == (3, pytest.approx(0.6))
    # by hand: s = 0.1, t(0.975, 2) = 4.302653, half width 0.1 * 4.302653 / sqrt(3) = 0.248414
    assert plain.train_ci == pytest.approx((0.6 - 0.248414, 0.6 + 0.248414), abs=1e-5)
    assert plain.profile == pytest.approx((0.1, 0.2)) and plain.status == "finished"
    assert res16.train_accuracy == pytest.approx(0.9)
    assert (res32.n, res32.train_ci, res32.status) == (1, None, "1 of 2")
    one_seed = [seeded("plain", 2, 0, 0.7)]
    assert over_seeds(one_seed) == one_seed


def test_the_seeds_reading_counts_the_seeds_where_residual_wins():
    rows = [seeded("plain", d, s, 0.5) for d in (2, 16) for s in range(3)]
    rows += [seeded("residual", 2, s, acc) for s, acc in enumerate((0.6, 0.4, 0.45))]
    rows += [seeded("residual", 16, s, 0.9) for s in range(3)]
    assert seeds_reading(rows) == [
        "At depth 2 the residual network beats the plain one in training accuracy in only 1 of "
        "3 seeds (by -2% on average).",
        "At depth 16 the residual network beats the plain one in training accuracy in all 3 "
        "seeds (by +40% on average).",
    ]
    assert seeds_reading([seeded("plain", 2, 0, 0.5), seeded("residual", 2, 0, 0.9)]) == []


def test_a_gap_that_rounds_to_nothing_is_given_to_a_tenth_and_called_even():
    rows = [seeded("plain", 4, 0, 0.50), seeded("residual", 4, 0, 0.51),
            seeded("plain", 4, 1, 0.516), seeded("residual", 4, 1, 0.50)]  # fmt: skip
    (sentence,) = seeds_reading(rows)
    assert sentence.endswith("in only 1 of 2 seeds (by -0.3%, about even on average).")
