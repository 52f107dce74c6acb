"""What training did inside the Transfer lab's networks: CKA of each conv layer against the same
layer of the pretrained backbone (a frozen layer exactly 1; a re-randomised layer below, and the
layers after it too, yet a random layer on pretrained ones still high; each against CKA computed
by hand on the blocks' raw outputs), the reading of those numbers (on hand-made ones), and on the
page, after the four strategies, the CKA chart and the strategies' probes on one chart, each
showing the core's numbers on the same networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from support.apptest import charts, texts, values, wait_until_done

from dlviz import transfer
from dlviz.config import TransferConfig
from dlviz.data import load_dataset
from dlviz.labs.transfer import efficiency
from dlviz.labs.transfer.layers import (
    KEPT_CKA,
    UNCHANGED_CKA,
    backbone_reading,
    pretrained_network,
    similarity_to_pretrained,
)
from dlviz.representations import linear_cka, probe_layers

VIEW = "tl_view"
CONVS = [f"conv{i}" for i in range(1, 7)]


def cka(*values: float) -> dict[str, float]:
    return dict(zip(CONVS, values))


# --- the reading, on hand-made numbers --------------------------------------------------------------


def test_the_thresholds_are_ordered():
    assert 0 < KEPT_CKA < UNCHANGED_CKA < 1


def test_a_frozen_network_kept_every_layer():
    assert backbone_reading([("Feature extraction", "frozen", cka(*[1.0] * 6))]) == [
        "Feature extraction left the representation unchanged at every layer (CKA 1.00)."
    ]
    # float error below 1 still reads as unchanged
    near = cka(1.0, 0.99999994, 1.0, 0.9999, 1.0, 1.0)
    assert "unchanged at every layer" in backbone_reading([("F", "frozen", near)])[0]


def test_fine_tuning_names_the_layers_it_changed_and_those_it_kept():
    rows = [("Fine-tune all", "finetune_all", cka(0.99, 0.97, 0.62, 0.41, 0.30, 0.5))]
    assert backbone_reading(rows) == [
        "Fine-tune all kept the representation close to the pretrained one at conv1-conv2 (CKA "
        "0.97 to 0.99) and changed it at conv3, conv4, conv5 and conv6 (CKA 0.62, 0.41, 0.30, "
        "0.50 against the pretrained layers)."
    ]


def test_frozen_first_blocks_are_told_apart_from_the_fine_tuned_ones():
    rows = [("Fine-tune top blocks", "finetune_top", cka(1, 1, 1, 1, 0.998, 0.9836))]
    assert backbone_reading(rows) == [
        "Fine-tune top blocks left the representation unchanged at conv1-conv4 (CKA 1.00) and "
        "kept it close to the pretrained one at conv5-conv6 (CKA 0.98 to 0.998)."
    ]
    one = backbone_reading([("Top", "finetune_top", cka(1, 1, 1, 1, 1, 0.7))])
    assert one == [
        "Top left the representation unchanged at conv1-conv5 (CKA 1.00) and changed it at "
        "conv6 (CKA 0.70 against the pretrained layer)."
    ]


def test_all_kept_close_names_the_lowest_layer_and_ranges_skip_gaps():
    rows = [("All", "finetune_all", cka(0.9957, 0.9967, 0.9929, 0.9853, 0.9684, 0.9578))]
    assert backbone_reading(rows) == [
        "All kept the representation close to the pretrained one at conv1-conv6 (CKA 0.96 to "
        "0.997, lowest at conv6)."
    ]
    gaps = backbone_reading([("A", "finetune_all", cka(0.97, 0.5, 0.96, 1.0, 0.4, 0.99))])[0]
    assert gaps == (
        "A kept the representation close to the pretrained one at conv1, conv3 and conv6 (CKA "
        "0.96 to 0.99), changed it at conv2 and conv5 (CKA 0.50, 0.40 against the pretrained "
        "layers) and left it unchanged at conv4 (CKA 1.00)."
    )


def test_from_scratch_is_the_reference_and_no_closer_layers_are_named():
    rows = [
        ("From scratch", "scratch", cka(0.94, 0.92, 0.85, 0.81, 0.71, 0.79)),
        ("Feature extraction", "frozen", cka(*[1.0] * 6)),
        ("Fine-tune all", "finetune_all", cka(0.99, 0.98, 0.9, 0.8, 0.6, 0.79)),
    ]
    out = backbone_reading(rows)
    assert (
        out[0] == "Feature extraction left the representation unchanged at every layer (CKA 1.00)."
    )
    assert out[1].endswith(
        "Its conv4, conv5 and conv6 are no closer to the pretrained layers than the same layers "
        "trained from scratch."
    )
    assert out[2].startswith(
        "The network trained from scratch, which never saw the backbone, is at CKA 0.71 to 0.94 "
        "against the pretrained layers"
    )
    assert len(out) == 3


def test_an_undefined_layer_is_named_and_left_out():
    out = backbone_reading([("All", "finetune_all", cka(0.99, 0.98, math.nan, 0.4, 0.3, 0.2))])
    assert "conv3" not in out[0] and "changed it at conv4, conv5 and conv6" in out[0]
    assert (
        out[1] == "All: CKA is undefined at conv3, whose activations do not vary over these images."
    )
    assert backbone_reading([]) == []


# --- the numbers, against CKA by hand ---------------------------------------------------------------


def hand_cka(a: torch.Tensor, b: torch.Tensor) -> float:
    """Linear CKA from its definition, in float64 NumPy: <K, L> / (|K| |L|) for the Gram
    matrices of the centred rows, K = X X^T (equal to |Y^T X|^2 / (|X^T X| |Y^T Y|))."""
    x = a.flatten(1).double().numpy()
    y = b.flatten(1).double().numpy()
    x, y = x - x.mean(0), y - y.mean(0)
    k, l_ = x @ x.T, y @ y.T
    return float((k * l_).sum() / (np.linalg.norm(k) * np.linalg.norm(l_)))


def block_outputs(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Each conv block's output, by running the blocks one after the other (eval mode)."""
    model.eval()
    out = []
    with torch.no_grad():
        for block in model.blocks:
            x = block(x)
            out.append(x)
    return out


