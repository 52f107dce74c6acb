"""How well a generator's 2-D samples match the data: modes, divergence, MMD, a collapse alert.

The mode metrics follow the 2-D benchmarks of the unrolled-GAN line of papers (Metz et al.
2017; Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN) on a mixture of K Gaussians of
one std:

- a sample is *high quality* if it lies within k = 3 std of its nearest mode centre;
- a mode is *covered* if it holds at least a given share of the samples as high-quality
  samples (PacGAN counts a grid mode lost below 20 of 2500 samples, a fifth of its fair share;
  here the default is a quarter of the fair share, 0.25 / K).

Samples with NaN or infinite coordinates (a diverged generator) are never high quality; the
histogram and MMD measures leave them out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MMD_MAX_POINTS = 2000
STUCK_EPOCHS = 15  # epochs on a quarter of the modes or fewer that make a collapse
WARMUP_EPOCHS = 10  # before this, coverage may jump about as the generator finds the modes
FALL_EPOCHS = 3  # epochs a fall must hold to be called a collapse


def _points(x: np.ndarray) -> np.ndarray:
    """(N, 2) float64 of the finite rows of `x`."""
    x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
    return x[np.isfinite(x).all(axis=1)]


def assign(samples: np.ndarray, centres: np.ndarray, std: float, k: float = 3.0) -> np.ndarray:
    """Each sample's nearest mode index (N,) int64, or -1 where it is farther than k * std."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1, 2)
    c = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    if not len(c):
        return np.full(len(x), -1, dtype=np.int64)
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)  # (N, K), NaN for a non-finite sample
    nearest = np.argmin(np.nan_to_num(d2, nan=np.inf), axis=1)
    close = d2[np.arange(len(x)), nearest] <= (k * std) ** 2  # NaN compares False
    return np.where(close, nearest, -1).astype(np.int64)


def high_quality(samples: np.ndarray, centres: np.ndarray, std: float, k: float = 3.0) -> float:
    """The share of samples within k std of some mode (0.0 for no samples)."""
    a = assign(samples, centres, std, k)
    return float((a >= 0).mean()) if len(a) else 0.0


def modes_covered(
    samples: np.ndarray,
    centres: np.ndarray,
    std: float,
    k: float = 3.0,
    min_share: float | None = None,
) -> int:
    """The number of modes that hold at least `min_share` of all samples as high-quality ones.

    Args:
        min_share: the share of the N samples a mode needs; default 0.25 / K, a quarter of the
            fair share (with N = 2500 on the 25-mode grid: 25 samples).
    """
    n_modes = len(np.asarray(centres).reshape(-1, 2))
    a = assign(samples, centres, std, k)
    if not len(a) or not n_modes:
        return 0
    share = 0.25 / n_modes if min_share is None else min_share
    counts = np.bincount(a[a >= 0], minlength=n_modes)
    return int((counts >= share * len(a)).sum())


def grid_js(real: np.ndarray, fake: np.ndarray, bins: int = 40, extent: float = 2.5) -> float:
    """Jensen-Shannon divergence, base 2 (0 same, 1 disjoint), between two 2-D histograms.

    Both sets are binned on a bins x bins grid over [-extent, extent]^2; points outside the
    square are clipped onto it, so they count in the edge bins. No smoothing: an empty bin adds
    nothing (0 log 0 = 0). nan if either set has no finite point.
    """
    p, q = (_histogram(_points(s), bins, extent) for s in (real, fake))
    if p is None or q is None:
        return float("nan")
    m = (p + q) / 2
    js = 0.5 * _kl(p, m) + 0.5 * _kl(q, m)
    return float(min(max(js, 0.0), 1.0))  # rounding can leave it a hair outside [0, 1]


def _histogram(x: np.ndarray, bins: int, extent: float) -> np.ndarray | None:
    if not len(x):
        return None
    x = np.clip(x, -extent, extent)  # the last bin holds its right edge
    edges = np.linspace(-extent, extent, bins + 1)
    h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=(edges, edges))
    return h.ravel() / h.sum()


def _kl(p: np.ndarray, m: np.ndarray) -> float:
    on = p > 0  # m >= p / 2 > 0 wherever p > 0
    return float((p[on] * np.log2(p[on] / m[on])).sum())


def _subsample(x: np.ndarray, limit: int) -> np.ndarray:
    """At most `limit` rows, evenly spaced through `x` (every (N / limit)-th, first to last)."""
    if len(x) <= limit:
        return x
    return x[np.linspace(0, len(x) - 1, limit).round().astype(np.int64)]


