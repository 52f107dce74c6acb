"""`dlviz bench overhead`, timed honestly: a warm-up first, both sides run alternately, the median
of repeats reported with its spread, and the device synchronized before every clock read.

`overhead`: dlviz's instrumented training (`train.fit` with the live-run events, gradient norms,
per-epoch evaluation and the snapshots a live run takes: 2-D boundaries, feature maps, or a
sequence model's states, gates and attention) against a bare PyTorch loop over the same model,
data and device. The ratio of their throughputs is the budget docs/ARCHITECTURE.md sets.
One case measures live linear probes (`train.probe_every`) instead: the same instrumented run
with probes on against it with them off, and the probes' own seconds timed inside each run.
That case is held to PROBE_BUDGET on the probes' timed share of the training time: at 3% the
wall-time ratio of whole runs is within the noise of a shared machine (two runs of 21 pairs on
2 cores gave 1.005 and 0.897, each pair anywhere from 0.67 to 1.35; docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import math
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dlviz.config import RunConfig
from dlviz.data import Dataset, load_dataset, load_generative
from dlviz.devices import describe, resolve_device, synchronize
from dlviz.events import LayerProbes, probeable
from dlviz.generative_metrics import summary
from dlviz.jobs import EventEmitter, snapshotter_for
from dlviz.models import build_model
from dlviz.text import plural
from dlviz.timing import machine, summarize
from dlviz.train import (
    EVAL_TRAIN_SAMPLES,
    GENERATED_SAMPLES,
    Callback,
    batch_bounds,
    evaluate_task,
    fit,
    is_generative,
    make_optimizer,
    task_loss,
)

OVERHEAD_BUDGET = 0.97
PROBE_BUDGET = 0.97  # live probes cost at most 3% of the training time
# The probes' case lengthens its run to about this many seconds where the machine trains its 20
# epochs faster (at most PROBED_MAX_EPOCHS): in a run of a few seconds the budget admits no
# probe at all (a probe of this CNN costs about 0.13 s on a 2-core CPU), and nothing is measured.
PROBED_RUN_S = 15.0
PROBED_MAX_EPOCHS = 120


@dataclass(frozen=True)
class Case:
    """A run to time; `baseline` "bare" against the bare PyTorch loop, "unprobed" against
    the same instrumented run without its live probes."""

    name: str
    config: RunConfig
    baseline: str = "bare"

    @property
    def budget(self) -> float:
        return OVERHEAD_BUDGET if self.baseline == "bare" else PROBE_BUDGET


def overhead_cases(device: str = "cpu", epochs: int | None = None) -> list[Case]:
    """The models `dlviz bench overhead` measures: the Playground default, a deep MLP, the
    Images page's CNN, the Sequence lab's LSTM and transformer, and the Generative lab's GAN
    (each a few seconds a run); then the CNN's live probes, on 20 epochs (`overhead`
    lengthens them to about PROBED_RUN_S seconds on a faster machine, so that probes are
    taken)."""
    toy = RunConfig().with_changes(train={"device": device, "epochs": epochs or 25})
    deep = RunConfig().with_changes(
        data={"n_samples": 4000},
        model={"hidden": (64,) * 8, "norm": "batch"},
        train={"device": device, "epochs": epochs or 3, "batch_size": 64},
    )
    cnn = RunConfig.from_dict(
        {
            "data": {"name": "shapes", "n_samples": 1200, "image_size": 32},
            "model": {
                "arch": "cnn",
                "blocks": [
                    {"channels": 16, "pool": "max"},
                    {"channels": 32, "pool": "max"},
                    {"channels": 32},
                ],
                "norm": "batch",
            },
            "train": {"device": device, "epochs": epochs or 5, "batch_size": 32},
        }
    )  # the Images page's default data: 840 training and 360 test images
    # Sequences take the lab's training defaults (4,000 sequences: 2,800 to train; batch 64,
    # Adam at 0.003, gradient clipped to norm 1), and a live run's snapshots of states, gates,
    # the gradient through time and attention.
    lstm = RunConfig.from_dict(
        {
            "data": {"name": "temporal_order", "length": 50},
            "model": {"arch": "lstm", "hidden_size": 64},
            "train": {"device": device, "epochs": epochs or 5},
        }
    )
    transformer = RunConfig.from_dict(
        {
            "data": {"name": "sort"},
            "model": {"arch": "transformer", "hidden_size": 64, "layers": 2, "heads": 2},
            "train": {"device": device, "epochs": epochs or 4},
        }
    )  # the Sequence lab's default: sort 8 digits, 16 tokens with the answer
    # the Generative lab's default GAN on the ring (two optimizers, its own step), with its
    # live snapshots: samples, the discriminator's heatmap, the latent mesh and the arrows
    gan = RunConfig.from_dict(
        {"data": {"name": "ring"}, "model": {"arch": "gan"},
         "train": {"device": device, "epochs": epochs or 10}}
    )  # fmt: skip
    return [
        Case("playground default (mlp 8x3, batch 32)", toy),
        Case("deep mlp (64x8, batch norm, batch 64)", deep),
        Case("cnn on 1,200 shapes 32x32 (3 blocks, batch norm), feature maps on", cnn),
        Case("lstm 64 on temporal_order, length 50 (clip 1), states and gates on", lstm),
        Case("transformer 2x64, 2 heads, on sort (clip 1), attention on", transformer),
        Case("gan 3x128 on the ring (nonsaturating, two Adams), samples and heatmap on", gan),
        probes_case(cnn.with_changes(train={"epochs": epochs or 20, "probe_every": 1})),
    ]


def probes_case(config: RunConfig) -> Case:
    """The CNN's live probes, on `config`'s number of epochs."""
    return Case(
        f"cnn on 1,200 shapes (3 blocks, batch norm), {plural(config.train.epochs, 'epoch')}: linear "
        "probes every epoch (train.probe_every 1) against none",
        config,
        baseline="unprobed",
    )


def long_enough(case: Case, seconds: float) -> Case:
    """The probes' case with as many epochs as make a run of about PROBED_RUN_S seconds, where
    one of its runs took `seconds` (never fewer epochs, at most PROBED_MAX_EPOCHS)."""
    epochs = case.config.train.epochs
    if seconds <= 0 or seconds >= PROBED_RUN_S:
        return case
    more = min(PROBED_MAX_EPOCHS, math.ceil(epochs * PROBED_RUN_S / seconds))
    return probes_case(case.config.with_changes(train={"epochs": max(epochs, more)}))


def bare_loop(model: torch.nn.Module, data: Dataset, cfg: RunConfig, device: torch.device) -> float:
    """The plain PyTorch loop, tuned as a good engineer would tune it: the data on the device
    and batches as index slices of it, the optimizer's fused kernel (`make_optimizer`: torch's
    fastest implementation, called through its usual `step()`), no host syncs, and the thread
    count that is fastest for the case (`best_threads`); same batches, the task's own loss,
    the gradient clipped as the config says (`train.clip`), and at the end one evaluation of as
    many training samples as `fit` measures plus the test set (what any training script ends
    with, and what `fit` does after its last epoch); nothing else. Returns seconds."""
    tc = cfg.train
    task = data.task
    model.to(device).train()
    x, y = data.x_train.to(device), data.y_train.to(device)
    if is_generative(model):
        return _bare_generative(model, data, cfg, device)
    opt = make_optimizer(model, tc)
    clipping = tc.clip > 0
    trainable = [p for p in model.parameters() if p.requires_grad]
    gen = torch.Generator().manual_seed(tc.seed)
    bounds = batch_bounds(len(x), tc.batch_size)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(tc.epochs):
        perm = torch.randperm(len(x), generator=gen).to(device)
        for lo, hi in bounds:
            idx = perm[lo:hi]
            loss = task_loss(task, model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if clipping:
                nn.utils.clip_grad_norm_(trainable, tc.clip, foreach=True)
            opt.step()
    n_eval = min(len(x), EVAL_TRAIN_SAMPLES)
    x_te, y_te = data.x_test.to(device), data.y_test.to(device)
    evaluate_task(
        model,
        torch.cat([x[:n_eval], x_te]),
        torch.cat([y[:n_eval], y_te]),
        (n_eval, len(x_te)),
        task,
    )
    synchronize(device)
    return time.perf_counter() - start


def _bare_generative(
    model: torch.nn.Module, data: Dataset, cfg: RunConfig, device: torch.device
) -> float:
    """A generative model's plain loop: its own step with its optimizers (a GAN: the
    discriminator's, then the generator's), the same batches, and at the end what a script
    ends with: samples measured against the held-out points once (divergence, modes, MMD)."""
    tc = cfg.train
    x = data.x_train.to(device).flatten(1)
    real = data.x_test.flatten(1).numpy()
    opts = model.make_optimizers(
        tc.optimizer, tc.lr, tc.lr_d or tc.lr, tc.weight_decay, tc.optimizer_d
    )  # type: ignore[operator]
    gen = torch.Generator().manual_seed(tc.seed)
    step_gen = torch.Generator().manual_seed(tc.seed + 4)
    bounds = batch_bounds(len(x), tc.batch_size)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(tc.epochs):
        perm = torch.randperm(len(x), generator=gen).to(device)
        for lo, hi in bounds:
            model.train_step(x[perm[lo:hi]], opts, step_gen)  # type: ignore[operator]
    samples = model.sample(GENERATED_SAMPLES, torch.Generator().manual_seed(1))  # type: ignore[operator]
    summary(samples.float().cpu().numpy(), real, data.modes)
    synchronize(device)
    return time.perf_counter() - start


def instrumented_loop(
    model: torch.nn.Module,
    data: Dataset,
    cfg: RunConfig,
    device: torch.device,
    events: list[dict[str, Any]] | None = None,
) -> float:
    """`train.fit` with everything a live run has switched on (the snapshots its data gets,
    and the live probes when `train.probe_every` asks for them); its events go into `events`
    when given. Returns seconds."""
    events = [] if events is None else events
    callbacks: list[Callback] = [EventEmitter(events.append, snapshot=snapshotter_for(data))]
    if cfg.train.probe_every and probeable(data):
        callbacks.append(
            LayerProbes(events.append, data, every=cfg.train.probe_every, seed=cfg.train.seed)
        )
    synchronize(device)
    start = time.perf_counter()
    state = fit(model, data, cfg.train, device, callbacks=callbacks)
    synchronize(device)
    seconds = time.perf_counter() - start
    if state.status != "finished":
        raise RuntimeError(f"benchmark run did not finish: {state.status} {state.message}")
    return seconds


def unprobed_loop(
    model: torch.nn.Module, data: Dataset, cfg: RunConfig, device: torch.device
) -> float:
    """`instrumented_loop` with the live probes off (`train.probe_every` 0). Returns seconds."""
    return instrumented_loop(model, data, cfg.with_changes(train={"probe_every": 0}), device)


class _ProbedLoop:
    """`instrumented_loop`, keeping for each run the live probes' count and their seconds
    over the rest of the run's seconds (their share of the training time, timed in the run)."""

    def __init__(self) -> None:
        self.shares: list[float] = []
        self.counts: list[float] = []

    def __call__(
        self, model: torch.nn.Module, data: Dataset, cfg: RunConfig, device: torch.device
    ) -> float:
        sent: list[dict[str, Any]] = []
        seconds = instrumented_loop(model, data, cfg, device, sent)
        probe_s = sum(e["seconds"] for e in sent if e["type"] == "probes")
        self.shares.append(probe_s / max(seconds - probe_s, 1e-9))
        self.counts.append(float(sum(e["type"] == "probes" for e in sent)))
        return seconds


