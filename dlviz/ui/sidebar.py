"""The sidebar every page shares: the devices found here, this session's runs, and Log in /
Log out where `st.login` is set up."""

from __future__ import annotations

import streamlit as st

from dlviz import timing
from dlviz.text import plural
from dlviz.ui import owner, visibility
from dlviz.ui.live import View, view_page
from dlviz.ui.livechart import preload
from dlviz.ui.state import torch_threads


@st.cache_resource(show_spinner=False)
def _device_lines() -> list[str]:
    """The devices found, from the same facts the Devices page shows (`timing.machine`), once
    torch has the dashboard's thread count (before, it would report its own default)."""
    torch_threads()
    m = timing.machine()
    memory = f", {m['memory_gb']:.0f} GiB memory" if m["memory_gb"] else ""
    cores = plural(m["cores"] or 0, "core")
    lines = [f"**CPU** - {m['cpu']}, {cores}, {timing.threads_phrase(m)}" + memory]
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


def _session_views() -> dict[str, View]:
    return {k: v for k, v in st.session_state.items() if isinstance(v, View)}


def _run_status() -> None:
    """This person's runs, polled every 2 s from whatever page is open (which also keeps them
    from being stopped as abandoned while the person looks at another page), each with Stop
    and a link to the page that shows it live."""
    live = any(v.live for v in _session_views().values())

    @st.fragment(run_every=2.0 if live else None)
    def status() -> None:
        views = _session_views()
        going = {k: v for k, v in sorted(views.items()) if v.live}
        if going:
            st.markdown("**Your runs**")
        for key, view in going.items():
            view.poll()
            lines = []
            for label, handle in zip(view.labels, view.handles):
                h = handle.history
                if not h.done:
                    of = f"/{h.total_epochs}" if h.total_epochs else ""
                    lines.append(f"{label}: {h.status}, epoch {h.epoch}{of}")
            page = view_page(key)
            c1, c2 = st.columns([3, 2], vertical_alignment="center")
            with c1:
                if page:
                    st.page_link(page[0], label=page[1], icon=":material/model_training:")
                st.caption(
                    "; ".join(lines[:2]) + (f" (+{len(lines) - 2} more)" if len(lines) > 2 else "")
                )
            c2.button(
                "Stop",
                key=f"sb_stop_{key}",
                icon=":material/stop:",
                on_click=view.stop,
                width="stretch",
                help="Stop this run; what it has drawn so far is kept.",
            )
        if live and not any(v.live for v in views.values()):
            st.rerun()

    status()


def _plain(text: str) -> str:
    """A name from an identity provider, shown as it is (no Markdown in it)."""
    return "".join(c for c in text if c not in "*_`[]()<>#|\\$~")[:80]


# What a person on a shared server is told of whose runs they see (dlviz.ui.visibility).
SHARED_NOTE = (
    "A shared server: the runs you start here are kept for this browser, and no other browser "
    "sees them."
)


def _account() -> None:
    """On a shared server, whose runs these are; Log in / Log out, where secrets.toml sets up
    `st.login` (an [auth] section)."""
    if not owner.login_available():
        if visibility.shared():
            st.caption(SHARED_NOTE)
        return
    if owner.signed_in():
        user = st.user.to_dict()
        name = _plain(str(user.get("name") or user.get("email") or "")) or "you"
        st.caption(f"Signed in as {name}: your runs are yours from any browser.")
        if st.button("Log out", key="sb_logout", icon=":material/logout:", width="stretch"):
            st.logout()
        return
    st.caption("Log in to keep your runs under your own account, from any browser.")
    if st.button("Log in", key="sb_login", icon=":material/login:", width="stretch"):
        try:
            st.login()
        except Exception as e:  # Authlib missing, or the [auth] section incomplete
            st.error(
                f"Logging in is not available here: {e}. Ask the person who runs this server "
                "to check its [auth] settings.",
                icon=":material/error:",
            )


def shared_sidebar() -> None:
    # The script that gives a new browser its token cookie goes out first, before anything
    # that takes time (the restart notice reads the run store): a reload before it has run
    # gets a new token and loses sight of the runs this session starts.
    with st.sidebar:
        owner.remember_browser()
    # A reload or a second tab is a new session: it takes over this browser's runs first, so
    # the page it draws already shows them. After a restart, say what became of them.
    owner.adopt()
    owner.restart_notice()
    with st.sidebar:
        _account()
        with st.expander("This machine", expanded=False, icon=":material/memory:"):
            for line in _device_lines():
                st.caption(line)
        _run_status()
        # plotly.js for the live charts, fetched while the person reads the page, so the first
        # Train draws its charts at once.
        preload()
