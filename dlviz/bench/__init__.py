"""Benchmarks, timed honestly: a warm-up first, both sides run alternately, the median of repeats
reported with its spread, and the device synchronized before every clock read.

`overhead`: dlviz's instrumented training (`train.fit` with the live-run events, gradient norms,
per-epoch evaluation and 2-D snapshots) against a bare PyTorch loop over the same model, data and
device. The ratio of their throughputs is the budget DESIGN.md sets (at least 0.9).
"""

from __future__ import annotations

import functools
import platform
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from dlviz.config import RunConfig
from dlviz.data import Dataset, load_dataset
from dlviz.devices import describe, resolve_device, synchronize
from dlviz.jobs import EventEmitter, snapshotter_for
from dlviz.models import build_model
from dlviz.text import plural
from dlviz.train import EVAL_TRAIN_SAMPLES, batch_bounds, evaluate, fit, make_optimizer

OVERHEAD_BUDGET = 0.9


@dataclass(frozen=True)
class Case:
    name: str
    config: RunConfig


def overhead_cases(device: str = "cpu", epochs: int | None = None) -> list[Case]:
    """The models `dlviz bench overhead` measures: the Playground default and a larger deep MLP."""
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
    return [
        Case("playground default (mlp 8x3, batch 32)", toy),
        Case("deep mlp (64x8, batch norm, batch 64)", deep),
        Case("cnn on 1,200 shapes 32x32 (3 blocks, batch norm), feature maps on", cnn),
    ]


def bare_loop(model: torch.nn.Module, data: Dataset, cfg: RunConfig, device: torch.device) -> float:
    """The plain PyTorch loop: same batches, same optimizer, and at the end one evaluation of
    as many training samples as `fit` measures plus the test set (what any training script
    ends with, and what `fit` does after its last epoch); nothing else. Returns seconds."""
    tc = cfg.train
    model.to(device).train()
    x, y = data.x_train.to(device), data.y_train.to(device)
    opt = make_optimizer(model, tc)
    gen = torch.Generator().manual_seed(tc.seed)
    bounds = batch_bounds(len(x), tc.batch_size)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(tc.epochs):
        perm = torch.randperm(len(x), generator=gen).to(device)
        for lo, hi in bounds:
            idx = perm[lo:hi]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    n_eval = min(len(x), EVAL_TRAIN_SAMPLES)
    x_te, y_te = data.x_test.to(device), data.y_test.to(device)
    evaluate(
        model, torch.cat([x[:n_eval], x_te]), torch.cat([y[:n_eval], y_te]), (n_eval, len(x_te))
    )
    synchronize(device)
    return time.perf_counter() - start


def instrumented_loop(
    model: torch.nn.Module, data: Dataset, cfg: RunConfig, device: torch.device
) -> float:
    """`train.fit` with everything a live Playground run has switched on. Returns seconds."""
    events: list[dict[str, Any]] = []
    emitter = EventEmitter(events.append, snapshot=snapshotter_for(data))
    synchronize(device)
    start = time.perf_counter()
    state = fit(model, data, cfg.train, device, callbacks=[emitter])
    synchronize(device)
    seconds = time.perf_counter() - start
    if state.status != "finished":
        raise RuntimeError(f"benchmark run did not finish: {state.status} {state.message}")
    return seconds


def spread(values: list[float]) -> dict[str, float]:
    """Median, min, max and the interquartile range of `values`."""
    ordered = sorted(values)
    if len(ordered) >= 4:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1, q3 = ordered[0], ordered[-1]
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "iqr": q3 - q1,
    }


