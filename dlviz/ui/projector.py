"""The projector of a classification run, for every lab that has one (images, sequences): a
layer's activations of the first test items in 2-D, coloured by class, over training (PCA,
aligned from one snapshot to the next so the picture does not flip) and, for the trained
network, a seeded t-SNE; a click on a dot shows that item and its nearest neighbours in the
layer's own space; a reading of how far each layer has sorted the classes.

What differs between labs is given as `Items`: the snapshots that carry activations
(``.embedding``: {layer: (n, D)}), how the trained network's activations and the raw input are
taken, and how an item is shown. Drawn inside the live fragment: the number and order of
elements stay the same while a run trains, so the live chart updates in place; the click and
t-SNE come when it has ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from dlviz.data import Dataset
from dlviz.figures.projection import projection_figure
from dlviz.history import RunHistory
from dlviz.projector import aligned_pcas, nearest_share, neighbours, tsne
from dlviz.text import plural
from dlviz.ui import fields, layout, live
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import remembered
from dlviz.ui.widgets import snapshot_slider

TSNE_POINTS = 500  # test items a t-SNE of the trained network places (exact t-SNE: n^2)
NEIGHBOURS = 5
METHODS = {"pca": "PCA over training", "tsne": "t-SNE of the trained network"}


@dataclass(frozen=True)
class Items:
    """A lab's side of the projector.

    `prefix`: its widgets' and caches' key prefix (``{prefix}_proj_layer``, ``_method``,
    ``_seed``); `noun`: one test item ("test image"); `per_item`: "an image", for "numbers an
    image"; `layer_help`: what a layer's point is; `snapshots(h)`: the run's snapshots with
    activations (``embedding``, ``step``, ``epoch``); `trained(model, ds, n)`: the trained
    network's activations of the first `n` test items, {layer: (n, D)} (no ``input``);
    `inputs(ds, n)`: the raw input of the first `n`, (n, D); `show(ds, items, titles, key)`:
    draws the chosen item and its neighbours."""

    prefix: str
    noun: str
    per_item: str
    layer_help: str
    snapshots: Callable[[RunHistory], list[Any]]
    trained: Callable[[Any, Dataset, int], dict[str, np.ndarray]]
    inputs: Callable[[Dataset, int], np.ndarray]
    show: Callable[[Dataset, list[int], list[str], str], None]


@dataclass(frozen=True)
class _Final:
    """The trained network's activations, as a snapshot."""

    step: int
    epoch: int
    embedding: dict[str, np.ndarray]


def _cached(it: Items, name: str, source: Any, build):
    return remembered(f"_{it.prefix}_proj_cache", name, source, build)


def _snapshots(it: Items, h: RunHistory, ds: Dataset, n: int | None) -> list[Any]:
    """The run's snapshots that carry activations, with the trained network's own once it has
    ended (the last kept snapshot may come before the last step)."""
    shots = [s for s in it.snapshots(h) if s.embedding]
    if h.done and h.model is not None and (not shots or shots[-1].step != h.step):
        count = (n or _count(shots)) if shots else n
        if count:
            final = _cached(
                it,
                "final",
                (h.model,),
                lambda: _Final(h.step, h.epoch, it.trained(h.model, ds, count)),
            )
            shots = [*shots, final]
    return shots


def _count(shots: list[Any]) -> int:
    return len(next(iter(shots[-1].embedding.values())))


def _layer_acts(it: Items, shots: list[Any], layer: str, ds: Dataset) -> list[np.ndarray]:
    if layer == "input":
        return [it.inputs(ds, _count(shots))] * len(shots)
    return [s.embedding[layer].astype(np.float32) for s in shots]


def _projections(it: Items, shots: list[Any], layer: str, acts: list[np.ndarray]) -> list[Any]:
    """`aligned_pcas` of every snapshot, computing only those added since the last refresh
    (a run keeps dozens: all of them again at each one's arrival cost a live refresh tens of
    ms); all again when the snapshots before are not the same objects (a new run, or the
    history thinned them)."""
    cache = st.session_state.setdefault(f"_{it.prefix}_proj_pcas", {})
    ids = [id(s) for s in shots]
    had_ids, had = cache.get(layer, ([], []))
    if len(had) > len(shots) or had_ids != ids[: len(had)]:
        had = []
    if len(had) < len(shots):
        had = had + aligned_pcas(acts[len(had) :], had[-1].coords if had else None)
        cache[layer] = (ids, had)
    return had


def _reading(it: Items, shots: list[Any], ds: Dataset) -> str:
    """`reading` of the latest snapshot, worked out once per snapshot (the raw input's share
    once per data set): the nearest neighbours of every item at every layer cost a live
    refresh more than all its drawing."""
    last = shots[-1]
    return _cached(
        it, "reading", (id(last), last.step, _count(shots), id(ds)), lambda: reading(it, shots, ds)
    )


def _input_share(it: Items, ds: Dataset, n: int) -> float:
    labels = ds.y_test[:n].numpy()
    return _cached(it, "input_share", (id(ds), n), lambda: nearest_share(it.inputs(ds, n), labels))


def reading(it: Items, shots: list[Any], ds: Dataset) -> str:
    """Nearest-neighbour class agreement at the input and at every layer of the latest
    snapshot, in words; which layer sorts the classes best."""
    last = shots[-1]
    n = _count(shots)
    labels = ds.y_test[:n].numpy()
    scores = {"the input": _input_share(it, ds, n)}
    for name, acts in last.embedding.items():
        scores[name] = nearest_share(acts.astype(np.float32), labels)
    best = max(scores, key=lambda k: scores[k])
    chance = float(np.max(np.bincount(labels)) / len(labels))
    listed = ", ".join(f"{k} {v:.0%}" for k, v in scores.items())
    return (
        f"Of {plural(n, it.noun)}, the share whose nearest neighbour (by the layer's "
        f"activations) is of the same class: {listed} (a guess of the commonest class: "
        f"{chance:.0%}). The classes are sorted best at {best}."
    )


