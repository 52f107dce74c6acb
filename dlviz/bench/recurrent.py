"""`dlviz bench recurrent`: what a sequence model's observable path costs against its fused one.

Recurrent layers train on torch's fused kernels (`nn.RNN`, `nn.LSTM`, `nn.GRU`; cuDNN on a GPU);
inside `dlviz.models.recording.recording` the same parameters run step by step, gate by gate,
so a probe can read every gate and the gradient reaching every step. The
transformer likewise runs `F.scaled_dot_product_attention` while training and computes its
attention explicitly (softmax(QK^T / sqrt(d)) V, as minGPT does) when recorded.

Each row times one forward and backward pass of a batch through dlviz's own model, both ways:
samples per second of the median of the timed calls (`dlviz.timing.time_call`: warm-up calls
first, the device synchronised around every call, CUDA events on a GPU). The observable path
runs as the Sequence probe runs it, `recording(model, grads=True)`: each step's state keeps
its gradient.

Torch and numpy only: it runs on a GPU machine without streamlit or plotly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dlviz.config import ModelConfig
from dlviz.data import SequenceInfo
from dlviz.devices import describe
from dlviz.models import build_model
from dlviz.models.recording import recording
from dlviz.text import plural
from dlviz.timing import machine, time_call
from dlviz.train import task_loss

ARCHS = ("rnn", "lstm", "gru")
LENGTHS = (20, 100)
HIDDEN = (64, 256)
TRANSFORMER_LENGTHS = (20, 100, 256)  # 256: the longest sequence dlviz takes
BATCH = 64  # the Sequence lab's default batch
VOCAB = 16  # token ids of the random input
CLASSES = 4
# What each path is, by arch, for the report.
PATHS = {
    "recurrent": ("fused kernel", "step by step"),
    "transformer": ("scaled_dot_product_attention", "explicit attention"),
}


def _case(
    arch: str, length: int, hidden: int, batch: int, device: torch.device, seed: int = 0
) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor, str]:
    """dlviz's model for `arch` on random tokens: one layer of `hidden` giving a class (the
    recurrent nets), or a causal 2-layer, 2-head transformer giving a token at each position
    (the Sequence lab's default shape). Returns (model, x, y, task)."""
    gen = torch.Generator().manual_seed(seed)
    vocab = tuple(f"t{i}" for i in range(VOCAB))
    if arch == "transformer":
        spec = SequenceInfo(task="tokens", vocab=vocab, causal=True)
        cfg = ModelConfig(arch=arch, hidden_size=hidden, layers=2, heads=2)
        y = torch.randint(0, VOCAB, (batch, length), generator=gen)
        n_out = VOCAB
    else:
        spec = SequenceInfo(task="class", vocab=vocab)  # no padding: the plain fused kernel
        cfg = ModelConfig(arch=arch, hidden_size=hidden, layers=1)
        y = torch.randint(0, CLASSES, (batch,), generator=gen)
        n_out = CLASSES
    x = torch.randint(0, VOCAB, (batch, length), generator=gen)
    model = build_model(cfg, (length,), n_out, seed=seed, spec=spec).to(device).train()
    return model, x.to(device), y.to(device), spec.task


def _forward_backward(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, task: str
) -> tuple[Callable[[], None], Callable[[], None]]:
    """One forward and backward pass of (x, y) by the fused path and by the observable one."""

    def fused() -> None:
        model.zero_grad(set_to_none=True)
        task_loss(task, model(x), y).backward()

    def observable() -> None:
        model.zero_grad(set_to_none=True)
        with recording(model, grads=True):
            task_loss(task, model(x), y).backward()

    return fused, observable


def devices_for(which: str) -> list[torch.device]:
    """``all``: the CPU, and CUDA when present; otherwise the device named (DeviceError if it
    is not here)."""
    from dlviz.bench.devices import devices_to_measure

    return [d for d in devices_to_measure(which) if which != "all" or d.type in ("cpu", "cuda")]


def recurrent(
    device: str = "all",
    repeats: int = 21,
    archs: tuple[str, ...] = ARCHS + ("transformer",),
    lengths: tuple[int, ...] = LENGTHS,
    hidden: tuple[int, ...] = HIDDEN,
    transformer_lengths: tuple[int, ...] = TRANSFORMER_LENGTHS,
    batch: int = BATCH,
    max_seconds: float = 3.0,
) -> dict[str, Any]:
    """Samples per second of forward + backward, fused and observable path, for each arch,
    length and hidden size on each device (`device`: cpu, cuda, cuda:N or all). Each timing is
    the median of up to `repeats` calls (at least 3, fewer once they pass `max_seconds`)."""
    rows = []
    devices = devices_for(device)
    for dev in devices:
        for arch in archs:
            kind = "transformer" if arch == "transformer" else "recurrent"
            for length in transformer_lengths if kind == "transformer" else lengths:
                for size in hidden:
                    model, x, y, task = _case(arch, length, size, batch, dev)
                    fused, observable = _forward_backward(model, x, y, task)
                    timed = {
                        name: time_call(fn, dev, repeats=repeats, warmup=3, max_seconds=max_seconds)
                        for name, fn in (("fused", fused), ("observable", observable))
                    }
                    rows.append(
                        {
                            "device": describe(dev),
                            "arch": arch,
                            "length": length,
                            "hidden": size,
                            "paths": dict(zip(("fused", "observable"), PATHS[kind])),
                            **{
                                name: {
                                    "samples_per_second": batch / t.median,
                                    "seconds": t.spread(),
                                    "n": t.n,
                                }
                                for name, t in timed.items()
                            },
                            "slowdown": timed["observable"].median / timed["fused"].median,
                        }
                    )
                    del model, x, y
    return {
        "benchmark": "recurrent",
        "machine": machine(brief=True),
        "devices": [describe(d) for d in devices],
        "batch": batch,
        "repeats": repeats,
        "rows": rows,
    }


def format_recurrent(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"dlviz bench recurrent ({m['cpu_model']}, {plural(m['torch_threads'], 'torch thread')}), "
        f"forward + backward of a batch of {result['batch']}, median of up to "
        f"{result['repeats']}: samples/s"
    ]
    for r in result["rows"]:
        fused, obs = r["paths"]["fused"], r["paths"]["observable"]
        lines.append(
            f"  {r['device']} {r['arch']} length {r['length']}, hidden {r['hidden']}: "
            f"{fused} {r['fused']['samples_per_second']:,.0f}, "
            f"{obs} {r['observable']['samples_per_second']:,.0f} "
            f"({r['slowdown']:.1f}x slower)"
        )
    return "\n".join(lines)
