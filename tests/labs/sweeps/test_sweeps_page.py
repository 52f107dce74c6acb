"""AppTest of the Sweep page: its defaults and refusals, a small sweep started from the page in
a process of its own, followed to the end (table, band chart whose means are the stored runs',
parallel coordinates, importance, best so far, reading), stopped from the page, and a lab's
"Sweep these settings" sending its config."""

from __future__ import annotations

import time

import pytest
from support.apptest import charts, values

from dlviz import runs
from dlviz.sweeps.driver import read_manifest, running

PAGE = "pages/sweeps.py"
TINY = {"data": {"name": "circle", "n_samples": 200}, "train": {"epochs": 3}}


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def wait_for_state(at, states, deadline_s=120.0) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        sid = at.session_state["sw_current"] if "sw_current" in at.session_state else None
        m = read_manifest(runs.default_root(), sid) if sid else None
        if m and m["state"] in states and not running(m):
            return m
        time.sleep(0.5)
    raise AssertionError(f"the sweep did not reach {states} in {deadline_s} s")


def test_the_defaults_offer_a_sweep_of_depth_and_residual_over_three_seeds(apptest):
    at = apptest(PAGE)
    assert at.multiselect(key="sw_axes").value == ["model.depth", "model.residual"]
    assert at.text_input(key="sw_values_model.depth").value == "2, 8, 16"
    start = at.button(key="sw_start")
    assert start.label == "Start the sweep (18 trials)" and not start.disabled
    assert "No sweep yet" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("sw_values_model.depth", "2, 0", "trial 6 (model.depth=0, model.residual=false, seed 0)"),
        ("sw_values_model.depth", "1, 1", "lists a value twice"),
        ("sw_values_model.depth", "", "must be a non-empty list"),
        ("sw_seeds", 0, "Seeds"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(apptest, key, value, words):
    at = apptest(PAGE)
    if key == "sw_seeds":
        at.number_input(key=key).set_value(value).run()
    else:
        at.text_input(key=key).set_value(value).run()
    assert at.button(key="sw_start").disabled
    assert any(words in e for e in errors(at)), errors(at)


def small_sweep(at, base=TINY, depths="1, 2", seeds=2) -> None:
    at.session_state["sw_base"] = base
    at.run()
    at.multiselect(key="sw_axes").set_value(["model.depth"]).run()
    at.text_input(key="sw_values_model.depth").set_value(depths).run()
    at.number_input(key="sw_seeds").set_value(seeds).run()


def test_a_small_sweep_runs_in_its_own_process_and_draws_its_views(apptest):
    at = apptest(PAGE)
    small_sweep(at)
    assert at.button(key="sw_start").label == "Start the sweep (4 trials)"
    at.button(key="sw_start").click().run()
    assert not at.exception and not errors(at), errors(at)
    m = wait_for_state(at, ("finished",))
    at.run()
    assert not at.exception, at.exception
    assert [t["status"] for t in m["trials"]] == ["finished"] * 4
    figs = charts(at)
    assert {"sw_band", "sw_parallel_chart", "sw_best", "sw_final_best"} <= set(figs)
    # the band's means are the stored runs' final test accuracies, averaged over the seeds
    by_depth: dict[int, list[float]] = {}
    for t in m["trials"]:
        stored = runs.load_run(runs.default_root(), t["run_id"])
        by_depth.setdefault(t["params"]["model.depth"], []).append(
            stored.summary["final"]["test_accuracy"]
        )
    line = next(d for d in figs["sw_band"]["data"] if d.get("mode") == "lines+markers")
    assert list(values(line["x"])) == [1, 2]
    expected = [sum(by_depth[d]) / 2 for d in (1, 2)]
    assert values(line["y"]) == pytest.approx(expected, abs=1e-6)
    band = next(d for d in figs["sw_band"]["data"] if d.get("fill") == "toself")
    assert len(values(band["y"])) == 4  # the upper edge out, the lower edge back
    curves = figs["sw_curves"]["data"]
    assert len(curves) == 4 and {c["name"] for c in curves} == {"model.depth=1", "model.depth=2"}
    first = runs.load_run(runs.default_root(), m["trials"][0]["run_id"]).metrics
    drawn = next(c for c in curves if c["hovertemplate"].startswith(m["trials"][0]["label"]))
    assert values(drawn["y"]) == pytest.approx(first["test_accuracy"], abs=1e-6)
    (table,) = [d.value for d in at.dataframe]
    assert list(table["status"]) == ["finished"] * 4
    shown = " ".join(m.value for m in at.markdown)
    assert "Best by mean test accuracy over 2 seeds: model.depth = " in shown
    # the same sweep again: every trial is kept, none runs
    at.button(key="sw_start").click().run()
    m2 = wait_for_state(at, ("finished",))
    assert [t["run_id"] for t in m2["trials"]] == [t["run_id"] for t in m["trials"]]


def test_the_stop_button_stops_a_running_sweep(apptest):
    at = apptest(PAGE)
    long = {"data": {"name": "spiral", "n_samples": 2000}, "train": {"epochs": 5000}}
    small_sweep(at, base=long, depths="1, 2, 3", seeds=1)
    at.button(key="sw_start").click().run()
    end = time.monotonic() + 60
    while time.monotonic() < end:
        at.run()
        m = read_manifest(runs.default_root(), at.session_state["sw_current"])
        if m and any(t["epoch"] > 0 for t in m["trials"]):
            break
        time.sleep(0.5)
    at.button(key="sw_stop").click().run()
    m = wait_for_state(at, ("stopped",), deadline_s=30)
    assert {t["status"] for t in m["trials"]} <= {"stopped", "pending"}
    assert any(t["status"] == "stopped" and t["run_id"] for t in m["trials"])


def test_sweep_these_settings_sends_a_labs_config_to_the_page(apptest):
    at = apptest("pages/playground.py")
    at.button(key="pg_sweep").click().run()
    assert not at.exception, at.exception
    base = at.session_state["sw_base"]
    assert base["data"]["name"] == at.session_state["pg_dataset"]
    assert base["train"]["until_stopped"] is False
    assert "the Playground's settings" in " ".join(m.value for m in at.markdown)
