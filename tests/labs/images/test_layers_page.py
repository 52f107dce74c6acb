"""The Image lab's probes and CKA on a trained network: the buttons fit and draw them, the
numbers shown are the core's on the same network, and the readings say what the numbers do
(checked on hand-made probe results)."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from support.apptest import button, charts, texts, values, wait_until_done
from support.images import trained_images_page

from dlviz.captions import cka_reading, probe_history_reading, probe_reading
from dlviz.config import ConvBlock
from dlviz.data import load_dataset
from dlviz.figures.layers import MAX_PROBE_LINES, probe_history_figure
from dlviz.representations import probe_layers

PAGE = "pages/images.py"
VIEW = "im_view"
SMALL = (ConvBlock(8, 3, pool="max"), ConvBlock(16, 3, pool="max"))


def layers(*acc):
    names = ["input", *(f"conv{i}" for i in range(1, len(acc) - 1)), "output"]
    return [{"name": n, "probe_accuracy": a, "dim": 8} for n, a in zip(names, acc)]


def test_the_probe_reading_names_where_the_classes_separate_and_whether_it_rises():
    text = probe_reading(layers(0.4, 0.6, 0.9, 0.93), chance=1 / 6, network=0.95)
    assert (
        "on the raw input scores 40% (chance 17%); on output, 93% (the network itself: 95%)" in text
    )
    assert "within 5% of the best - at conv2." in text
    assert "rises from layer to layer" in text
    falls = probe_reading(layers(0.4, 0.9, 0.8, 0.85), chance=0.5, network=None)
    assert (
        "does not rise all the way: it falls by more than 2 points somewhere after conv1" in falls
    )
    easy = probe_reading(layers(0.99, 0.97, 0.99, 0.99), chance=0.5, network=None)
    assert "Even the input is about as separable as any layer" in easy


def test_the_cka_reading_says_what_the_matrix_holds():
    m = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.6], [0.3, 0.6, 1.0]])
    text = cka_reading(["input", "conv1", "conv2"], ["input", "conv1", "conv2"], m, same=True)
    assert "CKA 0.70 on average" in text and "much less (0.30)" in text
    two = cka_reading(
        ["a1", "a2"], ["b1", "b2", "b3"], np.array([[0.9, 0.2, 0.1], [0.1, 0.3, 0.7]]), same=False
    )
    assert "a1 most like b1 (0.90), a2 most like b3 (0.70)" in two


@pytest.fixture
def trained(apptest) -> AppTest:
    return trained_images_page(apptest)


def test_the_buttons_fit_probes_and_cka_on_the_trained_network(trained):
    at = trained
    assert "#### Where the classes become linearly separable" in texts(at.markdown)
    assert f"{VIEW}_probes" not in charts(at)  # nothing fitted before the press
    button(at, "im_probe_fit").click().run()
    assert not at.exception, at.exception
    fig = charts(at)[f"{VIEW}_probes"]
    handle = at.session_state[VIEW].handles[0]
    ds = load_dataset(handle.config.data)
    expected = probe_layers(handle.history.model, ds)
    shown = values(fig["data"][0]["y"])
    np.testing.assert_allclose(shown, [layer["probe_accuracy"] for layer in expected], atol=1e-6)
    assert list(fig["data"][0]["x"]) == ["input", "conv1", "conv2", "output"]
    assert any(
        t.startswith("A linear classifier on the raw input scores") for t in texts(at.caption)
    )
    assert button(at, "im_probe_fit").disabled  # fitted: pressing again would change nothing

    button(at, "im_cka_fit").click().run()
    assert not at.exception, at.exception
    cka = charts(at)[f"{VIEW}_cka"]["data"][0]
    raw = cka["z"]
    if isinstance(raw, dict):  # plotly's binary form of a 2-D array
        z = np.array(values(raw)).reshape([int(n) for n in str(raw["shape"]).split(",")])
    else:
        z = np.array([values(row) for row in raw])
    assert list(cka["x"]) == ["input", "conv1", "conv2", "output"]
    assert z.shape == (4, 4)
    np.testing.assert_allclose(np.diag(z), 1.0, atol=1e-4)  # a layer is itself
    np.testing.assert_allclose(z, z.T, atol=1e-6)
    assert any("Neighbouring layers are alike" in t for t in texts(at.caption))


def test_the_twins_probes_share_one_chart_and_cka_compares_them(apptest):
    at = apptest(PAGE)
    at.segmented_control(key="im_dataset").set_value("digits").run()
    at.select_slider(key="im_digits_samples").set_value(300).run()
    at.number_input(key="im_epochs").set_value(2).run()
    button(at, "im_train_pair").click().run()
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)
    assert not at.exception, at.exception
    button(at, "im_pair_layers_fit").click().run()
    assert not at.exception, at.exception
    figs = charts(at)
    lines = [t for t in figs[f"{VIEW}_pair_probes"]["data"] if t["name"] in ("shallow", "deep")]
    assert [len(values(t["y"])) for t in lines] == [3, 10]  # input, 1 or 8 convs, output
    assert values(lines[0]["x"])[0] == 0.0 and values(lines[1]["x"])[-1] == 1.0  # depth 0 to 1
    cka = figs[f"{VIEW}_pair_cka"]["data"][0]
    assert list(cka["y"]) == ["input", "conv1", "output"] and len(cka["x"]) == 10
    shown = texts(at.caption)
    assert any(t.startswith("Shallow: A linear classifier") for t in shown)
    assert any(t.startswith("Deep: A linear classifier") for t in shown)
    assert any("most like" in t for t in shown)


def test_the_live_probe_reading_follows_the_first_and_latest_probe():
    names = ["input", "conv1", "conv2", "output"]
    one = probe_history_reading(names, [3], [[0.3, 0.5, 0.9, 0.92]])
    assert one.startswith("One probe, at epoch 3: the best layer scores 92%")
    assert "from conv2 on" in one
    two = probe_history_reading(names, [2, 5, 9], [[0.3, 0.4, 0.6, 0.62], [0, 0, 0, 0],
                                                   [0.3, 0.93, 0.95, 0.96]])  # fmt: skip
    assert two.startswith("3 probes, epochs 2 to 9: the best layer went from 62% to 96%")
    assert "from conv1 (at epoch 2, from conv2)" in two
    same = probe_history_reading(names, [1, 2], [[0.3, 0.5, 0.9, 0.9], [0.3, 0.5, 0.95, 0.96]])
    assert "still from conv2" in same
    assert "the best layer went from 90% to 96%" in same
    kept = probe_history_reading(names, [9, 10], [[0.4, 0.9, 1.0, 1.0], [0.4, 0.9, 0.998, 1.0]])
    assert "epochs 9 to 10: the best layer stayed at 100%" in kept


def test_the_live_probe_chart_draws_the_latest_probe_darkest_and_thins_old_ones():
    names = ["input", "conv1", "output"]
    epochs = list(range(1, 21))
    acc = [[0.3, 0.3 + e / 40, 0.4 + e / 40] for e in epochs]
    fig = probe_history_figure(names, epochs, acc, chance=0.25).to_dict()
    lines = [t for t in fig["data"] if t["name"] != "chance"]
    assert len(lines) == MAX_PROBE_LINES
    assert lines[0]["name"] == "epoch 1" and lines[-1]["name"] == "epoch 20"
    np.testing.assert_allclose(values(lines[-1]["y"]), acc[-1], atol=1e-6)
    assert lines[-1]["line"]["width"] > lines[0]["line"]["width"]


def test_a_run_that_probes_while_it_trains_draws_its_probes(trained):
    at = trained
    h = at.session_state[VIEW].handles[0].history
    assert h.config["train"]["probe_every"] == 1  # the page's default
    assert h.probes.column("epoch")[-1] == h.epoch  # the trained network, probed at the end
    fig = charts(at)[f"{VIEW}_live_probes"]
    lines = [t for t in fig["data"] if t["name"] != "chance"]
    assert lines[-1]["name"] == f"epoch {h.epoch}"
    np.testing.assert_allclose(values(lines[-1]["y"]), h.probes.column("accuracy")[-1], atol=1e-6)
    assert any("whenever it fits in 3% of the training time" in t for t in texts(at.caption))
