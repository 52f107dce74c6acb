"""The registry of model builders, by architecture name, as timm's `_registry.py`: it imports no
model file. Each model module registers its builder with `@register_model(name)`; `dlviz.models`
imports the built-in ones, and the zoo's (which needs torchvision or timm) is imported the first
time its name is asked for.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from dlviz.config import ModelConfig
from dlviz.models.layers import count_parameters

# (config, input shape, outputs) -> model; sequence models' builders also take the data's
# SequenceInfo (dlviz.data), as a fourth argument.
Builder = Callable[..., nn.Module]
_REGISTRY: dict[str, Builder] = {}
# Architectures whose module is imported only when a model of theirs is built.
_LAZY = {
    "zoo": "dlviz.models.zoo",
    **{arch: "dlviz.models.sequence" for arch in ("rnn", "lstm", "gru", "cnn1d", "bow")},
    "transformer": "dlviz.models.transformer",
    **{arch: "dlviz.models.generative" for arch in ("gan", "vae", "diffusion", "flow")},
}
# Building a model draws its initial weights from torch's global RNG; runs in other threads
# must not draw from it at the same time, or a seeded run would not be reproducible.
_SEED_LOCK = threading.Lock()


def register_model(name: str) -> Callable[[Builder], Builder]:
    def deco(fn: Builder) -> Builder:
        _REGISTRY[name] = fn
        return fn

    return deco


def model_names() -> tuple[str, ...]:
    return tuple(_REGISTRY) + tuple(a for a in _LAZY if a not in _REGISTRY)


def builder(arch: str) -> Builder:
    """The builder registered as `arch`, importing its module first when that is lazy."""
    if arch in _LAZY:
        importlib.import_module(_LAZY[arch])
    if arch not in _REGISTRY:
        raise KeyError(f"unknown model {arch!r}; known models: {', '.join(model_names())}")
    return _REGISTRY[arch]


def build_model(
    cfg: ModelConfig,
    input_shape: tuple[int, ...],
    n_classes: int,
    seed: int | None = None,
    spec: Any = None,
) -> nn.Module:
    """Build the model `cfg.arch` names. With `seed`, its initial weights are reproducible.
    `n_classes` is the output size (a forecast's horizon); sequence models take their data's
    `spec` (a dlviz.data.SequenceInfo)."""
    build = builder(cfg.arch)
    extra = () if spec is None else (spec,)
    with _SEED_LOCK:
        if seed is not None:
            state = torch.random.get_rng_state()
            torch.manual_seed(seed)
        try:
            return build(cfg, tuple(input_shape), n_classes, *extra)
        finally:
            if seed is not None:
                torch.random.set_rng_state(state)


def parameter_count(
    cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int, spec: Any = None
) -> int:
    """Parameters of the model `cfg` describes, without allocating or initialising it (built
    on the meta device: instant even for 32 layers of 1024)."""
    build = builder(cfg.arch)
    extra = () if spec is None else (spec,)
    with torch.device("meta"):
        return count_parameters(build(cfg, tuple(input_shape), n_classes, *extra))
