"""Sequences: recurrent networks and transformers on symbol tasks, text and time series, and
what happens inside them as they learn; and the length experiment, the sequence twin of Depth."""

import streamlit as st

from dlviz.labs.sequences import view as seq_view
from dlviz.labs.sequences import view_lengths as lengths
from dlviz.labs.sequences import widgets as sequences
from dlviz.ui import layout, live, open_settings, state, sweep_link, url_state

state.ensure_app()
sequences.init()
lengths.init()
sequences.sync_url(lengths.url_fields(), lengths.DEFAULTS)

st.title("Sequences")
st.caption(
    "Recurrent networks and transformers on symbol tasks, text and time series: watch hidden "
    "states, gates and attention heads change while the network trains."
)
open_settings.notice("sq")
url_state.notice("sq")
st.segmented_control(
    "What to do",
    ["run", "lengths"],
    format_func={"run": "Train one network", "lengths": "Length experiment"}.get,
    key="sq_mode",
    required=True,
    label_visibility="collapsed",
)

settings, main = layout.split("sq")
if st.session_state["sq_mode"] == "run":
    with settings:
        tab_data, tab_net, tab_train = st.tabs(["Data", "Network", "Training"])
        with tab_data:
            sequences.data_controls()
        with tab_net:
            sequences.model_controls()
        with tab_train:
            sequences.training_controls()
    ready = sequences.readiness()
    problem = ready.problem or st.session_state.pop(sequences.PROBLEM, "")
    with main:
        view = live.current_view(sequences.VIEW)
        busy = view is not None and view.live
        st.button(
            "Train",
            key="sq_train",
            type="primary",
            icon=":material/play_arrow:",
            on_click=sequences.start,
            disabled=busy or bool(problem),
        )
        sweep_link.sweep_button(sequences.run_config, "Sequence lab", "sq_sweep")
        with st.container():
            if problem:
                st.error(problem, icon=":material/error:")
            elif busy:
                st.caption("A run is in progress: stop it to start another.")
            else:
                st.caption(sequences.summary_line(ready))
        with st.container():
            if ready.data is not None:
                sequences.preview(ready.data)
    if view is not None:
        st.divider()
        seq_view.live_view(sequences.VIEW)
else:
    with settings:
        lengths.settings()
    problem = lengths.problem() or st.session_state.pop(lengths.PROBLEM, "")
    with main:
        lengths.intro()
        view = live.current_view(lengths.VIEW)
        busy = view is not None and view.live
        st.button(
            lengths.button_label(),
            key="sq_len_run",
            type="primary",
            icon=":material/straighten:",
            on_click=lengths.start,
            disabled=busy or bool(problem),
        )
        with st.container():
            if problem:
                st.error(problem, icon=":material/error:")
            elif busy:
                st.caption("The experiment is running: stop it to start another.")
        if view is not None:
            st.divider()
            live.live_panel(lengths.VIEW, single=lengths.draw)
