"""2-D distributions for the Generative lab: the sets GAN, VAE, diffusion and flow models learn.

Every set lives in about [-2, 2] on each axis. `generate` returns the points and each point's
mode (the Gaussian it was drawn from) where the distribution has modes, so a run can count the
modes a generator covers; `modes` gives their centres and spread for the metrics.

- ``ring``: 8 Gaussians evenly on a circle of radius 2, std 0.05, equal shares (the set of
  GAN Lab and of Metz et al. 2017, *Unrolled GANs*).
- ``grid``: 25 Gaussians on a 5 x 5 grid at -2, -1, 0, 1, 2 on each axis, std 0.05.
- ``moons``, ``spiral``: the union of both classes of `dlviz.data.toy2d`'s sets, doubled from
  toy2d's [-1, 1] to [-2, 2] (moons keep their shape, so they span [-1, 1] in y).
- ``swiss``: the (x, z) plane of the classic 3-D swiss roll (x = t cos t, z = t sin t, t uniform
  in [1.5 pi, 4.5 pi]), shifted by -pi/2 and divided by 2 pi, which maps its bounding box,
  about [-3 pi, 4 pi] x [-3.5 pi, 4.5 pi], to about [-1.75, 1.75] x [-2, 2].

`noise` in [0, 1] is Gaussian jitter, added to every point, in each set's own convention:

- ring and grid: std 0.1 * noise on each axis, so a mode's std grows to
  sqrt(0.05^2 + (0.1 * noise)^2) (noise 1 -> 0.11, modes still apart);
- moons and spiral: toy2d's jitter (std 0.5 * noise in its [-1, 1] square), doubled with the
  points, so std `noise` here;
- swiss: std `noise` in the roll's own units before scaling (as scikit-learn's
  ``make_swiss_roll``), so noise / (2 pi) ~= 0.16 * noise here; the arms are 1 apart.
"""

from __future__ import annotations

import numpy as np

from dlviz.data.toy2d import generate as toy2d_generate

GEN2D_DATASETS = ("ring", "grid", "moons", "spiral", "swiss")

MODE_STD = 0.05  # the std of each Gaussian of ring and grid (noise 0)
_MODE_NOISE = 0.1  # ring/grid: noise 1 adds jitter of std 0.1
_TOY_SCALE = 2.0  # toy2d's [-1, 1] -> [-2, 2]


def _check(name: str) -> None:
    if name not in GEN2D_DATASETS:
        raise ValueError(
            f"unknown generative 2-D dataset {name!r}; choose one of {', '.join(GEN2D_DATASETS)}"
        )


def _centres(name: str) -> np.ndarray | None:
    if name == "ring":
        angle = 2 * np.pi * np.arange(8) / 8
        return 2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)  # (8, 2)
    if name == "grid":
        ticks = np.arange(-2.0, 3.0)
        gx, gy = np.meshgrid(ticks, ticks, indexing="ij")
        return np.stack([gx.ravel(), gy.ravel()], axis=1)  # (25, 2)
    return None


def modes(name: str, noise: float = 0.0) -> tuple[np.ndarray, float] | None:
    """The (K, 2) mode centres and their std, for ring and grid; None for sets without modes.

    Args:
        name: one of `GEN2D_DATASETS`.
        noise: the data's noise; the std returned grows with it as `generate`'s jitter does.
    """
    _check(name)
    centres = _centres(name)
    if centres is None:
        return None
    std = float(np.hypot(MODE_STD, _MODE_NOISE * noise))
    return centres.astype(np.float32), std


def _swiss(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    t = 1.5 * np.pi * (1.0 + 2.0 * rng.uniform(0.0, 1.0, n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)  # (n, 2): the roll's (x, z)
    x = x + rng.normal(0.0, noise, size=x.shape)
    return (x - np.pi / 2) / (2 * np.pi)


def generate(name: str, n: int, seed: int, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Sample `n` points of the distribution `name`, reproducibly from `seed`.

    Returns:
        points (n, 2) float32 in about [-2, 2]^2, shuffled, and each point's mode index (n,)
        int64 (-1 for every point of a set without modes: moons, spiral, swiss).
    """
    _check(name)
    if name in ("moons", "spiral"):
        x, _ = toy2d_generate(name, n, noise, seed)
        return (x * _TOY_SCALE).astype(np.float32), np.full(n, -1, dtype=np.int64)
    rng = np.random.default_rng(seed)
    if name == "swiss":
        return _swiss(n, noise, rng).astype(np.float32), np.full(n, -1, dtype=np.int64)
    centres = _centres(name)
    assert centres is not None
    k = len(centres)
    mode = rng.permutation(np.arange(n) % k)  # equal shares (to one point), in random order
    x = centres[mode] + rng.normal(0.0, MODE_STD, size=(n, 2))
    x = x + rng.normal(0.0, _MODE_NOISE * noise, size=(n, 2))
    return x.astype(np.float32), mode.astype(np.int64)