@pytest.fixture(scope="module")
def shapes():
    b = transfer.load_backbone(transfer.DEFAULT_BACKBONE)
    ds = load_dataset(efficiency.default_target(b.input_shape[1]))
    return b, ds


def rerandomised(b, n_classes: int, block: int) -> torch.nn.Module:
    """The pretrained network with block `block`'s conv weights drawn again (seeded)."""
    model = transfer.build(
        b, TransferConfig(backbone=b.name, strategy="finetune_all"), n_classes, 0
    )
    conv = model.block_conv(block)
    with torch.no_grad():
        conv.weight.copy_(
            torch.randn(conv.weight.shape, generator=torch.Generator().manual_seed(1))
        )
    return model


def test_frozen_layers_are_at_one_and_a_rerandomised_layer_is_below(shapes):
    b, ds = shapes
    x = ds.x_test[:64]
    pretrained = pretrained_network(b, ds.n_classes)
    frozen = transfer.build(
        b, TransferConfig(backbone=b.name, strategy="frozen"), ds.n_classes, seed=3
    )
    with torch.no_grad():  # a trained output layer: not a conv layer, not compared
        frozen.out.weight.mul_(3.0)
    first, third = rerandomised(b, ds.n_classes, 0), rerandomised(b, ds.n_classes, 2)
    nets = [frozen, first, third]
    # unpooled (every feature-map value a feature), so CKA by hand on the raw outputs compares
    shown = similarity_to_pretrained(pretrained, nets, x, max_features=10**7)
    assert [list(s) for s in shown] == [CONVS] * 3
    ref = block_outputs(pretrained, x)
    for model, got in zip(nets, shown):
        for name, r, o in zip(CONVS, ref, block_outputs(model, x)):
            assert got[name] == pytest.approx(hand_cka(r, o), abs=1e-6), name
            assert got[name] == pytest.approx(linear_cka(r, o), abs=1e-6), name
    # the page's default: feature maps pooled to at most 1,024 numbers
    pooled = similarity_to_pretrained(pretrained, nets, x)
    for frozen_cka in (shown[0], pooled[0]):
        assert all(v == pytest.approx(1.0, abs=1e-6) for v in frozen_cka.values())
    for got in (shown, pooled):
        assert all(v < KEPT_CKA for v in got[1].values()), got[1]  # nothing below is pretrained
        assert got[2]["conv1"] == pytest.approx(1.0, abs=1e-6)
        assert got[2]["conv2"] == pytest.approx(1.0, abs=1e-6)
        assert got[2]["conv3"] < 0.99, got[2]
    # as the page's caption says: a random layer on pretrained ones can still score high
    assert pooled[2]["conv3"] > 0.9


