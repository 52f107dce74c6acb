"""The sweep file: its expansion into trials (grid order, exclusions, seeds, the MLP shorthands),
stable keys, and one clear error for each kind of bad field or bad trial."""

from __future__ import annotations

import json

import pytest

from dlviz.sweeps.spec import (
    MAX_TRIALS,
    SweepError,
    count,
    expand,
    parse,
    read_spec,
    sweep_id,
    trial_key,
)

BASE = {"data": {"name": "circle", "n_samples": 200}, "train": {"epochs": 2}}


def test_the_grid_expands_in_file_order_with_each_seed_and_exclusions_left_out():
    spec = parse(
        {
            "base": BASE,
            "grid": {"model.depth": [1, 3], "train.lr": [0.1, 0.01]},
            "exclude": [{"model.depth": 3, "train.lr": 0.01}],
            "seeds": [5, 7],
        }
    )
    trials = expand(spec)
    assert count(spec) == len(trials) == 3 * 2
    assert [(t.params["model.depth"], t.params["train.lr"], t.seed) for t in trials] == [
        (1, 0.1, 5), (1, 0.1, 7), (1, 0.01, 5), (1, 0.01, 7), (3, 0.1, 5), (3, 0.1, 7),
    ]  # fmt: skip
    t = trials[4]
    assert t.config.model.hidden == (8, 8, 8) and t.config.train.lr == 0.1
    assert t.config.train.seed == 5 and t.config.data.seed == 0  # the split stays fixed
    assert [t.index for t in trials] == list(range(6))
    assert t.label() == "model.depth=3, train.lr=0.1, seed 5"


def test_depth_and_width_are_shorthands_for_the_hidden_layers():
    spec = parse({"base": {**BASE, "model": {"hidden": [16, 16]}},
                  "grid": {"model.depth": [1, 4]}, "seeds": 1})  # fmt: skip
    assert [t.config.model.hidden for t in expand(spec)] == [(16,), (16, 16, 16, 16)]
    spec = parse({"base": BASE, "grid": {"model.width": [4], "model.depth": [2]}})
    assert expand(spec)[0].config.model.hidden == (4, 4)


def test_seed_data_moves_the_split_with_the_seed_and_a_count_of_seeds_is_a_range():
    spec = parse({"base": BASE, "grid": {}, "seeds": 3, "seed_data": True})
    trials = expand(spec)
    assert [(t.config.train.seed, t.config.data.seed) for t in trials] == [(0, 0), (1, 1), (2, 2)]
    assert [t.params for t in trials] == [{}, {}, {}]


def test_keys_depend_on_the_whole_config_only():
    a = expand(parse({"base": BASE, "grid": {"train.lr": [0.1, 0.3]}, "seeds": [0, 1]}))
    b = expand(parse({"base": BASE, "grid": {"train.lr": [0.3, 0.1]}, "seeds": [1, 0]}))
    assert {t.key for t in a} == {t.key for t in b} and len({t.key for t in a}) == 4
    assert a[0].key == trial_key(a[0].config.to_dict())
    other = expand(parse({"base": {**BASE, "train": {"epochs": 3}}, "grid": {"train.lr": [0.1]}}))
    assert other[0].key not in {t.key for t in a}
    assert sweep_id(parse({"base": BASE, "grid": {}, "name": "My study!"})).startswith("my-study-")


def test_a_base_may_be_the_path_of_a_config_file(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(BASE))
    (tmp_path / "sweep.json").write_text(json.dumps({"base": "base.json", "grid": {}}))
    assert expand(read_spec(tmp_path / "sweep.json"))[0].config.data.n_samples == 200


