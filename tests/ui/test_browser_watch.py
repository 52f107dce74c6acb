"""`dlviz bench watch` end to end, on a tiny Playground run: the page trains in a fresh dashboard
with its live view open, headless `dlviz train` trains the config the page stored, and the result
has every figure the report needs. No speed is asserted: speed is for the benchmark."""

from __future__ import annotations

import os

import pytest
from support.browser import require_chromium

from dlviz.bench import watch

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_page_and_headless_train_the_same_config():
    """Apart (where there are two CPUs): the server held to one CPU, Chromium to the others,
    and this process given every CPU back at the end."""
    chromium = require_chromium()
    before = os.sched_getaffinity(0)
    apart = len(before) >= 2
    r = watch.watch(
        repeats=1, which=("playground",), playground_epochs=2, chromium=chromium, apart=apart
    )
    assert os.sched_getaffinity(0) == before  # this process may use every CPU again
    assert r["placement"].startswith("apart" if apart else "together")

    assert r["benchmark"] == "watch" and r["repeats"] == 1 and r["budget"] == 0.9
    assert len(r["load_average"]["start"]) == 3
    (case,) = r["cases"]
    assert case["case"] == "playground"
    assert case["url"] == "/playground?until_stopped=false&epochs=2"
    # the config the page ran is the one `dlviz train` ran
    assert case["same_config"] and case["same_train_config"], case["config_differences"]
    train = case["config"]["train"]
    assert train["epochs"] == 2 and not train["until_stopped"]
    assert case["config"]["data"]["name"] == "spiral"
    assert case["config"]["model"]["hidden"] == [8, 8, 8]
    assert case["threads"]["dashboard"] >= 1 and case["threads"]["headless_default"] >= 1

    (rnd,) = case["rounds"]
    assert rnd["page_first"] and rnd["config_differences"] == []
    for side in ("browser", "headless_default", "headless_dashboard"):
        assert rnd[side]["samples_per_second"] > 0 and rnd[side]["seconds"] > 0
        spread = case["samples_per_second"][side]
        assert spread["min"] <= spread["median"] <= spread["max"]
        assert spread["values"] == [rnd[side]["samples_per_second"]]
    page = rnd["browser"]
    assert page["wall_s"] >= page["seconds"]
    assert set(page["cpu_s"]) == {"training_thread_s", "server_other_threads_s", "chromium_s"}
    assert sum(page["cpu_s"].values()) > 0  # the server and Chromium, read from /proc
    assert page["loss_chart_updates_seen"] >= 0
    for key in ("ratio_to_default_threads", "ratio_to_dashboard_threads"):
        assert case[key]["median"] > 0
    assert isinstance(case["meets_budget"], bool)
    assert "page / headless" in watch.format_watch(r)
    if apart:
        assert page["server_cpus"] == sorted(watch.SERVER_CPUS)
        assert "placement: apart" in watch.format_watch(r)


def test_config_differences_name_each_field():
    a = {"data": {"name": "spiral"}, "train": {"epochs": 5, "lr": 0.01}}
    b = {"data": {"name": "xor"}, "train": {"epochs": 5}}
    assert watch.config_differences(a, a) == []
    assert watch.config_differences(a, b) == ["data.name", "train.lr"]
