"""The Generative lab's figures: what each draws, checked in fig.data and fig.layout against the
snapshot and histories they were given."""

import numpy as np
import pytest
import torch

from dlviz.data import gen2d
from dlviz.figures.theme import RUN_COLORS, figure_bytes, themed
from dlviz.generative_probe import (
    ARROWS,
    HEAT,
    MESH,
    PATH_FRAMES,
    PATH_POINTS,
    GenerativeProbe,
    GenerativeSnapshot,
)
from dlviz.history import RunHistory
from dlviz.labs.generative.figures import (
    MAX_REAL,
    losses_figure,
    metrics_figure,
    paths_figure,
    plane_figure,
    race_figure,
    samples_grid_figure,
)
from dlviz.models.generative import GAN

EXTENT = 2.5


def gan_snapshot(kind="probability", seed=0):
    """A GAN's snapshot as the probe leaves one: every 2-D part, random."""
    rng = np.random.default_rng(seed)
    heat = rng.random((HEAT, HEAT), dtype=np.float32)
    if kind == "score":
        heat = heat * 6 - 4  # a critic's raw output: -4 .. 2
    starts = rng.normal(size=(ARROWS, 2)).astype(np.float32)
    return GenerativeSnapshot(
        step=50,
        epoch=2,
        samples=rng.normal(size=(512, 2)).astype(np.float32),
        extent=EXTENT,
        heat=heat,
        heat_kind=kind,
        mesh=rng.normal(size=(MESH, MESH, 2)).astype(np.float32),
        arrows=np.stack([starts, starts + 0.1], axis=1),
    )


def vae_snapshot():
    rng = np.random.default_rng(1)
    return GenerativeSnapshot(3, 1, rng.normal(size=(512, 2)).astype(np.float32), EXTENT)


def flow_snapshot():
    rng = np.random.default_rng(2)
    path = rng.normal(size=(PATH_FRAMES, PATH_POINTS, 2)).astype(np.float32)
    return GenerativeSnapshot(7, 1, path[-1].copy(), EXTENT, path=path)


def real_points(n=5000):
    return gen2d.generate("ring", n, seed=0)[0]


def trace(fig, name):
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


def pieces(t):
    """A NaN-separated line's pieces, each an (n, 2) array."""
    xy = np.stack([np.asarray(t.x, dtype=np.float64), np.asarray(t.y, dtype=np.float64)], 1)
    cuts = np.flatnonzero(np.isnan(xy[:, 0]))
    parts = [p[~np.isnan(p[:, 0])] for p in np.split(xy, cuts)]
    return [p for p in parts if len(p)]


def nans(values):
    return int(np.isnan(np.asarray(values, dtype=np.float64)).sum())


# --- the plane ------------------------------------------------------------------------------------


def test_plane_draws_the_heat_under_everything_with_the_snapshots_values():
    snap = gan_snapshot()
    fig = plane_figure(snap, real_points(), gen2d.modes("ring")[0])
    heat = fig.data[0]
    assert heat.type == "heatmap"
    np.testing.assert_array_equal(np.asarray(heat.z), snap.heat)
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)  # probability: 0.5 is the scale's middle
    assert heat.x[0] == heat.y[0] == -EXTENT and heat.x[-1] == heat.y[-1] == EXTENT
    assert len(heat.x) == HEAT
    # Its colours named in the legend, in the heat's group (a click hides the heatmap).
    keys = [t for t in fig.data if t.legendgroup == "heat" and t.type == "scatter"]
    assert [k.name for k in keys] == ["discriminator: real", "discriminator: fake"]


def test_a_critics_score_is_drawn_over_its_own_range():
    snap = gan_snapshot("score")
    heat = plane_figure(snap, real_points()).data[0]
    assert heat.zmin == pytest.approx(float(snap.heat.min()))
    assert heat.zmax == pytest.approx(float(snap.heat.max()))
    assert "critic: high (real)" in [t.name for t in plane_figure(snap, real_points()).data]


