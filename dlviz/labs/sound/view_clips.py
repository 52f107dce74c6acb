"""The Sound page's clips before training: one of each class to hear and see, a wave's way to
its features step by step (wave, STFT, mel, MFCC) on the page's settings, and the augmentation
preview, each draw playable."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st
import torch

from dlviz.audio_features import AudioFeatures, axes, feature_steps
from dlviz.augment import AudioAugment
from dlviz.config import AugmentConfig
from dlviz.data import Dataset
from dlviz.data.base import SAMPLE_RATE, AudioInfo
from dlviz.labs.sound.figures import spectrogram_figure, steps_figure
from dlviz.labs.sound.view import clip_spectrogram, play
from dlviz.ui import layout, live

EXAMPLES = 5  # classes shown in the row of examples (one clip each)


def _first_of_each(ds: Dataset) -> list[int]:
    y = ds.y_train.numpy()
    return [int(np.flatnonzero(y == c)[0]) for c in range(ds.n_classes) if (y == c).any()]


def examples(ds: Dataset) -> None:
    """One training clip of each class (the first five classes), to play and to see."""
    assert ds.audio is not None
    picks = _first_of_each(ds)[:EXAMPLES]
    for row in range(0, len(picks), 3):  # three a row: each player needs some width
        cols = layout.columns(3, key=f"sd_examples_{row}", min_width=140, gap="small")
        for col, i in zip(cols, picks[row : row + 3]):
            with col:
                wave = ds.x_train[i, 0].numpy()
                st.markdown(f"**{ds.class_names[int(ds.y_train[i])]}**")
                play(wave)
                st.plotly_chart(
                    clip_spectrogram(wave, ds.audio, None, 190),
                    key=f"sd_example_{i}",
                    config=live.CHART_CONFIG,
                )
    more = ds.n_classes - len(picks)
    what = {
        "mel": "its mel spectrogram, what the network reads",
        "stft": "its STFT, what the network reads",
        "mfcc": "its MFCCs, what the network reads",
        "wave": "its mel spectrogram (the network reads the wave itself)",
    }[ds.audio.features]
    st.caption(
        f"One training clip of each class: press play, and see {what}."
        + (f" {more} more classes are not shown." if more > 0 else "")
    )


def steps(ds: Dataset) -> None:
    """A clip through every step, on the page's window, hop and mel bands."""
    assert ds.audio is not None
    info = ds.audio
    picks = _first_of_each(ds)
    ss = st.session_state
    ss.setdefault("sd_steps_class", ds.class_names[0])
    if ss["sd_steps_class"] not in ds.class_names:
        ss["sd_steps_class"] = ds.class_names[0]
    st.selectbox("Clip of class", ds.class_names, key="sd_steps_class")
    i = picks[list(ds.class_names).index(ss["sd_steps_class"])]
    wave = ds.x_train[i, 0].numpy()
    play(wave)
    shown = info if info.features != "wave" else _mel(info)
    result = feature_steps(wave, shown)
    mel_rows = axes(_mel(shown), len(wave))["rows"]
    stft_rows = axes(_stft(shown), len(wave))["rows"]
    st.plotly_chart(
        steps_figure(result, SAMPLE_RATE, shown.window, shown.hop, mel_rows, stft_rows),
        key="sd_steps",
        config=live.CHART_CONFIG,
    )
    st.caption(
        f"1: the samples, {SAMPLE_RATE:,} a second. 2: the STFT cuts the wave into "
        f"{shown.window / 16:g} ms windows every {shown.hop / 16:g} ms and measures the energy "
        "at each frequency in each (a column per window, in decibels). 3: the mel spectrogram "
        f"sums those frequencies into {shown.mels} bands, narrow at the bottom and wide at the "
        "top, as the ear hears pitch. 4: the MFCCs describe each column's mel spectrum by its "
        "broad shape (low coefficients) and its ripples (high ones)."
    )


def _mel(info: AudioInfo) -> AudioInfo:
    return replace(info, features="mel")


def _stft(info: AudioInfo) -> AudioInfo:
    return replace(info, features="stft")


def augment_preview(ds: Dataset, aug: AugmentConfig) -> None:
    """One training clip and three draws of the augmentation, as training draws them, each
    playable and drawn as the network reads it (masks included)."""
    assert ds.audio is not None
    ss = st.session_state
    ss.setdefault("sd_preview_seed", 0)
    head = layout.row("sd_preview_head", spread=True)
    head.markdown("**Augmentation preview**: a training clip, then three draws")
    head.button(
        "New draw",
        key="sd_preview_draw",
        icon=":material/shuffle:",
        on_click=lambda: ss.update(sd_preview_seed=ss["sd_preview_seed"] + 1),
    )
    i = _first_of_each(ds)[0]
    x = ds.x_train[i : i + 1]
    gen = torch.Generator().manual_seed(int(ss["sd_preview_seed"]))
    draws = AudioAugment.from_config(aug)(x.expand(3, -1, -1).clone(), gen)
    front = AudioFeatures(ds.audio if ds.audio.features != "wave" else _mel(ds.audio))
    front.set_masks(aug.time_mask, aug.freq_mask, seed=int(ss["sd_preview_seed"]))
    front.train()  # masks act in training only, as they do while training
    with torch.no_grad():
        feats = front(torch.cat([x, draws]))[:, 0].numpy()  # (4, H, T)
    ax = axes(front.info, x.shape[-1])
    cols = layout.columns(4, key="sd_preview", min_width=140, gap="small")
    titles = ["the clip", "draw 1", "draw 2", "draw 3"]
    for k, (col, title) in enumerate(zip(cols, titles)):
        with col:
            st.caption(title)
            play(torch.cat([x, draws])[k, 0])
            st.plotly_chart(
                spectrogram_figure(feats[k], ax["times"], ax["rows"], ax["rows_unit"], None, 140),
                key=f"sd_preview_{k}",
                config=live.CHART_CONFIG,
            )
    if not (AudioAugment.from_config(aug).active or aug.time_mask or aug.freq_mask):
        st.caption("Augmentation is off: the draws are the clip itself.")
    else:
        st.caption(
            "What the network reads, standardised as its front end does; the first without "
            "augmentation. Time masks and frequency masks blank bands of the spectrogram "
            "(they are not in the sound you hear)."
        )
