"""Transfer learning: the source task, freezing, the strategies, backbones from files and from
the run store, the experiments and their readings - checked against plain torch and hand
computations on tiny models."""

from __future__ import annotations

import io
import json
import math
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_safetensors
from torch import nn

from dlviz import jobs, transfer
from dlviz.config import ConfigError, ConvBlock, DataConfig, ModelConfig, RunConfig, TrainConfig
from dlviz.data import image_dataset, limit_per_class, load_dataset
from dlviz.data.source import CLASSES, generate_source, outline_mask
from dlviz.labs.transfer import efficiency
from dlviz.models import build_model, count_parameters
from dlviz.train import fit, make_optimizer

TINY = ModelConfig(
    arch="cnn",
    blocks=(ConvBlock(4), ConvBlock(6, pool="max"), ConvBlock(8)),
    norm="batch",
    residual=True,
)
SHAPE = (3, 16, 16)
IMAGES = DataConfig(name="shapes", image_size=16, channels=3)


def tiny_backbone(seed: int = 0) -> transfer.Backbone:
    model = build_model(TINY, SHAPE, 5, seed=seed)
    with torch.no_grad():  # batch-norm statistics a pretrained network would have
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    weights = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("blocks.")}
    return transfer.Backbone("tiny", TINY, SHAPE, weights, {"name": "tiny"})


def tiny_images(n=60, classes=3, channels=3, size=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, channels, size, size)).astype(np.float32)
    y = (np.arange(n) % classes).astype(np.int64)
    x[:, 0] += y[:, None, None] * 0.3  # learnable
    return image_dataset("t", np.clip(x, 0, 1), y, tuple("abc"[:classes]), 0.3, seed)


# --- the source task --------------------------------------------------------------------------


def test_the_source_task_is_balanced_reproducible_and_in_range():
    x, y = generate_source(96, size=24, seed=3)
    assert x.shape == (96, 3, 24, 24) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert np.bincount(y, minlength=len(CLASSES)).tolist() == [4] * 24
    x2, y2 = generate_source(96, size=24, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, generate_source(96, size=24, seed=4)[0])
    assert not set(transfer_outlines()) & {"circle", "square", "triangle", "star", "cross", "line"}


def transfer_outlines():
    from dlviz.data.source import OUTLINES

    return OUTLINES


def test_outline_masks_by_hand():
    px, py = np.meshgrid(np.arange(21) - 10.0, np.arange(21) - 10.0)
    ring = outline_mask("ring", 0, 0, 10, 0.0, px, py)
    assert not ring[10, 10] and ring[10, 0] and ring[10, 18]  # a hole in the middle
    ellipse = outline_mask("ellipse", 0, 0, 10, 0.0, px, py)
    assert ellipse[10, 1] and not ellipse[1, 10]  # 10 wide along x, 5 along y
    turned = outline_mask("ellipse", 0, 0, 10, math.pi / 2, px, py)
    assert turned[1, 10] and not turned[10, 1]
    hexagon = outline_mask("hexagon", 0, 0, 10, 0.0, px, py)
    assert abs(hexagon.sum() - 1.5 * math.sqrt(3) * 100) < 25  # area of a regular hexagon
    with pytest.raises(KeyError, match="unknown outline"):
        outline_mask("blob", 0, 0, 1, 0, px, py)


# --- fewer labelled images ----------------------------------------------------------------------


