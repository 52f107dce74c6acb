"""The Sequence lab's live view of one run: its curves and per-layer gradients; inside the
network, for a chosen test example and any snapshot of the run, the hidden states, the gates
and the gradient reaching each time step (recurrent networks), every head's attention and what
kind of work each head does (transformers), the forecast against the truth (series). What the
finished network does (ablation, sampling, forecasts, the reading) is in `view_finished`.

Everything here is drawn inside the live fragment (`live.live_panel`): the number and order of
elements stay the same from one refresh to the next, so the live charts update in place.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from dlviz.data import Dataset
from dlviz.figures.gradients import grad_norm_figure
from dlviz.history import RunHistory
from dlviz.labs.sequences import reading, view_finished, view_projector
from dlviz.labs.sequences.figures import (
    KIND_NAMES,
    attention_figure,
    forecast_figure,
    gates_figure,
    head_scores_figure,
    sequence_curves_figure,
    state_path_figure,
    states_figure,
    time_gradient_figure,
)
from dlviz.sequence_probe import HEAD_KINDS, SequenceSnapshot
from dlviz.text import plural
from dlviz.ui import layers as layer_views
from dlviz.ui import layout, live
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.widgets import snapshot_slider, test_item_chooser

KEEP = "session"
RECURRENT = ("rnn", "lstm", "gru")


def _cached_figure(name: str, source: Any, build):
    """The figure `build()` made for `source` the last time, if `source` is the same: a
    snapshot's figures are drawn once, not on every refresh."""
    cache = st.session_state.setdefault("_sq_figures", {})
    hit = cache.get(name)
    if hit is not None and hit[0] == source:
        return hit[1]
    fig = build()
    cache[name] = (source, fig)
    return fig


def view_data(view: live.View) -> Dataset:
    return live.view_dataset(view.handles[0])


def arch_of(h: RunHistory) -> str:
    return h.config.get("model", {}).get("arch", "") if isinstance(h.config, dict) else ""


def metrics_row(h: RunHistory, task: str, key: str, language: bool = False) -> None:
    """Epoch, time, speed and the task's two figures (`language`: a character model)."""
    c = layout.columns(5, key=f"{key}_metrics", min_width=120)
    final = h.final
    c[0].metric(f"Epoch (of {h.total_epochs})" if h.total_epochs else "Epoch", f"{h.epoch}")
    c[1].metric("Elapsed", f"{h.elapsed:.1f} s")
    c[2].metric("Sequences / s", f"{h.samples_per_second:,.0f}")
    if task == "forecast":
        c[3].metric("Test MSE", f"{final['test_mse']:.3g}" if "test_mse" in final else "-")
        c[4].metric(
            "Naive forecast MSE",
            f"{final['baseline_mse']:.3g}" if "baseline_mse" in final else "-",
            help="The last value seen, repeated: the baseline every forecast must beat.",
        )
    elif task == "tokens" and language:
        c[3].metric(
            "Next character right",
            f"{final['test_accuracy']:.1%}" if "test_accuracy" in final else "-",
        )
        c[4].metric(
            "Perplexity",
            f"{math.exp(final['test_loss']):.1f}" if "test_loss" in final else "-",
            help="e to the test loss: as unsure, at each character, as a choice among this "
            "many equally likely ones.",
        )
    elif task == "tokens":
        c[3].metric(
            "Test accuracy (tokens)",
            f"{final['test_accuracy']:.1%}" if "test_accuracy" in final else "-",
        )
        c[4].metric(
            "Whole answers",
            f"{final['test_sequence_accuracy']:.1%}" if "test_sequence_accuracy" in final else "-",
            help="Test sequences with every predicted token right: a whole answer right.",
        )
    else:
        c[3].metric("Train accuracy", f"{final['train_accuracy']:.1%}" if final else "-")
        c[4].metric("Test accuracy", f"{final['test_accuracy']:.1%}" if final else "-")


def _curves(h: RunHistory, ds: Dataset, key: str) -> None:
    left, right = layout.columns(2, key=f"{key}_health", min_width=420, gap="medium")
    with left:
        what = {
            "forecast": "**Loss and error**: the network's test MSE against the naive forecast's",
            "tokens": "**Loss and accuracy**: per token solid, whole answers dotted",
            "class": "**Loss and accuracy**: train dashed, test solid",
        }[ds.task]
        st.markdown(what)
        live_chart(sequence_curves_figure([("", h)], ds.task, height=320), key=f"{key}_curves")
        summary(reading.metrics_caption(h, ds.task))
    with right:
        st.markdown("**Gradient health**: mean weight-gradient norm per layer")
        with st.container():
            if h.layers and len(h.grad_norms):
                live_chart(grad_norm_figure(h, height=320), key=f"{key}_grads")
            summary(reading.layer_gradients_caption(h))


# --- choosing what to look at ------------------------------------------------------------------