def draw(it: Items, h: RunHistory, ds: Dataset, key: str, count: int | None = None) -> None:
    """The projector section of a single classification run. `count`: the items the trained
    network's activations are taken of when the run kept no snapshot with them."""
    st.markdown("#### Where the classes go")
    shots = _snapshots(it, h, ds, count)
    if not shots:
        st.caption("The projector appears with the first snapshot, a moment after training starts.")
        return
    layers = ["input", *shots[-1].embedding]
    ss = st.session_state
    layer_key, method_key, seed_key = (f"{it.prefix}_proj_{k}" for k in ("layer", "method", "seed"))
    fields.RANGES.setdefault(seed_key, ("t-SNE seed", 0, fields.SEED_MAX))
    if ss.get(layer_key) not in layers:
        ss[layer_key] = layers[-1]
    top = layout.columns(  # the map's two choices need about 300 px
        [1, 1, 1], key=f"{key}_proj_top", min_width=300, vertical_alignment="bottom"
    )
    layer = top[0].selectbox("Layer", layers, key=layer_key, help=it.layer_help)
    method = "pca"
    if h.done and h.model is not None:
        method = (
            top[1].segmented_control(
                "Map", list(METHODS), format_func=METHODS.get, key=method_key, default="pca"
            )
            or "pca"
        )
    if method == "tsne":
        ss.setdefault(seed_key, 0)
        fields.number_input(top[2], seed_key, "t-SNE seed", persist=False)
        _tsne_view(it, h, ds, layer, key)
    else:
        _pca_view(it, h, ds, shots, layer, key)
    summary(_reading(it, shots, ds))


def _pca_view(it: Items, h: RunHistory, ds: Dataset, shots: list[Any], layer: str, key: str):
    acts = _layer_acts(it, shots, layer, ds)
    n = len(acts[-1])
    projections = _projections(it, shots, layer, acts)
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
    first = f"The first {plural(n, it.noun)} in {layer}'s space, flattened to its two main "
    if not h.done:
        fig = projection_figure(p.coords, labels, ds.class_names, axes=axes)
        live_chart(fig, key=f"{key}_proj")
        st.caption(
            f"{first}directions (PCA), {when}; each snapshot turned to match the one before, so "
            f"the dots move only as the network changes. Once training ends, click a dot to "
            f"see its {it.noun.split()[-1]} and its nearest neighbours."
        )
        return
    _clickable(it, p.coords, labels, acts[pos], ds, layer, key, axes, "pca")
    st.caption(
        f"{first}directions (PCA), {when}; each snapshot turned to match the one before. Click "
        f"a dot: its {it.noun.split()[-1]} and its nearest neighbours in the layer's own space "
        "appear below."
    )


def _tsne_view(it: Items, h: RunHistory, ds: Dataset, layer: str, key: str) -> None:
    seed_key = f"{it.prefix}_proj_seed"
    refused = fields.problem(seed_key, 0, fields.SEED_MAX, "t-SNE seed")
    if refused:
        st.error(refused, icon=":material/error:")
        return
    seed = int(st.session_state[seed_key])
    n = min(TSNE_POINTS, len(ds.x_test))
    embedding = _cached(it, f"tsne_acts_{n}", (h.model,), lambda: it.trained(h.model, ds, n))
    acts = it.inputs(ds, n) if layer == "input" else embedding[layer].astype(np.float32)
    with st.spinner(f"t-SNE of {plural(n, it.noun)}..."):
        coords = _cached(
            it, f"tsne_{layer}_{seed}", (h.model, layer, seed), lambda: tsne(acts, seed=seed)
        )
    labels = ds.y_test[:n].numpy()
    _clickable(it, coords, labels, acts, ds, layer, key, ("", ""), "tsne")
    thing = it.noun.split()[-1]
    st.caption(
        f"The first {plural(n, it.noun)} in {layer}'s space, placed by t-SNE (seed {seed}: the "
        f"same seed gives the same picture): {thing}s near each other in the layer's space stay "
        f"near; distances between far groups mean little. Click a dot to see its {thing} and "
        "its nearest neighbours."
    )


def picked(state: Any) -> int | None:
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
    it: Items,
    coords: np.ndarray,
    labels: np.ndarray,
    acts: np.ndarray,
    ds: Dataset,
    layer: str,
    key: str,
    axes: tuple[str, str],
    method: str,
) -> None:
    """A static chart whose dots can be clicked, and the chosen item with its neighbours."""
    chart_key = f"{key}_proj_{method}_{layer}"
    # the click's selection, from the chart's state of the last run (read before drawing it,
    # so the chosen dot is ringed in the same run that follows the click)
    chosen = picked(st.session_state.get(chart_key))
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
    it.show(ds, items, titles, f"{key}_proj_near")
    same = sum(int(labels[j] == labels[chosen]) for j in near)
    st.caption(
        f"{it.noun[:1].upper() + it.noun[1:]} {chosen} and its "
        f"{plural(len(near), 'nearest neighbour')} by {layer}'s activations "
        f"({acts.shape[1]:,} numbers {it.per_item}), not by the distances of the raw input: "
        f"{same} of {len(near)} share its class."
    )
