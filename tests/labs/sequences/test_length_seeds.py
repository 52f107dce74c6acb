"""The length experiment over seeds: its settings refused with the field named, the ladder for
two seeds (names, training seeds, one data seed), the rows over seeds checked against a mean,
a Student-t interval and medians worked out by hand, the reading's and captions' counts of
seeds (all, most, only some, none) on hand-made results, the charts' error bars, and the
Sequence page run with two seeds."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from support.apptest import charts, values, wait_until_done

from dlviz import runs
from dlviz.config import ConfigError
from dlviz.labs.sequences.figures import length_accuracy_figure, length_gradient_figure
from dlviz.labs.sequences.lengths import (
    LengthExperiment,
    LengthResult,
    accuracy_caption,
    gradient_caption,
    log_median,
    over_seeds,
    reading,
)
from dlviz.sweeps.driver import list_sweeps

nan = math.nan
T_975_2 = 4.302653  # Student's t, 97.5% quantile, 2 degrees of freedom (a t table)
T_975_1 = 12.706205  # ... 1 degree of freedom


# --- the ladder -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seeds, field",
    [
        ((), "seeds"),
        ((1, 1), "seeds"),
        ((0, 1.5), "seeds"),
        ((0, True), "seeds"),
        ((0, -1), "train.seed"),
        ((0, 2**31), "train.seed"),
    ],
)
def test_bad_seeds_name_their_field(seeds, field):
    with pytest.raises(ConfigError) as err:
        LengthExperiment(lengths=(5,), seeds=seeds)
    assert err.value.field == field


def test_without_seeds_the_one_training_seed_is_the_data_seed():
    assert LengthExperiment().seeds == (0,)
    exp = LengthExperiment(lengths=(5,), archs=("rnn",), seed=7)
    assert exp.seeds == (7,) and exp.runs == 1
    ((_, _, cfg),) = exp.configs()
    assert (cfg.name, cfg.train.seed, cfg.data.seed) == ("rnn length 5", 7, 7)
    assert LengthExperiment(lengths=(5,), seeds=[2, 3]).seeds == (2, 3)  # a list, as a tuple


def test_two_seeds_train_each_network_twice_at_each_length_on_the_same_data():
    exp = LengthExperiment(lengths=(20, 5), archs=("lstm", "rnn"), hidden_size=16, seed=3,
                           seeds=(3, 4))  # fmt: skip
    ladder = exp.configs()
    assert exp.runs == len(ladder) == 8
    assert [cfg.name for _, _, cfg in ladder] == [
        "lstm length 5 seed 3", "rnn length 5 seed 3", "lstm length 5 seed 4",
        "rnn length 5 seed 4", "lstm length 20 seed 3", "rnn length 20 seed 3",
        "lstm length 20 seed 4", "rnn length 20 seed 4",
    ]  # fmt: skip
    assert [cfg.train.seed for _, _, cfg in ladder] == [3, 3, 4, 4] * 2
    assert [(a, n) for a, n, _ in ladder] == [("lstm", 5), ("rnn", 5)] * 2 + [
        ("lstm", 20),
        ("rnn", 20),
    ] * 2
    for _, length, cfg in ladder:  # one data seed and split, one step budget, at each length
        assert cfg.data == ladder[0 if length == 5 else 4][2].data
        assert cfg.data.seed == 3 and cfg.train.epochs == exp.epochs(length)


# --- over seeds -----------------------------------------------------------------------------------


def res(arch, length, acc, init=nan, trained=nan, seed=0, status="finished", keep=nan,
        keep0=nan, task="temporal_order", n_test=1800, seconds=1.0):  # fmt: skip
    return LengthResult(arch, length, status, acc, trained, init, seconds, n_test, task, keep,
                        keep0, seed=seed)  # fmt: skip


def test_the_median_on_a_log_scale():
    assert log_median([1e-3, 1e-9, 1e-5]) == 1e-5  # the middle one
    assert log_median([1e-4, 1e-8]) == pytest.approx(1e-6)  # sqrt(1e-4 * 1e-8)
    assert log_median([0.0, 1e-8]) == 0.0
    assert log_median([0.0, 0.0, 1e-8]) == 0.0 and math.isnan(log_median([]))


def test_over_seeds_gives_the_mean_its_t_interval_and_the_median_shares():
    accs, inits, trained = (1.0, 0.9, 0.5), (1e-3, 1e-9, 1e-5), (0.2, 0.1, 0.4)
    rows = [
        res("lstm", 50, a, i, t, seed=s, keep=0.9 + s / 100, keep0=0.7, seconds=10.0 + s)
        for s, (a, i, t) in enumerate(zip(accs, inits, trained))
    ]
    rows += [res("rnn", 50, 0.25, 0.0, seed=0), res("rnn", 50, 1.0, 1e-8, seed=1),
             res("rnn", 50, nan, status="stopped", seed=2)]  # fmt: skip
    rows += [res("gru", 50, nan, status="running", seed=0),
             res("gru", 50, nan, status="queued", seed=1)]  # fmt: skip
    lstm, rnn, gru = over_seeds(rows)
    # by hand: mean 0.8; s = sqrt((0.2² + 0.1² + 0.3²) / 2) = sqrt(0.07); half width
    # t(0.975, 2) * s / sqrt(3) = 4.302653 * 0.152753 = 0.657241
    assert (lstm.arch, lstm.length, lstm.runs, lstm.n, lstm.status) == ("lstm", 50, 3, 3,
                                                                        "finished")  # fmt: skip
    assert lstm.finished and lstm.test_accuracy == pytest.approx(0.8)
    assert lstm.test_ci == pytest.approx((0.8 - 0.657241, 0.8 + 0.657241), abs=1e-5)
    assert lstm.above == 3  # 50% and more: clearly above 25% on 1,800 test sequences
    assert lstm.initial_gradient == 1e-5 and lstm.initial_gradient_range == (1e-9, 1e-3)
    assert lstm.first_step_gradient == 0.2 and lstm.gradient_range == (0.1, 0.4)
    assert lstm.keep_gate == pytest.approx(0.91) and lstm.initial_keep_gate == pytest.approx(0.7)
    assert lstm.seconds == pytest.approx(11.0)
    # two of three finished: their mean, t(0.975, 1) * 0.530330 / sqrt(2) = 4.764827
    assert (rnn.n, rnn.runs, rnn.status, rnn.above) == (2, 3, "2 of 3 finished", 1)
    assert rnn.finished and rnn.test_accuracy == pytest.approx(0.625)
    assert rnn.test_ci == pytest.approx((0.625 - 4.764827, 0.625 + 4.764827), abs=1e-4)
    assert rnn.initial_gradient == 0.0 and rnn.initial_gradient_range == (0.0, 1e-8)
    assert math.isnan(rnn.first_step_gradient) and rnn.gradient_range is None
    # none finished yet: no numbers, the state of the one going
    assert (gru.n, gru.runs, gru.status, gru.finished) == (0, 2, "running", False)
    assert math.isnan(gru.test_accuracy) and gru.test_ci is None
    # the rows the charts draw
    assert lstm.row()["test_ci"] == lstm.test_ci and lstm.row()["n"] == 3
    assert lstm.row()["first_step_gradient_range"] == (1e-9, 1e-3)
    assert gru.row()["test_ci"] is None and math.isnan(gru.row()["test_accuracy"])
    # rows already over seeds, or one seed: as they are
    assert over_seeds([lstm, rnn, gru]) == [lstm, rnn, gru]
    one = [res("lstm", 50, 0.9, 1e-3, seed=4), res("rnn", 50, 0.3, seed=4)]
    assert over_seeds(one) == one
    assert "n" not in one[0].row() and "test_ci" not in one[0].row()


def test_the_table_over_seeds_gives_mean_and_interval_and_the_median_with_its_range():
    from dlviz.labs.sequences.view_lengths import table

    rows = [res("lstm", 50, a, i, seed=s) for s, (a, i) in enumerate(((1.0, 1e-3), (0.9, 1e-9),
                                                                        (0.5, 1e-5)))]  # fmt: skip
    rows.append(res("lstm", 50, nan, status="stopped", seed=3))
    (row,) = table(over_seeds(rows)).to_dict("records")
    assert row["seeds finished"] == "3 of 4" and row["status"] == "3 of 4 finished"
    assert row["above chance"] == "3 of 3"
    assert row["test accuracy (mean ± 95%)"] == "80.0% ± 65.7%"  # 0.657241, as above
    assert row["first-step gradient, at start (median)"] == "1.00e-05 (1.00e-09 to 1.00e-03)"
    assert row["first-step gradient, trained (median)"] == "-"
    assert "seeds finished" not in table(rows[:1]).columns  # one run: the table as it was


# --- the reading ----------------------------------------------------------------------------------


def three_seeds() -> list[LengthResult]:
    """Three seeds: the RNN above chance at 5 in all, at chance at 50 in all; the LSTM above
    chance everywhere but at 100, where in 2 of 3; the GRU at 100 in only 1 of 3; the
    Transformer everywhere."""
    out = []
    for s in range(3):
        out += [
            res("rnn", 5, 1.0, (4e-2, 8e-2, 1.2e-1)[s], 2e-2, s),
            res("rnn", 50, (0.25, 0.24, 0.26)[s], (0.0, 1e-17, 1e-16)[s], 1e-9, s),
            res("lstm", 5, 1.0, 4e-2, 1e-2, s, keep=0.97, keep0=0.73),
            res("lstm", 50, 1.0, 1e-5 * (s + 1), 1e-2, s, keep=0.97, keep0=0.73),
            res("lstm", 100, (1.0, 0.99, 0.25)[s], 5e-9, 1e-2, s, keep=0.96, keep0=0.73),
            res("gru", 5, 1.0, 9e-2, seed=s, keep0=0.5),
            res("gru", 100, (0.25, 0.9, 0.25)[s], 1e-18, seed=s, keep0=0.5),
            res("transformer", 5, 1.0, 1.0, seed=s),
            res("transformer", 100, (1.0, 0.99, 1.0)[s], 1.05, seed=s),
        ]
    return out


def test_the_reading_counts_the_seeds_where_each_network_is_above_chance():
    text = reading(three_seeds())
    assert text[:4] == [
        # all, and none (the means: 100%; (25 + 24 + 26) / 3 = 25%)
        "RNN: clearly above chance (25%) in all 3 seeds at length 5 (a mean of 100%); no "
        "better than chance in all 3 seeds at length 50 (a mean of 25%).",
        # most: (100 + 99 + 25) / 3 = 74.7%
        "LSTM: clearly above chance (25%) in all 3 seeds at lengths 5 and 50 (a mean of 100% "
        "at each); clearly above chance in 2 of 3 seeds at length 100 (a mean of 75%).",
        # only some: (25 + 90 + 25) / 3 = 46.7%
        "GRU: clearly above chance (25%) in all 3 seeds at length 5 (a mean of 100%); clearly "
        "above chance in only 1 of 3 seeds at length 100 (a mean of 47%).",
        # (100 + 99 + 100) / 3 = 99.7%, which reads 100%
        "Transformer: clearly above chance (25%) in all 3 seeds at every length from 5 to 100 "
        "(a mean of 100% at each).",
    ]
    # the gated networks where the RNN falls to chance in every seed
    assert text[4].startswith(
        "Where the plain RNN falls to chance in all 3 seeds, at length 50 (a mean of 25%), the "
        "LSTM is right on a mean of 100%, clearly above chance in every seed. The RNN passes"
    )
    # medians: RNN (4, 8, 12)e-2 -> 8e-2 at 5, (0, 1e-17, 1e-16) -> 1e-17 at 50; LSTM 4e-2,
    # (1, 2, 3)e-5 -> 2e-5
    assert text[5] == (
        "The share of the gradient at the last step that reaches the first, at initialisation "
        "(the median over the seeds), from length 5 to 50: from 8.0e-02 to 1.0e-17 for the "
        "RNN, from 4.0e-02 to 2.0e-05 for the LSTM: at length 50 the RNN's median is 10¹²x "
        "smaller, and its largest (1.0e-16) is below the LSTM's smallest (1.0e-05)."
    )
    assert text[6] == (
        "After training, at length 50, the medians over the seeds: 1.0e-02 for the LSTM, "
        "1.0e-09 for the RNN; the LSTM's forget gate, averaged over the steps and the seeds, "
        "rose from 0.73 to 0.97 (1 keeps the cell as it was)."
    )
    # 99.7% at 100: within 5 points of 100% at length 5
    assert text[7].startswith(
        "The Transformer's mean accuracy barely changes from length 5 to 100 (a mean of 100% "
        "at each). Attention reaches any position in one step"
    )
    assert text[7].endswith("the median share of its gradient that reaches the first "
                            "position is 1.05 at length 100.")  # fmt: skip
    # no GRU sentence: at 100 it is not at chance in every seed, nor the LSTM above it in every
    assert len(text) == 8


def test_the_gru_sentence_over_seeds_needs_every_seed_to_agree():
    rows = [res(a, 100, acc, g, seed=s, keep0=k) for s in range(2)
            for a, acc, g, k in (("lstm", 1.0, 5e-9, 0.73), ("gru", 0.25, 5e-18, 0.5))]  # fmt: skip
    text = reading(rows)
    assert text[-1] == (
        "The GRU is at chance at length 100 in all 2 seeds, where the LSTM is clearly above it "
        "in every seed (a mean of 100%): at initialisation its update gate keeps 0.50 of its "
        "state a step on average, the LSTM's forget gate 0.73 of its cell, so the median share "
        "of the gradient reaching its first step starts 10⁹x smaller (5.0e-18 against 5.0e-09)."
    )
    # one seed of the GRU above chance: no longer "at chance in every seed"
    rows[1] = res("gru", 100, 0.9, 5e-18, seed=0, keep0=0.5)
    assert not any(s.startswith("The GRU is at chance") for s in reading(rows))
    assert reading(rows)[1] == (
        "GRU: clearly above chance (25%) in only 1 of 2 seeds at length 100 (a mean of 57%)."
    )


def test_nothing_learned_in_any_seed_and_a_zero_share_in_every_seed():
    rows = [res(a, n, 0.25, g, seed=s) for s in range(2) for n in (5, 50)
            for a, g in (("rnn", 0.0 if n == 50 else 1e-3), ("lstm", 1e-4))]  # fmt: skip
    text = reading(rows)
    assert text == [
        "RNN: no better than chance (25%) in all 2 seeds at every length from 5 to 50 (a mean "
        "of 25% at each).",
        "LSTM: no better than chance (25%) in all 2 seeds at every length from 5 to 50 (a mean "
        "of 25% at each).",
        "No network learned at any length in any seed: with this budget none got past "
        "guessing. Try more steps per run or another learning rate.",
    ]
    rows = [res("rnn", n, 1.0 if n == 5 else 0.25, g, seed=s) for s in range(2)
            for n, g in ((5, 1e-3), (50, (0.0, 1e-20)[s]))]  # fmt: skip
    rows += [res("lstm", n, 1.0, 1e-4, seed=s) for s in range(2) for n in (5, 50)]
    (grad,) = [s for s in reading(rows) if s.startswith("The share")]
    # the RNN's median at 50, sqrt(0 * 1e-20), is 0: one seed of two underflowed, not both
    assert grad.endswith("At length 50, in at least half the seeds, none of it reaches the "
                         "RNN's first step.")  # fmt: skip
    rows = [r if (r.arch, r.length) != ("rnn", 50) else res("rnn", 50, 0.25, 0.0, seed=r.seed)
            for r in rows]  # fmt: skip
    (grad,) = [s for s in reading(rows) if s.startswith("The share")]
    assert grad.endswith("At length 50 none of it reaches the RNN's first step, in any seed.")


def test_the_captions_over_seeds():
    rows = three_seeds()
    assert accuracy_caption(rows) == (
        "Mean test accuracy over 3 seeds with 95% error bars, chance 25% dotted: RNN above "
        "chance in every seed up to 5, in none at 50; LSTM above chance in every seed up to "
        "50, in 2 of 3 at 100; GRU above chance in every seed up to 5, in 1 of 3 at 100; "
        "Transformer above chance in every seed at every length."
    )
    going = [r if (r.arch, r.seed) != ("transformer", 2) else res("transformer", r.length, nan,
             status="running", seed=2) for r in rows]  # fmt: skip
    assert accuracy_caption(going).endswith("Transformer above chance in every seed at every "
                                            "length so far.")  # fmt: skip
    at_first = [res("rnn", 5, a, seed=s) for s, a in enumerate((0.25, 1.0))]
    assert accuracy_caption(at_first).endswith("RNN above chance in 1 of 2 seeds at 5.")
    grad = gradient_caption(rows)
    assert "Each point is the median over the seeds" in grad
    assert grad.endswith(
        "Reaching the first step: RNN 1.0e-17 at 50, LSTM 5.0e-09 at 100, GRU 1.0e-18 at 100, "
        "Transformer 1.05 at 100."
    )
    one = [r for r in rows if r.seed == 0]
    assert accuracy_caption(one).startswith("Test accuracy, chance 25% dotted: ")
    assert "median" not in gradient_caption(one)


# --- the charts -----------------------------------------------------------------------------------


def test_with_several_seeds_the_charts_draw_error_bars_and_with_one_none():
    rows = [res("lstm", 5, a, g, seed=s) for s, a, g in zip(range(3), (1.0, 0.9, 0.5),
                                                              (1e-3, 1e-9, 1e-5))]  # fmt: skip
    rows += [res("lstm", 10, a, g, seed=s) for s, a, g in ((0, 0.25, 0.0), (1, 1.0, 1e-8))]
    chart = [r.row() for r in over_seeds(rows)]
    (acc,) = length_accuracy_figure(chart, chance=0.25).data
    np.testing.assert_allclose(acc.y, [0.8, 0.625], rtol=1e-6)
    # the 95% intervals cut at 0 and 1: (0.142759, 1.457241) and (0.625 -+ 4.764827)
    np.testing.assert_allclose(acc.error_y.array, [0.2, 0.375], rtol=1e-5)
    np.testing.assert_allclose(acc.error_y.arrayminus, [0.657241, 0.625], rtol=1e-5)
    assert not acc.error_y.symmetric
    (grad,) = length_gradient_figure(chart).data
    floor = 1e-9 / 10  # a tenth of the smallest positive share
    np.testing.assert_allclose(grad.y, [1e-5, floor], rtol=1e-5)  # medians; 0 at the floor
    np.testing.assert_allclose(grad.error_y.array, [1e-3 - 1e-5, 1e-8 - floor], rtol=1e-5)
    np.testing.assert_allclose(grad.error_y.arrayminus, [1e-5 - 1e-9, 0.0], atol=1e-12)
    assert "median, over 3 seeds" in grad.text[0]
    one = [r.row() for r in rows if r.seed == 0]
    (acc,) = length_accuracy_figure(one, chance=0.25).data
    (grad,) = length_gradient_figure(one).data
    assert acc.error_y.array is None and grad.error_y.array is None


# --- the page -------------------------------------------------------------------------------------

PAGE = "pages/sequences.py"


def test_the_page_runs_two_seeds_and_shows_their_spread(apptest):
    at = apptest(PAGE)
    at.segmented_control(key="sq_mode").set_value("lengths").run()
    assert at.number_input(key="sq_len_seeds").value == 1
    assert "Each seed takes as long again" in at.number_input(key="sq_len_seeds").help
    at.number_input(key="sq_len_seeds").set_value(6).run()
    assert at.button(key="sq_len_run").disabled
    assert any("Seeds: 6 is out of range" in e.value for e in at.error)
    at.multiselect(key="sq_len_archs").set_value(["rnn", "lstm"]).run()
    at.multiselect(key="sq_len_lengths").set_value([5, 10]).run()
    at.select_slider(key="sq_len_hidden").set_value(16).run()
    at.number_input(key="sq_len_steps").set_value(20).run()
    assert "4 runs" in at.button(key="sq_len_run").label
    at.number_input(key="sq_len_seeds").set_value(2).run()
    assert not at.error and "8 runs" in at.button(key="sq_len_run").label
    at.button(key="sq_len_run").click().run()
    assert not at.exception, at.exception
    view = at.session_state["sq_len_view"]
    assert [h.config.name for h in view.handles] == [
        "rnn length 5 seed 0", "lstm length 5 seed 0", "rnn length 5 seed 1",
        "lstm length 5 seed 1", "rnn length 10 seed 0", "lstm length 10 seed 0",
        "rnn length 10 seed 1", "lstm length 10 seed 1",
    ]  # fmt: skip
    assert [h.config.train.seed for h in view.handles] == [0, 0, 1, 1] * 2
    assert {h.config.data.seed for h in view.handles} == {0}
    wait_until_done(at, key="sq_len_view", deadline_s=120, rerun=True)
    assert all(h.history.status == "finished" for h in view.handles)
    acc = charts(at)["sq_len_view_acc"]["data"]
    finals: dict[str, list[list[float]]] = {}
    for h in view.handles:  # each network's accuracies by length, from the runs themselves
        by_length = finals.setdefault(h.config.model.arch, [[], []])
        by_length[(5, 10).index(h.config.data.length)].append(h.history.final["test_accuracy"])
    for trace in acc:
        means = [sum(v) / 2 for v in finals[trace["name"]]]
        assert values(trace["y"]) == pytest.approx(means, abs=1e-6)
        assert len(values(trace["error_y"]["array"])) == 2
        assert all(v >= 0 for v in values(trace["error_y"]["arrayminus"]))
    assert "error_y" in charts(at)["sq_len_view_grad"]["data"][0]
    text = "\n".join(m.value for m in at.markdown)
    assert "the mean over seeds, 95% error bars" in text
    assert re.search(r"RNN: (clearly above|no better than) chance \(25%\) in (all 2|only 1 of "
                     r"2) seeds", text), text  # fmt: skip
    (table,) = [d.value for d in at.dataframe]
    assert len(table) == 4 and list(table["seeds finished"]) == ["2 of 2"] * 4
    # kept as a sweep, for the Sweep page's views
    (m,) = list_sweeps(runs.default_root())
    assert m["axes"] == ["network", "data.length"] and m["seeds"] == [0, 1]
    assert [t["run_id"] for t in m["trials"]] == [h.history.run_id for h in view.handles]
    assert "These runs are kept as the sweep **length-experiment-2-seeds-" in " ".join(
        c.value for c in at.caption
    )
