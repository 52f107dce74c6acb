"""What each layer of a trained network holds, for every lab that trains a classifier (the Image
lab, Your images, Sound, Sequences, Transfer): a linear probe at every layer (where do the
classes become linearly separable?) and linear CKA between its layers; for several runs on the
same data (shallow and deep twins, transfer strategies), their probes on one chart and CKA
between the first two. Fitted on a button press (seconds), cached per network; the sentences
under the charts are computed from what they show (`dlviz.captions.probe_reading`,
`cka_reading`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import streamlit as st

from dlviz.captions import cka_reading, probe_history_reading, probe_reading
from dlviz.data import Dataset
from dlviz.events import PROBE_SHARE
from dlviz.figures.layers import cka_figure, probe_figure, probe_history_figure
from dlviz.history import RunHistory
from dlviz.representations import (
    LIVE_FEATURES,
    LIVE_TEST,
    LIVE_TRAIN,
    MAX_FEATURES,
    MAX_TEST,
    MAX_TRAIN,
    ProbeError,
    chance_accuracy,
    compare_layers,
    probe_layers,
)
from dlviz.ui import layout, live
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import remembered

CKA_INPUTS = 500  # test samples CKA compares the layers on ...
CKA_ROWS = 4096  # ... and for a class at each position, positions at most (whole sequences)


def _cached(prefix: str, name: str, source: Any, build):
    return remembered(f"_{prefix}_layers_cache", name, source, build)


def rows_noun(ds: Dataset, noun: str) -> str:
    """What a probe's rows are: the lab's samples, or their positions for a per-token task."""
    return f"positions of {noun}" if ds.task == "tokens" else noun


def cka_inputs(ds: Dataset):
    """The test samples CKA runs on: CKA_INPUTS of them, fewer long sequences for a per-token
    task (each real position is a row)."""
    x = ds.x_test
    if ds.task == "tokens" and x.ndim == 2 and x.shape[1] > 0:
        return x[: max(16, min(CKA_INPUTS, CKA_ROWS // int(x.shape[1])))]
    return x[:CKA_INPUTS]


def timed_probes(model, ds: Dataset) -> tuple[list[dict[str, Any]], float]:
    start = time.perf_counter()
    layers = probe_layers(model, ds)
    return layers, time.perf_counter() - start


def probe_caption(ds: Dataset, noun: str, seconds: float | None = None) -> str:
    rows = rows_noun(ds, noun)
    pooled = (
        f"; feature maps average-pooled to at most {MAX_FEATURES:,} numbers"
        if ds.x_train.ndim > 2
        else ""
    )
    return (
        f"Each dot: a logistic regression fitted on that layer's activations of up to "
        f"{MAX_TRAIN:,} training {rows} and scored on up to {MAX_TEST:,} test {rows}, the "
        f"network itself frozen{pooled}." + (f" {seconds:.1f} s." if seconds is not None else "")
    )


def cka_caption(n: int, noun: str) -> str:
    return (
        f"Linear CKA (Kornblith et al. 2019) between two layers' activations of the same {n:,} "
        f"test {noun}: 1 when one is a rotation or rescaling of the other, near 0 when they "
        "share nothing."
    )


def _pressed(flag: str, source: Any) -> bool:
    return st.session_state.get(flag) == source


def _button(label: str, key: str, flag: str, source: Any, icon: str, help: str | None = None):
    st.button(
        label,
        key=key,
        icon=icon,
        disabled=_pressed(flag, source),
        on_click=st.session_state.__setitem__,
        args=(flag, source),
        help=help,
    )


def probes_live(h: RunHistory) -> bool:
    """The run was set to probe its layers while it trains (train.probe_every)."""
    return bool((h.config or {}).get("train", {}).get("probe_every"))


def _live_probes(h: RunHistory, ds: Dataset, key: str, prefix: str, noun: str) -> None:
    """The probes taken while the run trained, one line each, as they come."""
    epochs = h.probes.column("epoch")
    if not epochs or not h.probe_layers:
        if not h.done:
            st.caption(
                f"The first probe comes once it fits in {PROBE_SHARE:.0%} of the training "
                "time so far: after a few epochs, sooner on a long run."
            )
        return
    accuracies = h.probes.column("accuracy")
    chance = chance_accuracy(ds.y_train, ds.y_test)
    fig = remembered(
        f"_{prefix}_layers_cache",
        "live",
        (h.probes, h.probes.seen),
        lambda: probe_history_figure(h.probe_layers, epochs, accuracies, chance),
    )
    live_chart(fig, key=f"{key}_live_probes")
    summary(probe_history_reading(h.probe_layers, epochs, accuracies))
    rows = rows_noun(ds, noun)
    st.caption(
        f"While it trains: after an epoch, a logistic regression on each layer's activations of "
        f"{LIVE_TRAIN} training {rows}, scored on {LIVE_TEST} test {rows} (at most "
        f"{LIVE_FEATURES} numbers a layer), whenever it fits in {PROBE_SHARE:.0%} of the "
        "training time so far; the last line is the trained network"
        + (", probed after training." if h.done else ".")
    )


def draw(h: RunHistory, ds: Dataset, key: str, prefix: str, noun: str = "images") -> None:
    """A classification run: its live probes as they come (train.probe_every), then, once it
    has ended, its probes and its layers' CKA, each on a button (``{prefix}_probe_fit``,
    ``{prefix}_cka_fit``; charts ``{key}_live_probes``, ``{key}_probes``, ``{key}_cka``)."""
    finished = h.done and h.model is not None
    live_probes = probes_live(h)
    if not finished and not live_probes:
        return
    st.markdown("#### Where the classes become linearly separable")
    if live_probes:
        _live_probes(h, ds, key, prefix, noun)
    if not finished:
        return
    left, right = layout.columns(2, key=f"{key}_layers", min_width=360, gap="medium")
    with left:
        source, flag = (h.model,), f"_{prefix}_probe_for"
        _button(
            "Fit a linear probe at every layer",
            f"{prefix}_probe_fit",
            flag,
            source,
            ":material/straighten:",
            help="A logistic regression on each layer's frozen activations (a few seconds)"
            + (", on more samples than the probes during training." if live_probes else "."),
        )
        if _pressed(flag, source):
            try:
                with st.spinner("Fitting a probe at every layer..."):
                    layers, seconds = _cached(
                        prefix, "probes", source, lambda: timed_probes(h.model, ds)
                    )
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
            st.caption(probe_caption(ds, noun, seconds))
    with right:
        source, flag = (h.model, "cka"), f"_{prefix}_cka_for"
        _button(
            "Compare every layer with every other (CKA)",
            f"{prefix}_cka_fit",
            flag,
            source,
            ":material/grid_on:",
        )
        if _pressed(flag, source):
            x = cka_inputs(ds)
            with st.spinner("Comparing every pair of layers..."):
                rows, cols, matrix = _cached(
                    prefix, "cka", source, lambda: compare_layers(h.model, h.model, x)
                )
            st.plotly_chart(
                cka_figure(rows, cols, matrix, "layer", "layer"),
                key=f"{key}_cka",
                config=live.CHART_CONFIG,
            )
            summary(cka_reading(rows, cols, matrix, same=True))
            st.caption(cka_caption(len(x), noun))


def draw_runs(
    labels: Sequence[str],
    hs: Sequence[RunHistory],
    data: Dataset | Sequence[Dataset],
    key: str,
    prefix: str,
    noun: str = "images",
    title: str = "Where each network separates the classes",
    cka: bool = True,
) -> bool:
    """Several finished runs on the same task (twins, strategies): their probes on one chart,
    each with its reading, and with `cka` CKA between the first two runs' layers; on one button
    (``{prefix}_pair_layers_fit``; charts ``{key}_pair_probes``, ``{key}_pair_cka``). `data`:
    the data every run probes, or each run's own (the same task, as each network takes it).
    Runs still training, or without a network, are left out. True when the probes are drawn."""
    kept = [
        (label, h, d)
        for label, h, d in zip(labels, hs, data if isinstance(data, Sequence) else [data] * len(hs))
        if h.done and h.model is not None
    ]
    if len(kept) < 2:
        return False
    st.markdown(f"#### {title}")
    source = tuple(h.model for _, h, _ in kept)
    flag = f"_{prefix}_pair_layers_for"
    _button(
        "Fit probes and compare the networks' layers"
        if cka
        else "Fit a probe at every layer of each network",
        f"{prefix}_pair_layers_fit",
        flag,
        source,
        ":material/straighten:",
        help="A logistic regression on each layer's frozen activations, for each network "
        "(seconds a network).",
    )
    if not _pressed(flag, source):
        return False
    try:
        with st.spinner("Fitting probes" + (" and comparing layers..." if cka else "...")):
            probes = _cached(
                prefix,
                "pair_probes",
                source,
                lambda: [timed_probes(h.model, d)[0] for _, h, d in kept],
            )
            if cka:
                x = cka_inputs(kept[0][2])
                rows, cols, matrix = _cached(
                    prefix,
                    "pair_cka",
                    source,
                    lambda: compare_layers(kept[0][1].model, kept[1][1].model, x),
                )
    except ProbeError as e:
        st.error(str(e), icon=":material/error:")
        return False
    ds = kept[0][2]
    chance = chance_accuracy(ds.y_train, ds.y_test)
    names = [label for label, _, _ in kept]
    parts = (
        layout.columns(2, key=f"{key}_pair_layers", min_width=360, gap="medium")
        if cka
        else [st.container()]
    )
    with parts[0]:
        st.plotly_chart(
            probe_figure(list(zip(names, probes)), chance=chance),
            key=f"{key}_pair_probes",
            config=live.CHART_CONFIG,
        )
        for (label, h, _), layers in zip(kept, probes):
            network = h.classes.get("accuracy") if h.classes else None
            summary(f"{label[:1].upper() + label[1:]}: " + probe_reading(layers, chance, network))
        st.caption(probe_caption(ds, noun))
    if cka:
        with parts[1]:
            st.plotly_chart(
                cka_figure(rows, cols, matrix, names[0], names[1]),
                key=f"{key}_pair_cka",
                config=live.CHART_CONFIG,
            )
            summary(cka_reading(rows, cols, matrix, same=False))
            st.caption(cka_caption(len(x), noun))
    return True
