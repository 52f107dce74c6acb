"""The Transfer page's widgets: backbone, target and strategy, the data-efficiency settings, and
the Train buttons' callback (`view` draws the runs)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import streamlit as st
import torch

from dlviz import runs, transfer
from dlviz.config import (
    MAX_BLOCKS,
    STRATEGIES,
    ConfigError,
    DataConfig,
    RunConfig,
    TrainConfig,
    TransferConfig,
)
from dlviz.data import Dataset
from dlviz.labs.transfer import efficiency
from dlviz.labs.uploads import widgets as uploads_ui
from dlviz.models import zoo
from dlviz.text import counted, plural
from dlviz.ui import fields, live, url_state, visibility
from dlviz.ui.session_folder import session_folder
from dlviz.ui.state import dataset, devices, set_defaults

VIEW = "tl_view"  # one strategy, or all four
EFF_VIEW = "tl_eff_view"  # the data-efficiency experiment
PROBLEM = "tl_problem"
AVAILABLE = "tl_eff_available"  # training images of the smallest class, for the "all" level
UPLOAD, FROM_RUN = "upload", "run"
PER_CLASS = efficiency.PER_CLASS_CHOICES  # 0: all
LR_FACTORS = (0.01, 0.03, 0.1, 0.3, 1.0)
LEARNING_RATES = (0.0003, 0.001, 0.003, 0.01, 0.03)
BATCH_SIZES = (8, 16, 32, 64, 128)
TARGETS = {
    "shapes": "Shapes it never saw (6 classes)",
    "digits": "Handwritten digits (10 classes)",
    "upload": "Your images (from the Your images page)",
}
DEFAULTS: dict[str, Any] = {
    "tl_backbone": transfer.DEFAULT_BACKBONE,
    "tl_target": "shapes",
    "tl_per_class": 25,
    "tl_strategy": "frozen",
    "tl_top": 2,
    "tl_factor": 0.1,
    "tl_lr": 0.003,
    "tl_epochs": 20,
    "tl_batch": 32,
    "tl_seed": 0,
    "tl_device": "auto",
    "tl_levels": list(efficiency.PAGE_LEVELS),
    "tl_steps": 100,
}


def typed_problem(kind: str) -> str:
    """A refused typed number that blocks `kind` ("single", "compare" or "efficiency")."""
    keys = ("tl_epochs", "tl_seed") + (("tl_steps",) if kind == "efficiency" else ())
    return fields.first_problem(keys)


def init() -> None:
    set_defaults(DEFAULTS)
    uploads_ui.init_set()  # the Your images page's set, as a target
    if st.session_state["tl_device"] not in devices():
        st.session_state["tl_device"] = "auto"
    choices = backbone_choices()
    if st.session_state["tl_backbone"] not in choices:
        st.session_state["tl_backbone"] = choices[0]
    url_state.sync("tl", url_fields(), DEFAULTS)


def url_fields() -> dict[str, url_state.Field]:
    """The settings a link carries: the backbone (one this server offers: a link to an
    ImageNet model opens without it where its library is missing), target, strategy, training
    and the data-efficiency levels. Left out: an uploaded checkpoint (a person's own file; the
    link keeps the choice to upload one) and the run chosen from the run store (this server's
    own runs)."""
    return {
        **url_state.numbers(DEFAULTS),
        "tl_backbone": url_state.choice(backbone_choices()),
        "tl_target": url_state.choice(tuple(TARGETS)),
        "tl_per_class": url_state.choice(PER_CLASS),
        "tl_strategy": url_state.choice(STRATEGIES),
        "tl_top": url_state.whole(1, MAX_BLOCKS),  # then at most the backbone's blocks
        "tl_factor": url_state.choice(LR_FACTORS),
        "tl_lr": url_state.choice(LEARNING_RATES),
        "tl_batch": url_state.choice(BATCH_SIZES),
        "tl_device": url_state.choice(devices()),
        "tl_levels": url_state.many(PER_CLASS),
    }


# --- the backbone ---------------------------------------------------------------------------------


def backbone_choices() -> list[str]:
    return [*transfer.shipped_backbones(), *zoo.available(), UPLOAD, FROM_RUN]


def _backbone_label(choice: str) -> str:
    if choice in zoo.MODELS:
        return f"{zoo.MODELS[choice].label} (ImageNet, {zoo.MODELS[choice].library})"
    if choice == UPLOAD:
        return "Upload a checkpoint..."
    if choice == FROM_RUN:
        return "A CNN from the run store..."
    return f"{choice} (dlviz's own)"


def _cnn_runs() -> list[dict[str, Any]]:
    """The finished image CNNs of the run store this person may see (`visibility`)."""
    return [
        r
        for r in visibility.visible_runs(runs.list_runs(runs.default_root()))
        if r.get("arch") == "cnn"
        and r.get("status") == "finished"
        and r.get("dataset") in ("digits", "shapes", "folder", "zip", "upload")
    ]


def _checkpoint_upload() -> None:
    """Read an uploaded checkpoint; keep it in the session's folder when it fits."""
    file = st.session_state.get("tl_ckpt")
    if file is None:
        return
    data = file.getvalue()
    try:
        b = transfer.read_backbone(data, file.name)
    except transfer.BackboneError as e:
        st.session_state["tl_ckpt_error"] = str(e)
        return
    suffix = Path(file.name).suffix.lower() or ".bin"
    path = session_folder() / f"checkpoint-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    path.write_bytes(data)
    st.session_state["tl_ckpt_path"] = str(path)
    st.session_state["tl_ckpt_name"] = file.name
    st.session_state.pop("tl_ckpt_error", None)
    st.session_state["tl_ckpt_blocks"] = b.n_blocks