def test_limit_per_class_keeps_k_of_each_class_nested_and_the_test_set_whole():
    data = tiny_images(90)
    two, five = limit_per_class(data, 2, seed=1), limit_per_class(data, 5, seed=1)
    assert torch.bincount(two.y_train).tolist() == [2, 2, 2]
    assert torch.bincount(five.y_train).tolist() == [5, 5, 5]
    assert torch.equal(two.x_test, data.x_test) and torch.equal(two.y_test, data.y_test)
    rows = {tuple(r.flatten()[:8].tolist()) for r in five.x_train}
    assert all(tuple(r.flatten()[:8].tolist()) in rows for r in two.x_train)  # nested
    assert torch.equal(limit_per_class(data, 2, seed=1).x_train, two.x_train)
    assert not torch.equal(limit_per_class(data, 2, seed=2).x_train, two.x_train)
    assert limit_per_class(data, 0, seed=1) is data
    cfg = DataConfig(name="shapes", n_samples=120, per_class=3, image_size=16)
    assert torch.bincount(load_dataset(cfg).y_train).tolist() == [3] * 6


# --- freezing -----------------------------------------------------------------------------------


def test_frozen_blocks_get_no_gradient_no_optimizer_state_and_keep_their_statistics():
    b = tiny_backbone()
    model = transfer.build(b, RunConfig(transfer={"backbone": "x"}).transfer, 3, seed=0)
    assert model.frozen_blocks == 3
    frozen = [p for p in model.blocks.parameters()]
    assert all(not p.requires_grad for p in frozen)
    opt = make_optimizer(model, TrainConfig(optimizer="adam", lr=0.01))
    in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
    assert in_opt == {id(p) for p in model.out.parameters()}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = tiny_images()
    state = fit(model, data, TrainConfig(lr=0.01, epochs=3, batch_size=8), torch.device("cpu"))
    assert state.status == "finished"
    assert state.trainable_params == count_parameters(model.out) == 8 * 3 + 3
    after = model.state_dict()
    for k, v in before.items():
        if k.startswith("blocks."):  # weights *and* running statistics unchanged
            assert torch.equal(v, after[k]), k
    assert not torch.equal(before["out.weight"], after["out.weight"])
    assert all(p.grad is None for p in frozen)
    model.train()  # the blocks stay in eval mode whatever the model's mode
    assert model.training and not any(blk.training for blk in model.blocks)


def test_fine_tune_top_and_all_set_learning_rates_per_group():
    b = tiny_backbone()
    top = RunConfig(
        transfer={"backbone": "x", "strategy": "finetune_top", "top_blocks": 1,
                  "backbone_lr_factor": 0.1}
    ).transfer  # fmt: skip
    model = transfer.build(b, top, 3, seed=0)
    assert model.frozen_blocks == 2
    assert [blk.training for blk in model.train().blocks] == [False, False, True]
    opt = make_optimizer(model, TrainConfig(optimizer="sgd", lr=0.5))
    lrs = sorted((g["lr"], sum(p.numel() for p in g["params"])) for g in opt.param_groups)
    assert lrs == [
        (pytest.approx(0.05), count_parameters(model.blocks[2])),
        (0.5, count_parameters(model.out)),
    ]
    every = transfer.build(b, top.__class__(backbone="x", strategy="finetune_all"), 3, seed=0)
    opt = make_optimizer(every, TrainConfig(optimizer="sgd", lr=0.5))
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == count_parameters(every)
    # the SGD step by hand: a block moves by 0.05 * grad, the output by 0.5 * grad
    x = torch.rand(4, *SHAPE)
    w0, o0 = every.blocks[0].conv.weight.clone(), every.out.weight.clone()
    every.train()
    nn.functional.cross_entropy(every(x), torch.tensor([0, 1, 2, 0])).backward()
    gw, go = every.blocks[0].conv.weight.grad.clone(), every.out.weight.grad.clone()
    opt.step()
    assert torch.allclose(every.blocks[0].conv.weight, w0 - 0.05 * gw, atol=1e-7)
    assert torch.allclose(every.out.weight, o0 - 0.5 * go, atol=1e-7)


