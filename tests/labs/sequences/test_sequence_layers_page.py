"""AppTest of what the Sequence lab shows of a trained network's layers: the projector of the
test sequences (PCA over training from the snapshots' activations, the trained network's own
at the end) with its reading against a brute-force count, a click showing a sequence and its
neighbours as text, and the probes and CKA on buttons, their numbers the core's on the same
network; a per-token task probes its positions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.apptest import button, charts, texts, values, wait_until_done

from dlviz.data import load_dataset
from dlviz.labs.sequences.view_projector import bag_of_tokens
from dlviz.representations import layer_features, probe_layers

PAGE = "pages/sequences.py"
VIEW = "sq_view"


def trained_page(apptest, dataset: str, arch: str, samples: int = 1000):
    at = apptest(PAGE)
    at.segmented_control(key="sq_family").set_value("symbols").run()
    at.selectbox(key="sq_data_symbols").set_value(dataset).run()
    at.selectbox(key="sq_arch").set_value(arch).run()
    at.select_slider(key="sq_samples").set_value(samples).run()
    at.number_input(key="sq_epochs").set_value(2).run()
    at.button(key="sq_train").click().run()
    assert not at.exception, at.exception
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)
    assert not at.exception, at.exception
    return at


def brute_nearest_share(x: np.ndarray, y: np.ndarray) -> float:
    x = x.astype(np.float64)  # as the projector measures (bags of tokens tie often)
    hits = 0
    for i in range(len(x)):
        d = [float(np.sum((x[i] - x[j]) ** 2)) if j != i else np.inf for j in range(len(x))]
        hits += int(y[int(np.argmin(d))] == y[i])
    return hits / len(x)


@pytest.fixture
def lstm(apptest):
    return trained_page(apptest, "temporal_order", "lstm")


def test_the_projector_places_the_test_sequences_by_class_with_a_true_reading(lstm):
    at = lstm
    h = at.session_state[VIEW].handles[0].history
    handle = at.session_state[VIEW].handles[0]
    ds = load_dataset(handle.config.data)
    layers = at.selectbox(key="sq_proj_layer").options
    assert layers[0] == "input" and layers[-1] == "output"
    layer = at.selectbox(key="sq_proj_layer").value
    assert layer == "output"
    fig = charts(at)[f"{VIEW}_proj_pca_{layer}"]
    n = sum(len(values(t["x"])) for t in fig["data"] if t.get("customdata") is not None)
    assert n == 128
    # the trained network's activations, taken again here, sort the classes as the reading says
    feats, _ = layer_features(h.model, ds.x_test[:128])
    labels = ds.y_test[:128].numpy()
    reading = next(t for t in texts(at.caption) if t.startswith("Of 128 test sequences"))
    share = brute_nearest_share(feats["output"].numpy(), labels)
    assert f"output {share:.0%}" in reading
    share_in = brute_nearest_share(bag_of_tokens(ds, 128), labels)
    assert f"the input {share_in:.0%}" in reading
    # the bag of tokens is the core's input row (each token's share of the real positions)
    np.testing.assert_allclose(bag_of_tokens(ds, 128), feats["input"].numpy(), atol=1e-6)
    assert torch.allclose(
        torch.from_numpy(bag_of_tokens(ds, 128)).sum(dim=1), torch.ones(128), atol=1e-5
    )


def test_the_probes_and_cka_are_the_cores_on_the_trained_network(lstm):
    at = lstm
    handle = at.session_state[VIEW].handles[0]
    ds = load_dataset(handle.config.data)
    button(at, "sq_probe_fit").click().run()
    assert not at.exception, at.exception
    fig = charts(at)[f"{VIEW}_probes"]
    expected = probe_layers(handle.history.model, ds)
    np.testing.assert_allclose(
        values(fig["data"][0]["y"]), [x["probe_accuracy"] for x in expected], atol=1e-6
    )
    assert list(fig["data"][0]["x"])[0] == "input"
    assert any("training sequences" in t for t in texts(at.caption))
    button(at, "sq_cka_fit").click().run()
    assert not at.exception, at.exception
    assert f"{VIEW}_cka" in charts(at)
    assert any(t.startswith("Neighbouring layers are alike") for t in texts(at.caption))


def test_a_per_token_task_probes_its_positions_and_has_no_projector(apptest):
    at = trained_page(apptest, "sort", "gru", samples=500)
    assert "sq_proj_layer" not in [s.key for s in at.selectbox]
    button(at, "sq_probe_fit").click().run()
    assert not at.exception, at.exception
    assert f"{VIEW}_probes" in charts(at)
    assert any("positions of sequences" in t for t in texts(at.caption))


def test_a_clicked_sequence_shows_with_its_nearest_neighbours_as_text(lstm):
    at = lstm
    handle = at.session_state[VIEW].handles[0]
    ds = load_dataset(handle.config.data)
    chart = f"{VIEW}_proj_pca_output"
    # what a click leaves in the chart's state (the browser test of the Image lab clicks)
    at.session_state[chart] = {"selection": {"points": [{"customdata": [7]}]}}
    at.run()
    assert not at.exception, at.exception
    shown = texts(at.markdown)
    assert any(t.startswith("**chosen: ") and "(test sequence 7)" in t for t in shown)
    assert sum(t.startswith("**#") for t in shown) == 5
    seq = ds.seq
    words = [seq.vocab[int(t)] for t in ds.x_test[7] if int(t) != seq.pad]
    assert " ".join(words) in [c.value for c in at.code]
    assert any(
        t.startswith("Test sequence 7 and its 5 nearest neighbours") for t in texts(at.caption)
    )
