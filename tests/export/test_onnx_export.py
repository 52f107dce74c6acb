"""ONNX export of stored runs (dlviz.export.onnx_model): each family trained briefly through
`jobs.execute`, exported from the store, and run in onnxruntime against the network rebuilt
here from the run's config and its safetensors weights (the reference), at two batch sizes."""

from __future__ import annotations

import json
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from dlviz import jobs, runs
from dlviz.cli import main
from dlviz.config import RunConfig
from dlviz.export.onnx_model import ExportError, check, run_to_onnx, to_onnx
from dlviz.models import build_model
from dlviz.models.zoo import ZooNet
from dlviz.trained import trained_model

ATOL = 1e-4

CONFIGS = {
    # MLP: residual shortcuts, batch norm and dropout (identity once exported: eval mode)
    "mlp": {
        "data": {"name": "spiral", "n_samples": 300},
        "model": {
            "arch": "mlp",
            "hidden": [16, 16, 16],
            "residual": True,
            "norm": "batch",
            "dropout": 0.2,
        },
        "train": {"epochs": 3},
    },
    # CNN: the Image lab's Deep preset (eight 3x3 convs, batch norm), residual blocks
    "cnn": {
        "data": {"name": "digits", "n_samples": 300},
        "model": {"arch": "cnn", "residual": True},
        "train": {"epochs": 1},
    },
    # sentiment: token ids left-padded to the longest sentence, so padding is exercised
    "lstm": {
        "data": {"name": "sentiment", "n_samples": 400},
        "model": {"arch": "lstm", "layers": 2, "hidden_size": 16},
        "train": {"epochs": 2},
    },
    "transformer": {
        "data": {"name": "sentiment", "n_samples": 400},
        "model": {"arch": "transformer", "layers": 2, "hidden_size": 16},
        "train": {"epochs": 2},
    },
    # sound: waves (B, 1, S) through the STFT and mel front end, then a small CNN
    "sound": {
        "data": {"name": "tones", "n_samples": 60},
        "model": {"arch": "cnn", "blocks": [{"channels": 8, "pool": "max"}, {"channels": 8}]},
        "train": {"epochs": 1},
    },
    # transfer: the shipped backbone, its top blocks fine-tuned on 3-channel 32x32 shapes
    "transfer": {
        "data": {"name": "shapes", "n_samples": 120},
        "transfer": {"backbone": "dlviz-shapes32", "strategy": "finetune_top"},
        "train": {"epochs": 1},
    },
}


