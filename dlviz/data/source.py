"""The source task dlviz's own backbones are pretrained on: textured shapes.

24 classes = 6 outlines x 4 fillings, in RGB, at random position, size, rotation and colours, on
a noisy background. The outlines (pentagon, hexagon, diamond, arrow, ring, ellipse) are none of
the six `shapes` classes (circle, square, triangle, star, cross, line), so a backbone trained
here has never seen the target classes of the Transfer page. Telling 24 classes apart needs
colour and edge detectors, stripe and dot detectors, corners and whole outlines: general
features that carry over to other images.
"""

from __future__ import annotations

import numpy as np

from dlviz.data.builtin_images import _bright_color, _inside, _rot

OUTLINES = ("pentagon", "hexagon", "diamond", "arrow", "ring", "ellipse")
FILLINGS = ("solid", "stripes", "checks", "dots")
CLASSES = tuple(f"{o} {f}" for o in OUTLINES for f in FILLINGS)


def outline_mask(kind: str, cx: float, cy: float, r: float, angle: float, px, py) -> np.ndarray:
    """Which points (px, py) lie inside the outline `kind` of circumradius `r` centred on
    (cx, cy) and turned by `angle` radians."""
    x, y = px - cx, py - cy
    if kind in ("ring", "ellipse"):
        c, s = np.cos(angle), np.sin(angle)
        u, v = x * c + y * s, -x * s + y * c
        if kind == "ring":
            d2 = u**2 + v**2
            return (d2 <= r**2) & (d2 >= (0.55 * r) ** 2)
        return (u / r) ** 2 + (v / (0.5 * r)) ** 2 <= 1.0
    if kind in ("pentagon", "hexagon"):
        k = 5 if kind == "pentagon" else 6
        t = np.pi / 2 + np.arange(k) * 2 * np.pi / k
        poly = r * np.stack([np.cos(t), np.sin(t)], 1)
    elif kind == "diamond":
        poly = np.array([[0, r], [0.55 * r, 0], [0, -r], [-0.55 * r, 0]])
    elif kind == "arrow":
        w, h = 0.3 * r, 0.55 * r  # half width of the shaft, length of the head
        poly = np.array(
            [[-r, -w], [r - h, -w], [r - h, -2 * w], [r, 0], [r - h, 2 * w], [r - h, w], [-r, w]]
        )
    else:
        raise KeyError(f"unknown outline {kind!r}; choose one of {', '.join(OUTLINES)}")
    return _inside(_rot(poly, angle), x, y)


def filling(kind: str, px, py, period: float, angle: float) -> np.ndarray:
    """The pattern (1: first colour, 0: second) of a filling at the points (px, py)."""
    c, s = np.cos(angle), np.sin(angle)
    u, v = px * c + py * s, -px * s + py * c
    if kind == "solid":
        return np.ones(px.shape, dtype=np.float32)
    if kind == "stripes":
        return ((u / period) % 1.0 < 0.5).astype(np.float32)
    if kind == "checks":
        return ((np.floor(u / period) + np.floor(v / period)) % 2 == 0).astype(np.float32)
    if kind == "dots":
        du, dv = (u % period) - period / 2, (v % period) - period / 2
        return (du**2 + dv**2 <= (0.3 * period) ** 2).astype(np.float32)
    raise KeyError(f"unknown filling {kind!r}; choose one of {', '.join(FILLINGS)}")


def generate_source(
    n: int, size: int = 32, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """`n` RGB images (n, 3, size, size) float32 in [0, 1] and labels into `CLASSES`, balanced.

    Each image: a dark noisy background, one outline filled with its pattern in two colours (a
    bright one and a darker, different one), anti-aliased by 2x supersampling.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    k = 2  # supersampling
    coords = (np.arange(size * k) + 0.5) / k
    px, py = np.meshgrid(coords, coords)
    images = np.empty((n, 3, size, size), dtype=np.float32)
    for i, label in enumerate(labels):
        outline, fill = OUTLINES[label // len(FILLINGS)], FILLINGS[label % len(FILLINGS)]
        r = rng.uniform(0.28, 0.45) * size
        margin = 0.8 * r
        cx, cy = rng.uniform(margin, size - margin, 2)
        mask = outline_mask(outline, cx, cy, r, rng.uniform(0, 2 * np.pi), px, py)
        pattern = filling(fill, px, py, rng.uniform(0.12, 0.2) * size, rng.uniform(0, np.pi))
        cover = mask.reshape(size, k, size, k).mean(axis=(1, 3))
        first = (mask * pattern).reshape(size, k, size, k).mean(axis=(1, 3))
        a = _bright_color(rng)
        b = _bright_color(rng) * rng.uniform(0.15, 0.45)
        background = rng.uniform(0.0, 0.15)
        for ch in range(3):
            images[i, ch] = background * (1 - cover) + a[ch] * first + b[ch] * (cover - first)
    if noise > 0:
        images += rng.normal(0.0, noise * 0.5, images.shape).astype(np.float32)
    np.clip(images, 0.0, 1.0, out=images)
    return images, labels.astype(np.int64)
