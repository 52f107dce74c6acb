"""Pretrain one of dlviz's own backbones, reproducibly, from a seed.

    dlviz pretrain [--name dlviz-shapes32] [--samples 12000] [--epochs 12] [--seed 0] [--out DIR]
    python -m dlviz.transfer.pretrain ...          (the same)

It generates the source task (`dlviz.data.source`: 24 classes of textured shapes in RGB), trains
the backbone architecture on it with dlviz's own training loop, and writes
``NAME.safetensors`` (the weights, with the card as metadata) and ``NAME.md`` (the model card)
into `--out` (default: dlviz/backbones, inside the package, where the Transfer page and
`dlviz pretrain --list` find them).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from dlviz.config import AugmentConfig, ConvBlock, ModelConfig, TrainConfig
from dlviz.data import image_dataset
from dlviz.data.source import CLASSES, FILLINGS, OUTLINES, generate_source
from dlviz.models import build_model, count_parameters
from dlviz.train import Callback, FitState, fit
from dlviz.transfer import BACKBONE_DIR, DEFAULT_BACKBONE, METADATA_KEY

# Three stages of two 3x3 conv blocks (16, 32, 64 channels), each stage ending in 2x2 max
# pooling; batch norm; residual shortcuts after the first block; global average pooling.
ARCHITECTURE = ModelConfig(
    arch="cnn",
    blocks=tuple(
        ConvBlock(channels=c, kernel=3, pool=p)
        for c, p in (
            (16, "none"),
            (16, "max"),
            (32, "none"),
            (32, "max"),
            (64, "none"),
            (64, "max"),
        )
    ),
    norm="batch",
    residual=True,
    head_pool="avg",
)


@dataclass(frozen=True)
class PretrainSettings:
    name: str = DEFAULT_BACKBONE
    samples: int = 12_000
    epochs: int = 12
    size: int = 32
    seed: int = 0
    noise: float = 0.1
    test_fraction: float = 0.1
    batch_size: int = 64
    lr: float = 0.003
    device: str = "auto"


def command_line(s: PretrainSettings) -> str:
    """The command that makes the same file again."""
    return (
        f"dlviz pretrain --name {s.name} --samples {s.samples} --epochs {s.epochs} "
        f"--size {s.size} --seed {s.seed}"
    )


class _Progress(Callback):
    def __init__(self, report: Callable[[str], None]):
        self.report = report

    def on_epoch_end(self, state: FitState) -> None:
        m = state.metrics
        self.report(
            f"epoch {state.epoch}/{state.total_epochs}: train accuracy "
            f"{m['train_accuracy']:.1%}, test accuracy {m['test_accuracy']:.1%} "
            f"({state.elapsed:.0f} s)"
        )


def pretrain(
    settings: PretrainSettings,
    out_dir: str | Path = BACKBONE_DIR,
    report: Callable[[str], None] = lambda line: None,
) -> Path:
    """Generate the source data, train the backbone, write NAME.safetensors and NAME.md."""
    from safetensors.torch import save_file

    from dlviz.devices import resolve_device

    s = settings
    torch.manual_seed(s.seed)
    device = resolve_device(s.device)
    t0 = time.perf_counter()
    x, y = generate_source(s.samples, s.size, s.noise, s.seed)
    data = image_dataset("source", x, y, CLASSES, s.test_fraction, s.seed)
    report(
        f"generated {s.samples} images of {len(CLASSES)} classes in {time.perf_counter() - t0:.1f} s"
    )
    input_shape = (3, s.size, s.size)
    model = build_model(ARCHITECTURE, input_shape, len(CLASSES), seed=s.seed)
    train_cfg = TrainConfig(
        optimizer="adam",
        lr=s.lr,
        batch_size=s.batch_size,
        epochs=s.epochs,
        seed=s.seed,
        device=s.device,
        augment=AugmentConfig(flip=True),
    )
    state = fit(model, data, train_cfg, device, callbacks=[_Progress(report)])
    if state.status != "finished":
        raise RuntimeError(f"pretraining did not finish: {state.status} {state.message}")
    card: dict[str, Any] = {
        "name": s.name,
        "model": {**asdict(ARCHITECTURE), "blocks": [asdict(b) for b in ARCHITECTURE.blocks]},
        "input_shape": list(input_shape),
        "params": count_parameters(model),
        "source": {
            "description": (
                "dlviz.data.source: 24 classes of textured shapes (6 outlines x 4 fillings) in "
                "RGB on a noisy background, at random position, size, rotation and colours"
            ),
            "outlines": list(OUTLINES),
            "fillings": list(FILLINGS),
            "samples": s.samples,
            "test_fraction": s.test_fraction,
            "noise": s.noise,
        },
        "classes": list(CLASSES),
        "train": {
            "optimizer": "adam",
            "lr": s.lr,
            "batch_size": s.batch_size,
            "epochs": s.epochs,
            "augment": "mirror",
            "seed": s.seed,
            "device": str(device),
        },
        "accuracy": {
            "train": round(state.metrics["train_accuracy"], 4),
            "test": round(state.metrics["test_accuracy"], 4),
        },
        "command": command_line(s),
        "torch": torch.__version__,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{s.name}.safetensors"
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, weights, metadata={METADATA_KEY: json.dumps(card)})
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    (out / f"{s.name}.md").write_text(
        model_card(card, weights.stat().st_size, digest, round(state.elapsed, 1))
    )
    report(f"wrote {weights} ({weights.stat().st_size / 1e6:.2f} MB, sha256 {digest[:16]}...)")
    return weights


def model_card(card: dict[str, Any], size_bytes: int, sha256: str, seconds: float) -> str:
    """The model card, as Markdown. (The training time is here, not in the weights file's
    metadata, so that the file repeats byte for byte.)"""
    blocks = ", ".join(
        f"{b['channels']}" + (" + pool" if b["pool"] != "none" else "")
        for b in card["model"]["blocks"]
    )
    t, src = card["train"], card["source"]
    return f"""# {card["name"]}

A small convolutional backbone that dlviz trains itself, for the Transfer page.

- **Architecture:** {len(card["model"]["blocks"])} blocks of 3x3 convolutions ({blocks} channels),
  batch norm, ReLU, residual shortcuts after the first block, global average pooling;
  {card["params"]:,} parameters with its source head. Input: RGB, {card["input_shape"][1]}x{card["input_shape"][2]}, values in [0, 1].
- **Source task:** {src["description"]}. Outlines: {", ".join(src["outlines"])};
  fillings: {", ".join(src["fillings"])}. None of them is a class of the target `shapes` dataset
  (circle, square, triangle, star, cross, line). {src["samples"]:,} images, {src["test_fraction"]:.0%} held out.
- **Training:** Adam, learning rate {t["lr"]}, batch {t["batch_size"]}, {t["epochs"]} epochs,
  mirrored images, seed {t["seed"]}, on {t["device"]} in {seconds} s (torch {card["torch"]}).
- **Accuracy on the source task:** train {card["accuracy"]["train"]:.1%}, held-out test {card["accuracy"]["test"]:.1%}
  (24 classes; chance is 4.2%).
- **File:** {size_bytes / 1e6:.2f} MB, sha256 `{sha256}`.

Make it again: `{card["command"]}` (writes into dlviz/backbones). The source data, the
initial weights and the batch order come from the seed: on the same machine and torch version
the file repeats byte for byte (same sha256).
"""
