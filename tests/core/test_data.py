import numpy as np
import pytest

from dlviz.config import TOY_DATASETS, DataConfig
from dlviz.data import load_dataset, split, toy2d


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_generators_give_balanced_reproducible_2d_points(name):
    x, y = toy2d.generate(name, 501, 0.1, seed=3)
    assert x.shape == (501, 2) and x.dtype == np.float32
    assert y.shape == (501,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert abs(int((y == 1).sum()) - int((y == 0).sum())) <= 1
    x2, y2 = toy2d.generate(name, 501, 0.1, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = toy2d.generate(name, 501, 0.1, seed=4)
    assert not np.array_equal(x, x3)
    assert np.abs(x).max() < 2.5  # stays near the plotted square


def test_circle_geometry_without_noise():
    x, y = toy2d.generate("circle", 2000, 0.0, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r[y == 1].max() <= 0.5 + 1e-6
    assert r[y == 0].min() >= 0.7 - 1e-6 and r[y == 0].max() <= 1.0 + 1e-6


def test_xor_labels_are_the_sign_of_the_product_without_noise():
    x, y = toy2d.generate("xor", 2000, 0.0, seed=0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.int64))
    assert np.abs(x).min() >= 0.05 - 1e-6  # the gap from the axes
    quadrants = {(bool(a > 0), bool(b > 0)) for a, b in x}
    assert len(quadrants) == 4


def test_gauss_blobs_sit_on_their_centres():
    x, y = toy2d.generate("gauss", 4000, 0.0, seed=0)
    np.testing.assert_allclose(x[y == 1].mean(0), [0.45, 0.45], atol=0.02)
    np.testing.assert_allclose(x[y == 0].mean(0), [-0.45, -0.45], atol=0.02)
    np.testing.assert_allclose(x[y == 1].std(0), [0.18, 0.18], atol=0.02)


def test_spiral_arms_are_interleaved_and_half_a_turn_apart():
    x, y = toy2d.generate("spiral", 1000, 0.0, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() < 1.0 and r.min() >= 0.0
    # Every class-1 point rotated by half a turn is a class-0 point (same radius, pi apart).
    a = x[y == 1]
    b = x[y == 0]
    d = np.linalg.norm((-a)[:, None, :] - b[None, :, :], axis=2).min(axis=1)
    assert d.max() < 1e-5
    # The arms wind: angle (unwrapped along increasing radius) grows by 1.75 turns.
    order = np.argsort(r[y == 1])
    theta = np.unwrap(np.arctan2(a[order, 0], a[order, 1]))
    assert abs(abs(theta[-1] - theta[0]) - 1.75 * 2 * np.pi) < 0.1


def test_moons_lie_on_two_half_circles_without_noise():
    x, y = toy2d.generate("moons", 1000, 0.0, seed=0)
    raw = x * 1.5 + np.array([0.5, 0.25])  # undo the scaling
    top, bottom = raw[y == 0], raw[y == 1]
    np.testing.assert_allclose(np.hypot(top[:, 0], top[:, 1]), 1.0, atol=1e-5)
    assert (top[:, 1] >= -1e-6).all()
    np.testing.assert_allclose(np.hypot(bottom[:, 0] - 1.0, bottom[:, 1] - 0.5), 1.0, atol=1e-5)
    assert (bottom[:, 1] <= 0.5 + 1e-6).all()


def test_noise_is_gaussian_with_the_documented_scale():
    clean, _ = toy2d.generate("xor", 20000, 0.0, seed=1)
    noisy, _ = toy2d.generate("xor", 20000, 0.2, seed=1)
    # Same seed: the clean points are drawn first, then the jitter (std = noise * 0.5).
    # Different draws per call order, so compare spreads rather than points.
    assert np.std(noisy) > np.std(clean)
    rng = np.random.default_rng(0)
    jitter = toy2d._jitter(np.zeros((20000, 2)), 0.2, rng)
    assert abs(jitter.std() - 0.1) < 0.003


def test_stratified_split_is_disjoint_complete_and_keeps_class_shares():
    x = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.array([0] * 60 + [1] * 40)
    xtr, ytr, xte, yte = split(x, y, 0.25, seed=0)
    assert len(xte) == 25 and len(xtr) == 75
    assert (yte == 0).sum() == 15 and (yte == 1).sum() == 10
    ids = sorted(np.concatenate([xtr[:, 0], xte[:, 0]]).tolist())
    assert ids == x[:, 0].tolist()


def test_load_dataset_returns_tensors_and_metadata():
    ds = load_dataset(
        DataConfig(name="moons", n_samples=400, noise=0.1, test_fraction=0.25, seed=2)
    )
    assert ds.kind == "points2d" and ds.n_classes == 2 and ds.input_shape == (2,)
    assert len(ds.x_train) == 300 and len(ds.x_test) == 100 and len(ds) == 400
    assert ds.x_train.dtype.is_floating_point and not ds.y_train.dtype.is_floating_point
    again = load_dataset(
        DataConfig(name="moons", n_samples=400, noise=0.1, test_fraction=0.25, seed=2)
    )
    assert (again.x_test == ds.x_test).all()


def test_unknown_generator_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown 2-D dataset 'swirl'; choose one of circle"):
        toy2d.generate("swirl", 10, 0.0, 0)


def test_image_datasets_load_as_nchw_tensors():
    digits = load_dataset(DataConfig(name="digits", n_samples=500, noise=0.0, image_size=16))
    assert digits.kind == "image" and digits.input_shape == (1, 16, 16)
    assert len(digits) == 500 and digits.n_classes == 10
    assert digits.class_names[3] == "3"
    counts = np.bincount(digits.y_train.numpy(), minlength=10)
    assert counts.min() >= 30  # the subset is stratified
    shapes = load_dataset(DataConfig(name="shapes", n_samples=120, channels=3, clutter=1))
    assert shapes.input_shape == (3, 32, 32) and shapes.n_classes == 6
    assert shapes.class_names == ("circle", "square", "triangle", "star", "cross", "line")
    assert float(shapes.x_train.min()) >= 0 and float(shapes.x_train.max()) <= 1
    full = load_dataset(DataConfig(name="digits", n_samples=1797, noise=0.0))
    assert len(full) == 1797 and full.input_shape == (1, 8, 8)
