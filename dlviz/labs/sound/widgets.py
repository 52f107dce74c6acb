"""The Sound page's settings: the clips (built-in sounds, spoken digits or a person's own
recordings), how a wave becomes features (mel, STFT, MFCC or the raw wave; window, hop, mel
bands), augmentation, and the network: the Image lab's CNN on spectrograms (its ``im_``
settings, shared with the Images page) or a 1-D CNN on the wave. What they make: RunConfigs,
the layer table, and the Train callbacks. Every widget key of its own starts with ``sd_``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from dlviz.audio_features import feature_shape
from dlviz.config import (
    GENERATED_SOUNDS,
    AugmentConfig,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from dlviz.data import Dataset
from dlviz.data.audio import audio_info
from dlviz.labs.images import widgets as images
from dlviz.labs.sound import widgets_recordings as recordings
from dlviz.text import plural
from dlviz.ui import fields, layout, live, url_state
from dlviz.ui import widgets as shared_widgets
from dlviz.ui.state import dataset as cached_dataset

KEEP = "session"  # widget values survive a page switch
VIEW = "sd_view"
PROBLEM = "sd_problem"
NUMBER_KEYS = ("sd_data_seed", "sd_epochs", "sd_seed")  # the page's typed whole numbers

SOURCES = {"builtin": "Built-in sounds", "own": "Your recordings"}
SET_LABELS = {
    "tones": "Tones and chords",
    "chirps": "Chirps and modulations",
    "vowels": "Vowels /a/ /i/ /u/",
    "noises": "Noise colours and clicks",
    "spoken_digits": "Spoken digits (espeak-ng)",
}
SAMPLES = (200, 400, 600, 800, 1200, 2000, 3000)
SECONDS = (0.5, 1.0, 1.5, 2.0)
FEATURE_LABELS = {"mel": "Mel spectrogram", "stft": "STFT", "mfcc": "MFCC", "wave": "Raw wave"}
WINDOWS = (256, 400, 512, 800, 1024)  # samples at 16 kHz: 16 to 64 ms
HOPS = (80, 160, 256, 320)
MELS = (20, 32, 40, 64, 80)
WAVE_WIDTHS = (16, 32, 64, 128)
WAVE_LAYERS = (1, 2, 3, 4)
GAIN_DB, TIME_MASK, FREQ_MASK = 18, 40, 20  # the sliders' highest
# the Image lab's network settings this page shows (its Network tab and blocks table)
NETWORK_KEYS = (
    "im_blocks", "im_head", "im_head_pool", "im_activation", "im_norm", "im_residual",
    "im_dropout",
)  # fmt: skip

DEFAULTS: dict[str, Any] = {
    "sd_source": "builtin",
    "sd_set": "tones",
    "sd_samples": 800,
    "sd_noise": 0.1,
    "sd_seconds": 1.0,
    "sd_test_fraction": 0.3,
    "sd_data_seed": 0,
    "sd_features": "mel",
    "sd_window": 400,
    "sd_hop": 160,
    "sd_mels": 40,
    "sd_shift": 0.0,
    "sd_aug_noise": 0.0,
    "sd_gain": 0.0,
    "sd_time_mask": 0,
    "sd_freq_mask": 0,
    "sd_wave_layers": 3,
    "sd_wave_width": 64,
    "sd_optimizer": "adam",
    "sd_lr": 0.003,
    "sd_batch": 32,
    "sd_epochs": 12,
    "sd_live_probes": True,
    "sd_wd": 0.0,
    "sd_seed": 0,
    "sd_device": "auto",
    "sd_sample": 0,
    "sd_predict_source": "test",
}


def init() -> None:
    shared_widgets.init(DEFAULTS, prefix="sd")
    # The spectrogram network is the Image lab's: its defaults, without `images.init`, whose
    # link is the Images page's (it would read this page's link as its own).
    shared_widgets.init(images.DEFAULTS, prefix="im")
    recordings.init()
    url_state.sync("sd", url_fields(), {**images.DEFAULTS, **DEFAULTS}, after=_after_link)


def url_fields() -> dict[str, url_state.Field]:
    """The settings a link carries: the clips, features, augmentation, the wave network,
    training, and the Image lab's network (under its own ``im_`` names). Left out: a person's
    recordings and the switch that records them (their own, in this session only; a link to
    *Your recordings* opens that panel empty), and the clip chosen to predict."""
    network = images.url_fields()
    return {
        **url_state.numbers(DEFAULTS),
        "sd_source": url_state.choice(tuple(SOURCES)),
        "sd_set": url_state.choice(GENERATED_SOUNDS),
        "sd_samples": url_state.choice(SAMPLES),
        "sd_noise": url_state.real(0.0, 0.5, 0.05),
        "sd_seconds": url_state.choice(SECONDS),
        "sd_test_fraction": url_state.real(0.1, 0.5, 0.05),
        "sd_features": url_state.choice(tuple(FEATURE_LABELS)),
        "sd_window": url_state.choice(WINDOWS),
        "sd_hop": url_state.choice(HOPS),
        "sd_mels": url_state.choice(MELS),
        "sd_shift": url_state.real(0.0, 0.5, 0.05),
        "sd_aug_noise": url_state.real(0.0, 1.0, 0.05),
        "sd_gain": url_state.whole(0, GAIN_DB),
        "sd_time_mask": url_state.whole(0, TIME_MASK),
        "sd_freq_mask": url_state.whole(0, FREQ_MASK),
        "sd_wave_layers": url_state.choice(WAVE_LAYERS),
        "sd_wave_width": url_state.choice(WAVE_WIDTHS),
        **shared_widgets.training_fields("sd"),
        **{key: network[key] for key in NETWORK_KEYS},
    }


def _after_link(values: dict[str, Any]) -> None:
    if "im_blocks" in values:
        st.session_state["im_blocks_version"] += 1  # a fresh blocks table shows them


def _ms(samples: int) -> str:
    return f"{samples / 16:g} ms"


# --- the settings -------------------------------------------------------------------------------


def data_controls() -> None:
    st.segmented_control(
        "Clips",
        list(SOURCES),
        format_func=SOURCES.get,
        key="sd_source",
        required=True,
        persist_state=KEEP,
    )
    if st.session_state["sd_source"] == "builtin":
        st.selectbox(
            "Sound set",
            GENERATED_SOUNDS,
            format_func=SET_LABELS.get,
            key="sd_set",
            help="Generated sounds, new for every seed: each class is made by a rule (a chord's "
            "interval, a sweep's direction, a vowel's formants, a noise's colour). Spoken digits "
            "are synthesised by espeak-ng in many voices, speeds and pitches.",
            persist_state=KEEP,
        )
        st.select_slider("Clips", SAMPLES, key="sd_samples", persist_state=KEEP)
        st.slider(
            "Background noise",
            0.0,
            0.5,
            step=0.05,
            key="sd_noise",
            help="White noise added to every clip, as a share of full scale.",
            persist_state=KEEP,
        )
    st.select_slider(
        "Clip length",
        SECONDS,
        format_func=lambda s: f"{s:g} s",
        key="sd_seconds",
        help="Every clip is cut or padded to this length (recordings: their loudest part).",
        persist_state=KEEP,
    )
    st.slider(
        "Test share",
        0.1,
        0.5,
        step=0.05,
        key="sd_test_fraction",
        help="The share of each class held out to measure how well the network generalises.",
        persist_state=KEEP,
    )
    fields.number_input(st, "sd_data_seed")


def feature_controls() -> None:
    st.segmented_control(
        "What the network hears",
        list(FEATURE_LABELS),
        format_func=FEATURE_LABELS.get,
        key="sd_features",
        required=True,
        help="Mel: the spectrogram on a pitch-like scale, as ears hear it (the usual choice). "
        "STFT: every frequency bin, linearly spaced. MFCC: a compact summary of the mel "
        "spectrum's shape. Raw wave: the samples themselves, for a 1-D CNN to learn its own "
        "filters.",
        persist_state=KEEP,
    )
    wave = st.session_state["sd_features"] == "wave"
    c1, c2 = st.columns(2)
    c1.select_slider(
        "Window",
        WINDOWS,
        format_func=_ms,
        key="sd_window",
        disabled=wave,
        help="The STFT's window: longer windows resolve frequency more finely and time more "
        "coarsely.",
        persist_state=KEEP,
    )
    c2.select_slider(
        "Hop",
        HOPS,
        format_func=_ms,
        key="sd_hop",
        disabled=wave,
        help="How far the window moves between columns of the spectrogram.",
        persist_state=KEEP,
    )
    st.select_slider(
        "Mel bands",
        MELS,
        key="sd_mels",
        disabled=wave or st.session_state["sd_features"] == "stft",
        help="Rows of the mel spectrogram (and what the MFCCs summarise).",
        persist_state=KEEP,
    )
    st.markdown("**Augmentation** (training clips only)")
    st.slider(
        "Time shift",
        0.0,
        0.5,
        step=0.05,
        key="sd_shift",
        help="Roll each clip in time by up to this share of its length (wrapping round).",
        persist_state=KEEP,
    )
    st.slider(
        "Added noise",
        0.0,
        1.0,
        step=0.05,
        key="sd_aug_noise",
        help="White noise at up to this share of each clip's own loudness.",
        persist_state=KEEP,
    )
    mfcc = st.session_state["sd_features"] == "mfcc"
    st.slider(
        "Gain (dB either way)",
        0,
        GAIN_DB,
        key="sd_gain",
        disabled=not mfcc,
        help="Make each clip louder or quieter by up to this many decibels. The front end "
        "scales every clip to the same level, so a mel, STFT or wave network never sees "
        "loudness and gain would change nothing; MFCCs keep it in their first coefficient, "
        "where gain teaches the network to ignore it.",
        persist_state=KEEP,
    )
    c1, c2 = st.columns(2)
    c1.slider(
        "Time mask (frames)",
        0,
        TIME_MASK,
        key="sd_time_mask",
        disabled=wave,
        help="SpecAugment: blank a band of up to this many spectrogram columns.",
        persist_state=KEEP,
    )
    c2.slider(
        "Frequency mask (rows)",
        0,
        FREQ_MASK,
        key="sd_freq_mask",
        disabled=wave,
        help="SpecAugment: blank a band of up to this many spectrogram rows.",
        persist_state=KEEP,
    )


def network_controls() -> None:
    if st.session_state["sd_features"] == "wave":
        st.select_slider(
            "Blocks after the first",
            WAVE_LAYERS,
            key="sd_wave_layers",
            help="Each: a 3-wide convolution, batch norm, ReLU and 4x max pooling. The first "
            "layer is always 80 samples wide (5 ms) with a stride of 4.",
            persist_state=KEEP,
        )
        st.select_slider(
            "Width (channels)",
            WAVE_WIDTHS,
            key="sd_wave_width",
            help="Channels of the later blocks; the first two have half as many.",
            persist_state=KEEP,
        )
        st.caption(
            "A 1-D CNN on the raw wave (like M5, Dai et al. 2017). Choose a spectrogram under "
            "Features for the Image lab's 2-D CNN."
        )
        return
    with layout.row("sd_presets"):
        images.preset_buttons()
    images.network_controls()
    st.caption(
        "The network is the Image lab's, on the spectrogram: its blocks table and these "
        "settings are shared with the Images page."
    )


# --- widget values -> config ---------------------------------------------------------------------


def _features(features: str | None = None) -> dict[str, Any]:
    ss = st.session_state
    return {
        "features": features or ss["sd_features"],
        "window": int(ss["sd_window"]),
        "hop": int(ss["sd_hop"]),
        "mels": int(ss["sd_mels"]),
        "seconds": float(ss["sd_seconds"]),
    }


def data_config(features: str | None = None) -> DataConfig:
    """The data the settings name (own recordings: ``audio_upload``, given to the run in
    memory). Raises ConfigError naming a bad combination."""
    ss = st.session_state
    common = {
        "test_fraction": float(ss["sd_test_fraction"]),
        "seed": fields.value("sd_data_seed"),
        **_features(features),
    }
    if ss["sd_source"] == "own":
        return DataConfig(name="audio_upload", n_samples=max(recordings.count(), 10), **common)
    return DataConfig(
        name=ss["sd_set"], n_samples=int(ss["sd_samples"]), noise=float(ss["sd_noise"]), **common
    )


def dataset(features: str | None = None) -> Dataset:
    """The clips and their split, with the front end's settings. Built-in sets are generated
    once per process for any features (only the AudioInfo differs); raises ValueError saying
    why there are none (espeak-ng missing, recordings that cannot train)."""
    cfg = data_config(features)
    if cfg.name == "audio_upload":
        ds = recordings.dataset(cfg)
    else:
        plain = replace(cfg, features="mel", window=400, hop=160, mels=40)
        ds = cached_dataset(plain)
    return replace(ds, audio=audio_info(cfg))


def wave_model() -> ModelConfig:
    ss = st.session_state
    return ModelConfig(
        arch="cnn1d",
        layers=int(ss["sd_wave_layers"]),
        hidden_size=int(ss["sd_wave_width"]),
        kernel=3,
        dropout=float(ss["im_dropout"]),
    )


def model_config(features: str) -> ModelConfig:
    return wave_model() if features == "wave" else images.model_config()


def augment_config(features: str | None = None) -> AugmentConfig:
    """The augmentation the settings give `features` (default: the page's): no masks for the
    raw wave (it has no spectrogram), no gain where the front end levels every clip (see the
    Gain slider's help)."""
    ss = st.session_state
    features = features or ss["sd_features"]
    spectrogram = features != "wave"
    return AugmentConfig(
        shift=float(ss["sd_shift"]),
        noise=float(ss["sd_aug_noise"]),
        gain=float(ss["sd_gain"]) if features == "mfcc" else 0.0,
        time_mask=int(ss["sd_time_mask"]) if spectrogram else 0,
        freq_mask=int(ss["sd_freq_mask"]) if spectrogram else 0,
    )


def train_config(features: str | None = None) -> TrainConfig:
    return replace(shared_widgets.train_config("sd"), augment=augment_config(features))


PAIR_LABELS = ("spectrogram", "wave")


def run_configs(kind: str) -> list[RunConfig]:
    """Train: the settings as they are. Spectrogram vs wave: the Image lab's CNN on the chosen
    spectrogram (mel when the raw wave is chosen) and the 1-D CNN on the wave, on the same
    clips, split, seed and training."""
    features = st.session_state["sd_features"]
    if kind == "single":
        return [RunConfig(data=data_config(), model=model_config(features), train=train_config())]
    spec = "mel" if features == "wave" else features
    return [
        RunConfig(
            data=data_config(spec),
            model=images.model_config(),
            train=train_config(spec),
            name=label,
        )
        if label == "spectrogram"
        else RunConfig(
            data=data_config("wave"), model=wave_model(), train=train_config("wave"), name=label
        )
        for label in PAIR_LABELS
    ]


def layer_rows(cfg: RunConfig, ds: Dataset) -> list[dict[str, object]] | None:
    """The spectrogram CNN's layer table on this data's features (None for the wave network).
    Raises ValueError when the network shrinks the spectrogram to nothing."""
    if cfg.data.features == "wave":
        return None
    assert ds.audio is not None
    shape = feature_shape(replace(ds.audio, features=cfg.data.features), ds.input_shape[-1])
    return images.layer_rows(cfg.model, shape, ds.n_classes)


def _check(kind: str) -> tuple[list[RunConfig], list[Dataset], str]:
    try:
        configs = run_configs(kind)
        sets = [dataset(cfg.data.features) for cfg in configs]
        for cfg, ds in zip(configs, sets):
            if len(ds.x_test) == 0 or len(ds.x_train) == 0:
                raise ValueError(
                    "too few clips to hold some out for testing: add more (at least 2 a class), "
                    "or raise the test share"
                )
            layer_rows(cfg, ds)
    except ConfigError as e:
        return [], [], images.describe_problem(e)
    except (ValueError, RuntimeError) as e:  # no espeak-ng, no recordings, a network too deep
        text = str(e)
        return [], [], text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
    return configs, sets, ""


def readiness() -> tuple[list[dict[str, object]] | None, str, str]:
    """(the spectrogram network's layer rows, why Train cannot start, why the pair cannot)."""
    typed = fields.first_problem(NUMBER_KEYS)
    if typed:
        return None, typed, typed
    configs, sets, problem = _check("single")
    rows = layer_rows(configs[0], sets[0]) if configs else None
    return rows, problem, _check("pair")[2]


def start(kind: str) -> None:
    configs, sets, problem = _check(kind)
    if problem:
        st.session_state[PROBLEM] = f"These settings cannot train: {problem}"
        return
    labels = ["run"] if kind == "single" else list(PAIR_LABELS)
    # each run through its own front end: the same clips, split and seed
    view = live.start_view(VIEW, configs, labels, kind=kind, data=sets)
    for handle in view.handles:
        handle.probe.choose(sample_index=int(st.session_state.get("sd_sample", 0)))
    live.wait_first_point(view)


def describe(ds: Dataset) -> str:
    seconds = ds.input_shape[-1] / 16_000
    return (
        f"**{plural(len(ds), 'clip')}** of {seconds:g} s in {plural(ds.n_classes, 'class')} "
        f"({', '.join(ds.class_names)}): {len(ds.x_train)} to train on, {len(ds.x_test)} to test"
    )


def network_panel(rows: list[dict[str, object]], ds: Dataset) -> None:
    """The spectrogram CNN: a line, its diagram on this spectrogram, the blocks and layers."""
    assert ds.audio is not None
    shape = feature_shape(ds.audio, ds.input_shape[-1])
    st.markdown(
        images.summary_line(rows).replace("per image", "per clip")
        + f", on a {shape[1]}x{shape[2]} spectrogram ({shape[1]} rows, {shape[2]} frames)"
    )
    st.plotly_chart(images.network_figure(rows, shape), key="sd_network", config=live.CHART_CONFIG)
    images.blocks_editor()
    images.layer_table(rows)
