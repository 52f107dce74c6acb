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
    over_seeds,
    reading,
)
from dlviz.text import plural
from dlviz.ui import fields, layout, live, sweep_link, url_state
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import set_defaults

KEEP = "session"
VIEW = "sq_len_view"
PROBLEM = "sq_len_problem"
LENGTH_CHOICES = (5, 10, 20, 50, 100, 200)
HIDDEN_SIZES = (16, 32, 64, 128)
STEPS = ("Optimizer steps per run", 10, 20_000)
SEED = ("Seed", 0, fields.SEED_MAX)
SEEDS = ("Seeds", 1, 5)
fields.RANGES.setdefault("sq_len_seeds", SEEDS)
TASK_LABELS = {"temporal_order": "Temporal order", "recall": "Associative recall"}
_EXP = LengthExperiment()
DEFAULTS: dict[str, Any] = {
    "sq_len_task": _EXP.task,
    "sq_len_lengths": list(DEFAULT_LENGTHS),
    "sq_len_archs": list(ARCHS),
    "sq_len_hidden": _EXP.hidden_size,
    "sq_len_steps": _EXP.steps,
    "sq_len_seed": _EXP.seed,
    "sq_len_seeds": 1,
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
    "seeds": "Seeds",
}


def init() -> None:
    set_defaults(DEFAULTS)


def url_fields() -> dict[str, url_state.Field]:
    """The length experiment's settings in a link."""
    return {
        **url_state.numbers(DEFAULTS),
        "sq_len_task": url_state.choice(TASKS),
        "sq_len_lengths": url_state.many(LENGTH_CHOICES),
        "sq_len_archs": url_state.many(ARCHS),
        "sq_len_hidden": url_state.choice(HIDDEN_SIZES),
        "sq_len_steps": url_state.whole(STEPS[1], STEPS[2]),
        "sq_len_seed": url_state.whole(SEED[1], SEED[2]),
    }


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
    c1, c2 = layout.columns(2, key="sq_len_seed_row", min_width=100)
    fields.number_input(
        c1,
        "sq_len_seed",
        SEED[0],
        help="The data's seed (the sequences and their split), and the first training seed.",
    )
    fields.number_input(
        c2,
        "sq_len_seeds",
        SEEDS[0],
        help="How many times each network trains at each length: with training seeds Seed, "
        "Seed + 1, ... on the same data and split. With several, the accuracy chart shows the "
        "mean over seeds with 95% error bars, the gradient chart the median with a bar from the "
        "smallest to the largest, and the reading counts the seeds in which each network is "
        "above chance. Each seed takes as long again: on the defaults about 3 to 4 minutes a "
        "seed on a 2-core CPU.",
    )


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
    seeds = _number("sq_len_seeds", SEEDS)
    return LengthExperiment(
        task=ss["sq_len_task"],
        lengths=tuple(sorted(int(n) for n in ss["sq_len_lengths"])),
        archs=tuple(a for a in ARCHS if a in ss["sq_len_archs"]),
        hidden_size=int(ss["sq_len_hidden"]),
        steps=_number("sq_len_steps", STEPS),
        seed=seed,
        seeds=tuple(range(seed, seed + seeds)),
    )


def problem() -> str:
    try:
        experiment()
    except ConfigError as e:
        field, _, message = str(e).partition(": ")
        return f"{LABELS.get(field, field)}: {message}."
    return ""


def runs() -> int:
    """How many runs the settings make: a network, a length and a seed each (one seed while
    Seeds is refused)."""
    ss = st.session_state
    seeds = 1 if fields.problem("sq_len_seeds") else int(ss["sq_len_seeds"])
    return len(ss["sq_len_lengths"]) * len(ss["sq_len_archs"]) * seeds


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

