"""`dlviz bench augment`: augmenting a training batch in whole-batch tensor operations against
one image at a time, and against a training step."""

from __future__ import annotations

import time
from typing import Any

import torch

from dlviz.text import plural
from dlviz.timing import machine, summarize


def augment(
    device: str = "cpu", batch: int = 64, sizes: tuple[int, ...] = (32, 64), repeats: int = 21
) -> dict[str, Any]:
    """Augmenting one training batch (flip, crop shift, rotation, colour jitter) in whole-batch
    tensor operations against the same transforms one image at a time, and against one
    training step of the Image lab's Deep CNN on that batch; medians of `repeats`."""
    from dlviz.augment import Augment
    from dlviz.config import DEEP_BLOCKS, ModelConfig
    from dlviz.devices import resolve_device, synchronize
    from dlviz.models import build_model

    dev = resolve_device(device)
    aug = Augment(flip=True, crop=0.1, rotate=10, jitter=0.2)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for size in sizes:
        x = torch.rand(batch, 3, size, size, generator=gen).to(dev)
        y = torch.randint(0, 6, (batch,), generator=gen).to(dev)
        model = build_model(
            ModelConfig(arch="cnn", blocks=DEEP_BLOCKS, norm="batch"), (3, size, size), 6
        ).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def batched(x=x):
            aug(x, gen)

        def per_image(x=x):
            for i in range(batch):
                aug(x[i : i + 1], gen)

        def step(x=x, y=y, model=model, opt=opt):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        times = {}
        for name, fn in (("batched", batched), ("per_image", per_image), ("train_step", step)):
            fn()  # warm-up
            samples = []
            for _ in range(repeats):
                synchronize(dev)
                t = time.perf_counter()
                fn()
                synchronize(dev)
                samples.append((time.perf_counter() - t) * 1000)
            times[name] = summarize(samples).spread()
        rows.append({"size": size, **{f"{k}_ms": v for k, v in times.items()}})
    return {
        "benchmark": "augment",
        "machine": machine(brief=True),
        "device": str(dev),
        "batch": batch,
        "threads": torch.get_num_threads(),
        "rows": rows,
    }


def format_augment(r: dict[str, Any]) -> str:
    lines = [
        f"dlviz bench augment ({r['machine']['cpu_model']}, {r['device']}, batch {r['batch']}, "
        f"{plural(r['threads'], 'thread')}): median ms per batch"
    ]
    for row in r["rows"]:
        b, p, s = (row[k]["median"] for k in ("batched_ms", "per_image_ms", "train_step_ms"))
        lines.append(
            f"  {row['size']}x{row['size']}: batched {b:.2f}, one image at a time {p:.2f} "
            f"({p / b:.0f}x slower); a Deep CNN training step {s:.1f} (augmentation adds "
            f"{b / s:.0%})"
        )
    return "\n".join(lines)
