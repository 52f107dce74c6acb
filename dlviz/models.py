"""Model registry: `build_model(ModelConfig, input_shape, n_classes) -> nn.Module`.

Every dlviz model exposes two lists, input to output, that probes and charts rely on:

- `weight_layers()`: ``[(name, module)]`` whose ``.weight`` gradient is the layer's gradient norm;
- `activation_points()`: ``[(name, module)]`` whose output is that layer's activations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch
from torch import nn

from dlviz.config import ModelConfig

Builder = Callable[[ModelConfig, tuple[int, ...], int], nn.Module]
_REGISTRY: dict[str, Builder] = {}
# Building a model draws its initial weights from torch's global RNG; runs in other threads
# must not draw from it at the same time, or a seeded run would not be reproducible.
_SEED_LOCK = threading.Lock()

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
}


def register_model(name: str) -> Callable[[Builder], Builder]:
    def deco(fn: Builder) -> Builder:
        _REGISTRY[name] = fn
        return fn

    return deco


def model_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def build_model(
    cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int, seed: int | None = None
) -> nn.Module:
    """Build the model `cfg.arch` names. With `seed`, its initial weights are reproducible."""
    if cfg.arch not in _REGISTRY:
        raise KeyError(f"unknown model {cfg.arch!r}; known models: {', '.join(model_names())}")
    with _SEED_LOCK:
        if seed is not None:
            state = torch.random.get_rng_state()
            torch.manual_seed(seed)
        try:
            return _REGISTRY[cfg.arch](cfg, tuple(input_shape), n_classes)
        finally:
            if seed is not None:
                torch.random.set_rng_state(state)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parameter_count(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int) -> int:
    """Parameters of the model `cfg` describes, without allocating or initialising it (built
    on the meta device: instant even for 32 layers of 1024)."""
    if cfg.arch not in _REGISTRY:
        raise KeyError(f"unknown model {cfg.arch!r}; known models: {', '.join(model_names())}")
    with torch.device("meta"):
        return count_parameters(_REGISTRY[cfg.arch](cfg, tuple(input_shape), n_classes))


class SeededDropout(nn.Module):
    """Dropout that draws its masks from a generator the training loop sets (`generator`).

    nn.Dropout draws from torch's global RNG, which every thread shares: two runs training at
    once would then change each other's masks and neither would be reproducible.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=self.generator)
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


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
        named = [(f"hidden{i + 1}", b.linear) for i, b in enumerate(self.blocks)]
        return named + [("output", self.head)]

    def activation_points(self) -> list[tuple[str, nn.Module]]:
        # The activation's output: each neuron's response before dropout and the shortcut.
        return [(f"hidden{i + 1}", b.act) for i, b in enumerate(self.blocks)]


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
        for i, block in enumerate(model.blocks):
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


def set_dropout_generator(model: nn.Module, generator: torch.Generator | None) -> None:
    for m in model.modules():
        if isinstance(m, SeededDropout):
            m.generator = generator
