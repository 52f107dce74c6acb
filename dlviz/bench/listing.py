"""`dlviz bench runs`: listing a run store of many runs, and the store it lists (`fake_run_store`,
which the run-store tests use too)."""

from __future__ import annotations

import time
from typing import Any

from dlviz.config import RunConfig
from dlviz.models import build_model
from dlviz.timing import machine, summarize

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
        "machine": {**machine(brief=True), "cpus": os.cpu_count(), "load_1min": load},
        "count": count,
        "repeats": repeats,
        "generate_s": generate_s,
        "first_s": first_s,
        "list_s": summarize(samples).spread(),
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
