"""Time series to forecast, generated from a seed, and the windows cut from any series.

- ``sines``: two or three sinusoids of whole periods between 8 and 40 steps (the first, the
  dominant one, has amplitude 1), plus noise; period: the dominant one.
- ``arma``: a stable ARMA(2,1) process, x[t] = a1 x[t-1] + a2 x[t-2] + e[t] + b e[t-1], its
  autoregressive roots r exp(+-iw) inside the unit circle (r in 0.75-0.95): it rings, it does
  not repeat; period 0.
- ``seasonal``: a linear trend plus a season of 12 steps (two harmonics) plus noise; period 12.
- ``mackey_glass``: the chaotic delay equation dx/dt = 0.2 x(t-17) / (1 + x(t-17)^10) - 0.1 x,
  integrated with Euler steps of 0.1 and sampled every 3 time units; period 0.

`cfg.noise` scales each one's noise: observation noise of that many times the clean series'
spread (sines: the dominant amplitude). `forecast_dataset` makes windows of any series: split
by time (train first), normalised by the training part's mean and std.
"""

from __future__ import annotations

import numpy as np
import torch

from dlviz.config import DataConfig
from dlviz.data.base import Dataset, SequenceInfo

GENERATED = ("sines", "arma", "seasonal", "mackey_glass")
SEASON = 12  # seasonal's period
MG_DT, MG_TAU, MG_EVERY = 0.1, 17.0, 3.0  # Mackey-Glass: Euler step, delay, sampling (time units)


def generate(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, int]:
    """`n` values (float64) of series `name` and its period (0: none)."""
    if name not in GENERATED:
        raise ValueError(f"unknown series {name!r}; choose from {', '.join(GENERATED)}")
    rng = np.random.default_rng(seed)
    make = {"sines": _sines, "arma": _arma, "seasonal": _seasonal, "mackey_glass": _mackey_glass}
    values, period = make[name](rng, n)
    spread = 1.0 if name == "sines" else float(values.std()) or 1.0
    return values + rng.normal(0.0, noise * spread, n), period


def _sines(rng: np.random.Generator, n: int) -> tuple[np.ndarray, int]:
    k = int(rng.integers(2, 4))
    periods = rng.choice(np.arange(8, 41), size=k, replace=False)
    amplitudes = np.concatenate([[1.0], rng.uniform(0.3, 0.7, k - 1)])
    phases = rng.uniform(0, 2 * np.pi, k)
    t = np.arange(n)[:, None]
    values = (amplitudes * np.sin(2 * np.pi * t / periods + phases)).sum(axis=1)
    return values, int(periods[0])


def arma_coefficients(rng: np.random.Generator) -> tuple[float, float, float]:
    """(a1, a2, b) of a stable ARMA(2,1): AR roots r exp(+-iw), r < 1, a period 6-40 steps."""
    r = rng.uniform(0.75, 0.95)
    w = 2 * np.pi / rng.uniform(6, 40)
    return 2 * r * np.cos(w), -(r**2), rng.uniform(-0.5, 0.5)


def _arma(rng: np.random.Generator, n: int) -> tuple[np.ndarray, int]:
    a1, a2, b = arma_coefficients(rng)
    burn = 300
    e = rng.normal(0.0, 1.0, n + burn)
    x = np.zeros(n + burn)
    for t in range(2, n + burn):  # plain floats: fast enough for 200,000 steps
        x[t] = a1 * x[t - 1] + a2 * x[t - 2] + e[t] + b * e[t - 1]
    return x[burn:], 0


def _seasonal(rng: np.random.Generator, n: int) -> tuple[np.ndarray, int]:
    t = np.arange(n)
    phase1, phase2 = rng.uniform(0, 2 * np.pi, 2)
    season = np.sin(2 * np.pi * t / SEASON + phase1)
    season += rng.uniform(0.2, 0.6) * np.sin(4 * np.pi * t / SEASON + phase2)
    rise = rng.uniform(1.0, 3.0) * rng.choice([-1.0, 1.0])  # over the whole series
    return season + rise * t / max(n - 1, 1), SEASON


