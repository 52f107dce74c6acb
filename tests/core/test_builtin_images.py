import numpy as np
import pytest

from dlviz.data.builtin_images import (
    DIGITS_COUNT,
    SHAPES,
    ShapeSpec,
    draw_shape,
    generate_shapes,
    load_digits,
    shape_polygons,
    upscale,
)

SIZE = 64


def area(kind, r=20.0, angle=0.3):
    return draw_shape(ShapeSpec(kind, 32.0, 32.0, r, angle, (1.0,)), SIZE, supersample=4).sum()


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("circle", np.pi * 20**2),
        ("square", 2 * 20**2),  # corners on the circumcircle: side r * sqrt(2)
        ("triangle", 3 * np.sqrt(3) / 4 * 20**2),  # equilateral, circumradius r
        ("star", 5 * 20 * 8 * np.sin(np.pi / 5)),  # 10 triangles of sides r and 0.4 r, angle pi/5
        ("line", 2 * 20 * 2 * 0.12 * 20),  # a bar 2r long, 0.24 r wide
        ("cross", 2 * (2 * 20 * 0.24 * 20) - (0.24 * 20) ** 2),  # two bars, centre counted once
    ],
)
def test_each_shape_covers_its_geometric_area(kind, expected):
    assert abs(area(kind) - expected) / expected < 0.03


def test_shapes_are_rotated_and_placed_where_their_spec_says():
    # A line at angle 0 lies along x; at pi/2 along y.
    flat = draw_shape(ShapeSpec("line", 32, 32, 20, 0.0, (1.0,)), SIZE)
    upright = draw_shape(ShapeSpec("line", 32, 32, 20, np.pi / 2, (1.0,)), SIZE)
    assert flat.sum(axis=0).astype(bool).sum() > 3 * flat.sum(axis=1).astype(bool).sum()
    assert upright.sum(axis=1).astype(bool).sum() > 3 * upright.sum(axis=0).astype(bool).sum()
    # The centre of mass is the spec's centre (x = column, y = row).
    img = draw_shape(ShapeSpec("square", 20.0, 40.0, 10, 0.7, (1.0,)), SIZE)
    rows, cols = np.indices(img.shape) + 0.5
    assert abs((img * cols).sum() / img.sum() - 20.0) < 0.2
    assert abs((img * rows).sum() / img.sum() - 40.0) < 0.2


def test_a_star_has_five_points_and_a_triangle_three():
    def corners(kind):
        (poly,) = shape_polygons(kind, 10.0, 0.0)
        return int((np.hypot(poly[:, 0], poly[:, 1]) > 9.99).sum())

    assert corners("star") == 5 and corners("triangle") == 3 and corners("square") == 4


def test_generated_shapes_are_balanced_labelled_and_drawn_from_their_specs():
    x, y, specs = generate_shapes(120, size=32, channels=3, noise=0.0, clutter=0, seed=1)
    assert x.shape == (120, 3, 32, 32) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    assert np.bincount(y).tolist() == [20] * 6
    for img, label, spec in zip(x[:12], y[:12], specs[:12]):
        assert spec.kind == SHAPES[label]
        cover = draw_shape(spec, 32)
        inside = cover == 1.0
        # fully covered pixels carry exactly the shape's colour in every channel
        for ch in range(3):
            np.testing.assert_allclose(img[ch][inside], spec.color[ch], atol=1e-6)
        assert inside.sum() > 10  # at least a few solid pixels


def test_noise_and_clutter_change_the_background_only_as_asked():
    clean, _, _ = generate_shapes(30, size=32, noise=0.0, clutter=0, seed=2)
    noisy, _, _ = generate_shapes(30, size=32, noise=0.4, clutter=0, seed=2)
    cluttered, _, _ = generate_shapes(30, size=32, noise=0.0, clutter=5, seed=2)
    assert np.abs(noisy - clean).mean() > 0.05
    assert (cluttered > clean + 0.1).any()  # strokes appear on the background


def test_shapes_are_reproducible_from_the_seed():
    a = generate_shapes(20, seed=5)[0]
    b = generate_shapes(20, seed=5)[0]
    c = generate_shapes(20, seed=6)[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_digits_are_the_real_1797_images():
    x, y = load_digits()
    assert x.shape == (DIGITS_COUNT, 1, 8, 8) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert x.min() == 0.0 and x.max() == 1.0
    # the first image is a 0: a ring, dark in the middle
    first = x[0, 0]
    assert y[0] == 0 and first[3:5, 3:5].mean() < 0.2 and first[1:7, 1:7].mean() > 0.3


def test_upscale_keeps_range_and_content():
    x, _ = load_digits()
    big = upscale(x[:5], 32)
    assert big.shape == (5, 1, 32, 32) and big.min() >= 0 and big.max() <= 1
    np.testing.assert_allclose(big.mean(axis=(2, 3)), x[:5].mean(axis=(2, 3)), atol=0.03)
