"""Transfer learning: start a network from a pretrained backbone and train it on a new task.

A backbone is the convolutional blocks of a dlviz CNN with their trained weights, the input it
expects, and a card saying how it was made. Four strategies (`config.STRATEGIES`):

- ``scratch``: the backbone's architecture, randomly initialised, everything trains;
- ``frozen`` (feature extraction): the pretrained blocks are frozen, a new output layer trains;
- ``finetune_top``: the last N blocks and the new output layer train, the rest is frozen;
- ``finetune_all``: everything trains, the pretrained blocks at a lower learning rate.

Frozen blocks get no gradient, are not in the optimizer, and stay in eval mode, so their
batch-norm statistics keep their pretrained values (`models.CNN.freeze`).

Backbones come from dlviz's own pretrained files in ``dlviz/backbones`` (made by
``dlviz pretrain``), from a CNN run in the run store (``run:ID``), or from a checkpoint file:
safetensors, or a PyTorch state dict read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
import json
import math
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dlviz import models
from dlviz.config import (
    STRATEGIES,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    TransferConfig,
)
from dlviz.data import Dataset
from dlviz.text import plural

BACKBONE_DIR = Path(__file__).resolve().parents[1] / "backbones"  # dlviz/backbones, in the wheel
DEFAULT_BACKBONE = "dlviz-shapes32"
METADATA_KEY = "dlviz_backbone"  # safetensors metadata: the backbone's card, as JSON
MAX_CHECKPOINT_MB = 200
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
_PREFIXES = ("module.", "model.", "backbone.", "net.")


class BackboneError(ValueError):
    """A backbone cannot be found, read or matched; the message says what to do."""


@dataclass(frozen=True)
class Backbone:
    """Pretrained convolutional blocks: the architecture, input and weights, and its card."""

    name: str
    model: ModelConfig
    input_shape: tuple[int, int, int]  # (C, H, W) it was trained on
    weights: dict[str, torch.Tensor] = field(repr=False)  # "blocks.*" tensors, on the CPU
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def n_blocks(self) -> int:
        return len({k.split(".")[1] for k in self.weights})  # keys are "blocks.I...."

    def first_filters(self) -> torch.Tensor:
        """The first conv layer's pretrained filters (out, in, k, k)."""
        return next(
            v for k, v in self.weights.items() if k.startswith("blocks.0.") and v.dim() == 4
        )


# --- finding and reading backbones ----------------------------------------------------------------


def shipped_backbones() -> list[str]:
    """Names of dlviz's own pretrained backbones (the files in dlviz/backbones)."""
    if not BACKBONE_DIR.is_dir():
        return []
    return sorted(p.stem for p in BACKBONE_DIR.glob("*.safetensors"))


def _safetensors_metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's header (read without loading tensors)."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    return header.get("__metadata__") or {}