def backbone_spec() -> tuple[str, str]:
    """(the `transfer.backbone` value, why there is none yet)."""
    choice = st.session_state["tl_backbone"]
    if choice == UPLOAD:
        path = st.session_state.get("tl_ckpt_path", "")
        if path and Path(path).is_file():
            return path, ""
        return "", "Upload a checkpoint (or choose another backbone)."
    if choice == FROM_RUN:
        run_id = st.session_state.get("tl_run")
        if not run_id:
            return "", "Choose a CNN run (train one on the Images page first)."
        try:  # on a shared server, another's run reads as one that is not there
            visibility.require(runs.default_root(), run_id)
        except runs.RunStoreError as e:
            return "", f"{e}. Choose another run."
        return f"run:{run_id}", ""
    return choice, ""


def strategy_label() -> str:
    """The name of the strategy the widgets have chosen (e.g. "Fine-tune the last block")."""
    return transfer.STRATEGY_LABELS[st.session_state["tl_strategy"]]


def load_backbone() -> tuple[transfer.Backbone | None, str]:
    spec, why = backbone_spec()
    if not spec:
        return None, why
    try:
        return transfer.load_backbone(spec, runs.default_root()), ""
    except transfer.BackboneError as e:
        return None, str(e)


def backbone_settings() -> None:
    st.selectbox(
        "Pretrained backbone",
        backbone_choices(),
        key="tl_backbone",
        format_func=_backbone_label,
        help="The convolutional layers to start from. dlviz's own were pretrained on 24 classes "
        "of textured shapes (`dlviz pretrain` makes them again from a seed).",
    )
    choice = st.session_state["tl_backbone"]
    if choice == UPLOAD:
        st.file_uploader(
            "Checkpoint: safetensors or a PyTorch state dict",
            type=["safetensors", "pt", "pth", "bin"],
            key="tl_ckpt",
            on_change=_checkpoint_upload,
            help="The weights of a dlviz CNN (weights.safetensors from a run's ZIP, or a "
            "backbone). State dicts load with weights_only=True: no code in them runs.",
        )
        if err := st.session_state.get("tl_ckpt_error"):
            st.error(err, icon=":material/error:")
        elif name := st.session_state.get("tl_ckpt_name"):
            st.caption(f"Using {name}.")
    elif choice == FROM_RUN:
        found = _cnn_runs()
        if not found:
            st.info(
                "No finished CNN runs in the run store yet: train one on the Images page.",
                icon=":material/info:",
            )
        else:
            labels = {
                r["run_id"]: f"{r.get('name') or r['run_id']} ({r['dataset']})" for r in found
            }
            if st.session_state.get("tl_run") not in labels:
                st.session_state["tl_run"] = found[0]["run_id"]
            st.selectbox("Run", list(labels), key="tl_run", format_func=labels.get)
    missing = {name: why for name, why in zoo.status().items() if why}
    if missing:
        with st.expander("ImageNet models (torchvision, timm)"):
            for name, why in missing.items():
                m = zoo.MODELS[name]
                st.caption(f"**{m.label}** ({m.library}): {why}.")


