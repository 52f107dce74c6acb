"""Layouts that read at any width: column groups that wrap instead of squeezing, the page's
settings beside its main area on a wide screen and above it on a narrow one, and the sidebar
folded away on a narrow screen.

Streamlit's columns keep their shares of the row down to a 640 px window, then stack. Between
those, a settings column of a quarter of an 800 px window is 150 px: "Train" shows as "T…",
metrics as "1…", labels break mid-word. Here each group of columns gets a minimum column width
(`columns`): the row's columns wrap onto a new line when they would be narrower, and a column
alone on its line takes the whole line. The rules are CSS (`CSS`), keyed on the class Streamlit
gives a container with a `key`; `apply()` adds them to every page.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

# The minimum column widths `columns` offers (px): the CSS has one rule per width.
MIN_WIDTHS = (100, 120, 140, 180, 220, 260, 300, 360, 420)
SETTINGS_MIN, MAIN_MIN = 270, 540  # the page split: settings, and the main area beside it
NARROW_SCREEN = 1024  # below this window width the sidebar starts folded away

_COLUMNS = '> [data-testid="stLayoutWrapper"] > [data-testid="stHorizontalBlock"] > '
_COLUMN = '[data-testid="stColumn"]'


def _css() -> str:
    rules = [
        f'[class*="st-key-wrap{w}_"] {_COLUMNS}{_COLUMN} {{ min-width: min({w}px, 100%); }}'
        for w in MIN_WIDTHS
    ]
    # The split: flex wraps by the columns' starting sizes, before they shrink, so the main
    # area starts at its minimum and takes three shares of the room left over.
    rules += [
        f'[class*="st-key-split_"] {_COLUMNS}{_COLUMN}:first-child '
        f"{{ flex: 1 1 {SETTINGS_MIN}px; min-width: min({SETTINGS_MIN}px, 100%); }}",
        f'[class*="st-key-split_"] {_COLUMNS}{_COLUMN}:last-child '
        f"{{ flex: 3 1 {MAIN_MIN}px; min-width: min({MAIN_MIN}px, 100%); }}",
    ]
    return "\n".join(
        [
            "<style>",
            # Wide screens: 2.5 rem of side padding instead of 5, so the content has the width.
            "@media (min-width: 768px) {",
            '  [data-testid="stMainBlockContainer"] {',
            "    padding-left: 2.5rem; padding-right: 2.5rem; padding-top: 4rem; }",
            "}",
            *rules,
            # A label that does not fit goes onto a second line between words, never inside one
            # ("Samp / les").
            '[data-testid="stWidgetLabel"] p, [data-testid="stMetricLabel"] p,',
            '[data-testid="stTab"] p { overflow-wrap: normal; word-break: normal; }',
            ".st-key-dlviz_page_script { display: none; }",
            "</style>",
        ]
    )


CSS = _css()

# Streamlit folds the sidebar away only below 768 px; between that and NARROW_SCREEN it would
# take 300 px of the window. Fold it on a narrow window unless the person has opened or closed
# it themselves (Streamlit keeps that choice in localStorage); Streamlit remembers our click
# as such a choice, for every width, so it is forgotten again.
SIDEBAR_SCRIPT = f"""<script>
(() => {{
  if (window.innerWidth >= {NARROW_SCREEN}) return;
  const chosen = () => Object.keys(localStorage).filter(k => k.startsWith("stSidebarCollapsed-"));
  if (chosen().length) return;
  let tries = 0;
  const fold = () => {{
    const bar = document.querySelector('[data-testid="stSidebar"]');
    const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (bar && bar.getAttribute("data-collapsed") === "true") return;
    if (bar && button) {{
      button.click();
      setTimeout(() => chosen().forEach(k => localStorage.removeItem(k)), 0);
    }} else if (tries++ < 100) {{
      setTimeout(fold, 50);
    }}
  }};
  fold();
}})();
</script>"""


def apply() -> None:
    """Add the layout rules to the page, and fold the sidebar on a narrow window (app.py calls
    this once a run, before the page)."""
    st.html(CSS)  # style only: Streamlit puts it where it takes no room
    with st.sidebar.container(key="dlviz_page_script"):
        st.html(SIDEBAR_SCRIPT, unsafe_allow_javascript=True)


def split(key: str) -> tuple[Any, Any]:
    """A page's settings column and its main area: side by side (a quarter and three quarters,
    the settings at least SETTINGS_MIN px) while the main area keeps MAIN_MIN px, the settings
    above the main area on a narrower screen."""
    with st.container(key=f"split_{key}"):
        return tuple(st.columns([1, 3], gap="large"))


def columns(
    spec: int | list[float],
    *,
    key: str,
    min_width: int,
    gap: str = "small",
    vertical_alignment: str = "top",
) -> list[Any]:
    """`st.columns(spec)` whose columns wrap onto a new line rather than get narrower than
    `min_width` px (one of MIN_WIDTHS); a column alone on its line takes all of it."""
    if min_width not in MIN_WIDTHS:
        raise ValueError(f"min_width must be one of {MIN_WIDTHS}, got {min_width}")
    with st.container(key=f"wrap{min_width}_{key}"):
        return list(st.columns(spec, gap=gap, vertical_alignment=vertical_alignment))


def row(key: str, gap: str = "small", spread: bool = False) -> Any:
    """A row of buttons (or other small widgets) side by side, each as wide as its text needs
    and sharing what is left, wrapping onto a new line when the row is too narrow for them
    all: a button's label is never cut. `spread`: the first at the left, the last at the right
    (a heading and its button)."""
    return st.container(
        key=f"row_{key}",
        horizontal=True,
        horizontal_alignment="distribute" if spread else "left",
        gap=gap,
        vertical_alignment="center",
    )
