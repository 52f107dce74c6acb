"""The Sweep page's settings: the base config (a lab's current settings, sent by its "Sweep
these settings" button, or the defaults), up to three axes with their values, the seeds and the
trials at once; and the sweep file they make, checked."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from dlviz import jsonread
from dlviz.admission import runs_per_session
from dlviz.config import RunConfig
from dlviz.sweeps.executors import cores
from dlviz.sweeps.spec import CONFIRM_TRIALS, SweepError, count, expand, parse
from dlviz.ui import fields, url_state
from dlviz.ui.sweep_link import BASE, BASE_FROM

# The axes offered, with the values a new axis starts with (edited as text, comma-separated).
AXES = {
    "model.depth": "1, 2, 4, 8",
    "model.width": "8, 16",
    "model.residual": "false, true",
    "model.activation": "relu, tanh",
    "model.norm": "none, batch",
    "model.dropout": "0, 0.2",
    "train.lr": "0.001, 0.003, 0.01",
    "train.optimizer": "sgd, adam",
    "train.batch_size": "16, 64",
    "train.weight_decay": "0, 0.0001",
    "train.epochs": "10, 20",
}
MLP_ONLY = ("model.depth", "model.width")
MAX_AXES = 3
# The defaults ask the Depth experiment's question with error bars: on the spiral, does a deep
# plain MLP fall behind a residual one in every seed? (18 trials, about a minute and a half on
# 2 cores, 2 at a time.)
DEFAULT_BASE = {"data": {"name": "spiral"}, "model": {"hidden": [16, 16]},
                "train": {"epochs": 40, "optimizer": "adam", "lr": 0.003}}  # fmt: skip
DEFAULTS = {
    "sw_axes": ["model.depth", "model.residual"],
    "sw_seeds": 3,
    "sw_parallel": min(2, cores(), runs_per_session() or 2),
    **{f"sw_values_{a}": v for a, v in AXES.items()},
    "sw_values_model.depth": "2, 8, 16",
}
fields.RANGES.setdefault("sw_seeds", ("Seeds", 1, 20))
# one person's sweep trains at most their cap of runs at once (DLVIZ_RUNS_PER_SESSION)
MOST_AT_ONCE = min(max(1, cores()), runs_per_session() or max(1, cores()))
fields.RANGES.setdefault("sw_parallel", ("Trials at once", 1, MOST_AT_ONCE))


def init() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    st.session_state.setdefault(BASE, DEFAULT_BASE)
    url_state.sync("sw", url_fields(), DEFAULTS)


def url_fields() -> dict[str, url_state.Field]:
    """The settings a link carries: the axes, each axis's values, the seeds and the trials at
    once. Left out: the base run config a lab sent (a whole config, too large for a link, and
    a link opens with the defaults' base) and the sweep the page follows (a sweep of this
    server's store)."""
    return {
        **url_state.numbers(DEFAULTS),
        "sw_axes": _axes_field(),
        **{f"sw_values_{a}": url_state.text() for a in AXES},
    }


def _axes_field() -> url_state.Field:
    """Up to MAX_AXES of the axes offered (the multiselect refuses more)."""
    each = url_state.many(tuple(AXES))

    def parse(raw: str) -> list[str]:
        axes = each.parse(raw)
        if len(axes) > MAX_AXES:
            raise ValueError(f"more than {MAX_AXES} axes")
        return axes

    return url_state.Field(parse, each.show)


def parse_values(text: str) -> list[Any]:
    """``"0.01, 0.1, adam, true"`` -> [0.01, 0.1, "adam", True]: each item as JSON where it is
    (numbers, true, false, null), else as text."""
    out: list[Any] = []
    for item in (t.strip() for t in str(text).split(",")):
        if not item:
            continue
        try:
            out.append(jsonread.loads(item))
        except ValueError:  # text, or nested too deep (jsonread.NestedTooDeep)
            out.append(item)
    return out


def base_arch(base: dict[str, Any]) -> str:
    try:
        return RunConfig.from_dict(base).model.arch
    except ValueError:
        return ""


def settings() -> None:
    ss = st.session_state
    base = ss[BASE]
    where = ss.get(BASE_FROM) or (
        "the defaults (spiral, an MLP 16 wide, Adam at 0.003, 40 epochs)"
        if base == DEFAULT_BASE
        else "a run config"
    )
    st.markdown(f"**Base**: {where}")
    with st.expander("The base run config"):
        st.code(json.dumps(base, indent=1), language="json")
        if ss.get(BASE_FROM):
            st.button(
                "Back to the defaults",
                key="sw_base_reset",
                on_click=lambda: (ss.__setitem__(BASE, DEFAULT_BASE), ss.pop(BASE_FROM, None)),
            )
    offered = [a for a in AXES if base_arch(base) == "mlp" or a not in MLP_ONLY]
    ss["sw_axes"] = [a for a in ss["sw_axes"] if a in offered]
    st.multiselect(
        "Axes",
        offered,
        key="sw_axes",
        max_selections=MAX_AXES,
        help="The settings the sweep varies; every combination of their values runs. "
        "model.depth and model.width set an MLP's hidden layers.",
    )
    for axis in ss["sw_axes"]:
        st.text_input(
            f"Values of {axis}",
            key=f"sw_values_{axis}",
            help="Comma-separated: numbers, true or false, or names (adam, tanh).",
        )
    fields.number_input(
        st,
        "sw_seeds",
        help="Each combination runs once per seed (train.seed 0, 1, ...); the charts show the "
        "mean over seeds with a 95% band. The data split stays the same.",
    )
    fields.number_input(
        st,
        "sw_parallel",
        help="Trials that train at once on this machine, sharing its cores.",
    )


def sweep_file() -> dict[str, Any]:
    """The sweep file the settings make."""
    ss = st.session_state
    return {
        "name": "page sweep",
        "base": ss[BASE],
        "grid": {a: parse_values(ss[f"sw_values_{a}"]) for a in ss["sw_axes"]},
        "seeds": fields.value("sw_seeds"),
        "metric": {"name": "test_accuracy", "goal": "max"},
    }


def checked() -> tuple[dict[str, Any] | None, str, int]:
    """(the sweep file, "", its trial count), or (None, the problem in words, 0)."""
    for key in ("sw_seeds", "sw_parallel"):
        label, lo, hi = fields.RANGES[key]
        refused = fields.problem(key, lo, hi, label)
        if refused:
            return None, refused, 0
    source = sweep_file()
    try:
        spec = parse(source)
        n = count(spec)
        if n > CONFIRM_TRIALS:
            return None, f"{n} trials: the page runs at most {CONFIRM_TRIALS} (use dlviz sweep)", 0
        expand(spec)
    except SweepError as e:
        return None, str(e), 0
    return source, "", n
