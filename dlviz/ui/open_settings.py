"""Open a lab with a run's settings: a run config turned into the lab's widget values, ready to
train live there, with what the lab's widgets cannot show named instead of silently dropped.

A lab provides ``from_config(config, setter)``: it puts each setting it has a widget for with
`Setter` (which checks the value against the widget's choices or range) and names the ones it
cannot take. `send` keeps the values for the lab's page and opens it; the lab's `init` calls
`apply(prefix)` after its defaults, before any widget is drawn, and `notice(prefix)` shows what
was loaded and what was not.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from dlviz.config import TrainConfig
from dlviz.ui import fields
from dlviz.ui.state import devices

PENDING = "_dlviz_open_settings"  # {"prefix", "page", "values", "ignored", "source"}
GO = "_dlviz_open_go"  # the page to switch to once the button's callback has run
NOTICE = "_open_notice"  # per lab: f"{prefix}{NOTICE}"


@dataclass
class Setter:
    """Collects a lab's widget values from a config; `ignored` names what did not fit."""

    values: dict[str, Any] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def put(self, key: str, value: Any) -> None:
        self.values[key] = value

    def skip(self, what: str) -> None:
        self.ignored.append(what)

    def choice(self, key: str, value: Any, options: Sequence[Any], name: str) -> bool:
        """`value` when it is one of the widget's `options`; else named as ignored."""
        if value in options:
            self.values[key] = value
            return True
        self.ignored.append(f"{name} {_shown(value)} (not one of this page's choices)")
        return False

    def number(self, key: str, value: Any, name: str) -> bool:
        """A whole number within the widget's range (`fields.RANGES`)."""
        label, lo, hi = fields.RANGES[key]
        if isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi:
            self.values[key] = value
            return True
        self.ignored.append(f"{name} {_shown(value)} (this page takes {lo} to {hi:,})")
        return False

    def between(self, key: str, value: Any, lo: float, hi: float, name: str) -> bool:
        """A number from `lo` to `hi` (a slider's range)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and lo <= value <= hi:
            self.values[key] = float(value)
            return True
        self.ignored.append(f"{name} {_shown(value)} (this page takes {lo:g} to {hi:g})")
        return False


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def training(prefix: str, train: TrainConfig, s: Setter, keys: Collection[str]) -> None:
    """The training settings every lab shares (`dlviz.ui.widgets.training_controls`); `keys`:
    the lab's widget keys (its defaults), which say whether it trains until stopped and probes
    while it trains."""
    from dlviz.ui import widgets  # the kit's widgets import this module's neighbours

    s.choice(f"{prefix}_optimizer", train.optimizer, ("sgd", "momentum", "adam", "adamw"),
             "train.optimizer")  # fmt: skip
    s.choice(f"{prefix}_lr", train.lr, widgets.LEARNING_RATES, "train.lr")
    s.choice(f"{prefix}_batch", train.batch_size, widgets.BATCH_SIZES, "train.batch_size")
    s.number(f"{prefix}_epochs", train.epochs, "train.epochs")
    s.choice(f"{prefix}_wd", train.weight_decay, widgets.WEIGHT_DECAYS, "train.weight_decay")
    s.number(f"{prefix}_seed", train.seed, "train.seed")
    if train.device in devices():
        s.put(f"{prefix}_device", train.device)
    else:
        s.skip(f"train.device {train.device!r} (not on this machine: auto is kept)")
    if f"{prefix}_until_stopped" in keys:
        s.put(f"{prefix}_until_stopped", bool(train.until_stopped))
    if f"{prefix}_live_probes" in keys:
        s.put(f"{prefix}_live_probes", bool(train.probe_every))


def send(page: str, prefix: str, s: Setter, source: str) -> None:
    """Keep `s`'s values for the lab at `page` (its widgets' `prefix`) and open it once the
    calling button's callback is over (`go`)."""
    st.session_state[PENDING] = {
        "prefix": prefix,
        "page": page,
        "values": dict(s.values),
        "ignored": list(s.ignored),
        "source": source,
    }
    st.session_state[GO] = page


def go() -> None:
    """Open the page a `send` asked for (call it where the button is drawn)."""
    page = st.session_state.pop(GO, None)
    if page:
        st.switch_page(page)


def apply(prefix: str) -> None:
    """Put the values kept for this lab into its widgets (from the lab's `init`, before any
    widget is drawn); what could not be put is kept for `notice`."""
    ss = st.session_state
    pending = ss.get(PENDING)
    if not isinstance(pending, dict) or pending.get("prefix") != prefix:
        return
    del ss[PENDING]
    for key, value in pending["values"].items():
        ss[key] = value
    ss[f"{prefix}{NOTICE}"] = (pending["source"], pending["ignored"])


def notice(prefix: str) -> None:
    """Once, after `apply`: which run's settings the lab shows now, and what it left out."""
    kept = st.session_state.pop(f"{prefix}{NOTICE}", None)
    if not kept:
        return
    source, ignored = kept
    text = f"Opened with the settings of {source}: press Train to train it live here."
    if ignored:
        text += " This page cannot show " + "; ".join(ignored) + ": those are its own."
    st.info(text, icon=":material/open_in_browser:")