def test_strategies_load_or_skip_the_pretrained_weights():
    b = tiny_backbone()
    tc = RunConfig(transfer={"backbone": "x"}).transfer
    for strategy in ("frozen", "finetune_top", "finetune_all"):
        model = transfer.build(b, tc.__class__(backbone="x", strategy=strategy), 3, seed=1)
        for k, v in b.weights.items():
            assert torch.equal(model.state_dict()[k], v), (strategy, k)
    scratch = transfer.build(b, tc.__class__(backbone="x", strategy="scratch"), 3, seed=1)
    assert not torch.equal(scratch.blocks[0].conv.weight, b.weights["blocks.0.conv.weight"])
    assert scratch.frozen_blocks == 0
    assert count_parameters(scratch, trainable_only=True) == count_parameters(scratch)


def test_the_plan_counts_what_trains_as_the_built_model_does():
    b = tiny_backbone()
    for strategy in ("scratch", "frozen", "finetune_top", "finetune_all"):
        cfg = RunConfig(transfer={"backbone": "x", "strategy": strategy, "top_blocks": 1}).transfer
        rows = transfer.plan(b, cfg, 4)
        model = transfer.build(b, cfg, 4, seed=0)
        assert [r["layer"] for r in rows] == ["conv1", "conv2", "conv3", "output"]
        assert sum(r["params"] for r in rows) == count_parameters(model)
        trainable = sum(r["params"] for r in rows if r["role"] != "frozen")
        assert trainable == count_parameters(model, trainable_only=True), strategy
    roles = [r["role"] for r in transfer.plan(b, cfg, 4)]
    assert roles == ["fine-tuned"] * 3 + ["new"]


def test_weight_change_against_plain_torch():
    b = tiny_backbone()
    model = transfer.build(b, RunConfig(transfer={"backbone": "x"}).transfer, 3, seed=0)
    with torch.no_grad():
        model.blocks[1].conv.weight.mul_(1.5)
    change = transfer.weight_change(model, b)
    assert list(change) == ["conv1", "conv2", "conv3"]
    assert change["conv1"] == 0.0 and change["conv3"] == 0.0
    assert change["conv2"] == pytest.approx(0.5, rel=1e-6)


def test_adapt_data_repeats_grey_and_resizes():
    grey = tiny_images(channels=1, size=8)
    out = transfer.adapt_data(grey, (3, 16, 16))
    assert out.input_shape == (3, 16, 16)
    assert torch.equal(out.x_train[:, 0], out.x_train[:, 2])
    ref = nn.functional.interpolate(grey.x_test, size=(16, 16), mode="bilinear")
    assert torch.allclose(out.x_test[:, 1:2], ref.clamp(0, 1), atol=1e-6)
    assert transfer.adapt_data(out, (3, 16, 16)) is out
    colour = transfer.adapt_data(tiny_images(), (1, 16, 16))
    assert colour.input_shape == (1, 16, 16)


# --- backbones from files -----------------------------------------------------------------------


def card_bytes(b: transfer.Backbone) -> bytes:
    card = {"name": "tiny", "model": json.loads(RunConfig(IMAGES, TINY).to_json())["model"],
            "input_shape": list(SHAPE)}  # fmt: skip
    return save_safetensors(b.weights, metadata={transfer.METADATA_KEY: json.dumps(card)})


def test_a_safetensors_backbone_with_its_card_reads_back():
    b = tiny_backbone()
    back = transfer.read_backbone(card_bytes(b), "tiny.safetensors")
    assert back.model == TINY and back.input_shape == SHAPE
    assert back.weights.keys() == b.weights.keys()
    assert all(torch.equal(back.weights[k], v) for k, v in b.weights.items())


def shipped_state() -> dict[str, torch.Tensor]:
    b = transfer.load_backbone(transfer.DEFAULT_BACKBONE)
    model = build_model(b.model, b.input_shape, 9, seed=0)
    return model.state_dict()


