"""The Generative lab's 2-D sets, checked against centres, spreads and curves written out here."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dlviz.data import gen2d, toy2d

RING = np.array([[2 * math.cos(math.pi * i / 4), 2 * math.sin(math.pi * i / 4)] for i in range(8)])
GRID = np.array(list(itertools.product([-2.0, -1.0, 0.0, 1.0, 2.0], repeat=2)))


def nearest(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return np.array([int(np.argmin([math.dist(p, c) for c in centres])) for p in x])


@pytest.mark.parametrize("name", gen2d.GEN2D_DATASETS)
def test_every_set_is_typed_reproducible_and_near_the_square(name):
    x, m = gen2d.generate(name, 1001, seed=5, noise=0.1)
    assert x.shape == (1001, 2) and x.dtype == np.float32
    assert m.shape == (1001,) and m.dtype == np.int64
    x2, m2 = gen2d.generate(name, 1001, seed=5, noise=0.1)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(m, m2)
    assert not np.array_equal(x, gen2d.generate(name, 1001, seed=6, noise=0.1)[0])
    assert np.abs(x).max() < 2.5
    assert np.abs(x).max() > 1.5  # fills about [-2, 2] (moons keep their 2:1 shape)
    if gen2d.modes(name) is None:
        assert (m == -1).all()


@pytest.mark.parametrize(("name", "centres"), [("ring", RING), ("grid", GRID)])
def test_mixtures_sit_on_their_centres_in_equal_shares(name, centres):
    k = len(centres)
    x, m = gen2d.generate(name, 200 * k, seed=0)
    got = nearest(x, centres)
    np.testing.assert_array_equal(got, m)  # each point's label is the centre it is nearest to
    np.testing.assert_array_equal(np.bincount(got, minlength=k), np.full(k, 200))
    residual = x - centres[got]
    np.testing.assert_allclose(residual.mean(0), 0.0, atol=0.01)
    np.testing.assert_allclose(residual.std(0), 0.05, rtol=0.08)
    found, std = gen2d.modes(name)
    np.testing.assert_allclose(found, centres, atol=1e-6)
    assert std == 0.05


def test_noise_widens_the_modes_as_documented():
    x, m = gen2d.generate("ring", 8000, seed=1, noise=0.5)
    spread = (x - RING[m]).std(0)
    expected = math.sqrt(0.05**2 + 0.05**2)  # 0.05 plus jitter 0.1 * 0.5
    np.testing.assert_allclose(spread, expected, rtol=0.05)
    assert gen2d.modes("ring", noise=0.5)[1] == pytest.approx(expected)


@pytest.mark.parametrize("name", ["moons", "spiral"])
def test_moons_and_spiral_are_toy2d_doubled(name):
    x, _ = gen2d.generate(name, 500, seed=2, noise=0.2)
    ref, _ = toy2d.generate(name, 500, 0.2, 2)
    np.testing.assert_allclose(x, 2 * ref, rtol=1e-6)


def test_swiss_lies_on_the_roll():
    x, _ = gen2d.generate("swiss", 2000, seed=0)
    xz = x.astype(np.float64) * 2 * math.pi + math.pi / 2  # undo the scaling
    t = np.hypot(xz[:, 0], xz[:, 1])  # |(t cos t, t sin t)| = t
    assert t.min() >= 1.5 * math.pi - 1e-3 and t.max() <= 4.5 * math.pi + 1e-3
    np.testing.assert_allclose(xz[:, 0], t * np.cos(t), atol=1e-3)
    np.testing.assert_allclose(xz[:, 1], t * np.sin(t), atol=1e-3)
    assert np.abs(x).max(axis=0) == pytest.approx([1.75, 2.0], abs=0.05)


def test_an_unknown_name_says_which_names_exist():
    with pytest.raises(ValueError, match="'rings'.*ring, grid, moons, spiral, swiss"):
        gen2d.generate("rings", 10, seed=0)
    with pytest.raises(ValueError, match="'circle'"):
        gen2d.modes("circle")
    assert gen2d.modes("swiss") is None
