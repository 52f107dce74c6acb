"""Widgets several labs share: the training settings (optimizer, device, learning rate, batch
size, epochs, weight decay, seed) under each lab's key prefix, a list of layer widths typed as
text, and the labels of the toy datasets.

Every widget has an explicit key and keeps its value across page switches.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dlviz.config import ConfigError, TrainConfig
from dlviz.text import plural
from dlviz.ui import fields
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
        ("sgd", "momentum", "adam", "adamw"),
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
    )
