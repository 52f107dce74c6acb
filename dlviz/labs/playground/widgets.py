"""The Playground's widgets. Each `*_controls()` draws its widgets and returns its config part.

Every widget has an explicit key (prefix ``pg_``) and keeps its value across page switches.
The training widgets are the shared ones (`dlviz.ui.widgets`) under the prefix ``pg``.
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
    preset,
)
from dlviz.ui import fields, live, open_settings, url_state, widgets
from dlviz.ui.fields import KEEP
from dlviz.ui.widgets import DATASET_LABELS, parse_width_list, train_config

WIDTHS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64, 128, 256)
SAMPLE_COUNTS = (100, 200, 500, 1000, 2000, 5000, 10000)

VIEW = "pg_view"
PROBLEM = "pg_problem"

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


def init(link: bool = True) -> None:
    """Give this session the Playground's defaults; forget a device that is no longer here;
    take the settings of a run opened here (`dlviz.ui.open_settings`)."""
    widgets.init(DEFAULTS, prefix="pg")
    if not link:  # another page reads these settings: its URL is its own
        return
    url_state.sync("pg", url_fields(), DEFAULTS, after=_after_link)
    open_settings.apply("pg")


def url_fields() -> dict[str, url_state.Field]:
    """The settings a link carries (the layer count and width follow from the widths)."""
    out = {
        **url_state.numbers(DEFAULTS),
        "pg_dataset": url_state.choice(TOY_DATASETS),
        "pg_noise": url_state.real(0.0, 1.0, 0.05),
        "pg_test_fraction": url_state.real(0.1, 0.9, 0.05),
        "pg_samples": url_state.choice(SAMPLE_COUNTS),
        "pg_widths": url_state.text(parse_widths),
        "pg_activation": url_state.choice(("relu", "tanh", "sigmoid", "gelu")),
        "pg_norm": url_state.choice(("none", "batch", "layer")),
        "pg_dropout": url_state.real(0.0, 0.9, 0.05),
        **widgets.training_fields("pg"),
    }
    out.pop("pg_layers", None)
    return out


def _after_link(values: dict[str, Any]) -> None:
    if "pg_widths" in values:
        widths = parse_widths(values["pg_widths"])
        _set_widths(widths)
        if widths[0] in WIDTHS:
            st.session_state["pg_width"] = widths[0]


def from_config(cfg: RunConfig, s: open_settings.Setter) -> None:
    """The widget values of `cfg` (a run to open here); what the widgets cannot show, named."""
    d, m = cfg.data, cfg.model
    s.choice("pg_dataset", d.name, TOY_DATASETS, "data.name")
    s.between("pg_noise", d.noise, 0.0, 1.0, "data.noise")
    s.between("pg_test_fraction", d.test_fraction, 0.1, 0.9, "data.test_fraction")
    s.choice("pg_samples", d.n_samples, SAMPLE_COUNTS, "data.n_samples")
    s.number("pg_data_seed", d.seed, "data.seed")
    if m.arch != "mlp":
        s.skip(f"model.arch {m.arch!r} (the Playground trains MLPs)")
    elif 1 <= len(m.hidden) <= MAX_HIDDEN_LAYERS and all(1 <= w <= MAX_WIDTH for w in m.hidden):
        s.put("pg_widths", ", ".join(map(str, m.hidden)))
        s.put("pg_layers", len(m.hidden))
        if m.hidden[0] in WIDTHS:
            s.put("pg_width", m.hidden[0])
    else:
        s.skip(f"model.hidden {list(m.hidden)} (this page takes 1 to {MAX_HIDDEN_LAYERS} "
               f"layers of 1 to {MAX_WIDTH:,})")  # fmt: skip
    s.choice("pg_activation", m.activation, ("relu", "tanh", "sigmoid", "gelu"),
             "model.activation")  # fmt: skip
    s.choice("pg_norm", m.norm or "none", ("none", "batch", "layer"), "model.norm")
    s.between("pg_dropout", m.dropout, 0.0, 0.9, "model.dropout")
    s.put("pg_residual", bool(m.residual))
    open_settings.training("pg", cfg.train, s, DEFAULTS)


# --- hidden widths ----------------------------------------------------------------------------


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
    widgets.preset_buttons(
        "pg",
        apply_preset,
        shallow_help="One hidden layer of 8 neurons.",
        deep_help="Six hidden layers of 8 neurons.",
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


def run_config() -> RunConfig:
    """The run the widgets describe now. Raises ConfigError naming what is wrong."""
    return RunConfig(data=data_config(), model=model_config(), train=train_config("pg"))


def settings_problem() -> str:
    """Why the widgets' settings cannot train now, or a refused Train's message ("" when they
    can)."""
    problem = st.session_state.pop(PROBLEM, "")
    try:
        run_config()
    except ConfigError as e:
        problem = (
            "Fix the hidden-layer widths (Network tab) to train."
            if e.field == "hidden widths"
            else f"These settings cannot train: {e}."
        )
    return problem


def start(kind: str) -> None:
    """Button callback: it runs before the page is drawn, so the page that follows already
    shows the run, with Train disabled and the first loss point on the chart."""
    try:
        config = run_config()
    except ConfigError as e:
        st.session_state[PROBLEM] = f"These settings cannot train: {e}."
        return
    if kind == "single":
        view = live.start_view(VIEW, [config], ["run"], kind="single")
    else:  # one after the other: each trains the epoch limit, even when Train would not stop
        config = config.with_changes(train={"until_stopped": False})
        pair = [preset("shallow", config), preset("deep", config)]
        view = live.start_view(VIEW, pair, ["shallow", "deep"], kind="pair")
    live.wait_first_point(view)
