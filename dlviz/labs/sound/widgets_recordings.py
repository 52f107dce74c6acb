"""A person's own recordings on the Sound page: classes, and clips added to them as WAV, FLAC
or OGG files, a ZIP of class folders, or recorded in the browser; each clip playable; what was
refused, file by file; the set as a ZIP to take away.

The clips live in this session only: a `SoundSet` in session state (mono, 16 kHz, whole), the
split tensors for the chosen clip length cached beside it. Keys start with ``sd_``.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from typing import Any

import streamlit as st

from dlviz.config import DataConfig
from dlviz.data import Dataset
from dlviz.data.audio import sound_dataset
from dlviz.data.audio_files import AUDIO_EXTENSIONS, AudioLimits, SoundSet
from dlviz.data.base import SAMPLE_RATE
from dlviz.data.uploads import Problem
from dlviz.text import plural
from dlviz.ui import layout
from dlviz.ui.collection import (
    class_name_problem,
    megabytes,
    show_report,
    taken_in,
    uploader_key,
)
from dlviz.ui.session_folder import session_folder

SET = "sd_recordings"
VERSION = "sd_rec_version"  # bumped on every change to the set: caches follow it
REPORT = "sd_rec_report"
PLAYERS = 3  # clips of a class playable in its panel


def init() -> None:
    ss = st.session_state
    ss.setdefault(VERSION, 0)
    ss.setdefault("sd_record", False)
    if SET not in ss:
        ss[SET] = SoundSet()


def sound_set() -> SoundSet:
    return st.session_state[SET]


def count() -> int:
    return sound_set().count()


def limits() -> tuple[AudioLimits, str]:
    """The limits (settings from the environment), and a problem with them ("" if none)."""
    try:
        return AudioLimits.from_env(), ""
    except ValueError as e:
        return AudioLimits(), f"{e}; the default limits apply."


def _changed() -> None:
    st.session_state[VERSION] += 1


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


def ingest(target: str | None, files: list[Any], lim: AudioLimits) -> None:
    """Decode uploaded `files` into class `target` (or, for ZIP files, into the classes their
    folders name), with a progress bar; the outcome is kept for the report."""
    s = sound_set()
    before = len(s.problems)
    added = 0
    bar = st.progress(0.0, text=f"Reading {plural(len(files), 'file')}...")
    for k, f in enumerate(files):
        data = f.getvalue()
        if target is None:
            try:
                added += s.add_zip(data, lim)
            except zipfile.BadZipFile:
                s.problems.append(Problem(f.name, "is not a ZIP file (or it is damaged)"))
            except ValueError as e:  # UploadError: the whole ZIP is refused, with the reason
                s.problems.append(Problem(f.name, str(e)))
        else:
            added += s.add_files(target, [(f.name, data)], lim)
        bar.progress((k + 1) / len(files), text=f"Reading {k + 1} of {len(files)}...")
    bar.empty()
    new = [str(p) for p in s.problems[before:]]
    del s.problems[:]  # shown once, with this upload
    where = f" to {target}" if target else ""
    title = f"Added {plural(added, 'clip')}{where}." if added else ""
    title = title or ("Nothing was added." if new else "No files.")
    if new:
        title += f" {plural(len(new), 'file')} could not be used:"
    st.session_state[REPORT] = {"title": title, "problems": new, "kind": "warn" if new else "ok"}
    _changed()


def report() -> None:
    show_report(st.session_state.get(REPORT))


def _add_class() -> None:
    ss = st.session_state
    name = ss["sd_new_class"].strip()
    problem = class_name_problem(name, list(sound_set().classes))
    if problem:
        ss[REPORT] = {"title": problem, "problems": [], "kind": "error"}
        return
    sound_set().add_class(name)
    ss.pop(REPORT, None)
    _changed()


def _remove_class(name: str) -> None:
    sound_set().remove_class(name)
    st.session_state[REPORT] = {"title": f"Removed class {name}.", "problems": [], "kind": "info"}
    _changed()


def remove_all() -> None:
    st.session_state[SET] = SoundSet()
    st.session_state[REPORT] = {"title": "Removed every class.", "problems": [], "kind": "info"}
    _changed()


def _key(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()[:10]


def accepted_types() -> list[str]:
    return [e.lstrip(".") for e in AUDIO_EXTENSIONS]


def add_class_row() -> None:
    with st.form("sd_add_class_form", clear_on_submit=True, border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.text_input(
            "New class",
            key="sd_new_class",
            placeholder="e.g. yes",
            help="A name for one kind of sound, e.g. yes, no, clap, whistle. Then add clips.",
        )
        c2.form_submit_button(
            "Add class", key="sd_add_class", icon=":material/add:", on_click=_add_class,
            width="stretch",
        )  # fmt: skip


def class_panel(cls: str, lim: AudioLimits) -> None:
    """One class: its count, its first clips to play, an uploader and a remove button."""
    clips = sound_set().classes[cls]
    with st.container(border=True):
        with layout.row(f"sd_class_head_{_key(cls)}", spread=True):
            st.markdown(f"**{cls}** - {plural(len(clips), 'clip')}")
            remove = st.popover("Remove", icon=":material/delete:")
        with remove:
            st.markdown(f"Remove **{cls}** and its {plural(len(clips), 'clip')}?")
            st.button(
                "Remove", key=f"sd_remove_{_key(cls)}", type="primary", on_click=_remove_class,
                args=(cls,),
            )  # fmt: skip
        for clip in clips[:PLAYERS]:
            st.caption(f"{clip.name} - {clip.seconds:.2f} s")
            st.audio(clip.wave, sample_rate=SAMPLE_RATE)
        if len(clips) > PLAYERS:
            st.caption(f"... and {len(clips) - PLAYERS} more.")
        files = st.file_uploader(
            f"Add clips to {cls}",
            type=accepted_types(),
            key=uploader_key(f"sd_files_{_key(cls)}"),
            accept_multiple_files=True,
            label_visibility="collapsed",
            help=f"WAV, FLAC or OGG; {lim.describe()}.",
            max_upload_size=megabytes(lim.max_file_bytes),
        )
        if files:
            ingest(cls, files, lim)
            taken_in(f"sd_files_{_key(cls)}")
            st.rerun()


def zip_uploader(lim: AudioLimits) -> None:
    files = st.file_uploader(
        "Or a ZIP whose top-level folders are the classes",
        type=["zip"],
        key=uploader_key("sd_zip"),
        accept_multiple_files=True,
        help="For example yes/1.wav, yes/2.wav, no/1.wav: the folders become classes (new ones "
        "are made, existing ones get more clips).",
        max_upload_size=megabytes(lim.max_total_bytes),
    )
    if files:
        ingest(None, files, lim)
        taken_in("sd_zip")
        st.rerun()


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
        ingest(cls, [take], lim)
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


_EXPORT_LOCK = threading.Lock()


def _export(s: SoundSet, version: int) -> bytes:
    """The set as a ZIP of WAVs, written once per version in this session's folder."""
    path = session_folder() / f"dlviz-sounds-{version}.zip"
    with _EXPORT_LOCK:  # the browser may ask twice at once
        if not path.exists():
            for old in path.parent.glob("dlviz-sounds-*.zip"):
                if old != path:
                    old.unlink(missing_ok=True)
            tmp = path.with_suffix(".zip.tmp")
            tmp.write_bytes(s.to_zip())
            os.replace(tmp, path)
        return path.read_bytes()


def download_button() -> None:
    s = sound_set()
    version = st.session_state[VERSION]
    st.download_button(
        "Download as ZIP",
        data=lambda: _export(s, version),
        file_name="dlviz-sounds.zip",
        mime="application/zip",
        key="sd_download",
        icon=":material/download:",
        disabled=s.count() == 0,
        width="stretch",
        help="Every class as a folder of 16 kHz WAVs. Upload the ZIP again later to carry on, "
        'or train on it with dlviz train ({"data": {"name": "audio_zip", "path": ...}}).',
    )


def panel() -> None:
    """The whole recordings section: classes, uploads, the recorder, the report, the summary."""
    lim, limit_problem = limits()
    add_class_row()
    with st.container():
        if limit_problem:
            st.error(limit_problem, icon=":material/error:")
        report()
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
        "session only, and are gone when it ends."
    )
    with st.container():
        if sound_set().classes:
            summary(float(st.session_state["sd_seconds"]))
            with layout.row("sd_set_actions"):
                download_button()
                remove = st.popover("Remove all", icon=":material/delete_sweep:", width="stretch")
            with remove:
                st.markdown("Remove every class and clip?")
                st.button("Remove all", key="sd_remove_all", type="primary", on_click=remove_all)
