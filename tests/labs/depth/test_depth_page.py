"""AppTest of the Depth page: defaults, a bad choice, and a tiny ladder run to the end with its
charts, reading and table."""

from __future__ import annotations

import pytest
from support.apptest import charts, values, wait_until_done

from dlviz import runs
from dlviz.sweeps.aggregate import groups
from dlviz.sweeps.driver import list_sweeps


def test_depth_page_defaults_and_a_tiny_ladder(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/depth.py")
    assert at.button(key="dp_run").label == "Run the depth experiment (18 runs)"
    assert not at.button(key="dp_run").disabled
    at.multiselect(key="dp_variants").set_value([]).run()
    assert "Networks: choose at least one of plain, residual, sigmoid." in [
        e.value for e in at.error
    ]
    assert at.button(key="dp_run").disabled

    at.multiselect(key="dp_variants").set_value(["plain", "residual", "sigmoid"]).run()
    at.multiselect(key="dp_depths").set_value([1, 3]).run()
    at.number_input(key="dp_epochs").set_value(3).run()
    at.selectbox(key="dp_dataset").set_value("xor").run()
    at.button(key="dp_run").click().run()
    assert not at.exception, at.exception
    view = at.session_state["dp_view"]
    assert [h.config.name for h in view.handles] == [
        "depth 1 plain", "depth 3 plain", "depth 1 residual", "depth 3 residual",
        "depth 1 sigmoid", "depth 3 sigmoid",
    ]  # fmt: skip
    wait_until_done(at, key="dp_view")
    at.run()
    figs = charts(at)
    acc, grad = figs["dp_view_acc"], figs["dp_view_grad"]
    assert [t["name"] for t in acc["data"]] == [
        "plain (train)", "plain (test)", "residual (train)", "residual (test)",
        "sigmoid (train)", "sigmoid (test)",
    ]  # fmt: skip
    assert all(len(t["x"]) == 2 for t in acc["data"] + grad["data"])
    assert grad["layout"]["yaxis"]["type"] == "log"
    text = "\n".join(m.value for m in at.markdown)
    assert "Plain: " in text and "Residual: " in text
    profile = figs["dp_view_profile"]["data"]
    assert [len(t["x"]) for t in profile] == [4, 4, 4]  # depth 3: three hidden layers + output
    assert "All 6 runs finished" in "\n".join(s.value for s in at.success)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 6
    # every rung is in the run store
    from dlviz import runs

    assert len(runs.list_runs(tmp_path / "runs")) == 6


def test_with_three_seeds_the_ladder_shows_means_with_error_bars_and_counts_the_seeds(apptest):
    at = apptest("pages/depth.py")
    at.multiselect(key="dp_variants").set_value(["plain", "residual"]).run()
    at.multiselect(key="dp_depths").set_value([1, 3]).run()
    at.number_input(key="dp_epochs").set_value(3).run()
    at.number_input(key="dp_seeds").set_value(3).run()
    assert at.button(key="dp_run").label == "Run the depth experiment (12 runs)"
    at.button(key="dp_run").click().run()
    view = at.session_state["dp_view"]
    names = [h.config.name for h in view.handles]
    assert names[:4] == ["depth 1 plain seed 0", "depth 3 plain seed 0",
                         "depth 1 residual seed 0", "depth 3 residual seed 0"]  # fmt: skip
    assert [h.config.train.seed for h in view.handles] == [0] * 4 + [1] * 4 + [2] * 4
    wait_until_done(at, key="dp_view")
    at.run()
    assert not at.exception, at.exception
    train = charts(at)["dp_view_acc"]["data"][0]  # plain (train)
    # the mean over the three seeds' final training accuracy, from the runs themselves
    finals = {}
    for h in view.handles:
        if h.config.name.split()[2] == "plain":
            finals.setdefault(h.config.model.depth, []).append(h.history.final["train_accuracy"])
    expected = [sum(finals[d]) / 3 for d in (1, 3)]
    assert values(train["y"]) == pytest.approx(expected, abs=1e-6)
    assert len(values(train["error_y"]["array"])) == 2
    assert all(v >= 0 for v in values(train["error_y"]["arrayminus"]))
    text = "\n".join(m.value for m in at.markdown)
    assert "the mean over seeds, 95% error bars" in text
    assert "At depth 3 the residual network beats the plain one in training accuracy" in text
    assert "seeds (by " in text
    (table,) = [d.value for d in at.dataframe]
    assert list(table["seed"]) == [0] * 4 + [1] * 4 + [2] * 4
    # kept as a sweep: the Sweep page's views over the same runs, the Runs page's tag
    captions = " ".join(c.value for c in at.caption)
    assert "These runs are kept as the sweep **depth-experiment-3-seeds-" in captions
    (m,) = list_sweeps(runs.default_root())
    assert m["axes"] == ["network", "model.depth"] and m["seeds"] == [0, 1, 2]
    assert [t["run_id"] for t in m["trials"]] == [h.history.run_id for h in view.handles]
    assert all(t["status"] == "finished" for t in m["trials"])
    tagged = {r["run_id"] for r in runs.list_runs(runs.default_root())
              if f"sweep:{m['sweep_id']}" in r["tags"]}  # fmt: skip
    assert tagged == {h.history.run_id for h in view.handles}
    plain1 = [g for g in groups(m["trials"]) if g["params"] == {"network": "plain",
                                                                "model.depth": 1}]  # fmt: skip
    assert plain1[0]["mean"]["train_accuracy"] == pytest.approx(expected[0], abs=1e-6)
    at.run()  # drawn again: kept once, not twice
    assert len(list_sweeps(runs.default_root())) == 1
