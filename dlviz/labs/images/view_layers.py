"""The Image lab's measures of what each layer holds, for a trained network: a linear probe at
every layer (where do the classes become linearly separable?) and linear CKA between its
layers; for the shallow and deep twins, both networks' probes on one chart and CKA between
them. Fitted on a button press (a few seconds), cached per network; the sentences under the
charts are computed from what they show."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import streamlit as st

from dlviz.data import Dataset
from dlviz.figures.layers import cka_figure, probe_figure
from dlviz.history import RunHistory
from dlviz.representations import ProbeError, chance_accuracy, compare_layers, probe_layers
from dlviz.ui import layout, live
from dlviz.ui.charts import summary
from dlviz.ui.state import remembered

CKA_INPUTS = 500  # test images CKA compares the layers on
NEAR_BEST = 0.05  # a layer within this of the best probe accuracy "separates the classes"


def _cached(name: str, source: Any, build):
    return remembered("_im_layers_cache", name, source, build)


def probe_reading(layers: list[dict[str, Any]], chance: float, network: float | None) -> str:
    """What the probes say, from their numbers: the input's and the best layer's accuracy,
    the first layer within NEAR_BEST of the best, and whether accuracy rises all the way."""
    acc = [float(layer["probe_accuracy"]) for layer in layers]
    names = [str(layer["name"]) for layer in layers]
    best = int(np.argmax(acc))
    first = next(i for i, a in enumerate(acc) if a >= acc[best] - NEAR_BEST)
    parts = [
        f"A linear classifier on the raw {names[0]} scores {acc[0]:.0%} (chance "
        f"{chance:.0%}); on {names[best]}, {acc[best]:.0%}"
        + (f" (the network itself: {network:.0%})" if network is not None else "")
        + "."
    ]
    if first > 0:
        parts.append(
            f"The classes become linearly separable - within {NEAR_BEST:.0%} of the best - "
            f"at {names[first]}."
        )
    else:
        parts.append("Even the input is about as separable as any layer: the task is easy.")
    rises = all(b >= a - 0.02 for a, b in zip(acc, acc[1:]))
    parts.append(
        "Probe accuracy rises from layer to layer (never falling by more than 2 points)."
        if rises
        else "Probe accuracy does not rise all the way: it falls by more than 2 points "
        f"somewhere after {names[best] if best < len(acc) - 1 else names[first]}."
    )
    return " ".join(parts)


def cka_reading(rows: list[str], cols: list[str], matrix: np.ndarray, same: bool) -> str:
    m = np.asarray(matrix, dtype=np.float64)
    if same:
        adjacent = [m[i, i + 1] for i in range(len(rows) - 1) if np.isfinite(m[i, i + 1])]
        return (
            f"Neighbouring layers are alike (CKA {np.mean(adjacent):.2f} on average); the input "
            f"and the last layer, {rows[-1]}, much less ({m[0, -1]:.2f}): each layer changes the "
            "representation a little, and together they change it a lot."
            if adjacent
            else ""
        )
    best = [cols[int(np.nanargmax(m[i]))] for i in range(len(rows))]
    pairs = ", ".join(
        f"{r} most like {b} ({np.nanmax(m[i]):.2f})" for i, (r, b) in enumerate(zip(rows, best))
    )
    return f"Each layer of the first network and the layer of the second it is most like: {pairs}."


def _probes(h: RunHistory, ds: Dataset) -> tuple[list[dict[str, Any]], float]:
    start = time.perf_counter()
    layers = probe_layers(h.model, ds)
    return layers, time.perf_counter() - start


def draw(h: RunHistory, ds: Dataset, key: str) -> None:
    """A finished single run: probes and CKA, each on a button."""
    if not h.done or h.model is None:
        return
    st.markdown("#### Where the classes become linearly separable")
    ss = st.session_state
    left, right = layout.columns(2, key=f"{key}_layers", min_width=360, gap="medium")
    with left:
        source = (id(h.model),)
        st.button(
            "Fit a linear probe at every layer",
            key="im_probe_fit",
            icon=":material/straighten:",
            disabled=ss.get("_im_probe_for") == source,
            on_click=ss.__setitem__,
            args=("_im_probe_for", source),
            help="A logistic regression on each layer's frozen activations (a few seconds).",
        )
        if ss.get("_im_probe_for") == source:
            try:
                with st.spinner("Fitting a probe at every layer..."):
                    layers, seconds = _cached("probes", source, lambda: _probes(h, ds))
            except ProbeError as e:
                st.error(str(e), icon=":material/error:")
                return
            chance = chance_accuracy(ds.y_train, ds.y_test)
            network = h.classes.get("accuracy") if h.classes else None
            st.plotly_chart(
                probe_figure([("", layers)], chance=chance),
                key=f"{key}_probes",
                config=live.CHART_CONFIG,
            )
            summary(probe_reading(layers, chance, network))
            st.caption(
                f"Each dot: a logistic regression fitted on that layer's activations of up to "
                f"2,048 training images and scored on up to 1,024 test images, the network "
                f"itself frozen; feature maps average-pooled to at most 1,024 numbers. "
                f"{seconds:.1f} s."
            )
    with right:
        source = (id(h.model), "cka")
        st.button(
            "Compare every layer with every other (CKA)",
            key="im_cka_fit",
            icon=":material/grid_on:",
            disabled=ss.get("_im_cka_for") == source,
            on_click=ss.__setitem__,
            args=("_im_cka_for", source),
        )
        if ss.get("_im_cka_for") == source:
            x = ds.x_test[:CKA_INPUTS]
            rows, cols, matrix = _cached("cka", source, lambda: compare_layers(h.model, h.model, x))
            st.plotly_chart(
                cka_figure(rows, cols, matrix, "layer", "layer"),
                key=f"{key}_cka",
                config=live.CHART_CONFIG,
            )
            summary(cka_reading(rows, cols, matrix, same=True))
            st.caption(
                f"Linear CKA (Kornblith et al. 2019) between two layers' activations of the same "
                f"{min(CKA_INPUTS, len(ds.x_test))} test images: 1 when one is a rotation or "
                "rescaling of the other, near 0 when they share nothing."
            )


def draw_pair(labels: list[str], hs: list[RunHistory], ds: Dataset, key: str) -> None:
    """The twins, both trained: their probes on one chart, and CKA between them."""
    if not all(h.done and h.model is not None for h in hs):
        return
    st.markdown("#### Where each network separates the classes")
    source = tuple(id(h.model) for h in hs)
    ss = st.session_state
    st.button(
        "Fit probes and compare the two networks' layers",
        key="im_pair_layers_fit",
        icon=":material/straighten:",
        disabled=ss.get("_im_pair_layers_for") == source,
        on_click=ss.__setitem__,
        args=("_im_pair_layers_for", source),
    )
    if ss.get("_im_pair_layers_for") != source:
        return
    with st.spinner("Fitting probes and comparing layers..."):
        probes = _cached("pair_probes", source, lambda: [_probes(h, ds)[0] for h in hs])
        x = ds.x_test[:CKA_INPUTS]
        rows, cols, matrix = _cached(
            "pair_cka", source, lambda: compare_layers(hs[0].model, hs[1].model, x)
        )
    chance = chance_accuracy(ds.y_train, ds.y_test)
    left, right = layout.columns(2, key=f"{key}_pair_layers", min_width=360, gap="medium")
    with left:
        st.plotly_chart(
            probe_figure(list(zip(labels, probes)), chance=chance),
            key=f"{key}_pair_probes",
            config=live.CHART_CONFIG,
        )
        for label, layers, h in zip(labels, probes, hs):
            network = h.classes.get("accuracy") if h.classes else None
            summary(f"{label.capitalize()}: " + probe_reading(layers, chance, network))
    with right:
        st.plotly_chart(
            cka_figure(rows, cols, matrix, labels[0], labels[1]),
            key=f"{key}_pair_cka",
            config=live.CHART_CONFIG,
        )
        summary(cka_reading(rows, cols, matrix, same=False))
