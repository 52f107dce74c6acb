"""Time series: each generator's character, the chronological split, the normalisation, and
the windows cut from a series."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlviz.config import DataConfig
from dlviz.data import load_dataset
from dlviz.data.series import (
    GENERATED,
    MG_DT,
    MG_TAU,
    arma_coefficients,
    estimate_period,
    forecast_dataset,
    generate,
    mackey_glass_steps,
)


def _acf(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float((x[:-lag] * x[lag:]).mean() / x.var())


@pytest.mark.parametrize("name", GENERATED)
def test_same_seed_same_series_other_seed_other_series(name):
    a, period = generate(name, 500, 0.1, seed=1)
    b, _ = generate(name, 500, 0.1, seed=1)
    c, _ = generate(name, 500, 0.1, seed=2)
    assert a.shape == (500,) and np.isfinite(a).all() and a.std() > 0
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert period == {"seasonal": 12, "arma": 0, "mackey_glass": 0}.get(name, period)


def test_sines_dominant_period_is_the_strongest_frequency():
    for seed in range(5):
        x, period = generate("sines", 4000, 0.0, seed)
        assert 8 <= period <= 40
        power = np.abs(np.fft.rfft(x)) ** 2
        peak = np.argmax(power[1:]) + 1
        assert abs(4000 / peak - period) < 0.5


def test_noise_scales_the_noise():
    clean, _ = generate("sines", 2000, 0.0, seed=3)
    noisy, _ = generate("sines", 2000, 0.5, seed=3)
    assert 0.45 < (noisy - clean).std() < 0.55


def test_seasonal_repeats_every_twelve_steps_over_a_trend():
    x, period = generate("seasonal", 1200, 0.1, seed=4)
    d = np.diff(x)  # the trend's slope is a constant here
    assert period == 12 and _acf(d, 12) > 0.8
    assert max(range(2, 24), key=lambda k: _acf(d, k)) == 12  # its highest correlation
    assert estimate_period(x) == 12
    assert abs(np.polyfit(np.arange(1200), x, 1)[0]) * 1199 > 0.9  # a rise of 1 to 3


def test_arma_is_stable():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a1, a2, b = arma_coefficients(rng)
        roots = np.roots([1.0, -a1, -a2])  # z^2 - a1 z - a2: inside the unit circle
        assert np.abs(roots).max() < 1 and abs(b) < 1
    x, _ = generate("arma", 30_000, 0.0, seed=5)
    thirds = [part.std() for part in np.array_split(x, 3)]
    assert max(thirds) / min(thirds) < 1.2 and np.abs(x).max() < 10 * x.std()


def test_mackey_glass_is_bounded_and_not_constant():
    x, _ = generate("mackey_glass", 3000, 0.0, seed=6)
    assert 0.1 < x.min() and x.max() < 1.6 and x.std() > 0.1
    assert estimate_period(x) == 0 or _acf(x, estimate_period(x)) < 0.99


def test_mackey_glass_block_integration_is_the_euler_loop():
    lag = int(round(MG_TAU / MG_DT))
    x = [0.9] * (lag + 1)
    for _ in range(1000):
        delayed = x[-lag - 1]
        x.append(x[-1] + MG_DT * (0.2 * delayed / (1 + delayed**10) - 0.1 * x[-1]))
    np.testing.assert_allclose(mackey_glass_steps(0.9, 1000), x[lag:], rtol=1e-10)


@pytest.mark.parametrize("name", GENERATED)
def test_windows_split_by_time_and_normalised_by_the_training_part(name):
    cfg = DataConfig(name=name, n_samples=400, length=16, horizon=4, test_fraction=0.25)
    d = load_dataset(cfg)
    s = d.seq
    assert d.kind == "series" and d.task == "forecast" and d.class_names == ()
    assert s.horizon == 4 and d.n_outputs == 4 and s.series.dtype == np.float32
    assert len(d.x_train) == 300 and len(d.x_test) == 100  # n_samples windows, none lost
    assert d.x_train.shape == (300, 16, 1) and d.y_train.shape == (300, 4)
    assert d.x_train.dtype == d.y_train.dtype == torch.float32
    z = s.series
    assert abs(z[: s.split_at].mean()) < 1e-4 and abs(z[: s.split_at].std() - 1) < 1e-4
    raw, _ = generate(name, len(z), cfg.noise, cfg.seed)
    mean, std = s.scale
    np.testing.assert_allclose(z, (raw - mean) / std, atol=1e-5)
    # each window found in the series: train targets all before split_at, test ones all after
    for xs, ys, test in ((d.x_train, d.y_train, False), (d.x_test, d.y_test, True)):
        for x, y in zip(xs.numpy(), ys.numpy()):
            start = _find(z, x[:, 0])
            np.testing.assert_array_equal(z[start + 16 : start + 20], y)
            if test:
                assert start + 16 >= s.split_at
            else:
                assert start + 20 <= s.split_at


def _find(z: np.ndarray, window: np.ndarray) -> int:
    hits = [
        i for i in range(len(z) - len(window) + 1) if np.array_equal(z[i : i + len(window)], window)
    ]
    assert hits
    return hits[0]


def test_forecast_dataset_on_a_given_series_uses_every_window_that_does_not_cross_the_split():
    values = np.arange(100.0)
    cfg = DataConfig(name="own_series", length=5, horizon=3, test_fraction=0.2)
    d = forecast_dataset("own_series", values, cfg)
    assert d.seq.split_at == 80
    assert len(d.x_train) == 80 - 5 - 3 + 1 and len(d.x_test) == 100 - 3 - 80 + 1
    z = d.seq.series * d.seq.scale[1] + d.seq.scale[0]
    np.testing.assert_allclose(z, values, atol=1e-4)
    first_test = d.x_test[0, :, 0].numpy() * d.seq.scale[1] + d.seq.scale[0]
    np.testing.assert_allclose(first_test, [75, 76, 77, 78, 79], atol=1e-4)  # reaches back


def test_a_too_short_or_constant_series_says_so():
    cfg = DataConfig(name="own_series", length=32, horizon=8, test_fraction=0.3)
    with pytest.raises(
        ValueError, match=r"has 30 values; a length of 32 and a horizon of 8 need at least 5\d"
    ):
        forecast_dataset("own_series", np.arange(30.0), cfg)
    with pytest.raises(ValueError, match="all 3: a constant has nothing to learn"):
        forecast_dataset("own_series", np.full(200, 3.0), cfg)


def test_estimate_period_finds_a_clear_season_only():
    rng = np.random.default_rng(0)
    t = np.arange(600)
    assert estimate_period(np.sin(2 * np.pi * t / 7) + 0.1 * rng.normal(size=600)) == 7
    assert estimate_period(np.cumsum(rng.normal(size=600))) == 0  # a random walk
    assert estimate_period(rng.normal(size=600)) == 0
    assert estimate_period(np.arange(5.0)) == 0