@pytest.mark.parametrize(
    "obj, field, words",
    [
        ([], "sweep", "must be a JSON object"),
        ({"grid": {}, "seed": [1]}, "seed", "is not a sweep field"),
        ({"base": 3}, "base", "must be a run config"),
        ({"base": "missing.json"}, "base", "does not exist"),
        ({"base": {"train": {"lr": -1}}}, "base.train.lr", ""),
        ({"base": {"trian": {}}}, "base.trian", ""),
        ({"grid": []}, "grid", "must map dotted config fields"),
        ({"grid": {"lr": [1]}}, "grid.lr", "must be a dotted field"),
        ({"grid": {"train.lr": []}}, "grid.train.lr", "non-empty list"),
        ({"grid": {"train.lr": 0.1}}, "grid.train.lr", "non-empty list"),
        ({"grid": {"train.lr": [0.1, 0.1]}}, "grid.train.lr", "lists a value twice"),
        ({"grid": {"train.seed": [1, 2]}}, "grid.train.seed", "the sweep's `seeds`"),
        ({"grid": {"train.lr": [0.1]}, "exclude": [{}]}, "exclude", "non-empty objects"),
        ({"grid": {"train.lr": [0.1]}, "exclude": [{"train.wd": 1}]}, "exclude[0].train.wd",
         "is not an axis"),
        ({"seeds": []}, "seeds", "non-empty list"),
        ({"seeds": [1, -1]}, "seeds", "whole numbers >= 0"),
        ({"seeds": [1, 1]}, "seeds", "lists a seed twice"),
        ({"seeds": 0}, "seeds", "a count from 1 to 100"),
        ({"seeds": True}, "seeds", "non-empty list"),
        ({"metric": {"name": "fun"}}, "metric.name", "must be one of"),
        ({"metric": {"name": "test_loss", "goal": "up"}}, "metric.goal", "max or min"),
        ({"seed_data": "yes"}, "seed_data", "true or false"),
    ],
)  # fmt: skip
def test_each_bad_field_is_one_error_naming_it(obj, field, words, tmp_path):
    with pytest.raises(SweepError) as e:
        parse(obj, tmp_path)
    assert e.value.field == field
    assert words in str(e.value)


def test_a_bad_trial_is_named_with_its_parameters_before_anything_runs():
    spec = parse({"base": BASE, "grid": {"train.lr": [0.1, -5.0]}, "seeds": [0, 1]})
    with pytest.raises(SweepError) as e:
        expand(spec)
    assert e.value.field == "trial 2 (train.lr=-5.0, seed 0): train.lr"
    spec = parse({"base": BASE, "grid": {"model.depth": [0]}})
    with pytest.raises(SweepError, match=r"trial 0 \(model.depth=0, seed 0\): grid.model.depth"):
        expand(spec)
    spec = parse({"base": {**BASE, "train": {"until_stopped": True}}, "grid": {}})
    with pytest.raises(SweepError, match="must end"):
        expand(spec)


def test_exclusions_that_leave_nothing_and_sweeps_over_the_cap_are_refused():
    spec = parse({"base": BASE, "grid": {"train.lr": [0.1]}, "exclude": [{"train.lr": 0.1}]})
    with pytest.raises(SweepError, match="leaves no trial"):
        expand(spec)
    big = parse({"base": BASE, "grid": {"train.lr": [i / 1000 + 0.001 for i in range(101)]},
                 "seeds": 100})  # fmt: skip
    assert count(big) == 10_100 > MAX_TRIALS
    with pytest.raises(SweepError, match="over the limit of 10,000"):
        expand(big)


def test_a_sweep_file_that_is_missing_not_json_or_not_text_says_so(tmp_path):
    with pytest.raises(SweepError, match="does not exist"):
        read_spec(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text('{"grid": ')
    with pytest.raises(SweepError, match=r"is not valid JSON \(Expecting value at line 1\)"):
        read_spec(tmp_path / "bad.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SweepError, match="is not UTF-8 text"):
        read_spec(tmp_path / "bin.json")
    (tmp_path / "base.json").write_text("[1]")
    (tmp_path / "s.json").write_text(json.dumps({"base": "base.json"}))
    with pytest.raises(SweepError, match="must hold a JSON object"):
        read_spec(tmp_path / "s.json")
