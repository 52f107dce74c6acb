"""Session state and shared read-only resources for the pages.

Everything a browser session owns (its runs, its widget values) lives in `st.session_state`;
module globals here hold only read-only things cached for all sessions (datasets, warm-up).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dlviz.config import DataConfig
from dlviz.data import Dataset, load_dataset, load_generative
from dlviz.devices import available_devices
from dlviz.ui.server import use_app_navigation


def set_defaults(defaults: dict[str, Any]) -> None:
    """Give each key its default once per session (widgets then read it through their key)."""
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


def remembered(store: str, name: str, source: Any, build: Callable[[], Any]) -> Any:
    """What `build()` made for `source` the last time, kept in session state under
    ``store``/`name`, if `source` is the same object (or an equal tuple): a live view's figure
    costs milliseconds that a refresh every half second cannot spend again and again."""
    cache = st.session_state.setdefault(store, {})
    hit = cache.get(name)
    if hit is not None and (hit[0] is source or (isinstance(source, tuple) and hit[0] == source)):
        return hit[1]
    value = build()
    cache[name] = (source, value)
    return value


@st.cache_resource(max_entries=64, show_spinner=False)
def dataset(cfg: DataConfig) -> Dataset:
    """The dataset `cfg` names, generated once per process and shared read-only."""
    return load_dataset(cfg)


@st.cache_resource(max_entries=32, show_spinner=False)
def generative_dataset(cfg: DataConfig) -> Dataset:
    """The distribution `cfg` names, as a generative model learns it (shared read-only)."""
    return load_generative(cfg)


@st.cache_resource(show_spinner=False)
def devices() -> list[str]:
    return available_devices()


def torch_threads() -> int:
    """Give torch the dashboard's thread count (`dlviz.devices.server_threads`) in this thread
    and in every thread started after it (runs, benchmarks, later script runs), and return it.
    Call it before anything reads `torch.get_num_threads()` to tell a person: the sidebar and
    the Devices page then state the same, true number."""
    from dlviz.devices import configure_threads, server_threads

    n = server_threads()
    configure_threads(n)
    return n


@st.cache_resource(show_spinner=False)
def warm_up() -> bool:
    """Pay torch's one-time start-up costs (lazy imports, first kernels) before the first Train,
    so the first point of a run's loss chart appears within a second of pressing it. Also, once
    per server: SIGUSR1 makes the server print every thread's stack to its log (`kill -USR1
    PID`), for a page or a run that seems stuck (docs/load.md); `dlviz ui` registers it as it
    starts, this for a plain `streamlit run app.py`."""
    from dlviz import run_process
    from dlviz.train import warm_up as _warm
    from dlviz.ui.server import print_stacks_on_signal

    print_stacks_on_signal()
    torch_threads()
    _warm()
    run_process.enable()  # each run trains in a process of its own (docs/ARCHITECTURE.md)
    return True


APP_FLAG = "_dlviz_app_ran"


def mark_app_ran() -> None:
    """app.py calls this before running the page, so a page knows it runs inside the app."""
    st.session_state[APP_FLAG] = True


def ensure_app() -> None:
    """Make a page that was started on its own run through app.py (navigation, sidebar).

    Under a plain `streamlit run app.py`, Streamlit treats the `pages/` folder next to app.py
    as old-style pages until app.py has called `st.navigation` once in this server process. A
    fresh server whose very first visit is a deep link (``/playground``) would run the page
    file alone: no navigation, no shared sidebar, no wide layout. Then: switch to the app's own
    navigation and rerun once, which runs app.py and lands on the same page. (`dlviz ui` and
    `./dev.sh dashboard` switch before the server starts: `dlviz.ui.server.use_app_navigation`.)
    """
    if st.session_state.get(APP_FLAG) or st.session_state.get("_dlviz_rerouted"):
        return
    st.session_state["_dlviz_rerouted"] = True
    use_app_navigation()
    st.rerun()