def best_threads(
    loop: Any, fresh: Any, data: Dataset, cfg: RunConfig, device: torch.device, tries: int = 3
) -> int:
    """Set torch's thread count to whichever of one and the machine's count runs `loop`
    faster on this case (the best of `tries` each, after a warm-up), as a tuned script would;
    both sides of the case then run with it. Returns it. On a GPU: leaves it as it is."""
    loop(fresh(), data, cfg, device)  # warm-up: allocator, kernels, lazy imports
    if device.type != "cpu":
        return torch.get_num_threads()
    counts = sorted({1, os.cpu_count() or 1})
    best: dict[int, float] = {}
    for n in counts:
        torch.set_num_threads(n)
        best[n] = min(loop(fresh(), data, cfg, device) for _ in range(tries))
    chosen = min(counts, key=lambda n: best[n])
    torch.set_num_threads(chosen)
    return chosen


def overhead(device: str = "cpu", repeats: int = 21, epochs: int | None = None) -> dict[str, Any]:
    """Throughput of instrumented training over a bare loop (or, for the probes' case, with
    probes over without), per case. See module docstring.

    Each repeat times the two loops back to back (alternating which goes first); the ratio is the
    median of those pairs' ratios, which cancels most of a shared machine's drift in speed.
    `cpu_ratio` is the same from the process's CPU time: on a machine shared with other work it
    moves less than wall time (time spent waiting for a core is not in it); the budget is the
    wall-time ratio.
    """
    dev = resolve_device(device)
    threads_before = torch.get_num_threads()
    try:
        return _overhead(dev, device, repeats, epochs)
    finally:
        torch.set_num_threads(threads_before)  # each case chose its own; the caller keeps its


