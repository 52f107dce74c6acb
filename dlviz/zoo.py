"""torchvision's ImageNet models as Transfer backbones, where torchvision is installed and the
model's weights file is already in torch's cache (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``). dlviz never downloads weights.

A model is wrapped as a `ZooNet`: its stages are the `blocks` the strategies freeze or
fine-tune, then global average pooling and a new output layer. Inputs are normalised with
ImageNet's mean and standard deviation inside the network, so data stays in [0, 1] as for
every dlviz model.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dlviz.config import ModelConfig
from dlviz.models import Freezable, register_model

INPUT_SIZE = 64  # images are resized to this; ImageNet's 224 would be slow on a CPU
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ZooModel:
    name: str  # "torchvision:resnet18"
    label: str
    builder: str  # the torchvision.models function
    weights_file: str  # as torchvision names it in the cache


MODELS = {
    m.name: m
    for m in (
        ZooModel("torchvision:resnet18", "ResNet-18", "resnet18", "resnet18-f37072fd.pth"),
        ZooModel(
            "torchvision:mobilenet_v3_small",
            "MobileNet V3 small",
            "mobilenet_v3_small",
            "mobilenet_v3_small-047dcff4.pth",
        ),
    )
}


def cache_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def status() -> dict[str, str]:
    """Each model's name -> "" where it can be used, else how to make it usable."""
    installed = importlib.util.find_spec("torchvision") is not None
    out = {}
    for m in MODELS.values():
        if not installed:
            out[m.name] = (
                "torchvision is not installed: `pip install torchvision` (a build that matches "
                f"your torch), then put {m.weights_file} in {cache_dir()}"
            )
        elif not (cache_dir() / m.weights_file).is_file():
            out[m.name] = (
                f"its weights are not in the torch cache: put {m.weights_file} in {cache_dir()} "
                "(dlviz never downloads)"
            )
        else:
            out[m.name] = ""
    return out


def available() -> list[str]:
    return [name for name, why in status().items() if not why]


def _stages(name: str, net: nn.Module) -> tuple[list[tuple[str, nn.Module]], int]:
    """The model's stages, input to output, and the width of its last one."""
    if name == "torchvision:resnet18":
        stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        stages = [("stem", stem)] + [(f"layer{i}", getattr(net, f"layer{i}")) for i in range(1, 5)]
        return stages, net.fc.in_features
    features = list(net.features.children())
    width = net.classifier[0].in_features
    return [(f"features{i}", m) for i, m in enumerate(features)], width


class ZooNet(Freezable, nn.Module):
    """A torchvision model's stages as `blocks`, global average pooling, a new output layer."""

    def __init__(self, name: str, net: nn.Module, n_classes: int):
        super().__init__()
        stages, width = _stages(name, net)
        self.names = [n for n, _ in stages]
        self.blocks = nn.ModuleList(m for _, m in stages)
        self.head = nn.Sequential()
        self.out = nn.Linear(width, n_classes)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.frozen_blocks = 0
        self.backbone_lr_factor = 1.0

    def features(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, D)
        x = (x - self.mean) / self.std
        for block in self.blocks:
            x = block(x)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))

    def block_name(self, i: int) -> str:
        return self.names[i]

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        return [(self.names[i], self.block_conv(i)) for i in range(len(self.blocks))] + [
            ("output", self.out)
        ]

    def activation_points(self) -> list[tuple[str, nn.Module]]:
        return list(zip(self.names, self.blocks))


def _torchvision_model(name: str) -> nn.Module:
    if importlib.util.find_spec("torchvision") is None:
        raise ValueError(status()[name])
    models = importlib.import_module("torchvision.models")
    return getattr(models, MODELS[name].builder)(weights=None)


@register_model("zoo")
def _build_zoo(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    if tuple(input_shape[:1]) != (3,):
        raise ValueError(f"{cfg.zoo} needs RGB images, got shape {input_shape}")
    return ZooNet(cfg.zoo, _torchvision_model(cfg.zoo), n_classes)


def pretrained_blocks(name: str) -> dict[str, torch.Tensor]:
    """The ImageNet weights of `name`'s stages, keyed as a ZooNet names them (``blocks.*``),
    read from the torch cache with ``weights_only=True``. ValueError says what is missing."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    why = status()[name]
    if why:
        raise ValueError(f"{MODELS[name].label}: {why}")
    net = _torchvision_model(name)
    state = torch.load(
        cache_dir() / MODELS[name].weights_file, map_location="cpu", weights_only=True
    )
    net.load_state_dict(state)
    wrapped = ZooNet(name, net, 2)
    return {k: v for k, v in wrapped.state_dict().items() if k.startswith("blocks.")}
