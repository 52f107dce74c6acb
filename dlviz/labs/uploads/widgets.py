"""The Your images page's widgets: classes and their uploads (files, a ZIP, the camera), the
summary with its warnings, input size and augmentation with a preview, and the settings that
train on the set with the Image lab's network (`view` draws the run and the prediction).

The uploaded pictures live in this session only: an `ImageSet` in session state (decoded once,
at most 256 px a side), the tensors for the chosen input size cached beside it. Every widget key
starts with ``up_``; the network is the Image lab's own (its ``im_`` settings).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st
import torch

from dlviz.augment import Augment
from dlviz.config import AugmentConfig, DataConfig, RunConfig, TrainConfig
from dlviz.data import Dataset, image_dataset
from dlviz.data.uploads import (
    EXTENSIONS,
    ImageSet,
    UploadLimits,
    thumbnail_array,
)
from dlviz.figures.rasters import image_grid_figure
from dlviz.labs.images import widgets as images
from dlviz.text import plural
from dlviz.ui import fields, layout, live, url_state
from dlviz.ui import widgets as shared_widgets
from dlviz.ui.collection import Collection, class_key, taken_in, uploader_key

KEEP = "session"
SET = "up_set"
VIEW = "up_view"
REPORT = "up_report"
PROBLEM = "up_problem"
SIZES = (16, 24, 32, 48, 64)
CHANNELS = (3, 1)  # RGB, grey
# the Image lab's network settings this page shows (its Network tab and blocks table)
NETWORK_KEYS = (
    "im_blocks", "im_head", "im_head_pool", "im_activation", "im_norm", "im_residual",
    "im_dropout",
)  # fmt: skip
THUMBS = 8  # thumbnails per class in the summary
NUMBER_KEYS = ("up_data_seed", "up_epochs", "up_seed")  # the page's typed whole numbers
# the classes, uploads, report and download of the person's pictures
SET_UI = Collection(
    prefix="up", set_key=SET, version_key="up_version", report_key=REPORT, noun="image",
    make_set=ImageSet, export_name="dlviz-images", page="Your images",
)  # fmt: skip

DEFAULTS: dict[str, Any] = {
    "up_version": 0,  # bumped on every change to the set: caches follow it
    "up_size": 32,
    "up_channels": 3,
    "up_test_fraction": 0.25,
    "up_data_seed": 0,
    "up_flip": True,
    "up_crop": 0.1,
    "up_rotate": 10,
    "up_jitter": 0.2,
    "up_preview_seed": 0,
    "up_camera": False,
    "up_optimizer": "adam",
    "up_lr": 0.003,
    "up_batch": 16,
    "up_epochs": 30,
    "up_live_probes": True,
    "up_wd": 0.0,
    "up_seed": 0,
    "up_device": "auto",
    "up_predict_source": "upload",
    "up_predict_index": 0,
}


def init() -> None:
    """This page's defaults and set, then the settings of its link (`dlviz.ui.url_state`)."""
    init_set()
    url_state.sync("up", url_fields(), {**images.DEFAULTS, **DEFAULTS}, after=_after_link)


def init_set() -> None:
    """The defaults and the person's set, for this page or another that trains on the set
    (Transfer): not the link, which is this page's own. The network settings are the Image
    lab's, their defaults given here without `images.init`, whose link is the Images page's
    (it would read this page's link as its own and write its settings into it)."""
    shared_widgets.init(DEFAULTS, prefix="up")
    shared_widgets.init(images.DEFAULTS, prefix="im")
    SET_UI.init()


def url_fields() -> dict[str, url_state.Field]:
    """The settings a link carries: input size, colour, split, augmentation, training, and the
    Image lab's network (under its own ``im_`` names). Left out: the pictures and classes (a
    person's own, in this session only), the camera switch (it asks the browser for the
    camera), and internal keys (the set's version, the preview's draw, the picture to
    predict)."""
    network = images.url_fields()
    out = {
        **url_state.numbers(DEFAULTS),
        "up_size": url_state.choice(SIZES),
        "up_channels": url_state.choice(CHANNELS),
        "up_test_fraction": url_state.real(0.1, 0.5, 0.05),
        "up_crop": url_state.real(0.0, 0.3, 0.05),
        "up_rotate": url_state.whole(0, 45),
        "up_jitter": url_state.real(0.0, 0.5, 0.05),
        **shared_widgets.training_fields("up"),
        **{key: network[key] for key in NETWORK_KEYS},
    }
    out.pop("up_camera")
    return out


