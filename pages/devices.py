"""Devices: what this machine has, and how fast each of its devices really is - matrix
multiply, convolution, copies, and a training step of a real network."""

import json

import streamlit as st

from dlviz.labs.devices import view as dp
from dlviz.ui import layout, live, state

state.ensure_app()

st.title("Devices")
st.caption(
    "How much faster is a GPU, and when? Measured here, on this machine, not quoted from a "
    "data sheet."
)
state.torch_threads()  # what the sidebar states, and what runs and benchmarks here use
m = dp.machine()
st.dataframe(dp.machine_table(m), hide_index=True, key="dv_machine")
if not m["gpus"] and not m["mps"]:
    st.info(
        "No GPU found: the benchmarks measure the CPU alone. On a machine with a CUDA GPU "
        "(and torch built for it) they measure both, side by side.",
        icon=":material/info:",
    )
st.caption(f"**How it is measured.** {dp.METHOD}")

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
    value=True,
    help="Small sizes: seconds instead of minutes. Off: matrices up to 8192 on a GPU (2048 on "
    "the CPU), batches up to 1024.",
)
go = c4.button("Measure", key="dv_measure", type="primary", icon=":material/speed:")

if go:
    report = dp.measure(which, quick, bench_net)
    st.session_state[dp.RESULT] = report
    path = dp.save(report)
    st.session_state["dv_saved"] = str(path) if path else ""

report = st.session_state.get(dp.RESULT)
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

if report is not None:
    st.divider()
    machine = report.get("machine", {})
    st.markdown(
        f"**Measured on** {machine.get('cpu', '?')}"
        + "".join(f"; {g['name']}" for g in machine.get("gpus", []))
        + f" - torch {machine.get('torch', '?')}, {dp.threads(machine)} on the CPU"
        + (f". Training step: {report['network']}." if report.get("network") else "")
    )
    for line in dp.speedup_lines(report["rows"]):
        st.success(line, icon=":material/speed:")
    dp.draw(report["rows"])
    downloads = layout.row("dv_downloads")
    downloads.download_button(
        "JSON",
        data=json.dumps(report, indent=1, default=str),
        file_name="dlviz-devices.json",
        mime="application/json",
        key="dv_json",
        icon=":material/download:",
    )
    downloads.download_button(
        "CSV",
        data=dp.to_csv(report["rows"]),
        file_name="dlviz-devices.csv",
        mime="text/csv",
        key="dv_csv",
        icon=":material/download:",
    )
    if st.session_state.get("dv_saved") == "":
        st.caption("These results could not be kept: the benchmark folder is not writable.")

st.divider()
st.subheader("Race: the same training on each device, side by side")
devices = dp.race_devices()
r1, r2, r3 = layout.columns(3, key="dv_race", min_width=300, vertical_alignment="bottom")
source = r1.selectbox("Train", list(dp.SOURCES), format_func=dp.SOURCES.get, key="dv_source")
racers = r2.multiselect("On", devices, default=devices[:2], key="dv_racers", wrap=True)
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
if race_view is not None:
    live.live_panel(dp.RACE, single=dp.draw_race)
