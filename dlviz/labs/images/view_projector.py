"""The Image lab's side of the projector (`dlviz.ui.projector`): the test images in a layer's
space, a layer being each channel's mean activation over the image (the snapshots' embedding),
the input being the pixels themselves, and an item shown as its picture."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dlviz.data import Dataset
from dlviz.figures.rasters import image_grid_figure
from dlviz.history import RunHistory
from dlviz.probes import ImageProbe
from dlviz.ui import live, projector


def _inputs(ds: Dataset, n: int) -> np.ndarray:
    return ds.x_test[:n].reshape(n, -1).numpy()


def _trained(model, ds: Dataset, n: int) -> dict[str, np.ndarray]:
    return ImageProbe(ds.x_test, embed_count=n)(model, 0, 0).embedding


def _show(ds: Dataset, items: list[int], titles: list[str], key: str) -> None:
    st.plotly_chart(
        image_grid_figure(ds.x_test[items].numpy(), titles, cols=len(items), tile=80),
        key=key,
        config=live.CHART_CONFIG,
    )


ITEMS = projector.Items(
    prefix="im",
    noun="test image",
    per_item="an image",
    layer_help="The input is the pixels themselves; a conv layer is each channel's mean "
    "activation over the image (one number a channel).",
    snapshots=lambda h: h.fmaps,
    trained=_trained,
    inputs=_inputs,
    show=_show,
)


def draw(h: RunHistory, ds: Dataset, key: str) -> None:
    """The projector section of a single image run."""
    projector.draw(ITEMS, h, ds, key)
