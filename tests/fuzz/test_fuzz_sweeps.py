"""Sweep files, fuzzed: any JSON, valid sweep files changed in a few places, and any text or
bytes as the file `dlviz sweep` reads give a sweep and its trials, or one SweepError naming the
field (or the trial) - never another exception; and a sweep of too many trials is refused with
a message before anything is expanded in memory."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fuzz import deep, fuzz, json_values, mutated_json, peaks, tally

from dlviz.sweeps import spec as sweeps
from dlviz.sweeps.spec import MAX_TRIALS, SweepError, count, expand, parse, read_spec

BASE = {"data": {"name": "circle", "n_samples": 100}, "train": {"epochs": 2}}
VALID = [
    {},
    {"base": BASE, "grid": {"train.lr": [0.1, 0.01]}, "seeds": 2},
    {
        "base": BASE,
        "grid": {"model.depth": [1, 3], "model.width": [4, 8], "model.residual": [False, True]},
        "exclude": [{"model.depth": 1, "model.residual": True}],
        "seeds": [0, 5],
        "metric": {"name": "test_loss", "goal": "min"},
        "seed_data": True,
        "name": "depth study",
    },
    {"base": {"model": {"arch": "cnn"}}, "grid": {"train.optimizer": ["sgd", "adam"]}},
    {"grid": {"model.hidden": [[4], [8, 8]], "data.noise": [0.0, 0.3]}, "metric": "seconds"},
    {"base": BASE, "grid": {"model.depth": [2]}, "exclude": [{"model.depth": 3}], "seeds": 1},
]
WORDS = tuple(
    sorted(sweeps.TOP_LEVEL)
    + sorted(sweeps.METRICS)
    + ["max", "min", "train.lr", "train.seed", "model.depth", "model.width", "model.hidden"]
    + ["data.name", "data.noise", "model.arch", "train.until_stopped", "goal", "base.json"]
    + ["data", "model", "train", "hidden", "lr", "spiral", "cnn", "gan", "lstm"]
)
FIELD_HEADS = {"sweep", "trial", "base", "metric", *sweeps.TOP_LEVEL}


def check(obj: object) -> None:
    """A sweep whose every trial is a run config, or one SweepError naming where."""
    try:
        spec = parse(obj)
        n = count(spec)
        trials = expand(spec)
    except SweepError as e:
        tally("refused")
        assert isinstance(e.field, str) and e.field, e
        assert str(e).startswith(f"{e.field}: "), e
        given = set(obj) | {json.dumps(k) for k in obj} if isinstance(obj, dict) else set()
        heads = FIELD_HEADS | given
        assert any(e.field.startswith(h) for h in heads), e
        return
    tally("accepted")
    assert len(trials) == n >= 1
    assert [t.index for t in trials] == list(range(n))


@fuzz(300)
@given(json_values(WORDS))
def test_any_json_value_is_a_sweep_or_one_named_error(obj):
    check(obj)


@fuzz(400)
@given(mutated_json(VALID, WORDS))
def test_valid_sweep_files_changed_in_a_few_places_are_a_sweep_or_one_named_error(obj):
    check(obj)


@fuzz(120)
@given(
    st.binary(max_size=300)
    | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | mutated_json(VALID, WORDS).map(lambda v: json.dumps(v, allow_nan=True).encode())
)
def test_any_sweep_file_is_read_or_refused_in_words(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("sweep") / "sweep.json"
    path.write_bytes(data)
    try:
        spec = read_spec(path)
        expand(spec)
    except SweepError as e:
        assert e.field, e


# --- too many trials ------------------------------------------------------------------------------


EXPLODING = {"grid": {f"train.x{i}": list(range(10)) for i in range(12)}}  # 10^12 combinations


@pytest.mark.parametrize(
    "grid, exclude",
    [
        (EXPLODING["grid"], []),
        (EXPLODING["grid"], [{"train.x0": 1}]),
        ({"train.lr": list(range(10_000))}, [{"train.lr": -k} for k in range(1, 1_001)]),
    ],
    ids=["a trillion", "a trillion, one left out", "10,000 against 1,000 exclusions"],
)
def test_a_sweep_of_a_trillion_trials_is_refused_without_being_built(grid, exclude):
    """Was: `count` built every combination in a list before comparing with the limit: 12
    axes of 10 values took all the memory there was; and it checked every combination against
    every exclusion, however many (10 million checks here)."""
    spec = parse({"grid": grid, "exclude": exclude})
    with pytest.raises(SweepError, match="over the limit") as e:
        expand(spec)
    assert e.value.field in ("sweep", "grid")
    # what the page and `dlviz sweep` do first: count, in bounded memory and at once
    call = f"""
        try:
            print(count(parse({json.dumps({"grid": grid, "exclude": exclude})})))
        except SweepError as e:
            assert "over the limit" in str(e), e
    """
    mb = peaks("from dlviz.sweeps.spec import SweepError, count, parse", {"count": call}, 60)
    assert mb["count"] < 50, mb


def test_a_sweep_just_over_the_limit_is_refused_and_one_at_the_limit_is_not():
    over = parse({"base": BASE, "grid": {"train.lr": [0.1, 0.01]}, "seeds": 100})
    assert count(over) == 200
    with pytest.raises(SweepError, match="over the limit of 100"):
        expand(over, limit=100)
    assert len(expand(over, limit=200)) == 200
    assert count(parse(EXPLODING)) == 10**12 > MAX_TRIALS


# --- regressions: each bug found while fuzzing, with the input that showed it -------------------


def test_a_metric_name_that_is_a_list_is_one_named_error():
    """Was: a list as metric.name hit a dict lookup (TypeError)."""
    with pytest.raises(SweepError) as e:
        parse({"metric": {"name": []}})
    assert e.value.field == "metric.name"


@pytest.mark.parametrize(
    "grid, field",
    [
        ({"model.hidden": [5], "model.depth": [2]}, "model.hidden"),  # hidden[0] of an int
        ({"model.hidden": [{"a": 1}], "model.width": [2]}, "model.hidden"),
        ({"model.depth": [10**12]}, "grid.model.depth"),  # [8] * 10^12: every byte there is
        ({"model.width": [4], "model.depth": [10**9]}, "grid.model.depth"),
    ],
)
def test_the_depth_and_width_shorthands_refuse_what_they_cannot_build(grid, field):
    """Was: the shorthands indexed a model.hidden that was not a list
    (TypeError, KeyError), and built a list of `depth` widths before any check (MemoryError)."""
    with pytest.raises(SweepError) as e:
        expand(parse({"base": BASE, "grid": grid}))
    assert field in e.value.field


@pytest.mark.parametrize(
    "text",
    [deep(5_000), '{"seeds": ' + "7" * 5_000 + "}", '{"base": "' + "a" * 5_000 + '"}'],
)
def test_a_sweep_file_too_deep_with_too_long_a_number_or_base_path_is_one_named_error(
    text, tmp_path
):
    """Was: json.loads raised RecursionError, or ValueError for a number of
    over 4,300 digits; a base path longer than the system allows raised OSError."""
    path = tmp_path / "sweep.json"
    path.write_text(text)
    with pytest.raises(SweepError) as e:
        read_spec(path)
    assert e.value.field in ("sweep", "base")


@pytest.mark.parametrize(
    "obj, field",
    [({"": None}, '""'), ({"grid": {"": [1]}}, 'grid.""'),
     ({"grid": {"train.lr": [1]}, "exclude": [{" ": 1}]}, 'exclude[0]." "')],
)  # fmt: skip
def test_a_blank_key_in_a_sweep_file_is_named_in_quotes(obj, field):
    """Was: an empty key made the message start ": is not a sweep field", naming nothing."""
    with pytest.raises(SweepError) as e:
        parse(obj)
    assert e.value.field == field