def mmd_rbf(
    real: np.ndarray,
    fake: np.ndarray,
    bandwidths: Sequence[float] = (0.1, 0.2, 0.5, 1.0, 2.0),
) -> float:
    """The unbiased estimate of the squared MMD with the kernel sum_b exp(-|x - y|^2 / (2 b^2)).

    MMD^2 = mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean_{i, j} k(x_i, y_j).
    Being unbiased it can come out slightly below 0 when the sets share a distribution. Each set
    is cut to its first-to-last evenly spaced `MMD_MAX_POINTS` rows (deterministic; sets
    shuffled or in any order keep their mix). nan if either set has fewer than 2 finite points.
    """
    x = _subsample(_points(real), MMD_MAX_POINTS)
    y = _subsample(_points(fake), MMD_MAX_POINTS)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        return float("nan")

    def kernel_sum(a: np.ndarray, b: np.ndarray, same: bool) -> float:
        d2 = np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)
        total = sum(float(np.exp(d2 * (-0.5 / (bw * bw))).sum()) for bw in bandwidths)
        # the diagonal of k(a, a) is 1 per bandwidth: drop it for the unbiased sums
        return total - len(bandwidths) * len(a) if same else total

    kxx = kernel_sum(x, x, True) / (m * (m - 1))
    kyy = kernel_sum(y, y, True) / (n * (n - 1))
    kxy = kernel_sum(x, y, False) / (m * n)
    return float(kxx + kyy - 2 * kxy)


def summary(
    samples: np.ndarray,
    real: np.ndarray,
    modes: tuple[np.ndarray, float] | None = None,
    mmd: bool = True,
) -> dict[str, float | int]:
    """The metrics a run reports for 2-D samples against the real points.

    Returns {"divergence": grid_js} and, with `mmd`, "mmd" (mmd_rbf: a few tenths of a second
    on 2,000 points, so a run measures it at its end only); with the data's `modes` (centres
    and std, as `dlviz.data.gen2d.modes` gives them), "modes_covered", "n_modes" and
    "high_quality".
    """
    out: dict[str, float | int] = {"divergence": grid_js(real, samples)}
    if mmd:
        out["mmd"] = mmd_rbf(real, samples)
    if modes is not None:
        centres, std = modes
        out["modes_covered"] = modes_covered(samples, centres, std)
        out["n_modes"] = len(centres)
        out["high_quality"] = high_quality(samples, centres, std)
    return out


def _calm(losses: Sequence[float]) -> bool:
    """Finite throughout, and the latest no more than 10x the typical size (the median)."""
    v = np.asarray(losses, dtype=np.float64)
    if not len(v):
        return True
    if not np.isfinite(v).all():
        return False
    return bool(abs(v[-1]) <= 10 * (np.median(np.abs(v)) + 1.0))


def _advice(loss: str, d_steps: int) -> str:
    """What to try against a collapse, naming only what the run is not already doing."""
    names = {"nonsaturating": "non-saturating", "wgan_gp": "WGAN-GP"}
    others = [names[k] for k in ("nonsaturating", "wgan_gp") if k != loss]
    steps = (
        f"fewer discriminator steps per generator step (now {d_steps})"
        if d_steps > 1
        else "two discriminator steps per generator step"
    )
    return f"Try the {' or '.join(others)} loss, {steps}, or a lower learning rate."


def collapsed(
    coverage_history: list[int],
    n_modes: int,
    loss_history_d: Sequence[float],
    loss_history_g: Sequence[float],
    loss: str = "",
    d_steps: int = 1,
) -> str | None:
    """A plain-words alert when the modes covered have fallen while the losses look calm, with
    what to try (another loss than `loss`, another step ratio than `d_steps`, a lower rate).

    Fallen: after WARMUP_EPOCHS epochs, the last FALL_EPOCHS epochs each at least 2 below the
    best before them, or down to 1 or 2 modes from more (coverage that jumps about early in a
    run is not a collapse). Stuck: for the last STUCK_EPOCHS epochs (of at least twice as
    many) at most a quarter of the modes, at least one. Calm: both losses finite and not
    exploding (a diverging run is the training loop's alert, not this). None otherwise.
    """
    if len(coverage_history) < 2:
        return None
    calm = _calm(loss_history_d) and _calm(loss_history_g)
    fallen = False
    if len(coverage_history) >= WARMUP_EPOCHS:
        recent = coverage_history[-FALL_EPOCHS:]
        before = max(coverage_history[:-FALL_EPOCHS])
        fallen = all(before - c >= 2 or (1 <= c <= 2 and before > c) for c in recent)
    # stuck: the last STUCK_EPOCHS epochs on at most a quarter of the modes, having found some
    last = coverage_history[-STUCK_EPOCHS:]
    stuck = len(coverage_history) >= 2 * STUCK_EPOCHS and 1 <= max(last) <= n_modes // 4
    advice = _advice(loss, d_steps)
    if calm and stuck and not fallen:
        return (
            f"For the last {STUCK_EPOCHS} epochs the samples have covered at most {max(last)} "
            f"of {n_modes} modes, while both losses look calm: the generator has collapsed onto "
            f"a few modes and stays there. {advice}"
        )
    if not fallen or not calm:
        return None
    best, lately = max(coverage_history), max(coverage_history[-FALL_EPOCHS:])
    return (
        f"The samples covered {best} of {n_modes} modes at best, and at most {lately} in each "
        f"of the last {FALL_EPOCHS} epochs, while both losses look calm: the generator is "
        f"collapsing onto fewer modes. {advice}"
    )
