"""The sidebar every page shares: the devices found here and this session's runs."""

from __future__ import annotations

import os

import streamlit as st
import torch

from dlviz.bench import machine_info
from dlviz.ui.live import View
from dlviz.ui.state import devices


@st.cache_resource(show_spinner=False)
def _device_lines() -> list[str]:
    info = machine_info()
    lines = [
        f"**CPU** - {info['cpu_model']}, {os.cpu_count()} cores, torch uses {info['torch_threads']} threads"
    ]
    names = devices()
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            lines.append(f"**cuda:{i}** - {p.name}, {p.total_memory / 2**30:.0f} GiB")
    if "mps" in names:
        lines.append("**mps** - Apple GPU")
    if len(names) == 2:
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
        with st.expander("Devices", expanded=False, icon=":material/memory:"):
            for line in _device_lines():
                st.caption(line)
        _run_status()
