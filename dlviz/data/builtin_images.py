"""Image datasets, generated or shipped, as (N, C, H, W) float32 in [0, 1] with int64 labels.

- ``digits``: the 1,797 real 8x8 handwritten digits of the UCI "Optical Recognition of
  Handwritten Digits" test set, as scikit-learn ships them (dlviz/data/assets/digits.csv.gz,
  see the README there); optionally upscaled.
- ``shapes``: a generator of six filled or stroked shapes — circle, square, triangle, star,
  cross, line — at random position, size, rotation and colour, on a noisy background with
  optional clutter strokes. Telling them apart needs edges, then corners, then whole shapes.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIGITS_FILE = Path(__file__).resolve().parent / "assets" / "digits.csv.gz"
DIGITS_COUNT = 1797
SHAPES = ("circle", "square", "triangle", "star", "cross", "line")


# --- digits -----------------------------------------------------------------------------------


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits: images (1797, 1, 8, 8) float32 in [0, 1] and labels (1797,) int64."""
    with gzip.open(DIGITS_FILE, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    images = (table[:, :64] / 16.0).reshape(-1, 1, 8, 8)
    return images.astype(np.float32), table[:, 64].astype(np.int64)


def upscale(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (N, C, h, w) images to (N, C, size, size)."""
    if images.shape[-1] == size:
        return images
    import torch
    import torch.nn.functional as F

    out = F.interpolate(
        torch.from_numpy(images), size=(size, size), mode="bilinear", align_corners=False
    )
    return out.clamp_(0.0, 1.0).numpy()


# --- shapes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShapeSpec:
    """One drawn shape, in pixel units: what `draw_shape` needs and what tests check against."""

    kind: str
    cx: float
    cy: float
    radius: float  # circumradius (circle: radius; line/cross: half length)
    angle: float  # radians
    color: tuple[float, ...]  # one value per channel, in [0, 1]


def _rot(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def shape_polygons(kind: str, radius: float, angle: float) -> list[np.ndarray]:
    """The outline(s) of a shape centred on the origin, as (V, 2) vertex arrays (x, y)."""
    r = radius
    if kind == "square":
        h = r / np.sqrt(2.0)  # corners on the circumcircle
        polys = [np.array([[-h, -h], [h, -h], [h, h], [-h, h]])]
    elif kind == "triangle":
        t = np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        polys = [r * np.stack([np.cos(t), np.sin(t)], 1)]
    elif kind == "star":
        t = np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, 0.4 * r)
        polys = [np.stack([radii * np.cos(t), radii * np.sin(t)], 1)]
    elif kind in ("cross", "line"):
        w = max(0.12 * r, 0.75)  # half width of a bar, at least 1.5 px wide
        bar = np.array([[-r, -w], [r, -w], [r, w], [-r, w]])
        polys = [bar] if kind == "line" else [bar, bar[:, ::-1]]
    elif kind == "circle":
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        polys = [r * np.stack([np.cos(t), np.sin(t)], 1)]
    else:
        raise KeyError(f"unknown shape {kind!r}; choose one of {', '.join(SHAPES)}")
    return [_rot(p, angle) for p in polys]


def _inside(poly: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test for every pixel centre (px, py), vectorised."""
    inside = np.zeros(px.shape, dtype=bool)
    x0, y0 = poly[:, 0], poly[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    for a, b, c, d in zip(x0, y0, x1, y1):
        crosses = (b > py) != (d > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = a + (py - b) * (c - a) / (d - b)
        inside ^= crosses & (px < xs)
    return inside


def draw_shape(spec: ShapeSpec, size: int, supersample: int = 2) -> np.ndarray:
    """Coverage (size, size) in [0, 1] of `spec`, anti-aliased by supersampling.

    Rows are y from top to bottom, columns x from left to right (image convention).
    """
    k = supersample
    coords = (np.arange(size * k) + 0.5) / k
    px, py = np.meshgrid(coords, coords)
    if spec.kind == "circle":
        mask = (px - spec.cx) ** 2 + (py - spec.cy) ** 2 <= spec.radius**2
    else:
        mask = np.zeros(px.shape, dtype=bool)
        for poly in shape_polygons(spec.kind, spec.radius, spec.angle):
            mask |= _inside(poly + [spec.cx, spec.cy], px, py)
    return mask.reshape(size, k, size, k).mean(axis=(1, 3)).astype(np.float32)


def random_spec(kind: str, size: int, channels: int, rng: np.random.Generator) -> ShapeSpec:
    radius = rng.uniform(0.22, 0.4) * size
    margin = radius * 0.9
    color = (
        (float(rng.uniform(0.6, 1.0)),)
        if channels == 1
        else tuple(float(v) for v in _bright_color(rng))
    )
    return ShapeSpec(
        kind=kind,
        cx=float(rng.uniform(margin, size - margin)),
        cy=float(rng.uniform(margin, size - margin)),
        radius=float(radius),
        angle=float(rng.uniform(0, 2 * np.pi)),
        color=color,
    )


def _bright_color(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour whose brightest channel is at least 0.7."""
    c = rng.uniform(0.0, 1.0, 3)
    c[rng.integers(3)] = rng.uniform(0.7, 1.0)
    return c


def _clutter(size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` short faint strokes: distractors with edges but no shape."""
    layer = np.zeros((size, size), dtype=np.float32)
    for _ in range(count):
        spec = ShapeSpec(
            "line",
            float(rng.uniform(0, size)),
            float(rng.uniform(0, size)),
            float(rng.uniform(0.05, 0.15) * size),
            float(rng.uniform(0, 2 * np.pi)),
            (0.0,),
        )
        layer = np.maximum(layer, draw_shape(spec, size, supersample=1) * rng.uniform(0.25, 0.5))
    return layer


def generate_shapes(
    n: int,
    size: int = 32,
    channels: int = 1,
    noise: float = 0.1,
    clutter: int = 0,
    seed: int = 0,
    kinds: tuple[str, ...] = SHAPES,
) -> tuple[np.ndarray, np.ndarray, list[ShapeSpec]]:
    """`n` images (n, channels, size, size) float32 in [0, 1], labels, and each one's spec.

    Classes are balanced (index into `kinds`). The background is dark with Gaussian pixel noise
    of standard deviation `noise` * 0.5 and `clutter` faint strokes.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(kinds)
    rng.shuffle(labels)
    images = np.empty((n, channels, size, size), dtype=np.float32)
    specs = []
    for i, label in enumerate(labels):
        spec = random_spec(kinds[label], size, channels, rng)
        specs.append(spec)
        cover = draw_shape(spec, size)
        background = rng.uniform(0.0, 0.15)
        base = np.full((size, size), background, dtype=np.float32)
        if clutter:
            base = np.maximum(base, _clutter(size, clutter, rng))
        for ch in range(channels):
            images[i, ch] = base * (1 - cover) + spec.color[ch] * cover
    if noise > 0:
        images += rng.normal(0.0, noise * 0.5, images.shape).astype(np.float32)
    np.clip(images, 0.0, 1.0, out=images)
    return images, labels.astype(np.int64), specs
