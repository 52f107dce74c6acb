"""A layer's activations seen in two dimensions, as a run trains: PCA aligned from one snapshot
to the next (orthogonal Procrustes, so the picture turns no more than the network does), a
seeded t-SNE on demand, and a point's nearest neighbours in the layer's own space.

Everything here is numpy or torch on the CPU, deterministic for its seed; the pages draw what
it returns (`dlviz.ui.projector`).

References: Schönemann (1966) for the orthogonal Procrustes problem; van der Maaten and Hinton
(2008) for t-SNE, whose exact form (every pair, a few hundred points) this is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

MAX_TSNE_POINTS = 2000  # exact t-SNE costs n^2 a step: beyond this, sample first


def _2d(x: np.ndarray) -> np.ndarray:
    """(n, ...) activations as (n, features) float64."""
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1)


@dataclass(frozen=True)
class Projection:
    """(n, 2) `coords`, and the share of the variance each axis explains (PCA; None for
    t-SNE, whose axes mean nothing)."""

    coords: np.ndarray
    explained: tuple[float, float] | None


def pca(x: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The first `k` principal components of `x` (n, d): the centred data projected on them
    (n, k), and the share of the total variance each explains (k,). Signs follow the SVD's
    (they are arbitrary: `align` fixes them from one snapshot to the next). Fewer features or
    points than `k` give zero columns."""
    x = _2d(x)
    centred = x - x.mean(axis=0)
    if centred.shape[1] == 0 or len(centred) < 2:
        return np.zeros((len(x), k)), np.zeros(k)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = float((s**2).sum())
    m = min(k, vt.shape[0])
    coords = np.zeros((len(x), k))
    coords[:, :m] = centred @ vt[:m].T
    share = np.zeros(k)
    if total > 0:
        share[:m] = s[:m] ** 2 / total
    return coords, share


