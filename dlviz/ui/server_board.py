"""Who trains on this server now, and who waits and why: the admission board
(`dlviz.admission`) as a table that keeps itself current, with the limits it applies and the
sweeps running beside the dashboard. Runs are named "you" or "someone else", never by who."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from dlviz import admission, runs
from dlviz.sweeps.driver import list_sweeps, running
from dlviz.text import plural
from dlviz.ui import owner

REFRESH_S = 2.0
COLUMNS = {
    "state": "state",
    "who": "whose",
    "run": "run",
    "device": "device",
    "memory": "memory (about)",
    "since_s": "for (s)",
    "reason": "why it waits",
}


def limits_line() -> str:
    """The rules the board applies, as set on this server."""
    cap = admission.runs_per_session()
    parts = [f"each device trains at most {plural(admission.runs_per_device(), 'run')} at once"]
    parts.append(f"one person at most {plural(cap, 'run')}" if cap else "one person as many as fit")
    budget = admission.budget_bytes(torch.device("cpu"))
    if budget:
        parts.append(f"runs on the CPU may plan on {admission.size(budget)} of memory together")
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"Here {listed}. A run that needs more waits, first come first served, and says why."


def sweeps_line(viewer: str) -> str:
    try:
        live = [m for m in list_sweeps(runs.default_root()) if running(m)]
    except OSError:
        return ""
    if not live:
        return ""
    mine = sum(1 for m in live if viewer and m.get("owner") == viewer)
    yours = f" ({mine} of them yours)" if mine else ""
    return (
        f"{plural(len(live), 'sweep')} running in {plural(len(live), 'process', 'processes')} "
        f"of {'its' if len(live) == 1 else 'their'} own{yours}; the Sweep page follows them."
    )


def draw() -> None:
    """The board, redrawn every couple of seconds."""
    st.caption(limits_line())

    @st.fragment(run_every=REFRESH_S)
    def _board() -> None:
        viewer = owner.owner_id()
        rows = admission.board(viewer)
        if not rows:
            st.caption("Nothing trains in the dashboard right now, and nothing waits.")
        else:
            waiting = sum(r["state"] == "waiting" for r in rows)
            st.caption(f"{plural(len(rows) - waiting, 'run')} training, {waiting} waiting.")
            frame = pd.DataFrame(rows)[list(COLUMNS)].rename(columns=COLUMNS)
            st.dataframe(frame, hide_index=True, key="server_board")
        line = sweeps_line(viewer)
        if line:
            st.caption(line)

    _board()