def overhead(device: str = "cpu", repeats: int = 21, epochs: int | None = None) -> dict[str, Any]:
    """Throughput of instrumented training over a bare loop, per case. See module docstring.

    Each repeat times the two loops back to back (alternating which goes first); the ratio is the
    median of those pairs' ratios, which cancels most of a shared machine's drift in speed.
    """
    dev = resolve_device(device)
    results = []
    for case in overhead_cases(device, epochs):
        data = load_dataset(case.config.data)
        bounds = batch_bounds(len(data.x_train), case.config.train.batch_size)
        samples = sum(hi - lo for lo, hi in bounds) * case.config.train.epochs

        fresh = functools.partial(
            build_model, case.config.model, data.input_shape, data.n_classes, seed=0
        )
        bare_loop(fresh(), data, case.config, dev)  # warm-up: allocator, kernels, lazy imports
        instrumented_loop(fresh(), data, case.config, dev)
        bare_s, inst_s = [], []
        for i in range(repeats):
            order = (bare_loop, instrumented_loop) if i % 2 == 0 else (instrumented_loop, bare_loop)
            for fn in order:
                seconds = fn(fresh(), data, case.config, dev)
                (bare_s if fn is bare_loop else inst_s).append(seconds)
        ratios = [b / s for b, s in zip(bare_s, inst_s)]
        bare_med, inst_med = statistics.median(bare_s), statistics.median(inst_s)
        results.append(
            {
                "case": case.name,
                "config": case.config.to_dict(),
                "samples_per_run": samples,
                "bare_samples_per_second": samples / bare_med,
                "dlviz_samples_per_second": samples / inst_med,
                "ratio": statistics.median(ratios),
                "ratio_spread": spread(ratios),
                "bare_seconds": spread(bare_s),
                "dlviz_seconds": spread(inst_s),
            }
        )
    return {
        "benchmark": "overhead",
        "budget": OVERHEAD_BUDGET,
        "device": describe(dev),
        "machine": machine_info(),
        "repeats": repeats,
        "cases": results,
        "within_budget": all(r["ratio"] >= OVERHEAD_BUDGET for r in results),
    }