def _overhead(dev: torch.device, device: str, repeats: int, epochs: int | None) -> dict[str, Any]:
    results = []
    for case in overhead_cases(device, epochs):
        generative = case.config.model.is_generative
        data = (load_generative if generative else load_dataset)(case.config.data)
        fresh = functools.partial(
            build_model, case.config.model, data.input_shape, data.n_outputs, seed=0, spec=data.seq
        )
        base = bare_loop if case.baseline == "bare" else unprobed_loop
        # with the warm-up; as many tries as timed repeats, up to 3 (a short check's are few)
        threads = best_threads(base, fresh, data, case.config, dev, tries=min(3, repeats))
        if case.baseline == "unprobed" and epochs is None:  # a run long enough to probe
            case = long_enough(case, base(fresh(), data, case.config, dev))
        bounds = batch_bounds(len(data.x_train), case.config.train.batch_size)
        samples = sum(hi - lo for lo, hi in bounds) * case.config.train.epochs
        instrumented_loop(fresh(), data, case.config, dev)
        inst = _ProbedLoop()
        bare_s: list[float] = []
        inst_s: list[float] = []
        bare_cpu: list[float] = []
        inst_cpu: list[float] = []
        for i in range(repeats):
            order = (base, inst) if i % 2 == 0 else (inst, base)
            for fn in order:
                torch.set_num_threads(threads)  # as chosen (a tiny MLP's run takes one)
                model = fresh()
                cpu = time.process_time()
                seconds = fn(model, data, case.config, dev)
                cpu = time.process_time() - cpu
                (bare_s if fn is base else inst_s).append(seconds)
                (bare_cpu if fn is base else inst_cpu).append(cpu)
        ratios = [b / s for b, s in zip(bare_s, inst_s)]
        bare_med, inst_med = statistics.median(bare_s), statistics.median(inst_s)
        ratio = statistics.median(ratios)
        r: dict[str, Any] = {
            "case": case.name,
            "baseline": "bare loop" if case.baseline == "bare" else "dlviz without probes",
            "budget": case.budget,
            "config": case.config.to_dict(),
            "samples_per_run": samples,
            "bare_samples_per_second": samples / bare_med,
            "dlviz_samples_per_second": samples / inst_med,
            "ratio": ratio,
            "ratio_spread": summarize(ratios).spread(),
            "cpu_ratio": statistics.median(b / s for b, s in zip(bare_cpu, inst_cpu)),
            "bare_seconds": summarize(bare_s).spread(),
            "dlviz_seconds": summarize(inst_s).spread(),
            "within_budget": ratio >= case.budget,
            "torch_threads": threads,
        }
        if case.baseline != "bare":  # the probes' own seconds, timed in each run
            share = summarize(inst.shares).spread()
            r["probe_share"] = share
            r["probes_per_run"] = count = summarize(inst.counts).spread()
            # within the budget, and measured: a run that took no probe shows nothing
            r["within_budget"] = share["median"] <= 1 - case.budget and count["median"] >= 1
        results.append(r)
    return {
        "benchmark": "overhead",
        "budget": OVERHEAD_BUDGET,
        "device": describe(dev),
        "machine": machine(brief=True),
        "repeats": repeats,
        "cases": results,
        "within_budget": all(r["within_budget"] for r in results),
    }


