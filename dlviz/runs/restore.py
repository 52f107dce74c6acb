"""A stored run read back: its config, summary and curves, its weights, its curves as CSV."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors.torch import load_file
from torch import nn

from dlviz.runs.listing import _row
from dlviz.runs.store import (
    CONFIG,
    METRICS,
    METRICS_COLUMNS,
    SUMMARY,
    WEIGHTS,
    RunStoreError,
    _folder,
    _read_json,
)


@dataclass
class StoredRun:
    """A run read back: `summary` and `metrics` are empty for a run that did not finish."""

    run_id: str
    path: Path
    row: dict[str, Any]  # its listing row: status, name, tags, ...
    config: dict[str, Any]
    summary: dict[str, Any]
    metrics: dict[str, list[Any]]  # per epoch: epoch, step, elapsed, train_loss, ...
    has_weights: bool


def load_run(root: str | os.PathLike[str] | None, run_id: str) -> StoredRun:
    """Read one run's config, summary and metrics; RunStoreError says what is wrong."""
    folder = _folder(root, run_id)
    row = _row(folder)
    if row["status"] == "unreadable":
        raise RunStoreError(f"run {run_id} cannot be read: {row['message']}")
    parts: dict[str, Any] = {}
    for name in (CONFIG, SUMMARY, METRICS):
        try:
            parts[name] = _read_json(folder / name)
        except FileNotFoundError:
            parts[name] = {}
        except (OSError, ValueError) as e:
            raise RunStoreError(f"run {run_id}: {name} cannot be read: {e}") from e
        if not isinstance(parts[name], dict):
            raise RunStoreError(f"run {run_id}: {name} is not a JSON object")
    metrics = parts[METRICS]
    if (
        not all(isinstance(v, list) for v in metrics.values())
        or len({len(v) for v in metrics.values()}) > 1
    ):
        raise RunStoreError(f"run {run_id}: metrics.json is not columns of equal length")
    return StoredRun(
        run_id=run_id,
        path=folder,
        row=row,
        config=parts[CONFIG],
        summary=parts[SUMMARY],
        metrics=metrics,
        has_weights=(folder / WEIGHTS).is_file(),
    )


def load_weights(root: str | os.PathLike[str] | None, run_id: str, model: nn.Module) -> nn.Module:
    """Load a run's saved weights (safetensors only) into `model`, built from its config."""
    path = _folder(root, run_id) / WEIGHTS
    if not path.is_file():
        raise RunStoreError(
            f"run {run_id} has no saved weights (it did not finish); train it again to get them"
        )
    try:
        tensors = load_file(path)
    except Exception as e:  # safetensors raises its own error types for damaged files
        raise RunStoreError(f"the weights of run {run_id} cannot be read: {e}") from e
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise RunStoreError(
            f"the weights of run {run_id} do not fit this model; build it from the run's "
            f"config ({str(e).splitlines()[0]})"
        ) from e
    return model


def metrics_csv(root: str | os.PathLike[str] | None, run_ids: list[str]) -> str:
    """The per-epoch metrics of `run_ids` as one CSV table (a run_id column first)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("run_id", *METRICS_COLUMNS))
    for run_id in run_ids:
        metrics = load_run(root, run_id).metrics
        n = len(metrics.get("epoch", []))
        for i in range(n):
            row = [metrics[c][i] if c in metrics else None for c in METRICS_COLUMNS]
            writer.writerow([run_id, *("" if v is None else v for v in row)])
    return out.getvalue()
