"""The Generative lab's figures: the 2-D plane a GAN is fought over (the discriminator's view,
the real and generated points, the generator's warped latent grid and the push its loss gives
each point), the paths diffusion and flow models take from noise to data, image samples, and
the runs' losses and sample metrics over epochs and seconds.

Lines of many pieces (a mesh's rows and columns, arrows, paths) go out as one trace each, the
pieces separated by NaN (a gap in the line): one trace draws in a fraction of the time of a
hundred, and a refresh stays small (docs/ARCHITECTURE.md: under 300 KB).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.rasters import image_grid_figure
from dlviz.figures.theme import (
    BOUNDARY_SCALE,
    OKABE_ITO,
    OWN_COLOURS,
    RUN_COLORS,
    base_layout,
    f32,
    legend_below,
    make_figure,
    thin_out,
)
from dlviz.generative_probe import GenerativeSnapshot
from dlviz.history import RunHistory

MAX_REAL = 1000  # real points drawn; more add bytes, not information, at a chart's size
REAL_COLOR = "#888888"
FAKE_COLOR = OKABE_ITO["green"]  # apart from the heat's orange and blue
MESH_COLOR = OKABE_ITO["purple"]
ARROW_COLOR = "#333333"
CENTRE_COLOR = "#444444"
# The heat's two ends (BOUNDARY_SCALE: pale, opaque, the same on a light and a dark page):
# orange where the discriminator says "fake", blue where it says "real".
HEAT_FAKE, HEAT_REAL = BOUNDARY_SCALE[0][1], BOUNDARY_SCALE[-1][1]
PLANE_ITEMS = ("heat", "mesh", "arrows", "real", "fake")
ROW_GAP = 4  # pixels between an image grid's rows (`dlviz.figures.rasters.image_grid_figure`)


# --- helpers --------------------------------------------------------------------------------------


def _square_axes(extent: float) -> dict[str, Any]:
    """x and y over [-extent, extent], one unit as long on both (the plane is square)."""
    common = {
        "range": [-extent, extent],
        "showgrid": False,
        "zeroline": False,
        "constrain": "domain",
    }
    return {"xaxis": dict(common), "yaxis": {**common, "scaleanchor": "x", "scaleratio": 1}}


def _polylines(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L, P, 2) polylines as one line's x and y, each polyline followed by a NaN (a gap)."""
    lines = np.asarray(lines, dtype=np.float32)
    gap = np.full((len(lines), 1, 2), np.nan, dtype=np.float32)
    flat = np.concatenate([lines, gap], axis=1).reshape(-1, 2)
    return flat[:, 0], flat[:, 1]