def _after_link(values: dict[str, Any]) -> None:
    if "im_blocks" in values:
        st.session_state["im_blocks_version"] += 1  # a fresh blocks table shows them


def image_set() -> ImageSet:
    return SET_UI.items()


def limits() -> tuple[UploadLimits, str]:
    """The upload limits (settings from the environment), and a problem with them ("" if none)."""
    try:
        return UploadLimits.from_env(), ""
    except ValueError as e:
        return UploadLimits(), f"{e}; the default limits apply."


def _changed() -> None:
    SET_UI.changed()


# --- classes and uploads ---------------------------------------------------------------------


def ingest(target: str | None, files: list[Any], lim: UploadLimits) -> None:
    """Decode uploaded `files` into class `target` (or, for ZIP files, into the classes their
    folders name), with a progress bar; the outcome is kept for `report()`."""
    SET_UI.ingest(target, files, lim)


def report() -> None:
    """What the last change did: images added, and each file that was refused, by name."""
    SET_UI.report()


def add_class_row() -> None:
    SET_UI.add_class_row(
        placeholder="e.g. cat",
        help="A name for one kind of image, e.g. cat, dog, mug. Then add images to it.",
    )


def zip_uploader(lim: UploadLimits) -> None:
    SET_UI.uploader(
        "zip",
        None,
        lim,
        lim.max_total_bytes,
        label="Or a ZIP whose top-level folders are the classes",
        help="For example cat/1.jpg, cat/2.jpg, dog/1.jpg: the folders become classes (new ones "
        "are made, existing ones get more images).",
    )


def _thumbs(cls: str, pics: list) -> Any:
    cache = st.session_state.setdefault("_up_thumbs", {})
    key = (cls, st.session_state["up_version"])
    if key not in cache:
        if len(cache) > 64:
            cache.clear()
        shown = pics[:THUMBS]
        cache[key] = image_grid_figure(
            np.stack([thumbnail_array(p.pixels, 48) for p in shown]), cols=THUMBS, tile=48
        )
    return cache[key]


def class_panel(cls: str, lim: UploadLimits) -> None:
    """One class: its count, thumbnails, an uploader for more images and a remove button."""
    pics = image_set().classes[cls]
    with st.container(border=True):
        SET_UI.class_header(cls, len(pics))
        if pics:
            st.plotly_chart(
                _thumbs(cls, pics), key=f"up_thumbs_{class_key(cls)}", config=live.CHART_CONFIG
            )
            if len(pics) > THUMBS:
                st.caption(f"The first {THUMBS} of {len(pics)}.")
        SET_UI.uploader(
            f"files_{class_key(cls)}",
            cls,
            lim,
            lim.max_file_bytes,
            label=f"Add images to {cls}",
            label_visibility="collapsed",
            help=f"PNG, JPEG, WebP, BMP, GIF (first frame) or TIFF; {lim.describe()}.",
        )


def camera(lim: UploadLimits) -> None:
    """Photos from the camera, into a chosen class (behind a switch: the browser asks for the
    camera only when it is on)."""
    names = list(image_set().classes)
    st.toggle("Take photos with the camera", key="up_camera", disabled=not names)
    if not names:
        st.caption("Make a class first; then photos can go into it.")
        return
    if not st.session_state["up_camera"]:
        return
    if st.session_state.get("up_camera_class") not in names:
        st.session_state["up_camera_class"] = names[0]
    st.selectbox("Photos go into", names, key="up_camera_class")
    shot = st.camera_input(
        "Take a photo",
        key=uploader_key("up_shot"),
        label_visibility="collapsed",
    )
    if shot is not None:
        cls = st.session_state["up_camera_class"]
        n = len(image_set().classes[cls]) + 1
        shot.name = f"photo-{n}.jpg"
        ingest(cls, [shot], lim)
        taken_in("up_shot")
        st.rerun()


