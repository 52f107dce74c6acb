"""The generative metrics on hand-made sample sets, against shares and sums worked out here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlviz import generative_metrics as gm
from dlviz.data import gen2d

STD = 0.05


def centres(name: str) -> np.ndarray:
    found = gen2d.modes(name)
    assert found is not None
    return found[0]


def near(centre: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform in the disc of radius STD around `centre` (all within 3 std)."""
    r = STD * np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * np.pi, n)
    return centre + np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_all_samples_on_one_mode(name):
    c = centres(name)
    x = near(c[3], 1000, np.random.default_rng(0))
    np.testing.assert_array_equal(gm.assign(x, c, STD), np.full(1000, 3))
    assert gm.modes_covered(x, c, STD) == 1
    assert gm.high_quality(x, c, STD) == 1.0


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_samples_spread_evenly_cover_every_mode(name):
    c = centres(name)
    rng = np.random.default_rng(1)
    x = np.concatenate([near(ci, 40, rng) for ci in c])
    assert gm.modes_covered(x, c, STD) == len(c)
    assert gm.high_quality(x, c, STD) == 1.0


def test_far_and_broken_samples_are_not_high_quality():
    c = centres("ring")
    x = np.array([[2.0, 0.0], [2.0 + 3 * STD - 1e-6, 0.0], [2.0 + 3 * STD + 1e-6, 0.0]])
    x = np.concatenate([x, [[np.nan, 0.0], [np.inf, np.inf]]])
    np.testing.assert_array_equal(gm.assign(x, c, STD), [0, 0, -1, -1, -1])
    assert gm.high_quality(x, c, STD) == pytest.approx(2 / 5)


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_uniform_noise_is_rarely_high_quality(name):
    c = centres(name)
    k = len(c)
    x = np.random.default_rng(2).uniform(-2.5, 2.5, size=(100_000, 2))
    per_mode = math.pi * (3 * STD) ** 2 / 25.0  # a 3-std disc's share of the 5 x 5 square
    assert gm.high_quality(x, c, STD) == pytest.approx(k * per_mode, abs=0.004)
    # each mode holds ~0.28 % of the samples: under the default 0.25 / K, over 0.1 %
    assert gm.modes_covered(x, c, STD) == 0
    assert gm.modes_covered(x, c, STD, min_share=0.001) == k


def test_a_mode_needs_its_share_of_all_samples():
    c = centres("ring")
    rng = np.random.default_rng(3)
    # 1000 samples: the default bar is 0.25 / 8 * 1000 = 31.25 samples
    x = np.concatenate([near(c[0], 900, rng), near(c[1], 32, rng), near(c[2], 31, rng)])
    x = np.concatenate([x, rng.uniform(-0.5, 0.5, size=(37, 2))])  # off every mode
    assert gm.modes_covered(x, c, STD) == 2
    assert gm.modes_covered(x, c, STD, min_share=0.031) == 3


def test_grid_js_identical_and_disjoint():
    x = np.random.default_rng(4).normal(size=(500, 2))
    assert gm.grid_js(x, x) == 0.0
    a = np.full((10, 2), -2.0)
    b = np.full((7, 2), 2.0)
    assert gm.grid_js(a, b) == pytest.approx(1.0)


def test_grid_js_on_two_by_two_bins():
    # bins=2 over [-1, 1]^2: the four quadrants
    real = np.array([[-0.5, -0.5]] * 3 + [[0.5, 0.5]])  # p = (3/4, 1/4) on two quadrants
    fake = np.array([[-0.5, -0.5]] + [[0.5, 0.5]] * 3)  # q = (1/4, 3/4)
    kl = 0.75 * math.log2(0.75 / 0.5) + 0.25 * math.log2(0.25 / 0.5)  # KL(p || m), m = 1/2 each
    assert gm.grid_js(real, fake, bins=2, extent=1.0) == pytest.approx(kl)
    # a bin empty in one set only: p = (1/2, 1/2, 0), q = (0, 1/2, 1/2), m = (1/4, 1/2, 1/4)
    real = np.array([[-0.5, -0.5], [0.5, -0.5]])
    fake = np.array([[0.5, -0.5], [0.5, 0.5]])
    assert gm.grid_js(real, fake, bins=2, extent=1.0) == pytest.approx(0.5)
    # points beyond the square count in its edge bins
    far = np.array([[-7.0, -9.0], [30.0, -1.5]])
    assert gm.grid_js(real, far, bins=2, extent=1.0) == 0.0


def test_mmd_of_one_distribution_is_near_zero_and_of_shifted_sets_positive():
    a, _ = gen2d.generate("ring", 3000, seed=0)
    b, _ = gen2d.generate("ring", 3000, seed=1)
    assert abs(gm.mmd_rbf(a, b)) < 0.01
    assert gm.mmd_rbf(a, b + np.float32(0.5)) > 0.1
    assert gm.mmd_rbf(a, a[:1000]) < 0.01


