"""Aggregation over seeds: the mean and Student's t interval against a hand computation and
tabulated quantiles; failed trials counted, never averaged."""

from __future__ import annotations

import math

import pytest

from dlviz.sweeps.aggregate import best_group, groups, mean_ci, t_cdf, t_quantile, trial_metrics

# t_{0.975, df} from the tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2)
TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 29: 2.045, 120: 1.980}


@pytest.mark.parametrize("df, t", TABLE.items())
def test_the_t_quantile_matches_the_tables(df, t):
    assert t_quantile(0.975, df) == pytest.approx(t, abs=5e-4)
    assert t_cdf(t_quantile(0.975, df), df) == pytest.approx(0.975, abs=1e-9)


def test_the_t_distribution_is_symmetric_and_tends_to_the_normal():
    assert t_cdf(0.0, 3) == pytest.approx(0.5)
    assert t_cdf(-1.3, 7) == pytest.approx(1 - t_cdf(1.3, 7))
    assert t_quantile(0.975, 100_000) == pytest.approx(1.95996, abs=1e-3)
    assert t_cdf(1.0, 1) == pytest.approx(0.75)  # Cauchy: 1/2 + atan(1)/pi


def test_mean_and_interval_against_a_hand_computation():
    values = [0.8, 0.9, 0.7]
    mean, ci = mean_ci(values)
    # by hand: mean 0.8; s^2 = (0 + 0.01 + 0.01) / 2 = 0.01, s = 0.1; s / sqrt(3) = 0.057735;
    # t(0.975, 2) = 4.302653; half width 0.248414
    assert mean == pytest.approx(0.8)
    assert ci == pytest.approx([0.8 - 0.248414, 0.8 + 0.248414], abs=1e-5)
    assert mean_ci([0.5]) == (0.5, None)
    m, none = mean_ci([])
    assert math.isnan(m) and none is None


def trial(params, status, acc=None, seconds=1.0):
    metrics = {"test_accuracy": acc, "seconds": seconds} if acc is not None else {}
    return {"params": params, "status": status, "metrics": metrics}


def test_groups_average_finished_trials_and_count_failed_ones():
    a, b = {"model.depth": 2}, {"model.depth": 8}
    gs = groups(
        [
            trial(a, "finished", 0.8), trial(a, "finished", 0.9), trial(a, "finished", 0.7),
            trial(b, "finished", 0.6), trial(b, "error"), trial(b, "diverged"),
            trial(b, "finished", 0.4), trial(b, "stopped"),
        ]
    )  # fmt: skip
    assert [g["params"] for g in gs] == [a, b]
    ga, gb = gs
    assert (ga["n"], ga["trials"], ga["failed"]) == (3, 3, 0)
    assert ga["mean"]["test_accuracy"] == pytest.approx(0.8)
    assert ga["ci95"]["test_accuracy"][0] == pytest.approx(0.8 - 0.248414, abs=1e-5)
    assert (gb["n"], gb["trials"], gb["failed"]) == (2, 5, 2)
    assert gb["mean"]["test_accuracy"] == pytest.approx(0.5)  # the failures are not zeros
    assert best_group(gs, "test_accuracy", "max")["params"] == a
    assert best_group(gs, "test_accuracy", "min")["params"] == b
    assert best_group(gs, "test_loss", "min") is None


def test_a_trials_numbers_come_from_its_summary_and_curves():
    summary = {"final": {"test_accuracy": 0.75, "test_loss": 0.5, "train_loss": float("nan")},
               "seconds": 3.5}  # fmt: skip
    got = trial_metrics(summary, {"test_accuracy": [0.5, 0.9, None, 0.75]})
    assert got == {"test_accuracy": 0.75, "test_loss": 0.5, "seconds": 3.5,
                   "best_test_accuracy": 0.9}  # fmt: skip
