"""The Images page's settings: image data, a CNN you shape (presets, a blocks table, the head),
training; what they make (a RunConfig, a layer table, a diagram) and the Train callbacks. Every
widget key starts with ``im_``; the live view is in `dlviz.labs.images.view`.

The conv blocks are held in session state as a tuple of `ConvBlock` (``im_blocks``); the blocks
table shows them, and each edit is folded back into that tuple (`apply_edits`) and the table
drawn afresh under a new key. The Shallow / Deep presets rewrite the tuple the same way.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
import torch

from dlviz.config import (
    ACTIVATIONS,
    DEEP_BLOCKS,
    DIGITS_COUNT,
    NORMS,
    POOLS,
    SHALLOW_BLOCKS,
    ConfigError,
    ConvBlock,
    DataConfig,
    ModelConfig,
    RunConfig,
)
from dlviz.data import Dataset
from dlviz.figures.rasters import image_grid_figure
from dlviz.labs.images.blocks import (  # the table's rows and edits
    DEFAULT,
    apply_edits,
    blocks_frame,
)
from dlviz.labs.images.figures import cnn_figure
from dlviz.models import build_model, cnn_layer_table
from dlviz.text import plural
from dlviz.ui import fields, live, open_settings, url_state
from dlviz.ui import widgets as shared_widgets
from dlviz.ui.state import dataset

KEEP = "session"  # widget values survive a page switch
VIEW = "im_view"
PROBLEM = "im_problem"

# What each preset sets besides its blocks; activation, dropout and the residual switch stay.
PRESETS: dict[str, dict[str, Any]] = {
    "shallow": {"blocks": SHALLOW_BLOCKS, "head": (), "head_pool": "flatten", "norm": "none"},
    "deep": {"blocks": DEEP_BLOCKS, "head": (), "head_pool": "avg", "norm": "batch"},
}

DATASET_LABELS = {"shapes": "Shapes", "digits": "Digits"}
SHAPE_SAMPLES = (300, 600, 1200, 2400, 5000)
DIGIT_SAMPLES = (300, 600, 1000, DIGITS_COUNT)
DIGIT_SIZES = (8, 16, 28, 32)
HEAD_POOL_LABELS = {"avg": "global average", "flatten": "flatten"}
NORM_LABELS = {"none": "none", "batch": "batch norm", "layer": "layer norm"}

DEFAULTS: dict[str, Any] = {
    "im_dataset": "shapes",
    "im_shapes_size": 32,
    "im_channels": 1,
    "im_noise": 0.1,
    "im_clutter": 0,
    "im_shapes_samples": 1200,
    "im_digits_size": 8,
    "im_digits_samples": DIGITS_COUNT,
    "im_test_fraction": 0.3,
    "im_data_seed": 0,
    "im_blocks": DEEP_BLOCKS,  # not a widget: the blocks table edits it through a callback
    "im_blocks_version": 0,
    "im_head": "",
    "im_head_pool": "avg",
    "im_activation": "relu",
    "im_norm": "batch",
    "im_residual": False,
    "im_dropout": 0.0,
    "im_optimizer": "adam",
    "im_lr": 0.003,
    "im_batch": 32,
    "im_epochs": 10,
    "im_live_probes": True,
    "im_wd": 0.0,
    "im_seed": 0,
    "im_device": "auto",
    "im_sample": 0,
}


def init(link: bool = True) -> None:
    shared_widgets.init(DEFAULTS, prefix="im")
    if not link:  # another page reads these settings: its URL is its own
        return
    url_state.sync("im", url_fields(), DEFAULTS, after=_after_link)
    open_settings.apply("im")


def _blocks_from(obj: Any) -> tuple[ConvBlock, ...]:
    """The blocks a link gives (a list of objects, as a run config writes them), checked."""
    cfg = RunConfig.from_dict({"data": {"name": "shapes"}, "model": {"arch": "cnn", "blocks": obj}})
    return tuple(cfg.model.blocks)


def _blocks_shown(blocks: tuple[ConvBlock, ...]) -> list[dict[str, Any]]:
    plain = ConvBlock()
    return [
        {k: v for k, v in asdict(b).items() if v != getattr(plain, k) or k == "channels"}
        for b in blocks
    ]


def url_fields() -> dict[str, url_state.Field]:
    """The settings a link carries."""
    return {
        **url_state.numbers(DEFAULTS),
        "im_dataset": url_state.choice(tuple(DATASET_LABELS)),
        "im_shapes_size": url_state.choice(tuple(range(28, 65, 4))),
        "im_channels": url_state.choice((1, 3)),
        "im_noise": url_state.real(0.0, 1.0, 0.05),
        "im_clutter": url_state.whole(0, 20),
        "im_shapes_samples": url_state.choice(SHAPE_SAMPLES),
        "im_digits_size": url_state.choice(DIGIT_SIZES),
        "im_digits_samples": url_state.choice(DIGIT_SAMPLES),
        "im_test_fraction": url_state.real(0.1, 0.9, 0.05),
        "im_blocks": url_state.as_json(_blocks_from, _blocks_shown),
        "im_head": url_state.text(parse_head),
        "im_head_pool": url_state.choice(tuple(HEAD_POOL_LABELS)),
        "im_activation": url_state.choice(ACTIVATIONS),
        "im_norm": url_state.choice(NORMS),
        "im_dropout": url_state.real(0.0, 0.9, 0.05),
        **shared_widgets.training_fields("im"),
    }


def _after_link(values: dict[str, Any]) -> None:
    if "im_blocks" in values:
        st.session_state["im_blocks_version"] += 1  # a fresh table shows them


def from_config(cfg: RunConfig, s: open_settings.Setter) -> None:
    """The widget values of `cfg` (a run to open here); what the widgets cannot show, named."""
    d, m = cfg.data, cfg.model
    if s.choice("im_dataset", d.name, tuple(DATASET_LABELS), "data.name"):
        if d.name == "shapes":
            s.choice("im_shapes_size", d.image_size, tuple(range(28, 65, 4)), "data.image_size")
            s.choice("im_channels", d.channels, (1, 3), "data.channels")
            s.between("im_noise", d.noise, 0.0, 1.0, "data.noise")
            if 0 <= d.clutter <= 20:
                s.put("im_clutter", int(d.clutter))
            else:
                s.skip(f"data.clutter {d.clutter!r} (this page takes 0 to 20)")
            s.choice("im_shapes_samples", d.n_samples, SHAPE_SAMPLES, "data.n_samples")
        else:
            s.choice("im_digits_size", d.image_size, DIGIT_SIZES, "data.image_size")
            s.choice("im_digits_samples", d.n_samples, DIGIT_SAMPLES, "data.n_samples")
    s.between("im_test_fraction", d.test_fraction, 0.1, 0.9, "data.test_fraction")
    s.number("im_data_seed", d.seed, "data.seed")
    if m.arch != "cnn":
        s.skip(f"model.arch {m.arch!r} (the Image lab trains convolutional networks)")
    else:
        s.put("im_blocks", tuple(m.blocks))
        s.put("im_blocks_version", int(st.session_state.get("im_blocks_version", 0)) + 1)
        s.put("im_head", ", ".join(map(str, m.head)))
        s.choice("im_head_pool", m.head_pool, tuple(HEAD_POOL_LABELS), "model.head_pool")
        s.choice("im_activation", m.activation, ACTIVATIONS, "model.activation")
        s.choice("im_norm", m.norm or "none", NORMS, "model.norm")
        s.between("im_dropout", m.dropout, 0.0, 0.9, "model.dropout")
        s.put("im_residual", bool(m.residual))
    open_settings.training("im", cfg.train, s, DEFAULTS)


# --- the blocks table -----------------------------------------------------------------------------


def _editor_key() -> str:
    return f"im_blocks_editor_{st.session_state['im_blocks_version']}"


def _set_blocks(blocks: tuple[ConvBlock, ...]) -> None:
    st.session_state["im_blocks"] = tuple(blocks)
    st.session_state["im_blocks_version"] += 1  # a fresh table shows them


def _on_blocks_edit() -> None:
    _set_blocks(apply_edits(st.session_state["im_blocks"], st.session_state[_editor_key()]))


def apply_preset(kind: str) -> None:
    """Shallow: one conv of 16 5x5 filters, flattened into the output layer. Deep: eight 3x3
    convs with batch norm and three poolings, averaged per channel. Activation, dropout and the
    residual switch stay as they are."""
    p = PRESETS[kind]
    _set_blocks(p["blocks"])
    st.session_state["im_head"] = ", ".join(map(str, p["head"]))
    st.session_state["im_head_pool"] = p["head_pool"]
    st.session_state["im_norm"] = p["norm"]


def blocks_editor() -> None:
    """The editable table of conv blocks (rows can be added and deleted)."""
    st.data_editor(
        blocks_frame(st.session_state["im_blocks"]),
        key=_editor_key(),
        on_change=_on_blocks_edit,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        placeholder=DEFAULT,
        column_config={
            "layer": st.column_config.TextColumn("layer", disabled=True, width=58),
            # No min / max on the number columns: the grid would refuse an entry out of range
            # without a word. What is typed reaches the config, whose check names the block,
            # the field and its range, and Train stays off until it is fixed.
            "channels": st.column_config.NumberColumn(
                "channels",
                width=88,
                step=1,
                default=16,
                required=True,
                help="Output channels of the block: 1 to 512.",
            ),
            "kernel": st.column_config.NumberColumn(
                "kernel",
                width=72,
                step=1,
                default=3,
                required=True,
                help="Side of the square filter: 1, 3, 5, 7 or 9 (odd, so it has a centre).",
            ),
            "stride": st.column_config.NumberColumn(
                "stride", width=68, step=1, default=1, required=True, help="1 to 4."
            ),
            "pool": st.column_config.SelectboxColumn(
                "pool",
                width=64,
                options=list(POOLS),
                default="none",
                required=True,
                help="2x2 max or average pooling after the block: halves the map's side.",
            ),
            "norm": st.column_config.SelectboxColumn(
                "norm", width=72, options=[DEFAULT, *NORMS], default=DEFAULT, required=True
            ),
            "activation": st.column_config.SelectboxColumn(
                "activation",
                width=88,
                options=[DEFAULT, *ACTIVATIONS],
                default=DEFAULT,
                required=True,
            ),
            "residual": st.column_config.SelectboxColumn(
                "residual",
                width=84,
                options=[DEFAULT, "on", "off"],
                default=DEFAULT,
                required=True,
                help="Add the block's input to its output (x + f(x)). default: the residual "
                "switch, for every block after the first.",
            ),
            "dropout": st.column_config.NumberColumn(
                "dropout", width=80, step=0.05, format="%.2f", help="0 to 0.9; empty: default."
            ),
        },
    )


# --- widgets -----------------------------------------------------------------------------------


def data_controls() -> None:
    st.segmented_control(
        "Dataset",
        list(DATASET_LABELS),
        format_func=DATASET_LABELS.get,
        key="im_dataset",
        required=True,
        persist_state=KEEP,
    )
    if st.session_state["im_dataset"] == "shapes":
        st.caption(
            "Six shapes - circle, square, triangle, star, cross, line - at random places, sizes, "
            "angles and colours. Telling them apart takes edges, then corners, then outlines."
        )
        st.slider("Image size", 28, 64, step=4, key="im_shapes_size", persist_state=KEEP)
        st.segmented_control(
            "Colour",
            (1, 3),
            format_func={1: "grey", 3: "RGB"}.get,
            key="im_channels",
            required=True,
            persist_state=KEEP,
        )
        st.slider(
            "Noise",
            0.0,
            1.0,
            step=0.05,
            key="im_noise",
            help="Pixel noise on every image (0.1: a little, 0.5: the shapes are hard to see).",
            persist_state=KEEP,
        )
        st.slider(
            "Clutter",
            0,
            20,
            key="im_clutter",
            help="Faint distracting strokes per image: edges that belong to no shape.",
            persist_state=KEEP,
        )
        st.select_slider("Samples", SHAPE_SAMPLES, key="im_shapes_samples", persist_state=KEEP)
    else:
        st.caption(
            "1,797 real 8x8 handwritten digits (the UCI set scikit-learn ships), optionally "
            "upscaled."
        )
        c1, c2 = st.columns(2)
        c1.select_slider(
            "Upscale to",
            DIGIT_SIZES,
            format_func=lambda s: f"{s}x{s}",
            key="im_digits_size",
            persist_state=KEEP,
        )
        c2.select_slider("Samples", DIGIT_SAMPLES, key="im_digits_samples", persist_state=KEEP)
    st.slider(
        "Test share",
        0.1,
        0.9,
        step=0.05,
        key="im_test_fraction",
        help="The share of images held out to measure how well the network generalises.",
        persist_state=KEEP,
    )
    fields.number_input(st, "im_data_seed")


def network_controls() -> None:
    st.selectbox("Activation", ACTIVATIONS, key="im_activation", persist_state=KEEP)
    st.selectbox(
        "Normalisation",
        NORMS,
        format_func=NORM_LABELS.get,
        key="im_norm",
        persist_state=KEEP,
    )
    st.slider("Dropout", 0.0, 0.9, step=0.05, key="im_dropout", persist_state=KEEP)
    st.toggle(
        "Residual connections",
        key="im_residual",
        help="Each block after the first adds its input to its output (x + f(x)), giving "
        "gradients a short path back to the first layers. A block can override it in the table.",
        persist_state=KEEP,
    )
    st.caption("These apply to every block that says *default* in the blocks table.")
    st.segmented_control(
        "Head pooling",
        list(HEAD_POOL_LABELS),
        format_func=HEAD_POOL_LABELS.get,
        key="im_head_pool",
        required=True,
        help="How the last feature maps become one vector: the mean of each channel (few "
        "parameters, any position), or every pixel of every map (many parameters).",
        persist_state=KEEP,
    )
    st.text_input(
        "Head hidden widths",
        key="im_head",
        placeholder="none, e.g. 64",
        help="Dense layers between the pooled features and the output, e.g. 64 or 128, 64. "
        "Empty: the output layer reads the pooled features directly.",
        persist_state=KEEP,
    )


def preset_buttons() -> None:
    """The Shallow / Deep presets, drawn into the current container (a row of buttons:
    `dlviz.ui.layout.row`)."""
    shared_widgets.preset_buttons(
        "im",
        apply_preset,
        shallow_help="One conv layer of 16 5x5 filters, its maps flattened into the output layer.",
        deep_help="Eight 3x3 conv layers (16, 16, 32, 32, 64, 64, 64, 64 channels) with batch norm "
        "and three 2x2 poolings, averaged per channel.",
    )


# --- widget values -> config ---------------------------------------------------------------------


def data_config() -> DataConfig:
    """Raises ConfigError when the combination is not allowed (e.g. too many big images)."""
    ss = st.session_state
    if ss["im_dataset"] == "shapes":
        return DataConfig(
            name="shapes",
            n_samples=int(ss["im_shapes_samples"]),
            noise=float(ss["im_noise"]),
            test_fraction=float(ss["im_test_fraction"]),
            seed=fields.value("im_data_seed"),
            image_size=int(ss["im_shapes_size"]),
            channels=int(ss["im_channels"]),
            clutter=int(ss["im_clutter"]),
        )
    return DataConfig(
        name="digits",
        n_samples=int(ss["im_digits_samples"]),
        noise=0.0,
        test_fraction=float(ss["im_test_fraction"]),
        seed=fields.value("im_data_seed"),
        image_size=int(ss["im_digits_size"]),
    )


def parse_head(text: str) -> tuple[int, ...]:
    """``"128, 64"`` -> (128, 64); empty -> (). Raises ConfigError giving the rule and the bad
    entries."""
    return shared_widgets.parse_width_list(text, "model.head", 4096, 4, least=0, example="128, 64")


def model_config(blocks: tuple[ConvBlock, ...] | None = None) -> ModelConfig:
    """The CNN the widgets describe (with `blocks` instead of the table's, if given).
    Raises ConfigError naming what is wrong."""
    ss = st.session_state
    blocks = ss["im_blocks"] if blocks is None else blocks
    for i, b in enumerate(blocks):
        for name in ("channels", "kernel", "stride"):
            if getattr(b, name) is None:
                raise ConfigError(f"model.blocks[{i}].{name}", "is empty: enter a number")
    return ModelConfig(
        arch="cnn",
        blocks=tuple(blocks),
        head=parse_head(ss["im_head"]),
        head_pool=ss["im_head_pool"],
        activation=ss["im_activation"],
        norm=ss["im_norm"],
        residual=bool(ss["im_residual"]),
        dropout=float(ss["im_dropout"]),
    )


def run_config() -> RunConfig:
    return RunConfig(
        data=data_config(), model=model_config(), train=shared_widgets.train_config("im")
    )


def pair_configs() -> list[RunConfig]:
    """The Shallow and Deep presets on the page's data, training settings, activation, dropout
    and residual switch."""
    base = RunConfig(
        data=data_config(),
        model=model_config(SHALLOW_BLOCKS),
        train=shared_widgets.train_config("im"),
    )
    return [base.with_changes(model=PRESETS[kind], name=kind) for kind in ("shallow", "deep")]


def describe_problem(e: Exception) -> str:
    """A ConfigError or build error as one sentence for a person: which block, what to do."""
    if isinstance(e, ConfigError):
        field, _, message = str(e).partition(": ")
        parts = field.split(".")
        if parts[0] == "model" and len(parts) > 1 and parts[1].startswith("blocks["):
            index = int(parts[1][len("blocks[") : -1])
            what = f" {parts[2]}" if len(parts) > 2 else ""
            return f"Block {index + 1} (conv{index + 1}){what}: {message}."
        names = {
            "model.head": "Head hidden widths",
            "model.blocks": "Blocks",
            "data.n_samples": "Samples",
            "train.batch_size": "Batch size",
        }
        label = next((v for k, v in names.items() if field.startswith(k)), field)
        return f"{label}: {message}."
    text = str(e)
    return text[0].upper() + text[1:] + "."


@functools.lru_cache(maxsize=128)
def layer_rows(
    model: ModelConfig, input_shape: tuple[int, ...], n_classes: int
) -> list[dict[str, object]]:
    """The layer table of `model` (built on the meta device: no memory, no time). Raises
    ValueError when the network shrinks its input to nothing."""
    with torch.device("meta"):
        net = build_model(model, input_shape, n_classes)
    return cnn_layer_table(net, input_shape)


def check(cfg: RunConfig) -> list[dict[str, object]]:
    """The layer rows of `cfg`'s network on `cfg`'s data; raises what stops it from training."""
    ds = dataset(cfg.data)
    return layer_rows(cfg.model, ds.input_shape, ds.n_classes)


@dataclass
class Readiness:
    """What the widgets describe now: the layer rows of the network on the data (None when it
    cannot be built), and why Train or Train shallow vs deep cannot start ("" when they can)."""

    rows: list[dict[str, object]] | None
    input_shape: tuple[int, ...] | None
    problem: str
    pair_problem: str


def checked(kind: str) -> tuple[list[RunConfig], str]:
    """The configs Train ("single") or Train shallow vs deep ("pair") would start, and why they
    cannot ("" when they can)."""
    try:
        configs = [run_config()] if kind == "single" else pair_configs()
        for cfg in configs:
            check(cfg)
    except ValueError as e:  # ConfigError too
        return [], describe_problem(e)
    return configs, ""


def readiness() -> Readiness:
    rows, shape = None, None
    configs, problem = checked("single")
    if configs:
        rows = check(configs[0])
        shape = dataset(configs[0].data).input_shape
    return Readiness(rows, shape, problem, checked("pair")[1])


def start(kind: str) -> None:
    """Button callback: it runs before the page is drawn, so the page that follows already
    shows the run, with Train disabled and the first loss point on the chart."""
    configs, problem = checked(kind)
    if problem:
        st.session_state[PROBLEM] = f"These settings cannot train: {problem}"
        return
    labels = ["run"] if kind == "single" else ["shallow", "deep"]
    view = live.start_view(VIEW, configs, labels, kind=kind)
    for handle in view.handles:  # its first snapshot already shows the chosen test image
        handle.probe.choose(sample_index=int(st.session_state.get("im_sample", 0)))
    live.wait_first_point(view)


# --- above the live view: samples, the network's diagram and layer table --------------------------


def preview_figure(ds: Dataset, per_class: int = 3):
    """A few training images of every class: one column per class, no captions (they would
    crowd images this small; `preview_caption` names the columns)."""
    tile = 48 if ds.n_classes <= 6 else 28  # about 310 px wide: the column it is drawn in
    y = ds.y_train.numpy()
    picks = [np.flatnonzero(y == c)[:per_class] for c in range(ds.n_classes)]
    rows = min(len(p) for p in picks)
    order = [p[r] for r in range(rows) for p in picks]
    return image_grid_figure(ds.x_train[order].numpy(), cols=ds.n_classes, tile=tile)


def preview_caption(ds: Dataset) -> str:
    names = ds.class_names
    if all(n.isdigit() for n in names):
        return f"One column per class: {names[0]} to {names[-1]}."
    return "One column per class: " + ", ".join(names) + "."


def network_figure(rows: list[dict[str, object]], input_shape: tuple[int, ...]):
    """The diagram, without the pooling step between the convs and the head (the table has
    it): on a deep network its label would sit on the output layer's."""
    return cnn_figure([r for r in rows if r["layer"] != "pool"], input_shape, height=220)


def layer_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "layer": [r["layer"] for r in rows],
            "type": [r["type"] for r in rows],
            "output": [r["output"] for r in rows],
            "parameters": [int(r["params"]) for r in rows],
            "FLOPs": [int(r["flops"]) for r in rows],
        }
    )


def layer_table(rows: list[dict[str, object]]) -> None:
    st.dataframe(
        layer_frame(rows),
        key="im_layer_table",
        hide_index=True,
        width="stretch",
        column_config={
            "parameters": st.column_config.NumberColumn(format="localized"),
            "FLOPs": st.column_config.NumberColumn(
                format="compact",
                help="Floating-point operations for one image (a multiply-add counts as 2).",
            ),
        },
    )


def summary_line(rows: list[dict[str, object]]) -> str:
    convs = sum(1 for r in rows if str(r["layer"]).startswith("conv"))
    params = sum(int(r["params"]) for r in rows)
    flops = sum(int(r["flops"]) for r in rows)
    return (
        f"**{plural(convs, 'conv layer')}**, {plural(params, 'parameter')}, "
        f"{_si(flops)}FLOPs per image"
    )


def _si(n: float) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n:.0f} "
