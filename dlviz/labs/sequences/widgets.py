"""The Sequence lab's settings: which sequences (symbol tasks, text, time series, or a person's
own text, labelled sentences or series), which network (RNN, LSTM, GRU, 1-D CNN, Transformer,
bag of words), how to train; what they make (a RunConfig and the data it trains on) and the
Train callback. Every widget key starts with ``sq_``; the live view is in
`dlviz.labs.sequences.view`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from dlviz.config import (
    LENGTH_DEFAULT,
    MAX_SEQUENCE_LENGTH,
    SERIES_DATASETS,
    SYMBOL_DATASETS,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
)
from dlviz.data import Dataset
from dlviz.models import parameter_count
from dlviz.text import plural
from dlviz.ui import fields, live, open_settings, upload_budget, url_state
from dlviz.ui import widgets as shared_widgets
from dlviz.ui.state import dataset

KEEP = "session"  # widget values survive a page switch
VIEW = "sq_view"
PROBLEM = "sq_problem"
OWN = "sq_own"  # session state: (what it was made from, the Dataset) of a person's own data

FAMILIES = {"symbols": "Symbol tasks", "text": "Text", "series": "Time series"}
FAMILY_DATASETS = {
    "symbols": SYMBOL_DATASETS,
    "text": ("sentiment", "chars", "own_text", "own_labels"),
    "series": SERIES_DATASETS,
}
DATASET_LABELS = {
    "copy": "Copy",
    "reverse": "Reverse",
    "sort": "Sort",
    "addition": "Addition",
    "parity": "Parity",
    "parens": "Bracket depth",
    "temporal_order": "Temporal order",
    "recall": "Associative recall",
    "sentiment": "Sentiment (with negation and 'but')",
    "chars": "Characters of Python's documentation",
    "own_text": "Your text (characters)",
    "own_labels": "Your labelled sentences (CSV)",
    "sines": "Sines",
    "arma": "ARMA process",
    "seasonal": "Trend + season",
    "mackey_glass": "Mackey-Glass (chaotic)",
    "own_series": "Your series (CSV)",
}
DATASET_HELP = {
    "copy": "Write the digits back after '=', one at a time.",
    "reverse": "Write the digits back reversed: the first one read is the last one written.",
    "sort": "Write the digits back in ascending order (as minGPT's sort demo).",
    "addition": "Add two numbers written least significant digit first, digit by digit, carrying.",
    "parity": "Is the number of 1s odd? One flipped bit anywhere flips the answer.",
    "parens": "The nesting depth after each bracket: a counter the network must keep.",
    "temporal_order": "Two markers, X or Y, far apart in noise: which came first? The network "
    "must carry the first one across the gap (Hochreiter and Schmidhuber, 1997).",
    "recall": "Key-value pairs, then a key: answer its value ('… c 7 … ? c → 7').",
    "sentiment": "Positive or negative, where the words alone do not tell: 'not good', "
    "'good but dull'. A bag of words stays at chance; order-aware networks do not.",
    "chars": "Predict the next character of Python's own documentation (it ships with "
    "Python: about 465,000 characters), then write new text.",
    "own_text": "Paste or upload a text; the network learns to continue it character by character.",
    "own_labels": "A CSV of text,label rows: the network learns to label the sentences.",
    "sines": "A mix of sine waves with noise: forecast the next values.",
    "arma": "An ARMA(2, 1) process: correlated noise, predictable a few steps ahead.",
    "seasonal": "A trend, a season of 12 steps and noise.",
    "mackey_glass": "The Mackey-Glass delay equation: chaotic, so errors grow fast with the "
    "horizon.",
    "own_series": "A CSV with a column of numbers: forecast its next values.",
}
ARCH_LABELS = {
    "rnn": "RNN (tanh)",
    "lstm": "LSTM",
    "gru": "GRU",
    "cnn1d": "1-D CNN",
    "transformer": "Transformer",
    "bow": "Bag of words (baseline)",
}
HIDDEN_SIZES = (8, 16, 32, 64, 128, 256)
SAMPLE_COUNTS = (500, 1000, 2000, 4000, 8000, 16000)
DROPOUTS = (0.0, 0.1, 0.2, 0.3, 0.5)
CLIPS = (0.0, 0.5, 1.0, 5.0)
UPLOAD_TYPES = {
    "own_text": ["txt", "md", "py", "csv"],
    "own_labels": ["csv"],
    "own_series": ["csv"],
}

DEFAULTS: dict[str, Any] = {
    "sq_mode": "run",
    "sq_family": "symbols",
    "sq_data_symbols": "sort",
    "sq_data_text": "sentiment",
    "sq_data_series": "sines",
    "sq_length": LENGTH_DEFAULT["sort"],
    "sq_horizon": 8,
    "sq_samples": 4000,
    "sq_noise": 0.1,
    "sq_data_seed": 0,
    "sq_own_text": "",
    "sq_arch": "transformer",
    "sq_hidden": 64,
    "sq_layers": 2,
    "sq_heads": 2,
    "sq_positions": "learned",
    "sq_forget_bias": 1.0,
    "sq_kernel": 3,
    "sq_dropout": 0.0,
    "sq_clip": 1.0,
    "sq_optimizer": "adam",
    "sq_lr": 0.003,
    "sq_batch": 64,
    "sq_epochs": 20,
    "sq_live_probes": True,
    "sq_wd": 0.0,
    "sq_seed": 0,
    "sq_device": "auto",
    "sq_example": 0,
}
fields.RANGES.update(
    {
        "sq_length": ("Length", 1, MAX_SEQUENCE_LENGTH),
        "sq_horizon": ("Steps ahead", 1, 64),
        "sq_data_seed": ("Data seed", 0, fields.SEED_MAX),
        "sq_epochs": ("Epochs", 1, 500),
        "sq_seed": ("Seed", 0, fields.SEED_MAX),
    }
)


def init() -> None:
    shared_widgets.init(DEFAULTS, prefix="sq")
    open_settings.apply("sq")


def sync_url(more: dict[str, url_state.Field], more_defaults: dict[str, Any]) -> None:
    """This page's settings and `more` (the length experiment's) in its URL, in one query."""
    url_state.sync("sq", {**url_fields(), **more}, {**DEFAULTS, **more_defaults})


def url_fields() -> dict[str, url_state.Field]:
    """The settings a link carries: not a person's own text, which stays in their browser.
    (The length experiment's settings are its own: `view_lengths.url_fields`.)"""
    return {
        **url_state.numbers(DEFAULTS),
        "sq_mode": url_state.choice(("run", "lengths")),
        "sq_family": url_state.choice(tuple(FAMILIES)),
        **{f"sq_data_{f}": url_state.choice(names) for f, names in FAMILY_DATASETS.items()},
        "sq_samples": url_state.choice(SAMPLE_COUNTS),
        "sq_noise": url_state.real(0.0, 0.5, 0.05),
        "sq_arch": url_state.choice(tuple(ARCH_LABELS)),
        "sq_hidden": url_state.choice(HIDDEN_SIZES),
        "sq_layers": url_state.choice((1, 2, 3, 4)),
        "sq_heads": url_state.choice((1, 2, 4, 8)),
        "sq_positions": url_state.choice(("learned", "sinusoidal")),
        "sq_forget_bias": url_state.choice((0.0, 1.0, 2.0)),
        "sq_kernel": url_state.choice((3, 5, 7)),
        "sq_dropout": url_state.choice(DROPOUTS),
        "sq_clip": url_state.choice(CLIPS),
        **shared_widgets.training_fields("sq"),
    }


def from_config(cfg: RunConfig, s: open_settings.Setter) -> None:
    """The widget values of `cfg` (a run to open here); what the widgets cannot show, named.
    A person's own text or series is not kept in a run: its data must be given again."""
    d, m = cfg.data, cfg.model
    s.put("sq_mode", "run")
    family = next((f for f, names in FAMILY_DATASETS.items() if d.name in names), None)
    if family is None:
        s.skip(f"data.name {d.name!r} (not a sequence task of this page)")
    else:
        s.put("sq_family", family)
        s.put(f"sq_data_{family}", d.name)
        if d.name.startswith("own_"):
            s.skip("the data itself (a person's own; give it again)")
        if _uses_length(d.name):
            s.number("sq_length", d.length, "data.length")
        if d.name in SERIES_DATASETS:
            s.number("sq_horizon", d.horizon, "data.horizon")
            s.between("sq_noise", d.noise, 0.0, 0.5, "data.noise")
    s.choice("sq_samples", d.n_samples, SAMPLE_COUNTS, "data.n_samples")
    s.number("sq_data_seed", d.seed, "data.seed")
    if s.choice("sq_arch", m.arch, tuple(ARCH_LABELS), "model.arch"):
        s.choice("sq_hidden", m.hidden_size, HIDDEN_SIZES, "model.hidden_size")
        if m.arch != "bow":
            s.choice("sq_layers", m.layers, (1, 2, 3, 4), "model.layers")
        if m.arch == "transformer":
            s.choice("sq_heads", m.heads, (1, 2, 4, 8), "model.heads")
            s.choice("sq_positions", m.positions, ("learned", "sinusoidal"), "model.positions")
        if m.arch in ("lstm", "gru"):
            s.choice("sq_forget_bias", m.forget_bias, (0.0, 1.0, 2.0), "model.forget_bias")
        if m.arch == "cnn1d":
            s.choice("sq_kernel", m.kernel, (3, 5, 7), "model.kernel")
        s.choice("sq_dropout", m.dropout, DROPOUTS, "model.dropout")
    s.choice("sq_clip", cfg.train.clip, CLIPS, "train.clip")
    open_settings.training("sq", cfg.train, s, DEFAULTS)


def data_name() -> str:
    ss = st.session_state
    return ss[f"sq_data_{ss['sq_family']}"]


def _on_dataset_change() -> None:
    """A new dataset starts from its own length (a sort of 8, a character context of 32)."""
    name = data_name()
    if name in LENGTH_DEFAULT:
        st.session_state["sq_length"] = LENGTH_DEFAULT[name]


def _uses_length(name: str) -> bool:
    return name in LENGTH_DEFAULT


def _length_label(name: str) -> str:
    if name == "addition":
        return "Digits a number"
    if name in ("chars", "own_text"):
        return "Characters of context"
    if name in SERIES_DATASETS:
        return "Past values seen"
    return "Length (symbols)"


def data_controls() -> None:
    ss = st.session_state
    st.segmented_control(
        "Kind of sequence",
        list(FAMILIES),
        format_func=FAMILIES.get,
        key="sq_family",
        required=True,
        on_change=_on_dataset_change,
        persist_state=KEEP,
    )
    family = ss["sq_family"]
    st.selectbox(
        "Data",
        FAMILY_DATASETS[family],
        format_func=DATASET_LABELS.get,
        key=f"sq_data_{family}",
        on_change=_on_dataset_change,
        persist_state=KEEP,
    )
    name = data_name()
    st.caption(DATASET_HELP[name])
    if name.startswith("own_"):
        _own_data_controls(name)
    c1, c2 = st.columns(2)
    if _uses_length(name):
        fields.number_input(
            c1,
            "sq_length",
            _length_label(name),
            help="How long each sequence is: longer ones put the clues further apart. "
            f"1 to {MAX_SEQUENCE_LENGTH}.",
        )
    if name in SERIES_DATASETS:
        fields.number_input(
            c2, "sq_horizon", help="How many steps ahead the network forecasts at once."
        )
    if not name.startswith("own_"):
        c1, c2 = st.columns(2)
        c1.select_slider(
            "Samples" if name not in SERIES_DATASETS else "Windows",
            SAMPLE_COUNTS,
            key="sq_samples",
            help="How many sequences (for series: windows of the series) are generated; 30% "
            "are kept aside for testing.",
            persist_state=KEEP,
        )
        fields.number_input(c2, "sq_data_seed")
        if name in SERIES_DATASETS:
            st.slider("Noise", 0.0, 0.5, step=0.05, key="sq_noise", persist_state=KEEP)


def _own_data_controls(name: str) -> None:
    if name == "own_text":
        st.text_area(
            "Paste a text",
            key="sq_own_text",
            height=120,
            max_chars=2_000_000,
            help="Any text of a few thousand characters or more, or upload a file below.",
        )
    st.file_uploader(
        {
            "own_text": "…or upload a text file (UTF-8)",
            "own_labels": "A CSV of text,label rows (UTF-8)",
            "own_series": "A CSV with a column of numbers (UTF-8)",
        }[name],
        type=UPLOAD_TYPES[name],
        key=f"sq_file_{name}",
        help="It stays in this browser session: nothing is written to disk.",
    )


def model_controls() -> None:
    ss = st.session_state
    name = data_name()
    st.selectbox(
        "Network",
        list(ARCH_LABELS),
        format_func=ARCH_LABELS.get,
        key="sq_arch",
        help="RNN, LSTM and GRU read a sequence one step at a time, carrying a hidden state; "
        "the 1-D CNN slides filters along it; the Transformer lets every position attend to "
        "every other; the bag of words ignores the order entirely.",
        persist_state=KEEP,
    )
    arch = ss["sq_arch"]
    c1, c2 = st.columns(2)
    c1.select_slider(
        "Width" if arch == "transformer" else "Hidden units",
        HIDDEN_SIZES,
        key="sq_hidden",
        persist_state=KEEP,
    )
    if arch != "bow":
        c2.select_slider("Layers", (1, 2, 3, 4), key="sq_layers", persist_state=KEEP)
    if arch == "transformer":
        c1, c2 = st.columns(2)
        c1.select_slider(
            "Heads",
            (1, 2, 4, 8),
            key="sq_heads",
            help="Attention heads per layer; each takes an equal share of the width.",
            persist_state=KEEP,
        )
        c2.selectbox(
            "Positions",
            ("learned", "sinusoidal"),
            key="sq_positions",
            help="How the network knows where a token is: a learned vector per position, or "
            "fixed sine waves of many frequencies (Vaswani et al., 2017).",
            persist_state=KEEP,
        )
    if arch in ("lstm", "gru"):
        gate = "forget" if arch == "lstm" else "update"
        st.select_slider(
            f"{gate.capitalize()}-gate bias at the start",
            (0.0, 1.0, 2.0),
            key="sq_forget_bias",
            help=f"A positive bias starts the {gate} gate open, so the "
            + ("cell" if arch == "lstm" else "state")
            + " remembers by default, and memory and gradient last across long gaps "
            "(Jozefowicz et al., 2015).",
            persist_state=KEEP,
        )
    if arch == "cnn1d":
        st.select_slider(
            "Kernel", (3, 5, 7), key="sq_kernel", persist_state=KEEP, help="Filter width."
        )
    st.select_slider("Dropout", DROPOUTS, key="sq_dropout", persist_state=KEEP)
    if arch == "bow" and name in FAMILY_DATASETS["series"]:
        st.caption("A bag of words reads tokens: choose another network for a series.")


def training_controls() -> None:
    shared_widgets.training_controls("sq")
    st.select_slider(
        "Gradient clipping",
        CLIPS,
        key="sq_clip",
        format_func=lambda v: "off" if v == 0 else f"norm {v:g}",
        help="Before each step, scale the whole gradient down to at most this norm: recurrent "
        "networks' gradients can explode through time.",
        persist_state=KEEP,
    )


# --- the config and the data -------------------------------------------------------------------


def data_config() -> DataConfig:
    ss = st.session_state
    name = data_name()
    return DataConfig(
        name=name,
        n_samples=int(ss["sq_samples"]),
        noise=float(ss["sq_noise"]) if name in SERIES_DATASETS else 0.0,
        seed=fields.value("sq_data_seed"),
        length=fields.value("sq_length") if _uses_length(name) else 0,
        horizon=fields.value("sq_horizon") if name in SERIES_DATASETS else 0,
    )


def model_config() -> ModelConfig:
    ss = st.session_state
    return ModelConfig(
        arch=ss["sq_arch"],
        hidden_size=int(ss["sq_hidden"]),
        layers=int(ss["sq_layers"]) if ss["sq_arch"] != "bow" else 1,
        heads=int(ss["sq_heads"]),
        positions=ss["sq_positions"],
        forget_bias=float(ss["sq_forget_bias"]),
        kernel=int(ss["sq_kernel"]),
        dropout=float(ss["sq_dropout"]),
    )


def run_config() -> RunConfig:
    train = replace(shared_widgets.train_config("sq"), clip=float(st.session_state["sq_clip"]))
    return RunConfig(data=data_config(), model=model_config(), train=train)


def _own_source(name: str) -> tuple[str, bytes | str] | None:
    """What a person gave for own data `name` (an upload's bytes, or pasted text), with a
    fingerprint of it; None when nothing was given."""
    upload = st.session_state.get(f"sq_file_{name}")
    if upload is not None:
        data = upload.getvalue()
        return f"{upload.name}:{hashlib.sha1(data).hexdigest()}", data
    text = st.session_state.get("sq_own_text", "") if name == "own_text" else ""
    if text.strip():
        return f"pasted:{hashlib.sha1(text.encode()).hexdigest()}", text
    return None


def _own_dataset(cfg: DataConfig) -> Dataset:
    """The person's own data as a Dataset, made once per upload and settings (kept in the
    session, one at a time). ValueError says what is wrong with it."""
    from dlviz.data import sequence_files as files

    source = _own_source(cfg.name)
    if source is None:
        st.session_state.pop(OWN, None)
        upload_budget.release(OWN)
        raise ValueError(
            {
                "own_text": "paste a text or upload a text file to train on",
                "own_labels": "upload a CSV of text,label rows to train on",
                "own_series": "upload a CSV with a column of numbers to train on",
            }[cfg.name]
        )
    fingerprint, raw = source
    key = (fingerprint, cfg)
    kept = st.session_state.get(OWN)
    if kept is not None and kept[0] == key:
        return kept[1]
    # Within the session's upload budget: the file (or text) before it is read, then with the
    # dataset made from it; what does not fit is not kept.
    pasted = fingerprint.startswith("pasted:")
    what = "The pasted text" if pasted else f"The file {fingerprint.rsplit(':', 1)[0]}"
    size = upload_budget.nbytes(raw)
    st.session_state.pop(OWN, None)  # the one kept before is for other data or settings
    try:
        if problem := upload_budget.claim(OWN, size, "Sequences", what):
            raise ValueError(problem)
        ds = files.dataset_from_upload(cfg, raw)
        if problem := upload_budget.claim(OWN, size + upload_budget.nbytes(ds), "Sequences", what):
            raise ValueError(problem)
    except ValueError:
        upload_budget.release(OWN)
        raise
    st.session_state[OWN] = (key, ds)
    return ds


def current_dataset(cfg: DataConfig) -> Dataset:
    """The data a run of `cfg` trains on: generated (cached for every session) or the
    person's own."""
    if cfg.name.startswith("own_"):
        return _own_dataset(cfg)
    return dataset(cfg)


def describe_problem(e: Exception) -> str:
    """A ConfigError or a data error as one sentence for a person."""
    text = str(e)
    if isinstance(e, ConfigError):
        field, _, message = text.partition(": ")
        names = {
            "data.length": "Length",
            "data.horizon": "Steps ahead",
            "data.n_samples": "Samples",
            "model.heads": "Heads",
            "model.arch": "Network",
            "train.batch_size": "Batch size",
        }
        label = names.get(field, field)
        return f"{label}: {message}."
    text = text.removeprefix("data.path: ")
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


@dataclass
class Readiness:
    """What the settings make now: the config and its data (None when they cannot), the
    network's parameter count, and why Train cannot start ("" when it can)."""

    config: RunConfig | None
    data: Dataset | None
    params: int
    problem: str


def readiness() -> Readiness:
    try:
        cfg = run_config()
        ds = current_dataset(cfg.data)
        params = parameter_count(cfg.model, ds.input_shape, ds.n_outputs, spec=ds.seq)
    except (ValueError, KeyError) as e:  # ConfigError too
        return Readiness(None, None, 0, describe_problem(e))
    return Readiness(cfg, ds, params, "")


def start() -> None:
    """Button callback: it runs before the page is drawn, so the page that follows already
    shows the run."""
    ready = readiness()
    if ready.problem or ready.config is None:
        st.session_state[PROBLEM] = f"These settings cannot train: {ready.problem}"
        return
    own = ready.config.data.name.startswith("own_")
    view = live.start_view(
        VIEW, [ready.config], ["run"], kind="single", data=ready.data if own else None
    )
    for handle in view.handles:  # its first snapshot already shows the chosen example
        handle.probe.choose(sample_index=int(st.session_state.get("sq_example", 0)))
    live.wait_first_point(view)


def summary_line(ready: Readiness) -> str:
    cfg, ds = ready.config, ready.data
    if cfg is None or ds is None:
        return ""
    model = cfg.model
    what = ARCH_LABELS[model.arch]
    if model.arch != "bow":
        what += f", {plural(model.layers, 'layer')} of {model.hidden_size}"
    if model.arch == "transformer":
        what += f", {plural(model.heads, 'head')}"
    return f"**{what}**: {plural(ready.params, 'parameter')}"


# --- above the live view: the data in words or as a line ------------------------------------------


def preview_rows(ds: Dataset, n: int = 5) -> list[dict[str, str]]:
    """A few training examples as text: the input and what the network must give."""
    seq = ds.seq
    assert seq is not None
    chars = ds.name in ("chars", "own_text")
    sep = "" if chars else " "
    rows = []
    for i in range(min(n, len(ds.x_train))):
        x, y = ds.x_train[i], ds.y_train[i]
        if seq.task == "class":
            target = ds.class_names[int(y)]
            text = seq.text(x, sep=sep)
        elif seq.prompt:  # generation: the question, then the answer it must write
            text = seq.text(x[: seq.prompt], sep=sep)
            target = " ".join(ds.class_names[int(t)] for t in y[y != -100])
        elif chars:
            text = seq.text(x, sep="")
            target = "the next character at every position"
        else:  # tagging (parens): a label per token
            text = seq.text(x, sep=sep)
            target = " ".join(ds.class_names[int(t)] for t in y)
        rows.append({"input": text.replace("\n", "⏎"), "target": target})
    return rows


def preview(ds: Dataset) -> None:
    """The data as a person would read it: examples as text, or the series as a line."""
    from dlviz.labs.sequences.figures import series_preview_figure

    seq = ds.seq
    assert seq is not None
    st.markdown(
        f"**{DATASET_LABELS.get(ds.name, ds.name)}**: {len(ds.x_train):,} training and "
        f"{len(ds.x_test):,} test " + ("windows" if seq.task == "forecast" else "sequences")
    )
    if seq.task == "forecast" and seq.series is not None:
        st.plotly_chart(
            series_preview_figure(seq.series, seq.split_at, height=220),
            key="sq_data_preview",
            config=live.CHART_CONFIG,
        )
        st.caption(
            f"The whole series, scaled to mean 0 and spread 1 on its training part. Each window "
            f"shows the network {ds.input_shape[0]} values; it forecasts the next {seq.horizon}. "
            "Test windows come after the training ones in time."
        )
        return
    st.dataframe(
        preview_rows(ds),
        key="sq_data_table",
        hide_index=True,
        width="stretch",
        column_config={"input": "input", "target": "what the network must give"},
    )
