"""dlviz.models.zoo against the real torchvision and timm models, where they are installed (not on
the machines dlviz is built on: there the stand-ins of test_zoo.py stand in for them). Their
random initial weights are saved where the libraries' caches would hold the ImageNet files,
so nothing is downloaded; each backbone's features must equal the library's own forward pass
up to the global pooling, and a short fine-tuning run must train only the top blocks."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from safetensors.torch import save_file

from dlviz import jobs, transfer
from dlviz.config import DataConfig, RunConfig, TrainConfig
from dlviz.models import zoo
from dlviz.transfer import backbones

MODELS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            importlib.util.find_spec(m.library) is None, reason=f"{m.library} is not installed"
        ),
    )
    for name, m in zoo.MODELS.items()
]


def library_net(name: str, tmp_path, monkeypatch) -> torch.nn.Module:
    """The library's model with random weights, saved into a temporary cache as its weights."""
    m = zoo.MODELS[name]
    monkeypatch.setattr(backbones, "_cache_zoo", {})
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    torch.manual_seed(0)
    if m.library == "torchvision":
        import torchvision.models as tvm

        net = getattr(tvm, m.builder)(weights=None)
        (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
        torch.save(net.state_dict(), tmp_path / "hub" / "checkpoints" / m.weights)
    else:
        import timm

        net = timm.create_model(m.builder, pretrained=False)
        repo = tmp_path / "hf" / ("models--" + m.weights.replace("/", "--"))
        (repo / "snapshots" / "r1").mkdir(parents=True)
        state = {k: v.contiguous() for k, v in net.state_dict().items()}
        save_file(state, repo / "snapshots" / "r1" / "model.safetensors")
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text("r1")
    assert name in zoo.available()
    return net.eval()


def pooled_features(name: str, net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What the library's own model computes before its classifier, pooled: (B, D)."""
    if name == "torchvision:resnet18":
        net.fc = torch.nn.Identity()
        return net(x)
    if name == "torchvision:mobilenet_v3_small":
        return torch.flatten(net.avgpool(net.features(x)), 1)
    return net.forward_features(x).mean(dim=(2, 3))  # timm: before conv_head / the classifier


@pytest.mark.parametrize("name", MODELS)
def test_a_real_imagenet_model_is_wrapped_without_changing_what_it_computes(
    name, tmp_path, monkeypatch
):
    net = library_net(name, tmp_path, monkeypatch)
    b = transfer.load_backbone(name)
    model = transfer.build(b, RunConfig(transfer={"backbone": name}).transfer, 4, seed=0).eval()
    x = torch.rand(3, 3, 64, 64)
    mean = torch.tensor(zoo.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(zoo.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        ref = pooled_features(name, net, (x - mean) / std)
        assert torch.allclose(model.features(x), ref, atol=1e-5)
        assert model(x).shape == (3, 4)


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_fine_tuning_a_real_imagenet_model_trains_its_top_blocks_only(name, tmp_path, monkeypatch):
    library_net(name, tmp_path, monkeypatch)
    cfg = RunConfig(
        data=DataConfig(name="shapes", n_samples=120, image_size=32, channels=3, per_class=5),
        train=TrainConfig(epochs=2, batch_size=8),
        transfer={"backbone": name, "strategy": "finetune_top", "top_blocks": 2},
    )
    out = jobs.execute(cfg, emit=lambda e: None)
    assert out["status"] == "finished", out["message"]
    moved = list(out["weight_change"].values())
    assert all(v == 0 for v in moved[:-2]) and all(v > 0 for v in moved[-2:])
