"""The projector's pieces against independent references: PCA against the covariance's
eigenvectors, Procrustes recovering a known rotation and reflection of a cloud, snapshots kept
aligned, neighbours by brute force, and t-SNE's perplexity calibration, determinism and
separation of well-apart clusters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dlviz import projector


def rotation(theta: float) -> np.ndarray:
    return np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])


def blobs(n_per: int = 40, k: int = 3, d: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, size=(k, d))
    x = np.concatenate([c + rng.normal(0, 1, size=(n_per, d)) for c in centres])
    y = np.repeat(np.arange(k), n_per)
    return x, y


def test_pca_matches_the_covariances_leading_eigenvectors():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)) @ np.diag([5.0, 3.0, 1.0, 0.5, 0.1])
    coords, share = projector.pca(x)
    cov = np.cov(x - x.mean(0), rowvar=False, bias=True)
    values, vectors = np.linalg.eigh(cov)
    top = vectors[:, ::-1][:, :2]
    expect = (x - x.mean(0)) @ top
    for j in range(2):  # each axis up to its sign
        assert np.allclose(np.abs(coords[:, j]), np.abs(expect[:, j]), atol=1e-8)
    np.testing.assert_allclose(share, values[::-1][:2] / values.sum(), rtol=1e-8)


def test_procrustes_recovers_a_rotation_and_a_reflection():
    rng = np.random.default_rng(2)
    b = rng.normal(size=(50, 2))
    for q in (rotation(0.7), rotation(2.0) @ np.diag([1.0, -1.0])):
        a = b @ q.T  # b turned (and mirrored) by q
        r = projector.procrustes(a, b)
        np.testing.assert_allclose(r @ r.T, np.eye(2), atol=1e-10)
        np.testing.assert_allclose(a @ r, b, atol=1e-10)
        np.testing.assert_allclose(projector.align(a, b), b, atol=1e-10)


def test_aligned_snapshots_do_not_flip():
    x, _ = blobs()
    # the same activations twice, the second with every feature negated: PCA's signs flip,
    # the alignment turns them back
    shots = projector.aligned_pcas([x, -x, x * 1.01])
    np.testing.assert_allclose(shots[1].coords, shots[0].coords, atol=1e-8)
    np.testing.assert_allclose(shots[2].coords, shots[0].coords * 1.01, atol=1e-6)
    assert 0 < shots[0].explained[1] <= shots[0].explained[0] <= 1


def test_neighbours_are_the_nearest_by_brute_force():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 4))
    for i in (0, 7, 29):
        dist = [(float(np.sum((x[j] - x[i]) ** 2)), j) for j in range(30) if j != i]
        assert list(projector.neighbours(x, i, k=4)) == [j for _, j in sorted(dist)[:4]]


def test_each_points_gaussian_has_the_asked_perplexity():
    rng = np.random.default_rng(4)
    x = torch.from_numpy(rng.normal(size=(60, 3)))
    p = projector._conditional_p(torch.cdist(x, x).pow(2), perplexity=10.0)
    assert torch.allclose(p.sum(dim=1), torch.ones(60, dtype=p.dtype))
    assert torch.all(p.diagonal() == 0)
    entropy = -(p * torch.log(p.clamp_min(1e-300))).sum(dim=1)  # nats
    np.testing.assert_allclose(torch.exp(entropy).numpy(), 10.0, rtol=1e-3)


def test_tsne_is_reproducible_and_keeps_clusters_apart():
    x, y = blobs(n_per=30)
    a = projector.tsne(x, seed=0, iterations=400)
    b = projector.tsne(x, seed=0, iterations=400)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (90, 2) and np.isfinite(a).all()
    # every point's nearest neighbour in the picture is of its own cluster
    d = ((a[:, None] - a[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (y[d.argmin(axis=1)] == y).mean() == 1.0
    # and the picture keeps neighbourhoods better than a random one
    rng = np.random.default_rng(0)
    assert projector.kl_divergence(x, a) < 0.5 * projector.kl_divergence(
        x, rng.normal(size=a.shape)
    )


def test_tsne_refuses_too_many_points():
    with pytest.raises(ValueError, match="at most"):
        projector.tsne(np.zeros((projector.MAX_TSNE_POINTS + 1, 2)))


def test_aligned_pcas_continued_from_the_last_equal_all_at_once():
    """A live view adds the new snapshots' projections to those it has: the same numbers as
    projecting every snapshot again."""
    rng = np.random.default_rng(3)
    shots = [rng.normal(size=(40, 6)) + k * rng.normal(size=6) for k in range(5)]
    whole = projector.aligned_pcas(shots)
    first = projector.aligned_pcas(shots[:3])
    rest = projector.aligned_pcas(shots[3:], first[-1].coords)
    for a, b in zip(whole, first + rest):
        np.testing.assert_array_equal(a.coords, b.coords)
        assert a.explained == b.explained
