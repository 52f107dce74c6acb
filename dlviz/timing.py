"""Timing honestly, and saying where: the statistics every benchmark reports (the median of
repeats with its spread), one call timed with the device synchronised around it, and the
facts of the machine that a result is stored with.

Part of the core: it imports torch and dlviz.devices only, so a GPU machine without streamlit or
plotly runs `dlviz bench devices --json`.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch

from dlviz.devices import cpu_model, synchronize

# --- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Seconds per call: the median and the spread of `n` timed repeats."""

    median: float
    q1: float
    q3: float
    min: float
    max: float
    n: int

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    def spread(self) -> dict[str, float]:
        """Median, min, max and the interquartile range: what the `dlviz bench` reports store."""
        return {"median": self.median, "min": self.min, "max": self.max, "iqr": self.iqr}


def summarize(samples: Iterable[float]) -> Timing:
    """Median and quartiles (linear interpolation between order statistics, as numpy's default)
    of `samples`; raises ValueError on none."""
    xs = sorted(samples)
    if not xs:
        raise ValueError("no timings")

    def quantile(q: float) -> float:
        pos = q * (len(xs) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(xs) - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

    return Timing(statistics.median(xs), quantile(0.25), quantile(0.75), xs[0], xs[-1], len(xs))


def time_call(
    fn: Callable[[], Any],
    device: torch.device,
    repeats: int = 10,
    warmup: int = 3,
    max_seconds: float = 5.0,
) -> Timing:
    """Warm `fn` up, then time up to `repeats` calls (fewer when they would take longer than
    `max_seconds` in all, but at least 3), synchronising `device` around each."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    samples: list[float] = []
    spent = 0.0
    while len(samples) < repeats and (len(samples) < 3 or spent < max_seconds):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            seconds = start.elapsed_time(end) / 1000
        else:
            t = time.perf_counter()
            fn()
            synchronize(device)
            seconds = time.perf_counter() - t
        samples.append(seconds)
        spent += seconds
    return summarize(samples)


# --- what the machine has --------------------------------------------------------------------


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _gpus() -> list[dict[str, Any]]:
    gpus = []
    if torch.cuda.is_available():
        driver = None
        try:
            driver = torch._C._cuda_getDriverVersion()  # type: ignore[attr-defined]  # 12040 -> 12.4
            driver = f"{driver // 1000}.{driver % 1000 // 10}"
        except Exception:  # private API: not every build has it
            driver = None
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            gpus.append(
                {
                    "device": f"cuda:{i}",
                    "name": p.name,
                    "memory_gb": round(p.total_memory / 2**30, 1),
                    "capability": f"{p.major}.{p.minor}",
                    "multiprocessors": p.multi_processor_count,
                    "cuda_driver": driver,
                }
            )
    return gpus


def machine(brief: bool = False) -> dict[str, Any]:
    """The facts of this machine a benchmark result is stored with.

    In full (`dlviz bench devices`, the Devices page, the sidebar): the CPU (model, cores, torch
    threads, memory), torch and its CUDA version, each GPU torch can use, and whether an Apple
    GPU is there. `brief` (the other `dlviz bench` reports, which never look at a GPU): the
    processor's architecture as ``cpu`` and its model as ``cpu_model``, torch threads, and the
    torch and Python versions.
    """
    if brief:
        return {
            "cpu": platform.processor() or platform.machine(),
            "cpu_model": cpu_model(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        }
    gpus = _gpus()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    memory = _memory_gb()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": round(memory, 1) if memory else None,
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "gpus": gpus,
        "mps": mps,
    }


def threads_phrase(m: dict[str, Any]) -> str:
    """ "torch uses 1 thread" / "torch uses 8 threads", from `machine()`'s facts."""
    return f"torch uses {threads(m)}"


def threads(m: dict[str, Any]) -> str:
    n = m.get("torch_threads", "?")
    return f"{n} thread{'' if n == 1 else 's'}"