# --- the summary -------------------------------------------------------------------------------


def summary() -> None:
    s = image_set()
    if not s.classes:
        return
    counts = {c: len(p) for c, p in s.classes.items()}
    sizes = sorted(s.sizes().items(), key=lambda kv: -kv[1])
    size_text = ", ".join(f"{w}x{h} ({n})" for (w, h), n in sizes[:6])
    if len(sizes) > 6:
        size_text += f" and {len(sizes) - 6} more"
    st.markdown(
        f"**{plural(s.count(), 'image')} in {plural(len(counts), 'class')}**: "
        + ", ".join(f"{c} {n}" for c, n in counts.items())
        + (f". Sizes found: {size_text}." if sizes else ".")
    )
    blocking = s.blocking()
    if blocking:
        st.info(blocking, icon=":material/info:")
    for w in s.warnings():
        st.warning(w, icon=":material/warning:")


def download_button() -> None:
    SET_UI.download_button(
        help="Every class as a folder of PNGs (as kept here: at most 256 px a side). Upload "
        "the ZIP again later to carry on, or train on it with dlviz train "
        '({"data": {"name": "zip", "path": ...}}).'
    )


# --- input size, augmentation, the dataset ----------------------------------------------------


def data_controls() -> None:
    st.select_slider(
        "Input size",
        SIZES,
        format_func=lambda s: f"{s}x{s}",
        key="up_size",
        help="Every image is resized to this square before it goes into the network. Larger "
        "shows more detail and trains slower.",
        persist_state=KEEP,
    )
    st.segmented_control(
        "Colour",
        CHANNELS,
        format_func={1: "grey", 3: "RGB"}.get,
        key="up_channels",
        required=True,
        persist_state=KEEP,
    )
    st.slider(
        "Test share",
        0.1,
        0.5,
        step=0.05,
        key="up_test_fraction",
        help="The share of each class held out to measure how well the network generalises.",
        persist_state=KEEP,
    )
    fields.number_input(st, "up_data_seed")
    st.markdown("**Augmentation** (training images only)")
    st.toggle("Mirror left-right", key="up_flip", persist_state=KEEP)
    st.slider(
        "Random crop (shift)",
        0.0,
        0.3,
        step=0.05,
        key="up_crop",
        help="Shift each image by up to this share of its side.",
        persist_state=KEEP,
    )
    st.slider("Rotation (degrees)", 0, 45, key="up_rotate", persist_state=KEEP)
    st.slider(
        "Colour jitter",
        0.0,
        0.5,
        step=0.05,
        key="up_jitter",
        help="Change brightness and contrast by up to this share.",
        persist_state=KEEP,
    )


def augment_config() -> AugmentConfig:
    ss = st.session_state
    return AugmentConfig(
        flip=bool(ss["up_flip"]),
        crop=float(ss["up_crop"]),
        rotate=float(ss["up_rotate"]),
        jitter=float(ss["up_jitter"]),
    )


def dataset() -> Dataset | None:
    """The set at the chosen input size, split; cached for the session until something
    changes (None when it cannot train: see `image_set().blocking()`)."""
    s = image_set()
    if s.blocking() or fields.problem("up_data_seed"):
        return None  # (a refused split seed: `readiness` says so)
    ss = st.session_state
    key = (
        ss["up_version"],
        int(ss["up_size"]),
        int(ss["up_channels"]),
        float(ss["up_test_fraction"]),
        int(ss["up_data_seed"]),
    )
    hit = ss.get("_up_dataset")
    if hit is not None and hit[0] == key:
        return hit[1]
    x, y, names = s.to_arrays(key[1], key[2])
    ds = image_dataset("upload", x, y, names, key[3], key[4])
    ss["_up_dataset"] = (key, ds)
    return ds


