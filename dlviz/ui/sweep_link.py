"""A lab's "Sweep these settings" button: its current run config becomes the Sweep page's base,
and the page opens."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dlviz.config import RunConfig

BASE = "sw_base"  # the Sweep page's base run config (a dict)
BASE_FROM = "sw_base_from"  # where it came from, in words
SWEEP_PAGE = "pages/sweeps.py"


def _send(config: RunConfig, lab: str) -> None:
    d = config.to_dict()
    d.setdefault("train", {})["until_stopped"] = False  # a sweep's trials end
    st.session_state[BASE] = d
    st.session_state[BASE_FROM] = f"the {lab}'s settings"
    st.session_state["_sw_go"] = True


def sweep_button(make: Callable[[], RunConfig], lab: str, key: str) -> None:
    """A button that sends the config `make()` builds from the lab's settings to the Sweep
    page as its base and opens it (disabled while the settings make none)."""
    try:
        config: RunConfig | None = make()
    except (ValueError, KeyError):  # a refused setting: the page says which above Train
        config = None
    st.button(
        "Sweep these settings",
        key=key,
        icon=":material/tune:",
        disabled=config is None,
        on_click=_send,
        args=(config, lab) if config is not None else None,
        help="Open the Sweep page with these settings as its base: vary a few of them over "
        "several seeds and see which differences hold.",
    )
    if st.session_state.pop("_sw_go", False):
        st.switch_page(SWEEP_PAGE)
