"""ImageNet models of torchvision and of timm as Transfer backbones, where the library is
installed and the model's weights are already on disk. dlviz never downloads weights.

- torchvision: the weights file in torch's cache (``$TORCH_HOME/hub/checkpoints``, by default
  ``~/.cache/torch/hub/checkpoints``), read with ``torch.load(weights_only=True)``;
- timm: the model's Hugging Face hub folder in the hub cache (``$HF_HUB_CACHE``, else
  ``$HF_HOME/hub``, by default ``~/.cache/huggingface/hub``), its ``model.safetensors`` read
  with safetensors (or ``pytorch_model.bin`` with ``weights_only=True``).

A model is wrapped as a `ZooNet`: its stages are the `blocks` the strategies freeze or
fine-tune, then global average pooling and a new output layer. Inputs are normalised with
ImageNet's mean and standard deviation inside the network, so data stays in [0, 1] as for
every dlviz model.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from dlviz.config import ModelConfig
from dlviz.models.cnn import Freezable
from dlviz.models.registry import register_model

INPUT_SIZE = 64  # images are resized to this; ImageNet's 224 would be slow on a CPU
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LIBRARIES = ("torchvision", "timm")


@dataclass(frozen=True)
class ZooModel:
    name: str  # "torchvision:resnet18"
    label: str
    builder: str  # the torchvision.models function, or the name timm.create_model takes
    weights: str  # torchvision: the file's name in torch's cache; timm: its hub repository

    @property
    def library(self) -> str:
        return self.name.split(":")[0]

    @property
    def family(self) -> str:  # how its stages are found
        return "resnet" if "resnet" in self.builder else "mobilenet"


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
        ZooModel("timm:resnet18", "ResNet-18", "resnet18", "timm/resnet18.a1_in1k"),
        ZooModel(
            "timm:mobilenetv3_small_100",
            "MobileNet V3 small",
            "mobilenetv3_small_100",
            "timm/mobilenetv3_small_100.lamb_in1k",
        ),
    )
}


def cache_dir() -> Path:
    """torch's cache of weights files (torchvision's models)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache (timm's models), as huggingface_hub finds it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "huggingface" / "hub"


def _hub_folder(m: ZooModel) -> Path:
    return hub_cache_dir() / ("models--" + m.weights.replace("/", "--"))


def weights_path(m: ZooModel) -> Path | None:
    """Where `m`'s ImageNet weights are on disk, or None."""
    if m.library == "torchvision":
        path = cache_dir() / m.weights
        return path if path.is_file() else None
    folder = _hub_folder(m)
    snapshots = folder / "snapshots"
    ref = folder / "refs" / "main"
    order = []
    if ref.is_file():
        order.append(snapshots / ref.read_text().strip())
    if snapshots.is_dir():
        order += sorted(p for p in snapshots.iterdir() if p.is_dir())
    for snap in order:
        for name in ("model.safetensors", "pytorch_model.bin"):
            if (snap / name).is_file():
                return snap / name
    return None


def _missing_weights(m: ZooModel) -> str:
    if m.library == "torchvision":
        return (
            f"its weights are not in the torch cache: put {m.weights} in {cache_dir()} "
            "(dlviz never downloads)"
        )
    return (
        f"its weights are not in the Hugging Face hub cache: where there is internet, "
        f"`hf download {m.weights}` puts them in {_hub_folder(m)} (dlviz never downloads)"
    )


def _not_installed(m: ZooModel) -> str:
    if m.library == "torchvision":
        return (
            "torchvision is not installed: `pip install torchvision` (a build that matches "
            f"your torch), then put {m.weights} in {cache_dir()}"
        )
    return (
        "timm is not installed: `pip install timm` (with a torchvision that matches your "
        f"torch), then `hf download {m.weights}` where there is internet"
    )


def status() -> dict[str, str]:
    """Each model's name -> "" where it can be used, else how to make it usable."""
    installed = {lib: importlib.util.find_spec(lib) is not None for lib in LIBRARIES}
    out = {}
    for m in MODELS.values():
        if not installed[m.library]:
            out[m.name] = _not_installed(m)
        elif weights_path(m) is None:
            out[m.name] = _missing_weights(m)
        else:
            out[m.name] = ""
    return out


def available() -> list[str]:
    return [name for name, why in status().items() if not why]


def _stages(m: ZooModel, net: nn.Module) -> tuple[list[tuple[str, nn.Module]], int]:
    """The model's stages, input to output, and the width of its last one."""
    if m.family == "resnet":  # torchvision and timm name them alike but for the activation
        act = net.relu if m.library == "torchvision" else net.act1
        stem = nn.Sequential(net.conv1, net.bn1, act, net.maxpool)
        stages = [("stem", stem)] + [(f"layer{i}", getattr(net, f"layer{i}")) for i in range(1, 5)]
        return stages, net.fc.in_features
    if m.library == "torchvision":
        features = list(net.features.children())
        width = net.classifier[0].in_features
        return [(f"features{i}", s) for i, s in enumerate(features)], width
    # timm's MobileNetV3: conv_stem and bn1 (with its activation), then `blocks` (stages);
    # conv_head comes after the pooling, so the last stage's width is what conv_head takes
    stem = nn.Sequential(net.conv_stem, net.bn1)
    stages = [("stem", stem)] + [(f"blocks{i}", s) for i, s in enumerate(net.blocks)]
    return stages, net.conv_head.in_channels


class ZooNet(Freezable, nn.Module):
    """An ImageNet model's stages as `blocks`, global average pooling, a new output layer."""

    def __init__(self, name: str, net: nn.Module, n_classes: int):
        super().__init__()
        stages, width = _stages(MODELS[name], net)
        self.names = [n for n, _ in stages]
        self.blocks = nn.ModuleList(s for _, s in stages)
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


def _library_model(name: str) -> nn.Module:
    """The model with random weights, as its library builds it (nothing is downloaded)."""
    m = MODELS[name]
    if importlib.util.find_spec(m.library) is None:
        raise ValueError(status()[name])
    if m.library == "torchvision":
        models = importlib.import_module("torchvision.models")
        return getattr(models, m.builder)(weights=None)
    timm = importlib.import_module("timm")
    return timm.create_model(m.builder, pretrained=False)


@register_model("zoo")
def _build_zoo(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    if tuple(input_shape[:1]) != (3,):
        raise ValueError(f"{cfg.zoo} needs RGB images, got shape {input_shape}")
    return ZooNet(cfg.zoo, _library_model(cfg.zoo), n_classes)


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        return load_file(path, device="cpu")
    return torch.load(path, map_location="cpu", weights_only=True)


def pretrained_blocks(name: str) -> dict[str, torch.Tensor]:
    """The ImageNet weights of `name`'s stages, keyed as a ZooNet names them (``blocks.*``),
    read from the cache safely (safetensors, or ``weights_only=True``). ValueError says what
    is missing or what does not fit."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    why = status()[name]
    if why:
        raise ValueError(f"{MODELS[name].label}: {why}")
    path = weights_path(MODELS[name])
    assert path is not None  # status() found it
    net = _library_model(name)
    try:
        state = _read_weights(path)
        net.load_state_dict(state)
    except Exception as e:  # a damaged file, or weights of another model
        detail = " ".join(str(e).split())[:300]
        raise ValueError(
            f"{MODELS[name].label}: {path} could not be read as its ImageNet weights "
            f"({detail}); remove it and fetch it again"
        ) from e
    wrapped = ZooNet(name, net, 2)
    return {k: v for k, v in wrapped.state_dict().items() if k.startswith("blocks.")}