def format_overhead(result: dict[str, Any]) -> str:
    lines = [
        f"dlviz bench overhead on {result['device']} ({result['machine']['cpu_model']}, "
        f"{plural(result['machine']['torch_threads'], 'torch thread')}), "
        f"median of {result['repeats']}:"
    ]
    for r in result["cases"]:
        s = r["ratio_spread"]
        budget = r.get("budget", result["budget"])
        verdict = "ok" if r.get("within_budget", r["ratio"] >= budget) else "BELOW BUDGET"
        base, side = (
            ("bare", "dlviz")
            if r.get("baseline", "bare loop") == "bare loop"
            else ("without probes", "with probes")
        )
        lines.append(
            f"  {r['case']}: {base} {r['bare_samples_per_second']:,.0f} samples/s, "
            f"{side} {r['dlviz_samples_per_second']:,.0f} samples/s -> ratio {r['ratio']:.3f} "
            f"(runs {s['min']:.3f}-{s['max']:.3f}; CPU time {r['cpu_ratio']:.3f}; "
            f"{plural(r.get('torch_threads', 0), 'thread')}) "
            f"[{verdict}, budget {budget}]"
        )
        if "probe_share" in r and r["probes_per_run"]["median"] < 1:
            lines.append(
                "    no probe was taken in most runs: the runs were too short for the budget to "
                "admit one, so nothing was measured (more epochs: --epochs)"
            )
        elif "probe_share" in r:
            share, count = r["probe_share"], r["probes_per_run"]
            lines.append(
                f"    probes took {share['median']:.1%} of the rest of a run's time (median; "
                f"{share['min']:.1%}-{share['max']:.1%}), {count['median']:g} probes a run "
                f"({count['min']:g}-{count['max']:g}); the budget holds this to "
                f"{1 - budget:.0%}, the ratio above being within the noise at that size"
            )
    return "\n".join(lines)
