"""`dlviz bench generative`: seconds per training step of the four generative families (gan,
vae, diffusion, flow), on the CPU and on each GPU, and the GPU's speed-up.

Each family is built as `RunConfig.from_dict` builds it for the ring (its own defaults: 3
hidden layers of 128, batch 128, the VAE's β, diffusion's and the flow's learning rate), and a
wider variant (3 layers of 512, batch 1,024) where a GPU is likely to pay off. One step is the
update `dlviz.train.fit` makes on a batch: the model's own `train_step` (a GAN's discriminator
steps and its generator step, with two optimizers; latents, noise and times drawn on the CPU
and moved to the device, as in training) and the loop's gradient-norm accumulation. Batches
are full batches of the ring's training points, already on the device, taken in turn.

A timed call is `steps` updates in a row, the device synchronised before and after
(`dlviz.timing.time_call`: warm-up calls first, CUDA events on a GPU); seconds per step is
the median call over `steps`. Torch and numpy only: it runs on a GPU machine without streamlit
or plotly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dlviz.config import GENERATIVE_ARCHS, RunConfig
from dlviz.text import plural
from dlviz.timing import machine, time_call

FAMILIES = GENERATIVE_ARCHS  # gan, vae, diffusion, flow
# name -> (hidden widths, batch): the Generative lab's default, and a width a GPU is made for
SIZES: dict[str, tuple[tuple[int, ...], int]] = {
    "default": ((128, 128, 128), 128),
    "wide": ((512, 512, 512), 1024),
}
STEPS = 10  # updates in one timed call: a GPU queues them as training does, one sync a call
WARMUP = 2  # untimed calls first


def family_config(family: str, hidden: tuple[int, ...] | None = None, batch: int | None = None):
    """The run `family` trains on the ring with the lab's defaults, its width and batch
    changed when given."""
    d: dict[str, Any] = {"data": {"name": "ring"}, "model": {"arch": family}}
    if hidden:
        d["model"]["hidden"] = list(hidden)
    if batch:
        d["train"] = {"batch_size": batch}
    return RunConfig.from_dict(d)


def step_function(
    cfg: RunConfig, device: torch.device, seed: int = 0
) -> tuple[Callable[[], None], torch.nn.Module]:
    """A function making one training update of `cfg`'s model on `device` a call, as `fit`
    makes it (the model's train_step on the next full batch, then the gradient-norm
    accumulation), and the model it trains."""
    from dlviz.data import load_generative
    from dlviz.models import build_model
    from dlviz.probes import GradNormTracker

    data = load_generative(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=seed).to(device)
    model.train()
    t = cfg.train
    optimizers = model.make_optimizers(
        t.optimizer, t.lr, t.lr_d or t.lr, t.weight_decay, t.optimizer_d
    )
    step_gen = torch.Generator().manual_seed(seed + 4)  # latents, noise, times: as fit draws them
    grad_norms = GradNormTracker(model)
    x = data.x_train.flatten(1)
    if len(x) < t.batch_size:  # fewer points than a batch: repeat them
        x = x.repeat(-(-t.batch_size // len(x)), 1)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    batches = [
        x[order[i : i + t.batch_size]].to(device)
        for i in range(0, len(x) - t.batch_size + 1, t.batch_size)
    ]
    turn = [0]

    def step() -> None:
        xb = batches[turn[0] % len(batches)]
        turn[0] += 1
        model.train_step(xb, optimizers, step_gen)
        grad_norms.accumulate()

    return step, model


def device_name(device: torch.device) -> str:
    """ "cpu", "cuda:0", "mps": short, for a chart's legend (the GPU's model is in `gpus`)."""
    if device.type == "cuda":
        return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    return device.type


def devices_for(which: str) -> list[torch.device]:
    """``all``: the CPU, and each CUDA GPU (or an Apple GPU) present; otherwise the device
    named (DeviceError if it is not here)."""
    from dlviz.bench.devices import devices_to_measure

    return devices_to_measure(which)


def generative(
    device: str = "all",
    repeats: int = 21,
    families: tuple[str, ...] = FAMILIES,
    sizes: dict[str, tuple[tuple[int, ...], int]] | None = None,
    steps: int = STEPS,
    max_seconds: float = 3.0,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Seconds per training step and samples per second of each family at each size on each
    device (`device`: all, cpu, cuda, cuda:N or mps), each the median of up to `repeats`
    calls of `steps` updates (at least 3, fewer once they pass `max_seconds`); `progress` is
    called with each row as it is measured. The speed-ups over the CPU are in
    ``speedups``, where a GPU was measured."""
    sizes = SIZES if sizes is None else sizes
    devices = devices_for(device)
    rows = []
    for dev in devices:
        for size, (hidden, batch) in sizes.items():
            for family in families:
                cfg = family_config(family, hidden, batch)
                fn, model = step_function(cfg, dev)

                def block(fn: Callable[[], None] = fn) -> None:
                    for _ in range(steps):
                        fn()

                t = time_call(block, dev, repeats=repeats, warmup=WARMUP, max_seconds=max_seconds)
                per_step = t.median / steps
                row = {
                    "device": device_name(dev),
                    "family": family,
                    "size": size,
                    "hidden": list(hidden),
                    "batch": batch,
                    "lr": cfg.train.lr,
                    "seconds_per_step": per_step,
                    "seconds": {k: v / steps for k, v in t.spread().items()},
                    "samples_per_second": batch / per_step,
                    "n": t.n,
                }
                rows.append(row)
                if progress:
                    progress(row)
                del fn, model
    return {
        "benchmark": "generative",
        "machine": machine(brief=True),
        "gpus": [
            f"{device_name(d)} {torch.cuda.get_device_name(d)}" for d in devices if d.type == "cuda"
        ],
        "devices": [device_name(d) for d in devices],
        "steps_per_call": steps,
        "warmup_calls": WARMUP,
        "repeats": repeats,
        "rows": rows,
        "speedups": speedups(rows),
    }


