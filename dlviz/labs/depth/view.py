"""The Depth page's parts: the experiment's settings, its start, and the live view of the ladder
(accuracy and first-layer gradient against depth, the reading, a table). Widget keys start
with ``dp_``."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from dlviz import captions
from dlviz.config import ACTIVATIONS, TOY_DATASETS, ConfigError, DataConfig, TrainConfig
from dlviz.labs.depth.experiment import (
    DEFAULT_DEPTHS,
    VARIANTS,
    DepthExperiment,
    over_seeds,
    reading,
    result_of,
    seeds_reading,
)
from dlviz.labs.depth.figures import (
    depth_accuracy_figure,
    depth_gradient_figure,
    depth_profile_figure,
)
from dlviz.ui import fields, layout, live, sweep_link, url_state
from dlviz.ui import widgets as shared_widgets
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import devices

KEEP = "session"
VIEW = "dp_view"
PROBLEM = "dp_problem"
DEPTH_CHOICES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
WIDTHS = (4, 8, 16, 32, 64)

DEFAULTS: dict[str, Any] = {
    "dp_depths": list(DEFAULT_DEPTHS),
    "dp_variants": list(VARIANTS),
    "dp_width": 16,
    "dp_activation": "relu",
    "dp_dataset": "spiral",
    "dp_epochs": 40,
    "dp_lr": 0.003,
    "dp_device": "auto",
    "dp_seeds": 1,
}
fields.RANGES.setdefault("dp_seeds", ("Seeds", 1, 10))


def init() -> None:
    shared_widgets.init(DEFAULTS, prefix="dp")
    url_state.sync("dp", url_fields(), DEFAULTS)


def url_fields() -> dict[str, url_state.Field]:
    """The settings a link carries: every one of the experiment's (nothing here is a person's
    own data; the results are runs in the store, not settings)."""
    return {
        **url_state.numbers(DEFAULTS),
        "dp_depths": url_state.many(DEPTH_CHOICES),
        "dp_variants": url_state.many(VARIANTS),
        "dp_width": url_state.choice(WIDTHS),
        "dp_activation": url_state.choice(ACTIVATIONS),
        "dp_dataset": url_state.choice(TOY_DATASETS),
        "dp_lr": url_state.choice(shared_widgets.LEARNING_RATES),
        "dp_device": url_state.choice(devices()),
    }


def settings() -> None:
    # wrap: every chosen value shows, on as many rows as it takes
    st.multiselect(
        "Depths (hidden layers)", DEPTH_CHOICES, key="dp_depths", wrap=True, persist_state=KEEP
    )
    st.multiselect(
        "Networks",
        VARIANTS,
        key="dp_variants",
        wrap=True,
        help="plain: each layer feeds the next. residual: each layer after the first adds its "
        "input to its output, x + f(x). sigmoid: a plain network of sigmoid units, whatever "
        "the activation chosen below.",
        persist_state=KEEP,
    )
    c1, c2 = layout.columns(2, key="dp_net_row", min_width=100)
    c1.select_slider("Width", WIDTHS, key="dp_width", persist_state=KEEP)
    c2.selectbox("Activation", ACTIVATIONS, key="dp_activation", persist_state=KEEP)
    st.selectbox(
        "Data",
        TOY_DATASETS,
        format_func=shared_widgets.DATASET_LABELS.get,
        key="dp_dataset",
        persist_state=KEEP,
    )
    c1, c2 = layout.columns(2, key="dp_train_row", min_width=100)
    fields.number_input(c1, "dp_epochs")
    c2.select_slider(
        "Learning rate",
        shared_widgets.LEARNING_RATES,
        format_func=lambda v: f"{v:g}",
        key="dp_lr",
        persist_state=KEEP,
    )
    st.selectbox("Device", devices(), key="dp_device", persist_state=KEEP)
    fields.number_input(
        st,
        "dp_seeds",
        help="Each network once per seed (train.seed 0, 1, ...), on the same data and split: "
        "the charts show the mean over seeds with 95% error bars, and the reading counts the "
        "seeds where residual beats plain.",
    )


def experiment() -> DepthExperiment:
    """The experiment the widgets describe; raises ConfigError naming what is wrong."""
    ss = st.session_state
    return DepthExperiment(
        depths=tuple(sorted(int(d) for d in ss["dp_depths"])),
        width=int(ss["dp_width"]),
        activation=ss["dp_activation"],
        data=DataConfig(name=ss["dp_dataset"], n_samples=1000, noise=0.1),
        train=TrainConfig(
            lr=float(ss["dp_lr"]),
            epochs=fields.value("dp_epochs"),
            batch_size=32,
            device=ss["dp_device"],
        ),
        variants=tuple(v for v in VARIANTS if v in ss["dp_variants"]),
        seeds=tuple(range(fields.value("dp_seeds"))),
    )


def problem() -> str:
    try:
        experiment()
    except ConfigError as e:
        field, _, message = str(e).partition(": ")
        label = {
            "depths": "Depths",
            "variants": "Networks",
            "model.hidden": "Depths",
            "dp_seeds": "Seeds",
            "seeds": "Seeds",
        }.get(field, field)
        return f"{label}: {message}."
    return ""


def start() -> None:
    try:
        ladder = experiment().configs()
    except ConfigError as e:
        st.session_state[PROBLEM] = str(e)
        return
    live.start_view(
        VIEW, [cfg for _, _, cfg in ladder], [cfg.name for _, _, cfg in ladder], kind="ladder"
    )


def results(view: live.View) -> list:
    # each run's name is "depth D VARIANT", then " seed S" with several (DepthExperiment.configs)
    return [
        result_of(h.config.name.split()[2], h.config.model.depth, h.history) for h in view.handles
    ]


def draw(view: live.View, key: str) -> None:
    """Progress through the ladder, then the two charts, the reading and the table."""
    hs = [h.history for h in view.handles]
    done = sum(h.done for h in hs)
    current = live.ladder_progress(hs)
    runs_ = results(view)
    rows = over_seeds(runs_)  # the mean over seeds, with its interval, where there are several
    seeds = len({r.seed for r in runs_})
    bars = " - the mean over seeds, 95% error bars" if seeds > 1 else ""
    left, right = layout.columns(2, key=f"{key}_charts", min_width=420, gap="medium")
    with left:
        st.markdown(f"**Accuracy against depth**: train solid, test dashed{bars}")
        live_chart(depth_accuracy_figure(rows), key=f"{key}_acc")
        summary(captions.depth_accuracy(rows))
    with right:
        st.markdown("**Gradient reaching the first layer** (and the output layer, dotted)")
        live_chart(depth_gradient_figure(rows), key=f"{key}_grad")
        summary(captions.depth_gradient(rows))
    left, right = layout.columns(2, key=f"{key}_along", min_width=420, gap="medium")
    with left:
        st.markdown("**Gradient along the deepest networks**, from the first layer to the output")
        live_chart(depth_profile_figure(rows), key=f"{key}_profile")
        summary(captions.depth_profile(rows))
    with right:
        st.caption(
            "Each point: the mean norm of one layer's weight gradient over the last epoch. "
            "A gradient of exactly zero is drawn at the bottom of the axis. Where a line falls "
            "steeply toward layer 1, the first layers receive almost no signal to learn from."
        )
    with st.container():
        sentences = reading(rows) + seeds_reading(runs_) if current is None else []
        if sentences:
            st.markdown("#### What it shows")
            for s in sentences:
                st.markdown(f"- {s}")
    with st.container():
        if done:
            st.dataframe(table(runs_, seeds > 1), hide_index=True, key=f"{key}_table")
    if seeds > 1 and done == len(hs):
        sweep_link.kept_as_sweep(
            view,
            [{"network": r.variant, "model.depth": r.depth} for r in runs_],
            [r.seed for r in runs_],
            name=f"depth experiment, {seeds} seeds",
            where="the Depth lab",
        )


def table(rows: list, with_seed: bool = False) -> pd.DataFrame:
    def pct(v: float) -> str:
        return "-" if math.isnan(v) else f"{v:.1%}"

    def sci(v: float) -> str:
        return "-" if math.isnan(v) else f"{v:.2e}"

    return pd.DataFrame(
        {
            "network": [r.variant for r in rows],
            "depth": [r.depth for r in rows],
            **({"seed": [r.seed for r in rows]} if with_seed else {}),
            "status": [r.status for r in rows],
            "train accuracy": [pct(r.train_accuracy) for r in rows],
            "test accuracy": [pct(r.test_accuracy) for r in rows],
            "first-layer gradient": [sci(r.first_grad) for r in rows],
            "output-layer gradient": [sci(r.last_grad) for r in rows],
            "seconds": ["-" if math.isnan(r.seconds) else f"{r.seconds:.1f}" for r in rows],
        }
    )
