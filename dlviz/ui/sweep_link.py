"""A lab's "Sweep these settings" button: its current run config becomes the Sweep page's base,
and the page opens. And an experiment a lab ran over seeds, kept as a sweep once it ended, so
the Sweep page shows it with its views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dlviz import runs
from dlviz.config import RunConfig
from dlviz.sweeps.driver import record
from dlviz.ui import owner

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


RECORDED = "_sweep_recorded"  # run ids of an ended experiment -> the sweep they are kept as


def kept_as_sweep(
    view: Any, params: list[dict[str, Any]], seeds: list[int], *, name: str, where: str
) -> None:
    """An experiment over seeds (`view`'s runs, each with its `params` and seed), once every
    run has ended, kept as a sweep in the store (`dlviz.sweeps.driver.record`) once, and a line
    under it saying so with a link to the Sweep page."""
    ids = tuple(h.history.run_id for h in view.handles)
    if not all(ids):
        return  # a run that could not be saved: nothing to keep
    recorded = st.session_state.setdefault(RECORDED, {})
    if ids not in recorded:
        trials = [{"run_id": i, "params": p, "seed": s} for i, p, s in zip(ids, params, seeds)]
        try:
            recorded[ids] = record(
                runs.default_root(), name=name, trials=trials, where=where, owner=owner.owner_id()
            )
        except (OSError, runs.RunStoreError):
            recorded[ids] = ""
    sid = recorded[ids]
    if sid:
        st.caption(
            f"These runs are kept as the sweep **{sid}**: the Sweep page shows them with its "
            "views (each axis's share of the variance, parallel coordinates, best so far)."
        )
        st.page_link(SWEEP_PAGE, label="Open the Sweep page", icon=":material/tune:")
