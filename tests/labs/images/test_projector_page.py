"""AppTest of the Image lab's projector: while a run trains and after, the first 128 test
images in a chosen layer's space by PCA (one trace a class), the reading's nearest-neighbour
shares against a brute-force count, a seeded t-SNE of the trained network that is the same
for the same seed, and the click that picks a dot read from the chart's selection."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from support.apptest import charts, texts, values
from support.images import trained_images_page

from dlviz.config import ConvBlock
from dlviz.data import load_dataset
from dlviz.ui.projector import picked as _picked

PAGE = "pages/images.py"
VIEW = "im_view"
SMALL = (ConvBlock(8, 3, pool="max"), ConvBlock(16, 3, pool="max"))


@pytest.fixture
def trained(apptest) -> AppTest:
    return trained_images_page(apptest)


def brute_nearest_share(x: np.ndarray, y: np.ndarray) -> float:
    hits = 0
    for i in range(len(x)):
        d = [float(np.sum((x[i] - x[j]) ** 2)) if j != i else np.inf for j in range(len(x))]
        hits += int(y[int(np.argmin(d))] == y[i])
    return hits / len(x)


def test_the_projector_shows_each_class_and_a_true_reading(trained):
    at = trained
    assert "#### Where the classes go" in texts(at.markdown)
    assert at.selectbox(key="im_proj_layer").value == "conv2"
    figs = charts(at)
    fig = figs[f"{VIEW}_proj_pca_conv2"]
    points = sum(len(values(t["x"])) for t in fig["data"])
    ds_n = min(128, len(at.session_state[VIEW].handles[0].history.fmaps[-1].embedding["conv2"]))
    assert points == ds_n == 90  # 300 shapes, 30% to test: 90 test images
    assert {t["name"] for t in fig["data"]} <= {
        "circle", "square", "triangle", "star", "cross", "line"
    }  # fmt: skip
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("PC1 (")

    h = at.session_state[VIEW].handles[0].history
    ds = load_dataset(at.session_state[VIEW].handles[0].config.data)  # the run's own data
    labels = ds.y_test[:90].numpy()
    reading = next(c for c in texts(at.caption) if c.startswith("Of 90 test images"))
    x_in = ds.x_test[:90].reshape(90, -1).numpy()
    assert f"the input {brute_nearest_share(x_in, labels):.0%}" in reading
    model = h.model
    model.eval()
    import torch

    with torch.no_grad():
        a = ds.x_test[:90]
        for i, block in enumerate(model.blocks):
            a = block(a)
            # the page keeps each image's pooled activations in float16 (`probes`): near ties
            # fall as they do there only at the same precision
            pooled = a.mean(dim=(2, 3)).numpy().astype(np.float16).astype(np.float32)
            share = brute_nearest_share(pooled, labels)
            assert f"conv{i + 1} {share:.0%}" in reading, (i, share, reading)

    at.selectbox(key="im_proj_layer").set_value("input").run()
    assert not at.exception
    assert f"{VIEW}_proj_pca_input" in charts(at)


def test_a_tsne_of_the_trained_network_is_the_same_for_the_same_seed(trained):
    at = trained
    at.segmented_control(key="im_proj_method").set_value("tsne").run()
    assert not at.exception, at.exception
    first = charts(at)[f"{VIEW}_proj_tsne_conv2"]
    assert any("placed by t-SNE (seed 0" in c for c in texts(at.caption))
    at.number_input(key="im_proj_seed").set_value(1).run()
    other = charts(at)[f"{VIEW}_proj_tsne_conv2"]
    at.number_input(key="im_proj_seed").set_value(0).run()
    again = charts(at)[f"{VIEW}_proj_tsne_conv2"]
    xs = [values(t["x"]) for t in first["data"]]
    assert xs == [values(t["x"]) for t in again["data"]]
    assert xs != [values(t["x"]) for t in other["data"]]


def test_a_click_is_read_from_the_charts_selection():
    assert _picked(None) is None
    assert _picked({"selection": {"points": []}}) is None
    assert _picked({"selection": {"points": [{"customdata": 17, "x": 1}]}}) == 17
    assert _picked({"selection": {"points": [{"x": 1}, {"customdata": [4]}]}}) == 4
