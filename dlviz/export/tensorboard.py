"""A run's curves as TensorBoard event files: `write_run` for a run in the store, and
`TensorBoardCallback` for a run while it trains (`dlviz train --tensorboard DIR`).

What is written, the x axis being the epoch:

- scalars: every metrics column, ``name/split`` for the per-split ones (``loss/train``,
  ``accuracy/test``, ``sequence_accuracy/test``, ``mse/test``), and readable tags for the rest
  (``mse/naive_forecast``, a GAN's ``loss/discriminator`` and ``loss/generator``, a VAE's
  ``loss/reconstruction`` and ``loss/kl``, how close a generator's samples are:
  ``samples/divergence``, ...); ``time/seconds`` of training;
- the per-layer gradient norms (mean L2 norm of each layer's weight gradient over an epoch):
  one scalar a layer, ``gradient_norm/<layer>``, and their spread over the layers as the
  histogram ``gradient_norms``. The store keeps the last epoch's; the callback writes every
  epoch's;
- a histogram of each trained tensor, ``weights/<name>``, at the last epoch;
- the run's config (and, for a stored run, its summary) as text.

Written with TensorBoard's own writer (``torch.utils.tensorboard``, which needs the
``tensorboard`` package: ``pip install 'dlviz[tensorboard]'``); open with
``tensorboard --logdir DIR``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlviz.export.onnx_model import ExportError
from dlviz.train import Callback, FitState

log = logging.getLogger(__name__)

PIP = "pip install 'dlviz[tensorboard]'"
EVENTS_PREFIX = "events.out.tfevents."

# metrics columns whose tag is not simply name/split
TAGS = {
    "baseline_mse": "mse/naive_forecast",
    "loss_d": "loss/discriminator",
    "loss_g": "loss/generator",
    "gp": "loss/gradient_penalty",
    "recon": "loss/reconstruction",
    "kl": "loss/kl",
    "divergence": "samples/divergence",
    "mmd": "samples/mmd",
    "modes_covered": "samples/modes_covered",
    "n_modes": "samples/modes",
    "high_quality": "samples/high_quality",
    "elapsed": "time/seconds",
}
NOT_SCALARS = ("epoch", "step")  # the x axis, not a curve


def tag(column: str) -> str:
    """The TensorBoard tag of a metrics column: ``train_loss`` -> ``loss/train``."""
    if column in TAGS:
        return TAGS[column]
    for split in ("train", "test"):
        if column.startswith(split + "_"):
            return f"{column[len(split) + 1 :]}/{split}"
    return f"other/{column}"


def _writer_class() -> Any:
    """torch's SummaryWriter, or ExportError saying how to install tensorboard."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # torch says "TensorBoard logging requires TensorBoard ..."
        raise ExportError(f"tensorboard is not installed: `{PIP}`") from e
    return SummaryWriter


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _as_text(obj: Any) -> str:
    """JSON as a Markdown code block (TensorBoard's text tab renders Markdown)."""
    text = json.dumps(obj, indent=2, default=str, allow_nan=True)
    return "\n".join("    " + line for line in text.splitlines())


def _gradient_norms(writer: Any, norms: dict[str, Any], step: int, walltime: float | None) -> None:
    values = {k: v for k, v in norms.items() if _number(v) is not None and math.isfinite(v)}
    for layer, value in values.items():
        writer.add_scalar(f"gradient_norm/{layer}", value, step, walltime=walltime)
    if values:
        writer.add_histogram(
            "gradient_norms", torch.tensor(list(values.values())), step, walltime=walltime
        )


def _weights(writer: Any, tensors: dict[str, torch.Tensor], step: int) -> None:
    for name, t in tensors.items():
        if t.is_floating_point() and t.numel() > 0:
            values = t.detach().float().cpu()
            if bool(torch.isfinite(values).all()):
                writer.add_histogram(f"weights/{name}", values, step)


