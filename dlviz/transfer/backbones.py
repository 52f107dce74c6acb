"""Backbones: finding, reading and describing pretrained convolutional blocks.

A backbone comes from dlviz's own pretrained files in ``dlviz/backbones`` (made by
``dlviz pretrain``), from a CNN run in the run store (``run:ID``), from the zoo (torchvision's and
timm's ImageNet models), or from a checkpoint file: safetensors, or a PyTorch state dict read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dlviz import jsonread, models
from dlviz.config import (
    ConfigError,
    ModelConfig,
    RunConfig,
)

BACKBONE_DIR = Path(__file__).resolve().parents[1] / "backbones"  # dlviz/backbones, in the wheel
DEFAULT_BACKBONE = "dlviz-shapes32"
METADATA_KEY = "dlviz_backbone"  # safetensors metadata: the backbone's card, as JSON
MAX_CHECKPOINT_MB = 200
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
    header = jsonread.loads(data[8 : 8 + length])
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
    shape: tuple[int, int, int]  # (C, H, W)
    if METADATA_KEY in metadata:
        try:
            card = jsonread.loads(metadata[METADATA_KEY])
            cfg = RunConfig.from_dict({"model": card["model"]}).model
            shape = tuple(int(v) for v in card["input_shape"])  # type: ignore[assignment]  # matched below
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
        cfg = RunConfig.from_dict(jsonread.loads(config_json))
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


def load_backbone(spec: str, runs_dir: str | os.PathLike[str] | None = None) -> Backbone:
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
