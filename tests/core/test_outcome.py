"""What a run's end says it learned: dead, at chance or fine, from what the run records; and the
plurals every count is written with."""

from __future__ import annotations

import numpy as np
import pytest

from dlviz import jobs, outcome
from dlviz.config import RunConfig
from dlviz.history import RunHistory
from dlviz.text import counted, plural


def test_plural():
    assert plural(1, "class") == "1 class" and plural(2, "class") == "2 classes"
    assert plural(0, "image") == "0 images" and plural(1797, "image") == "1,797 images"
    assert plural(3, "epoch") == "3 epochs" and plural(2, "batch") == "2 batches"
    assert plural(2, "entry") == "2 entries" and plural(2, "day") == "2 days"
    assert plural(1, "run", "runs") == "1 run" and plural(2, "person", "people") == "2 people"
    assert plural(12000, "step", sep="") == "12000 steps"
    assert counted(1, "is") == "is" and counted(4, "is") == "are"


def test_chance_is_the_most_common_test_class_and_never_below_one_in_n():
    assert outcome.chance_level([0, 0, 0, 1], 2) == (0.75, 0)
    assert outcome.chance_level([0, 1, 2, 3], 4) == (0.25, 0)
    assert outcome.chance_level([], 5)[0] == pytest.approx(0.2)
    # two standard errors of the chance accuracy on the test set, at least 2 points
    assert outcome.margin(0.5, 300) == pytest.approx(2 * (0.25 / 300) ** 0.5)
    assert outcome.margin(0.1, 10**6) == outcome.MIN_MARGIN


def judge(test, train=None, **kw):
    final = {"test_accuracy": test, "train_accuracy": test if train is None else train}
    args = {"n_classes": 2, "chance": 0.5, "chance_class": '"class 0"', "n_test": 300} | kw
    return outcome.judge(final, **args)


def test_a_run_at_chance_says_it_learned_nothing():
    verdict = judge(0.52)
    assert verdict.kind == "chance" and verdict.bad
    assert "learned nothing: test accuracy 52% is no better than chance" in verdict.message
    assert "guessing among 2 classes gets 50%" in verdict.message
    assert judge(0.60).kind == "ok" and judge(0.60).message == ""  # 3.5 standard errors above
    # an imbalanced test set: always answering the big class is the baseline
    lopsided = judge(0.80, n_classes=2, chance=0.8, chance_class='"cat"', n_test=100)
    assert lopsided.kind == "chance"
    assert 'always answering "cat" would be right on 80% of the test set' in lopsided.message


def test_a_run_that_fits_its_training_data_but_tests_at_chance_did_not_generalise():
    verdict = judge(0.53, train=0.97, n_test=30)
    assert verdict.kind == "chance" and "did not generalise: right on 97%" in verdict.message


def test_a_dead_network_is_named_from_its_gradients_or_its_dead_layer():
    zero = {"hidden1": 0.0, "hidden2": 0.0, "output": 0.0}
    verdict = judge(0.5, grad_norms=zero)
    assert verdict.kind == "dead" and "no weight gets any gradient" in verdict.message
    assert "(its ReLUs are dead)" in verdict.message
    assert "saturated" in judge(0.5, grad_norms=zero, activation="sigmoid").message
    layer = judge(0.5, dead={"conv1": 0.2, "conv2": 1.0}, grad_norms={"conv1": 0.1})
    assert layer.kind == "dead" and "every unit of conv2 outputs zero" in layer.message
    # a dead layer a residual connection goes around does not kill the network
    assert judge(0.9, dead={"conv2": 1.0}, residual=True).kind == "ok"
    # frozen layers (transfer learning) get no gradient on purpose
    assert judge(0.9, grad_norms={"conv1": 0.0, "output": 0.0}, frozen=True).kind == "ok"


def test_dead_units_of_a_2d_run_are_read_from_its_neuron_maps():
    alive = np.ones((8, 4, 4))
    dead = np.zeros((8, 4, 4))
    shares = outcome.dead_shares_2d({"hidden1": alive, "hidden2": dead}, (8, 8))
    assert shares == {"hidden1": 0.0, "hidden2": 1.0}
    # a layer of which the snapshot holds only some units tells nothing
    assert outcome.dead_shares_2d({"hidden1": dead[:4]}, (32,)) == {}


def test_every_finished_run_records_its_verdict():
    dead = RunConfig.from_dict(
        {"data": {"n_samples": 200}, "train": {"lr": 10, "epochs": 3, "device": "cpu"}}
    )
    end = jobs.execute(dead, emit=lambda e: None)
    assert end["status"] == "finished" and end["outcome"]["kind"] == "dead"
    good = RunConfig.from_dict(
        {"data": {"name": "gauss", "n_samples": 200}, "train": {"epochs": 5, "device": "cpu"}}
    )
    end = jobs.execute(good, emit=lambda e: None)
    assert end["outcome"] == {"kind": "ok", "message": ""}


def test_an_image_run_reads_its_dead_channels_from_the_last_snapshot():
    h = RunHistory()
    h.dead.append(step=1, epoch=1, shares={"conv1": 1.0})
    from types import SimpleNamespace

    cfg = RunConfig.from_dict({"model": {"arch": "cnn", "blocks": [{"channels": 4}]}})
    state = SimpleNamespace(
        metrics={"test_accuracy": 1 / 6, "train_accuracy": 1 / 6},
        grad_norms={"conv1": 0.0, "output": 0.01},
        test_samples=120,
    )
    data = SimpleNamespace(y_test=np.arange(120) % 6, class_names=tuple("abcdef"))
    verdict = outcome.of_run(state, data, cfg, h)
    assert verdict.kind == "dead" and "every unit of conv1" in verdict.message
    assert "guessing among 6 classes gets 17%" in verdict.message