def train(root, config: dict) -> str:
    config = {**config, "train": {**config.get("train", {}), "device": "cpu"}}
    end = jobs.execute(RunConfig.from_dict(config), emit=lambda e: None, runs_dir=root)
    assert end["status"] == "finished", end
    return end["run_id"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One run of each family in a store shared by this module's tests."""
    root = tmp_path_factory.mktemp("store")
    return root, {name: train(root, cfg) for name, cfg in CONFIGS.items()}


@pytest.fixture(scope="module")
def exported(store):
    """run_to_onnx of a family's run, each exported once for the module."""
    root, ids = store
    done: dict[str, tuple[bytes, dict]] = {}

    def get(family: str) -> tuple[bytes, dict]:
        if family not in done:
            done[family] = run_to_onnx(root, ids[family])
        return done[family]

    return get


def reference(root, run_id):
    """The run's network built here from its config, with its stored weights, and its data."""
    cfg = RunConfig.from_dict(runs.load_run(root, run_id).config)
    data = jobs.load_data(cfg)
    if cfg.transfer.active:  # the backbone's network, on the data as the backbone takes it
        return trained_model(root, run_id, cfg, data)
    spec = data.seq if data.seq is not None else data.audio
    model = build_model(cfg.model, data.input_shape, data.n_outputs, spec=spec)
    runs.load_weights(root, run_id, model)
    return model.eval(), data


def session(onnx_bytes):
    return ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("family", list(CONFIGS))
def test_onnxruntime_agrees_with_pytorch_on_the_runs_test_inputs(store, exported, family):
    root, ids = store
    onnx_bytes, report = exported(family)
    model, data = reference(root, ids[family])
    x = data.x_test[:256]
    assert report["inputs"] == len(x) and report["inputs_from"] == "test"
    assert report["ok"] and report["max_abs_diff"] <= ATOL
    assert report["opset"] == 18 and report["bytes"] == len(onnx_bytes)
    assert report["input_shape"] == ["batch", *data.input_shape]

    s = session(onnx_bytes)
    (inp,), (out,) = s.get_inputs(), s.get_outputs()
    assert (inp.name, out.name) == ("input", "output")
    assert isinstance(inp.shape[0], str) and isinstance(out.shape[0], str)  # a dynamic batch
    for rows in (x[:5], x[5:22]):  # two batch sizes, neither the traced one
        got = s.run(None, {"input": rows.numpy()})[0]
        with torch.no_grad():
            want = model(rows).numpy()
        assert got.shape == want.shape == (len(rows), data.n_outputs)
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


def test_padding_is_read_as_pytorch_reads_it(store, exported):
    """Batches of left-padded sentences of several lengths, and a batch with no padding at
    all (where the LSTM skips packing), give in onnxruntime what they give in PyTorch."""
    root, ids = store
    for family in ("lstm", "transformer"):
        onnx_bytes, _ = exported(family)
        model, data = reference(root, ids[family])
        pad = data.seq.pad
        x = data.x_test[:64]
        leading = (x == pad).long().cumprod(dim=1).sum(dim=1)  # each row's padding
        padded = x[leading > 0]
        assert len(set(leading[leading > 0].tolist())) > 1  # several lengths in one batch
        full = padded.clone()
        full[full == pad] = int(padded[0, -1])  # the same rows with a word for each pad
        assert not (full == pad).any()
        s = session(onnx_bytes)
        for rows in (padded, full, torch.cat([full[:3], padded[:3]])):
            got = s.run(None, {"input": rows.numpy()})[0]
            with torch.no_grad():
                np.testing.assert_allclose(got, model(rows).numpy(), atol=ATOL, rtol=0)


class StandInResNet(nn.Module):
    """torchvision's ResNet layout at a tiny width (torchvision is not installed here)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 7, 2, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        for i, (c_in, c_out) in enumerate([(4, 4), (4, 6), (6, 8), (8, 8)], start=1):
            stage = nn.Sequential(nn.Conv2d(c_in, c_out, 3, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU())
            setattr(self, f"layer{i}", stage)
        self.fc = nn.Linear(8, 1000)


def test_a_zoo_backbone_exports_with_its_imagenet_normalisation():
    torch.manual_seed(0)
    model = ZooNet("torchvision:resnet18", StandInResNet(), 3)
    for m in model.modules():  # batch-norm statistics that are not the identity's
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.rand(20, 3, 64, 64)
    onnx_bytes = to_onnx(model, x[:2])
    result = check(onnx_bytes, model, x)
    assert result["ok"] and result["output_shape"] == [3]
    got = session(onnx_bytes).run(None, {"input": x[:6].numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, model.eval()(x[:6]).numpy(), atol=ATOL, rtol=0)


def test_a_generator_is_exported_from_z_and_said_so(tmp_path):
    run_id = train(
        tmp_path,
        {"data": {"name": "ring", "n_samples": 200}, "model": {"arch": "gan", "latent": 3}},
    )
    onnx_bytes, report = run_to_onnx(tmp_path, run_id)
    assert report["ok"] and report["inputs_from"] == "noise"
    assert report["input_shape"] == ["batch", 3] and report["output_shape"] == ["batch", 2]
    assert "generator" in report["note"]
    model = build_model(RunConfig.from_dict(runs.load_run(tmp_path, run_id).config).model, (2,), 1)
    runs.load_weights(tmp_path, run_id, model)
    z = torch.randn(7, 3, generator=torch.Generator().manual_seed(5))
    got = session(onnx_bytes).run(None, {"input": z.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, model.eval().generate(z).numpy(), atol=ATOL, rtol=0)


def test_a_diffusion_model_is_refused_with_the_reason(tmp_path):
    config = RunConfig.from_dict(
        {"data": {"name": "ring"}, "model": {"arch": "diffusion", "steps": 10}}
    )
    model = build_model(config.model, (2,), 1, seed=0)
    with pytest.raises(ExportError, match="fresh random noise"):
        to_onnx(model, torch.randn(4, 2))
    # a stored diffusion run (saved here as a run trained elsewhere would be)
    runs.save_run(tmp_path, "denoiser", config.to_dict(), {"status": "finished"}, {}, model=model)
    with pytest.raises(ExportError, match="10 denoising steps, each adding fresh random noise"):
        run_to_onnx(tmp_path, "denoiser")


def test_a_run_without_weights_says_it_did_not_finish(tmp_path):
    runs.start_run(tmp_path, "cut-off", RunConfig().to_dict())  # started, never saved
    with pytest.raises(ExportError, match="did not finish"):
        run_to_onnx(tmp_path, "cut-off")


class Branchy(nn.Module):
    """A Python branch on the data's values: no graph holds it."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x):
        if x.sum() > 0:
            return self.linear(x)
        return -self.linear(x)


def test_a_model_that_cannot_be_exported_raises_export_error_with_the_reason():
    with pytest.raises(ExportError) as caught:
        to_onnx(Branchy(), torch.randn(4, 3))
    message = str(caught.value)
    assert message.startswith("PyTorch's ONNX exporter cannot convert this Branchy: ")
    assert "data-dependent" in message.lower() or "guard" in message.lower()
    assert len(message) < 600  # a reason, not the exporter's page of advice


def test_check_catches_a_model_that_disagrees():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x = torch.randn(40, 4)
    onnx_bytes = to_onnx(model, x[:2], input_name="pixels", output_name="logits")
    s = session(onnx_bytes)
    assert [i.name for i in s.get_inputs()] == ["pixels"]
    assert [o.name for o in s.get_outputs()] == ["logits"]
    result = check(onnx_bytes, model, x)
    assert result["ok"] and result["inputs"] == 40 and result["max_abs_diff"] <= ATOL
    assert len(set(result["batch_sizes"])) >= 2 and 40 in result["batch_sizes"]
    with torch.no_grad():
        model[2].bias += 0.01  # the PyTorch model moves on; the file does not
    moved = check(onnx_bytes, model, x)
    assert not moved["ok"] and moved["max_abs_diff"] == pytest.approx(0.01, rel=1e-3)
    assert model.training  # check runs in eval mode and gives the mode back


def test_an_upload_run_is_checked_on_random_inputs_of_its_shape(tmp_path):
    run_id = train(
        tmp_path,
        {
            "data": {"name": "digits", "n_samples": 200},
            "model": {"arch": "cnn", "blocks": [{"channels": 4}, {"channels": 4, "pool": "max"}]},
            "train": {"epochs": 1},
        },
    )
    path = tmp_path / run_id / runs.CONFIG
    config = json.loads(path.read_text())
    config["data"] = {"name": "upload", "image_size": 8}  # its pictures lived in a browser
    path.write_text(json.dumps(config))
    _, report = run_to_onnx(tmp_path, run_id)
    assert report["ok"] and report["inputs_from"] == "random" and report["inputs"] == 256
    assert report["input_shape"] == ["batch", 1, 8, 8] and report["output_shape"] == ["batch", 10]
    assert "cannot be regenerated" in report["inputs_note"] and "upload" in report["inputs_note"]


def test_cli_exports_onnx_and_says_what_it_checked(store, tmp_path, capsys, monkeypatch):
    root, ids = store
    run_id = ids["mlp"]
    out = tmp_path / "net.onnx"
    code = main(
        ["runs", "export", run_id, "--format", "onnx", "-o", str(out), "--runs-dir", str(root)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    line = re.search(
        r"exported run (\S+) to (\S+) \(([\d,]+) bytes\); onnxruntime agrees with PyTorch on "
        r"(\d+) test inputs: largest difference (\S+)",
        printed,
    )
    assert line, printed
    assert line[1] == run_id and line[2] == str(out)
    assert int(line[3].replace(",", "")) == out.stat().st_size
    assert int(line[4]) == 90 and float(line[5]) <= ATOL  # spiral: 300 points, 30% test
    onnx.checker.check_model(onnx.load(str(out)))
    monkeypatch.chdir(tmp_path)  # the default file name is ID.onnx; zip stays the default
    assert main(["runs", "export", run_id, "--format", "onnx", "--runs-dir", str(root)]) == 0
    assert (tmp_path / f"{run_id}.onnx").stat().st_size == out.stat().st_size
    assert main(["runs", "export", run_id, "--runs-dir", str(root)]) == 0
    assert (tmp_path / f"{run_id}.zip").is_file()


def test_cli_says_why_a_run_cannot_be_exported(tmp_path, capsys):
    runs.start_run(tmp_path, "cut-off", RunConfig().to_dict())
    code = main(["runs", "export", "cut-off", "--format", "onnx", "--runs-dir", str(tmp_path)])
    assert code == 1
    assert "did not finish" in capsys.readouterr().err
    assert not (tmp_path / "cut-off.onnx").exists()
