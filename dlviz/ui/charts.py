"""Charts in the page's light or dark theme.

Streamlit styles the charts it draws itself (`st.plotly_chart`) in the page's theme. A live
chart is drawn by dlviz's own component, which Streamlit does not style, so its figure is given
the theme's text, grid and line colours here, from the theme the browser reported with this run
(`st.context.theme`: it follows the system setting or the person's choice in the app menu).
A switch in the app menu reaches a live chart with its next refresh, and a finished one with
the page's next run; until the browser has said which theme it shows, neutral greys that read
on both are used.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dlviz.figures.theme import themed
from dlviz.ui.livechart import live_chart as _live_chart


def scheme() -> str | None:
    """The theme of the page this run draws, "light" or "dark"; None while not known."""
    try:
        kind = st.context.theme.type
    except Exception:  # outside a script run (a test), or an older Streamlit
        return None
    return kind if kind in ("light", "dark") else None


_SPECS = "_live_chart_specs"  # session state: chart key -> (figure, theme, its JSON)


def live_chart(fig: go.Figure, key: str, height: int | None = None) -> None:
    """A live chart (`dlviz.ui.livechart`) of `fig`, in the page's theme. A figure drawn again
    unchanged (the same object: a page keeps the figure of a snapshot until the next one) is
    not themed and serialised again: its JSON from the last time is sent (the browser, seeing
    the same JSON, does not draw it again either)."""
    theme = scheme()
    specs = st.session_state.setdefault(_SPECS, {})
    last = specs.get(key)
    if last is not None and last[0] is fig and last[1] == theme:
        spec = last[2]
    else:
        spec = themed(fig, theme).to_json()
        specs[key] = (fig, theme, spec)
    _live_chart(fig, key=key, height=height, spec=spec)


def summary(text: str) -> None:
    """A chart's one-line summary in words, under it: what the chart shows, for a person who
    cannot see its colours or its lines (and a screen reader, which cannot read a chart)."""
    st.caption(text)