def test_a_plain_state_dict_with_a_wrapper_prefix_is_matched_to_a_backbone_architecture():
    state = {f"module.{k}": v for k, v in shipped_state().items()}
    buf = io.BytesIO()
    torch.save({"state_dict": state, "epoch": 3}, buf)
    b = transfer.read_backbone(buf.getvalue(), "mine.pt")
    shipped = transfer.load_backbone(transfer.DEFAULT_BACKBONE)
    assert b.model == shipped.model and b.input_shape == shipped.input_shape
    assert torch.equal(b.weights["blocks.0.conv.weight"], state["module.blocks.0.conv.weight"])


def test_checkpoints_that_do_not_fit_say_why():
    state = shipped_state()
    state["blocks.2.conv.weight"] = torch.zeros(32, 16, 5, 5)
    with pytest.raises(transfer.BackboneError, match=r"Closest: dlviz-shapes32.*another shape"):
        transfer.read_backbone(save_safetensors(state), "odd.safetensors")
    del state["blocks.5.conv.weight"]
    with pytest.raises(transfer.BackboneError, match="missing 1 keys"):
        transfer.read_backbone(save_safetensors(state), "odd.safetensors")
    with pytest.raises(transfer.BackboneError, match="not a dlviz CNN"):
        transfer.read_backbone(save_safetensors({"fc.weight": torch.zeros(2, 2)}), "fc.pt")


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty or truncated"),
        (b"\x00" * 40, "neither a safetensors file nor a PyTorch state dict"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all", "looks like safetensors"),
        (pickle.dumps(Evil()), "weights_only=True"),
    ],
)
def test_broken_or_unsafe_checkpoints_are_refused_clearly(data, message, capsys):
    with pytest.raises(transfer.BackboneError, match=message):
        transfer.read_backbone(data, "file.pt")
    assert "must never run" not in capsys.readouterr().out


def test_a_tensor_that_is_not_a_state_dict_is_refused():
    buf = io.BytesIO()
    torch.save(torch.zeros(3), buf)
    with pytest.raises(transfer.BackboneError, match="not a state dict"):
        transfer.read_backbone(buf.getvalue(), "t.pt")


def test_unknown_backbone_names_list_the_known_ones(tmp_path):
    with pytest.raises(transfer.BackboneError, match="dlviz-shapes32"):
        transfer.load_backbone("no-such-backbone")
    with pytest.raises(transfer.BackboneError, match="no saved weights|cannot be read|no run"):
        transfer.load_backbone("run:20260101-000000-nothing", tmp_path)


# --- the shipped backbone and its pretraining ---------------------------------------------------


def test_the_shipped_backbone_is_small_has_its_card_and_fits_its_architecture():
    from dlviz.transfer.pretrain import ARCHITECTURE

    path = transfer.BACKBONE_DIR / f"{transfer.DEFAULT_BACKBONE}.safetensors"
    assert path.stat().st_size < 10 * 1024 * 1024
    assert (transfer.BACKBONE_DIR / f"{transfer.DEFAULT_BACKBONE}.md").is_file()
    b = transfer.load_backbone(transfer.DEFAULT_BACKBONE)
    assert b.model == ARCHITECTURE and b.input_shape == (3, 32, 32)
    assert b.card["accuracy"]["test"] > 0.8  # 24 classes; chance is 4%
    assert b.card["command"].startswith("dlviz pretrain")
    assert len(b.card["classes"]) == 24


def test_pretraining_reproduces_from_its_seed(tmp_path):
    from safetensors.torch import load_file

    from dlviz.transfer.pretrain import PretrainSettings, pretrain

    s = PretrainSettings(name="tiny", samples=96, epochs=2, size=16, seed=5, device="cpu")
    lines = []
    path_a = pretrain(s, tmp_path / "a", report=lines.append)
    path_b = pretrain(s, tmp_path / "b")
    assert path_a.read_bytes() == path_b.read_bytes()  # the file repeats byte for byte
    a = load_file(path_a)
    c = load_file(pretrain(PretrainSettings(**{**s.__dict__, "seed": 6}), tmp_path / "c"))
    assert not torch.equal(a["blocks.0.conv.weight"], c["blocks.0.conv.weight"])
    assert any("epoch 2/2" in line for line in lines)
    card = (tmp_path / "a" / "tiny.md").read_text()
    assert "dlviz pretrain --name tiny --samples 96 --epochs 2 --size 16 --seed 5" in card
    back = transfer.load_backbone(str(tmp_path / "a" / "tiny.safetensors"))
    assert back.input_shape == (3, 16, 16) and back.card["source"]["samples"] == 96


