"""The multilayer perceptron ("mlp"): dense blocks with optional norm, dropout and shortcuts."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from dlviz.config import ModelConfig
from dlviz.models.layers import ACTIVATIONS, SeededDropout, count_parameters
from dlviz.models.registry import register_model


def _norm(kind: str, width: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return nn.Identity()


class DenseBlock(nn.Module):
    """linear -> norm -> activation -> dropout, plus the input added back when `residual`.

    The shortcut is the identity when widths match, else a bias-free linear projection:
    out = x + act(norm(W x + b)), so the gradient always has a path around the layer.
    """

    def __init__(
        self, d_in: int, d_out: int, activation: str, norm: str, dropout: float, residual: bool
    ):
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)
        self.norm = _norm(norm, d_out)
        self.act = ACTIVATIONS[activation]()
        self.drop = SeededDropout(dropout) if dropout > 0 else nn.Identity()
        self.skip: nn.Module | None = None
        if residual:
            self.skip = nn.Identity() if d_in == d_out else nn.Linear(d_in, d_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(self.act(self.norm(self.linear(x))))
        return h if self.skip is None else h + self.skip(x)


class MLP(nn.Module):
    """A multilayer perceptron: hidden DenseBlocks then a linear head giving class logits.

    With `residual`, every hidden layer after the first gets a shortcut; the first maps the raw
    input into the hidden width and has none (like the stem of a ResNet).
    """

    def __init__(self, in_features: int, cfg: ModelConfig, n_classes: int):
        super().__init__()
        self.cfg = cfg
        blocks = []
        d_in = in_features
        for i, width in enumerate(cfg.hidden):
            blocks.append(
                DenseBlock(
                    d_in,
                    width,
                    cfg.activation,
                    cfg.norm,
                    cfg.dropout,
                    residual=cfg.residual and i > 0,
                )
            )
            d_in = width
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(d_in, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in) -> (B, n_classes)
        x = x.flatten(1)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        named: list[tuple[str, nn.Module]] = [
            (f"hidden{i + 1}", b.linear) for i, b in enumerate(_dense(self.blocks))
        ]
        return named + [("output", self.head)]

    def activation_points(self) -> list[tuple[str, nn.Module]]:
        # The activation's output: each neuron's response before dropout and the shortcut.
        return [(f"hidden{i + 1}", b.act) for i, b in enumerate(_dense(self.blocks))]


def _dense(blocks: nn.ModuleList) -> list[DenseBlock]:
    """An MLP's blocks, as the type checker should see them (a ModuleList yields Modules)."""
    return cast("list[DenseBlock]", blocks)


@register_model("mlp")
def _build_mlp(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    in_features = 1
    for s in input_shape:
        in_features *= s
    return MLP(in_features, cfg, n_classes)


def layer_table(model: nn.Module) -> list[dict[str, object]]:
    """One row per weight layer: name, shape of its weight, parameter count of its block."""
    rows = []
    if isinstance(model, MLP):
        for i, block in enumerate(_dense(model.blocks)):
            rows.append(
                {
                    "layer": f"hidden{i + 1}",
                    "in": block.linear.in_features,
                    "out": block.linear.out_features,
                    "params": count_parameters(block),
                    "shortcut": (
                        "none"
                        if block.skip is None
                        else "identity"
                        if isinstance(block.skip, nn.Identity)
                        else "projection"
                    ),
                }
            )
        rows.append(
            {
                "layer": "output",
                "in": model.head.in_features,
                "out": model.head.out_features,
                "params": count_parameters(model.head),
                "shortcut": "none",
            }
        )
    return rows