def mackey_glass_steps(x0: float, steps: int) -> np.ndarray:
    """Euler integration of Mackey-Glass from a constant history `x0`: `steps` + 1 values,
    MG_DT apart, the first x0. Vectorised a delay at a time: over the next tau/dt steps the
    delayed term is already known, so each step is linear in x and sums in closed form."""
    lag = int(round(MG_TAU / MG_DT))
    a = 1.0 - 0.1 * MG_DT
    blocks = -(-steps // lag)
    x = np.full(lag + 1 + blocks * lag, x0, dtype=np.float64)
    j = np.arange(1, lag + 1)
    grow, shrink = a**j, a ** -(j - 1.0)
    for k in range(lag, lag + blocks * lag, lag):  # x[k] known; fill x[k+1 .. k+lag]
        delayed = x[k - lag : k]
        force = MG_DT * 0.2 * delayed / (1.0 + delayed**10)
        # x[k+j] = a^j x[k] + sum_{i<j} a^(j-1-i) force[i]
        x[k + 1 : k + lag + 1] = grow * x[k] + (grow / a) * np.cumsum(force * shrink)
    return x[lag : lag + steps + 1]


def _mackey_glass(rng: np.random.Generator, n: int) -> tuple[np.ndarray, int]:
    every = int(round(MG_EVERY / MG_DT))
    burn = int(round(500 / MG_DT))  # let the start's transient die out
    fine = mackey_glass_steps(float(rng.uniform(0.5, 1.3)), burn + n * every)
    return fine[burn + every :: every][:n], 0


def estimate_period(values: np.ndarray, longest: int = 400) -> int:
    """The season of a series, where it clearly has one (else 0): the shortest lag of 2 or
    more where the autocorrelation of its differences peaks at 0.4 or more and within 90% of
    the highest peak."""
    d = np.diff(np.asarray(values, dtype=np.float64))
    d = d - d.mean()
    top = min(longest, len(d) // 3)
    if top < 3 or not d.any():
        return 0
    spectrum = np.fft.rfft(d, 2 * len(d))
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: top + 2]
    acf = acf / acf[0]
    peaks = [k for k in range(2, top + 1) if acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1]]
    peaks = [k for k in peaks if acf[k] >= 0.4]
    if not peaks:
        return 0
    best = max(acf[k] for k in peaks)
    return next(k for k in peaks if acf[k] >= 0.9 * best)


def min_series_size(length: int, horizon: int, test_fraction: float) -> int:
    """The fewest values that give one training window (its targets before the split) and one
    test window (its targets after it)."""
    n = length + 2 * horizon
    while True:
        split_at = int(round(n * (1 - test_fraction)))
        if split_at >= length + horizon and n - split_at >= horizon:
            return n
        n += 1


def forecast_dataset(
    name: str,
    values: np.ndarray,
    cfg: DataConfig,
    period: int = 0,
    split_at: int | None = None,
) -> Dataset:
    """Windows of `values` for forecasting: x (N, length, 1) past values, y (N, horizon) the
    next ones. The series is split by time at `split_at` (default: the first 1 - test_fraction
    of it trains): training windows have all their targets before it, test windows all theirs
    from it on (their inputs may reach back into the training part); windows across the split
    are left out. Values are normalised by the training part's mean and std."""
    length, horizon = cfg.seq_length, cfg.seq_horizon
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    n = len(values)
    if split_at is None:
        split_at = int(round(n * (1 - cfg.test_fraction)))
    if split_at < length + horizon or n - split_at < horizon:
        raise ValueError(
            f"the series has {n:,} values; a length of {length} and a horizon of {horizon} "
            f"need at least {min_series_size(length, horizon, cfg.test_fraction):,} (with "
            f"{cfg.test_fraction:.0%} for the test): give a longer series or shorten the length"
        )
    if not np.isfinite(values).all():
        raise ValueError("the series holds a NaN or infinite value; give finite numbers only")
    mean, std = float(values[:split_at].mean()), float(values[:split_at].std())
    if std == 0:
        raise ValueError(
            f"the series' first {split_at:,} values (its training part) are all {mean:g}: a "
            "constant has nothing to learn; give a series that changes"
        )
    z = ((values - mean) / std).astype(np.float32)
    starts = np.arange(n - length - horizon + 1)
    train = starts[starts + length + horizon <= split_at]
    test = starts[starts + length >= split_at]
    past, ahead = np.arange(length), length + np.arange(horizon)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    info = SequenceInfo(
        task="forecast",
        horizon=horizon,
        series=z,
        split_at=split_at,
        scale=(mean, std),
        period=period,
    )
    return Dataset(
        name=name,
        kind="series",
        x_train=t(z[train[:, None] + past][..., None]),
        y_train=t(z[train[:, None] + ahead]),
        x_test=t(z[test[:, None] + past][..., None]),
        y_test=t(z[test[:, None] + ahead]),
        class_names=(),
        seq=info,
    )


def series_dataset(cfg: DataConfig) -> Dataset:
    """A generated series of cfg.n_samples windows: round(n_samples * test_fraction) of them
    test windows, the rest training windows, none across the split."""
    length, horizon = cfg.seq_length, cfg.seq_horizon
    n_test = min(cfg.n_samples - 1, max(1, int(round(cfg.n_samples * cfg.test_fraction))))
    n_train = cfg.n_samples - n_test
    split_at = n_train + length + horizon - 1  # the last training window's targets end here
    n = (
        split_at + n_test + horizon - 1
    )  # the last test window starts at split_at - length + n_test - 1
    values, period = generate(cfg.name, n, cfg.noise, cfg.seed)
    return forecast_dataset(cfg.name, values, cfg, period, split_at)
