"""Who trains now and who waits: admission of runs to a device by run slots, by memory, and by a
cap on each person's running runs, so a class sharing one server cannot run it out of memory.

A run asks for a place with `admit(...)` (a context manager) once its network is built, with
the memory it will need (`estimate_bytes`). It gets one when all of these hold:

- the device trains fewer than `DLVIZ_RUNS_PER_DEVICE` runs (default 2);
- its person (the run's owner) trains fewer than `DLVIZ_RUNS_PER_SESSION` runs (default 2; runs
  with no owner, from the command line or a sweep, are not capped);
- the memory of the device's running runs plus this one's fits the device's budget
  (`DLVIZ_MEMORY_BUDGET_MB`, else a share of the device's memory, `DLVIZ_MEMORY_FRACTION`), and
  this one fits in what the device has free right now (other programs count too);
- no run that asked earlier for the same device is still waiting for a place it could take
  (first come, first served; a run held back only by its own person's cap does not hold up
  others).

A run that could never fit, even on an idle device, fails at once with the reason. While a run
waits, it says why, and again whenever the reason changes; `board()` lists every run that holds
or waits for a place, for a page that shows who waits and why.

The core: imports torch, never streamlit.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from dlviz.devices import cpu_thread_budget, set_thread_share
from dlviz.text import counted, plural

Emit = Callable[[dict[str, Any]], None]

DEFAULT_RUNS_PER_DEVICE = 2
DEFAULT_RUNS_PER_SESSION = 2
DEFAULT_MEMORY_FRACTION = 0.85  # of a device's memory that runs may plan to use
CHECK_EVERY_S = 0.1  # how often a waiting run looks again
GB = 1024**3


class TooBig(Exception):
    """A run that needs more memory than its device's whole budget: it could never start."""


def _env_int(name: str, default: int, low: int) -> int:
    try:
        return max(low, int(os.environ.get(name, default)))
    except ValueError:
        return default


def runs_per_device() -> int:
    return _env_int("DLVIZ_RUNS_PER_DEVICE", DEFAULT_RUNS_PER_DEVICE, 1)


def runs_per_session() -> int:
    """The most runs one person trains at once; 0: no cap."""
    return _env_int("DLVIZ_RUNS_PER_SESSION", DEFAULT_RUNS_PER_SESSION, 0)


def _memory_fraction() -> float:
    try:
        value = float(os.environ.get("DLVIZ_MEMORY_FRACTION", DEFAULT_MEMORY_FRACTION))
    except ValueError:
        return DEFAULT_MEMORY_FRACTION
    return min(1.0, max(0.05, value))


# --- what a device has ----------------------------------------------------------------------


def _meminfo() -> dict[str, int]:
    """/proc/meminfo in bytes ({} where there is none)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    out[name] = int(parts[0]) * 1024
    except OSError:
        pass
    return out


def total_bytes(device: torch.device) -> int | None:
    """The device's memory (None where it cannot be read)."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    if device.type == "cpu":
        total = _meminfo().get("MemTotal")
        if total:
            return total
        try:
            return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return None


def free_bytes(device: torch.device) -> int | None:
    """What the device has free now, whoever uses the rest (None where it cannot be read)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "cpu":
        return _meminfo().get("MemAvailable")
    return None


def budget_bytes(device: torch.device) -> int | None:
    """The memory runs on `device` may plan to use together: `DLVIZ_MEMORY_BUDGET_MB`, else
    `DLVIZ_MEMORY_FRACTION` of the device's memory (None: no memory check)."""
    mb = os.environ.get("DLVIZ_MEMORY_BUDGET_MB", "").strip()
    if mb:
        try:
            return max(1, int(float(mb) * 1024**2))
        except ValueError:
            pass
    total = total_bytes(device)
    return int(total * _memory_fraction()) if total else None


# --- what a run needs -----------------------------------------------------------------------

OPTIMIZER_STATES = {"adam": 2, "adamw": 2, "sgd": 1, "rmsprop": 1}  # tensors per weight


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _tensors(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)