def test_the_mesh_is_each_row_and_column_of_the_latent_grid_as_one_trace():
    snap = gan_snapshot()
    mesh = trace(plane_figure(snap, real_points()), "latent grid, as generated")
    assert nans(mesh.x) == nans(mesh.y) == 2 * MESH  # one gap after each polyline
    lines = pieces(mesh)
    assert len(lines) == 2 * MESH
    for i in range(MESH):
        np.testing.assert_allclose(lines[i], snap.mesh[i])  # rows
        np.testing.assert_allclose(lines[MESH + i], snap.mesh[:, i])  # columns


def test_arrows_start_and_end_where_the_snapshot_says_with_a_head_at_the_end():
    snap = gan_snapshot()
    arrows = trace(plane_figure(snap, real_points()), "generator's push")
    segments = pieces(arrows)
    assert len(segments) == ARROWS
    np.testing.assert_allclose(np.stack(segments), snap.arrows)
    size = np.asarray(arrows.marker.size).reshape(ARROWS, 3)
    assert (size[:, 0] == 0).all() and (size[:, 1] > 0).all()  # no head at the start
    assert arrows.marker.symbol == "arrow" and arrows.marker.angleref == "previous"


def test_points_real_thinned_generated_all_and_the_mode_centres():
    snap = gan_snapshot()
    real = real_points(5000)
    centres = gen2d.modes("ring")[0]
    fig = plane_figure(snap, real, centres)
    shown = trace(fig, "real data")
    assert len(shown.x) <= MAX_REAL
    np.testing.assert_array_equal(shown.x, real[:: 5000 // len(shown.x), 0])  # every k-th
    fake = trace(fig, "generated")
    np.testing.assert_array_equal(fake.x, snap.samples[:, 0])
    np.testing.assert_array_equal(fake.y, snap.samples[:, 1])
    crosses = trace(fig, "mode centres")
    assert crosses.marker.symbol == "x" and len(crosses.x) == 8
    # Distinct colours for the real, the generated and the arrows.
    colors = {shown.marker.color, fake.marker.color, trace(fig, "generator's push").line.color}
    assert len(colors) == 3


def test_the_plane_is_square_over_the_extent_with_the_legend_below():
    fig = plane_figure(gan_snapshot(), real_points())
    assert list(fig.layout.xaxis.range) == list(fig.layout.yaxis.range) == [-EXTENT, EXTENT]
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yref == "container"


def test_what_a_vae_lacks_is_left_out_and_show_picks_the_rest():
    fig = plane_figure(vae_snapshot(), real_points())
    assert [t.type for t in fig.data] == ["scatter", "scatter"]
    assert [t.name for t in fig.data] == ["real data", "generated"]
    only = plane_figure(gan_snapshot(), real_points(), show=("fake", "arrows"))
    assert [t.name for t in only.data] == ["generated", "generator's push"]


def test_a_probes_full_snapshot_is_small_and_themes_for_a_dark_page():
    torch.manual_seed(0)
    snap = GenerativeProbe(extent=EXTENT)(GAN(2))
    assert snap.heat is not None and snap.mesh is not None and snap.arrows is not None
    real = real_points(20_000)
    fig = plane_figure(snap, real, gen2d.modes("ring")[0])
    assert figure_bytes(fig) < 150_000
    themed(fig, "dark")
    assert fig.layout.font.color == "#fafafa"


# --- paths ----------------------------------------------------------------------------------------


def test_paths_run_from_noise_to_the_samples_over_the_real_data():
    snap = flow_snapshot()
    fig = paths_figure(snap, real_points())
    assert fig.data[0].name == "real data"  # underneath
    lines = pieces(trace(fig, "path"))
    assert len(lines) == PATH_POINTS
    for p in (0, 17, PATH_POINTS - 1):
        np.testing.assert_allclose(lines[p], snap.path[:, p])
    np.testing.assert_allclose(np.stack([ln[0] for ln in lines]), snap.path[0])
    start, end = trace(fig, "noise (start)"), trace(fig, "sample (end)")
    np.testing.assert_array_equal(np.stack([start.x, start.y], 1), snap.path[0])
    np.testing.assert_array_equal(np.stack([end.x, end.y], 1), snap.path[-1])
    assert start.marker.color != end.marker.color
    assert list(fig.layout.xaxis.range) == [-EXTENT, EXTENT] and fig.layout.yaxis.scaleanchor == "x"


def test_paths_without_a_path_show_the_samples():
    fig = paths_figure(vae_snapshot(), real_points())
    assert [t.name for t in fig.data] == ["real data", "generated"]


# --- runs over time -------------------------------------------------------------------------------


def history(family, epochs=5, modes=True):
    """A hand-made generative run: its losses and sample metrics each epoch."""
    h = RunHistory(config={"model": {"arch": family}})
    for e in range(1, epochs + 1):
        row = {"epoch": e, "step": 10 * e, "elapsed": 0.5 * e, "train_loss": 1.0 / e}
        row["divergence"] = 0.9 / e + {"gan": 0.0, "vae": 0.01, "diffusion": 0.02}.get(family, 0)
        if modes:
            row.update(modes_covered=min(8, 2 * e), n_modes=8)
        if family == "gan":
            row.update(loss_d=1.3 - 0.01 * e, loss_g=0.7 + 0.02 * e)
        if family == "vae":
            row.update(recon=2.0 / e, kl=0.1 * e)
        h.epochs.append(**row)
    return h


def test_metrics_draw_one_divergence_line_and_one_modes_line_per_run():
    runs = [("GAN", history("gan")), ("VAE", history("vae")), ("flow", history("flow"))]
    fig = metrics_figure(runs)
    divergence = [t for t in fig.data if t.yaxis != "y2"]
    covered = [t for t in fig.data if t.yaxis == "y2"]
    assert [t.name for t in divergence] == [
        "GAN: divergence",
        "VAE: divergence",
        "flow: divergence",
    ]
    for t, (_, h), color in zip(divergence, runs, RUN_COLORS):
        np.testing.assert_allclose(t.y, h.epochs.column("divergence"), rtol=1e-6)
        np.testing.assert_array_equal(t.x, [1, 2, 3, 4, 5])
        assert t.line.color == color and t.line.dash == "solid"
    assert len(covered) == 3 and all(t.line.dash == "dash" for t in covered)
    np.testing.assert_array_equal(covered[0].y, [2, 4, 6, 8, 8])
    assert fig.layout.yaxis2.overlaying == "y" and fig.layout.yaxis2.range[0] == 0
    assert 8 <= fig.layout.yaxis2.range[1] < 9
    assert fig.layout.showlegend


def test_metrics_show_only_the_columns_the_runs_have():
    fig = metrics_figure([("swiss", history("gan", modes=False))])
    assert [t.name for t in fig.data] == ["divergence"]
    assert "yaxis2" not in fig.layout.to_plotly_json()  # no modes axis
    assert not fig.layout.showlegend  # one line: the axis says what it is
    digits = RunHistory()
    digits.epochs.append(epoch=1, elapsed=1.0, train_loss=0.5)
    empty = metrics_figure([("digits", digits)])
    assert len(empty.data) == 0 and "No sample metrics" in empty.layout.annotations[0].text


def test_losses_draw_each_familys_own_losses_in_the_runs_colour():
    runs = [("GAN", history("gan")), ("VAE", history("vae")), ("diffusion", history("diffusion"))]
    fig = losses_figure(runs)
    assert [t.name for t in fig.data] == [
        "GAN: discriminator",
        "GAN: generator",
        "VAE: reconstruction",
        "VAE: KL",
        "diffusion: loss",
    ]
    d, g, recon, kl, loss = fig.data
    assert d.line.color == g.line.color == RUN_COLORS[0] and recon.line.color == RUN_COLORS[1]
    assert (d.line.dash, g.line.dash, recon.line.dash, kl.line.dash) == (
        "solid",
        "dash",
        "solid",
        "dash",
    )
    np.testing.assert_allclose(g.y, runs[0][1].epochs.column("loss_g"), rtol=1e-6)
    np.testing.assert_allclose(kl.y, runs[1][1].epochs.column("kl"), rtol=1e-6)
    np.testing.assert_allclose(loss.y, runs[2][1].epochs.column("train_loss"), rtol=1e-6)


def test_a_wgan_draws_its_gradient_penalty_dotted():
    h = RunHistory()
    h.epochs.append(epoch=1, elapsed=1.0, train_loss=0.1, loss_d=-0.5, loss_g=0.1, gp=0.02)
    names = [(t.name, t.line.dash) for t in losses_figure([("", h)]).data]
    assert names == [("discriminator", "solid"), ("generator", "dash"), ("gradient penalty", "dot")]


def test_the_race_is_divergence_against_seconds_one_line_a_family():
    runs = [(name, history(name)) for name in ("gan", "vae", "diffusion", "flow")]
    fig = race_figure(runs)
    assert [t.name for t in fig.data] == ["gan", "vae", "diffusion", "flow"]
    for t, (_, h) in zip(fig.data, runs):
        np.testing.assert_allclose(t.x, h.epochs.column("elapsed"))
        np.testing.assert_allclose(t.y, h.epochs.column("divergence"), rtol=1e-6)
    assert len({t.line.color for t in fig.data}) == 4
    assert fig.layout.xaxis.title.text == "seconds of training"


def test_long_runs_are_thinned():
    fig = race_figure([("gan", history("gan", epochs=3000))])
    assert len(fig.data[0].x) <= 401 and fig.data[0].x[-1] == pytest.approx(1500.0)


# --- image samples --------------------------------------------------------------------------------


def test_image_samples_are_one_picture_of_a_grid():
    samples = np.random.default_rng(0).random((100, 64), dtype=np.float32)
    fig = samples_grid_figure(samples, side=8, cols=8, tile=48, count=16)
    assert [t.type for t in fig.data] == ["image"]
    assert fig.data[0].source.startswith("data:image/png;base64,")
    # 16 tiles of 48 px in 2 rows of 8, 4 px apart.
    assert list(fig.layout.xaxis.range) == [0, 8 * 52 - 4]
    assert list(fig.layout.yaxis.range) == [2 * 52 - 4, 0]
    with pytest.raises(ValueError, match="not 8x8 images"):
        samples_grid_figure(np.zeros((4, 60)))


def png_pixels(fig) -> np.ndarray:
    """The RGBA pixels of a grid figure's one image: its PNG read back by hand (8-bit RGBA,
    filter 0 on every row, as `dlviz.figures.rasters.png_bytes` writes it)."""
    import base64
    import struct
    import zlib

    data = base64.b64decode(fig.data[0].source.split(",", 1)[1])
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if tag == b"IHDR":
            size = struct.unpack(">II", body[:8])
            assert body[9] == 6  # RGBA
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    w, h = size
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + 4 * w)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, 4)


