"""2-D toy datasets, after TensorFlow Playground: each generator is ``(n, noise, rng) -> (X, y)``.

Points live in the square [-1, 1]^2 (before noise). `noise` in [0, 1] is the standard deviation
of Gaussian jitter added to every point, in units of half that square (noise 0.1 -> std 0.05).
Every dataset has two balanced classes, 0 and 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]

EXTENT = 1.25  # half-width of the square drawn around the data (boundary heatmaps, neuron maps)
_NOISE_SCALE = 0.5
_GENERATORS: dict[str, Generator] = {}


def register(name: str) -> Callable[[Generator], Generator]:
    def deco(fn: Generator) -> Generator:
        _GENERATORS[name] = fn
        return fn

    return deco


def names() -> tuple[str, ...]:
    return tuple(_GENERATORS)


def _split_counts(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def _jitter(x: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(0.0, noise * _NOISE_SCALE, size=x.shape)


@register("circle")
def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 inside radius 0.5, class 0 on a ring from 0.7 to 1.0."""
    n_in, n_out = _split_counts(n)
    r = np.concatenate([rng.uniform(0.0, 0.5, n_in), rng.uniform(0.7, 1.0, n_out)])
    t = rng.uniform(0.0, 2 * np.pi, n)
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    y = np.concatenate([np.ones(n_in), np.zeros(n_out)])
    return _jitter(x, noise, rng), y


@register("xor")
def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four quadrants; class 1 where x1 * x2 > 0. Points keep a small gap from the axes."""
    pad = 0.05
    n1, n0 = _split_counts(n)
    mag = rng.uniform(pad, 1.0, size=(n, 2))
    # Class 1: signs (+,+) or (-,-); class 0: (+,-) or (-,+).
    s1 = rng.choice([-1.0, 1.0], size=n1)
    s0 = rng.choice([-1.0, 1.0], size=n0)
    signs = np.concatenate([np.stack([s1, s1], 1), np.stack([s0, -s0], 1)])
    x = mag * signs
    y = np.concatenate([np.ones(n1), np.zeros(n0)])
    return _jitter(x, noise, rng), y


@register("gauss")
def gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs centred at (0.45, 0.45) (class 1) and (-0.45, -0.45) (class 0)."""
    n1, n0 = _split_counts(n)
    centres = np.concatenate([np.full((n1, 2), 0.45), np.full((n0, 2), -0.45)])
    x = centres + rng.normal(0.0, 0.18, size=(n, 2))
    y = np.concatenate([np.ones(n1), np.zeros(n0)])
    return _jitter(x, noise, rng), y


@register("spiral")
def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spiral arms of 1.75 turns each, the second rotated by half a turn."""
    n1, n0 = _split_counts(n)
    xs, ys = [], []
    for label, count, phase in ((1, n1, 0.0), (0, n0, np.pi)):
        i = np.arange(count)
        r = i / max(count, 1)
        t = 1.75 * i / max(count, 1) * 2 * np.pi + phase
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(count, label))
    return _jitter(np.concatenate(xs), noise, rng), np.concatenate(ys).astype(float)


@register("moons")
def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (class 0 on top), scaled into [-1, 1]."""
    n0, n1 = _split_counts(n)
    t0 = rng.uniform(0.0, np.pi, n0)
    t1 = rng.uniform(0.0, np.pi, n1)
    top = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    bottom = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    # Raw moons span x in [-1, 2], y in [-0.5, 1]; centre and scale to about [-1, 1].
    x = (np.concatenate([top, bottom]) - np.array([0.5, 0.25])) / 1.5
    y = np.concatenate([np.zeros(n0), np.ones(n1)])
    return _jitter(x, noise, rng), y


def generate(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points `X` (n, 2) float32 and labels `y` (n,) int64, shuffled, reproducible from `seed`."""
    if name not in _GENERATORS:
        raise KeyError(f"unknown 2-D dataset {name!r}; choose one of {', '.join(names())}")
    rng = np.random.default_rng(seed)
    x, y = _GENERATORS[name](n, noise, rng)
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order].astype(np.int64)
