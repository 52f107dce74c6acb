"""Device names -> torch devices. Asking for a device that is not here is an error, never a
silent fallback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch


class DeviceError(RuntimeError):
    """The device asked for is not present on this machine."""


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def available_devices() -> list[str]:
    """Names a person can pick here: ``auto`` and ``cpu`` always, then each GPU present."""
    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        names.append("cuda")
        if count > 1:
            names += [f"cuda:{i}" for i in range(count)]
    if _mps_available():
        names.append("mps")
    return names


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda, then mps, then cpu. Others must be present or DeviceError says so."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise DeviceError("Device 'mps' (Apple GPU) is not available here; choose cpu or auto.")
        return torch.device("mps")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"Device {name!r} was asked for, but this machine has no CUDA GPU that torch can "
                "use; choose cpu or auto."
            )
        index = int(name.split(":")[1]) if ":" in name else 0
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(
                f"Device {name!r} was asked for, but only {count} CUDA "
                f"{'GPU is' if count == 1 else 'GPUs are'} present "
                f"(cuda:0 to cuda:{count - 1})."
            )
        return torch.device("cuda", index)
    raise DeviceError(f"Unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps.")


def describe(device: torch.device) -> str:
    """A short human name: 'cpu' or 'cuda:0 (NVIDIA H100 80GB HBM3)'."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def server_threads() -> int:
    """Intra-op threads for torch inside the dashboard: `DLVIZ_TORCH_THREADS`, else half the
    cores, at most cores - 1. The server, the browser and other sessions' runs share the CPU;
    torch's thread pool spin-waits when its threads do not each get a core, and one busy core
    too many can make training several times slower (seen here: 2 threads on 2 busy cores ran
    at a third of the speed of 1)."""
    import os

    env = os.environ.get("DLVIZ_TORCH_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    cores = os.cpu_count() or 1
    return max(1, min(cores // 2, cores - 1))


def configure_threads(n: int) -> None:
    global _budget
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    _budget = n


# --- the cores shared among runs ---------------------------------------------------------------
# torch's thread count is a setting of each thread that calls it (OpenMP's), taken from a
# process-wide value when the thread first runs a parallel operation. Admission
# (`dlviz.admission`) sets the share of the process's threads each CPU run may use as runs
# start and end; each run's loop follows it from its own thread.

_budget: int | None = None  # the process's torch threads for all its runs together
_share: int | None = None  # threads a CPU run may use now; None: no run is admitted
_applied = threading.local()


def cpu_thread_budget() -> int:
    """The torch threads all of this process's CPU runs share: what `configure_threads` set
    (the dashboard's `server_threads()`), else torch's count when first asked."""
    global _budget
    if _budget is None:
        _budget = torch.get_num_threads()
    return _budget


# A network whose parameters times batch size are at most this has a small step: dozens of
# operations too small to split among threads, each costing more in Python and dispatch than
# in arithmetic. A plain MLP of that size trains on one thread (`dlviz.train`), and on the CPU
# such runs take turns (`dlviz.admission`).
SMALL_STEP = 1 << 20


def small_step(device: torch.device, params: int, batch_size: int) -> bool:
    """Whether a run's step on `device` is small: spent in Python more than in arithmetic (on
    the CPU; a GPU's launches are another matter)."""
    return device.type == "cpu" and params * max(1, int(batch_size)) <= SMALL_STEP


def set_thread_share(n: int | None) -> None:
    global _share
    _share = n


def thread_share() -> int | None:
    return _share


def follow_thread_share(limit: int | None = None) -> None:
    """Use this thread's share of the cores, at most `limit` threads, if that changed since
    this thread last looked."""
    share = _share
    if limit is not None:
        share = limit if share is None else min(share, limit)
    if share is not None and getattr(_applied, "n", None) != share:
        torch.set_num_threads(share)
        _applied.n = share


@contextmanager
def one_thread() -> Iterator[int]:
    """This thread on one torch thread until the block ends; yields the count it had before,
    which the block may take back sooner with `restore_threads` (a run's share, taken inside
    it with `follow_thread_share`, goes as far as the run's loop).

    A thread that has once run torch on several threads keeps a team of OpenMP threads while
    it lives, idle or not; while the process has more such threads than cores, OpenMP stops
    letting a team's threads wait for the next piece of work spinning and puts them to sleep
    instead, and every small operation pays for waking them. A run that loads its data and
    then waits for a place (`dlviz.admission`) would slow the run that trains by a third
    (measured: a CNN's 1.5 s of training took 2.1 s beside two such threads, 1.6 s beside two
    that had kept to one thread). Loading a run's data took as long on one thread."""
    cpu_thread_budget()  # the process's budget, if not yet known, is what this thread had
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield before
    finally:
        restore_threads(before)


def restore_threads(before: int) -> None:
    """Give this thread back the torch thread count it had before a run followed its share
    (`follow_thread_share`), so that code after a run, in a notebook or a test, keeps its own."""
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)
    _applied.n = None
