"""The run store on disk: ``$DLVIZ_HOME/runs`` (default ``~/.dlviz/runs``), one folder per run.

A run folder holds ``config.json``, ``metrics.json`` (per-epoch history), ``summary.json`` and
``weights.safetensors``. Every file is written atomically (temp file, then rename), and
``summary.json`` is written last, so a folder without it is a run that did not finish.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

FORMAT_VERSION = 1


def default_root() -> Path:
    home = os.environ.get("DLVIZ_HOME") or Path.home() / ".dlviz"
    return Path(home) / "runs"


def new_run_id(label: str = "") -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:24]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return "-".join(p for p in (stamp, slug, secrets.token_hex(3)) if p)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, allow_nan=True) + "\n").encode())


def save_run(
    root: Path | str,
    run_id: str,
    config: dict[str, Any],
    summary: dict[str, Any],
    metrics: dict[str, list[Any]],
    model: nn.Module | None = None,
) -> Path:
    """Write one finished (or stopped, or diverged) run; returns its folder."""
    folder = Path(root) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "config.json", config)
    atomic_write_json(folder / "metrics.json", metrics)
    if model is not None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        tensors = {k: v for k, v in tensors.items() if isinstance(v, torch.Tensor)}
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".weights.", suffix=".tmp")
        os.close(fd)
        try:
            save_file(tensors, tmp)
            os.replace(tmp, folder / "weights.safetensors")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    atomic_write_json(
        folder / "summary.json",
        {"format_version": FORMAT_VERSION, "run_id": run_id, **summary},
    )
    return folder


def list_runs(root: Path | str | None = None) -> list[dict[str, Any]]:
    """Every run folder under `root`, newest first. Unreadable ones are listed with a reason."""
    root = Path(root) if root else default_root()
    if not root.is_dir():
        return []
    rows = []
    for folder in sorted(root.iterdir(), reverse=True):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        row: dict[str, Any] = {"run_id": folder.name, "path": str(folder)}
        try:
            row.update(json.loads((folder / "summary.json").read_text()))
        except FileNotFoundError:
            row.update(status="unreadable", message="no summary.json: the run did not finish")
        except (OSError, ValueError) as e:
            row.update(status="unreadable", message=f"summary.json cannot be read: {e}")
        rows.append(row)
    return rows
