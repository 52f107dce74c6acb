"""The sequence probe: head-type scores and binned attention checked by hand, gate summaries,
and a snapshot of a real tiny model against what its recording and plain autograd give."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlviz.config import DataConfig, ModelConfig, RunConfig
from dlviz.data import load_dataset
from dlviz.history import RunHistory
from dlviz.models import build_model
from dlviz.models.recording import LayerTrace
from dlviz.sequence_probe import (
    HEAD_KINDS,
    SequenceProbe,
    binned_attention,
    gate_summary,
    head_scores,
    turned_on,
)
from dlviz.train import task_loss


def one_hot_attention(targets: list[int], t: int) -> torch.Tensor:
    """(1, 1, T, T) attention: query q attends only to key targets[q]."""
    att = torch.zeros(1, 1, t, t)
    for q, k in enumerate(targets):
        att[0, 0, q, k] = 1.0
    return att


def test_a_previous_token_head_scores_one_on_previous_and_zero_on_self():
    t = 5
    att = one_hot_attention([0, 0, 1, 2, 3], t)  # every query from 1 on looks one back
    tokens = torch.tensor([[1, 2, 3, 4, 5]])
    scores = head_scores(att, tokens)[0]
    assert scores[HEAD_KINDS.index("previous")] == pytest.approx(1.0)
    assert scores[HEAD_KINDS.index("self")] == pytest.approx(0.2)  # only query 0 is on itself


def test_induction_and_duplicate_scores_by_hand():
    # tokens: A B C A B; query 3 (A) looks at 1 (B, after the earlier A): induction
    tokens = torch.tensor([[7, 8, 9, 7, 8]])
    att = one_hot_attention([0, 1, 2, 1, 0], 5)
    scores = head_scores(att, tokens)[0]
    # induction: queries with a key whose previous token is their own token: q3 (key 1), q4
    # (key 2, after B at 1). q3 puts all on key 1: 1.0; q4 puts all on key 0: 0.0 -> 0.5
    assert scores[HEAD_KINDS.index("induction")] == pytest.approx(0.5)
    # duplicate: queries with an earlier copy of their token: q3 (key 0), q4 (key 1).
    # q3 attends key 1 (not a copy): 0; q4 attends key 0 (not a copy): 0
    assert scores[HEAD_KINDS.index("duplicate")] == pytest.approx(0.0)
    att = one_hot_attention([0, 1, 2, 0, 1], 5)  # now both look at their earlier copy
    assert head_scores(att, tokens)[0][HEAD_KINDS.index("duplicate")] == pytest.approx(1.0)


def test_binned_attention_keeps_rows_summing_to_one():
    torch.manual_seed(0)
    att = torch.softmax(torch.randn(2, 130, 130), dim=-1)
    out, bins = binned_attention(att, max_side=64)
    assert bins == 3 and out.shape == (2, 44, 44)
    sums = out.astype(np.float32).sum(-1)
    # the last bin holds a partial row of queries (padding zeros pull its mean down)
    assert np.allclose(sums[:, :-1], 1.0, atol=1e-2)
    small, one = binned_attention(att[:, :10, :10] / att[:, :10, :10].sum(-1, keepdim=True))
    assert one == 1 and small.shape == (2, 10, 10)


def test_gate_summary_means_and_saturation_by_hand():
    forget = torch.tensor([[[0.01, 0.5], [0.99, 0.97]]])  # (B=1, T=2, H=2)
    cell = torch.tensor([[[0.99, -0.2], [0.0, -0.96]]])
    trace = LayerTrace("lstm1", torch.zeros(1, 2, 2), gates={"forget": forget, "cell": cell})
    out = gate_summary(trace)
    assert np.allclose(out["forget"]["mean"], [0.255, 0.98])
    assert np.allclose(out["forget"]["saturated"], [0.5, 1.0])  # 0.01 shut; 0.99, 0.97 open
    assert np.allclose(out["cell"]["saturated"], [0.5, 0.5])  # |v| > 0.95: 0.99 and -0.96


def test_turned_on_finds_the_first_step_past_the_threshold():
    low = np.zeros((1, 2, len(HEAD_KINDS)), np.float32)
    mid = low.copy()
    mid[0, 1, 3] = 0.9  # head 2 of layer 1 becomes an induction head
    started = low.copy()
    started[0, 0, 0] = 0.8  # already on at the first snapshot: not "turned on"
    found = turned_on([0, 10, 20], [started, started + mid, started + mid])
    assert found == {(0, 1, 3): 10}


@pytest.mark.parametrize("arch", ["lstm", "transformer", "rnn"])
def test_a_snapshot_of_a_real_model_matches_its_recording(arch):
    cfg = RunConfig.from_dict(
        {
            "data": {"name": "temporal_order", "length": 12, "n_samples": 200},
            "model": {"arch": arch, "hidden_size": 8, "heads": 2},
        }
    )
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=0, spec=data.seq)
    snap = SequenceProbe(data, probe_batch=8)(model, step=5, epoch=1)
    assert snap.step == 5 and snap.example == 0 and len(snap.tokens) == 12
    layer = snap.layers[0]
    assert snap.states[layer].shape == (8, 12)
    assert all(p.grad is None for p in model.parameters())  # the probe leaves no gradient
    # the probe batch's loss, by plain torch on the fused path
    with torch.no_grad():
        model.eval()
        expected = task_loss("class", model(data.x_test[:8]), data.y_test[:8]).item()
    assert snap.loss == pytest.approx(expected, rel=1e-4)
    if arch == "transformer":
        assert snap.head_scores is not None and snap.head_scores.shape == (1, 2, 4)
        att = snap.attention[layer].astype(np.float32)
        assert att.shape == (2, 12, 12) and np.allclose(att.sum(-1), 1.0, atol=1e-2)
    else:
        assert snap.grad_steps[layer].shape == (12,) and (snap.grad_steps[layer] > 0).all()
        if arch == "lstm":
            assert set(snap.gates[layer]) == {"input", "forget", "cell", "output"}
        # the example's prediction is the argmax of the model's output
        with torch.no_grad():
            probs = torch.softmax(model(data.x_test[:1]), -1)[0]
        assert snap.prediction == data.class_names[int(probs.argmax())]
        assert snap.confidence == pytest.approx(float(probs.max()), rel=1e-4)


def test_a_probe_on_a_forecast_keeps_the_window_and_the_forecast():
    data = load_dataset(DataConfig(name="sines", n_samples=300, length=16, horizon=4))
    model = build_model(
        ModelConfig(arch="gru", hidden_size=8), data.input_shape, 4, seed=0, spec=data.seq
    )
    snap = SequenceProbe(data, probe_batch=4)(model)
    assert snap.values is not None and np.allclose(snap.values, data.x_test[0, :, 0].numpy())
    assert snap.forecast is not None and snap.forecast.shape == (4,)
    assert snap.tokens == () and snap.length == 16


def test_the_history_keeps_a_bounded_number_of_sequence_snapshots():
    data = load_dataset(DataConfig(name="parity", n_samples=100, length=6))
    model = build_model(
        ModelConfig(arch="transformer", hidden_size=8), data.input_shape, 2, seed=0, spec=data.seq
    )
    probe = SequenceProbe(data, probe_batch=4)
    h = RunHistory()
    for step in range(60):
        h.apply({"type": "seq", "snapshot": probe(model, step=step)})
    assert len(h.seq) <= 24 and h.seq[-1].step == 59 and h.seq[0].step == 0
    assert h.seq_seen == 60 and len(h.heads.column("step")) == 60
