"""A distribution a person draws (``data.name`` drawn): the canvas's cells, sampling in
proportion to the weights with the stated jitter, the points CSV read back and every bad file
named, the drawing saved by its content, and a run on it through the config, the engine and
the CLI (divergence reported, no modes to count)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlviz import admission
from dlviz.cli import main
from dlviz.config import ConfigError, RunConfig
from dlviz.data import gen2d, load_generative


@pytest.fixture(autouse=True)
def fresh_slots(monkeypatch):
    monkeypatch.setattr(admission, "BOARD", admission.Admission())


def test_the_canvas_is_41_by_41_cells_of_a_tenth_over_the_square():
    cells = gen2d.canvas()
    assert cells.shape == (41 * 41, 2)
    np.testing.assert_allclose(cells[0], [-2.0, -2.0])
    np.testing.assert_allclose(cells[1], [-1.9, -2.0], atol=1e-6)  # x varies fastest
    np.testing.assert_allclose(cells[41], [-2.0, -1.9], atol=1e-6)
    np.testing.assert_allclose(cells[-1], [2.0, 2.0])


def test_samples_follow_the_weights_with_the_stated_jitter():
    points = np.array([[-1.0, 0.0], [1.0, 0.0]])
    x = gen2d.draw_samples(points, 20_000, seed=3, weights=np.array([1.0, 3.0]))
    right = x[:, 0] > 0
    assert abs(right.mean() - 0.75) < 0.015  # 3 / (1 + 3)
    # around each point, Gaussian jitter of std DRAW_JITTER (0.05) on each axis
    np.testing.assert_allclose(x[right].std(axis=0), [0.05, 0.05], rtol=0.05)
    np.testing.assert_allclose(x[right].mean(axis=0), [1.0, 0.0], atol=0.005)
    # noise adds 0.1 * noise in quadrature, as ring and grid do
    noisy = gen2d.draw_samples(points[:1], 20_000, seed=3, noise=1.0)
    np.testing.assert_allclose(noisy.std(axis=0), [np.hypot(0.05, 0.1)] * 2, rtol=0.05)
    np.testing.assert_array_equal(x, gen2d.draw_samples(points, 20_000, 3, weights=[1.0, 3.0]))


def test_an_empty_drawing_or_bad_weights_are_refused():
    with pytest.raises(gen2d.PointsError, match="empty"):
        gen2d.draw_samples(np.zeros((0, 2)), 10, 0)
    with pytest.raises(gen2d.PointsError, match="non-negative"):
        gen2d.draw_samples(np.zeros((2, 2)), 10, 0, weights=np.array([1.0, -1.0]))


def test_a_points_csv_reads_back_what_was_written():
    points = np.array([[0.5, -1.25], [1.0, 2.0], [-2.0, 0.0]], dtype=np.float32)
    weights = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    got, w, note = gen2d.parse_points(gen2d.points_csv(points, weights))
    np.testing.assert_allclose(got, points)
    np.testing.assert_allclose(w, weights)
    assert note == ""
    got, w, _ = gen2d.parse_points(b"0.5;1\n1.5;-1\n")  # semicolons, no header, no weights
    np.testing.assert_allclose(got, [[0.5, 1], [1.5, -1]])
    np.testing.assert_allclose(w, [1, 1])


def test_points_far_outside_are_moved_and_scaled_to_fit_keeping_the_shape():
    # x from 10 to 30, y from 0 to 10: centre (20, 5), half the longer side 10 -> [-2, 2]
    got, _, note = gen2d.parse_points(b"x,y\n10,0\n30,0\n20,10\n")
    np.testing.assert_allclose(got, [[-2, -1], [2, -1], [0, 1]], atol=1e-6)
    assert "moved and scaled" in note


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "p.csv is empty"),
        (b"\xff\xfe\x00", "p.csv is not UTF-8"),
        (b"x,y\n", "p.csv has a header and no points"),
        (b"1,2,3,4\n", "p.csv has 4 columns; give x,y or x,y,weight"),
        (b"x,y\n1,2\n3,four\n", "p.csv, line 3: '3,four' is not numbers"),
        (b"1,2\n3\n", "p.csv, line 2: 1 value where the first line had 2"),
        (b"1,nan\n", "not a finite number"),
        (b"1,2,-1\n", "weights must be non-negative"),
        (b"1.000001,2.000001\n" * 300_000, "MB; points files are limited to 5 MB"),
    ],
)
def test_every_bad_points_file_is_named_with_what_is_wrong(raw, message):
    with pytest.raises(gen2d.PointsError, match=message.replace("(", r"\(")):
        gen2d.parse_points(raw, "p.csv")


def test_too_many_points_are_refused():
    raw = b"1,2\n" * (gen2d.MAX_POINTS + 1)
    with pytest.raises(gen2d.PointsError, match="200,000 are read"):
        gen2d.parse_points(raw, "p.csv")


def test_a_drawing_is_saved_once_under_a_name_given_by_its_content(tmp_path):
    points, weights = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([1.0, 2.0])
    a = gen2d.save_drawing(points, weights, folder=str(tmp_path))
    b = gen2d.save_drawing(points, weights, folder=str(tmp_path))
    c = gen2d.save_drawing(points, np.array([1.0, 1.0]), folder=str(tmp_path))
    assert a == b != c
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [a.rsplit("/", 1)[1], c.rsplit("/", 1)[1]]
    )


def test_drawn_needs_a_path_and_loads_the_points_it_names(tmp_path):
    with pytest.raises(ConfigError, match="data.path: drawn needs a path"):
        RunConfig.from_dict({"data": {"name": "drawn"}})
    path = gen2d.save_drawing(np.array([[1.0, 1.0], [-1.0, -1.0]]), np.ones(2), str(tmp_path))
    cfg = RunConfig.from_dict({"data": {"name": "drawn", "path": path, "n_samples": 1000}})
    assert cfg.model.arch == "gan"  # a distribution without labels: a generative model's data
    ds = load_generative(cfg.data)
    assert ds.generative and ds.modes is None and ds.kind == "points2d"
    x = np.concatenate([ds.x_train.numpy(), ds.x_test.numpy()])
    assert len(x) == 1000
    near = np.minimum(np.hypot(*(x - 1).T), np.hypot(*(x + 1).T))
    assert near.max() < 0.3  # every point within 6 std of one of the two drawn points
    missing = RunConfig.from_dict({"data": {"name": "drawn", "path": str(tmp_path / "no.csv")}})
    with pytest.raises(gen2d.PointsError, match="no.csv is not a file"):
        load_generative(missing.data)
    with pytest.raises(ConfigError, match="model.arch"):
        RunConfig.from_dict({"data": {"name": "drawn", "path": path}, "model": {"arch": "mlp"}})


def test_dlviz_train_on_a_drawing_reports_its_divergence_and_no_modes(tmp_path, capsys):
    ring = np.array([[2 * np.cos(a), 2 * np.sin(a)] for a in np.linspace(0, 2 * np.pi, 40)])
    path = gen2d.save_drawing(ring, np.ones(len(ring)), str(tmp_path))
    cfg = {
        "data": {"name": "drawn", "path": path, "n_samples": 600},
        "model": {"arch": "flow", "hidden": [32, 32]},
        "train": {"epochs": 2, "device": "cpu"},
    }
    (tmp_path / "run.json").write_text(json.dumps(cfg))
    argv = ["train", str(tmp_path / "run.json"), "--runs-dir", str(tmp_path / "s"), "--json"]
    assert main([*argv, "--quiet"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["final"]
    assert 0.0 <= final["divergence"] <= 1.0
    assert "loss" in final
    assert final.get("modes_covered") is None
