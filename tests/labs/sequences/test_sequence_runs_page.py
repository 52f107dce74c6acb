"""Sequence runs on the Runs page: a forecast shows its error beside the naive forecast's, a
per-token run its accuracy, and both open and compare without error."""

from __future__ import annotations

from support.apptest import charts

from dlviz import jobs, runs
from dlviz.config import RunConfig

CONFIGS = {
    "forecast": {
        "name": "forecast",
        "data": {"name": "sines", "n_samples": 300, "length": 12, "horizon": 3},
        "model": {"arch": "gru", "hidden_size": 8},
        "train": {"epochs": 2, "device": "cpu"},
    },
    "reverse": {
        "name": "reverse",
        "data": {"name": "reverse", "n_samples": 300, "length": 4},
        "model": {"arch": "transformer", "hidden_size": 16},
        "train": {"epochs": 2, "device": "cpu"},
    },
}


def test_sequence_runs_open_and_compare_on_the_runs_page(apptest, tmp_path, monkeypatch):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    ids = {}
    for name, cfg in CONFIGS.items():
        end = jobs.start(RunConfig.from_dict(cfg), runs_dir=runs.default_root()).wait()
        assert end.status == "finished", end.message
        ids[name] = end.run_id
    listed = {r["run_id"]: r for r in runs.list_runs(runs.default_root())}
    assert listed[ids["reverse"]]["depth"] == 1  # one transformer block
    at = apptest("pages/runs.py")
    frame = next(d for d in at.dataframe if (d.key or "").startswith("rs_table_"))
    order = list(frame.value["run id"])

    def select(*names):
        rows = [order.index(ids[n]) for n in names]
        at.session_state[frame.key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
        at.run()
        assert not at.exception, at.exception

    select("forecast")
    metrics = {m.label: m.value for m in at.metric}
    assert "Final test MSE" in metrics and "Naive forecast MSE" in metrics
    summary = runs.load_run(runs.default_root(), ids["forecast"]).summary
    assert metrics["Naive forecast MSE"] == f"{summary['final']['baseline_mse']:.3g}"
    select("reverse")
    assert "Final test accuracy" in {m.label for m in at.metric}
    select("forecast", "reverse")
    assert {"rs_cmp_curves", "rs_cmp_grads"} <= set(charts(at))