def _strip_prefixes(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keys as a dlviz CNN names them: drop a wrapper's prefix such as ``module.``."""
    for prefix in _PREFIXES:
        if tensors and all(k.startswith(prefix) for k in tensors):
            return _strip_prefixes({k[len(prefix) :]: v for k, v in tensors.items()})
    return tensors


def _read_tensors(data: bytes, name: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a checkpoint: safetensors, else a state dict through
    ``torch.load(weights_only=True)`` (no code in a checkpoint ever runs)."""
    from safetensors.torch import load as load_safetensors

    if len(data) > 8 and data[8:9] == b"{":
        try:
            return load_safetensors(data), _safetensors_metadata(data)
        except Exception as e:  # safetensors raises its own error types
            raise BackboneError(f"{name} looks like safetensors but cannot be read: {e}") from e
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:
        # (torch's own message suggests weights_only=False: running a stranger's code; no)
        raise BackboneError(
            f"{name} is neither a safetensors file nor a PyTorch state dict that loads with "
            "weights_only=True: it is damaged, not a checkpoint, or holds objects that would "
            "run code to load, which dlviz refuses. Save its state_dict(), or use safetensors."
        ) from e
    for key in ("state_dict", "model_state_dict", "model"):  # common training checkpoints
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj:
        raise BackboneError(f"{name} holds a {type(obj).__name__}, not a state dict of tensors")
    tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not tensors:
        raise BackboneError(f"{name} holds no tensors")
    return tensors, {}


def _reference_architectures() -> list[tuple[str, ModelConfig, tuple[int, int, int]]]:
    """The architectures a checkpoint without a card is matched against: each shipped
    backbone's."""
    out = []
    for name in shipped_backbones():
        try:
            b = load_backbone(name)
        except BackboneError:
            continue
        out.append((name, b.model, b.input_shape))
    return out


def _block_shapes(cfg: ModelConfig, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        model = models.build_model(cfg, input_shape, 2)
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith("blocks.")}


def match_architecture(
    tensors: dict[str, torch.Tensor],
    candidates: list[tuple[str, ModelConfig, tuple[int, int, int]]],
    name: str = "the checkpoint",
) -> tuple[ModelConfig, tuple[int, int, int]]:
    """The candidate architecture whose blocks' keys and shapes the tensors fit exactly; else a
    BackboneError naming the closest candidate and what differs."""
    blocks = {k: tuple(v.shape) for k, v in tensors.items() if k.startswith("blocks.")}
    if not blocks:
        some = ", ".join(sorted(tensors)[:4])
        raise BackboneError(
            f"{name} has no 'blocks.*' weights (it has {some}, ...): it is not a dlviz CNN. "
            "Upload the weights of a dlviz CNN run (weights.safetensors from a run's ZIP) or of "
            "one of the backbones here."
        )
    best = None
    for cand_name, cfg, shape in candidates:
        want = _block_shapes(cfg, shape)
        missing = sorted(set(want) - set(blocks))
        extra = sorted(set(blocks) - set(want))
        wrong = [k for k in sorted(set(want) & set(blocks)) if want[k] != blocks[k]]
        if not missing and not extra and not wrong:
            return cfg, shape
        score = len(missing) + len(extra) + len(wrong)
        if best is None or score < best[0]:
            best = (score, cand_name, missing, extra, wrong, want)
    if best is None:
        raise BackboneError(f"no architecture to match {name} against: no backbones are installed")
    _, cand_name, missing, extra, wrong, want = best
    parts = []
    if missing:
        parts.append(f"missing {len(missing)} keys ({', '.join(missing[:3])})")
    if extra:
        parts.append(f"{len(extra)} unexpected keys ({', '.join(extra[:3])})")
    if wrong:
        k = wrong[0]
        parts.append(
            f"{len(wrong)} tensors of another shape ({k}: {list(blocks[k])}, "
            f"expected {list(want[k])})"
        )
    raise BackboneError(
        f"{name} does not fit any dlviz backbone architecture. Closest: {cand_name}, with "
        + "; ".join(parts)
        + ". A checkpoint must hold the same convolutional blocks (the output layer may differ)."
    )


def read_backbone(data: bytes, name: str, run_config: str = "") -> Backbone:
    """A backbone from a checkpoint's bytes. A file dlviz wrote carries its card and
    architecture (a backbone's card, or a run's config); `run_config` gives a run's config for
    weights without one; any other file is matched against dlviz's backbone architectures."""
    if len(data) > MAX_CHECKPOINT_MB * 1024 * 1024:
        raise BackboneError(
            f"{name} is {len(data) / 1e6:.0f} MB; a backbone for dlviz is at most "
            f"{MAX_CHECKPOINT_MB} MB"
        )
    if len(data) < 16:
        raise BackboneError(f"{name} is empty or truncated ({len(data)} bytes)")
    tensors, metadata = _read_tensors(data, name)
    tensors = _strip_prefixes(tensors)
    card: dict[str, Any] = {}
    cfg: ModelConfig | None = None
    if METADATA_KEY in metadata:
        try:
            card = json.loads(metadata[METADATA_KEY])
            cfg = RunConfig.from_dict({"model": card["model"]}).model
            shape = tuple(int(v) for v in card["input_shape"])
        except (ValueError, KeyError, TypeError) as e:
            raise BackboneError(f"{name}: its dlviz card cannot be read ({e})") from e
    elif "dlviz_config" in metadata or run_config:  # the weights of a run in the run store
        cfg, shape = _run_architecture(metadata.get("dlviz_config") or run_config, name)
        card = {"source": {"description": f"the weights of a dlviz run ({name})"}}
    if cfg is not None:
        match_architecture(tensors, [(name, cfg, shape)], name)  # its own card must fit it
    else:
        cfg, shape = match_architecture(tensors, _reference_architectures(), name)
    return Backbone(
        name=name,
        model=cfg,
        input_shape=shape,  # type: ignore[arg-type]
        weights={k: v.float() for k, v in tensors.items() if k.startswith("blocks.")},
        card=card,
    )


def _run_architecture(config_json: str, name: str) -> tuple[ModelConfig, tuple[int, int, int]]:
    """The model and input shape of a run's config (a CNN on images)."""
    try:
        cfg = RunConfig.from_dict(json.loads(config_json))
    except (ValueError, ConfigError) as e:
        raise BackboneError(f"{name}: its run config cannot be read ({e})") from e
    if cfg.model.arch != "cnn" or not cfg.data.is_image:
        raise BackboneError(
            f"{name} is the weights of a {cfg.model.arch} on {cfg.data.name}: a backbone must "
            "be a CNN trained on images"
        )
    return cfg.model, (cfg.data.channels, cfg.data.size, cfg.data.size)


_cache: dict[tuple[str, float, int], Backbone] = {}
_cache_zoo: dict[str, Backbone] = {}


def load_backbone(spec: str, runs_dir: str | Path | None = None) -> Backbone:
    """The backbone `spec` names: a shipped backbone's name, ``run:ID`` (a CNN run in the run
    store at `runs_dir`), or a checkpoint file's path. Read once per file version."""
    if not spec:
        raise BackboneError("no backbone given")
    if spec.startswith(("torchvision:", "timm:")):
        if spec not in _cache_zoo:
            _cache_zoo[spec] = _zoo_backbone(spec)
        return _cache_zoo[spec]
    if spec.startswith("run:"):
        from dlviz import runs

        run_id = spec[4:]
        try:
            stored = runs.load_run(runs_dir, run_id)
        except runs.RunStoreError as e:
            raise BackboneError(str(e)) from e
        if not stored.has_weights:
            raise BackboneError(f"run {run_id} has no saved weights (it did not finish)")
        path = stored.path / runs.WEIGHTS
        config_json = json.dumps(stored.config)
    else:
        path = BACKBONE_DIR / f"{spec}.safetensors"
        if "/" in spec or "\\" in spec or not path.is_file():
            path = Path(spec).expanduser()
        if not path.is_file():
            known = ", ".join(shipped_backbones()) or "none installed"
            raise BackboneError(
                f"no backbone {spec!r}: not one of dlviz's backbones ({known}) and no such file"
            )
        config_json = ""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime, stat.st_size)
    if key not in _cache:
        if config_json:
            label = f"run {spec[4:]}"
        else:
            label = spec if path.parent == BACKBONE_DIR else path.name
        backbone = read_backbone(path.read_bytes(), label, run_config=config_json)
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = backbone
    return _cache[key]


def _zoo_backbone(spec: str) -> Backbone:
    from dlviz.models import zoo

    try:
        weights = zoo.pretrained_blocks(spec)
    except ValueError as e:
        raise BackboneError(str(e)) from e
    m = zoo.MODELS[spec]
    return Backbone(
        name=spec,
        model=ModelConfig(arch="zoo", zoo=spec),
        input_shape=(3, zoo.INPUT_SIZE, zoo.INPUT_SIZE),
        weights=weights,
        card={
            "source": {
                "description": f"ImageNet ({m.label}: {m.library}'s {m.weights}, "
                f"1,000 classes; images resized to {zoo.INPUT_SIZE}x{zoo.INPUT_SIZE} here)"
            }
        },
    )


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
    model = models.build_model(backbone.model, backbone.input_shape, n_classes, seed=seed)
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
    conv = model.block_conv(i)  # type: ignore[attr-defined]
    name = next(n for n, m in model.blocks[i].named_modules() if m is conv)  # type: ignore[index]
    return f"blocks.{i}.{name}.weight" if name else f"blocks.{i}.weight"


def weight_change(model: nn.Module, backbone: Backbone) -> dict[str, float]:
    """How far each block's first conv layer moved from its pretrained weights:
    ||W - W0|| / ||W0||."""
    out = {}
    for i in range(len(model.blocks)):  # type: ignore[arg-type]
        w0 = backbone.weights[conv_key(model, i)]
        w = model.block_conv(i).weight.detach().to("cpu", torch.float32)  # type: ignore[attr-defined]
        out[model.block_name(i)] = float((w - w0).norm() / w0.norm().clamp_min(1e-12))  # type: ignore[attr-defined]
    return out


def plan(backbone: Backbone, cfg: TransferConfig, n_classes: int) -> list[dict[str, Any]]:
    """One row per layer of the network a strategy trains: what it is, its parameters, and
    whether it is frozen, fine-tuned (at which learning-rate factor), trained or new."""
    with torch.device("meta"):
        model = models.build_model(backbone.model, backbone.input_shape, n_classes)
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


# --- experiments ----------------------------------------------------------------------------------

DEFAULT_LEVELS = (1, 2, 5, 10, 25, 50, 0)  # labelled examples per class; 0: all of them
EFFICIENCY_STRATEGIES = ("scratch", "frozen", "finetune_all")


def strategy_configs(base: RunConfig, strategies: tuple[str, ...] = STRATEGIES) -> list[RunConfig]:
    """The same run under each strategy, named after it."""
    if not base.transfer.active:
        raise ConfigError("transfer.backbone", "choose a backbone to compare strategies")
    return [
        base.with_changes(transfer={"strategy": s}, name=STRATEGY_LABELS[s]) for s in strategies
    ]


@dataclass(frozen=True)
class EfficiencyExperiment:
    """Accuracy against labelled examples per class: each strategy trained on the first k
    training images of each class (the same k images for every strategy), for each k in
    `levels` (0: all), for `steps` optimizer steps whatever the data size, so that a run on 5
    images is not cut short by having few batches per epoch."""

    base: RunConfig
    levels: tuple[int, ...] = DEFAULT_LEVELS
    strategies: tuple[str, ...] = EFFICIENCY_STRATEGIES
    steps: int = 100

    def __post_init__(self) -> None:
        if not self.base.transfer.active:
            raise ConfigError("transfer.backbone", "choose a backbone for the experiment")
        if not self.levels:
            raise ConfigError("levels", "choose at least one number of examples per class")
        if not self.strategies:
            raise ConfigError("strategies", "choose at least one strategy")
        for s in self.strategies:
            if s not in STRATEGIES:
                raise ConfigError("strategies", f"unknown strategy {s!r}")
        if not 1 <= self.steps <= 100_000:
            raise ConfigError("steps", f"must be 1 to 100000, got {self.steps}")

    def levels_for(self, per_class_available: int) -> list[int]:
        """The levels that fit the data, in increasing order; `all` (0) last."""
        ks = sorted({k for k in self.levels if 0 < k < per_class_available})
        return ks + [0] if 0 in self.levels or not ks else ks

    def configs(self, per_class_available: int, n_classes: int) -> list[tuple[str, int, RunConfig]]:
        """(strategy, k, config) in the order they run: level by level, strategies within."""
        out = []
        batch = self.base.train.batch_size
        for k in self.levels_for(per_class_available):
            n = (k or per_class_available) * n_classes
            epochs = max(1, math.ceil(self.steps / math.ceil(n / batch)))
            for s in self.strategies:
                label = f"{k if k else 'all'}/class {STRATEGY_LABELS[s]}"
                cfg = self.base.with_changes(
                    data={"per_class": k},
                    train={"epochs": epochs, "eval_every": max(1, epochs // 10)},
                    transfer={"strategy": s},
                    name=label,
                )
                out.append((s, k, cfg))
        return out


def efficiency_rows(results: list[tuple[str, int, int, float]]) -> list[dict[str, Any]]:
    """Table rows from (strategy, k, examples actually used per class, test accuracy)."""
    return [
        {"strategy": STRATEGY_LABELS[s], "per_class": used, "level": k, "test_accuracy": acc}
        for s, k, used, acc in results
    ]


def default_target(size: int = 32) -> DataConfig:
    """The built-in target: the six shapes the backbone never saw, in colour."""
    return DataConfig(
        name="shapes", n_samples=600, noise=0.1, channels=3, image_size=size, test_fraction=0.3
    )


DEFAULT_TRAIN = TrainConfig(optimizer="adam", lr=0.003, batch_size=32, epochs=15)


# --- what the results show, in words --------------------------------------------------------------


def _pct(v: float) -> str:
    return f"{v:.1%}" if 0.995 <= v < 1.0 else f"{v:.0%}"  # 99.6% is not 100%


def strategies_reading(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences on a comparison of strategies; `rows` have strategy, trainable,
    seconds_per_epoch and test_accuracy (NaN for a run that did not end)."""
    done = [r for r in rows if math.isfinite(r["test_accuracy"])]
    if len(done) < 2:
        return []
    best = max(done, key=lambda r: r["test_accuracy"])
    out = [
        f"{STRATEGY_LABELS[best['strategy']]} reached the best test accuracy, "
        f"{_pct(best['test_accuracy'])}."
    ]
    by = {r["strategy"]: r for r in done}
    if "scratch" in by and "frozen" in by:
        s, f = by["scratch"], by["frozen"]
        gap = f["test_accuracy"] - s["test_accuracy"]
        ratio = s["trainable"] / max(f["trainable"], 1)
        verdict = (
            f"{plural(round(abs(gap) * 100), 'point')} {'above' if gap > 0 else 'below'}"
            if abs(gap) >= 0.01
            else "the same as"
        )
        out.append(
            f"Feature extraction trained {f['trainable']:,} parameters, {ratio:,.0f} times fewer "
            f"than from scratch, and ended {verdict} it ({_pct(f['test_accuracy'])} against "
            f"{_pct(s['test_accuracy'])})."
        )
        if f["seconds_per_epoch"] > 0 and s["seconds_per_epoch"] > 0:
            out.append(
                f"An epoch took {f['seconds_per_epoch']:.2f} s frozen against "
                f"{s['seconds_per_epoch']:.2f} s from scratch: frozen layers need no backward "
                "pass through their weights."
            )
    return out


def efficiency_reading(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences on the data-efficiency experiment; `rows` have strategy, per_class and
    test_accuracy (NaN for a run that did not end)."""
    done = [r for r in rows if math.isfinite(r["test_accuracy"])]
    if not done:
        return []
    levels = sorted({r["per_class"] for r in done})
    out = []

    def at(k: int) -> dict[str, float]:
        return {r["strategy"]: r["test_accuracy"] for r in done if r["per_class"] == k}

    few = at(levels[0])
    if "scratch" in few and len(few) > 1:
        others = ", ".join(
            f"{STRATEGY_LABELS[s].lower()} {_pct(v)}" for s, v in few.items() if s != "scratch"
        )
        n = levels[0]
        out.append(
            f"With {n} labelled image{'s' if n != 1 else ''} per class: {others}, against "
            f"{_pct(few['scratch'])} from scratch."
        )
    if len(levels) > 1:
        many = at(levels[-1])
        if len(many) > 1:
            best = max(many, key=lambda s: many[s])
            out.append(
                f"With {plural(levels[-1], 'image')} per class, {STRATEGY_LABELS[best].lower()} is best at "
                f"{_pct(many[best])}"
                + (f"; from scratch reaches {_pct(many['scratch'])}." if "scratch" in many else ".")
            )
        for k in levels:
            row = at(k)
            transfer_best = max((v for s, v in row.items() if s != "scratch"), default=None)
            if "scratch" in row and transfer_best is not None:
                if row["scratch"] >= transfer_best - 0.02:
                    out.append(
                        f"From scratch catches up (within 2 points) at {plural(k, 'image')} per class: "
                        "pretrained features matter most when labels are few."
                    )
                    break
    return out