# --- runs with a backbone -------------------------------------------------------------------------


def test_a_run_from_the_run_store_is_a_backbone_for_another_run(tmp_path):
    store = tmp_path / "runs"
    source = RunConfig(
        data=DataConfig(name="shapes", n_samples=120, image_size=16, channels=3),
        model=TINY,
        train=TrainConfig(epochs=1, batch_size=16),
    )
    first = jobs.execute(source, emit=lambda e: None, runs_dir=store)
    assert first["status"] == "finished"
    b = transfer.load_backbone(f"run:{first['run_id']}", store)
    assert b.model == TINY and b.input_shape == (3, 16, 16)
    cfg = RunConfig(
        data=DataConfig(name="digits", n_samples=200, image_size=16, per_class=4),
        train=TrainConfig(epochs=2, batch_size=8),
        transfer={"backbone": f"run:{first['run_id']}", "strategy": "finetune_all"},
    )
    events = []
    out = jobs.execute(cfg, emit=events.append, runs_dir=store)
    assert out["status"] == "finished", out["message"]
    start = next(e for e in events if e["type"] == "start")
    assert start["config"]["model"]["blocks"] == json.loads(source.to_json())["model"]["blocks"]
    assert start["config"]["transfer"]["strategy"] == "finetune_all"
    assert out["trainable_params"] == out["params"]
    assert set(out["weight_change"]) == {"conv1", "conv2", "conv3"}
    assert all(v > 0 for v in out["weight_change"].values())


def test_a_run_with_a_backbone_that_is_not_there_fails_with_its_message(tmp_path):
    cfg = RunConfig(data=DataConfig(name="digits"), transfer={"backbone": "nope"})
    out = jobs.execute(cfg, emit=lambda e: None)
    assert out["status"] == "error" and "no backbone 'nope'" in out["message"]
    cfg = RunConfig(data=DataConfig(name="spiral"), transfer={"backbone": "dlviz-shapes32"})
    out = jobs.execute(cfg, emit=lambda e: None)
    assert out["status"] == "error" and "needs images" in out["message"]


# --- config -------------------------------------------------------------------------------------


def test_the_transfer_section_round_trips_and_is_absent_when_unused():
    assert "transfer" not in RunConfig().to_dict()
    cfg = RunConfig.from_dict(
        {"data": {"name": "digits"}, "transfer": {"backbone": "dlviz-shapes32", "top_blocks": 3}}
    )
    assert cfg.transfer.strategy == "frozen" and cfg.transfer.backbone_lr_factor == 0.1
    assert RunConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize(
    "section, field",
    [
        ({"strategy": "half"}, "transfer.strategy"),
        ({"top_blocks": 0}, "transfer.top_blocks"),
        ({"backbone_lr_factor": 0}, "transfer.backbone_lr_factor"),
        ({"backbone_lr_factor": 2}, "transfer.backbone_lr_factor"),
        ({"backbone": 3}, "transfer.backbone"),
        ({"freeze": True}, "transfer.freeze"),
    ],
)
def test_bad_transfer_settings_name_their_field(section, field):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict({"transfer": section})
    assert err.value.field == field


# --- experiments and readings ---------------------------------------------------------------------