def card(b: transfer.Backbone) -> None:
    """The backbone's model card, in short."""
    c = b.card
    src = c.get("source", {})
    lines = [
        f"**{b.name}**: {plural(b.n_blocks, 'conv block')}, input "
        + "x".join(str(v) for v in b.input_shape)
        + ".",
    ]
    if src.get("description"):
        lines.append(f"Pretrained on {src['description']}.")
    if c.get("classes"):
        lines.append(f"{plural(len(c['classes']), 'source class')}.")
    if isinstance(c.get("accuracy"), dict):
        t = c.get("train", {})
        lines.append(
            f"{t.get('epochs', '?')} {counted(t.get('epochs'), 'epoch')}; source test accuracy "
            f"{c['accuracy']['test']:.1%}."
        )
    if c.get("command"):
        lines.append(f"Made by `{c['command']}`.")
    st.caption(" ".join(lines))


# --- the target and the run configs ---------------------------------------------------------------


def target_data(b: transfer.Backbone) -> tuple[DataConfig | None, Dataset | None, str]:
    """(the target's data config, its loaded data (uploads only), why it cannot train)."""
    size = b.input_shape[1]
    target = st.session_state["tl_target"]
    if target == "upload":
        ds = uploads_ui.dataset()
        if ds is None:
            why = uploads_ui.image_set().blocking() or "Add images on the Your images page."
            return None, None, f"Your images: {why}"
        return uploads_ui.data_config(ds), ds, ""
    if target == "digits":
        return DataConfig(name="digits", n_samples=1797, image_size=max(size, 8)), None, ""
    return efficiency.default_target(size), None, ""


def train_config() -> TrainConfig:
    ss = st.session_state
    return TrainConfig(
        optimizer="adam",
        lr=float(ss["tl_lr"]),
        batch_size=int(ss["tl_batch"]),
        epochs=fields.value("tl_epochs"),
        seed=fields.value("tl_seed"),
        device=ss["tl_device"],
    )


def transfer_settings(b: transfer.Backbone) -> TransferConfig:
    """The strategy settings the widgets describe, for backbone `b`."""
    ss = st.session_state
    return TransferConfig(
        backbone=backbone_spec()[0],
        strategy=ss["tl_strategy"],
        top_blocks=min(int(ss["tl_top"]), b.n_blocks),
        backbone_lr_factor=float(ss["tl_factor"]),
    )


def base_config(b: transfer.Backbone, data: DataConfig) -> RunConfig:
    return RunConfig(data=data, model=b.model, train=train_config(), transfer=transfer_settings(b))


def per_class_available(data_cfg: DataConfig, ds: Dataset | None) -> tuple[int, int]:
    """(training images in the smallest class, classes) of the whole target."""
    full = ds if ds is not None else dataset(data_cfg)
    counts = torch.bincount(full.y_train, minlength=full.n_classes)
    return int(counts.min()), full.n_classes


def target_counts(b: transfer.Backbone | None) -> tuple[int, int] | None:
    """(training images in the smallest class, classes) of the chosen target, None where it
    cannot load yet."""
    if b is None:
        return None
    data_cfg, ds, _ = target_data(b)
    return per_class_available(data_cfg, ds) if data_cfg is not None else None


def efficiency_settings() -> None:
    """The data-efficiency experiment's settings, folded away under the buttons."""
    with st.expander("Data-efficiency settings"):
        st.multiselect(
            "Labelled images per class",
            list(PER_CLASS),
            key="tl_levels",
            wrap=True,
            format_func=lambda k: "all" if k == 0 else str(k),
        )
        fields.number_input(
            st,
            "tl_steps",
            persist=False,
            help="Every run takes the same number of steps, however few images it has, so a "
            "run on 1 image a class is not cut short.",
        )
        st.caption(
            "From scratch, feature extraction and fine-tune all, each on the first k training "
            "images of every class (the same ones for each strategy), tested on the whole "
            "test set. Levels above the smallest class's count are skipped."
        )


def efficiency_run_count(counts: tuple[int, int] | None) -> int:
    """How many runs the data-efficiency experiment will make on the chosen target."""
    levels = tuple(int(k) for k in st.session_state["tl_levels"])
    if not levels:
        return 0
    if counts is not None:
        exp = efficiency.EfficiencyExperiment(RunConfig(transfer={"backbone": "x"}), levels=levels)
        levels = tuple(exp.levels_for(counts[0]))
    return len(levels) * len(efficiency.EFFICIENCY_STRATEGIES)


