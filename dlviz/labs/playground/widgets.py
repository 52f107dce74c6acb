"""The Playground's widgets. Each `*_controls()` draws its widgets and returns its config part.

Every widget has an explicit key (prefix ``pg_``) and keeps its value across page switches.
The training widgets take a key prefix, so the Images page shares them under its own keys.
The hidden-layer widths are one list held as text (``"8, 8, 8"``); the layer-count and
width-for-all widgets, and the Shallow / Deep presets, rewrite that text through callbacks.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dlviz.config import (
    DEEP_HIDDEN,
    MAX_HIDDEN_LAYERS,
    MAX_WIDTH,
    SHALLOW_HIDDEN,
    TOY_DATASETS,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from dlviz.text import plural
from dlviz.ui import fields
from dlviz.ui.state import devices, set_defaults

KEEP = "session"  # widget values survive a page switch

DATASET_LABELS = {
    "circle": "Circle",
    "xor": "XOR",
    "gauss": "Two blobs",
    "spiral": "Spiral",
    "moons": "Moons",
}
WIDTHS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64, 128, 256)
LEARNING_RATES = (0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
SAMPLE_COUNTS = (100, 200, 500, 1000, 2000, 5000, 10000)
WEIGHT_DECAYS = (0.0, 0.00001, 0.0001, 0.001, 0.01, 0.1)

DEFAULTS: dict[str, Any] = {
    "pg_dataset": "spiral",
    "pg_noise": 0.1,
    "pg_test_fraction": 0.3,
    "pg_samples": 1000,
    "pg_data_seed": 0,
    "pg_layers": 3,
    "pg_width": 8,
    "pg_widths": "8, 8, 8",
    "pg_activation": "relu",
    "pg_residual": False,
    "pg_norm": "none",
    "pg_dropout": 0.0,
    "pg_optimizer": "adam",
    "pg_lr": 0.01,
    "pg_batch": 32,
    "pg_until_stopped": True,
    "pg_epochs": 200,
    "pg_wd": 0.0,
    "pg_seed": 0,
    "pg_device": "auto",
}


def init(defaults: dict[str, Any] = DEFAULTS, prefix: str = "pg") -> None:
    """Give this session the page's defaults; forget a device that is no longer here."""
    set_defaults(defaults)
    if st.session_state[f"{prefix}_device"] not in devices():
        st.session_state[f"{prefix}_device"] = "auto"


# --- hidden widths ----------------------------------------------------------------------------


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


def parse_widths(text: str) -> tuple[int, ...]:
    """``"8, 8, 4"`` -> (8, 8, 4). Raises ConfigError giving the rule and the bad entries."""
    return parse_width_list(text, "hidden widths", MAX_WIDTH, MAX_HIDDEN_LAYERS)


def _current_widths() -> tuple[int, ...]:
    try:
        return parse_widths(st.session_state["pg_widths"])
    except ConfigError:
        return (st.session_state["pg_width"],) * st.session_state["pg_layers"]


def _set_widths(widths: tuple[int, ...]) -> None:
    st.session_state["pg_widths"] = ", ".join(map(str, widths))
    st.session_state["pg_layers"] = len(widths)


def _on_layers() -> None:
    if fields.problem("pg_layers"):
        return  # refused: the page says so, and the widths stay as they are
    n = int(st.session_state["pg_layers"])
    w = list(_current_widths())
    fill = w[-1] if w else st.session_state["pg_width"]
    _set_widths(tuple((w + [fill] * n)[:n]))


def _on_width() -> None:
    _set_widths((st.session_state["pg_width"],) * st.session_state["pg_layers"])


def _on_widths_text() -> None:
    try:
        _set_widths(parse_widths(st.session_state["pg_widths"]))
    except ConfigError:
        pass  # shown under the field by network_controls


def apply_preset(kind: str) -> None:
    """Shallow: one hidden layer of 8. Deep: six of 8. Other settings stay as they are."""
    widths = SHALLOW_HIDDEN if kind == "shallow" else DEEP_HIDDEN
    _set_widths(widths)
    st.session_state["pg_width"] = widths[0]


# --- the three panels -----------------------------------------------------------------------


