"""The length experiment: its ladder of configs (same data seed and step budget for every run),
a result read from a history made by hand, the reading and captions on hand-made results (each
sentence true for them), and a tiny experiment run end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlviz import jobs
from dlviz.config import ConfigError
from dlviz.data import load_dataset
from dlviz.history import RunHistory
from dlviz.labs.sequences.lengths import (
    CHANCE,
    LengthExperiment,
    LengthResult,
    above_chance,
    accuracy_caption,
    first_step_share,
    forget_caption,
    gradient_caption,
    open_share,
    reading,
)
from dlviz.sequence_probe import SequenceSnapshot
from dlviz.train import batch_bounds

nan = math.nan


# --- the ladder -----------------------------------------------------------------------------------


def test_the_ladder_runs_every_network_at_each_length_from_short_to_long():
    exp = LengthExperiment(lengths=(20, 5), archs=("lstm", "rnn"), hidden_size=16, seed=3)
    ladder = exp.configs()
    assert [(a, n) for a, n, _ in ladder] == [("lstm", 5), ("rnn", 5), ("lstm", 20), ("rnn", 20)]
    for arch, length, cfg in ladder:
        assert cfg.name == f"{arch} length {length}"
        assert (cfg.model.arch, cfg.model.hidden_size) == (arch, 16)
        assert cfg.model.forget_bias == 1.0  # the model's own default
        assert (cfg.data.name, cfg.data.length, cfg.data.seed) == ("temporal_order", length, 3)
        assert cfg.data.n_samples == exp.n_samples
        t = cfg.train
        assert (t.seed, t.lr, t.batch_size, t.clip) == (3, exp.lr, exp.batch_size, exp.clip)
    assert exp.chance == CHANCE["temporal_order"] == 0.25
    assert LengthExperiment(task="recall", lengths=(10,)).chance == 0.1


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # the defaults
        {"task": "recall", "lengths": (5, 10, 20, 50), "n_samples": 777, "batch_size": 50},
        {"lengths": (7, 200), "steps": 90, "n_samples": 300, "batch_size": 16},
    ],
)
def test_every_run_takes_the_step_budget_to_within_an_epoch(kwargs):
    exp = LengthExperiment(**kwargs)
    for _, _, cfg in exp.configs():
        data = load_dataset(cfg.data)  # as the run will load and split it
        per_epoch = len(batch_bounds(len(data.x_train), cfg.train.batch_size))
        assert per_epoch == exp.steps_per_epoch(cfg.data.length)
        assert abs(per_epoch * cfg.train.epochs - exp.steps) <= per_epoch / 2


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"task": "parity"}, "task"),
        ({"lengths": ()}, "lengths"),
        ({"lengths": (5, 5)}, "lengths"),
        ({"lengths": (5.5,)}, "lengths"),
        ({"lengths": (300,)}, "data.length"),
        ({"lengths": (3,)}, "data.length"),  # temporal_order needs 4
        ({"task": "recall", "lengths": (10, 100)}, "data.length"),  # 26 keys: at most 54
        ({"archs": ()}, "archs"),
        ({"archs": ("rnn", "rnn")}, "archs"),
        ({"archs": ("cnn1d",)}, "archs"),
        ({"steps": 0}, "steps"),
        ({"steps": 1.5}, "steps"),
        ({"hidden_size": 0}, "model.hidden_size"),
        ({"hidden_size": 33}, "model.heads"),  # a transformer's 2 heads must divide it
        ({"n_samples": 5}, "data.n_samples"),
        ({"lr": 0.0}, "train.lr"),
        ({"batch_size": 0}, "train.batch_size"),
        ({"clip": -1.0}, "train.clip"),
        ({"seed": -1}, "train.seed"),
        ({"device": "tpu"}, "train.device"),
    ],
)
def test_bad_settings_name_their_field(kwargs, field):
    with pytest.raises(ConfigError) as err:
        LengthExperiment(**kwargs)
    assert err.value.field == field


# --- one run's result -----------------------------------------------------------------------------


def snap(step: int, grads, forget=None, saturated=0.0) -> SequenceSnapshot:
    """A snapshot of an LSTM's first layer: its gradient per step and its forget gate (its
    mean at each step, and the share `saturated` of its values at every step)."""
    t = len(grads)
    gates = {} if forget is None else {"forget": {"mean": np.asarray(forget, np.float32),
                                                  "saturated": np.full(t, saturated, np.float32)}}  # fmt: skip
    return SequenceSnapshot(
        step=step, epoch=0, example=0, tokens=("a",) * t, values=None, target="XY",
        prediction="XY", confidence=0.9, forecast=None, layers=("lstm1",),
        states={"lstm1": np.zeros((4, t), np.float16)}, gates={"lstm1": gates},
        grad_steps={"lstm1": np.asarray(grads, np.float32)},
    )  # fmt: skip


def history(status: str | None) -> RunHistory:
    """An LSTM's run at length 4: started, two snapshots, one epoch, and ended with `status`
    (None: still running)."""
    h = RunHistory()
    h.apply({"type": "start", "config": {"data": {"name": "temporal_order", "length": 4}},
             "device": "cpu", "params": 1, "layers": ["lstm1"], "total_epochs": 1,
             "steps_per_epoch": 10})  # fmt: skip
    h.apply({"type": "seq", "snapshot": snap(0, [1e-3, 1e-2, 0.1, 1.0], [0.7, 0.75, 0.7, 0.75])})
    h.apply({"type": "seq", "snapshot": snap(10, [0.05, 0.1, 0.2, 0.5], [0.9, 1.0, 0.95, 0.95])})
    if status is None:
        return h
    h.apply({"type": "epoch", "epoch": 1, "step": 10, "elapsed": 2.0, "samples_per_second": 1,
             "train_loss": 0.1, "train_accuracy": 0.99, "test_loss": 0.2, "test_accuracy": 0.96,
             "test_samples": 600, "grad_norms": {"lstm1": 0.1}})  # fmt: skip
    h.apply({"type": "end", "status": status, "summary": {"seconds": 2.5}})
    return h


def test_a_result_reads_accuracy_and_the_first_step_gradient_at_start_and_end():
    r = LengthResult.from_history("lstm", 4, history("finished"))
    assert r.finished and r.status == "finished" and r.task == "temporal_order"
    assert (r.test_accuracy, r.train_accuracy, r.seconds, r.n_test) == (0.96, 0.99, 2.5, 600)
    assert r.initial_gradient == pytest.approx(1e-3 / 1.0)  # the first snapshot, step 0
    assert r.first_step_gradient == pytest.approx(0.05 / 0.5)  # the last snapshot
    assert r.initial_keep_gate == pytest.approx(0.725)
    assert r.keep_gate == pytest.approx(0.95)
    # the chart draws the gradient at initialisation
    assert r.row() == {"arch": "lstm", "length": 4, "status": "finished",
                       "test_accuracy": 0.96, "first_step_gradient": r.initial_gradient}  # fmt: skip


@pytest.mark.parametrize("status", [None, "stopped", "diverged"])
def test_a_run_that_did_not_finish_has_no_numbers(status):
    r = LengthResult.from_history("lstm", 4, history(status))
    assert not r.finished
    assert all(math.isnan(v) for v in (r.test_accuracy, r.first_step_gradient,
                                       r.initial_gradient, r.seconds, r.keep_gate))  # fmt: skip
    assert math.isnan(r.row()["test_accuracy"]) and math.isnan(r.row()["first_step_gradient"])


def test_the_first_step_share_is_nan_without_a_gradient_at_the_last_step():
    assert first_step_share(snap(0, [0.0, 1e-40, 2.0])) == 0.0
    assert math.isnan(first_step_share(snap(0, [0.1, 0.0])))
    empty = snap(0, [1.0])
    assert math.isnan(first_step_share(SequenceSnapshot(**{**empty.__dict__, "grad_steps": {}})))


# --- the reading ----------------------------------------------------------------------------------


def res(arch, length, acc, init=nan, trained=nan, status="finished", keep=nan, keep0=nan,
        task="temporal_order", n_test=1800):  # fmt: skip
    return LengthResult(arch, length, status, acc, trained, init, 1.0, n_test, task, keep, keep0)


LENGTHS = (5, 10, 20, 50, 100)


def known_result() -> list[LengthResult]:
    """What the defaults give: the RNN falls to chance at 50, the LSTM holds at every length,
    the GRU up to 50, the Transformer does not care."""
    rnn = [(1.0, 4.6e-2, 2.3e-2), (1.0, 9.6e-4, 2e-2), (1.0, 4.6e-7, 1.6e-4),
           (0.253, 7.9e-17, 9.3e-7), (0.246, 0.0, 6.2e-9)]  # fmt: skip
    lstm_init = (4.4e-2, 1.3e-2, 1.3e-3, 9.4e-6, 4.9e-9)
    out = [res("rnn", n, a, i, t) for n, (a, i, t) in zip(LENGTHS, rnn)]
    out += [
        res("lstm", n, 1.0, g, 1.5e-2, keep=0.97, keep0=0.73) for n, g in zip(LENGTHS, lstm_init)
    ]
    gru = zip(LENGTHS, (1.0, 1.0, 1.0, 0.999, 0.247), (9.5e-2, 7e-3, 8.6e-5, 5.4e-10, 1e-18))
    out += [res("gru", n, a, g, keep0=0.50) for n, a, g in gru]
    out += [res("transformer", n, a, 1.05) for n, a in zip(LENGTHS, (1.0, 1.0, 0.998, 1.0, 1.0))]
    return out


def test_the_reading_of_the_known_result():
    text = reading(known_result())
    assert text[0] == (
        "RNN: clearly above chance up to length 20 (100%), then no better than chance (25%): "
        "25% at length 50, 25% at length 100."
    )
    assert (
        text[1] == "LSTM: clearly above chance (25%) at every length from 5 to 100, 100% at each."
    )
    assert text[2] == (
        "GRU: clearly above chance up to length 50 (100%), then no better than chance (25%): "
        "25% at length 100."
    )
    assert text[3] == (
        "Transformer: clearly above chance (25%) at every length from 5 to 100, 100% at each."
    )
    assert text[4].startswith(
        "Where the plain RNN falls to chance, at length 50 (25%), the LSTM is right on 100% and "
        "the GRU on 100%. The RNN passes its state through the same weights and a tanh"
    )
    assert "the first marker survives the gap (Hochreiter and Schmidhuber, 1997)." in text[4]
    assert text[5] == (
        "The share of the gradient at the last step that reaches the first, at initialisation, "
        "from length 5 to 100: from 4.6e-02 to 0 (too small for a 32-bit float) for the RNN, "
        "from 4.4e-02 to 4.9e-09 for the LSTM. At length 100 none of it reaches the RNN's first "
        "step."
    )
    assert text[6] == (
        "After training, at length 100: 1.5e-02 for the LSTM, 6.2e-09 for the RNN; the LSTM's "
        "forget gate, averaged over the steps, rose from 0.73 to 0.97 (1 keeps the cell as it "
        "was)."
    )
    assert text[7] == (
        "The GRU is at chance at length 100, where the LSTM is not (100%): at initialisation "
        "its update gate keeps 0.50 of its state a step on average, the LSTM's forget gate 0.73 "
        "of its cell, so the share of the gradient reaching its first step starts 10¹⁰x smaller "
        "(1.0e-18 against 4.9e-09)."
    )
    assert text[8].startswith(
        "The Transformer's accuracy barely changes from length 5 to 100 (100% at each). "
        "Attention reaches any position in one step, so the first marker is one step from the "
        "answer however long the sequence is"
    )
    assert text[8].endswith("reaches the first position is 1.05 at length 100.")
    assert len(text) == 9


def test_the_gradient_sentence_gives_the_factor_when_the_rnns_did_not_underflow():
    rows = [res("rnn", 5, 1.0, 1e-2), res("rnn", 50, 0.25, 1e-12),
            res("lstm", 5, 1.0, 1e-2), res("lstm", 50, 1.0, 1e-5)]  # fmt: skip
    text = reading(rows)
    assert "at length 50 the RNN's is 10⁷x smaller." in text[3]
    assert not any(s.startswith("After training") for s in text)  # no trained values given


def test_everything_at_chance_says_nothing_was_learned():
    rows = [
        res(a, n, 0.25 + d, 1e-3, 1e-3)
        for a in ("rnn", "lstm")
        for n, d in ((5, 0.01), (10, -0.01))
    ]
    text = reading(rows)
    assert text == [
        "RNN: no better than chance (25%) at any length: 26% at length 5, 24% at length 10.",
        "LSTM: no better than chance (25%) at any length: 26% at length 5, 24% at length 10.",
        "No network learned at any length: with this budget none got past guessing. Try more "
        "steps per run or another learning rate.",
    ]
    assert accuracy_caption(rows) == (
        "Test accuracy, chance 25% dotted: RNN at chance from length 5; LSTM at chance from "
        "length 5."
    )


def test_an_experiment_stopped_half_way_reads_only_the_runs_that_finished():
    rows = [
        res("rnn", 5, 1.0, 4e-2), res("lstm", 5, 1.0, 4e-2), res("rnn", 10, 0.97, 1e-3),
        res("lstm", 10, nan, status="stopped"), res("rnn", 20, nan, status="queued"),
        res("lstm", 20, nan, status="queued"),
    ]  # fmt: skip
    assert reading(rows) == [
        "RNN: clearly above chance (25%) at every length from 5 to 10, between 97% and 100%.",
        "LSTM: clearly above chance (25%) at length 5, 100%.",
    ]
    assert reading([res("rnn", 5, nan, status="stopped")]) == []
    assert accuracy_caption([]) == "Each point appears when its run has finished."


def test_a_diverged_run_is_left_out():
    rows = [res("gru", n, a) for n, a in ((5, 1.0), (20, 0.99), (100, 0.25))]
    rows.insert(2, res("gru", 50, nan, status="diverged"))
    text = reading(rows)
    assert text[0] == (
        "GRU: clearly above chance up to length 20 (99%), then no better than chance (25%): "
        "25% at length 100."
    )
    assert "50" not in text[0]


def test_a_network_that_comes_back_above_chance_is_read_length_by_length():
    rows = [res("rnn", 5, 0.9), res("rnn", 10, 0.25), res("rnn", 20, 0.6), res("rnn", 50, 0.2)]
    assert reading(rows)[0] == (
        "RNN: clearly above chance (25%) at lengths 5 and 20, no better than chance at lengths "
        "10 and 50."
    )


def test_clearly_above_chance_means_beyond_the_margin_of_guessing():
    assert not above_chance(res("rnn", 5, 0.26))  # within 2 points
    assert above_chance(res("rnn", 5, 0.28))
    assert not above_chance(res("rnn", 5, 0.30, n_test=100))  # 2 standard errors: 8.7 points
    assert above_chance(res("rnn", 5, 0.14, task="recall"))  # chance 10%


def test_a_transformer_whose_accuracy_moves_is_not_called_flat():
    rows = [res("transformer", n, a) for n, a in ((5, 1.0), (50, 0.8), (100, 0.9))]
    assert reading(rows)[-1] == (
        "The Transformer's accuracy changes with length from length 5 to 100: between 80% (at "
        "length 50) and 100%."
    )


def test_the_recall_task_reads_against_its_own_chance():
    rows = [res(a, 20, acc, task="recall") for a, acc in (("rnn", 0.11), ("lstm", 0.9))]
    text = reading(rows)
    assert text[0] == "RNN: no better than chance (10%) at any length: 11% at length 20."
    assert text[1] == "LSTM: clearly above chance (10%) at length 20, 90%."


# --- the captions ---------------------------------------------------------------------------------


def test_the_captions_say_what_is_drawn():
    rows = known_result()
    assert accuracy_caption(rows) == (
        "Test accuracy, chance 25% dotted: RNN above chance up to 20, at chance at 50; LSTM above "
        "chance at every length; GRU above chance up to 50, at chance at 100; "
        "Transformer above chance at every length."
    )
    # while the longest transformer run still trains, its line is "so far"
    going = [
        r
        if (r.arch, r.length) != ("transformer", 100)
        else res("transformer", 100, float("nan"), status="running")
        for r in rows
    ]
    assert accuracy_caption(going).endswith("Transformer above chance at every length so far.")
    grad = gradient_caption(rows)
    assert grad.startswith("Drawn at initialisation, before any step")
    assert grad.endswith(
        "Reaching the first step: RNN 0 (too small for a 32-bit float) at 100, LSTM 4.9e-09 at "
        "100, GRU 1.0e-18 at 100, Transformer 1.05 at 100."
    )
    # a mean of 0.81 with 41% of values under 0.05 or over 0.95: at least 24% are over 0.95
    held = snap(1584, [0.1] * 5, forget=[0.82, 0.81, 0.7, 0.86, 0.86], saturated=0.41)
    assert forget_caption(held, 5) == (
        "At length 5, after step 1,584: the forget gate averages 0.81 over its units and the "
        "steps (1 keeps the cell as it was, 0 erases it), lowest 0.70 at step 2; at least 24% of "
        "its values are wide open, above 0.95: a unit held open keeps what its cell holds, and "
        "passes the gradient back, across the gap."
    )
    assert open_share(0.81, 0.41) == pytest.approx((0.81 - 0.05 * 0.41 - 0.95 * 0.59) / 0.95)
    leaky = snap(10, [0.1] * 3, forget=[0.7, 0.72, 0.74])
    assert forget_caption(leaky, 3) == (
        "At length 3, after step 10: the forget gate averages 0.72 over its units and the steps "
        "(1 keeps the cell as it was, 0 erases it); under 5% of its values are saturated, so "
        "every unit's cell loses at least 5% of itself a step and fades over a long gap."
    )
    mixed = snap(10, [0.1] * 3, forget=[0.5, 0.5, 0.5], saturated=0.3)
    assert forget_caption(mixed, 3).endswith(
        "; 30% of its values are saturated, shut or wide open."
    )
    assert forget_caption(snap(10, [0.1] * 3), 3).startswith("The LSTM's gates appear")


# --- a tiny experiment, end to end ----------------------------------------------------------------


def test_a_tiny_experiment_runs_and_yields_results():
    exp = LengthExperiment(
        lengths=(5, 8), archs=("rnn", "lstm"), hidden_size=8, steps=200, n_samples=400,
        batch_size=32, lr=0.01, device="cpu",
    )  # fmt: skip
    handles = []
    for _, _, cfg in exp.configs():
        handles.append(jobs.start(cfg, after=handles[-1] if handles else None, label=cfg.name))
    results = [
        LengthResult.from_history(a, n, h.wait(60)) for (a, n, _), h in zip(exp.configs(), handles)
    ]
    assert [(r.arch, r.length, r.status) for r in results] == [
        ("rnn", 5, "finished"), ("lstm", 5, "finished"),
        ("rnn", 8, "finished"), ("lstm", 8, "finished"),
    ]  # fmt: skip
    for r, h in zip(results, handles):
        assert 0 <= r.test_accuracy <= 1 and 110 <= r.n_test <= 130
        assert 0 < r.initial_gradient and 0 <= r.first_step_gradient
        steps = h.history.steps_per_epoch * h.history.total_epochs
        assert abs(steps - 200) <= h.history.steps_per_epoch / 2
    assert all(isinstance(s, str) and s for s in reading(results))
    assert math.isfinite(results[1].keep_gate) and math.isnan(results[0].keep_gate)
