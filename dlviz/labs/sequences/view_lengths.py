"""The length experiment's page side: its settings, its start, and the live view of the ladder
(test accuracy and the gradient reaching the first step against length, the LSTM's gates at the
longest length, a table and the reading). Widget keys start with ``sq_len_``; the logic is in
`dlviz.labs.sequences.lengths`."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from dlviz.config import ConfigError
from dlviz.labs.sequences.figures import (
    gates_figure,
    length_accuracy_figure,
    length_gradient_figure,
)
from dlviz.labs.sequences.lengths import (
    ARCH_NAMES,
    ARCHS,
    CHANCE,
    DEFAULT_LENGTHS,
    TASKS,
    LengthExperiment,
    LengthResult,
    accuracy_caption,
    forget_caption,
    gradient_caption,
    reading,
)
from dlviz.text import plural
from dlviz.ui import fields, layout, live
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import set_defaults

KEEP = "session"
VIEW = "sq_len_view"
PROBLEM = "sq_len_problem"
LENGTH_CHOICES = (5, 10, 20, 50, 100, 200)
HIDDEN_SIZES = (16, 32, 64, 128)
STEPS = ("Optimizer steps per run", 10, 20_000)
SEED = ("Seed", 0, fields.SEED_MAX)
TASK_LABELS = {"temporal_order": "Temporal order", "recall": "Associative recall"}
_EXP = LengthExperiment()
DEFAULTS: dict[str, Any] = {
    "sq_len_task": _EXP.task,
    "sq_len_lengths": list(DEFAULT_LENGTHS),
    "sq_len_archs": list(ARCHS),
    "sq_len_hidden": _EXP.hidden_size,
    "sq_len_steps": _EXP.steps,
    "sq_len_seed": _EXP.seed,
}
# what a ConfigError's field is called on the page
LABELS = {
    "task": "Task",
    "lengths": "Lengths",
    "data.length": "Lengths",
    "archs": "Networks",
    "steps": STEPS[0],
    "model.hidden_size": "Hidden size",
    "data.seed": "Seed",
    "train.seed": "Seed",
}


def init() -> None:
    set_defaults(DEFAULTS)


def settings() -> None:
    st.selectbox(
        "Task",
        TASKS,
        format_func=TASK_LABELS.get,
        key="sq_len_task",
        help="Temporal order: two markers, each X or Y, far apart in noise; in which order "
        "did they come? "
        "Associative recall: key-value pairs, then a key; what was its value? (recall has 26 "
        "keys: at most length 54; an odd length makes one token fewer.)",
        persist_state=KEEP,
    )
    st.multiselect("Lengths", LENGTH_CHOICES, key="sq_len_lengths", wrap=True, persist_state=KEEP)
    st.multiselect(
        "Networks",
        ARCHS,
        format_func=ARCH_NAMES.get,
        key="sq_len_archs",
        wrap=True,
        help="RNN: a plain tanh recurrent network. LSTM and GRU: gated recurrent networks. "
        "Transformer: one layer of self-attention.",
        persist_state=KEEP,
    )
    c1, c2 = layout.columns(2, key="sq_len_net_row", min_width=100)
    c1.select_slider("Hidden size", HIDDEN_SIZES, key="sq_len_hidden", persist_state=KEEP)
    fields.number_input(
        c2,
        "sq_len_steps",
        STEPS[0],
        help="Every run takes this many optimizer steps, whatever its length: its epochs are "
        "worked out from the size of its training set.",
    )
    fields.number_input(st, "sq_len_seed", SEED[0], help="The data's and the training's seed.")


def _number(key: str, spec: tuple[str, int, int]) -> int:
    label, lo, hi = spec
    why = fields.problem(key, lo, hi, label)
    if why:
        raise ConfigError(label, why.partition(": ")[2].rstrip("."))
    return int(st.session_state[key])


def experiment() -> LengthExperiment:
    """The experiment the widgets describe; raises ConfigError naming what is wrong."""
    ss = st.session_state
    seed = _number("sq_len_seed", SEED)
    return LengthExperiment(
        task=ss["sq_len_task"],
        lengths=tuple(sorted(int(n) for n in ss["sq_len_lengths"])),
        archs=tuple(a for a in ARCHS if a in ss["sq_len_archs"]),
        hidden_size=int(ss["sq_len_hidden"]),
        steps=_number("sq_len_steps", STEPS),
        seed=seed,
    )


def problem() -> str:
    try:
        experiment()
    except ConfigError as e:
        field, _, message = str(e).partition(": ")
        return f"{LABELS.get(field, field)}: {message}."
    return ""


def runs() -> int:
    """How many runs the settings make."""
    return len(st.session_state["sq_len_lengths"]) * len(st.session_state["sq_len_archs"])


def start() -> None:
    try:
        ladder = experiment().configs()
    except ConfigError as e:
        st.session_state[PROBLEM] = str(e)
        return
    live.start_view(
        VIEW, [cfg for _, _, cfg in ladder], [cfg.name for _, _, cfg in ladder], kind="ladder"
    )


def intro() -> None:
    """What the experiment shows and what to look at (the page's text above the button)."""
    st.markdown(
        """
**What you are looking at.** Each point is one network trained to the end on sequences of one
length: the length across, its test accuracy up. Every network gets the same data, seed and
number of optimizer steps. On the defaults - *temporal order*: two markers, each X or Y, hidden in
noise, one early and one in the middle; which came in which order, XX, XY, YX or YY? - watch the plain **RNN**: it solves
the short sequences and falls to chance (25%) once the gap between the markers is long. It has
to carry the first marker across the gap, and the gradient that would teach it to shrinks at
every step on its way back (Bengio et al., 1994). The **LSTM** carries it across every gap
tried: its cell is passed on through a forget gate it can hold open (Hochreiter and
Schmidhuber, 1997). The **GRU**'s update gate does the same job: both gates start open (about
three quarters of the memory kept a step), so from the first steps some gradient reaches the
first marker. The **Transformer** does not care about distance: attention reaches the first
marker in one step, however far back it is.

The gradient chart shows why: how much of the gradient at the last step reaches the first, at
initialisation. Below them, the LSTM's gates at the longest length: where its forget gate stays
near 1, the cell keeps what it holds.
"""
    )


def results(view: live.View) -> list[LengthResult]:
    return [
        LengthResult.from_history(h.config.model.arch, h.config.data.length, h.history)
        for h in view.handles
    ]


def draw(view: live.View, key: str) -> None:
    """Progress through the ladder, the two charts, the LSTM's gates at the longest length,
    the reading once every run has ended, and the table."""
    hs = [h.history for h in view.handles]
    done = sum(h.done for h in hs)
    current = live.ladder_progress(hs)
    rows = results(view)
    chance = CHANCE.get(view.handles[0].config.data.name, 0.25)
    table_rows = [r.row() for r in rows]
    left, right = layout.columns(2, key=f"{key}_charts", min_width=420, gap="medium")
    with left:
        st.markdown("**Test accuracy against length**")
        live_chart(length_accuracy_figure(table_rows, chance), key=f"{key}_acc")
        summary(accuracy_caption(rows))
    with right:
        st.markdown("**Gradient reaching the first step**, at initialisation")
        live_chart(length_gradient_figure(table_rows), key=f"{key}_grad")
        summary(gradient_caption(rows))
    lstm = [h for h in view.handles if h.config.model.arch == "lstm"]
    longest = max(lstm, key=lambda h: h.config.data.length) if lstm else None
    if longest is not None and longest.history.seq:
        snap = longest.history.seq[-1]
        length = longest.config.data.length
        left, right = layout.columns(2, key=f"{key}_gates_row", min_width=420, gap="medium")
        with left:
            st.markdown(f"**The LSTM's gates at length {length}**, over the steps")
            live_chart(gates_figure(snap, snap.layers[0]), key=f"{key}_gates")
            summary(forget_caption(snap, length))
        with right:
            st.caption(
                "Each gate's mean over a batch of test sequences at each step (solid), and the "
                "share of its values that are saturated, shut or wide open (dotted). The forget "
                "gate multiplies the cell at every step: near 1 the cell keeps what it holds, "
                "and the gradient flows back through it undiminished; the input gate lets a "
                "new symbol in, the output gate lets the cell be read."
            )
    with st.container():
        sentences = reading(rows) if current is None else []
        if sentences:
            st.markdown("#### What it shows")
            for s in sentences:
                st.markdown(f"- {s}")
    with st.container():
        if done:
            st.dataframe(table(rows), hide_index=True, key=f"{key}_table")


def table(rows: list[LengthResult]) -> pd.DataFrame:
    def pct(v: float) -> str:
        return "-" if math.isnan(v) else f"{v:.1%}"

    def sci(v: float) -> str:
        return "-" if math.isnan(v) else f"{v:.2e}"

    return pd.DataFrame(
        {
            "network": [ARCH_NAMES.get(r.arch, r.arch) for r in rows],
            "length": [r.length for r in rows],
            "status": [r.status for r in rows],
            "test accuracy": [pct(r.test_accuracy) for r in rows],
            "first-step gradient, at start": [sci(r.initial_gradient) for r in rows],
            "first-step gradient, trained": [sci(r.first_step_gradient) for r in rows],
            "seconds": ["-" if math.isnan(r.seconds) else f"{r.seconds:.1f}" for r in rows],
        }
    )


def button_label() -> str:
    return f"Run the length experiment ({plural(runs(), 'run')})"
