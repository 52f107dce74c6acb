"""Where a sweep's trials run. An executor takes trials one at a time (`submit`), runs at most
`slots` of them at once, and hands back what happened as events:

- ``{"type": "epoch", "key": ..., "epoch": ..., "train_loss": ..., ...}`` after each epoch;
- ``{"type": "done", "key": ..., "result": {...}}`` when a trial ends (`run_trial`'s result,
  or ``{"status": "error", "message": ...}`` when it could not run at all).

The driver (`dlviz.sweeps.driver`) submits no more than `slots` at a time, so a sweep of 500
trials is never 500 threads or 500 tasks in flight. `stop()` reaches every running trial within
a couple of seconds; the driver submits nothing after it.

`LocalExecutor` runs trials in threads of this process, sharing the cores among them (torch's
threads per trial = cores // slots), through the shared engine, so the device admission of
`dlviz.jobs` still holds. `dlviz.sweeps.ray_executor.RayExecutor` runs them as Ray tasks.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import torch

from dlviz.sweeps.trial import run_trial


class ExecutorError(RuntimeError):
    """An executor cannot run the sweep as asked (Ray missing, a cluster that can never meet
    the request): the message says why and what to do."""


class Executor(Protocol):
    slots: int
    where: str  # in words, for the progress line: "this machine, 2 at a time"

    def submit(self, key: str, config: dict[str, Any]) -> None: ...

    def events(self, timeout: float) -> list[dict[str, Any]]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalExecutor:
    """`parallel` trials at a time in threads of this process; torch's intra-op threads set so
    that together they use the cores once (put back on `close`)."""

    def __init__(self, parallel: int = 1):
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.slots = parallel
        n = cores()
        self.threads_per_trial = max(1, n // parallel)
        self.where = (
            f"this machine, {parallel} at a time, {self.threads_per_trial} "
            f"thread{'s' if self.threads_per_trial != 1 else ''} each"
        )
        self._threads_before = torch.get_num_threads()
        torch.set_num_threads(self.threads_per_trial)  # process-wide: every trial's share
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="dlviz-trial")
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop = threading.Event()

    def submit(self, key: str, config: dict[str, Any]) -> None:
        def work() -> None:
            try:
                result = run_trial(
                    config,
                    should_stop=self._stop.is_set,
                    report=lambda row: self._events.put({"type": "epoch", "key": key, **row}),
                )
            except Exception as e:  # run_trial ends a run's own failures; this is the rest
                result = {"status": "error", "message": f"{type(e).__name__}: {e}"}
            self._events.put({"type": "done", "key": key, "result": result})

        self._pool.submit(work)

    def events(self, timeout: float) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        try:
            out.append(self._events.get(timeout=timeout))
            while True:
                out.append(self._events.get_nowait())
        except queue.Empty:
            pass
        return out

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)
        torch.set_num_threads(self._threads_before)
