"""`dlviz bench concurrent`: several runs at once against the same runs one after another, in
one process, through the path a dashboard's runs take (`jobs.start`: admission, the loop, the
run store). Several at once must not take longer in all.

Each run's loop takes its share of the process's torch threads (`dlviz.admission` splits them
among the CPU runs that train; `devices.follow_thread_share`). `--no-share` times the runs at
once with every run asking for all of the threads, as before the share, for comparison.

As in the dashboard, a run that does not take turns (the CNN) trains in a process of its own
(`dlviz.run_process`); `--threads-only` keeps every run in a thread of this process, as before.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

import torch

from dlviz import admission, devices, jobs, run_process
from dlviz.bench.overhead import overhead_cases
from dlviz.config import RunConfig
from dlviz.text import plural
from dlviz.timing import machine, summarize


def concurrent_cases(epochs: int | None = None) -> list[tuple[str, RunConfig]]:
    """The Playground's default network on its default data, long enough to time (a few
    seconds a run), and the Image lab's default CNN on its default shapes."""
    toy = RunConfig().with_changes(train={"device": "cpu", "epochs": epochs or 300})
    # the Image lab's default CNN on its shapes: the overhead bench's case
    cnn = next(c.config for c in overhead_cases("cpu", epochs or 3) if c.config.model.arch == "cnn")
    return [("playground default (mlp 8x3)", toy), ("image lab default (cnn, 3 blocks)", cnn)]


def _one_after_another(config: RunConfig, runs: int, root: str) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        _finished(jobs.start(config, runs_dir=root))
    return time.perf_counter() - start


def _at_once(config: RunConfig, runs: int, root: str) -> float:
    start = time.perf_counter()
    handles = [jobs.start(config, runs_dir=root) for _ in range(runs)]
    for h in handles:
        _finished(h)
    return time.perf_counter() - start


def _finished(handle: jobs.RunHandle) -> None:
    history = handle.wait()
    if history.status != "finished":
        raise RuntimeError(f"benchmark run did not finish: {history.status} {history.message}")


def concurrent(
    runs: int = 3,
    repeats: int = 3,
    epochs: int | None = None,
    share: bool = True,
    cases: int | None = None,
    processes: bool = True,
) -> dict[str, Any]:
    """Seconds for `runs` runs at once and one after another, per case (the first `cases`
    of them when given); the median of `repeats`, the two orders alternating."""
    if not share:  # every run asks for all the threads, as before the share
        original = admission.set_thread_share
        admission.set_thread_share = lambda n: None  # type: ignore[assignment]
    was = run_process.enabled()
    run_process.enable(processes)
    try:
        results = []
        with tempfile.TemporaryDirectory() as root:
            for name, config in concurrent_cases(epochs)[:cases]:
                _one_after_another(config, 1, root)  # warm-up: lazy imports, the data's cache
                alone: list[float] = []
                together: list[float] = []
                for i in range(repeats):
                    order = (True, False) if i % 2 == 0 else (False, True)
                    for sequential in order:
                        if sequential:
                            alone.append(_one_after_another(config, runs, root))
                        else:
                            together.append(_at_once(config, runs, root))
                ratios = [a / t for a, t in zip(alone, together)]
                results.append(
                    {
                        "case": name,
                        "config": config.to_dict(),
                        "one_after_another_s": summarize(alone).spread(),
                        "at_once_s": summarize(together).spread(),
                        "ratio": statistics.median(ratios),
                        "ratio_spread": summarize(ratios).spread(),
                        "within_budget": statistics.median(ratios) >= 1.0,
                    }
                )
    finally:
        run_process.enable(was)
        if not share:
            admission.set_thread_share = original  # type: ignore[assignment]
    return {
        "benchmark": "concurrent",
        "runs": runs,
        "repeats": repeats,
        "share": share,
        "processes": processes,
        "threads": devices.cpu_thread_budget(),
        "runs_per_device": admission.runs_per_device(),
        "torch_threads_at_start": torch.get_num_threads(),
        "machine": machine(brief=True),
        "cases": results,
        "within_budget": all(r["within_budget"] for r in results),
    }


def format_concurrent(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"dlviz bench concurrent ({m['cpu_model']}, {plural(result['threads'], 'torch thread')} "
        f"shared by the runs{'' if result['share'] else ' (--no-share: each asks for all)'}, "
        f"{'a process a run' if result.get('processes') else 'every run in a thread'}, "
        f"at most {result['runs_per_device']} training at once): "
        f"{result['runs']} runs, median of {result['repeats']}"
    ]
    for r in result["cases"]:
        a, t = r["one_after_another_s"], r["at_once_s"]
        verdict = "ok" if r["within_budget"] else "SLOWER AT ONCE"
        lines.append(
            f"  {r['case']}: one after another {a['median']:.2f} s, at once "
            f"{t['median']:.2f} s -> {r['ratio']:.2f}x [{verdict}]"
        )
    return "\n".join(lines)
