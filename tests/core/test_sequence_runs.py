"""Sequence runs end to end through `dlviz train --json`: the summary's contract for one class
a sequence, a token at each position and a forecast, checked against plain computations; the
defaults of a config that names only its data and its network; the run store and the Runs
lab's rebuilding of a stored sequence network."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dlviz import runs
from dlviz.cli import main
from dlviz.config import RunConfig
from dlviz.data import IGNORE, load_dataset
from dlviz.trained import trained_model


def train(tmp_path, capsys, config: dict) -> dict:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(config))
    code = main(["train", str(path), "--runs-dir", str(tmp_path / "s"), "--json", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out.strip().splitlines()[-1])


def test_a_classification_of_sequences_reports_accuracy(tmp_path, capsys):
    s = train(
        tmp_path,
        capsys,
        {
            "data": {"name": "temporal_order", "length": 10, "n_samples": 1500},
            "model": {"arch": "lstm", "hidden_size": 16},
            "train": {"epochs": 6},
        },
    )
    assert set(s["final"]) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}
    assert s["final"]["test_accuracy"] > 0.9  # four classes: chance is 0.25
    assert list(s["gradient_norms"]) == ["embed", "lstm1", "head"]
    # params: embedding 6 x 16, one LSTM layer 4 (16*16 + 16*16 + 2*16), head 16 x 4 + 4
    assert s["params"] == 6 * 16 + 4 * (16 * 16 + 16 * 16 + 2 * 16) + 16 * 4 + 4


def test_a_per_token_task_reports_token_and_whole_sequence_accuracy(tmp_path, capsys):
    config = {
        "data": {"name": "reverse", "length": 4, "n_samples": 1000},
        "model": {"arch": "gru", "hidden_size": 32},
        "train": {"epochs": 4},
    }
    s = train(tmp_path, capsys, config)
    final = s["final"]
    assert {"test_accuracy", "test_sequence_accuracy", "train_sequence_accuracy"} <= set(final)
    # the summary's figures are the trained network's, computed again here by plain torch
    cfg = RunConfig.from_dict(
        json.loads((tmp_path / "s" / s["run_id"] / "config.json").read_text())
    )
    data = load_dataset(cfg.data)
    model, _ = trained_model(tmp_path / "s", s["run_id"], cfg, data)
    with torch.no_grad():
        pred = model(data.x_test).argmax(-1)
    mask = data.y_test != IGNORE
    hits = (pred == data.y_test) & mask
    assert final["test_accuracy"] == pytest.approx(hits.sum().item() / mask.sum().item(), abs=1e-5)
    whole = (hits | ~mask).all(dim=1).float().mean().item()
    assert final["test_sequence_accuracy"] == pytest.approx(whole, abs=1e-5)
    assert final["test_sequence_accuracy"] <= final["test_accuracy"]


def test_a_forecast_reports_its_mse_and_the_naive_forecasts(tmp_path, capsys):
    s = train(
        tmp_path,
        capsys,
        {
            "data": {"name": "sines", "length": 16, "horizon": 4, "n_samples": 600},
            "model": {"arch": "lstm", "hidden_size": 16},
            "train": {"epochs": 5},
        },
    )
    final = s["final"]
    assert "test_accuracy" not in final
    assert {"test_mse", "baseline_mse", "train_mse"} <= set(final)
    data = load_dataset(
        RunConfig.from_dict(
            {
                "data": {"name": "sines", "length": 16, "horizon": 4, "n_samples": 600},
                "model": {"arch": "lstm"},
            }
        ).data
    )
    x, y = data.x_test[:, :, 0].numpy(), data.y_test.numpy()
    naive = np.mean((x[:, -1:] - y) ** 2)  # the last value, repeated, by hand
    assert final["baseline_mse"] == pytest.approx(float(naive), rel=1e-5)
    assert final["test_mse"] < final["baseline_mse"]  # sines are predictable


@pytest.mark.slow
@pytest.mark.parametrize(
    "data, arch, floor",
    [("temporal_order", "gru", 0.9), ("sentiment", "lstm", 0.9), ("sort", "transformer", 0.9)],
)
def test_naming_only_the_data_and_the_network_trains_something_sensible(
    tmp_path, capsys, data, arch, floor
):
    # the defaults a config gets with nothing but data.name and model.arch (epochs cut to keep
    # the test short: the defaults are 30)
    s = train(
        tmp_path, capsys, {"data": {"name": data}, "model": {"arch": arch}, "train": {"epochs": 8}}
    )
    saved = json.loads((tmp_path / "s" / s["run_id"] / "config.json").read_text())
    assert saved["data"]["n_samples"] == 4000 and saved["train"]["clip"] == 1.0
    assert saved["train"]["lr"] == 0.003
    assert s["final"]["test_accuracy"] > floor


def test_bag_of_words_cannot_read_sentiment_that_order_decides(tmp_path, capsys):
    s = train(
        tmp_path,
        capsys,
        {
            "data": {"name": "sentiment", "n_samples": 2000},
            "model": {"arch": "bow"},
            "train": {"epochs": 10},
        },
    )
    assert s["final"]["test_accuracy"] < 0.62  # two classes: chance is 0.5
    assert s["outcome"]["kind"] == "chance"
    listed = runs.list_runs(tmp_path / "s")
    assert listed[0]["dataset"] == "sentiment"


def test_a_sequence_model_on_points_is_a_bad_config(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"data": {"name": "spiral"}, "model": {"arch": "lstm"}}))
    assert main(["train", str(path), "--runs-dir", str(tmp_path)]) == 2
    assert "lstm reads sequences, and spiral is not one" in capsys.readouterr().err
