"""What a trained sequence model does, against plain torch and numpy: head ablation, accuracy
at each answer position, and a forecast report's windows, baselines and rollouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlviz.config import DataConfig, ModelConfig
from dlviz.data import IGNORE, load_dataset
from dlviz.labs.sequences import analysis
from dlviz.models import build_model


def model_for(data, arch: str, **kw):
    cfg = ModelConfig(arch=arch, hidden_size=16, **kw)
    return build_model(cfg, data.input_shape, data.n_outputs, seed=0, spec=data.seq).eval()


def test_switching_a_head_off_scores_as_zeroing_it_by_hand():
    data = load_dataset(DataConfig(name="parity", n_samples=300, length=6))
    model = model_for(data, "transformer", heads=2, layers=2)
    result = analysis.ablate_heads(model, data)
    assert set(result.ablated) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    with torch.no_grad():
        base = (model(data.x_test).argmax(-1) == data.y_test).float().mean().item()
        model.head_mask[1, 0] = 0.0
        without = (model(data.x_test).argmax(-1) == data.y_test).float().mean().item()
        model.head_mask[1, 0] = 1.0
    assert result.base == pytest.approx(base) and result.ablated[(1, 0)] == pytest.approx(without)
    assert torch.equal(model.head_mask, torch.ones(2, 2))  # every head back on
    head, drop = result.most_needed()
    assert drop == pytest.approx(result.base - min(result.ablated.values()))


def test_only_a_transformer_has_heads_to_switch_off():
    data = load_dataset(DataConfig(name="parity", n_samples=100, length=4))
    with pytest.raises(TypeError, match="only a transformer"):
        analysis.ablate_heads(model_for(data, "gru"), data)


def test_accuracy_at_each_answer_position_by_hand():
    data = load_dataset(DataConfig(name="reverse", n_samples=200, length=3))
    model = model_for(data, "lstm")
    got = analysis.position_accuracy(model, data)
    with torch.no_grad():
        pred = model(data.x_test).argmax(-1)
    mask = data.y_test != IGNORE
    cols = [c for c in range(mask.shape[1]) if mask[:, c].any()]
    want = [
        ((pred[:, c] == data.y_test[:, c]) & mask[:, c]).sum().item() / mask[:, c].sum().item()
        for c in cols
    ]
    assert len(got) == 3 and np.allclose(got, want)


def test_a_forecast_report_lines_its_windows_up_with_the_series():
    data = load_dataset(DataConfig(name="seasonal", n_samples=400, length=24, horizon=4))
    model = model_for(data, "gru")
    report = analysis.forecast_report(model, data, example=5)
    series, x, y = data.seq.series, data.x_test[:, :, 0].numpy(), data.y_test.numpy()
    assert np.allclose(report.past, x[5]) and np.allclose(report.truth, y[5])
    # the rollout starts where the example's window ends, in the series itself
    end = len(series) - (len(x) - 1 - 5) - 4
    assert np.allclose(series[end - 24 : end], x[5])
    assert np.allclose(report.rolled_truth, series[end : end + len(report.rolled_truth)])
    assert np.allclose(report.one_step_truth, y[:, 0])
    naive = np.mean((x[:, -1:] - y) ** 2, axis=0)  # the last value, repeated, by hand
    assert np.allclose(report.errors["naive"], naive, rtol=1e-5)
    assert set(report.errors) == {"network", "naive", "seasonal naive", "linear AR"}
    assert report.mse("naive") == pytest.approx(float(naive.mean()), rel=1e-5)
    assert all(len(v) == len(report.rolled_truth) for v in report.rolled.values())