# --- the page ----------------------------------------------------------------------------------------


def test_after_the_strategies_the_page_shows_cka_against_the_backbone_and_the_probes(
    apptest, monkeypatch, tmp_path
):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/transfer.py")
    at.number_input(key="tl_epochs").set_value(2).run()
    at.select_slider(key="tl_per_class").set_value(5).run()
    at.button(key="tl_compare").click().run()
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)
    assert not at.exception, at.exception
    view = at.session_state[VIEW]
    assert [h.history.status for h in view.handles] == ["finished"] * 4
    figs = charts(at)
    assert f"{VIEW}_backbone_cka" not in figs and f"{VIEW}_pair_probes" not in figs

    at.button(key=f"{VIEW}_backbone_cka_fit").click().run()
    assert not at.exception, at.exception
    assert at.button(key=f"{VIEW}_backbone_cka_fit").disabled  # computed: nothing to press
    b = transfer.load_backbone(transfer.DEFAULT_BACKBONE)
    ds = load_dataset(view.handles[0].config.data)  # per class cut; already the backbone's size
    assert ds.input_shape == b.input_shape
    models = [h.history.model for h in view.handles]
    expected = similarity_to_pretrained(
        pretrained_network(b, ds.n_classes), models, ds.x_test[:500]
    )
    lines = [t for t in charts(at)[f"{VIEW}_backbone_cka"]["data"] if t["mode"] == "lines+markers"]
    assert [t["name"] for t in lines] == [
        "From scratch (reference)", "Feature extraction", "Fine-tune top blocks", "Fine-tune all"
    ]  # fmt: skip
    for line, want in zip(lines, expected):
        assert list(line["x"]) == CONVS
        np.testing.assert_allclose(values(line["y"]), list(want.values()), atol=1e-6)
    np.testing.assert_allclose(values(lines[1]["y"]), 1.0, atol=1e-6)  # frozen: every layer
    np.testing.assert_allclose(values(lines[2]["y"])[:4], 1.0, atol=1e-6)  # the top 2 trained
    shown = texts(at.markdown)
    rows = [
        (h.history.label, h.config.transfer.strategy, c) for h, c in zip(view.handles, expected)
    ]
    for sentence in backbone_reading(rows):
        assert f"- {sentence}" in shown
    assert (
        "- Feature extraction left the representation unchanged at every layer (CKA 1.00)." in shown
    )
    assert any(t.startswith("Linear CKA (Kornblith et al. 2019)") for t in texts(at.caption))

    at.button(key="tl_pair_layers_fit").click().run()
    assert not at.exception, at.exception
    assert "#### Where each strategy separates the classes" in shown
    probes = [t for t in charts(at)[f"{VIEW}_pair_probes"]["data"] if t["name"] != "chance"]
    assert [t["name"] for t in probes] == [h.history.label for h in view.handles]
    for line, model in zip(probes, models):
        want = probe_layers(model, ds)
        np.testing.assert_allclose(
            values(line["y"]), [w["probe_accuracy"] for w in want], atol=1e-6
        )
    assert list(probes[0]["x"]) == ["input", *CONVS, "output"]
    captions = texts(at.caption)
    assert any(
        t.startswith("Feature extraction: A linear classifier on the raw input") for t in captions
    )
    assert sum(": A linear classifier on the raw input" in t for t in captions) == 4