def preset_buttons() -> None:
    """The Shallow / Deep presets: they set the hidden layers and keep every other setting.
    Drawn into the current container (a row of buttons: `dlviz.ui.layout.row`)."""
    st.button(
        "Shallow",
        key="pg_preset_shallow",
        on_click=apply_preset,
        args=("shallow",),
        help="One hidden layer of 8 neurons.",
        width="stretch",
    )
    st.button(
        "Deep",
        key="pg_preset_deep",
        on_click=apply_preset,
        args=("deep",),
        help="Six hidden layers of 8 neurons.",
        width="stretch",
    )


def data_controls() -> DataConfig | None:
    st.segmented_control(
        "Dataset",
        list(TOY_DATASETS),
        format_func=DATASET_LABELS.get,
        key="pg_dataset",
        required=True,
        persist_state=KEEP,
    )
    st.slider(
        "Noise",
        0.0,
        1.0,
        step=0.05,
        key="pg_noise",
        help="Standard deviation of the jitter added to every point, in units of half the "
        "plotted square (0.1: a little, 0.5: classes overlap a lot).",
        persist_state=KEEP,
    )
    st.slider(
        "Test share",
        0.1,
        0.9,
        step=0.05,
        key="pg_test_fraction",
        help="The share of points held out to measure how well the network generalises.",
        persist_state=KEEP,
    )
    c1, c2 = st.columns(2)
    c1.select_slider("Samples", SAMPLE_COUNTS, key="pg_samples", persist_state=KEEP)
    fields.number_input(c2, "pg_data_seed")
    try:
        return data_config()
    except ConfigError:  # a refused seed: the page says so above Train
        return None


def network_controls() -> ModelConfig | None:
    """The network widgets; None (with the error shown under them) when the widths text is
    invalid."""
    c1, c2 = st.columns(2)
    c1.number_input(
        "Hidden layers", key="pg_layers", step=1, on_change=_on_layers, persist_state=KEEP
    )
    c2.select_slider(
        "Width (all layers)", WIDTHS, key="pg_width", on_change=_on_width, persist_state=KEEP
    )
    st.text_input(
        "Widths per layer",
        key="pg_widths",
        on_change=_on_widths_text,
        help="One width per hidden layer, input side first, e.g. 16, 8, 4.",
        persist_state=KEEP,
    )
    model = None
    try:
        model = model_config()
    except ConfigError as e:
        label = "Widths per layer" if e.field == "hidden widths" else e.field
        st.error(f"{label}: {str(e).split(': ', 1)[1]}.")
    c1, c2 = st.columns(2)
    c1.selectbox(
        "Activation", ("relu", "tanh", "sigmoid", "gelu"), key="pg_activation", persist_state=KEEP
    )
    c2.selectbox(
        "Normalisation",
        ("none", "batch", "layer"),
        format_func={"none": "none", "batch": "batch norm", "layer": "layer norm"}.get,
        key="pg_norm",
        persist_state=KEEP,
    )
    st.slider("Dropout", 0.0, 0.9, step=0.05, key="pg_dropout", persist_state=KEEP)
    st.toggle(
        "Residual connections",
        key="pg_residual",
        help="Each hidden layer after the first adds its input to its output (x + f(x)), "
        "giving gradients a short path back to the early layers.",
        persist_state=KEEP,
    )
    return model


def _fmt_lr(v: float) -> str:
    return f"{v:g}"


def training_controls(prefix: str = "pg") -> TrainConfig | None:
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


# --- widget values -> config (also used by button callbacks, which run before the widgets) ---


def data_config() -> DataConfig:
    ss = st.session_state
    return DataConfig(
        name=ss["pg_dataset"],
        n_samples=ss["pg_samples"],
        noise=float(ss["pg_noise"]),
        test_fraction=float(ss["pg_test_fraction"]),
        seed=fields.value("pg_data_seed"),
    )


def model_config() -> ModelConfig:
    """Raises ConfigError when the widths text is not valid."""
    ss = st.session_state
    fields.value("pg_layers")  # a refused layer count blocks training too
    return ModelConfig(
        arch="mlp",
        hidden=parse_widths(ss["pg_widths"]),
        activation=ss["pg_activation"],
        residual=bool(ss["pg_residual"]),
        norm=ss["pg_norm"],
        dropout=float(ss["pg_dropout"]),
    )


def train_config(prefix: str = "pg") -> TrainConfig:
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


def run_config() -> RunConfig:
    """The run the widgets describe now. Raises ConfigError naming what is wrong."""
    return RunConfig(data=data_config(), model=model_config(), train=train_config())
