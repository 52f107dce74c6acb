"""A lab's settings in its page's URL, as TensorFlow Playground keeps its setup in the address:
copy the link, open it in another browser, and the same data, network and training settings
appear, ready to train. A reload keeps them too.

Each lab lists its settings as `Field`s (widget key -> how to read and write it); `sync(prefix,
fields, defaults)`, called from the lab's `init` after its defaults and before any widget, does
both directions: the first time a session shows the page it takes the settings the link names
(each checked as its widget would check it; what is wrong or unknown is left at its default and
named by `notice`), and on every run it writes the settings that differ from the defaults into
the URL, without the lab's key prefix (``/playground?dataset=xor&widths=16,8``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dlviz import jsonread
from dlviz.ui import fields as number_fields

MAX_VALUE_CHARS = 2_000  # a longer value in a link is not a setting


@dataclass(frozen=True)
class Field:
    """How one setting reads from a link (`parse`: raises ValueError with the reason) and
    writes into one (`show`)."""

    parse: Callable[[str], Any]
    show: Callable[[Any], str] = str


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def choice(options: Sequence[Any]) -> Field:
    """One of `options` (a select box, a select slider, segmented buttons)."""
    by_text = {_text(o): o for o in options}

    def parse(raw: str) -> Any:
        if raw in by_text:
            return by_text[raw]
        try:  # 0.010 for 0.01, 1e-3 for 0.001
            number = float(raw)
        except ValueError:
            number = math.nan
        for o in options:
            if isinstance(o, (int, float)) and not isinstance(o, bool) and o == number:
                return o
        shown = ", ".join(by_text) if len(by_text) <= 8 else f"{len(by_text)} choices"
        raise ValueError(f"not one of {shown}")

    return Field(parse, _text)


def many(options: Sequence[Any]) -> Field:
    """Several of `options`, comma separated (a multiselect); each at most once."""
    one = choice(options)

    def parse(raw: str) -> list[Any]:
        out: list[Any] = []
        for part in (p.strip() for p in raw.split(",") if p.strip()):
            value = one.parse(part)
            if value not in out:
                out.append(value)
        return out

    return Field(parse, lambda values: ",".join(_text(v) for v in values))


def whole(lo: int, hi: int) -> Field:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("not a whole number") from None
        if not lo <= value <= hi:
            raise ValueError(f"not from {lo:,} to {hi:,}")
        return value

    return Field(parse)


def real(lo: float, hi: float, step: float | None = None) -> Field:
    """A number from `lo` to `hi` (a slider), on its `step` when given."""

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("not a number") from None
        if not (math.isfinite(value) and lo <= value <= hi):
            raise ValueError(f"not from {lo:g} to {hi:g}")
        if step:
            value = round(round((value - lo) / step) * step + lo, 10)
        return value

    return Field(parse, _text)


def flag() -> Field:
    def parse(raw: str) -> bool:
        if raw.lower() in ("true", "1", "yes", "on"):
            return True
        if raw.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError("not true or false")

    return Field(parse, _text)


def text(check: Callable[[str], Any] | None = None) -> Field:
    """Free text (a text box), checked by `check` (a ValueError, or any exception whose
    message says what is wrong, refuses it)."""

    def parse(raw: str) -> str:
        if check is not None:
            try:
                check(raw)
            except Exception as e:
                raise ValueError(str(e).split(": ", 1)[-1]) from None
        return raw

    return Field(parse)


def as_json(parse_value: Callable[[Any], Any], show_value: Callable[[Any], Any]) -> Field:
    """A structured setting (a table of blocks) as compact JSON."""

    def parse(raw: str) -> Any:
        try:
            obj = jsonread.loads(raw)
        except ValueError:  # not JSON, or nested too deep (jsonread.NestedTooDeep)
            raise ValueError("not readable") from None
        try:
            return parse_value(obj)
        except Exception as e:
            raise ValueError(str(e)) from None

    return Field(parse, lambda v: json.dumps(show_value(v), separators=(",", ":")))


def numbers(defaults: dict[str, Any]) -> dict[str, Field]:
    """The whole-number fields and switches among `defaults`: number inputs (their ranges in
    `dlviz.ui.fields.RANGES`) and toggles (bool defaults)."""
    out: dict[str, Field] = {}
    for key, value in defaults.items():
        if isinstance(value, bool):
            out[key] = flag()
        elif isinstance(value, int) and key in number_fields.RANGES:
            _, lo, hi = number_fields.RANGES[key]
            out[key] = whole(lo, hi)
    return out


# --- the two directions -----------------------------------------------------------------------


def _name(prefix: str, key: str) -> str:
    return key[len(prefix) + 1 :] if key.startswith(prefix + "_") else key


def read(prefix: str, fields: dict[str, Field], params: dict[str, str]) -> tuple[dict, list]:
    """(widget values, what was left out) from a link's `params`."""
    by_name = {_name(prefix, key): key for key in fields}
    values: dict[str, Any] = {}
    ignored: list[str] = []
    for name, raw in params.items():
        key = by_name.get(name)
        if key is None:
            ignored.append(f"{_cut(name, 40)} (not a setting of this page)")
            continue
        if len(raw) > MAX_VALUE_CHARS:
            ignored.append(f"{name} (too long)")
            continue
        try:
            values[key] = fields[key].parse(raw)
        except ValueError as e:  # the reason may quote the value: cut short, as the value is
            ignored.append(f"{name}={_cut(raw, 40)} ({_cut(str(e), 160)})")
    return values, ignored


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


def written(prefix: str, fields: dict[str, Field], state: Any, defaults: dict[str, Any]) -> dict:
    """The query parameters of the settings in `state` that differ from `defaults`."""
    out: dict[str, str] = {}
    for key, field in fields.items():
        if key in state and key in defaults and state[key] != defaults[key]:
            try:
                out[_name(prefix, key)] = field.show(state[key])
            except Exception:  # a value the widget refuses: not worth a link
                continue
    return out


def sync(
    prefix: str,
    fields: dict[str, Field],
    defaults: dict[str, Any],
    after: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Take the link's settings the first time this session shows the page (then `after`
    gets the values taken, to set what follows from them); write the settings into the URL."""
    ss = st.session_state
    read_key = f"_{prefix}_url_read"
    try:
        params = {k: st.query_params[k] for k in st.query_params.keys()}
    except Exception:  # no page behind this session
        params = {}
    if not ss.get(read_key):
        ss[read_key] = True
        if params:
            values, ignored = read(prefix, fields, params)
            for key, value in values.items():
                ss[key] = value
            if after is not None and values:
                after(values)
            if ignored:
                ss[f"_{prefix}_url_ignored"] = ignored
    want = written(prefix, fields, ss, defaults)
    if want != params:
        st.query_params.from_dict(want)


def notice(prefix: str) -> None:
    """Once, after a link was read: what in it was left out, and why."""
    ignored = st.session_state.pop(f"_{prefix}_url_ignored", None)
    if ignored:
        st.warning(
            "This link's settings are set, except " + "; ".join(ignored) + ": those keep "
            "their defaults.",
            icon=":material/link_off:",
        )
