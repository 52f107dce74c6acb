"""The Your images page's view: the run training on the set (the Image lab's live view, and its
network), and prediction on a new image with saliency and Grad-CAM."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
import torch

from dlviz import explain
from dlviz.data import Dataset
from dlviz.data.uploads import Problem, UploadLimits, decode_image, picture_array
from dlviz.figures.classes import probability_figure
from dlviz.figures.rasters import feature_maps_figure
from dlviz.labs.images import view as image_view
from dlviz.labs.images import widgets as images
from dlviz.labs.uploads.figures import explain_figure
from dlviz.labs.uploads.widgets import VIEW
from dlviz.probes import ImageProbe
from dlviz.text import plural
from dlviz.ui import fields, layout, live
from dlviz.ui.collection import megabytes


def network_panel(rows: list[dict[str, object]], ds: Dataset) -> None:
    """The network the settings describe on this set: a line, then its diagram, blocks and
    layers in an expander."""
    st.markdown(
        f"{images.summary_line(rows)}, on {len(ds.x_train)} training and "
        f"{plural(len(ds.x_test), 'test image')} of {ds.input_shape[1]}x{ds.input_shape[2]}"
    )
    with st.expander("Network: edit the blocks, see every layer", expanded=False):
        st.plotly_chart(
            images.network_figure(rows, ds.input_shape),
            key="up_network",
            config=live.CHART_CONFIG,
        )
        images.blocks_editor()
        images.layer_table(rows)


def live_view() -> None:
    """The session's run on the set, live while it trains: the Image lab's view."""
    image_view.live_view(VIEW)


# --- prediction -------------------------------------------------------------------------------


def _trained(view: live.View | None) -> list[tuple[str, Any]]:
    """(label, model) of each run of the view that has ended with a trained model."""
    if view is None:
        return []
    return [
        (label, h.history.model)
        for label, h in zip(view.labels, view.handles)
        if h.history.done and h.history.model is not None
    ]


def predict_panel(view: live.View | None, lim: UploadLimits) -> None:
    trained = _trained(view)
    st.subheader("Predict")
    if not trained:
        st.caption(
            "Train a network first; then give it a new image here and see what it says, and "
            "where it looked."
        )
        return
    ss = st.session_state
    label, model = trained[0]
    if len(trained) > 1:
        names = [lab for lab, _ in trained]
        choice = st.segmented_control(
            "Network", names, key="up_predict_model", default=names[-1], required=True
        )
        label, model = trained[names.index(choice)]
    handle = view.handles[[lab for lab, _ in zip(view.labels, view.handles)].index(label)]
    ds = live.view_dataset(handle)
    cfg = handle.config.data
    sources = {"upload": "Upload an image", "camera": "Take a photo", "test": "A test image"}
    source = st.segmented_control(
        "Image", list(sources), format_func=sources.get, key="up_predict_source", required=True
    )
    name, x = "", None
    if source == "test":
        n = len(ds.x_test)
        fields.number_input(st, "up_predict_index", f"Test image (0 to {n - 1})", persist=False)
        refused = fields.problem("up_predict_index", 0, n - 1, "Test image")
        if refused:
            st.error(refused, icon=":material/error:")
            return
        i = int(ss["up_predict_index"])
        name, x = f"test image {i} ({ds.class_names[int(ds.y_test[i])]})", ds.x_test[i]
    else:
        f = (
            st.file_uploader(
                "An image to classify",
                key="up_predict_file",
                max_upload_size=megabytes(lim.max_file_bytes),
            )
            if source == "upload"
            else st.camera_input("A photo to classify", key="up_predict_shot")
        )
        if f is None:
            return
        pixels = decode_image(f.name, f.getvalue(), lim, max_side=lim.keep_side)
        if isinstance(pixels, Problem):
            st.error(f"{pixels}. Try another file.", icon=":material/error:")
            return
        name = f.name if source == "upload" else "your photo"
        x = torch.from_numpy(picture_array(pixels, cfg.size, cfg.channels))
    show_prediction(model, ds, x, name, key=f"up_pred_{label}")


def show_prediction(model, ds: Dataset, x: torch.Tensor, name: str, key: str) -> None:
    """Probabilities, saliency and Grad-CAM, and the feature maps of image x (C, H, W)."""
    probs = explain.probabilities(model, x)
    top = int(np.argmax(probs))
    layer = f"conv{len(model.blocks)}"
    sal = explain.saliency(model, x, target=top)
    cam = explain.grad_cam(model, x, layer=layer, target=top)
    st.markdown(f"**{name}**: the network says **{ds.class_names[top]}** ({probs[top]:.1%})")
    left, right = layout.columns([2, 3], key=f"{key}_row", min_width=260, gap="medium")
    with left:
        st.plotly_chart(
            probability_figure(ds.class_names, probs),
            key=f"{key}_probs",
            config=live.CHART_CONFIG,
        )
    with right:
        st.plotly_chart(
            explain_figure(x.numpy(), sal, cam, layer=layer, tile=150),
            key=f"{key}_explain",
            config=live.CHART_CONFIG,
        )
        st.caption(
            f"Where the network looked for {ds.class_names[top]}. Saliency: how much each "
            "pixel changes that class's score (its input gradient): bright pixels matter most. "
            f"Grad-CAM: {layer}'s feature maps weighted by how much each raises the score, "
            "laid over the image: the regions that made the decision."
        )
    snap = ImageProbe(x[None])(model)
    st.markdown("**What each layer sees in it**")
    st.plotly_chart(feature_maps_figure(snap), key=f"{key}_fmaps", config=live.CHART_CONFIG)
