"""The sidebar every page shares: the devices found here and this session's runs."""

from __future__ import annotations

import streamlit as st

from dlviz import speed
from dlviz.text import plural
from dlviz.ui.live import View
from dlviz.ui.state import torch_threads


@st.cache_resource(show_spinner=False)
def _device_lines() -> list[str]:
    """The devices found, from the same facts the Devices page shows (`speed.machine`), once
    torch has the dashboard's thread count (before, it would report its own default)."""
    torch_threads()
    m = speed.machine()
    memory = f", {m['memory_gb']:.0f} GiB memory" if m["memory_gb"] else ""
    cores = plural(m["cores"] or 0, "core")
    lines = [f"**CPU** - {m['cpu']}, {cores}, {speed.threads_phrase(m)}" + memory]
    for g in m["gpus"]:
        driver = f", driver {g['cuda_driver']}" if g["cuda_driver"] else ""
        lines.append(
            f"**{g['device']}** - {g['name']}, {g['memory_gb']:.0f} GiB, compute capability "
            f"{g['capability']}{driver}, torch CUDA {m['torch_cuda']}"
        )
    if m["mps"]:
        lines.append("**mps** - Apple GPU")
    if not m["gpus"] and not m["mps"]:
        lines.append("No GPU found: runs train on the CPU.")
    return lines


def _session_views() -> list[View]:
    return [v for v in st.session_state.values() if isinstance(v, View)]


def _run_status() -> None:
    """This session's runs, polled every 2 s from whatever page is open, which also keeps them
    from being stopped as abandoned while the person looks at another page."""
    live = any(v.live for v in _session_views())

    @st.fragment(run_every=2.0 if live else None)
    def status() -> None:
        views = _session_views()
        for view in views:
            view.poll()
            for label, handle in zip(view.labels, view.handles):
                h = handle.history
                if not h.done:
                    st.caption(
                        f":material/model_training: {label}: {h.status}, epoch {h.epoch}/{h.total_epochs}"
                    )
        if live and not any(v.live for v in views):
            st.rerun()

    status()


def shared_sidebar() -> None:
    with st.sidebar:
        with st.expander("This machine", expanded=False, icon=":material/memory:"):
            for line in _device_lines():
                st.caption(line)
        _run_status()
