"""`dlviz bench refresh`: the server's cost of one live refresh of the Playground's, the Images
page's, the Sequence lab's and the Generative lab's views (building their figures and
serialising them as Streamlit does), and the time from starting a run to its first loss
report."""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any

from dlviz.config import RunConfig
from dlviz.data import Dataset, load_dataset
from dlviz.text import plural
from dlviz.timing import machine, summarize


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
    # a plumbing run (fewer than 20 epochs asked for) trains its sequence runs on 400 sequences
    results += sequence_view_costs(repeats, max(1, epochs // 20), None if epochs >= 20 else 400)
    results += generative_view_costs(repeats, max(1, epochs // 10), None if epochs >= 20 else 400)
    for name, cfg in cases.items():
        h = jobs.start(cfg).wait()
        draw = functools.partial(_draw_single_view, h, load_dataset(cfg.data))
        draw()
        times, size = [], 0
        for _ in range(repeats):
            start = time.perf_counter()
            size = draw()
            times.append((time.perf_counter() - start) * 1000)
        results.append(
            {"case": name, "epochs": h.epoch, "ms": summarize(times).spread(), "bytes": size}
        )
    return {
        "benchmark": "refresh",
        "first_point_s": summarize(first_point_times(repeats=min(repeats, 10))).spread(),
        "budget_ms": 50,
        "budget_bytes": 300_000,
        "machine": machine(brief=True),
        "repeats": repeats,
        "cases": results,
    }


def feature_map_figure_cost(repeats: int = 30) -> dict[str, Any]:
    """Building and serialising the feature-map figure of an 8-layer CNN on 64x64 RGB images
    (the Images page's heaviest figure; budget: under 300 ms and 1 MB)."""
    from dlviz.figures.rasters import feature_maps_figure
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
        "ms": summarize(times[1:]).spread(),
        "bytes": size,
    }


def image_view_cost(repeats: int = 30, epochs: int = 2) -> dict[str, Any]:
    """One refresh of the Images page's single-run view when a new snapshot has arrived (its
    worst case; otherwise the feature-map and filter figures are reused): the feature maps,
    filters, curves, gradient norms and dead-ReLU figures of the Deep preset on 32x32 shapes."""
    from dlviz import jobs
    from dlviz.figures.curves import curves_figure
    from dlviz.figures.gradients import grad_norm_figure
    from dlviz.figures.rasters import feature_maps_figure, filters_figure
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
        "ms": summarize(times).spread(),
        "bytes": size,
    }


def sequence_view_cases(epochs: int = 10, samples: int | None = None) -> dict[str, RunConfig]:
    """The Sequence lab's runs whose live view `sequence_view_costs` draws: its default
    transformer (attention and head scores) and an LSTM on a long sequence (states, gates and
    the gradient through time). `samples`: sequences of each dataset (default 4,000)."""
    cases = {
        "Sequence view, new snapshot: transformer 2x64, 2 heads, on sort": RunConfig.from_dict(
            {
                "data": {"name": "sort"},
                "model": {"arch": "transformer", "hidden_size": 64, "layers": 2, "heads": 2},
                "train": {"device": "cpu", "epochs": epochs},
            }
        ),
        "Sequence view, new snapshot: lstm 64 on temporal_order, length 100": RunConfig.from_dict(
            {
                "data": {"name": "temporal_order", "length": 100},
                "model": {"arch": "lstm", "hidden_size": 64},
                "train": {"device": "cpu", "epochs": epochs},
            }
        ),
    }
    if samples:
        cases = {k: c.with_changes(data={"n_samples": samples}) for k, c in cases.items()}
    return cases


def sequence_view_costs(
    repeats: int = 30, epochs: int = 10, samples: int | None = None
) -> list[dict[str, Any]]:
    """One live refresh of the Sequence lab's view, `dlviz.labs.sequences.view.draw_single`
    itself, run by Streamlit's AppTest (so Streamlit's per-element work is in it), on a trained
    run's history shown as if it were still training, each time with a new snapshot (its worst
    case: otherwise the snapshot's figures are reused). `ms` is the wall time of draw_single,
    `bytes` the JSON of the figures its live charts send. The Streamlit side is the lab's
    (`dlviz.labs.sequences.view_timing`): this module imports no streamlit."""
    from dlviz import jobs
    from dlviz.labs.sequences.view_timing import time_view

    results = []
    for name, cfg in sequence_view_cases(epochs, samples).items():
        handle = jobs.start(cfg)
        done = handle.wait()
        # the same history, read as a live run's: no finished-network section below the view
        handle.history = dataclasses.replace(done, status="running", model=None)
        times, size = time_view(handle, repeats)
        results.append(
            {
                "case": name,
                "epochs": done.epoch,
                "snapshots": len(done.seq),
                "ms": summarize(times).spread(),
                "bytes": size,
            }
        )
    return results


def generative_view_cases(epochs: int = 20, samples: int | None = None) -> dict[str, RunConfig]:
    """The Generative lab's run whose live view `generative_view_costs` draws: its default GAN
    on the ring (the discriminator's heatmap, the latent mesh and the gradient arrows under the
    points). `samples`: points of the ring (default 4,000)."""
    data: dict[str, Any] = {"name": "ring"} | ({"n_samples": samples} if samples else {})
    cfg = RunConfig.from_dict(
        {"data": data, "model": {"arch": "gan"}, "train": {"device": "cpu", "epochs": epochs}}
    )
    return {"Generative view, new snapshot: gan 3x128 on the ring, every layer shown": cfg}


def generative_view_costs(
    repeats: int = 30, epochs: int = 20, samples: int | None = None
) -> list[dict[str, Any]]:
    """One live refresh of the Generative lab's view, `dlviz.labs.generative.view.draw_single`
    itself, run by Streamlit's AppTest, on a trained run's history shown as if it were still
    training, each time with a new snapshot (its worst case): as `sequence_view_costs`, the
    Streamlit side in the lab (`dlviz.labs.generative.view_timing`)."""
    from dlviz import jobs
    from dlviz.labs.generative.view_timing import time_view

    results = []
    for name, cfg in generative_view_cases(epochs, samples).items():
        handle = jobs.start(cfg)
        done = handle.wait()
        handle.history = dataclasses.replace(done, status="running", model=None)
        times, size = time_view(handle, repeats)
        results.append(
            {
                "case": name,
                "epochs": done.epoch,
                "snapshots": len(done.gen),
                "ms": summarize(times).spread(),
                "bytes": size,
            }
        )
    return results


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
