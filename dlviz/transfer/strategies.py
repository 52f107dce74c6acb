"""The four strategies of transfer learning: how each builds its network from a backbone (what
is pretrained, what is frozen, which learning rate each part gets) and the table that says so."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from dlviz import models
from dlviz.config import (
    RunConfig,
    TransferConfig,
)
from dlviz.data import Dataset
from dlviz.transfer.backbones import Backbone, BackboneError

STRATEGY_LABELS = {
    "scratch": "From scratch",
    "frozen": "Feature extraction",
    "finetune_top": "Fine-tune top blocks",
    "finetune_all": "Fine-tune all",
}
STRATEGY_HELP = {
    "scratch": "The same network with random weights: nothing is transferred.",
    "frozen": "The pretrained blocks are frozen; only a new output layer learns.",
    "finetune_top": "The last blocks and a new output layer learn; the first blocks are frozen.",
    "finetune_all": "Every layer learns, the pretrained blocks at a lower learning rate.",
}


# --- building the network -------------------------------------------------------------------------


def frozen_blocks(cfg: TransferConfig, n_blocks: int) -> int:
    """How many of the first blocks a strategy freezes."""
    if cfg.strategy == "frozen":
        return n_blocks
    if cfg.strategy == "finetune_top":
        return max(0, n_blocks - cfg.top_blocks)
    return 0


def lr_factor(cfg: TransferConfig) -> float:
    """The learning-rate factor of the (trainable) pretrained blocks."""
    return cfg.backbone_lr_factor if cfg.strategy in ("finetune_top", "finetune_all") else 1.0


def build(backbone: Backbone, cfg: TransferConfig, n_classes: int, seed: int) -> models.CNN:
    """The network a strategy trains: the backbone's blocks (pretrained unless `scratch`), a new
    output layer for `n_classes`, frozen and learning rates set."""
    # a CNN, or the zoo's network: both Freezable, with the same blocks, head and out
    model = cast(
        models.CNN, models.build_model(backbone.model, backbone.input_shape, n_classes, seed=seed)
    )
    if cfg.strategy != "scratch":
        result = model.load_state_dict(backbone.weights, strict=False)
        if result.unexpected_keys or any(k.startswith("blocks.") for k in result.missing_keys):
            raise BackboneError(
                f"{backbone.name}'s weights do not fit its architecture "
                f"({(result.unexpected_keys or result.missing_keys)[0]})"
            )
    model.freeze(frozen_blocks(cfg, backbone.n_blocks), lr_factor(cfg))
    return model


def adapt_data(data: Dataset, input_shape: tuple[int, ...]) -> Dataset:
    """`data` as the backbone expects it: grey images repeated into 3 channels (or colour
    averaged into 1) and resized to its side."""
    c, h, w = input_shape

    def fit(x: torch.Tensor) -> torch.Tensor:  # (N, C', H', W') -> (N, C, H, W)
        if x.shape[1] != c:
            x = x.expand(-1, c, -1, -1) if x.shape[1] == 1 else x.mean(1, keepdim=True)
        if tuple(x.shape[2:]) != (h, w):
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
        return x.contiguous()

    if data.kind != "image":
        raise BackboneError("a backbone needs images; this dataset is 2-D points")
    if data.input_shape == tuple(input_shape):
        return data
    return replace(data, x_train=fit(data.x_train), x_test=fit(data.x_test))


def conv_key(model: nn.Module, i: int) -> str:
    """The state-dict key of the weight of block `i`'s first convolution."""
    conv = model.block_conv(i)  # type: ignore[operator]
    name = next(n for n, m in model.blocks[i].named_modules() if m is conv)  # type: ignore[index, union-attr]
    return f"blocks.{i}.{name}.weight" if name else f"blocks.{i}.weight"


def weight_change(model: nn.Module, backbone: Backbone) -> dict[str, float]:
    """How far each block's first conv layer moved from its pretrained weights:
    ||W - W0|| / ||W0||."""
    out = {}
    for i in range(len(model.blocks)):  # type: ignore[arg-type]
        w0 = backbone.weights[conv_key(model, i)]
        w = model.block_conv(i).weight.detach().to("cpu", torch.float32)  # type: ignore[operator]
        out[model.block_name(i)] = float((w - w0).norm() / w0.norm().clamp_min(1e-12))  # type: ignore[operator]
    return out


def plan(backbone: Backbone, cfg: TransferConfig, n_classes: int) -> list[dict[str, Any]]:
    """One row per layer of the network a strategy trains: what it is, its parameters, and
    whether it is frozen, fine-tuned (at which learning-rate factor), trained or new."""
    with torch.device("meta"):
        model = cast(
            models.CNN, models.build_model(backbone.model, backbone.input_shape, n_classes)
        )
    frozen = frozen_blocks(cfg, backbone.n_blocks)
    factor = lr_factor(cfg)
    rows = []
    for i, block in enumerate(model.blocks):
        if cfg.strategy == "scratch":
            role = "trained"
        elif i < frozen:
            role = "frozen"
        else:
            role = "fine-tuned"
        spec = getattr(block, "spec", None)
        if spec is not None:
            what = f"{spec.kernel}x{spec.kernel} conv, {spec.channels} ch" + (
                f", {spec.pool} pool" if spec.pool != "none" else ""
            )
        else:
            what = type(block).__name__
        rows.append(
            {
                "layer": model.block_name(i),
                "what": what,
                "params": models.count_parameters(block),
                "role": role,
                "lr": 0.0 if role == "frozen" else (factor if role == "fine-tuned" else 1.0),
            }
        )
    for i, lin in enumerate(m for m in model.head if isinstance(m, nn.Linear)):
        rows.append(
            {
                "layer": f"fc{i + 1}",
                "what": f"linear, {lin.out_features}",
                "params": models.count_parameters(lin),
                "role": "new",
                "lr": 1.0,
            }
        )
    rows.append(
        {
            "layer": "output",
            "what": f"linear, {n_classes} classes",
            "params": models.count_parameters(model.out),
            "role": "new",
            "lr": 1.0,
        }
    )
    return rows


def resolve(config: RunConfig, backbone: Backbone) -> RunConfig:
    """The config as it runs: the model section is the backbone's architecture."""
    return replace(config, model=backbone.model)