def augment_preview(ds: Dataset) -> None:
    """A few training images, each followed by augmented copies drawn as training draws them."""
    aug = Augment.from_config(augment_config())
    y = ds.y_train.numpy()
    picks = [int(np.flatnonzero(y == c)[0]) for c in range(ds.n_classes) if (y == c).any()][:4]
    copies = 5
    gen = torch.Generator().manual_seed(int(st.session_state["up_preview_seed"]))
    rows = []
    for i in picks:
        x = ds.x_train[i : i + 1].expand(copies, -1, -1, -1)
        rows += [ds.x_train[i], *aug(x, gen)]
    head = layout.row("up_preview_head", spread=True)
    head.markdown("**Augmentation preview**: each row, one training image and five draws")
    head.button(
        "New draw",
        key="up_preview_draw",
        icon=":material/shuffle:",
        on_click=lambda: st.session_state.update(
            up_preview_seed=st.session_state["up_preview_seed"] + 1
        ),
    )
    st.plotly_chart(
        image_grid_figure(torch.stack(rows).numpy(), cols=copies + 1, tile=64),
        key="up_preview",
        config=live.CHART_CONFIG,
    )
    if not aug.active:
        st.caption("Augmentation is off: the copies are the image itself.")


# --- training --------------------------------------------------------------------------------


def data_config(ds: Dataset) -> DataConfig:
    ss = st.session_state
    return DataConfig(
        name="upload",
        n_samples=max(len(ds), 2),
        test_fraction=float(ss["up_test_fraction"]),
        seed=fields.value("up_data_seed"),
        image_size=int(ss["up_size"]),
        channels=int(ss["up_channels"]),
    )


def train_config() -> TrainConfig:
    return replace(shared_widgets.train_config("up"), augment=augment_config())


def run_configs(kind: str, ds: Dataset) -> list[RunConfig]:
    base = RunConfig(data=data_config(ds), model=images.model_config(), train=train_config())
    if kind == "single":
        return [base]
    return [base.with_changes(model=images.PRESETS[k], name=k) for k in ("shallow", "deep")]


def readiness(ds: Dataset | None) -> tuple[list[dict[str, object]] | None, str, str]:
    """(the network's layer rows on this data, why Train cannot start, why the pair cannot)."""
    s = image_set()
    typed = fields.first_problem(NUMBER_KEYS)
    if typed:  # a refused number blocks both buttons, with its own message
        return None, typed, typed
    if ds is None:
        return None, s.blocking() or "Add images first.", s.blocking() or "Add images first."
    if len(ds.x_test) == 0 or len(ds.x_train) == 0:
        msg = (
            "Too few images to hold some out for testing: add more (at least 2 per class), or "
            "raise the test share."
        )
        return None, msg, msg
    out = []
    rows = None
    for kind in ("single", "pair"):
        try:
            for cfg in run_configs(kind, ds):
                r = images.layer_rows(cfg.model, ds.input_shape, ds.n_classes)
                if kind == "single":
                    rows = r
            out.append("")
        except ValueError as e:
            out.append(images.describe_problem(e))
    return rows, out[0], out[1]


def start(kind: str) -> None:
    ds = dataset()
    _, problem, pair_problem = readiness(ds)
    problem = problem if kind == "single" else pair_problem
    if problem or ds is None:
        st.session_state[PROBLEM] = f"These settings cannot train: {problem}"
        return
    labels = ["run"] if kind == "single" else ["shallow", "deep"]
    view = live.start_view(VIEW, run_configs(kind, ds), labels, kind=kind, data=ds)
    for handle in view.handles:
        handle.probe.choose(sample_index=int(st.session_state.get("im_sample", 0)))
    live.wait_first_point(view)


def network_settings() -> None:
    """The Image lab's presets and network widgets, shared with the Images page."""
    with layout.row("up_presets"):
        images.preset_buttons()
    images.network_controls()
    st.caption(
        "The network is the Image lab's: its blocks table and these settings are shared "
        "with the Images page."
    )


def accepted_types() -> str:
    return ", ".join(e.lstrip(".").upper() for e in EXTENSIONS)
