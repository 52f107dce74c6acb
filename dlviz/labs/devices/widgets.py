"""The Devices lab's settings: which devices to measure and how, earlier reports to show or
compare, and the race of one network on several devices. Every widget key starts with
``dv_``."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dlviz.labs.devices import view as dp
from dlviz.ui import layout, live, url_state
from dlviz.ui.state import set_defaults


def defaults() -> dict[str, Any]:
    racers = dp.race_devices()
    return {
        "dv_which": "all",
        "dv_network": next(iter(dp.SOURCES)),
        "dv_quick": True,
        "dv_source": next(iter(dp.SOURCES)),
        "dv_racers": racers[:2],
    }


def url_fields() -> dict[str, url_state.Field]:
    """What a link carries: what to measure and how, and what to race on which devices (not
    the earlier reports, which are files of this machine)."""
    names = ["all"] + [str(d) for d in dp.devices_to_measure("all")]
    return {
        "dv_which": url_state.choice(names),
        "dv_network": url_state.choice(tuple(dp.SOURCES)),
        "dv_quick": url_state.flag(),
        "dv_source": url_state.choice(tuple(dp.SOURCES)),
        "dv_racers": url_state.many(dp.race_devices()),
    }


def init() -> None:
    """The page's defaults, then the settings its link names."""
    d = defaults()
    set_defaults(d)
    url_state.sync("dv", url_fields(), d)


def measure_settings() -> tuple[str, str, bool, bool]:
    """The devices to measure, whose network the training step times, quick or full, and
    whether Measure was pressed."""
    c1, c2, c3, c4 = layout.columns(
        [2, 3, 2, 2], key="dv_settings", min_width=180, vertical_alignment="bottom"
    )
    names = ["all"] + [str(d) for d in dp.devices_to_measure("all")]
    which = c1.selectbox("Devices", names, key="dv_which")
    bench_net = c2.selectbox(
        "Training step of",
        list(dp.SOURCES),
        format_func=dp.SOURCES.get,
        key="dv_network",
        help="Whose network the training-step benchmark times: the one you set on that page.",
    )
    quick = c3.toggle(
        "Quick look",
        key="dv_quick",
        help="Small sizes: seconds instead of minutes. Off: matrices up to 8192 on a GPU (2048 on "
        "the CPU), batches up to 1024.",
    )
    go = c4.button("Measure", key="dv_measure", type="primary", icon=":material/speed:")
    return which, bench_net, quick, go


def earlier_reports(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """Earlier measurements of this machine (or copied from others): one shown instead of
    `report`, or several compared on one chart. Returns the report to show."""
    past = dp.earlier()
    if past:
        with st.expander(f"Earlier measurements ({len(past)}): show one, or compare machines"):
            choice = st.selectbox("Show", [p.name for p in past], key="dv_past")
            if st.button("Show it", key="dv_show_past"):
                loaded = dp.load(past[[p.name for p in past].index(choice)])
                if loaded is None:
                    st.error(f"{choice} cannot be read: it is damaged or not a dlviz report.")
                else:
                    st.session_state[dp.RESULT] = report = loaded
            picked = st.multiselect(
                "Compare on one chart",
                [p.name for p in past],
                key="dv_compare",
                wrap=True,
                max_selections=5,
                help="Reports from this machine at different times, or copied here from others "
                "(into the bench folder of the dlviz home).",
            )
            if picked:
                dp.compare_reports([past[[p.name for p in past].index(n)] for n in picked])
    return report


def generative_button() -> bool:
    """The Generative families' Measure button; True when pressed."""
    from dlviz.bench.generative import SIZES, size_label

    sizes = [
        size_label({"hidden": hidden, "batch": batch})
        for hidden, batch in (dp.GEN_SIZES or SIZES).values()
    ]
    return st.button(
        "Measure the four families",
        key="dv_gen_measure",
        type="primary",
        icon=":material/speed:",
        help="One training step of a GAN, a VAE, diffusion and flow matching on the ring, at "
        f"{' and at '.join(sizes)}, on the CPU and on each GPU here. About 10 to 20 s on a "
        "CPU of two cores.",
    )


def race_settings() -> live.View | None:
    """What to race on which devices, and the Start button; returns the race's view, if any."""
    devices = dp.race_devices()
    r1, r2, r3 = layout.columns(3, key="dv_race", min_width=300, vertical_alignment="bottom")
    source = r1.selectbox("Train", list(dp.SOURCES), format_func=dp.SOURCES.get, key="dv_source")
    racers = r2.multiselect("On", devices, key="dv_racers", wrap=True)
    race_view = live.current_view(dp.RACE)
    racing = race_view is not None and race_view.live
    problem = st.session_state.pop("dv_race_problem", "")
    if len(devices) < 2:
        problem = problem or (
            "A race needs two devices, and this machine has only its CPU. On a machine with a GPU, "
            "the same network trains on both at once here, and the page reads out the speed-up."
        )
    elif len(racers) < 2:
        problem = problem or "Choose two devices or more to race."
    r3.button(
        "Start the race",
        key="dv_race_start",
        type="primary",
        icon=":material/sports_score:",
        on_click=dp.start_race,
        args=(source, racers),
        disabled=racing or len(racers) < 2 or len(devices) < 2,
    )
    if problem:
        st.info(problem, icon=":material/info:")
    return race_view
