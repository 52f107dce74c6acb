"""Sound: hear each clip, see its spectrogram, train a CNN on it, and see what the network
listens to - on built-in sounds, spoken digits or your own recordings."""

import streamlit as st

from dlviz.labs.sound import view as sound_view
from dlviz.labs.sound import view_clips as clips
from dlviz.labs.sound import view_predict as predict
from dlviz.labs.sound import widgets as sound
from dlviz.labs.sound import widgets_recordings as recordings
from dlviz.ui import layout, live, state, url_state
from dlviz.ui.widgets import training_controls

state.ensure_app()
sound.init()

st.title("Sound")
st.caption(
    "Tones, chirps, vowels, noises, spoken digits or your own recordings: hear every clip, see "
    "how a wave becomes a spectrogram, train a CNN on it, and see which times and frequencies "
    "it listens to."
)
url_state.notice("sd")

settings, main = layout.split("sd")
with settings:
    tab_data, tab_feat, tab_net, tab_train = st.tabs(["Data", "Features", "Network", "Training"])
    with tab_data:
        sound.data_controls()
    with tab_feat:
        sound.feature_controls()
    with tab_net:
        sound.network_controls()
    with tab_train:
        training_controls("sd")

rows, problem, pair_problem = sound.readiness()
problem = problem or st.session_state.pop(sound.PROBLEM, "")
own = st.session_state["sd_source"] == "own"
with main:
    if own:
        st.subheader("Your recordings")
        recordings.panel()
    try:
        ds = sound.dataset()
    except (ValueError, RuntimeError):
        ds = None  # the problem above Train says why
    view = live.current_view(sound.VIEW)
    busy = view is not None and view.live
    buttons = layout.row("sd_buttons")
    live.train_buttons(
        "sd",
        sound.start,
        (buttons, buttons),
        disabled=busy or bool(problem),
        pair_disabled=busy or bool(pair_problem),
        pair_help="The Image lab's CNN on the spectrogram, then a 1-D CNN on the raw wave: the "
        "same clips, split, seed and training.",
        pair_label="Train spectrogram vs wave",
    )
    with st.container():
        if problem:
            st.error(problem, icon=":material/error:")
        elif busy:
            st.caption("A run is in progress: stop it to start another.")
        elif ds is not None:
            st.markdown(sound.describe(ds))
    with st.container():
        if ds is not None and ds.name == "spoken_digits":
            st.info(
                "These digits are spoken by a synthesiser (espeak-ng). A network trained on "
                "them may fail on real voices: record a few digits of your own under *Your "
                "recordings* (classes zero to nine) and test it on them after training.",
                icon=":material/record_voice_over:",
            )
    if ds is not None:
        with st.expander("Listen and look: one clip of each class", expanded=view is None):
            clips.examples(ds)
        with st.expander("From wave to features, step by step", expanded=False):
            clips.steps(ds)
        with st.expander("Augmentation preview", expanded=False):
            clips.augment_preview(ds, sound.augment_config())
        with st.container():
            if rows is not None:
                with st.expander("Network: every layer on this spectrogram", expanded=False):
                    sound.network_panel(rows, ds)

if view is not None:
    st.divider()
    sound_view.live_view(sound.VIEW)
    st.divider()
    predict.predict_panel(view)
    predict.shift_panel(view)
