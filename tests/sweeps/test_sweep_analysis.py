"""What the Sweep page says of finished trials: each axis's share of the variance against a
hand computation, the best value as trials finish, pairs of alike trials, and the reading."""

from __future__ import annotations

import pytest

from dlviz.sweeps.analysis import best_so_far, importance, paired, reading


def t(index, depth, residual, seed, acc, status="finished", finished=None):
    return {"index": index, "params": {"model.depth": depth, "model.residual": residual},
            "seed": seed, "status": status, "metrics": {"test_accuracy": acc},
            "finished": finished or index}  # fmt: skip


TRIALS = [
    t(0, 2, False, 0, 0.6), t(1, 2, False, 1, 0.7), t(2, 2, True, 0, 0.65), t(3, 2, True, 1, 0.75),
    t(4, 16, False, 0, 0.5), t(5, 16, False, 1, 0.4), t(6, 16, True, 0, 0.9), t(7, 16, True, 1, 0.95),
]  # fmt: skip


def test_each_axis_share_of_the_variance_matches_a_hand_computation():
    # values: 0.6 0.7 0.65 0.75 0.5 0.4 0.9 0.95; mean 0.68125
    vals = [0.6, 0.7, 0.65, 0.75, 0.5, 0.4, 0.9, 0.95]
    mean = sum(vals) / 8
    total = sum((v - mean) ** 2 for v in vals)
    # residual: false (0.6, 0.7, 0.5, 0.4) mean 0.55; true (0.65, 0.75, 0.9, 0.95) mean 0.8125
    between = 4 * (0.55 - mean) ** 2 + 4 * (0.8125 - mean) ** 2
    shares = importance(TRIALS, ["model.depth", "model.residual"], "test_accuracy")
    assert shares["model.residual"] == pytest.approx(between / total)
    # depth: 2 -> mean 0.675, 16 -> mean 0.6875: almost nothing
    assert shares["model.depth"] == pytest.approx(
        (4 * (0.675 - mean) ** 2 + 4 * (0.6875 - mean) ** 2) / total
    )
    one = importance(TRIALS[:1], ["model.depth"], "test_accuracy")
    assert one == {"model.depth": None}


def test_best_so_far_follows_the_order_trials_finished_in():
    order = [t(0, 2, False, 0, 0.5, finished=30), t(1, 2, False, 1, 0.8, finished=10),
             t(2, 2, True, 0, 0.6, finished=20), t(3, 2, True, 1, 0.9, status="error")]  # fmt: skip
    assert best_so_far(order, "test_accuracy", "max") == [(1, 0.8), (2, 0.8), (3, 0.8)]
    assert best_so_far(order, "test_accuracy", "min") == [(1, 0.8), (2, 0.6), (3, 0.5)]


def test_pairs_alike_in_everything_else_are_counted():
    said = paired(TRIALS, ["model.depth", "model.residual"], "test_accuracy", "max")
    assert said == [
        "model.depth: 2 and 16 each win 2 of 4 pairs of trials alike in everything else (the "
        "other axes and the seed): no side is ahead.",
        "model.residual = true beats false in every one of the 4 pairs of trials alike in "
        "everything else (the other axes and the seed).",
    ]
    mixed = [*TRIALS[:4], t(4, 16, False, 0, 0.95), *TRIALS[5:]]
    (line,) = paired(mixed, ["model.residual"], "test_accuracy", "max")
    assert line.startswith("model.residual = true beats false in 3 of 4 pairs")


def test_the_reading_names_the_best_says_whether_intervals_overlap_and_counts_failures():
    lines = reading([*TRIALS, t(8, 16, True, 2, None, status="error")],
                    ["model.depth", "model.residual"], "test_accuracy", "max")  # fmt: skip
    assert lines[0].startswith(
        "Best by mean test accuracy over 2 seeds: model.depth = 16, model.residual = true, 92.5%"
    )
    assert "the runner-up, model.depth = 2, model.residual = true" in lines[1].lower()
    assert "their intervals overlap" in lines[1]
    assert lines[2].startswith("model.residual explains")
    assert "model.residual = true beats false in every one of the 4 pairs" in " ".join(lines)
    assert lines[-1].startswith("1 trial failed: counted, not averaged")
    assert reading([], ["model.depth"], "test_accuracy", "max") == ["No trial has finished yet."]