def _example_chooser(view: live.View, ds: Dataset) -> int:
    """Which test sequence the inside views show (a number and a Random button); the run's
    next snapshot takes it."""
    n = len(ds.x_test)
    return test_item_chooser(
        view,
        "sq_example",
        n,
        "Test sequence",
        help=f"Which of the {plural(n, 'test sequence')} to look inside.",
        random_help="Draw one of the test sequences at random.",
        row_key="sq_example_row",
    )


def _example_text(snap: SequenceSnapshot, ds: Dataset) -> None:
    """The example's input, target and the network's answer, in words."""
    seq = ds.seq
    assert seq is not None
    if seq.task == "forecast":
        st.caption(
            f"Test window {snap.example}: the network sees {snap.length} values and "
            f"forecasts the next {seq.horizon}."
        )
        return
    text = reading.shown_text(
        snap.tokens, seq.vocab, seq.pad, seq.prompt, chars=reading.is_chars(ds)
    )
    right = snap.target == snap.prediction
    verdict = "right" if right else "wrong"
    conf = f" ({snap.confidence:.0%} sure)" if snap.confidence is not None else ""
    st.code(text, language=None, wrap_lines=True)
    st.markdown(
        f"Target: `{snap.target}` - the network says: `{snap.prediction}`{conf}: **{verdict}**"
    )


def _layer_choice(snap: SequenceSnapshot, key: str, label: str = "Layer") -> str:
    layers = list(snap.layers)
    ss = st.session_state
    k = f"{key}_layer"
    if ss.get(k) not in layers:
        ss[k] = layers[0]
    with st.container():
        if len(layers) > 1:
            st.selectbox(label, layers, key=k)
    return ss[k]


# --- the inside views ---------------------------------------------------------------------------


def _recurrent(h: RunHistory, snap: SequenceSnapshot, key: str) -> None:
    layer = _layer_choice(snap, key)
    arch = arch_of(h)
    left, right = layout.columns(2, key=f"{key}_rec", min_width=420, gap="medium")
    with left:
        st.markdown(f"**Hidden state of {layer}**: one row per unit, one column per step")
        live_chart(
            _cached_figure(
                "states", (snap.step, snap.example, layer), lambda: states_figure(snap, layer)
            ),
            key=f"{key}_states",
        )
        summary(
            "Each column is the state the network carries after reading that step: "
            "orange below zero, blue above. A row that keeps its colour across many steps "
            "is a unit holding on to something."
        )
    with right:
        gated = bool(snap.gates.get(layer))
        st.markdown(
            f"**Gates of {layer}**: mean (solid) and share saturated (dotted) at each step"
            if gated
            else f"**Gates of {layer}**: none"
        )
        live_chart(
            _cached_figure(
                "gates", (snap.step, snap.example, layer), lambda: gates_figure(snap, layer)
            ),
            key=f"{key}_gates",
        )
        summary(reading.gates_caption(snap, layer))
    st.markdown("**Gradient reaching each time step** (log scale): vanishing through time")
    first = h.seq[0] if h.seq else None
    pairs = (
        [("now", snap)]
        if first is None or first is snap
        else [("at the start", first), ("now", snap)]
    )
    live_chart(
        _cached_figure(
            "time_grads",
            (snap.step, first.step if first else -1),
            lambda: time_gradient_figure(pairs, height=280),
        ),
        key=f"{key}_time_grads",
    )
    summary(reading.time_gradient_caption(first, snap))
    if arch not in RECURRENT:
        st.caption("Without a recurrence the gradient reaches each step through the layers only.")
    st.markdown(f"**The path of {layer}'s state through time**")
    live_chart(
        _cached_figure(
            "state_path", (snap.step, snap.example, layer), lambda: state_path_figure(snap, layer)
        ),
        key=f"{key}_state_path",
    )
    summary(
        f"The state after each position of this example, {layer}'s {plural(snap.states[layer].shape[0], 'unit')} "
        "flattened to the two directions along which this example's states differ most "
        "(PCA): dark at the start, yellow at the end. A long step is a position whose input "
        "moved the state a lot; where the dots bunch up, the state changed little along "
        "these two directions."
        if layer in snap.states
        else f"No states were recorded for {layer}."
    )


ALL_LAYERS = "every layer"
MAX_ALL_MAPS = 16  # layers x heads shown at once by default; more: one layer at a time


def _attention_choice(snap: SequenceSnapshot, key: str) -> str:
    """Every layer's heads at once (when they are few), or one layer's."""
    layers = list(snap.attention)
    maps = sum(int(snap.attention[n].shape[0]) for n in layers)
    options = ([ALL_LAYERS] if len(layers) > 1 and maps <= MAX_ALL_MAPS else []) + layers
    ss = st.session_state
    k = f"{key}_att_layer"
    if ss.get(k) not in options:
        ss[k] = options[0]
    with st.container():
        if len(options) > 1:
            st.selectbox("Attention of", options, key=k)
    return ss[k]


