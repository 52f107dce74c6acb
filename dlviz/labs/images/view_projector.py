"""The Image lab's projector: a layer's activations of the test images in 2-D, coloured by
class, over training (PCA, aligned from one snapshot to the next so the picture does not flip)
and, for the trained network, a seeded t-SNE; a click on a dot shows that image and its nearest
neighbours in the layer's own space; a reading of how far each layer has sorted the classes.

Drawn inside the live fragment (`dlviz.labs.images.view.draw_single`): the number and order of
elements stay the same while a run trains, so the live chart updates in place; the click and
t-SNE come when it has ended.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from dlviz.data import Dataset
from dlviz.figures.projection import projection_figure
from dlviz.figures.rasters import image_grid_figure
from dlviz.history import RunHistory
from dlviz.probes import ImageProbe
from dlviz.projector import aligned_pcas, neighbours, tsne
from dlviz.text import plural
from dlviz.ui import fields, layout, live
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import remembered
from dlviz.ui.widgets import snapshot_slider

TSNE_POINTS = 500  # test images a t-SNE of the trained network places (exact t-SNE: n^2)
NEIGHBOURS = 5
METHODS = {"pca": "PCA over training", "tsne": "t-SNE of the trained network"}

fields.RANGES.setdefault("im_proj_seed", ("t-SNE seed", 0, fields.SEED_MAX))


def _cached(name: str, source: Any, build):
    return remembered("_im_proj_cache", name, source, build)


def nearest_share(acts: np.ndarray, labels: np.ndarray) -> float:
    """The share of items whose nearest other item (Euclidean, in `acts`' own space) is of
    their class: how far a layer has sorted the classes, with no classifier fitted."""
    x = np.asarray(acts, dtype=np.float64).reshape(len(acts), -1)
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    return float((labels[d.argmin(axis=1)] == labels).mean())


def _inputs(ds: Dataset, n: int) -> np.ndarray:
    return ds.x_test[:n].reshape(n, -1).numpy()


def _snapshots(h: RunHistory, ds: Dataset) -> list[Any]:
    """The run's snapshots that carry activations, with the trained network's own once it has
    ended (the last kept snapshot may come before the last step)."""
    shots = [s for s in h.fmaps if s.embedding]
    if h.done and h.model is not None and (not shots or shots[-1].step != h.step):
        final = _cached(
            "final", (id(h.model),), lambda: ImageProbe(ds.x_test)(h.model, h.step, h.epoch)
        )
        shots = [*shots, final]
    return shots


def _layer_acts(shots: list[Any], layer: str, ds: Dataset) -> list[np.ndarray]:
    n = len(next(iter(shots[-1].embedding.values())))
    if layer == "input":
        x = _inputs(ds, n)
        return [x] * len(shots)
    return [s.embedding[layer].astype(np.float32) for s in shots]


def _reading(shots: list[Any], ds: Dataset) -> str:
    """Nearest-neighbour class agreement at the input and at every layer of the latest
    snapshot, in words; which layer sorts the classes best."""
    last = shots[-1]
    n = len(next(iter(last.embedding.values())))
    labels = ds.y_test[:n].numpy()
    scores = {"the input": nearest_share(_inputs(ds, n), labels)}
    for name, acts in last.embedding.items():
        scores[name] = nearest_share(acts.astype(np.float32), labels)
    best = max(scores, key=lambda k: scores[k])
    chance = float(np.max(np.bincount(labels)) / len(labels))
    listed = ", ".join(f"{k} {v:.0%}" for k, v in scores.items())
    return (
        f"Of {n} test images, the share whose nearest neighbour (by the layer's activations) is "
        f"of the same class: {listed} (a guess of the commonest class: {chance:.0%}). The "
        f"classes are sorted best at {best}."
    )


def draw(h: RunHistory, ds: Dataset, key: str) -> None:
    """The projector section of a single image run."""
    st.markdown("#### Where the classes go")
    shots = _snapshots(h, ds)
    if not shots:
        st.caption("The projector appears with the first snapshot, a moment after training starts.")
        return
    layers = ["input", *shots[-1].embedding]
    ss = st.session_state
    if ss.get("im_proj_layer") not in layers:
        ss["im_proj_layer"] = layers[-1]
    top = layout.columns(
        [1, 1, 1], key=f"{key}_proj_top", min_width=180, vertical_alignment="bottom"
    )
    layer = top[0].selectbox(
        "Layer",
        layers,
        key="im_proj_layer",
        help="The input is the pixels themselves; a conv layer is each channel's mean "
        "activation over the image (one number a channel).",
    )
    method = "pca"
    if h.done and h.model is not None:
        method = (
            top[1].segmented_control(
                "Map", list(METHODS), format_func=METHODS.get, key="im_proj_method", default="pca"
            )
            or "pca"
        )
    if method == "tsne":
        ss.setdefault("im_proj_seed", 0)
        fields.number_input(top[2], "im_proj_seed", "t-SNE seed", persist=False)
        _tsne_view(h, ds, layer, key)
    else:
        _pca_view(h, ds, shots, layer, key)
    summary(_reading(shots, ds))


def _pca_view(h: RunHistory, ds: Dataset, shots: list[Any], layer: str, key: str) -> None:
    acts = _layer_acts(shots, layer, ds)
    n = len(acts[-1])
    projections = _cached(
        f"pca_{layer}",
        (layer, len(shots), shots[-1].step, id(shots[0])),
        lambda: aligned_pcas(acts),
    )
    pos = snapshot_slider(f"{key}_proj", h, shots)
    pos = min(pos, len(projections) - 1)
    p = projections[pos]
    labels = ds.y_test[:n].numpy()
    axes = (f"PC1 ({p.explained[0]:.0%} of the variance)", f"PC2 ({p.explained[1]:.0%})")
    when = (
        "the trained network"
        if h.done and shots[pos].step == h.step
        else f"epoch {shots[pos].epoch}, step {shots[pos].step:,}"
    )
    if not h.done:
        fig = projection_figure(p.coords, labels, ds.class_names, axes=axes)
        live_chart(fig, key=f"{key}_proj")
        st.caption(
            f"The first {plural(n, 'test image')} in {layer}'s space, flattened to its two "
            f"main directions (PCA), {when}; each snapshot turned to match the one before, so "
            "the dots move only as the network changes. Once training ends, click a dot to "
            "see its image and its nearest neighbours."
        )
        return
    _clickable(p.coords, labels, acts[pos], ds, layer, key, axes, "pca")
    st.caption(
        f"The first {plural(n, 'test image')} in {layer}'s space, flattened to its two main "
        f"directions (PCA), {when}; each snapshot turned to match the one before. Click a dot: "
        "its image and its nearest neighbours in the layer's own space appear below."
    )


def _tsne_view(h: RunHistory, ds: Dataset, layer: str, key: str) -> None:
    refused = fields.problem("im_proj_seed", 0, fields.SEED_MAX, "t-SNE seed")
    if refused:
        st.error(refused, icon=":material/error:")
        return
    seed = int(st.session_state["im_proj_seed"])
    n = min(TSNE_POINTS, len(ds.x_test))
    snap = _cached(
        f"tsne_snap_{n}",
        (id(h.model),),
        lambda: ImageProbe(ds.x_test, embed_count=n)(h.model, h.step, h.epoch),
    )
    acts = _inputs(ds, n) if layer == "input" else snap.embedding[layer].astype(np.float32)
    with st.spinner(f"t-SNE of {n} test images..."):
        coords = _cached(
            f"tsne_{layer}_{seed}", (id(h.model), layer, seed), lambda: tsne(acts, seed=seed)
        )
    labels = ds.y_test[:n].numpy()
    _clickable(coords, labels, acts, ds, layer, key, ("", ""), "tsne")
    st.caption(
        f"The first {plural(n, 'test image')} in {layer}'s space, placed by t-SNE (seed "
        f"{seed}: the same seed gives the same picture): images near each other in the layer's "
        "space stay near; distances between far groups mean little. Click a dot to see its "
        "image and its nearest neighbours."
    )


def _picked(state: Any) -> int | None:
    """The index (a dot's customdata) of the first point a chart's selection state holds."""
    try:
        points = state["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for p in points:
        value = p.get("customdata")
        if value is not None:
            return int(value[0] if isinstance(value, (list, tuple)) else value)
    return None


def _clickable(
    coords: np.ndarray,
    labels: np.ndarray,
    acts: np.ndarray,
    ds: Dataset,
    layer: str,
    key: str,
    axes: tuple[str, str],
    method: str,
) -> None:
    """A static chart whose dots can be clicked, and the chosen image with its neighbours."""
    ss = st.session_state
    chart_key = f"{key}_proj_{method}_{layer}"
    # the click's selection, from the chart's state of the last run (read before drawing it,
    # so the chosen dot is ringed in the same run that follows the click)
    chosen = _picked(ss.get(chart_key))
    if chosen is not None and chosen >= len(coords):
        chosen = None
    near = list(neighbours(acts, chosen, NEIGHBOURS)) if chosen is not None else []
    fig = projection_figure(coords, labels, ds.class_names, chosen, near, axes=axes)
    st.plotly_chart(
        fig, key=chart_key, on_select="rerun", selection_mode="points", config=live.CHART_CONFIG
    )
    if chosen is None:
        return
    names = ds.class_names
    items = [chosen, *near]
    titles = [f"chosen: {names[int(labels[chosen])]}"] + [
        f"#{i + 1}: {names[int(labels[j])]}" for i, j in enumerate(near)
    ]
    st.plotly_chart(
        image_grid_figure(ds.x_test[items].numpy(), titles, cols=len(items), tile=80),
        key=f"{key}_proj_near",
        config=live.CHART_CONFIG,
    )
    same = sum(int(labels[j] == labels[chosen]) for j in near)
    st.caption(
        f"Test image {chosen} and its {plural(len(near), 'nearest neighbour')} by {layer}'s "
        f"activations ({acts.shape[1]:,} numbers an image), not by the picture's distances: "
        f"{same} of {len(near)} share its class."
    )
