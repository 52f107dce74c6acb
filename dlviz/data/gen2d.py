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
from dlviz.text import plural

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


# --- a distribution a person draws (or gives as points) -----------------------------------------
#
# ``drawn``: the kernel density of a set of points (x, y) with weights, inside [-2, 2]^2, as
# the Generative page's canvas makes it (the centres of the painted cells, a cell painted twice
# weighing twice) or as a CSV of points gives it. `draw_samples` picks points in proportion to
# their weights and adds Gaussian jitter of std DRAW_JITTER (half a cell of the canvas), plus
# 0.1 * noise as ring and grid do, so a few hundred painted cells make a smooth distribution.

DRAWN = "drawn"
DRAW_CELL = 0.1  # the canvas's cell: 41 x 41 cells over [-2, 2]^2
DRAW_JITTER = DRAW_CELL / 2
MAX_POINTS_BYTES = 5_000_000
MAX_POINTS = 200_000
MIN_POINTS = 1


class PointsError(ValueError):
    """A drawing or a points file that cannot make a distribution, in words for a person."""


def canvas() -> np.ndarray:
    """The canvas's cell centres, (41 * 41, 2): x varies fastest, from -2 to 2 in steps of 0.1."""
    ticks = np.round(np.arange(-2.0, 2.0 + DRAW_CELL / 2, DRAW_CELL), 6)
    gy, gx = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def draw_samples(
    points: np.ndarray, n: int, seed: int, noise: float = 0.0, weights: np.ndarray | None = None
) -> np.ndarray:
    """`n` samples of the density of `points` (k, 2) with `weights` (k,), reproducibly from
    `seed`: rows drawn in proportion to their weights, then jittered (std DRAW_JITTER and
    0.1 * noise)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(points) < 1:
        raise PointsError("the drawing is empty: paint at least one region first")
    w = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(points),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise PointsError("the weights must be one non-negative number a point, not all zero")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(points), size=n, p=w / w.sum())
    std = float(np.hypot(DRAW_JITTER, _MODE_NOISE * noise))
    x = points[pick] + rng.normal(0.0, std, size=(n, 2))
    return x.astype(np.float32)


def parse_points(raw: bytes, name: str = "the file") -> tuple[np.ndarray, np.ndarray, str]:
    """A CSV of points: two numeric columns x, y and an optional third, a weight; a header
    line is allowed. Points outside [-2.5, 2.5] on either axis are moved and scaled together
    (the shape kept) to fit [-2, 2].

    Returns:
        the points (k, 2), their weights (k,) and a note on what was done to them ("" if
        nothing).

    Raises:
        PointsError: naming `name` and what is wrong (not UTF-8, too big, empty, not numbers,
        wrong column count, too few points).
    """
    if len(raw) > MAX_POINTS_BYTES:
        raise PointsError(
            f"{name} is {len(raw) / 1e6:.1f} MB; points files are limited to "
            f"{MAX_POINTS_BYTES // 1_000_000} MB"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PointsError(f"{name} is not UTF-8 text: save it as a UTF-8 CSV") from None
    rows = [line.strip() for line in text.splitlines() if line.strip()]
    if not rows:
        raise PointsError(f"{name} is empty: give rows of x,y (and optionally a weight)")
    sep = ";" if ";" in rows[0] and "," not in rows[0] else ("\t" if "\t" in rows[0] else ",")
    cells = [[c.strip() for c in r.split(sep)] for r in rows]
    first = 1  # the line number of cells[0]
    try:
        [float(c) for c in cells[0]]
    except ValueError:
        cells, first = cells[1:], 2  # a header
    if not cells:
        raise PointsError(f"{name} has a header and no points")
    width = len(cells[0])
    if width not in (2, 3):
        raise PointsError(
            f"{name} has {width} column{'s' if width != 1 else ''}; give x,y or x,y,weight"
        )
    if len(cells) > MAX_POINTS:
        raise PointsError(f"{name} has {len(cells):,} points; at most {MAX_POINTS:,} are read")
    values = np.empty((len(cells), width), dtype=np.float64)
    for i, row in enumerate(cells):
        if len(row) != width:
            raise PointsError(
                f"{name}, line {i + first}: {plural(len(row), 'value')} where the first line "
                f"had {width}"
            )
        try:
            values[i] = [float(c) for c in row]
        except ValueError:
            raise PointsError(
                f"{name}, line {i + first}: {sep.join(row)!r} is not numbers"
            ) from None
    if not np.all(np.isfinite(values)):
        raise PointsError(f"{name} holds a value that is not a finite number (nan or inf)")
    if len(values) < MIN_POINTS:
        raise PointsError(f"{name} has {len(values)} points; give at least {MIN_POINTS}")
    points, weights = values[:, :2], values[:, 2] if width == 3 else np.ones(len(values))
    if np.any(weights < 0) or weights.sum() <= 0:
        raise PointsError(f"{name}: the weights must be non-negative, and not all zero")
    note = ""
    if np.abs(points).max() > 2.5:
        lo, hi = points.min(axis=0), points.max(axis=0)
        half = float((hi - lo).max()) / 2 or 1.0
        points = (points - (lo + hi) / 2) / half * 2.0
        note = f"its points were moved and scaled by 2/{half:.3g} to fit the plane"
    return points.astype(np.float32), weights.astype(np.float32), note


def points_csv(points: np.ndarray, weights: np.ndarray | None = None) -> bytes:
    """The CSV `parse_points` reads back: x,y[,weight] with a header."""
    points = np.asarray(points).reshape(-1, 2)
    lines = ["x,y" + (",weight" if weights is not None else "")]
    for i, (x, y) in enumerate(points):
        row = f"{x:.4f},{y:.4f}"
        if weights is not None:
            row += f",{float(weights[i]):g}"
        lines.append(row)
    return ("\n".join(lines) + "\n").encode()


def save_drawing(points: np.ndarray, weights: np.ndarray, folder: str | None = None) -> str:
    """Write a drawing as a points CSV named by its content, under `folder` or
    ``$DLVIZ_HOME/drawings`` (default ``~/.dlviz``), and return its path: the ``data.path`` of
    a run on it, so the run can be repeated (`dlviz train`) and rebuilt (Runs)."""
    import hashlib
    import os
    from pathlib import Path

    raw = points_csv(points, weights)
    home = os.environ.get("DLVIZ_HOME") or Path.home() / ".dlviz"
    where = Path(folder) if folder else Path(home) / "drawings"
    path = where / f"drawing-{hashlib.sha256(raw).hexdigest()[:16]}.csv"
    if not path.exists():
        where.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(raw)
        tmp.replace(path)
    return str(path)
