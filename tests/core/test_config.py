import json
import math
from dataclasses import FrozenInstanceError

import pytest

from dlviz.config import ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig, preset

DESIGN_EXAMPLE = {
    "data": {"name": "spiral", "n_samples": 1000, "noise": 0.1, "test_fraction": 0.3, "seed": 0},
    "model": {
        "arch": "mlp",
        "hidden": [8, 8, 8],
        "activation": "relu",
        "residual": False,
        "norm": "none",
        "dropout": 0.0,
    },
    "train": {
        "optimizer": "adam",
        "lr": 0.01,
        "batch_size": 32,
        "epochs": 50,
        "weight_decay": 0.0,
        "seed": 0,
        "device": "auto",
    },
}


def test_defaults_are_the_design_example_with_the_same_field_names():
    d = RunConfig().to_dict()
    for section, values in DESIGN_EXAMPLE.items():
        assert {k: d[section][k] for k in values} == values  # every documented name and value
    assert RunConfig.from_dict(DESIGN_EXAMPLE) == RunConfig()
    # fields added since (image data, convolutional models) keep their defaults
    assert d["data"]["image_size"] == 0 and d["data"]["channels"] == 1 and d["data"]["clutter"] == 0
    assert (
        d["model"]["blocks"] == [] and d["model"]["head"] == [] and d["model"]["head_pool"] == "avg"
    )


def test_json_round_trip_keeps_every_value():
    cfg = RunConfig.from_dict(
        {
            "name": "deep sigmoid",
            "data": {
                "name": "circle",
                "n_samples": 300,
                "noise": 0.25,
                "test_fraction": 0.5,
                "seed": 7,
            },
            "model": {
                "hidden": [16, 4],
                "activation": "sigmoid",
                "residual": True,
                "norm": "layer",
                "dropout": 0.2,
            },
            "train": {
                "optimizer": "momentum",
                "lr": 0.3,
                "batch_size": 8,
                "epochs": 3,
                "weight_decay": 0.001,
                "seed": 9,
                "device": "cpu",
            },
        }
    )
    again = RunConfig.from_json(cfg.to_json())
    assert again == cfg
    assert again.model.hidden == (16, 4)
    assert json.loads(cfg.to_json())["model"]["hidden"] == [16, 4]
    assert again.name == "deep sigmoid"


def test_missing_fields_take_defaults():
    cfg = RunConfig.from_dict({"train": {"epochs": 5}})
    assert cfg.train.epochs == 5
    assert cfg.data == DataConfig()
    assert cfg.model == ModelConfig()


