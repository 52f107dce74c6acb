"""The Sweep page's figures on hand-made groups: the band's edges are the intervals (cut at 0
and 1 for an accuracy), whiskers repeat them, one line per combination of the other axes."""

from __future__ import annotations

import pytest
from support.apptest import values

from dlviz.labs.sweeps.figures import band_figure, importance_figure, parallel_figure


def group(depth, residual, mean, ci, n=3):
    return {"params": {"model.depth": depth, "model.residual": residual}, "n": n, "trials": n,
            "failed": 0, "mean": {"test_accuracy": mean},
            "ci95": {"test_accuracy": ci}}  # fmt: skip


def test_the_band_is_the_interval_cut_at_one_with_whiskers_and_a_line_a_combination():
    gs = [group(2, False, 0.6, [0.5, 0.7]), group(16, False, 0.5, [0.3, 0.7]),
          group(2, True, 0.7, [0.6, 0.8]), group(16, True, 0.9, [0.75, 1.05])]  # fmt: skip
    fig = band_figure(gs, "model.depth", [2, 16], "test_accuracy").to_dict()
    lines = [t for t in fig["data"] if t.get("mode") == "lines+markers"]
    bands = [t for t in fig["data"] if t.get("fill") == "toself"]
    assert [t["name"] for t in lines] == ["model.residual=false", "model.residual=true"]
    assert values(lines[1]["y"]) == pytest.approx([0.7, 0.9])
    # the band: the upper edge left to right, then the lower edge back
    assert values(bands[1]["y"]) == pytest.approx([0.8, 1.0, 0.75, 0.6])
    assert values(lines[1]["error_y"]["array"]) == pytest.approx([0.1, 0.1])
    assert values(lines[1]["error_y"]["arrayminus"]) == pytest.approx([0.1, 0.15])


def test_one_seed_has_no_band_and_other_views_draw_what_finished():
    gs = [group(2, False, 0.6, None, n=1)]
    fig = band_figure(gs, "model.depth", [2], "test_accuracy").to_dict()
    assert not [t for t in fig["data"] if t.get("fill") == "toself"]
    trials = [
        {"params": {"train.optimizer": o}, "seed": s, "status": st, "metrics": {"test_accuracy": a}}
        for o, s, st, a in (("adam", 0, "finished", 0.9), ("sgd", 0, "finished", 0.6),
                            ("sgd", 1, "error", 0.0))
    ]  # fmt: skip
    dims = parallel_figure(trials, ["train.optimizer"], "test_accuracy").to_dict()["data"][0]
    opt = dims["dimensions"][0]
    assert opt["ticktext"] == ["adam", "sgd"] and list(opt["values"]) == [0, 1]
    assert values(dims["dimensions"][-1]["values"]) == pytest.approx([0.9, 0.6])
    bars = importance_figure({"a": 0.4, "b": None}, "test_accuracy").to_dict()["data"][0]
    assert list(bars["y"]) == ["a"]