def _transformer(h: RunHistory, snap: SequenceSnapshot, key: str) -> None:
    choice = _attention_choice(snap, key)
    layer = None if choice == ALL_LAYERS else choice
    heads = sum(int(a.shape[0]) for n, a in snap.attention.items() if layer in (None, n))
    where = "every layer" if layer is None else layer
    st.markdown(
        f"**Attention of {where}**: each row is a position looking at the ones it attends to "
        f"({plural(heads, 'head')})"
    )
    live_chart(
        _cached_figure(
            "attention", (snap.step, snap.example, choice), lambda: attention_figure(snap, layer)
        ),
        key=f"{key}_attention",
    )
    summary(
        "Bright cells: where a position takes its information from. A bright line just below "
        "the diagonal is a head reading the previous token; a bright diagonal, itself."
        + (" Positions are averaged in bins." if snap.attention_bins > 1 else "")
    )
    ss = st.session_state
    kind_key = f"{key}_head_kind"
    if ss.get(kind_key) not in range(len(HEAD_KINDS)):
        ss[kind_key] = 0
    st.markdown("**What kind of work each head does**, over training, with the batch loss")
    st.segmented_control(
        "Head score",
        list(range(len(HEAD_KINDS))),
        format_func=lambda i: KIND_NAMES.get(HEAD_KINDS[i], HEAD_KINDS[i]),
        key=kind_key,
        required=True,
        help="previous: attention on the token just before. self: on itself. duplicate: on "
        "earlier copies of its own token. induction: on the token that followed an earlier "
        "copy of its own ('A B … A' looks at B).",
    )
    kind = int(ss[kind_key])
    heads = h.heads.to_dict()
    losses = h.steps.to_dict()
    live_chart(
        head_scores_figure(
            heads["step"], heads["scores"], kind, losses["step"], losses["loss"], height=300
        ),
        key=f"{key}_heads",
    )
    summary(reading.heads_caption(heads["step"], heads["scores"], done=h.done))


def _forecast(snap: SequenceSnapshot, ds: Dataset, key: str) -> None:
    seq = ds.seq
    assert seq is not None
    st.markdown("**The example's forecast**: the network's and the baselines', against the truth")
    truth = ds.y_test[snap.example].numpy()
    forecasts = {"network": snap.forecast} if snap.forecast is not None else {}
    forecasts.update(_baselines(ds, snap.example))
    live_chart(
        _cached_figure(
            "forecast",
            (snap.step, snap.example),
            lambda: forecast_figure(snap.values, truth, forecasts, height=300),
        ),
        key=f"{key}_forecast",
    )
    summary(
        f"The last {snap.length} values it saw (grey), the next {seq.horizon} (dashed), the "
        "network's forecast of them and the baselines' (the last value repeated; one season "
        "back; a linear fit of the window), which need no training."
    )


def _baselines(ds: Dataset, example: int) -> dict[str, Any]:
    """The baselines' forecasts of test window `example` (the linear fit made once a dataset)."""
    from dlviz import forecast

    seq = ds.seq
    assert seq is not None
    cache = st.session_state.setdefault("_sq_linear_ar", {})
    if cache.get("data") is not ds:
        cache.clear()
        cache["data"] = ds
        cache["ar"] = forecast.LinearAR.fit(ds.x_train[:, :, 0].numpy(), ds.y_train.numpy())
    window = ds.x_test[example : example + 1, :, 0].numpy()
    out = {"naive": forecast.naive(window, seq.horizon)[0]}
    seasonal = forecast.seasonal_naive(window, seq.horizon, seq.period)
    if seasonal is not None:
        out["seasonal naive"] = seasonal[0]
    out["linear AR"] = cache["ar"].predict(window)[0]
    return out


def _inside(view: live.View, key: str) -> None:
    handle = view.handles[0]
    h = handle.history
    ds = view_data(view)
    st.markdown("#### Inside the network")
    choose, scrub = layout.columns(
        [2, 3], key=f"{key}_choose", min_width=300, gap="medium", vertical_alignment="bottom"
    )
    with choose:
        index = _example_chooser(view, ds)
    snap = None
    with scrub:
        if h.seq:
            snap = h.seq[snapshot_slider(f"{key}_seq", h, h.seq)]
    if snap is None:
        st.caption("The insides appear with the first snapshot, a moment after training starts.")
        return
    with st.container():
        if not h.done and snap.example != index:
            st.caption("Your choice shows from the next snapshot, in a second or so.")
        _example_text(snap, ds)
    arch = arch_of(h)
    if ds.task == "forecast":
        _forecast(snap, ds, key)
    if arch == "transformer":
        _transformer(h, snap, key)
    else:
        _recurrent(h, snap, key)


def draw_single(view: live.View, key: str) -> None:
    h = view.handles[0].history
    ds = view_data(view)
    live.status_line("", h)
    metrics_row(h, ds.task, key, language=ds.name in ("chars", "own_text"))
    _curves(h, ds, key)
    _inside(view, key)
    if ds.task == "class":
        view_projector.draw(h, ds, key)
    if ds.task in ("class", "tokens"):
        layer_views.draw(h, ds, key, prefix="sq", noun="sequences")
    if h.done and h.model is not None and h.status in ("finished", "stopped"):
        view_finished.draw(h, ds, key)


def live_view(key: str) -> None:
    """The session's sequence run under `key`, live while it trains."""
    live.live_panel(key, single=draw_single)
