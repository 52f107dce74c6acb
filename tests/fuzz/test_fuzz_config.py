"""Run configs, fuzzed: any JSON value, valid configs changed in a few places, any text and any
bytes given to `dlviz train CONFIG.json` give a RunConfig or one ConfigError naming the field,
never another exception; an accepted config saves and loads back the same (the run store keeps
it as JSON)."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fuzz import deep, fuzz, json_values, mutated_json, tally

from dlviz import cli, config
from dlviz.config import (
    AugmentConfig,
    ConfigError,
    ConvBlock,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    TransferConfig,
)

SECTIONS = ("data", "model", "train", "transfer")
# Valid configs of every kind of run: what the mutations start from.
VALID = [
    {},
    {"data": {"name": "xor", "n_samples": 200}, "model": {"hidden": [4, 4]}, "name": "mine"},
    {"data": {"name": "shapes", "image_size": 16, "n_samples": 100}, "model": {"arch": "cnn"}},
    {
        "data": {"name": "digits"},
        "model": {"arch": "cnn", "blocks": [{"channels": 8, "pool": "max"}], "head": [16]},
        "train": {"augment": {"flip": True, "crop": 0.1}, "optimizer": "sgd"},
    },
    {"data": {"name": "temporal_order", "length": 20}, "model": {"arch": "lstm", "layers": 2}},
    {"data": {"name": "chars"}, "model": {"arch": "transformer", "heads": 4}},
    {"data": {"name": "sines", "horizon": 4}, "model": {"arch": "gru"}},
    {"data": {"name": "sentiment"}, "model": {"arch": "bow"}},
    {"data": {"name": "tones", "features": "mfcc", "mels": 20}, "train": {"augment": {"gain": 3}}},
    {"data": {"name": "chirps", "features": "wave"}, "model": {"arch": "cnn1d"}},
    {
        "data": {"name": "ring"},
        "model": {"arch": "gan", "loss": "wgan_gp"},
        "train": {"lr_d": 0.01},
    },
    {"data": {"name": "digits"}, "model": {"arch": "gan", "conditional": True}},
    {"data": {"name": "moons"}, "model": {"arch": "diffusion", "steps": 50}},
    {"data": {"name": "spiral"}, "model": {"arch": "vae", "latent": 4, "beta": 0.5}},
    {"data": {"name": "folder", "path": "/tmp/pictures"}, "transfer": {"backbone": "shapes"}},
    {"data": {"name": "shapes"}, "transfer": {"backbone": "x.pt", "strategy": "finetune_top"}},
    RunConfig().to_dict(),
]
# Every field name and every choice a config knows: mutations put them where they do not go.
WORDS = tuple(
    sorted(
        {
            f.name
            for cls in (DataConfig, ModelConfig, TrainConfig, TransferConfig)
            for f in fields(cls)
        }
        | {f.name for cls in (AugmentConfig, ConvBlock) for f in fields(cls)}
        | set(SECTIONS)
        | set(config.DATASETS + config.ARCHS + config.OPTIMIZERS + config.SOUND_FEATURES)
        | set(config.GAN_LOSSES + config.NORMS + config.POOLS + config.ZOO_MODELS)
        | {"cuda", "cuda:0", "mps", "cpu", "auto", "name"}
    )
)


def assert_names_its_field(e: ConfigError, given: object) -> None:
    """One message that starts with the field it is about, a field of the config (or the
    unknown key the person wrote)."""
    assert isinstance(e.field, str) and e.field, e
    text = str(e)
    assert text.startswith(f"{e.field}: ") and len(text) > len(e.field) + 3, text
    known = {"config", "name", *SECTIONS}
    if isinstance(given, dict):  # an unknown key, as written (in quotes when blank)
        known |= set(given) | {json.dumps(k) for k in given}
    assert any(e.field == k or e.field.startswith((f"{k}.", f"{k}[")) for k in known), text


def check(obj: object) -> None:
    """A RunConfig that round-trips through JSON, or one ConfigError naming the field."""
    try:
        cfg = RunConfig.from_dict(obj)
    except ConfigError as e:
        tally("refused")
        assert_names_its_field(e, obj)
        return
    tally("accepted")
    assert isinstance(cfg, RunConfig)
    assert RunConfig.from_json(cfg.to_json()) == cfg  # what the run store saves loads back


@fuzz(400)
@given(json_values(WORDS))
def test_any_json_value_is_a_config_or_one_named_error(obj):
    check(obj)


@fuzz(150)
@given(st.dictionaries(st.sampled_from(SECTIONS + ("name",)), json_values(WORDS), max_size=4))
def test_any_sections_are_a_config_or_one_named_error(obj):
    check(obj)


@fuzz(500)
@given(mutated_json(VALID, WORDS))
def test_valid_configs_changed_in_a_few_places_are_a_config_or_one_named_error(obj):
    check(obj)


@fuzz(150)
@given(
    st.text(max_size=200)
    | json_values(WORDS).map(lambda v: json.dumps(v, allow_nan=True))
    | mutated_json(VALID, WORDS).map(lambda v: json.dumps(v, allow_nan=True)[:-1])
)
def test_any_text_is_a_config_or_one_named_error(text):
    try:
        RunConfig.from_json(text)
    except ConfigError as e:
        assert e.field, e


@fuzz(120)
@given(
    st.binary(max_size=300)
    | mutated_json(VALID, WORDS).map(lambda v: json.dumps(v, allow_nan=True).encode("utf-8"))
    | st.text(max_size=100).map(lambda t: t.encode("utf-16"))
)
def test_any_config_file_given_to_dlviz_train_is_read_or_refused_in_words(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("config") / "config.json"
    path.write_bytes(data)
    try:
        cli.load_config(str(path))
    except ConfigError as e:
        assert e.field, e


# --- regressions: each bug found while fuzzing, with the input that showed it -------------------


@pytest.mark.parametrize(
    "obj, field",
    [
        ({"data": {"name": []}}, "data.name"),
        ({"data": {"name": {}}}, "data.name"),
        ({"data": {"n_samples": 10**400}}, "data.n_samples"),
        ({"train": {"lr": -(10**400)}}, "train.lr"),
        ({"model": {"hidden": [10**400]}}, "model.hidden[0]"),
    ],
)
def test_an_unhashable_name_or_a_huge_whole_number_is_one_named_error(obj, field):
    """Was: a list or object as data.name hit a dict lookup (TypeError), and
    a whole number too large for a float raised OverflowError in the finiteness check."""
    with pytest.raises(ConfigError) as e:
        RunConfig.from_dict(obj)
    assert e.value.field == field


@pytest.mark.parametrize(
    "text",
    [
        deep(5_000),  # deeper than Python's recursion limit
        '{"data": {"seed": '
        + "9" * 5_000
        + "}}",  # a number Python will not read (over 4,300 digits)
        "1" * 5_000,
    ],
)
def test_config_text_too_deep_or_with_too_long_a_number_is_one_named_error(text, tmp_path):
    """Was: json.loads raised RecursionError, or ValueError (not a
    JSONDecodeError) for a number of over 4,300 digits; both escaped as crashes."""
    with pytest.raises(ConfigError) as e:
        RunConfig.from_json(text)
    assert e.value.field == "config"
    path = tmp_path / "config.json"
    path.write_text(text)
    assert cli.main(["train", str(path)]) == cli.EXIT_USAGE  # "bad config: ...", no traceback


def test_transfer_settings_without_a_backbone_save_and_load_back_the_same():
    """Was: a config naming a transfer strategy but no backbone was accepted, and saved
    without its transfer section (only an active one was written): the run store's copy read
    back as another config (strategy frozen). Found by the long fuzz run."""
    cfg = RunConfig.from_dict(
        {"data": {"name": "shapes"}, "transfer": {"strategy": "finetune_top"}}
    )
    assert RunConfig.from_json(cfg.to_json()) == cfg
    assert "transfer" not in RunConfig().to_dict()  # an untouched section still is not written


@pytest.mark.parametrize(
    "obj, field",
    [({"": None}, '""'), ({" ": 1}, '" "'), ({"data": {"": 1}}, 'data.""'),
     ({"train": {"augment": {"\t": 1}}}, 'train.augment."\\t"')],
)  # fmt: skip
def test_a_blank_unknown_key_is_named_in_quotes(obj, field):
    """Was: an unknown key that is empty or blank made the message start ": is not a config
    section", naming nothing a person can see."""
    with pytest.raises(ConfigError) as e:
        RunConfig.from_dict(obj)
    assert e.value.field == field and str(e.value).startswith(f"{field}: is not")
