"""The forecasting baselines, checked on tiny arrays worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlviz.config import DataConfig
from dlviz.data import load_dataset
from dlviz.forecast import (
    LinearAR,
    baseline_errors,
    mse_per_step,
    naive,
    rollout,
    seasonal_naive,
)

X = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [9.0, 7.0, 5.0, 3.0, 1.0]])


def test_naive_repeats_the_last_value():
    np.testing.assert_array_equal(naive(X, 3), [[5, 5, 5], [1, 1, 1]])
    np.testing.assert_array_equal(naive(X[:, :, None], 2), [[5, 5], [1, 1]])  # (N, T, 1)
    np.testing.assert_array_equal(naive(torch.tensor(X), 1), [[5], [1]])


def test_seasonal_naive_takes_the_value_one_season_back():
    # period 2, T 5: y[h] = x[3 + h % 2] -> x[3], x[4], x[3], x[4]
    np.testing.assert_array_equal(seasonal_naive(X, 4, 2), [[4, 5, 4, 5], [3, 1, 3, 1]])
    # period 5 = T: the whole window again
    np.testing.assert_array_equal(seasonal_naive(X, 6, 5), [[1, 2, 3, 4, 5, 1], [9, 7, 5, 3, 1, 9]])
    assert seasonal_naive(X, 3, 0) is None and seasonal_naive(X, 3, 6) is None


def test_mse_per_step():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    truth = np.array([[2.0, 2.0], [3.0, 0.0]])
    np.testing.assert_allclose(mse_per_step(pred, truth), [0.5, 8.0])  # (1 + 0) / 2, (0 + 16) / 2


def _ar2(n: int, a1: float, a2: float, seed: int) -> np.ndarray:
    x = list(np.random.default_rng(seed).normal(size=2))
    for _ in range(n):
        x.append(a1 * x[-1] + a2 * x[-2] + 0.5)  # noiseless, with a constant
    return np.array(x)


def test_linear_ar_recovers_a_noiseless_ar2_exactly():
    a1, a2, c = 1.6, -0.8, 0.5  # x[t] = 1.6 x[t-1] - 0.8 x[t-2] + 0.5
    series = _ar2(40, a1, a2, seed=0)
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], 2)  # windows of the order: 2
    y = series[2:, None]
    model = LinearAR.fit(x, y, ridge=1e-12)
    np.testing.assert_allclose(model.weights[:, 0], [a2, a1], atol=1e-6)  # oldest value first
    np.testing.assert_allclose(model.bias, [c], atol=1e-6)
    default = LinearAR.fit(x, y)  # the default ridge changes little
    np.testing.assert_allclose(default.weights[:, 0], [a2, a1], atol=1e-2)
    # longer windows of a noiseless AR(2) are collinear: the weights are not unique, the
    # forecasts still exact
    x4 = np.lib.stride_tricks.sliding_window_view(series[:-1], 4)
    np.testing.assert_allclose(LinearAR.fit(x4, series[4:], ridge=1e-12).predict(x4)[:, 0],
                               series[4:], atol=1e-5)  # fmt: skip


def test_linear_ar_fits_several_steps_at_once():
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    y = np.stack([x[:, 0] + 2 * x[:, 1], 3 - x[:, 1]], axis=1)  # two steps, two rules
    model = LinearAR.fit(x, y, ridge=1e-12)
    np.testing.assert_allclose(model.weights, [[1, 0], [2, -1]], atol=1e-6)
    np.testing.assert_allclose(model.bias, [0, 3], atol=1e-6)


def test_rollout_feeds_its_forecasts_back_as_a_hand_loop_does():
    def predict(windows: np.ndarray) -> np.ndarray:  # next two: last + first, last * 0.5
        return np.stack([windows[:, -1] + windows[:, 0], windows[:, -1] * 0.5], axis=1)

    history = np.array([1.0, 2.0, 3.0])
    # hand loop: [1, 2, 3] -> 4, 1.5; window [3, 4, 1.5] -> 4.5, 0.75; [1.5, 4.5, .75] -> 2.25
    np.testing.assert_allclose(rollout(predict, history, 5, 2), [4, 1.5, 4.5, 0.75, 2.25])
    np.testing.assert_allclose(rollout(predict, history, 3, 1), [4, 6, 9])  # one at a time
    with pytest.raises(ValueError, match="horizon"):
        rollout(predict, history, 3, 0)


def test_baseline_errors_on_a_seasonal_dataset():
    cfg = DataConfig(name="seasonal", n_samples=300, length=24, horizon=4, noise=0.0)
    d = load_dataset(cfg)
    errors = baseline_errors(d)
    assert set(errors) == {"naive", "seasonal naive", "linear AR"}
    assert all(e.shape == (4,) for e in errors.values())
    # a clean season with a trend: one season back is close, a linear AR is exact
    assert errors["seasonal naive"].max() < errors["naive"].mean()
    assert errors["linear AR"].max() < 1e-3
    assert errors["naive"][0] < errors["naive"][-1]  # the last value ages with the horizon
    no_season = baseline_errors(load_dataset(DataConfig(name="arma", n_samples=200)))
    assert set(no_season) == {"naive", "linear AR"}