def test_the_efficiency_experiment_keeps_steps_equal_and_skips_levels_above_the_data():
    base = RunConfig(
        data=efficiency.default_target(),
        train=TrainConfig(batch_size=32),
        transfer={"backbone": "dlviz-shapes32"},
    )
    exp = efficiency.EfficiencyExperiment(base, levels=(1, 5, 100, 0), steps=60)
    ladder = exp.configs(per_class_available=70, n_classes=6)
    assert [(s, k) for s, k, _ in ladder] == [
        (s, k) for k in (1, 5, 0) for s in ("scratch", "frozen", "finetune_all")
    ]
    epochs = {k: c.train.epochs for _, k, c in ladder}
    assert epochs == {1: 60, 5: 60, 0: math.ceil(60 / math.ceil(420 / 32))}
    assert all(c.data.per_class == k and c.transfer.strategy == s for s, k, c in ladder)
    assert ladder[0][2].name == "1/class From scratch"
    assert ladder[0][2].train.eval_every == 6
    with pytest.raises(ConfigError):
        efficiency.EfficiencyExperiment(base.with_changes(transfer={"backbone": ""}))
    names = [c.name for c in efficiency.strategy_configs(base)]
    assert names == ["From scratch", "Feature extraction", "Fine-tune top blocks", "Fine-tune all"]


def test_the_readings_say_what_the_numbers_show():
    rows = [
        {"strategy": "scratch", "trainable": 76000, "seconds_per_epoch": 0.9,
         "test_accuracy": 0.31},
        {"strategy": "frozen", "trainable": 390, "seconds_per_epoch": 0.3, "test_accuracy": 0.86},
        {"strategy": "finetune_all", "trainable": 76000, "seconds_per_epoch": 1.0,
         "test_accuracy": math.nan},
    ]  # fmt: skip
    text = efficiency.strategies_reading(rows)
    assert text[0] == "Feature extraction reached the best test accuracy, 86%."
    assert "390 parameters, 195 times fewer" in text[1] and "55 points above" in text[1]
    assert "0.30 s frozen against 0.90 s" in text[2]
    eff = [
        {"strategy": s, "per_class": k, "test_accuracy": a}
        for s, k, a in [
            ("scratch", 1, 0.2), ("frozen", 1, 0.7), ("finetune_all", 1, 0.6),
            ("scratch", 10, 0.5), ("frozen", 10, 0.9), ("finetune_all", 10, 0.9),
            ("scratch", 70, 0.98), ("frozen", 70, 0.96), ("finetune_all", 70, 0.99),
        ]
    ]  # fmt: skip
    text = efficiency.efficiency_reading(eff)
    assert text[0] == (
        "With 1 labelled image per class: feature extraction 70%, fine-tune all 60%, "
        "against 20% from scratch."
    )
    assert (
        text[1]
        == "With 70 images per class, fine-tune all is best at 99%; from scratch reaches 98%."
    )
    assert "catches up (within 2 points) at 70 images" in text[2]


@pytest.mark.slow
def test_few_labels_favour_pretrained_features_and_many_let_fine_tuning_lead():
    """The expected result of the issue, on small settings: 2 images per class, then all 70."""
    base = RunConfig(
        data=efficiency.default_target(),
        train=efficiency.DEFAULT_TRAIN,
        transfer={"backbone": transfer.DEFAULT_BACKBONE},
    )
    exp = efficiency.EfficiencyExperiment(base, levels=(2, 0), steps=60)
    acc = {}
    for strategy, k, cfg in exp.configs(per_class_available=70, n_classes=6):
        out = jobs.execute(cfg, emit=lambda e: None)
        assert out["status"] == "finished", out["message"]
        acc[strategy, k] = out["final"]["test_accuracy"]
    assert acc["frozen", 2] > acc["scratch", 2] + 0.25, acc
    assert acc["finetune_all", 2] > acc["scratch", 2] + 0.15, acc
    assert acc["finetune_all", 0] >= max(acc["scratch", 0], acc["frozen", 0]) - 0.03, acc
