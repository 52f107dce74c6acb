"""One trial of a sweep, trained where an executor puts it (a thread here, a Ray worker
elsewhere): the shared engine (`dlviz.jobs.execute`) with no run store and no snapshots; its
epochs reported as they end, a stop asked from outside honoured within a second, and the result
returned whole (summary, curves, weights as CPU tensors) for the driver, the only writer of
the run store, to save.

Imports only the core: a Ray worker with torch alone can run it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import torch

Report = Callable[[dict[str, Any]], None]
EPOCH_FIELDS = ("epoch", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "elapsed")


def run_trial(
    config: dict[str, Any],
    *,
    should_stop: Callable[[], bool] = lambda: False,
    report: Report | None = None,
    threads: int | None = None,
    poll_s: float = 0.5,
) -> dict[str, Any]:
    """Train the run `config` (a run config's dict) and return ``{"status", "message",
    "summary", "metrics", "state"}``: `state` the trained weights as CPU tensors (None when the
    run has none). `report` gets ``{"epoch", "train_loss", ...}`` after each epoch;
    `should_stop()`, polled every `poll_s`, stops the run (it ends "stopped", curves kept).
    `threads`: torch's intra-op threads for this process (a worker that runs one trial)."""
    from dlviz import jobs
    from dlviz.config import ConfigError, RunConfig
    from dlviz.history import RunHistory
    from dlviz.train import Control

    if threads:
        torch.set_num_threads(max(1, int(threads)))
    try:
        cfg = RunConfig.from_dict(config)
    except ConfigError as e:
        return {"status": "error", "message": str(e), "summary": {}, "metrics": {}, "state": None}
    control = Control()
    history = RunHistory()  # the curves, as the run store keeps a run's
    end: dict[str, Any] = {}

    def emit(event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "end":
            end.update(event)
            return
        history.apply(event)
        if kind == "epoch" and report is not None:
            report({k: event.get(k) for k in EPOCH_FIELDS})

    done = threading.Event()

    def watch() -> None:
        while not done.wait(poll_s):
            if should_stop():
                control.stop("The sweep was stopped.")
                return

    watcher = threading.Thread(target=watch, daemon=True, name="dlviz-trial-stop")
    watcher.start()
    try:
        result = jobs.execute(cfg, emit=emit, control=control, runs_dir=None, snapshots=False)
    finally:
        done.set()
        watcher.join(timeout=2)
    model = end.get("model")
    state = None
    if isinstance(model, torch.nn.Module):
        state = {
            k: v.detach().cpu().contiguous()
            for k, v in model.state_dict().items()
            if isinstance(v, torch.Tensor)
        }
    summary = dict(end.get("summary") or {})
    return {
        "status": result.get("status", end.get("status", "error")),
        "message": result.get("message", ""),
        "summary": summary,
        "metrics": history.epochs_dict(),
        "state": state,
    }
