"""What a trained sequence model does, measured on its test set: accuracy with each attention
head switched off, accuracy at each answer position, forecasts beside the baselines, error over
the horizon and rolled-out forecasts. Pure torch and numpy; the Sequence lab's view draws them.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from dlviz import forecast
from dlviz.data import IGNORE, Dataset
from dlviz.probes import evaluating
from dlviz.train import evaluate_task

ROLLOUT_STEPS = 64  # how far a rolled-out forecast goes


def _metric(data: Dataset) -> str:
    return "sequence_accuracy" if data.task == "tokens" else "accuracy"


def test_score(model: nn.Module, data: Dataset) -> float:
    """Test accuracy (per-token tasks: whole answers right) of `model`."""
    device = next(model.parameters()).device
    x, y = data.x_test.to(device), data.y_test.to(device)
    return evaluate_task(model, x, y, None, data.task)[0][_metric(data)]


@contextmanager
def heads_off(model: nn.Module, heads: list[tuple[int, int]]):
    """Switch off the attention heads (layer, head), 0-based, for the duration."""
    mask = model.head_mask  # (layers, heads)
    saved = mask.clone()
    try:
        for layer, head in heads:
            mask[layer, head] = 0.0
        yield model
    finally:
        mask.copy_(saved)


@dataclass(frozen=True)
class Ablation:
    """Test scores of a transformer with every head on (`base`) and with each head off."""

    metric: str  # "accuracy" or "sequence_accuracy"
    base: float
    ablated: dict[tuple[int, int], float]  # (layer, head), 0-based -> the score without it

    def most_needed(self) -> tuple[tuple[int, int], float] | None:
        """The head whose loss costs most, and how much (base - its score)."""
        if not self.ablated:
            return None
        head = min(self.ablated, key=self.ablated.get)
        return head, self.base - self.ablated[head]


def ablate_heads(model: nn.Module, data: Dataset) -> Ablation:
    """The test score with each head switched off in turn (transformers only)."""
    if not hasattr(model, "head_mask"):
        raise TypeError("only a transformer has attention heads to switch off")
    base = test_score(model, data)
    layers, heads = model.head_mask.shape
    out = {}
    for layer in range(layers):
        for head in range(heads):
            with heads_off(model, [(layer, head)]):
                out[(layer, head)] = test_score(model, data)
    return Ablation(_metric(data), base, out)


def position_accuracy(model: nn.Module, data: Dataset) -> np.ndarray:
    """Per-token tasks: the test accuracy at each predicted position (answer digit 1, 2, …);
    positions never predicted are left out."""
    device = next(model.parameters()).device
    hits, counts = None, None
    with evaluating(model):
        for i in range(0, len(data.x_test), 256):
            x = data.x_test[i : i + 256].to(device)
            y = data.y_test[i : i + 256].to(device)
            pred = model(x).argmax(dim=-1)
            mask = y != IGNORE
            h = ((pred == y) & mask).sum(dim=0).cpu()
            c = mask.sum(dim=0).cpu()
            hits = h if hits is None else hits + h
            counts = c if counts is None else counts + c
    assert hits is not None and counts is not None
    keep = counts > 0
    return (hits[keep].float() / counts[keep].float()).numpy()


def predict_windows(model: nn.Module, windows: np.ndarray) -> np.ndarray:
    """A forecasting model's forecasts (N, horizon) for windows (N, T) or (N, T, 1)."""
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(windows, dtype=np.float32))
    if x.dim() == 2:
        x = x[:, :, None]
    outs = []
    with evaluating(model):
        for i in range(0, len(x), 512):
            outs.append(model(x[i : i + 512].to(device)).float().cpu())
    return torch.cat(outs).numpy() if outs else np.zeros((0, 0), np.float32)


@dataclass(frozen=True)
class ForecastReport:
    """A forecasting network against the baselines on the test windows: per-step mean squared
    error of each (`errors`: name -> (horizon,), the network first), and one example window's
    past, truth and forecasts, one step ahead and rolled out."""

    errors: dict[str, np.ndarray]
    example: int
    past: np.ndarray  # (T,)
    truth: np.ndarray  # (horizon,)
    forecasts: dict[str, np.ndarray]  # name -> (horizon,)
    rolled_truth: np.ndarray  # (steps,) the series after the example's window
    rolled: dict[str, np.ndarray]  # name -> (steps,) forecasts fed back into the input
    one_step_truth: np.ndarray  # (N,) each test window's next value
    one_step: dict[str, np.ndarray]  # name -> (N,) each one's forecast of it

    def mse(self, name: str) -> float:
        return float(np.mean(self.errors[name]))


def forecast_report(model: nn.Module, data: Dataset, example: int = 0) -> ForecastReport:
    """The network and every baseline on the test windows, and test window `example`."""
    seq = data.seq
    assert seq is not None and seq.task == "forecast"
    x_tr, y_tr = data.x_train[:, :, 0].numpy(), data.y_train.numpy()
    x_te, y_te = data.x_test[:, :, 0].numpy(), data.y_test.numpy()
    horizon = seq.horizon
    predictors: dict[str, Any] = {"network": lambda w: predict_windows(model, w)}
    predictors["naive"] = lambda w: forecast.naive(w, horizon)
    if forecast.seasonal_naive(x_te[:1], horizon, seq.period) is not None:
        predictors["seasonal naive"] = lambda w: forecast.seasonal_naive(w, horizon, seq.period)
    ar = forecast.LinearAR.fit(x_tr, y_tr)
    predictors["linear AR"] = ar.predict
    predictions = {name: predict(x_te) for name, predict in predictors.items()}
    errors = {name: forecast.mse_per_step(p, y_te) for name, p in predictions.items()}
    example = min(max(example, 0), len(x_te) - 1)
    past = x_te[example]
    # where the example's window ends in the whole series: its test windows are in order
    series = seq.series if seq.series is not None else np.zeros(0, np.float32)
    length = x_te.shape[1]
    end = len(series) - (len(x_te) - 1 - example) - horizon
    steps = max(0, min(ROLLOUT_STEPS, len(series) - end))
    rolled_truth = series[end : end + steps]
    history = series[max(0, end - length) : end]
    rolled = {
        name: forecast.rollout(predict, history, steps, horizon) if steps else np.zeros(0)
        for name, predict in predictors.items()
    }
    return ForecastReport(
        errors=errors,
        example=example,
        past=past,
        truth=y_te[example],
        forecasts={name: predict(past[None])[0] for name, predict in predictors.items()},
        rolled_truth=rolled_truth,
        rolled=rolled,
        one_step_truth=y_te[:, 0],
        one_step={name: p[:, 0] for name, p in predictions.items()},
    )
