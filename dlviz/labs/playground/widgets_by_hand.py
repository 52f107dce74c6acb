"""Step by hand's settings and buttons: the tiny network's size, batch, optimizer and learning
rate; Forward, Loss, Backward, Update, Next step and Reset.

The session's tiny network (`dlviz.by_hand.HandNet`), its batch, its last step and the stage
shown live in one `Stepper` under ``pg_bh``. A step is taken whole when Forward (or Next step)
is pressed; Loss, Backward and Update then show more of it, and the weights the next step
starts from are the ones Update shows. Changing a setting (here or the Playground's activation,
data or seed) builds the network again from its first step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st
import torch

from dlviz.by_hand import (
    BATCHES,
    OPTIMIZERS,
    SIZES,
    HandNet,
    StepRecord,
    pick_batch,
    weight_name,
    weights,
)
from dlviz.config import DataConfig
from dlviz.data import Dataset
from dlviz.ui import layout, state
from dlviz.ui.fields import KEEP

STATE = "pg_bh"
STAGES = ("start", "forward", "loss", "backward", "update")
# The button that moves on from each stage, by the stage it leads to.
BUTTONS = (("forward", "Forward"), ("loss", "Loss"), ("backward", "Backward"),
           ("update", "Update"), ("next", "Next step"))  # fmt: skip
LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0)
OPTIMIZER_LABELS = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}
MAX_LOSSES = 200  # the losses of the steps taken, kept for the line under the diagram

DEFAULTS: dict[str, Any] = {
    "pg_bh_size": "2-3-2",
    "pg_bh_batch": 4,
    "pg_bh_optimizer": "sgd",
    "pg_bh_lr": 0.1,
    "pg_bh_sample": 0,
    "pg_bh_weight": (0, 0, 0),
}


@dataclass
class Stepper:
    """The session's tiny network, its batch, its last step and the stage shown of it."""

    signature: tuple
    net: HandNet
    x: torch.Tensor  # (B, 2)
    y: torch.Tensor  # (B,)
    record: StepRecord | None = None
    stage: int = 0  # an index of STAGES
    losses: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    size: str
    batch: int
    optimizer: str
    lr: float
    activation: str
    seed: int

    @property
    def sizes(self) -> tuple[int, ...]:
        return SIZES[self.size]


def init() -> None:
    state.set_defaults(DEFAULTS)


def controls() -> None:
    """The tiny network's own settings, in a row that wraps on a narrow page."""
    c1, c2, c3, c4 = layout.columns(4, key="pg_bh_settings", min_width=180)
    c1.selectbox(
        "Network",
        tuple(SIZES),
        key="pg_bh_size",
        help="Inputs, hidden widths and outputs: 2-3-2 is two inputs, one hidden layer of "
        "three neurons and two outputs (the logits of class 0 and class 1).",
        persist_state=KEEP,
    )
    c2.segmented_control(
        "Batch",
        BATCHES,
        format_func=lambda n: f"{n} samples",
        key="pg_bh_batch",
        required=True,
        persist_state=KEEP,
    )
    c3.selectbox(
        "Optimizer",
        OPTIMIZERS,
        format_func=OPTIMIZER_LABELS.get,
        key="pg_bh_optimizer",
        help="SGD + momentum keeps a buffer, 0.9 of the last one plus the new gradient; Adam "
        "keeps running means of the gradient and of its square. Built as the Training tab's "
        "are (momentum 0.9; Adam's betas 0.9, 0.999, eps 1e-8), without weight decay.",
        persist_state=KEEP,
    )
    c4.select_slider(
        "Learning rate", LEARNING_RATES, format_func=lambda v: f"{v:g}", key="pg_bh_lr",
        persist_state=KEEP,
    )  # fmt: skip


def settings(activation: str, seed: int) -> Settings:
    ss = st.session_state
    return Settings(
        size=ss["pg_bh_size"],
        batch=int(ss["pg_bh_batch"]),
        optimizer=ss["pg_bh_optimizer"],
        lr=float(ss["pg_bh_lr"]),
        activation=activation,
        seed=seed,
    )


def stepper(s: Settings, data_cfg: DataConfig, ds: Dataset) -> Stepper:
    """The session's Stepper for these settings: the one it has, or a new one (a first step
    to take) when the settings changed or there is none. Raises ValueError when the data has
    too few points of a class for the batch."""
    signature = (s, data_cfg)
    current = st.session_state.get(STATE)
    if isinstance(current, Stepper) and current.signature == signature:
        return current
    x, y = pick_batch(ds.x_train, ds.y_train, s.batch)
    net = HandNet(s.sizes, s.activation, s.optimizer, s.lr, seed=s.seed)
    fresh = Stepper(signature, net, x, y)
    st.session_state[STATE] = fresh
    return fresh


# --- the buttons ------------------------------------------------------------------------------


def _advance(to: str) -> None:
    """Button callback: take a step (Forward, Next step) or show the next stage of it."""
    sp = st.session_state.get(STATE)
    if not isinstance(sp, Stepper):
        return
    if to in ("forward", "next"):
        sp.record = sp.net.step(sp.x, sp.y)
        sp.losses = [*sp.losses, sp.record.loss][-MAX_LOSSES:]
        sp.stage = STAGES.index("forward")
    else:
        sp.stage = STAGES.index(to)


def _reset() -> None:
    st.session_state.pop(STATE, None)  # built again, from the same seed, on this run


def _enabled(sp: Stepper, to: str) -> bool:
    if to == "forward":
        return sp.record is None
    if to == "next":
        return sp.stage == STAGES.index("update")
    return sp.record is not None and sp.stage == STAGES.index(to) - 1


def buttons(sp: Stepper) -> None:
    """Forward -> Loss -> Backward -> Update -> Next step, only the next one enabled; Reset."""
    with layout.row("pg_bh_buttons"):
        for to, label in BUTTONS:
            st.button(
                label,
                key=f"pg_bh_{to}",
                on_click=_advance,
                args=(to,),
                disabled=not _enabled(sp, to),
                type="primary" if _enabled(sp, to) else "secondary",
            )
        st.button(
            "Reset",
            key="pg_bh_reset",
            on_click=_reset,
            disabled=sp.record is None,
            help="Back to the network's initial weights and a fresh optimizer.",
        )


def view_choices(sp: Stepper) -> tuple[int, tuple[int, int, int]]:
    """Which sample's values the neurons show, and the chosen weight: (sample, (layer, j, i))."""
    sizes = sp.net.sizes
    options = weights(sizes)
    ss = st.session_state
    if tuple(ss.get("pg_bh_weight", ())) not in options:
        ss["pg_bh_weight"] = options[0]
    if ss.get("pg_bh_sample", 0) not in range(len(sp.y)):
        ss["pg_bh_sample"] = 0
    c1, c2 = layout.columns(2, key="pg_bh_choices", min_width=260)
    sample = c1.selectbox(
        "Values on the neurons for",
        range(len(sp.y)),
        format_func=lambda s: f"sample {s + 1} of {len(sp.y)} (class {int(sp.y[s])})",
        key="pg_bh_sample",
        help="The neurons show one sample's values; the numbers on the connections are the "
        "network's weights, or their gradients over the whole batch.",
    )
    weight = c2.selectbox(
        "Chosen weight",
        options,
        format_func=lambda w: weight_name(sizes, *w),
        key="pg_bh_weight",
        help="Drawn in purple; its chain rule and its update are written out under the diagram.",
    )
    return int(sample), tuple(weight)  # type: ignore[return-value]
