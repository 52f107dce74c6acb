"""Forecasting baselines, shown beside every forecasting network, and forecast helpers.

A network that forecasts a series is only as good as it beats these:

- `naive`: the last value, repeated (a random walk's best forecast);
- `seasonal_naive`: the value one season back (y[h] = x[T - period + h % period]);
- `LinearAR`: least squares from the window (plus a bias) to the horizon's values: a linear
  autoregression, exact for a noiseless AR process of order up to the window's length.

Windows are (N, T) or (N, T, 1) arrays (numpy, or CPU tensors); forecasts are (N, horizon).
`rollout` forecasts further than a horizon by feeding forecasts back in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

BASELINES = ("naive", "seasonal naive", "linear AR")


def _windows(x: Any) -> np.ndarray:
    """(N, T) float64 from (N, T) or (N, T, 1) numbers."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim != 2:
        raise ValueError(f"windows must be (N, T) or (N, T, 1), got shape {a.shape}")
    return a


def naive(x: Any, horizon: int) -> np.ndarray:
    """The last value of each window, repeated `horizon` times: (N, horizon)."""
    w = _windows(x)
    return np.repeat(w[:, -1:], horizon, axis=1)


def seasonal_naive(x: Any, horizon: int, period: int) -> np.ndarray | None:
    """The value one season back, y[h] = x[T - period + h % period]: (N, horizon); None when
    there is no season (period 0) or it is longer than the window."""
    w = _windows(x)
    t = w.shape[1]
    if period <= 0 or period > t:
        return None
    return w[:, t - period + np.arange(horizon) % period]


@dataclass(frozen=True)
class LinearAR:
    """A linear autoregression: forecast = window @ weights + bias, one column per step."""

    weights: np.ndarray  # (T, horizon)
    bias: np.ndarray  # (horizon,)

    @classmethod
    def fit(cls, x_train: Any, y_train: Any, ridge: float = 1e-3) -> LinearAR:
        """Least squares with a small ridge penalty on the weights (not the bias)."""
        w = _windows(x_train)
        y = np.asarray(y_train, dtype=np.float64).reshape(len(w), -1)
        a = np.concatenate([w, np.ones((len(w), 1))], axis=1)  # (N, T + 1)
        penalty = ridge * np.eye(a.shape[1])
        penalty[-1, -1] = 0.0
        coef = np.linalg.solve(a.T @ a + penalty, a.T @ y)  # (T + 1, horizon)
        return cls(weights=coef[:-1], bias=coef[-1])

    def predict(self, x: Any) -> np.ndarray:
        return _windows(x) @ self.weights + self.bias


def mse_per_step(pred: Any, truth: Any) -> np.ndarray:
    """Mean squared error at each step ahead: (horizon,)."""
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    return ((p - t) ** 2).mean(axis=0)


def baseline_errors(data: Any) -> dict[str, np.ndarray]:
    """Each baseline's mean squared error per step ahead on a forecast Dataset's test windows
    (in its normalised units): naive, seasonal naive (when the data has a period that fits in
    a window) and linear AR (fit on the training windows)."""
    horizon = data.seq.horizon
    x_test, y_test = _windows(data.x_test), np.asarray(data.y_test, dtype=np.float64)
    out = {"naive": mse_per_step(naive(x_test, horizon), y_test)}
    seasonal = seasonal_naive(x_test, horizon, data.seq.period)
    if seasonal is not None:
        out["seasonal naive"] = mse_per_step(seasonal, y_test)
    ar = LinearAR.fit(data.x_train, data.y_train)
    out["linear AR"] = mse_per_step(ar.predict(x_test), y_test)
    return out


def rollout(
    predict: Callable[[np.ndarray], Any], history: Any, steps: int, horizon: int
) -> np.ndarray:
    """`steps` values forecast from `history` (T,): `predict` maps (N, T) windows to
    (N, >= horizon) forecasts; its first `horizon` values are appended to the window, which
    slides on, until `steps` are made."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    window = np.asarray(history, dtype=np.float64).reshape(-1)
    t = len(window)
    out: list[float] = []
    while len(out) < steps:
        ahead = np.asarray(predict(window[None, :]), dtype=np.float64).reshape(1, -1)[0, :horizon]
        if not len(ahead):
            raise ValueError("predict returned no values")
        out.extend(ahead.tolist())
        window = np.concatenate([window, ahead])[-t:]
    return np.array(out[:steps])
