"""`dlviz bench graphs`: one training step of the Playground's default network (an MLP of three
hidden layers of 8 on 2-D points, ReLU, Adam, batch 32) taken four ways on one device, to see how much of
a tiny network's step is launching work rather than doing it:

- **eager**: the plain step (forward, cross-entropy, backward, the fused Adam), every operation
  launched from Python;
- **compile**: the same step with the model under ``torch.compile`` (its forward and backward
  fused into a few generated kernels; the optimizer as before);
- **compile, reduce-overhead** (CUDA only): ``torch.compile(mode="reduce-overhead")``, which also
  replays the compiled kernels as CUDA graphs;
- **CUDA graph** (CUDA only): the whole step, optimizer included (Adam with
  ``capturable=True``), captured once with ``torch.cuda.graph`` and replayed: one launch a step.

Every variant starts from the same weights and trains on one fixed batch (the inputs of a graph
must stay at the same addresses; the step's cost does not depend on which 32 points it sees).
Each is timed over blocks of steps with the device synchronised at the ends of a block; shown is
the median microseconds a step over the blocks. Before the timed steps, each variant's weights
(after its untimed warm-up steps) are compared with those of plain eager steps as many from the
same start: the figure is only worth having if the step computes the same thing (to float
rounding; compiled kernels may sum in another order).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from dlviz.config import RunConfig
from dlviz.devices import resolve_device, synchronize
from dlviz.timing import machine, summarize

VARIANTS = ("eager", "compile", "compile-reduce-overhead", "cuda-graph")
CUDA_ONLY = {"compile-reduce-overhead", "cuda-graph"}


def _setup(device: torch.device, cfg: RunConfig):
    from dlviz.data import load_dataset
    from dlviz.models import build_model

    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=cfg.train.seed)
    model = model.to(device).train()
    n = cfg.train.batch_size
    x = data.x_train[:n].to(device).contiguous()
    y = data.y_train[:n].to(device).contiguous()
    return model, x, y


def _adam(model: torch.nn.Module, lr: float, device: torch.device, capturable: bool = False):
    return torch.optim.Adam(
        model.parameters(), lr=lr, fused=device.type == "cuda" or None, capturable=capturable
    )


def _eager_step(model, opt, x, y) -> Callable[[], None]:
    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def _graph_step(model, opt, x, y, device: torch.device) -> Callable[[], None]:
    """The whole step captured as one CUDA graph (torch's "whole network capture" recipe: a few
    warm-up steps on a side stream create the optimizer's state, then one captured step)."""
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(3):
            _eager_step(model, opt, x, y)()
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return graph.replay


def _variant(name: str, cfg: RunConfig, device: torch.device):
    """(step, steps already taken while building it, seconds spent building and warming)."""
    model, x, y = _setup(device, cfg)
    lr = cfg.train.lr
    t0 = time.perf_counter()
    if name == "eager":
        step, taken = _eager_step(model, _adam(model, lr, device), x, y), 0
    elif name == "cuda-graph":
        opt = _adam(model, lr, device, capturable=True)
        step, taken = _graph_step(model, opt, x, y, device), 3
    else:
        mode = "reduce-overhead" if name == "compile-reduce-overhead" else "default"
        compiled = torch.compile(model, mode=mode)
        step, taken = _eager_step(compiled, _adam(model, lr, device), x, y), 0
    for _ in range(3):  # compiles, captures and warms: untimed
        step()
    synchronize(device)
    return model, step, taken + 3, time.perf_counter() - t0


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().float().cpu().clone() for k, v in model.state_dict().items()}


def _eager_weights(cfg: RunConfig, device: torch.device, steps: int) -> dict[str, torch.Tensor]:
    """The weights after `steps` plain eager steps from the same start: the reference."""
    model, x, y = _setup(device, cfg)
    step = _eager_step(model, _adam(model, cfg.train.lr, device), x, y)
    for _ in range(steps):
        step()
    synchronize(device)
    return _weights(model)


def graphs(
    device: str = "cpu",
    steps: int = 200,
    blocks: int = 7,
    variants: tuple[str, ...] = VARIANTS,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Microseconds per training step of the Playground's default network under each of
    `variants` on `device`; the CUDA-only ones are listed as skipped elsewhere."""
    dev = resolve_device(device)
    cfg = RunConfig()  # the Playground's default network, data and optimizer
    rows: list[dict[str, Any]] = []
    for name in variants:
        if name not in VARIANTS:
            raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
        row: dict[str, Any] = {"variant": name, "device": str(dev)}
        if name in CUDA_ONLY and dev.type != "cuda":
            row["skipped"] = "needs a CUDA GPU"
            rows.append(row)
            continue
        try:
            model, step, taken, build_s = _variant(name, cfg, dev)
        except Exception as e:  # a compiler missing or refusing: say so, measure the rest
            row["skipped"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
            rows.append(row)
            continue
        synchronize(dev)
        weights = _weights(model)  # after `taken` steps: compared with eager's after as many
        times = []
        for _ in range(blocks):
            synchronize(dev)
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            synchronize(dev)
            times.append((time.perf_counter() - t0) / steps)
        reference = _eager_weights(cfg, dev, taken)
        timing = summarize(times)
        row.update(
            us_per_step=timing.median * 1e6,
            iqr_us=timing.iqr * 1e6,
            steps_per_s=1.0 / timing.median,
            build_s=build_s,
        )
        row["compared_after_steps"] = taken
        row["max_weight_diff"] = max(
            float((weights[k] - reference[k]).abs().max()) for k in reference
        )
        rows.append(row)
        if progress:
            progress(row)
    eager = next((r for r in rows if r["variant"] == "eager" and "us_per_step" in r), None)
    for r in rows:
        if eager and "us_per_step" in r:
            r["speedup"] = eager["us_per_step"] / r["us_per_step"]
    return {
        "benchmark": "graphs",
        "machine": machine(brief=dev.type == "cpu"),
        "network": (
            f"the Playground's default: an MLP of hidden widths "
            f"{'-'.join(map(str, cfg.model.hidden))}, {cfg.model.activation}, "
            f"{cfg.train.optimizer}, batch {cfg.train.batch_size}"
        ),
        "steps_per_block": steps,
        "blocks": blocks,
        "rows": rows,
    }


def format_graphs(result: dict[str, Any]) -> str:
    lines = [
        f"One training step of {result['network']}: median of {result['blocks']} blocks of "
        f"{result['steps_per_block']} steps.",
    ]
    for r in result["rows"]:
        if "skipped" in r:
            lines.append(f"  {r['variant']:<24} skipped: {r['skipped']}")
            continue
        diff = r.get("max_weight_diff")
        same = (
            ""
            if diff is None
            else f", weights within {diff:.1e} of eager's after {r['compared_after_steps']} steps"
        )
        lines.append(
            f"  {r['variant']:<24} {r['us_per_step']:8.1f} us/step ({r['speedup']:.2f}x eager; "
            f"built and warmed in {r['build_s']:.1f} s{same})"
        )
    return "\n".join(lines)
