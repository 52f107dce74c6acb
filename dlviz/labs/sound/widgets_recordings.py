"""A person's own recordings on the Sound page: classes, and clips added to them as WAV, FLAC
or OGG files, a ZIP of class folders, or recorded in the browser; each clip playable; what was
refused, file by file; the set as a ZIP to take away.

The clips live in this session only: a `SoundSet` in session state (mono, 16 kHz, whole), the
split tensors for the chosen clip length cached beside it. Keys start with ``sd_``.
"""

from __future__ import annotations

import streamlit as st

from dlviz.config import DataConfig
from dlviz.data import Dataset
from dlviz.data.audio import sound_dataset
from dlviz.data.audio_files import AUDIO_EXTENSIONS, AudioLimits, SoundSet
from dlviz.data.base import SAMPLE_RATE
from dlviz.text import plural
from dlviz.ui import layout, upload_budget
from dlviz.ui.collection import Collection, class_key, taken_in, uploader_key

SET = "sd_recordings"
VERSION = "sd_rec_version"  # bumped on every change to the set: caches follow it
PLAYERS = 3  # clips of a class playable in its panel
SET_UI = Collection(
    prefix="sd", set_key=SET, version_key=VERSION, report_key="sd_rec_report", noun="clip",
    make_set=SoundSet, export_name="dlviz-sounds", page="Sound",
)  # fmt: skip


def init() -> None:
    st.session_state.setdefault("sd_record", False)
    SET_UI.init()


def sound_set() -> SoundSet:
    return SET_UI.items()


def count() -> int:
    return sound_set().count()


def limits() -> tuple[AudioLimits, str]:
    """The limits (settings from the environment), and a problem with them ("" if none)."""
    try:
        return AudioLimits.from_env(), ""
    except ValueError as e:
        return AudioLimits(), f"{e}; the default limits apply."


def dataset(cfg: DataConfig) -> Dataset:
    """The recordings cut to `cfg.seconds` and split; cached until the set or the split
    changes. Raises ValueError saying why they cannot train."""
    s = sound_set()
    if s.blocking():
        raise ValueError(s.blocking())
    ss = st.session_state
    key = (ss[VERSION], cfg.seconds, cfg.test_fraction, cfg.seed)
    hit = ss.get("_sd_rec_dataset")
    if hit is not None and hit[0] == key:
        return hit[1]
    waves, labels, names = s.to_arrays(cfg.seconds)
    ds = sound_dataset(cfg, waves, labels, names)
    ss["_sd_rec_dataset"] = (key, ds)
    return ds


def accepted_types() -> list[str]:
    return [e.lstrip(".") for e in AUDIO_EXTENSIONS]


def class_panel(cls: str, lim: AudioLimits) -> None:
    """One class: its count, its first clips to play, an uploader and a remove button."""
    clips = sound_set().classes[cls]
    with st.container(border=True):
        SET_UI.class_header(cls, len(clips))
        for clip in clips[:PLAYERS]:
            st.caption(f"{clip.name} - {clip.seconds:.2f} s")
            st.audio(clip.wave, sample_rate=SAMPLE_RATE)
        if len(clips) > PLAYERS:
            st.caption(f"... and {len(clips) - PLAYERS} more.")
        SET_UI.uploader(
            f"files_{class_key(cls)}",
            cls,
            lim,
            lim.max_file_bytes,
            label=f"Add clips to {cls}",
            type=accepted_types(),
            label_visibility="collapsed",
            help=f"WAV, FLAC or OGG; {lim.describe()}.",
        )


def zip_uploader(lim: AudioLimits) -> None:
    SET_UI.uploader(
        "zip",
        None,
        lim,
        lim.max_total_bytes,
        label="Or a ZIP whose top-level folders are the classes",
        type=["zip"],
        help="For example yes/1.wav, yes/2.wav, no/1.wav: the folders become classes (new ones "
        "are made, existing ones get more clips).",
    )


def recorder(lim: AudioLimits) -> None:
    """Recordings from the microphone, into a chosen class (behind a switch: the browser asks
    for the microphone only when it is on)."""
    names = list(sound_set().classes)
    st.toggle("Record with the microphone", key="sd_record", disabled=not names)
    if not names:
        st.caption("Make a class first; then recordings can go into it.")
        return
    if not st.session_state["sd_record"]:
        return
    if st.session_state.get("sd_record_class") not in names:
        st.session_state["sd_record_class"] = names[0]
    st.selectbox("Recordings go into", names, key="sd_record_class")
    take = st.audio_input(
        "Record a clip", key=uploader_key("sd_take"), sample_rate=SAMPLE_RATE,
        label_visibility="collapsed",
    )  # fmt: skip
    if take is not None:
        cls = st.session_state["sd_record_class"]
        take.name = f"recording-{len(sound_set().classes[cls]) + 1}.wav"
        SET_UI.ingest(cls, [take], lim)
        taken_in("sd_take")
        st.rerun()


def summary(seconds: float) -> None:
    s = sound_set()
    if not s.classes:
        return
    counts = {c: len(v) for c, v in s.classes.items()}
    st.markdown(
        f"**{plural(s.count(), 'clip')} in {plural(len(counts), 'class')}** "
        f"({s.seconds():.0f} s in all): " + ", ".join(f"{c} {n}" for c, n in counts.items())
    )
    blocking = s.blocking()
    if blocking:
        st.info(blocking, icon=":material/info:")
    for w in s.warnings(seconds):
        st.warning(w, icon=":material/warning:")


def panel() -> None:
    """The whole recordings section: classes, uploads, the recorder, the report, the summary."""
    lim, limit_problem = limits()
    SET_UI.add_class_row(
        placeholder="e.g. yes",
        help="A name for one kind of sound, e.g. yes, no, clap, whistle. Then add clips.",
    )
    with st.container():
        if limit_problem:
            st.error(limit_problem, icon=":material/error:")
        SET_UI.report()
    names = list(sound_set().classes)
    for row in range(0, len(names), 2):
        cols = layout.columns(2, key=f"sd_classes_{row}", min_width=260, gap="small")
        for col, name in zip(cols, names[row : row + 2]):
            with col:
                class_panel(name, lim)
    c1, c2 = layout.columns(2, key="sd_sources", min_width=260, gap="medium")
    with c1:
        zip_uploader(lim)
    with c2:
        recorder(lim)
    st.caption(
        f"Accepted: WAV, FLAC and OGG, any sample rate, bit depth or number of channels "
        f"(each becomes mono at 16 kHz). Limits: {lim.describe()}. Clips stay in this browser "
        f"session only, and are gone when it ends. {upload_budget.describe()}"
    )
    with st.container():
        if sound_set().classes:
            summary(float(st.session_state["sd_seconds"]))
            with layout.row("sd_set_actions"):
                SET_UI.download_button(
                    help="Every class as a folder of 16 kHz WAVs. Upload the ZIP again later to "
                    "carry on, or train on it with dlviz train "
                    '({"data": {"name": "audio_zip", "path": ...}}).'
                )
                SET_UI.remove_all_button()