def test_configs_are_frozen():
    cfg = RunConfig()
    with pytest.raises(FrozenInstanceError):
        cfg.train.lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "section, values, field",
    [
        ("data", {"name": "swirl"}, "data.name"),
        ("data", {"n_samples": 5}, "data.n_samples"),
        ("data", {"n_samples": 10**9}, "data.n_samples"),
        ("data", {"n_samples": 100.5}, "data.n_samples"),
        ("data", {"noise": -0.1}, "data.noise"),
        ("data", {"noise": "lots"}, "data.noise"),
        ("data", {"test_fraction": 1.0}, "data.test_fraction"),
        ("model", {"arch": "nonesuch"}, "model.arch"),
        ("model", {"hidden": []}, "model.hidden"),
        ("model", {"hidden": [8] * 33}, "model.hidden"),
        ("model", {"hidden": "8,8"}, "model.hidden"),
        ("model", {"hidden": [8, 0]}, "model.hidden[1]"),
        ("model", {"hidden": [8, 4096]}, "model.hidden[1]"),
        ("model", {"activation": "swish"}, "model.activation"),
        ("model", {"norm": "group"}, "model.norm"),
        ("model", {"residual": "yes"}, "model.residual"),
        ("model", {"dropout": 0.95}, "model.dropout"),
        ("train", {"optimizer": "rmsprop"}, "train.optimizer"),
        ("train", {"lr": 0}, "train.lr"),
        ("train", {"lr": -1}, "train.lr"),
        ("train", {"lr": float("nan")}, "train.lr"),
        ("train", {"lr": True}, "train.lr"),
        ("train", {"batch_size": 0}, "train.batch_size"),
        ("train", {"epochs": 1.5}, "train.epochs"),
        ("train", {"weight_decay": 2}, "train.weight_decay"),
        ("train", {"device": "gpu"}, "train.device"),
        ("train", {"device": "cuda:x"}, "train.device"),
        ("train", {"seed": -3}, "train.seed"),
        ("train", {"augment": {"crop": 0.9}}, "train.augment.crop"),
        ("train", {"augment": {"rotate": -5}}, "train.augment.rotate"),
        ("train", {"augment": {"flip": "yes"}}, "train.augment.flip"),
        ("train", {"augment": {"jitter": 2}}, "train.augment.jitter"),
        ("train", {"augment": {"mixup": 0.2}}, "train.augment.mixup"),
        ("train", {"augment": [1]}, "train.augment"),
        ("data", {"name": "upload", "n_samples": 1}, "data.n_samples"),
        ("data", {"name": "upload", "n_samples": 20, "image_size": 4}, "data.image_size"),
        ("data", {"name": "sort", "per_class": 5}, "data.per_class"),
        ("data", {"name": "parens", "length": 7}, "data.length"),
        ("data", {"name": "sines", "length": 300}, "data.length"),
        ("data", {"name": "copy", "horizon": 4}, "data.horizon"),
        ("model", {"arch": "transformer", "hidden_size": 30, "heads": 4}, "model.heads"),
        ("model", {"arch": "lstm", "layers": 5}, "model.layers"),
        ("train", {"clip": -1}, "train.clip"),
    ],
)
def test_a_bad_value_names_its_field(section, values, field):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({section: values})
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_unknown_fields_and_sections_are_errors_not_ignored():
    with pytest.raises(ConfigError, match=r"train\.learning_rate: is not a known field"):
        RunConfig.from_dict({"train": {"learning_rate": 0.1}})
    with pytest.raises(ConfigError, match="optim"):
        RunConfig.from_dict({"optim": {}})
    with pytest.raises(ConfigError, match="data: must be a JSON object"):
        RunConfig.from_dict({"data": [1, 2]})
    with pytest.raises(ConfigError, match="config: must be a JSON object"):
        RunConfig.from_dict([1])


def test_invalid_json_is_a_config_error_with_position():
    with pytest.raises(ConfigError, match=r"config: is not valid JSON .* line 1"):
        RunConfig.from_json("{data: 1}")


def test_with_changes_validates_again():
    cfg = RunConfig().with_changes(train={"lr": 0.5}, model={"hidden": [4, 4]})
    assert cfg.train.lr == 0.5 and cfg.model.hidden == (4, 4)
    with pytest.raises(ConfigError, match="train.lr"):
        RunConfig().with_changes(train={"lr": -1.0})


def test_presets_change_only_the_hidden_layers():
    base = RunConfig().with_changes(data={"name": "moons"}, train={"lr": 0.003, "seed": 4})
    shallow, deep = preset("shallow", base), preset("deep", base)
    assert shallow.model.hidden == (8,)
    assert deep.model.hidden == (8,) * 6
    for cfg in (shallow, deep):
        assert cfg.data == base.data and cfg.train == base.train
        assert cfg.model.activation == base.model.activation
    with pytest.raises(ConfigError):
        preset("medium")


def test_integral_floats_are_accepted_for_float_fields():
    cfg = TrainConfig(lr=1, weight_decay=0)
    assert math.isclose(cfg.lr, 1.0)


def test_batch_norm_with_single_sample_batches_is_refused_with_a_way_out():
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"model": {"norm": "batch"}, "train": {"batch_size": 1}})
    assert err.value.field == "train.batch_size"
    assert "batch size of 2 or more" in str(err.value)
    RunConfig.from_dict({"model": {"norm": "layer"}, "train": {"batch_size": 1}})


CNN = {
    "data": {"name": "shapes", "n_samples": 600, "image_size": 32, "channels": 3, "clutter": 2},
    "model": {
        "arch": "cnn",
        "blocks": [
            {"channels": 8, "kernel": 5, "pool": "max"},
            {
                "channels": 16,
                "stride": 2,
                "norm": "batch",
                "activation": "gelu",
                "residual": True,
                "dropout": 0.1,
            },
        ],
        "head": [32],
        "head_pool": "flatten",
    },
}


