"""Number fields whose typed values reach the page, checked against one table of ranges.

Streamlit's `number_input` with `min_value` / `max_value` turns a typed 99999999 red in the
browser but keeps the last valid value on the server, so Train would silently use another
number than the one on screen. These fields have no Streamlit bounds: what is typed arrives,
`problem()` says when it is out of range (naming the field and its range), and the page shows
that and disables its button. The config built from the fields raises a `ConfigError` naming
the field too, so a button callback never trains on a refused value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import streamlit as st

from dlviz.config import MAX_HIDDEN_LAYERS, ConfigError

KEEP = "session"  # widget values survive a page switch
SEED_MAX = 2**31 - 1

# widget key -> (label, lowest, highest): every whole-number field a page has, in one place
RANGES: dict[str, tuple[str, int, int]] = {
    "pg_data_seed": ("Data seed", 0, SEED_MAX),
    "pg_layers": ("Hidden layers", 1, MAX_HIDDEN_LAYERS),
    "im_data_seed": ("Data seed", 0, SEED_MAX),
    "up_data_seed": ("Split seed", 0, SEED_MAX),
    "dp_epochs": ("Epochs", 1, 500),
    "tl_epochs": ("Epochs", 1, 500),
    "tl_seed": ("Seed", 0, SEED_MAX),
    "tl_steps": ("Optimizer steps per run", 10, 5000),
    "sd_data_seed": ("Data seed", 0, SEED_MAX),
}
for _prefix in ("pg", "im", "up", "sd"):  # the shared training controls
    RANGES[f"{_prefix}_epochs"] = ("Epochs", 1, 5000)
    RANGES[f"{_prefix}_seed"] = ("Seed", 0, SEED_MAX)


def number_input(
    where: Any,
    key: str,
    label: str | None = None,
    lo: int | None = None,
    hi: int | None = None,
    *,
    help: str | None = None,
    persist: bool = True,
) -> Any:
    """A whole-number field under `key` (its range from RANGES, or `lo` and `hi` for a range
    that depends on the data), drawn in `where` (``st`` or a column). Returns its value."""
    label = label or RANGES[key][0]
    extra = {"persist_state": KEEP} if persist else {}
    return where.number_input(label, key=key, step=1, help=help, **extra)


def problem(
    key: str, lo: int | None = None, hi: int | None = None, label: str | None = None
) -> str:
    """Why the value under `key` is refused ("" when it is fine): it is not a whole number, or
    it is outside its range (RANGES, or `lo` to `hi`; named `label`, else as in RANGES)."""
    name, low, high = RANGES.get(key, (key, lo, hi))
    label = label or name
    low = low if lo is None else lo
    high = high if hi is None else hi
    value = st.session_state.get(key)
    rule = f"enter a whole number from {low:,} to {high:,}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{label}: {value!r} is not a number; {rule}."
    if isinstance(value, float) and not value.is_integer():
        return f"{label}: {value:g} is not a whole number; {rule}."
    if not low <= value <= high:
        return f"{label}: {int(value):,} is out of range; {rule}."
    return ""


def first_problem(keys: Iterable[str]) -> str:
    """The first refused value among `keys` ("" when none)."""
    return next((p for p in map(problem, keys) if p), "")


def value(key: str) -> int:
    """The whole number under `key`; a ConfigError naming the field when it is refused."""
    why = problem(key)
    if why:
        label, _, message = why.partition(": ")
        raise ConfigError(label, message.rstrip("."))
    return int(st.session_state[key])
