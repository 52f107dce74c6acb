"""Widgets several labs share: the training settings (optimizer, device, learning rate, batch
size, epochs, weight decay, seed) under each lab's key prefix, a list of layer widths typed as
text, and the labels of the toy datasets.

Every widget has an explicit key and keeps its value across page switches.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import streamlit as st

from dlviz.config import ConfigError, TrainConfig
from dlviz.text import plural
from dlviz.ui import fields, layout, url_state
from dlviz.ui.fields import KEEP
from dlviz.ui.state import devices, set_defaults

DATASET_LABELS = {
    "circle": "Circle",
    "xor": "XOR",
    "gauss": "Two blobs",
    "spiral": "Spiral",
    "moons": "Moons",
}


LEARNING_RATES = (0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


WEIGHT_DECAYS = (0.0, 0.00001, 0.0001, 0.001, 0.01, 0.1)


OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")


def training_fields(prefix: str) -> dict[str, url_state.Field]:
    """The shared training settings' choices, for a link (`dlviz.ui.url_state`); the epochs,
    seed and switches come from the lab's defaults (`url_state.numbers`)."""
    return {
        f"{prefix}_optimizer": url_state.choice(OPTIMIZERS),
        f"{prefix}_lr": url_state.choice(LEARNING_RATES),
        f"{prefix}_batch": url_state.choice(BATCH_SIZES),
        f"{prefix}_wd": url_state.choice(WEIGHT_DECAYS),
        f"{prefix}_device": url_state.choice(devices()),
    }


def preset_buttons(prefix: str, apply_preset, shallow_help: str, deep_help: str) -> None:
    """The Shallow / Deep preset buttons (keys ``{prefix}_preset_shallow`` and
    ``{prefix}_preset_deep``), drawn into the current container (a row of buttons:
    `dlviz.ui.layout.row`); each calls `apply_preset("shallow" | "deep")`."""
    for kind, label, help_text in (
        ("shallow", "Shallow", shallow_help),
        ("deep", "Deep", deep_help),
    ):
        st.button(
            label,
            key=f"{prefix}_preset_{kind}",
            on_click=apply_preset,
            args=(kind,),
            help=help_text,
            width="stretch",
        )


def init(defaults: dict[str, Any], prefix: str) -> None:
    """Give this session the page's defaults (widget key -> value); forget a device that is no longer here."""
    set_defaults(defaults)
    if st.session_state[f"{prefix}_device"] not in devices():
        st.session_state[f"{prefix}_device"] = "auto"