def strategy_settings(b: transfer.Backbone | None, counts: tuple[int, int] | None) -> None:
    """The target, the strategy and the training settings; `counts` are the chosen target's
    (`target_counts`: the selectbox's value is in session state before the page runs)."""
    st.selectbox("Target task", list(TARGETS), key="tl_target", format_func=TARGETS.get)
    st.select_slider(
        "Labelled training images per class",
        PER_CLASS,
        key="tl_per_class",
        format_func=lambda k: "all" if k == 0 else str(k),
        help="For Train and Compare: each class's first k training images (the same ones for "
        "every strategy). The test set is always whole.",
    )
    k = int(st.session_state["tl_per_class"])
    if counts is not None and k and k > counts[0]:
        st.caption(
            f"The smallest class has only {plural(counts[0], 'training image')}, so it trains on "
            f"{'it' if counts[0] == 1 else 'all of them'}; other classes on at most {k}."
        )
    st.radio(
        "Strategy",
        STRATEGIES,
        key="tl_strategy",
        format_func=transfer.STRATEGY_LABELS.get,
        help="\n\n".join(
            f"**{transfer.STRATEGY_LABELS[s]}**: {transfer.STRATEGY_HELP[s]}" for s in STRATEGIES
        ),
    )
    n = b.n_blocks if b is not None else 6
    if st.session_state["tl_top"] > n:
        st.session_state["tl_top"] = n
    st.slider(
        "Top blocks to fine-tune",
        1,
        max(n, 2),
        key="tl_top",
        disabled=st.session_state["tl_strategy"] != "finetune_top",
        help="Fine-tune top blocks: how many of the last conv blocks train.",
    )
    st.select_slider(
        "Backbone learning rate (times the head's)",
        LR_FACTORS,
        key="tl_factor",
        disabled=st.session_state["tl_strategy"] not in ("finetune_top", "finetune_all"),
        help="Fine-tuned pretrained layers learn slower, so they keep what they learned.",
    )
    with st.expander("Training"):
        st.select_slider("Learning rate", LEARNING_RATES, key="tl_lr")
        fields.number_input(st, "tl_epochs", persist=False)
        st.select_slider("Batch size", BATCH_SIZES, key="tl_batch")
        fields.number_input(st, "tl_seed", persist=False)
        st.selectbox("Device", devices(), key="tl_device")


# --- starting runs --------------------------------------------------------------------------------


def _context() -> tuple[RunConfig, Dataset | None, int, int]:
    """The base config, given data, smallest class and classes; ConfigError or
    BackboneError say what is wrong."""
    b, why = load_backbone()
    if b is None:
        raise ConfigError("transfer.backbone", why)
    data_cfg, ds, why = target_data(b)
    if data_cfg is None:
        raise ConfigError("data", why)
    available, n_classes = per_class_available(data_cfg, ds)
    return base_config(b, data_cfg), ds, available, n_classes


def start(kind: str) -> None:
    """Start one strategy ("single"), all four ("compare") or the data-efficiency experiment."""
    st.session_state.pop(PROBLEM, None)
    try:
        base, ds, available, n_classes = _context()
        if kind == "efficiency":
            exp = efficiency.EfficiencyExperiment(
                base,
                levels=tuple(int(k) for k in st.session_state["tl_levels"]),
                steps=fields.value("tl_steps"),
            )
            ladder = exp.configs(available, n_classes)
            st.session_state[AVAILABLE] = available
            live.start_view(
                EFF_VIEW,
                [c for _, _, c in ladder],
                [c.name for _, _, c in ladder],
                kind="efficiency",
                data=ds,
            )
            return
        base = base.with_changes(data={"per_class": int(st.session_state["tl_per_class"])})
        if kind == "single":
            s = base.transfer.strategy
            configs = [base.with_changes(name=transfer.STRATEGY_LABELS[s])]
        else:
            configs = efficiency.strategy_configs(base)
        live.start_view(VIEW, configs, [c.name for c in configs], kind="strategies", data=ds)
    except (ConfigError, transfer.BackboneError, ValueError) as e:
        st.session_state[PROBLEM] = str(e)