def test_grey_and_colour_samples_are_drawn_in_their_own_colours():
    grey = np.full((2, 16 * 16), 0.5, np.float32)  # shapes as the Generative page loads them
    px = png_pixels(samples_grid_figure(grey, side=16, cols=2, tile=16))
    assert px.shape == (16, 2 * 16 + 4, 4)
    assert (px[:, :16, :3] == 128).all() and (px[:, :16, 3] == 255).all()
    assert (px[:, 16:20, 3] == 0).all()  # the gap between tiles: clear
    red = np.zeros((1, 3, 8, 8), np.float32)
    red[:, 0] = 1.0  # colour images, (n, 3, side, side)
    px = png_pixels(samples_grid_figure(red.reshape(1, -1), side=8, cols=1, tile=8))
    assert (px[..., :3] == [255, 0, 0]).all()


def test_a_conditional_grid_names_each_row_with_its_class():
    samples = np.random.default_rng(0).random((30, 64), dtype=np.float32)
    names = [str(d) for d in range(10)]
    fig = samples_grid_figure(samples, side=8, cols=3, tile=48, count=30, row_labels=names)
    assert list(fig.layout.xaxis.range) == [0, 3 * 52 - 4]
    assert list(fig.layout.yaxis.range) == [10 * 52 - 4, 0]  # 10 rows of 3
    assert fig.layout.yaxis.visible and list(fig.layout.yaxis.ticktext) == names
    # each name at the middle of its row of 48 px tiles, 4 px apart
    assert list(fig.layout.yaxis.tickvals) == [r * 52 + 24 for r in range(10)]
    assert not samples_grid_figure(samples, side=8, cols=3).layout.yaxis.visible