def procrustes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The orthogonal matrix R (k, k) that brings `a` (n, k) closest to `b` (n, k): it
    minimises ||a R - b|| over rotations and reflections (Schönemann 1966: R = U V^T for
    a^T b = U S V^T)."""
    u, _, vt = np.linalg.svd(_2d(a).T @ _2d(b))
    return u @ vt


def align(coords: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """`coords` (n, 2) turned (and mirrored, if that fits better) to lie as close as they can
    to `previous` (the same points' coordinates a snapshot earlier); as they are if None."""
    if previous is None or len(previous) != len(coords):
        return coords
    return coords @ procrustes(coords, previous)


def aligned_pcas(
    snapshots: Sequence[np.ndarray], previous: np.ndarray | None = None
) -> list[Projection]:
    """Each snapshot's activations (the same n points in each, any feature count) by PCA,
    each aligned to the one before: a slider over training shows the classes move, not the
    axes flip. `previous`: the coordinates of the snapshot before the first (a live view
    adds the new snapshots to those it has: the same result as all of them at once)."""
    out: list[Projection] = []
    for acts in snapshots:
        coords, share = pca(acts)
        coords = align(coords, previous)
        previous = coords
        out.append(Projection(coords, (float(share[0]), float(share[1]))))
    return out


def neighbours(x: np.ndarray, index: int, k: int = 5) -> np.ndarray:
    """The indices of the `k` points nearest point `index` in `x` (n, d), nearest first,
    by Euclidean distance in the layer's own space (not the 2-D picture's); itself excluded."""
    x = _2d(x)
    d = ((x - x[index]) ** 2).sum(axis=1)
    d[index] = np.inf
    k = min(k, len(x) - 1)
    order = np.argsort(d, kind="stable")
    return order[:k]


# --- t-SNE -----------------------------------------------------------------------------------------


def _conditional_p(d2: torch.Tensor, perplexity: float, tol: float = 1e-5) -> torch.Tensor:
    """Row-wise P(j | i) from squared distances (n, n) (the diagonal ignored), each row's
    Gaussian width found by bisection so its perplexity 2^H is `perplexity`."""
    n = d2.shape[0]
    target = float(np.log(perplexity))  # entropy in nats
    beta = torch.ones(n, dtype=d2.dtype)  # 1 / (2 sigma^2)
    lo = torch.full((n,), 0.0, dtype=d2.dtype)
    hi = torch.full((n,), float("inf"), dtype=d2.dtype)
    eye = torch.eye(n, dtype=torch.bool)
    d2 = d2.masked_fill(eye, float("inf"))
    for _ in range(100):
        logits = -d2 * beta[:, None]
        logits = logits - logits.max(dim=1, keepdim=True).values
        p = torch.exp(logits)
        p = p / p.sum(dim=1, keepdim=True)
        entropy = -(p * torch.log(p.clamp_min(1e-300))).sum(dim=1)
        diff = entropy - target
        if diff.abs().max() < tol:
            break
        too_flat = diff > 0  # entropy too high: narrow the Gaussian (raise beta)
        lo = torch.where(too_flat, beta, lo)
        hi = torch.where(too_flat, hi, beta)
        beta = torch.where(torch.isinf(hi), beta * 2, (lo + hi) / 2)
    return p


def tsne(
    x: np.ndarray,
    seed: int = 0,
    perplexity: float = 30.0,
    iterations: int = 750,
    exaggeration: float = 12.0,
) -> np.ndarray:
    """An exact t-SNE of `x` (n, d) into 2-D, the same for the same seed and data (the start
    is the first two principal components scaled to a std of 1e-4, jittered from `seed`).

    Standard schedule (van der Maaten and Hinton 2008): P from Gaussians of the given
    perplexity (at most (n - 1) / 3), symmetrised; early exaggeration for the first 250
    iterations with momentum 0.5, then 0.8; learning rate max(n / exaggeration / 4, 50);
    gains as in the reference implementation. At most MAX_TSNE_POINTS points.
    """
    x = _2d(x)
    n = len(x)
    if n > MAX_TSNE_POINTS:
        raise ValueError(f"t-SNE takes at most {MAX_TSNE_POINTS} points here; got {n}")
    if n < 4:
        return pca(x)[0]
    g = torch.Generator().manual_seed(int(seed))
    xt = torch.from_numpy(x)
    xt = xt - xt.mean(dim=0)
    d2 = torch.cdist(xt, xt).pow(2)
    perplexity = min(perplexity, (n - 1) / 3)
    p = _conditional_p(d2, perplexity)
    p = (p + p.T) / (2 * n)
    p = p.clamp_min(1e-12)
    start = pca(x)[0]
    y = torch.from_numpy(start / (start[:, 0].std() + 1e-12) * 1e-4)
    y = y + 1e-6 * torch.randn(y.shape, generator=g, dtype=y.dtype)
    velocity = torch.zeros_like(y)
    gains = torch.ones_like(y)
    lr = max(n / exaggeration / 4, 50.0)
    eye = torch.eye(n, dtype=torch.bool)
    for it in range(iterations):
        early = it < 250
        pe = p * exaggeration if early else p
        num = 1.0 / (1.0 + torch.cdist(y, y).pow(2))
        num = num.masked_fill(eye, 0.0)
        q = (num / num.sum()).clamp_min(1e-12)
        w = (pe - q) * num  # (n, n)
        grad = 4.0 * (w.sum(dim=1, keepdim=True) * y - w @ y)
        momentum = 0.5 if early else 0.8
        same = torch.sign(grad) == torch.sign(velocity)
        gains = torch.where(same, gains * 0.8, gains + 0.2).clamp_min(0.01)
        velocity = momentum * velocity - lr * gains * grad
        y = y + velocity
        y = y - y.mean(dim=0)
    return y.numpy()


def kl_divergence(x: np.ndarray, y: np.ndarray, perplexity: float = 30.0) -> float:
    """t-SNE's cost KL(P || Q) of the 2-D `y` for the data `x`: how well the picture keeps
    each point's neighbourhood (lower is better)."""
    xt = torch.from_numpy(_2d(x))
    n = len(xt)
    p = _conditional_p(torch.cdist(xt, xt).pow(2), min(perplexity, (n - 1) / 3))
    p = ((p + p.T) / (2 * n)).clamp_min(1e-12)
    yt = torch.from_numpy(_2d(y))
    num = (1.0 / (1.0 + torch.cdist(yt, yt).pow(2))).masked_fill(torch.eye(n, dtype=torch.bool), 0)
    q = (num / num.sum()).clamp_min(1e-12)
    return float((p * torch.log(p / q)).sum())


def nearest_share(acts: np.ndarray, labels: np.ndarray, chunk: int = 32) -> float:
    """The share of items whose nearest other item (Euclidean, in `acts`' own space; a tie goes
    to the first) is of their class: how far a layer has sorted the classes, with no
    classifier fitted. Distances are summed from differences, `chunk` rows at a time (exact
    ties, such as identical inputs, stay ties; memory stays chunk x n x D)."""
    x = _2d(acts)
    labels = np.asarray(labels)
    nearest = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), chunk):
        d = ((x[start : start + chunk, None, :] - x[None, :, :]) ** 2).sum(axis=2)
        rows = np.arange(start, min(start + chunk, len(x)))
        d[rows - start, rows] = np.inf
        nearest[rows] = d.argmin(axis=1)
    return float((labels[nearest] == labels).mean())