With **Seeds** above 1, each network trains once per seed at each length, on the same data: the
charts show the mean (and the gradient's median) with the spread over seeds, and the reading
counts the seeds in which each network is above chance - the LSTM's jump at the longest
lengths comes sooner in some seeds than in others.
"""
    )


def results(view: live.View) -> list[LengthResult]:
    """One result a run (its seed read from its config)."""
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
    runs_ = results(view)
    rows = over_seeds(runs_)  # over seeds, where there are several: means and medians
    seeds = len({r.seed for r in runs_})
    chance = CHANCE.get(view.handles[0].config.data.name, 0.25)
    chart_rows = [r.row() for r in rows]
    left, right = layout.columns(2, key=f"{key}_charts", min_width=420, gap="medium")
    with left:
        bars = " - the mean over seeds, 95% error bars" if seeds > 1 else ""
        st.markdown(f"**Test accuracy against length**{bars}")
        live_chart(length_accuracy_figure(chart_rows, chance), key=f"{key}_acc")
        summary(accuracy_caption(runs_))
    with right:
        bars = " - the median over seeds, smallest to largest" if seeds > 1 else ""
        st.markdown(f"**Gradient reaching the first step**, at initialisation{bars}")
        live_chart(length_gradient_figure(chart_rows), key=f"{key}_grad")
        summary(gradient_caption(runs_))
    lstm = [h for h in view.handles if h.config.model.arch == "lstm"]
    longest = max(lstm, key=lambda h: h.config.data.length) if lstm else None
    if longest is not None and longest.history.seq:
        snap = longest.history.seq[-1]
        length = longest.config.data.length
        seed = f" (seed {longest.config.train.seed})" if seeds > 1 else ""
        left, right = layout.columns(2, key=f"{key}_gates_row", min_width=420, gap="medium")
        with left:
            st.markdown(f"**The LSTM's gates at length {length}**{seed}, over the steps")
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
        sentences = reading(runs_) if current is None else []
        if sentences:
            st.markdown("#### What it shows")
            for s in sentences:
                st.markdown(f"- {s}")
    with st.container():
        if done:
            st.dataframe(table(rows), hide_index=True, key=f"{key}_table")
    if seeds > 1 and done == len(hs):
        sweep_link.kept_as_sweep(
            view,
            [{"network": r.arch, "data.length": r.length} for r in runs_],
            [r.seed for r in runs_],
            name=f"length experiment, {seeds} seeds",
            where="the Sequence lab",
        )


def pct(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.1%}"


def sci(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.2e}"


def table(rows: list[LengthResult]) -> pd.DataFrame:
    """A row a run; rows over seeds (`over_seeds`) say how many seeds finished and how many
    of those were clearly above chance, and give the test accuracy as its mean ± half its 95%
    interval and the gradient shares as their median (smallest to largest)."""
    if any(r.runs > 1 for r in rows):
        return _seeds_table(rows)
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


def _seeds_table(rows: list[LengthResult]) -> pd.DataFrame:
    def mean_ci(r: LengthResult) -> str:
        if r.test_ci is None:
            return pct(r.test_accuracy)
        return f"{pct(r.test_accuracy)} ± {(r.test_ci[1] - r.test_ci[0]) / 2:.1%}"

    def spread(v: float, span: tuple[float, float] | None) -> str:
        if span is None or span[0] == span[1]:
            return sci(v)
        return f"{sci(v)} ({sci(span[0])} to {sci(span[1])})"

    return pd.DataFrame(
        {
            "network": [ARCH_NAMES.get(r.arch, r.arch) for r in rows],
            "length": [r.length for r in rows],
            "seeds finished": [f"{r.n} of {r.runs}" for r in rows],
            "status": [r.status for r in rows],
            "above chance": ["-" if not r.n else f"{r.above} of {r.n}" for r in rows],
            "test accuracy (mean ± 95%)": [mean_ci(r) for r in rows],
            "first-step gradient, at start (median)": [
                spread(r.initial_gradient, r.initial_gradient_range) for r in rows
            ],
            "first-step gradient, trained (median)": [
                spread(r.first_step_gradient, r.gradient_range) for r in rows
            ],
            "seconds (mean)": ["-" if math.isnan(r.seconds) else f"{r.seconds:.1f}" for r in rows],
        }
    )


def button_label() -> str:
    return f"Run the length experiment ({plural(runs(), 'run')})"