def test_cnn_configs_round_trip_with_their_blocks():
    cfg = RunConfig.from_dict(CNN)
    assert cfg.model.blocks[0].kernel == 5 and cfg.model.blocks[1].residual is True
    assert cfg.model.depth == 2 and cfg.data.size == 32 and cfg.data.is_image
    assert RunConfig.from_json(cfg.to_json()) == cfg
    assert json.loads(cfg.to_json())["model"]["blocks"][1]["norm"] == "batch"


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"model": {"arch": "cnn", "blocks": []}}, "model.blocks"),
        ({"model": {"arch": "cnn", "blocks": [{"kernel": 4}]}}, "model.blocks[0].kernel"),
        ({"model": {"arch": "cnn", "blocks": [{"channels": 0}]}}, "model.blocks[0].channels"),
        ({"model": {"arch": "cnn", "blocks": [{"pool": "median"}]}}, "model.blocks[0].pool"),
        (
            {"model": {"arch": "cnn", "blocks": [{"activation": "swish"}]}},
            "model.blocks[0].activation",
        ),
        ({"model": {"arch": "cnn", "blocks": [{"size": 3}]}}, "model.blocks[0].size"),
        ({"model": {"arch": "cnn", "blocks": [{}], "head": [0]}}, "model.head[0]"),
        ({"model": {"arch": "cnn", "blocks": [{}], "head_pool": "max"}}, "model.head_pool"),
        ({"data": {"name": "digits", "n_samples": 5000}}, "data.n_samples"),
        ({"data": {"name": "digits", "channels": 3}}, "data.channels"),
        ({"data": {"name": "shapes", "channels": 2}}, "data.channels"),
        ({"data": {"name": "shapes", "image_size": 8}}, "data.image_size"),
        ({"data": {"name": "shapes", "image_size": 65}}, "data.image_size"),
        (
            {"data": {"name": "shapes", "n_samples": 200000, "channels": 3, "image_size": 64}},
            "data.n_samples",
        ),
    ],
)
def test_bad_image_and_cnn_values_name_their_field(patch, field):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict(patch)
    assert err.value.field == field


def test_augmentation_round_trips_and_is_off_by_default():
    assert not RunConfig().train.augment.active
    d = {"train": {"augment": {"flip": True, "crop": 0.1, "rotate": 15, "jitter": 0.2}}}
    cfg = RunConfig.from_dict(d)
    assert cfg.train.augment.active and cfg.train.augment.rotate == 15
    assert RunConfig.from_json(cfg.to_json()) == cfg
    assert cfg.to_dict()["train"]["augment"] == {
        "flip": True, "crop": 0.1, "rotate": 15, "jitter": 0.2, "shift": 0.0, "noise": 0.0,
        "gain": 0.0, "time_mask": 0, "freq_mask": 0
    }  # fmt: skip


def test_an_upload_config_describes_the_data_but_cannot_be_loaded_outside_its_session():
    from dlviz.data import load_dataset

    cfg = RunConfig.from_dict({"data": {"name": "upload", "n_samples": 6, "image_size": 32}})
    assert cfg.data.is_image and cfg.data.size == 32
    with pytest.raises(ValueError, match="Download as ZIP"):
        load_dataset(cfg.data)


def test_a_cnn_without_blocks_is_the_image_labs_deep_preset():
    from dlviz.config import DEEP_BLOCKS

    cfg = RunConfig.from_dict({"model": {"arch": "cnn"}})
    assert cfg.model.blocks == DEEP_BLOCKS and cfg.model.norm == "batch"
    assert cfg.data.name == "shapes"  # a cnn's data, when none is named, is images
    assert RunConfig.from_json(cfg.to_json()) == cfg  # saved with its blocks: reproducible
    own = RunConfig.from_dict({"model": {"arch": "cnn", "norm": "none"}})
    assert own.model.blocks == DEEP_BLOCKS and own.model.norm == "none"  # what is given stays
    assert ModelConfig().norm == "none" and ModelConfig().blocks == ()
    with pytest.raises(ConfigError, match="a cnn needs 1 to 32 blocks, got 0"):
        ModelConfig(arch="cnn", blocks=())  # an empty list on purpose is still an error
    with pytest.raises(ConfigError, match="a cnn needs images, and spiral is 2-D points"):
        RunConfig.from_dict({"data": {"name": "spiral"}, "model": {"arch": "cnn"}})