def _thin_points(points: Any, n: int = MAX_REAL) -> np.ndarray:
    """(N, 2) points, every k-th so at most `n` (the sets are shuffled: an even sample)."""
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return pts[:: max(1, -(-len(pts) // n))]


def _points(
    points: np.ndarray, name: str, color: str, size: float, opacity: float = 1.0, **marker: Any
) -> dict[str, Any]:
    return {
        "type": "scatter",
        "x": f32(points[:, 0]),
        "y": f32(points[:, 1]),
        "mode": "markers",
        "name": name,
        "marker": {"size": size, "color": color, **marker},
        "opacity": opacity,
        "hovertemplate": f"{name}<br>x %{{x:.2f}}, y %{{y:.2f}}<extra></extra>",
    }


def _key(name: str, color: str, group: str) -> dict[str, Any]:
    """A legend entry with nothing to draw: it names a colour of the heatmap (clicking it hides
    the heatmap, its legend group)."""
    return {
        "type": "scatter",
        "x": [None],
        "y": [None],
        "mode": "markers",
        "name": name,
        "legendgroup": group,
        "marker": {"size": 10, "symbol": "square", "color": color},
        "hoverinfo": "skip",
    }


def _heat_traces(snap: GenerativeSnapshot) -> list[dict[str, Any]]:
    """The discriminator's output over the plane: its probability that a point is real on
    [0, 1] centred at 0.5, or a critic's score over its own range; blue real, orange fake."""
    heat = np.asarray(snap.heat, dtype=np.float32)
    axis = np.linspace(-snap.extent, snap.extent, heat.shape[0], dtype=np.float32)
    if snap.heat_kind == "score":
        finite = heat[np.isfinite(heat)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (-1.0, 1.0)
        if hi - lo < 1e-6:
            lo, hi = lo - 1.0, hi + 1.0
        who, label, fmt = "critic", "score", ".3g"
        keys = [("critic: high (real)", HEAT_REAL), ("critic: low (fake)", HEAT_FAKE)]
    else:
        lo, hi = 0.0, 1.0
        who, label, fmt = "discriminator", "P(real)", ".2f"
        keys = [("discriminator: real", HEAT_REAL), ("discriminator: fake", HEAT_FAKE)]
    return [
        {
            "type": "heatmap",
            "z": heat,
            "x": axis,
            "y": axis,
            "zmin": lo,
            "zmax": hi,
            "colorscale": BOUNDARY_SCALE,
            "zsmooth": "fast",
            "showscale": False,
            "name": who,
            "legendgroup": "heat",
            "hovertemplate": f"x %{{x:.2f}}, y %{{y:.2f}}<br>{who} {label} %{{z:{fmt}}}"
            "<extra></extra>",
        },
        *(_key(name, color, "heat") for name, color in keys),
    ]


def _mesh_trace(mesh: np.ndarray) -> dict[str, Any]:
    """The generator's image of a MESH x MESH latent grid: every row and every column of the
    grid as a polyline (2 * MESH of them), one trace."""
    mesh = np.asarray(mesh, dtype=np.float32)  # (MESH, MESH, 2)
    x, y = _polylines(np.concatenate([mesh, mesh.transpose(1, 0, 2)]))
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "lines",
        "name": "latent grid, as generated",
        "line": {"color": MESH_COLOR, "width": 1},
        "opacity": 0.7,
        "hoverinfo": "skip",
    }


def _arrows_trace(arrows: np.ndarray) -> dict[str, Any]:
    """(n, 2, 2) arrows (start, end) as segments with a head at each end: one trace, the
    heads are markers pointing along the segment (`angleref: previous`), none at the start."""
    x, y = _polylines(arrows)
    size = np.tile(np.array([0, 7, 0], dtype=np.float32), len(arrows))
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "lines+markers",
        "name": "generator's push",
        "line": {"color": ARROW_COLOR, "width": 1},
        "marker": {"color": ARROW_COLOR, "symbol": "arrow", "angleref": "previous", "size": size},
        "hoverinfo": "skip",
    }


def _centres_trace(centres: np.ndarray) -> dict[str, Any]:
    """Dark crosses with a white edge: they read on the pale heatmap, on white and on a dark
    page."""
    points = np.asarray(centres, dtype=np.float32).reshape(-1, 2)
    return _points(
        points, "mode centres", CENTRE_COLOR, 8, symbol="x", line={"color": "white", "width": 1}
    )


# --- the plane ------------------------------------------------------------------------------------


def plane_figure(
    snap: GenerativeSnapshot,
    real: np.ndarray,
    centres: np.ndarray | None = None,
    show: Sequence[str] = PLANE_ITEMS,
    height: int = 420,
    title: str | None = None,
) -> go.Figure:
    """The 2-D plane: the discriminator's heatmap under everything, the real points (grey, at
    most MAX_REAL), the modes' centres (crosses, when given), the generator's warped latent
    grid, its samples and the push its loss gives them (arrows). `show` picks among
    ``"heat", "mesh", "arrows", "real", "fake"``; what the snapshot lacks (a VAE's heat) is
    left out."""
    traces: list[dict[str, Any]] = []
    heat = "heat" in show and snap.heat is not None
    if heat:
        traces += _heat_traces(snap)
    if "real" in show and real is not None and len(real):
        traces.append(_points(_thin_points(real), "real data", REAL_COLOR, 3, 0.6))
    if centres is not None and len(centres):
        traces.append(_centres_trace(centres))
        if heat:  # over the pale heatmap: not lightened on a dark page
            traces[-1]["meta"] = OWN_COLOURS
    if "mesh" in show and snap.mesh is not None:
        traces.append(_mesh_trace(snap.mesh))
    if "fake" in show and len(snap.samples):
        fake = _thin_points(snap.samples)
        traces.append(
            _points(fake, "generated", FAKE_COLOR, 4, line={"color": "white", "width": 0.5})
        )
    if "arrows" in show and snap.arrows is not None:
        traces.append(_arrows_trace(snap.arrows))
        if heat:
            traces[-1]["meta"] = OWN_COLOURS
    layout = base_layout(height, title, legend=legend_below(), **_square_axes(snap.extent))
    return make_figure(traces, layout)


def paths_figure(
    snap: GenerativeSnapshot, real: np.ndarray, height: int = 420, title: str | None = None
) -> go.Figure:
    """Diffusion or a flow: each followed point's path from noise (frame 0, grey rings) to its
    sample (the last frame, coloured) as faint lines, over the real data. Without a path, the
    real data and the samples."""
    traces: list[dict[str, Any]] = []
    if real is not None and len(real):
        traces.append(_points(_thin_points(real), "real data", REAL_COLOR, 3, 0.35))
    if snap.path is not None and len(snap.path):
        path = np.asarray(snap.path, dtype=np.float32)  # (frames, points, 2)
        x, y = _polylines(path.transpose(1, 0, 2))  # one polyline a point
        traces += [
            {
                "type": "scatter",
                "x": x,
                "y": y,
                "mode": "lines",
                "name": "path",
                "line": {"color": "rgba(128,128,128,0.35)", "width": 1},
                "hoverinfo": "skip",
            },
            _points(path[0], "noise (start)", REAL_COLOR, 4, symbol="circle-open"),
            _points(path[-1], "sample (end)", FAKE_COLOR, 5, line={"color": "white", "width": 0.5}),
        ]
    elif len(snap.samples):
        traces.append(_points(_thin_points(snap.samples), "generated", FAKE_COLOR, 4))
    layout = base_layout(height, title, legend=legend_below(), **_square_axes(snap.extent))
    return make_figure(traces, layout)


# --- images ---------------------------------------------------------------------------------------


def samples_grid_figure(
    samples: np.ndarray,
    side: int = 8,
    cols: int = 8,
    tile: int = 48,
    count: int = 64,
    title: str | None = None,
    row_labels: Sequence[str] = (),
) -> go.Figure:
    """Image samples in [0, 1], (n, C*side*side) flat or (n, C, side, side), as a grid of the
    first `count` (C = 1 grey, 3 colour), `cols` a row; `row_labels` name the rows on the left
    (a conditional GAN's classes)."""
    x = np.asarray(samples, dtype=np.float32)[:count]
    per_channel = side * side
    flat = x.reshape(len(x), -1)
    if flat.shape[1] % per_channel:
        raise ValueError(
            f"samples of {flat.shape[1]} values are not {side}x{side} images; pass the images' side"
        )
    images = flat.reshape(len(x), flat.shape[1] // per_channel, side, side)
    fig = image_grid_figure(images, cols=cols, tile=tile, title=title)
    if len(row_labels) and len(images):
        rows = -(-len(images) // max(1, min(cols, len(images))))
        labels = [str(v) for v in row_labels][:rows]
        fig.update_layout(
            yaxis={
                "visible": True,
                "tickvals": [r * (tile + ROW_GAP) + tile / 2 for r in range(len(labels))],
                "ticktext": labels,
                "ticks": "",
                "showgrid": False,
                "zeroline": False,
                "showline": False,
            },
            margin={"l": 16 + 7 * max(len(v) for v in labels)},  # room for the longest name
        )
    return fig


# --- runs over time -------------------------------------------------------------------------------


def _has(h: RunHistory, column: str) -> bool:
    return any(v is not None for v in h.epochs.column(column))


def _columns(h: RunHistory, x: str, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The epochs table's `x` and `names` as float32 (None: NaN), thinned together."""
    cols = [x, *names]
    return dict(zip(cols, thin_out(*(f32(h.epochs.column(c)) for c in cols))))


def _line(
    x: np.ndarray, y: np.ndarray, name: str, color: str, group: str, dash: str = "solid", **kw: Any
) -> dict[str, Any]:
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "lines" if len(x) > 2 else "lines+markers",  # one epoch still shows
        "name": name,
        "line": {"color": color, "dash": dash, "width": 2},
        "legendgroup": group,
        **kw,
    }


def _empty(height: int, text: str) -> go.Figure:
    layout = base_layout(
        height,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": text, "showarrow": False, "x": 0.5, "y": 0.5,
                      "xref": "paper", "yref": "paper"}],
    )  # fmt: skip
    return make_figure([], layout)


def metrics_figure(
    histories: Sequence[tuple[str, RunHistory]], height: int = 320, title: str | None = None
) -> go.Figure:
    """How close each run's samples are to the data, over epochs: the grid JS divergence (left
    axis, solid) and the modes covered (right axis, 0 to the set's modes, dashed); only the
    columns the runs have. Runs in RUN_COLORS, named in the legend when there are several."""
    traces: list[dict[str, Any]] = []
    n_modes = 1.0
    for i, (label, h) in enumerate(histories):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        prefix = f"{label}: " if label and len(histories) > 1 else ""
        names = [c for c in ("divergence", "modes_covered") if _has(h, c)]
        if not names:
            continue
        ep = _columns(h, "epoch", names)
        if "divergence" in ep:
            traces.append(_line(ep["epoch"], ep["divergence"], f"{prefix}divergence", color, label))
        if "modes_covered" in ep:
            traces.append(
                _line(ep["epoch"], ep["modes_covered"], f"{prefix}modes covered", color, label,
                      "dash", yaxis="y2")
            )  # fmt: skip
            seen = [v for c in ("n_modes", "modes_covered") for v in h.epochs.column(c)]
            n_modes = max(n_modes, *(float(v) for v in seen if v is not None))
    if not traces:
        return _empty(height, "No sample metrics yet: they come with each epoch of 2-D data")
    layout = base_layout(
        height,
        title,
        xaxis={"title": {"text": "epoch"}},
        yaxis={"title": {"text": "divergence (JS, 0 = as the data)"}, "rangemode": "tozero"},
        legend=legend_below(),
        showlegend=len(traces) > 1,
    )
    if any(t.get("yaxis") == "y2" for t in traces):
        layout["yaxis2"] = {
            "title": {"text": "modes covered"},
            "overlaying": "y",
            "side": "right",
            "range": [0, n_modes * 1.04],
            "dtick": next((s for s in (1, 2, 5, 10, 20, 50) if n_modes / s <= 5), None),
            "showgrid": False,
            "zeroline": False,
        }
    return make_figure(traces, layout)


# Each family's losses, the first solid, the next dashed, then dotted: (column, name).
LOSS_LINES = {
    "gan": (("loss_d", "discriminator"), ("loss_g", "generator"), ("gp", "gradient penalty")),
    "vae": (("recon", "reconstruction"), ("kl", "KL")),
    "other": (("train_loss", "loss"),),
}
DASHES = ("solid", "dash", "dot")


def losses_figure(
    histories: Sequence[tuple[str, RunHistory]], height: int = 300, title: str | None = None
) -> go.Figure:
    """Each run's losses over epochs, in its colour: a GAN's discriminator and generator losses
    (solid, dashed; its gradient penalty dotted), a VAE's reconstruction and KL, diffusion's or a
    flow's one loss."""
    traces: list[dict[str, Any]] = []
    for i, (label, h) in enumerate(histories):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        prefix = f"{label}: " if label else ""
        family = "gan" if _has(h, "loss_d") else "vae" if _has(h, "recon") else "other"
        lines = [(c, n) for c, n in LOSS_LINES[family] if _has(h, c)]
        if not lines:
            continue
        ep = _columns(h, "epoch", [c for c, _ in lines])
        for (column, name), dash in zip(lines, DASHES):
            traces.append(_line(ep["epoch"], ep[column], f"{prefix}{name}", color, label, dash))
    if not traces:
        return _empty(height, "No losses yet: they come at the end of each epoch")
    layout = base_layout(
        height,
        title,
        xaxis={"title": {"text": "epoch"}},
        yaxis={"title": {"text": "loss"}},
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def race_figure(
    histories: Sequence[tuple[str, RunHistory]], height: int = 320, title: str | None = None
) -> go.Figure:
    """The families' race: each run's divergence from the data against seconds of training,
    one line a run (named by its label, in RUN_COLORS)."""
    traces: list[dict[str, Any]] = []
    for i, (label, h) in enumerate(histories):
        if not _has(h, "divergence"):
            continue
        ep = _columns(h, "elapsed", ["divergence"])
        color = RUN_COLORS[i % len(RUN_COLORS)]
        traces.append(_line(ep["elapsed"], ep["divergence"], label or f"run {i + 1}", color, label))
    if not traces:
        return _empty(height, "No divergence yet: it comes with each epoch of 2-D data")
    layout = base_layout(
        height,
        title,
        xaxis={"title": {"text": "seconds of training"}, "rangemode": "tozero"},
        yaxis={"title": {"text": "divergence (JS, 0 = as the data)"}, "rangemode": "tozero"},
        legend=legend_below(),
    )
    return make_figure(traces, layout)


# --- the canvas a person paints a distribution on -------------------------------------------------


def canvas_figure(
    cells: np.ndarray, density: np.ndarray, erase: bool = False, height: int = 420
) -> go.Figure:
    """The Generative page's canvas: `cells` (K, 2), the centres of the cells a person can
    paint (trace 0: the one a lasso, a box or a click selects), over `density` (41 x 41, rows
    y, columns x), how much of the drawing each cell holds, as a heatmap (0: not painted).
    Drag draws a lasso; `erase` only changes the hint of its colour."""
    dens = np.asarray(density, dtype=np.float32)
    axis = np.unique(np.asarray(cells, dtype=np.float32)[:, 0])
    shown = np.where(dens > 0, dens, np.nan).astype(np.float32)
    top = float(np.nanmax(shown)) if np.isfinite(shown).any() else 1.0
    traces = [
        {
            "type": "scatter",
            "x": f32(cells[:, 0]),
            "y": f32(cells[:, 1]),
            "mode": "markers",
            "name": "canvas",
            "marker": {"size": 4, "color": REAL_COLOR, "opacity": 0.35},
            "selected": {"marker": {"color": OKABE_ITO["vermillion" if erase else "blue"]}},
            "unselected": {"marker": {"opacity": 0.35}},
            "showlegend": False,
            "hovertemplate": "x %{x:.1f}, y %{y:.1f}<extra></extra>",
        },
        {
            "type": "heatmap",
            "z": shown,
            "x": axis,
            "y": axis,
            "zmin": 0.0,
            "zmax": max(top, 1.0),
            "colorscale": [[0.0, "#c6dbef"], [1.0, OKABE_ITO["blue"]]],
            "showscale": False,
            "name": "drawing",
            "hovertemplate": "x %{x:.1f}, y %{y:.1f}<br>weight %{z:g}<extra></extra>",
        },
    ]
    layout = {
        **base_layout(height=height),
        **_square_axes(2.2),
        "dragmode": "lasso",
        "showlegend": False,
        "clickmode": "event+select",
    }
    return make_figure(traces, layout)