def parse_width_list(
    text: str, field: str, hi: int, most: int, least: int = 1, example: str = "8, 8, 8"
) -> tuple[int, ...]:
    """``"8, 8, 4"`` -> (8, 8, 4): `least` to `most` whole numbers from 1 to `hi`, separated
    by commas. Raises ConfigError(`field`) giving the rule and naming every bad entry."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    rule = (
        f"enter one whole number from 1 to {hi:,} for each layer, separated by commas "
        f"(e.g. {example})"
    )
    if len(parts) < least:
        raise ConfigError(field, f"no widths given; {rule}")
    bad = [p for p in parts if not (p.isdigit() and 1 <= int(p) <= hi)]
    if bad:
        shown = [repr(b) for b in bad[:5]] + ([f"{len(bad) - 5} more"] if len(bad) > 5 else [])
        named = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
        what = "is not a whole number" if len(bad) == 1 else "are not whole numbers"
        raise ConfigError(field, f"{named} {what} from 1 to {hi:,}; {rule}")
    if len(parts) > most:
        raise ConfigError(field, f"at most {plural(most, 'layer')}, got {len(parts)}; {rule}")
    return tuple(int(p) for p in parts)


def _fmt_lr(v: float) -> str:
    return f"{v:g}"


def training_controls(prefix: str) -> TrainConfig | None:
    """Optimizer, device, learning rate, batch size, epochs, weight decay and seed, under the
    keys ``{prefix}_optimizer`` ... (each page gives its own defaults for them)."""
    c1, c2 = st.columns(2)
    c1.selectbox(
        "Optimizer",
        OPTIMIZERS,
        format_func={
            "sgd": "SGD",
            "momentum": "SGD + momentum",
            "adam": "Adam",
            "adamw": "AdamW",
        }.get,
        key=f"{prefix}_optimizer",
        persist_state=KEEP,
    )
    c2.selectbox(
        "Device",
        devices(),
        key=f"{prefix}_device",
        help="auto picks a CUDA GPU, then Apple MPS, then the CPU. Only devices found here are "
        "listed.",
        persist_state=KEEP,
    )
    st.select_slider(
        "Learning rate",
        LEARNING_RATES,
        format_func=_fmt_lr,
        key=f"{prefix}_lr",
        persist_state=KEEP,
    )
    c1, c2 = st.columns(2)
    c1.select_slider("Batch size", BATCH_SIZES, key=f"{prefix}_batch", persist_state=KEEP)
    open_ended = f"{prefix}_until_stopped" in st.session_state  # the pages that offer it
    fields.number_input(
        c2,
        f"{prefix}_epochs",
        help="How many passes over the training data a run makes"
        + (
            " when it does not train until stopped; Train shallow vs deep always trains this many."
            if open_ended
            else "."
        ),
    )
    if open_ended:
        st.toggle(
            "Train until I press Stop",
            key=f"{prefix}_until_stopped",
            help="Training goes on, epoch after epoch, until you press Pause or Stop, as in "
            "TensorFlow Playground. Turn it off to train the number of epochs above.",
            persist_state=KEEP,
        )
    c1, c2 = st.columns(2)
    c1.select_slider(
        "Weight decay",
        WEIGHT_DECAYS,
        format_func=_fmt_lr,
        key=f"{prefix}_wd",
        persist_state=KEEP,
    )
    fields.number_input(c2, f"{prefix}_seed")
    if f"{prefix}_live_probes" in st.session_state:  # the pages that train classifiers
        st.toggle(
            "Probe every layer while it trains",
            key=f"{prefix}_live_probes",
            help="After an epoch, a linear classifier on each layer's activations of 256 "
            "training and 256 test samples, whenever it fits in 3% of the training time so "
            "far: where the classes become linearly separable, as the network learns. Off: "
            "the probes are fitted only when you ask, after training.",
            persist_state=KEEP,
        )
    try:
        return train_config(prefix)
    except ConfigError:  # a refused number: the page says so above Train
        return None


def train_config(prefix: str) -> TrainConfig:
    ss = st.session_state
    return TrainConfig(
        optimizer=ss[f"{prefix}_optimizer"],
        lr=float(ss[f"{prefix}_lr"]),
        batch_size=int(ss[f"{prefix}_batch"]),
        epochs=fields.value(f"{prefix}_epochs"),
        weight_decay=float(ss[f"{prefix}_wd"]),
        seed=fields.value(f"{prefix}_seed"),
        device=ss[f"{prefix}_device"],
        until_stopped=bool(ss.get(f"{prefix}_until_stopped", False)),
        probe_every=1 if ss.get(f"{prefix}_live_probes") else 0,
    )


# --- looking inside a run: which test item, which snapshot ----------------------------------------


def _random_item(key: str, n: int) -> None:
    st.session_state[key] = random.randrange(n)


def test_item_chooser(
    view: Any, key: str, n: int, label: str, help: str, random_help: str, row_key: str
) -> int:
    """Which of `n` test items (an image, a sequence) a live view shows: a number under `key`
    and a Random button beside it (``{key}_random``). Every run of `view` snapshots that one
    next; a refused number keeps the one shown and says why. Returns the index shown."""
    ss = st.session_state
    ss.setdefault(key, 0)
    c1, c2 = layout.columns([3, 2], key=row_key, min_width=140, vertical_alignment="bottom")
    fields.number_input(c1, key, f"{label} (0 to {n - 1})", help=help)
    c2.button(
        "Random",
        key=f"{key}_random",
        icon=":material/shuffle:",
        on_click=_random_item,
        args=(key, n),
        help=random_help,
        width="stretch",
    )
    refused = fields.problem(key, 0, n - 1, label)
    with st.container():
        if refused:  # keep showing what it showed; say why the typed one is not shown
            st.error(refused, icon=":material/error:")
    shown = view.handles[0].probe.choice().sample_index
    index = min(max(int(shown), 0), n - 1) if refused else int(ss[key])
    for handle in view.handles:
        handle.probe.choose(sample_index=index)  # the run's next snapshot takes this one
    return index


def snapshot_slider(key: str, owner: Any, snaps: Sequence[Any]) -> int:
    """The snapshot slider over a run's kept snapshots `snaps` (each with `step` and `epoch`),
    of the history `owner`: it follows the newest one unless the person has moved it back; then
    it keeps the snapshot they chose (by its step) while new ones arrive and the history thins
    itself. Returns the position chosen.

    The slider's key (``{key}_{len(snaps)}``) changes with the number of snapshots: a fresh
    widget starts at the position given here (a browser moved a kept one back to its old
    value)."""
    n = len(snaps)
    ss = st.session_state
    track = f"_{key}_track"
    last_n, last_steps, last_owner = ss.get(track, (0, [], None))
    chosen = ss.get(f"{key}_{last_n}") if last_owner is owner else None
    if chosen is None or chosen >= last_n - 1 or chosen >= len(last_steps):
        pos = n - 1  # a new run, or it was on the newest: follow
    else:
        step = last_steps[chosen]
        pos = min(range(n), key=lambda i: abs(snaps[i].step - step))
    with st.container():
        if n > 1:
            pos = st.select_slider(
                "Snapshot",
                options=list(range(n)),
                value=pos,
                key=f"{key}_{n}",
                format_func=lambda i: f"epoch {snaps[i].epoch}, step {snaps[i].step:,}",
                help=f"Scrub back through the {n} snapshots kept so far (evenly spread over "
                "the run; the newest is always kept).",
            )
    ss[track] = (n, [s.step for s in snaps], owner)
    return int(pos)