def _clear_events(out: Path) -> None:
    """An export replaces the event files a folder holds (TensorBoard would show both)."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; give a folder for the TensorBoard event files")
    if out.is_dir():
        for f in out.iterdir():
            if f.name.startswith(EVENTS_PREFIX) and f.is_file():
                f.unlink()


def write_run(
    root: str | os.PathLike[str] | None, run_id: str, out_dir: str | os.PathLike[str]
) -> Path:
    """Write stored run `run_id` as TensorBoard event files into `out_dir` (made if needed;
    event files already there are replaced): per-epoch scalars of its metrics, its last
    epoch's gradient norms, histograms of its trained weights (where it has them), its config
    and summary as text. Returns the folder. RunStoreError: no such run; ExportError: no
    tensorboard, or the folder cannot be written."""
    from safetensors.torch import load_file

    from dlviz import runs

    writer_class = _writer_class()
    run = runs.load_run(root, run_id)
    out = Path(out_dir)
    columns = run.metrics
    epochs = [int(e) for e in columns.get("epoch", [])]
    started = _number(run.summary.get("started") or run.row.get("started"))
    elapsed = columns.get("elapsed", [])
    last = epochs[-1] if epochs else int(_number(run.summary.get("epochs")) or 0)
    try:
        _clear_events(out)
        out.mkdir(parents=True, exist_ok=True)
        writer = writer_class(log_dir=str(out))
    except OSError as e:
        raise ExportError(f"cannot write TensorBoard events to {out}: {e}") from e
    try:
        for i, epoch in enumerate(epochs):
            seconds = _number(elapsed[i]) if i < len(elapsed) else None
            walltime = started + seconds if started is not None and seconds is not None else None
            for column, values in columns.items():
                value = _number(values[i]) if column not in NOT_SCALARS else None
                if value is not None:
                    writer.add_scalar(tag(column), value, epoch, walltime=walltime)
        norms = run.summary.get("gradient_norms")
        if isinstance(norms, dict):
            _gradient_norms(writer, norms, last, None)
        if run.has_weights:
            try:
                tensors = load_file(run.path / runs.WEIGHTS)
            except Exception as e:  # safetensors' own errors for a damaged file
                raise ExportError(f"the weights of run {run_id} cannot be read: {e}") from e
            _weights(writer, tensors, last)
        writer.add_text("config", _as_text(run.config), last)
        if run.summary:
            writer.add_text("summary", _as_text(run.summary), last)
        writer.flush()
    except OSError as e:
        raise ExportError(f"cannot write TensorBoard events to {out}: {e}") from e
    finally:
        writer.close()
    return out


class TensorBoardCallback(Callback):
    """Writes a training run's TensorBoard events into `out_dir` as it trains: each
    evaluated epoch's metrics and gradient norms, and at the end histograms of the trained
    weights; `config` (the run's, as a dict), when given, as text. Raises ExportError at once
    when tensorboard is missing. A folder that cannot be written never stops the run: the
    callback stops writing and says why in `error`."""

    def __init__(self, out_dir: str | os.PathLike[str], config: dict[str, Any] | None = None):
        self.out_dir = Path(out_dir)
        self.config = config
        self.error = ""
        self._writer_class = _writer_class()
        self._writer: Any = None

    def _write(self, what: Any, *args: Any) -> None:
        """Call `what(*args)`; a write that fails ends the writing, not the run."""
        if self._writer is None:
            return
        try:
            what(*args)
        except OSError as e:
            self.error = f"TensorBoard events could not be written to {self.out_dir}: {e}"
            log.warning(self.error)
            self._close()

    def _close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except OSError:
                pass

    def on_fit_start(self, state: FitState) -> None:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._writer = self._writer_class(log_dir=str(self.out_dir), flush_secs=5)
        except OSError as e:
            self.error = f"TensorBoard events could not be written to {self.out_dir}: {e}"
            log.warning(self.error)
            return
        if self.config is not None:
            self._write(self._writer.add_text, "config", _as_text(self.config), 0)

    def on_epoch_end(self, state: FitState) -> None:
        if self._writer is None:
            return
        step = state.epoch

        def write() -> None:
            for column, value in {**state.metrics, "elapsed": state.elapsed}.items():
                number = _number(value)
                if number is not None:
                    self._writer.add_scalar(tag(column), number, step)
            _gradient_norms(self._writer, state.grad_norms, step, None)

        self._write(write)

    def on_fit_end(self, state: FitState) -> None:
        if self._writer is None:
            return
        model: nn.Module = state.model
        self._write(_weights, self._writer, dict(model.state_dict()), state.epoch)
        self._write(self._writer.flush)
        self._close()