def refresh(repeats: int = 30, epochs: int = 200) -> dict[str, Any]:
    """Server cost of one live refresh of the Playground's single-run view: building its four
    figures from a real run's history and serialising them as Streamlit does. Streamlit's own
    per-element work is not in it; the page shows the full figure under its charts."""
    from dlviz import jobs

    cases = {
        "playground default (mlp 8x3, 1000 points)": RunConfig().with_changes(
            train={"epochs": epochs, "device": "cpu"}
        ),
        "deep and wide (mlp 64x24, 5000 points)": RunConfig().with_changes(
            data={"n_samples": 5000},
            model={"hidden": (64,) * 24, "norm": "batch"},
            train={"epochs": max(2, epochs // 20), "device": "cpu", "batch_size": 256},
        ),
    }
    results = [feature_map_figure_cost(repeats), image_view_cost(repeats, 2 if epochs >= 10 else 1)]
    for name, cfg in cases.items():
        h = jobs.start(cfg).wait()
        draw = functools.partial(_draw_single_view, h, load_dataset(cfg.data))
        draw()
        times, size = [], 0
        for _ in range(repeats):
            start = time.perf_counter()
            size = draw()
            times.append((time.perf_counter() - start) * 1000)
        results.append({"case": name, "epochs": h.epoch, "ms": spread(times), "bytes": size})
    return {
        "benchmark": "refresh",
        "first_point_s": spread(first_point_times(repeats=min(repeats, 10))),
        "budget_ms": 50,
        "budget_bytes": 300_000,
        "machine": machine_info(),
        "repeats": repeats,
        "cases": results,
    }


def feature_map_figure_cost(repeats: int = 30) -> dict[str, Any]:
    """Building and serialising the feature-map figure of an 8-layer CNN on 64x64 RGB images
    (the Images page's heaviest figure; budget: under 300 ms and 1 MB)."""
    from dlviz.figures.images import feature_maps_figure
    from dlviz.models import build_model
    from dlviz.probes import ImageProbe

    cfg = RunConfig.from_dict(
        {
            "data": {"name": "shapes", "n_samples": 60, "image_size": 64, "channels": 3},
            "model": {
                "arch": "cnn",
                "blocks": [{"channels": 32}] * 2 + [{"channels": 64, "pool": "max"}] * 6,
            },
        }
    )
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)
    snap = ImageProbe(data.x_test)(model)
    times, size = [], 0
    for _ in range(repeats + 1):
        start = time.perf_counter()
        size = len(feature_maps_figure(snap).to_json())
        times.append((time.perf_counter() - start) * 1000)
    return {
        "case": "feature maps, 8-layer CNN on 64x64 RGB (32-64 channels a layer)",
        "epochs": 0,
        "ms": spread(times[1:]),
        "bytes": size,
    }


def image_view_cost(repeats: int = 30, epochs: int = 2) -> dict[str, Any]:
    """One refresh of the Images page's single-run view when a new snapshot has arrived (its
    worst case; otherwise the feature-map and filter figures are reused): the feature maps,
    filters, curves, gradient norms and dead-ReLU figures of the Deep preset on 32x32 shapes."""
    from dlviz import jobs
    from dlviz.figures.curves import curves_figure
    from dlviz.figures.gradients import grad_norm_figure
    from dlviz.figures.images import feature_maps_figure, filters_figure
    from dlviz.labs.images.figures import dead_units_figure

    blocks = [
        {"channels": c, "pool": p}
        for c, p in [(16, "none"), (16, "max"), (32, "none"), (32, "max")]
        + [(64, "none"), (64, "max"), (64, "none"), (64, "none")]
    ]
    cfg = RunConfig.from_dict(
        {
            "data": {"name": "shapes", "n_samples": 600, "image_size": 32},
            "model": {"arch": "cnn", "blocks": blocks, "norm": "batch"},
            "train": {"epochs": epochs, "device": "cpu", "lr": 0.003},
        }
    )
    h = jobs.start(cfg).wait()
    snap = h.fmaps[-1]

    def draw() -> int:
        figs = [
            feature_maps_figure(snap),
            filters_figure(snap.filters, tile=40, cols=8),
            curves_figure([("", h)], height=320),
            grad_norm_figure(h, height=320),
            dead_units_figure(h, height=300),
        ]
        return sum(len(f.to_json()) for f in figs)

    times, size = [], draw()
    for _ in range(repeats):
        start = time.perf_counter()
        size = draw()
        times.append((time.perf_counter() - start) * 1000)
    return {
        "case": "Images view, new snapshot: Deep preset (8 convs) on 32x32 shapes",
        "epochs": h.epoch,
        "ms": spread(times),
        "bytes": size,
    }


def first_point_times(repeats: int = 10) -> list[float]:
    """Seconds from starting a Playground-default run until its first loss report arrives: the
    server's share of "first point on the loss chart within 1 s of pressing Train"."""
    from dlviz import jobs
    from dlviz.train import warm_up

    warm_up()  # the dashboard does this once at start-up
    cfg = RunConfig().with_changes(train={"epochs": 100_000, "device": "cpu"})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        handle = jobs.start(cfg)
        while not handle.history.steps.seen and handle.alive:
            handle.poll()
            time.sleep(0.002)
        times.append(time.perf_counter() - start)
        handle.stop()
        handle.wait()
    return times


def _draw_single_view(h: Any, data: Dataset) -> int:
    """Build the single-run view's four figures as a refresh does; returns their JSON bytes."""
    # the figures import plotly: only this benchmark needs it
    from dlviz.figures.curves import curves_figure
    from dlviz.figures.gradients import grad_norm_figure
    from dlviz.labs.playground.figures import boundary_figure, neuron_maps_figure

    x_tr, y_tr, x_te, y_te = (
        t.numpy() for t in (data.x_train, data.y_train, data.x_test, data.y_test)
    )
    figs = [
        boundary_figure(h.snapshot, x_tr, y_tr, x_te, y_te, data.class_names),
        curves_figure([("", h)]),
        neuron_maps_figure(h.snapshot),
        grad_norm_figure(h),
    ]
    return sum(len(f.to_json()) for f in figs)


def format_refresh(result: dict[str, Any]) -> str:
    fp = result["first_point_s"]
    lines = [
        f"dlviz bench refresh ({result['machine']['cpu_model']}), median of {result['repeats']}:",
        f"  first loss point after starting a run: {fp['median'] * 1000:.0f} ms "
        f"(max {fp['max'] * 1000:.0f} ms) [budget 1 s from pressing Train]",
    ]
    for r in result["cases"]:
        lines.append(
            f"  {r['case']}"
            + (f", {plural(r['epochs'], 'epoch')}" if r["epochs"] else "")
            + f": {r['ms']['median']:.1f} ms "
            f"(IQR {r['ms']['iqr']:.1f} ms), {r['bytes'] / 1000:.0f} KB "
            f"[budget {result['budget_ms']} ms, {result['budget_bytes'] // 1000} KB]"
        )
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": _cpu_model(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    from dlviz.devices import cpu_model

    return cpu_model()


def format_overhead(result: dict[str, Any]) -> str:
    lines = [
        f"dlviz bench overhead on {result['device']} ({result['machine']['cpu_model']}, "
        f"{result['machine']['torch_threads']} torch threads), median of {result['repeats']}:"
    ]
    for r in result["cases"]:
        s = r["ratio_spread"]
        verdict = "ok" if r["ratio"] >= result["budget"] else "BELOW BUDGET"
        lines.append(
            f"  {r['case']}: bare {r['bare_samples_per_second']:,.0f} samples/s, "
            f"dlviz {r['dlviz_samples_per_second']:,.0f} samples/s -> ratio {r['ratio']:.3f} "
            f"(runs {s['min']:.3f}-{s['max']:.3f}) [{verdict}, budget {result['budget']}]"
        )
    return "\n".join(lines)


def photo_bytes(megabytes: float = 1.0, seed: int = 0) -> bytes:
    """A JPEG of about `megabytes` (smooth colour plus fine noise, like a photo's texture)."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    side = int(1260 * megabytes**0.5)
    yy, xx = np.mgrid[0:side, 0:side] / side
    base = np.stack([xx, yy, 1 - xx], axis=-1) * 200
    pixels = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def ingest(n_files: int = 500, megabytes: float = 1.0, size: int = 64) -> dict[str, Any]:
    """Ingesting an upload of `n_files` JPEG photos of about `megabytes` each into two classes:
    decoding and checking every file (`ImageSet.add_files`), then resizing all of them to the
    training input (`to_arrays`). Ten distinct photos are reused under different names."""
    from dlviz.data.uploads import ImageSet

    photos = [photo_bytes(megabytes, seed) for seed in range(10)]
    files = [(f"photo {i}.jpg", photos[i % 10]) for i in range(n_files)]
    images = ImageSet()
    start = time.perf_counter()
    images.add_files("a", files[: n_files // 2])
    images.add_files("b", files[n_files // 2 :])
    decoded = time.perf_counter() - start
    x, _, _ = images.to_arrays(size, channels=3)
    total = time.perf_counter() - start
    mb = sum(len(d) for _, d in files) / 2**20
    return {
        "benchmark": "ingest",
        "machine": machine_info(),
        "files": n_files,
        "megabytes": round(mb, 1),
        "photo_size": list(images.classes["a"][0].size),  # (width, height)
        "kept_size": list(images.classes["a"][0].pixels.shape[1::-1]),
        "decode_s": decoded,
        "resize_s": total - decoded,
        "total_s": total,
        "ms_per_file": total / max(n_files, 1) * 1000,
        "input": list(x.shape),
    }


def format_ingest(r: dict[str, Any]) -> str:
    (w, h), (kw, kh) = r["photo_size"], r["kept_size"]
    return (
        f"dlviz bench ingest ({r['machine']['cpu_model']}): {r['files']} JPEG photos, "
        f"{r['megabytes']:.0f} MB, {w}x{h} each, kept at {kw}x{kh} -> {r['total_s']:.1f} s "
        f"({r['ms_per_file']:.0f} ms a file: decode and check {r['decode_s']:.1f} s, resize to "
        f"{r['input'][-1]} px {r['resize_s']:.1f} s)"
    )


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
            times[name] = spread(samples)
        rows.append({"size": size, **{f"{k}_ms": v for k, v in times.items()}})
    return {
        "benchmark": "augment",
        "machine": machine_info(),
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


EVAL_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def fake_run_store(root: Any, count: int, started: float = 1.7e9) -> list[str]:
    """Fill `root` with `count` runs as `dlviz train` leaves them: one real run (config, metrics
    of 50 epochs, weights of the Playground's network, summary) copied with varied fields.
    Run i started at `started + 60 i`, has depth 1 + i % 8 and data cycling spiral, xor,
    moons, circle; every 50th is left unfinished by a process that is gone. Returns the ids,
    oldest first."""
    import json
    import shutil
    from pathlib import Path

    from dlviz import runs

    root = Path(root)
    config = RunConfig().with_changes(train={"epochs": 50, "device": "cpu"})
    model = build_model(config.model, (2,), 2)
    epochs = list(range(1, 51))
    metrics = {
        "epoch": epochs,
        "step": [e * 22 for e in epochs],
        "elapsed": [e * 0.05 for e in epochs],
        "train_loss": [1 / e for e in epochs],
        "train_accuracy": [1 - 0.5 / e for e in epochs],
        "test_loss": [1.1 / e for e in epochs],
        "test_accuracy": [1 - 0.6 / e for e in epochs],
    }
    summary = {
        "status": "finished",
        "message": "",
        "device": "cpu",
        "params": 0,
        "epochs": 50,
        "steps": 1100,
        "seconds": 2.5,
        "samples_per_second": 30_800.0,
        "final": {k: metrics[k][-1] for k in EVAL_KEYS},
        "gradient_norms": {"hidden1": 0.01, "hidden2": 0.02, "hidden3": 0.03, "output": 0.04},
    }
    template = runs.save_run(
        root / ".template", "template", config.to_dict(), summary, metrics, model
    )
    datasets = ("spiral", "xor", "moons", "circle")
    ids = []
    for i in range(count):
        run_id = f"bench-{i:06d}"
        depth = 1 + i % 8
        cfg = config.with_changes(
            data={"name": datasets[i % 4]}, model={"hidden": (8,) * depth}, name=f"run {i}"
        ).to_dict()
        t0 = started + 60 * i
        folder = root / run_id
        folder.mkdir(parents=True)
        (folder / runs.CONFIG).write_text(json.dumps(cfg, indent=2))
        status = {
            "format_version": runs.FORMAT_VERSION,
            "run_id": run_id,
            "status": "running",
            "started": t0,
            "pid": None,
            "host": "elsewhere",
            **runs.describe_config(cfg),
            "device": "cpu",
            "params": 72 * depth - 30,
        }
        (folder / runs.STATUS).write_text(json.dumps(status, indent=2))
        ids.append(run_id)
        if i % 50 == 49:
            continue  # its process died before it finished
        shutil.copyfile(template / runs.METRICS, folder / runs.METRICS)
        shutil.copyfile(template / runs.WEIGHTS, folder / runs.WEIGHTS)
        final = 0.5 + (i % 50) / 100
        s = {
            "format_version": runs.FORMAT_VERSION,
            "run_id": run_id,
            **summary,
            "final": {**summary["final"], "test_accuracy": final},
            **runs.describe_config(cfg),
            "params": 72 * depth - 30,
            "started": t0,
            "finished": t0 + 2.5,
            "best_test_accuracy": final + 0.01,
            "final_test_accuracy": final,
        }
        (folder / runs.SUMMARY).write_text(json.dumps(s, indent=2))
    shutil.rmtree(root / ".template")
    return ids


RUNS_LISTING_BUDGET_S = 1.0


def runs_listing(count: int = 1000, repeats: int = 21) -> dict[str, Any]:
    """`runs.list_runs` over a temporary store of `count` runs (`fake_run_store`): the first
    listing after writing them, then the median of `repeats` more (the page cache warm)."""
    import os
    import tempfile

    from dlviz import runs

    with tempfile.TemporaryDirectory(prefix="dlviz-bench-runs-") as tmp:
        t = time.perf_counter()
        fake_run_store(tmp, count)
        generate_s = time.perf_counter() - t
        t = time.perf_counter()
        rows = runs.list_runs(tmp)
        first_s = time.perf_counter() - t
        assert len(rows) == count, (len(rows), count)
        samples = []
        for _ in range(repeats):
            t = time.perf_counter()
            runs.list_runs(tmp)
            samples.append(time.perf_counter() - t)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "benchmark": "runs",
        "machine": {**machine_info(), "cpus": os.cpu_count(), "load_1min": load},
        "count": count,
        "repeats": repeats,
        "generate_s": generate_s,
        "first_s": first_s,
        "list_s": spread(samples),
        "budget_s": RUNS_LISTING_BUDGET_S,
    }


def format_runs_listing(r: dict[str, Any]) -> str:
    s = r["list_s"]
    verdict = "ok" if s["median"] < r["budget_s"] else "OVER BUDGET"
    load = r["machine"]["load_1min"]
    return (
        f"dlviz bench runs ({r['machine']['cpu_model']}, {r['machine']['cpus']} CPUs"
        + (f", load {load:.2f}" if load is not None else "")
        + f"): listing {r['count']:,} runs takes {s['median'] * 1000:.1f} ms "
        f"(median of {r['repeats']}, IQR {s['iqr'] * 1000:.1f} ms; first listing "
        f"{r['first_s'] * 1000:.1f} ms) [{verdict}, budget {r['budget_s']:.0f} s]"
    )