def activation_bytes_per_sample(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of every layer's output for one sample of `x` (its first two, forwarded on the
    CPU with no gradients; the model's mode and the random streams are left as they were).
    0 when the model cannot be forwarded so (a generative model's own step)."""
    if len(x) == 0:
        return 0
    total = 0

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        nonlocal total
        total += sum(t.numel() * t.element_size() for t in _tensors(output))

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    sample = x[:2]
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            model.eval()
            model(sample)
    except Exception:  # not a plain forward: the estimate falls back on weights and data
        total = 0
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total // len(sample)


def estimate_bytes(
    model: nn.Module,
    x_train: torch.Tensor,
    x_test: torch.Tensor,
    batch_size: int,
    optimizer: str = "adam",
    y_bytes: int = 0,
) -> int:
    """About the memory a run takes on its device: the weights with their gradients and the
    optimizer's state, the whole data set (the loop keeps it on the device), and a batch's
    activations twice over (kept for the backward pass, and their gradients)."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    states = OPTIMIZER_STATES.get(optimizer, 2)
    data = (
        x_train.numel() * x_train.element_size() + x_test.numel() * x_test.element_size() + y_bytes
    )
    per_sample = activation_bytes_per_sample(model, x_train)
    batch = max(1, min(int(batch_size), max(1, len(x_train))))
    return int(weights * (2 + states) + buffers + data + 2 * per_sample * batch)


def size(n: int | float) -> str:
    """Bytes as a person reads them: 1.2 GB, 340 MB, 12 KB."""
    if n >= GB:
        return f"{n / GB:.1f} GB"
    if n >= 1024**2:
        return f"{n / 1024**2:.0f} MB"
    return f"{max(1, round(n / 1024))} KB"


# --- the board --------------------------------------------------------------------------------


@dataclass
class Ticket:
    """One run that holds or waits for a place on a device."""

    id: int
    device: str
    owner: str
    label: str
    need: int  # bytes
    since: float = field(default_factory=time.time)
    state: str = "waiting"  # waiting | running
    reason: str = ""

    def row(self, viewer: str | None = None) -> dict[str, Any]:
        """What a page may show of it: whose it is only as "you" or "someone else"."""
        who = (
            "you"
            if viewer is not None and self.owner and self.owner == viewer
            else ("someone else" if self.owner else "command line")
        )
        return {
            "device": self.device,
            "state": self.state,
            "who": who,
            "run": self.label,
            "memory": size(self.need),
            "since_s": round(max(0.0, time.time() - self.since), 1),
            "reason": self.reason,
        }


class Admission:
    """The places on every device of this process. Thread-safe; one per process (`BOARD`)."""

    def __init__(
        self,
        *,
        free: Callable[[torch.device], int | None] = free_bytes,
        budget: Callable[[torch.device], int | None] = budget_bytes,
    ):
        self._free = free
        self._budget = budget
        self._cond = threading.Condition()
        self._tickets: list[Ticket] = []  # in the order they asked
        self._ids = itertools.count(1)

    # what stops a ticket now: "" when nothing does
    def _blocker(self, t: Ticket, device: torch.device) -> tuple[str, bool]:
        """(why `t` cannot start now, whether it is its own person's cap)."""
        same = [o for o in self._tickets if o.device == t.device and o is not t]
        running = [o for o in same if o.state == "running"]
        cap = runs_per_session()
        if cap and t.owner:
            mine = sum(1 for o in self._tickets if o.owner == t.owner and o.state == "running")
            if mine >= cap:
                return (
                    f"Waiting: you already have {plural(mine, 'run')} training, the most one "
                    f"person may train at once here (DLVIZ_RUNS_PER_SESSION={cap}). This run "
                    "starts when one of yours ends.",
                    True,
                )
        slots = runs_per_device()
        if len(running) >= slots:
            yours = sum(1 for o in running if t.owner and o.owner == t.owner)
            whose = (
                f" ({yours} of them yours)"
                if yours and yours < len(running)
                else (" (all of them yours)" if yours else "")
            )
            return (
                f"Waiting for {t.device}: {plural(len(running), 'run')} "
                f"{counted(len(running), 'is', 'are')} already training on it{whose}, the most "
                f"it takes at once. This run starts when one of them ends.",
                False,
            )
        budget = self._budget(device)
        used = sum(o.need for o in running)
        if budget is not None and running and used + t.need > budget:
            return (
                f"Waiting for {t.device}: this run needs about {size(t.need)} and "
                f"{size(max(0, budget - used))} of the {size(budget)} that runs may use there "
                f"is free while {plural(len(running), 'run')} "
                f"{counted(len(running), 'trains', 'train')}. It starts when enough is free.",
                False,
            )
        free = self._free(device)
        if free is not None and t.need > free:
            return (
                f"Waiting for {t.device}: this run needs about {size(t.need)} and only "
                f"{size(free)} is free on it now (other programs or runs hold the rest). It "
                "starts when enough is free.",
                False,
            )
        ahead = [o for o in same if o.state == "waiting" and o.id < t.id and not self._own_cap(o)]
        if ahead:
            return (
                f"Waiting for {t.device}: {plural(len(ahead), 'run')} asked for it first. "
                "This run starts after them.",
                False,
            )
        return "", False

    def _own_cap(self, t: Ticket) -> bool:
        cap = runs_per_session()
        if not (cap and t.owner):
            return False
        return sum(1 for o in self._tickets if o.owner == t.owner and o.state == "running") >= cap

    @contextmanager
    def admit(
        self,
        device: torch.device,
        *,
        need: int,
        should_stop: Callable[[], bool],
        emit: Emit,
        owner: str = "",
        label: str = "",
    ) -> Iterator[bool]:
        """Hold a place on `device` for a run that needs `need` bytes; yields True once it has
        one, False when `should_stop()` became true while it waited. While it waits it emits a
        ``queued`` event with the reason, again whenever the reason changes. Raises `TooBig`
        when the run could never fit."""
        budget = self._budget(device)
        if budget is not None and need > budget:
            raise TooBig(
                f"This run needs about {size(need)} of memory on {device}, more than the "
                f"{size(budget)} that runs may use there. Use a smaller batch size, a narrower "
                "or shallower network, or fewer examples."
            )
        ticket = Ticket(next(self._ids), str(device), owner, label, int(need))
        admitted = False
        said = ""
        with self._cond:
            self._tickets.append(ticket)
            try:
                while True:
                    reason, _ = self._blocker(ticket, device)
                    if not reason:
                        ticket.state, ticket.reason = "running", ""
                        admitted = True
                        self._share_cores()
                        break
                    ticket.reason = reason
                    if reason != said:
                        said = reason
                        self._cond.release()
                        try:
                            emit({"type": "queued", "message": reason})
                        finally:
                            self._cond.acquire()
                    if should_stop():
                        break
                    self._cond.wait(CHECK_EVERY_S)
            finally:
                if not admitted:
                    self._tickets.remove(ticket)
                    self._cond.notify_all()
        try:
            yield admitted
        finally:
            if admitted:
                with self._cond:
                    self._tickets.remove(ticket)
                    self._share_cores()
                    self._cond.notify_all()

    def _share_cores(self) -> None:
        """Split the process's torch threads among the runs training on the CPU: each run's
        loop takes its share (`devices.follow_thread_share`), so N runs never ask for N times
        the cores (threads that wait for a core spin, and every run slows down)."""
        n = sum(1 for t in self._tickets if t.state == "running" and t.device == "cpu")
        set_thread_share(max(1, cpu_thread_budget() // n) if n else None)

    def board(self, viewer: str | None = None) -> list[dict[str, Any]]:
        """Every run that holds (first) or waits for a place, as a page may show it."""
        with self._cond:
            tickets = sorted(self._tickets, key=lambda t: (t.state != "running", t.id))
            return [t.row(viewer) for t in tickets]


BOARD = Admission()


def admit(device: torch.device, **kwargs: Any):
    """`BOARD.admit`: the process's own board."""
    return BOARD.admit(device, **kwargs)


def board(viewer: str | None = None) -> list[dict[str, Any]]:
    return BOARD.board(viewer)