def test_mmd_matches_the_formula_on_three_points():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    bws = (0.5, 1.0)

    def k(u, v):
        return sum(math.exp(-(math.dist(u, v) ** 2) / (2 * b * b)) for b in bws)

    kxx = sum(k(x[i], x[j]) for i in range(3) for j in range(3) if i != j) / 6
    kyy = sum(k(y[i], y[j]) for i in range(3) for j in range(3) if i != j) / 6
    kxy = sum(k(x[i], y[j]) for i in range(3) for j in range(3)) / 9
    assert gm.mmd_rbf(x, y, bandwidths=bws) == pytest.approx(kxx + kyy - 2 * kxy, rel=1e-9)


def test_mmd_cuts_big_sets_to_evenly_spaced_points():
    a, _ = gen2d.generate("grid", 5000, seed=0)
    b, _ = gen2d.generate("grid", 500, seed=1)
    every = a[np.linspace(0, 4999, 2000).round().astype(int)]
    assert gm.mmd_rbf(a, b) == pytest.approx(gm.mmd_rbf(every, b), rel=1e-12)
    assert math.isnan(gm.mmd_rbf(a, np.array([[0.0, 0.0], [np.nan, 0.0]])))


def test_summary_keys():
    real, _ = gen2d.generate("grid", 2000, seed=0)
    fake, _ = gen2d.generate("grid", 2000, seed=1)
    out = gm.summary(fake, real, gen2d.modes("grid"))
    assert set(out) == {"divergence", "mmd", "modes_covered", "n_modes", "high_quality"}
    assert out["n_modes"] == 25 and out["modes_covered"] == 25
    assert out["high_quality"] > 0.97 and out["divergence"] < 0.2
    moons, _ = gen2d.generate("moons", 500, seed=0)
    assert set(gm.summary(moons, moons, gen2d.modes("moons"))) == {"divergence", "mmd"}
    assert set(gm.summary(moons, moons, None, mmd=False)) == {"divergence"}


CALM_D = [1.38, 1.2, 1.3, 1.25, 1.31]
CALM_G = [0.7, 0.9, 0.8, 0.75, 0.82]


def test_collapsed_names_a_drop_that_holds_while_the_losses_are_calm():
    rise = [2, 5, 8, 8, 8, 8, 8, 8, 8, 8]
    msg = gm.collapsed([*rise, 5, 4, 5], 8, CALM_D, CALM_G)
    assert msg is not None and "8 of 8 modes at best" in msg and "at most 5 in each" in msg
    assert gm.collapsed([*rise[:7], 1, 2, 2], 8, CALM_D, CALM_G) is not None  # to 2 from more
    assert gm.collapsed([*rise, 5, 5], 8, CALM_D, CALM_G) is None  # not held 3 epochs yet
    assert gm.collapsed([*rise, 5, 7, 5], 8, CALM_D, CALM_G) is None  # back within noise once
    assert gm.collapsed([*rise, 8, 8, 8], 8, CALM_D, CALM_G) is None
    assert gm.collapsed([*rise, 7, 7, 7], 8, CALM_D, CALM_G) is None  # within noise
    assert gm.collapsed([8], 8, CALM_D, CALM_G) is None
    # early in a run coverage jumps about while the generator finds the modes: not a collapse
    assert gm.collapsed([3, 6, 8, 4, 3, 3], 8, CALM_D, CALM_G) is None


def test_the_advice_names_only_what_the_run_is_not_doing():
    falling = [8] * 10 + [3, 3, 3]
    default = gm.collapsed(falling, 8, CALM_D, CALM_G, loss="nonsaturating", d_steps=1)
    assert default is not None
    assert "Try the WGAN-GP loss, two discriminator steps per generator step" in default
    assert "non-saturating" not in default
    wgan = gm.collapsed(falling, 8, CALM_D, CALM_G, loss="wgan_gp", d_steps=5)
    assert wgan is not None
    assert (
        "Try the non-saturating loss, fewer discriminator steps per generator step (now 5)" in wgan
    )
    minimax = gm.collapsed(falling, 8, CALM_D, CALM_G, loss="minimax", d_steps=5)
    assert minimax is not None and "non-saturating or WGAN-GP loss" in minimax


def test_collapsed_leaves_diverging_losses_to_the_loop():
    falling = [8] * 10 + [3, 3, 3]
    assert gm.collapsed(falling, 8, CALM_D, CALM_G) is not None
    assert gm.collapsed(falling, 8, [*CALM_D, float("nan")], CALM_G) is None
    assert gm.collapsed(falling, 8, CALM_D, [*CALM_G, 500.0]) is None


def test_a_generator_stuck_on_a_few_modes_with_calm_losses_is_called_collapsed():
    calm_d, calm_g = [0.6] * 40, [-0.2] * 40
    stuck = [0] * 10 + [1] * 10 + [2] * 20  # never more than 2 of 8, the last 15 epochs too
    text = gm.collapsed(stuck, 8, calm_d, calm_g)
    assert text is not None and "at most 2 of 8 modes" in text
    assert gm.collapsed([0] * 10 + [8] * 30, 8, calm_d, calm_g) is None  # covers them all
    assert gm.collapsed(stuck[:20], 8, calm_d[:20], calm_g[:20]) is None  # too early to say
    assert gm.collapsed(stuck, 8, [float("nan")] * 40, calm_g) is None  # diverged: not this
