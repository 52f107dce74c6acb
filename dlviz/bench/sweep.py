"""`dlviz bench sweep`: how many tiny trials a minute each executor gets through: this machine
one and two at a time (`LocalExecutor`), and a private local Ray (`RayExecutor("local")`, its
start-up and shutdown counted, as a sweep pays them).

The trials: the circle, 200 points, 3 epochs, seeds 0..N-1, on the CPU, fed as the driver
feeds them (never more than the executor's slots at once) but with no run store, so the
figures are the executors' own. One trial is trained first, untimed, so that the first
executor does not pay this process's imports; Ray's workers pay theirs (a sweep does), and
Ray then runs the trials once more, warm (`warm_per_minute`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import torch

from dlviz.timing import machine

TRIAL = {"data": {"name": "circle", "n_samples": 200}, "train": {"epochs": 3, "device": "cpu"}}


def trial_configs(trials: int) -> list[dict[str, Any]]:
    return [{**TRIAL, "train": {**TRIAL["train"], "seed": s}} for s in range(trials)]


def drive(executor: Any, configs: list[dict[str, Any]]) -> dict[str, int]:
    """Run `configs` through `executor`, at most its slots at once; the count of each status."""
    todo = list(enumerate(configs))
    running = 0
    statuses: dict[str, int] = {}
    while todo or running:
        while todo and running < executor.slots:
            i, config = todo.pop(0)
            executor.submit(f"trial-{i}", config)
            running += 1
        for event in executor.events(0.5):
            if event["type"] == "done":
                running -= 1
                status = event["result"].get("status", "error")
                statuses[status] = statuses.get(status, 0) + 1
    return statuses


def timed(
    make: Callable[[], Any], configs: list[dict[str, Any]], again: bool = False
) -> dict[str, Any]:
    """Seconds to make the executor, run the trials, and close it; trials a minute over the
    whole (`per_minute`) and over the running alone (`per_minute_running`). `again`: run them
    once more before closing, timed apart (`warm_s`, `warm_per_minute`)."""
    t0 = time.perf_counter()
    executor = make()
    t1 = time.perf_counter()
    warm: dict[str, Any] = {}
    try:
        statuses = drive(executor, configs)
        t2 = time.perf_counter()
        if again:
            statuses_warm = drive(executor, configs)
            warm_s = time.perf_counter() - t2
            warm = {
                "warm_statuses": statuses_warm,
                "warm_s": warm_s,
                "warm_per_minute": 60 * len(configs) / warm_s,
            }
    finally:
        t3 = time.perf_counter()
        executor.close()
        t4 = time.perf_counter()
    total = (t2 - t0) + (t4 - t3)  # the second run is not part of the sweep
    return {
        "where": executor.where,
        "slots": executor.slots,
        "statuses": statuses,
        "setup_s": t1 - t0,
        "run_s": t2 - t1,
        "close_s": t4 - t3,
        "total_s": total,
        "per_minute": 60 * len(configs) / total,
        "per_minute_running": 60 * len(configs) / (t2 - t1),
        **warm,
    }


def median_of(repeats: int, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The run of `repeats` whose whole took the median time, with every run's ``totals_s``."""
    rows = sorted((measure() for _ in range(max(1, repeats))), key=lambda r: r["total_s"])
    return {**rows[len(rows) // 2], "totals_s": [r["total_s"] for r in rows]}


def sweep(trials: int = 24, repeats: int = 3) -> dict[str, Any]:
    """Each executor's figures for `trials` tiny trials, this machine's the median of `repeats`
    (Ray's once: its start-up alone takes seconds); Ray's ``{"skipped": reason}`` when it
    cannot run here."""
    from dlviz.sweeps.executors import ExecutorError, LocalExecutor
    from dlviz.sweeps.trial import run_trial

    configs = trial_configs(trials)
    threads = torch.get_num_threads()
    run_trial(TRIAL, threads=1)  # this process's imports and first steps, untimed
    torch.set_num_threads(threads)
    rows: dict[str, Any] = {
        f"local, {n} at a time": median_of(
            repeats, lambda n=n: timed(lambda: LocalExecutor(n), configs)
        )
        for n in (1, 2)
    }
    try:
        from dlviz.sweeps.ray_executor import RayExecutor

        rows["Ray, local"] = timed(lambda: RayExecutor("local"), configs, again=True)
    except ExecutorError as e:
        rows["Ray, local"] = {"skipped": str(e)}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "benchmark": "sweep",
        "machine": {**machine(brief=True), "cpus": os.cpu_count(), "load_1min": load},
        "trials": trials,
        "repeats": repeats,
        "trial": TRIAL,
        "rows": rows,
    }


def format_sweep(r: dict[str, Any]) -> str:
    m = r["machine"]
    load = m["load_1min"]
    lines = [
        f"dlviz bench sweep ({m['cpu_model']}, {m['cpus']} CPUs"
        + (f", load {load:.2f}" if load is not None else "")
        + f"): {r['trials']} tiny trials (circle, 200 points, 3 epochs, on the CPU)"
    ]
    for name, row in r["rows"].items():
        if "skipped" in row:
            lines.append(f"  {name}: skipped ({row['skipped']})")
            continue
        failed = sum(n for s, n in row["statuses"].items() if s != "finished")
        lines.append(
            f"  {name}: {row['per_minute']:.0f} trials a minute in all "
            f"({row['total_s']:.1f} s: start {row['setup_s']:.1f} s, trials "
            f"{row['run_s']:.1f} s, close {row['close_s']:.1f} s; "
            f"{row['per_minute_running']:.0f} a minute once started)"
            + (f"; warm, {row['warm_per_minute']:.0f} a minute" if "warm_s" in row else "")
            + (f"; median of {len(row['totals_s'])}" if len(row.get("totals_s", [])) > 1 else "")
            + (f" [{failed} did not finish]" if failed else "")
        )
        lines.append(f"    {row['where']}")
    return "\n".join(lines)


def run(trials: int = 24, json_out: bool = False, repeats: int = 3) -> int:
    """`dlviz bench sweep [--trials N] [--repeats 3] [--json]`: print the figures; 0, or 1 if
    a trial did not finish."""
    result = sweep(trials, repeats)
    print(json.dumps(result) if json_out else format_sweep(result))
    failed = any(
        s != "finished"
        for row in result["rows"].values()
        for s in [*row.get("statuses", {}), *row.get("warm_statuses", {})]
    )
    return 1 if failed else 0