def speedups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each GPU row's speed-up over the CPU row of the same family and size (CPU seconds per
    step over the GPU's); none where only one device was measured."""
    cpu = {(r["family"], r["size"]): r for r in rows if r["device"] == "cpu"}
    out = []
    for r in rows:
        base = cpu.get((r["family"], r["size"]))
        if r["device"] != "cpu" and base is not None:
            out.append(
                {
                    "device": r["device"],
                    "family": r["family"],
                    "size": r["size"],
                    "speedup": base["seconds_per_step"] / r["seconds_per_step"],
                }
            )
    return out


def size_label(row: dict[str, Any]) -> str:
    """ "3x128, batch 128" """
    hidden = row["hidden"]
    width = f"{len(hidden)}x{hidden[0]}" if len(set(hidden)) == 1 else "-".join(map(str, hidden))
    return f"{width}, batch {row['batch']:,}"


def format_generative(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"dlviz bench generative ({m['cpu_model']}, {plural(m['torch_threads'], 'torch thread')}"
        + "".join(f"; {g}" for g in result.get("gpus", []))
        + f"), one training step on the ring, median of up to {result['repeats']} calls of "
        f"{plural(result['steps_per_call'], 'step')}:"
    ]
    for r in result["rows"]:
        lines.append(
            f"  {r['device']} {r['family']:9} {size_label(r)}: "
            f"{r['seconds_per_step'] * 1000:.2f} ms a step, "
            f"{r['samples_per_second']:,.0f} samples/s"
        )
    if result["speedups"]:
        for s in result["speedups"]:
            lines.append(f"  {s['device']} vs cpu, {s['family']} {s['size']}: {s['speedup']:.1f}x")
    elif result["devices"] == ["cpu"]:
        lines.append("  No GPU measured: no speed-up to give.")
    return "\n".join(lines)
