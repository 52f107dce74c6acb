"""Linear probes and linear CKA (dlviz.representations), checked against data with a known
answer and against the formulas written out here; live probes in a run's history; the
`dlviz runs probe` contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from dlviz import events, jobs, representations
from dlviz.cli import main
from dlviz.config import ConfigError, RunConfig, TrainConfig
from dlviz.data import Dataset, load_dataset
from dlviz.models import build_model
from dlviz.representations import (
    ProbeError,
    ProbeSet,
    cka_matrix,
    layer_features,
    linear_cka,
    linear_probe,
    probe_layers,
)
from dlviz.train import fit

# --- data with a known answer ---------------------------------------------------------------------


def blobs(n: int, dim: int = 10, k: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """`k` classes, each a tight Gaussian around its own centre 10 apart: linearly separable."""
    g = torch.Generator().manual_seed(seed)
    centres = 10 * torch.eye(k, dim)
    y = torch.arange(n) % k
    return centres[y] + 0.5 * torch.randn(n, dim, generator=g), y


def test_a_probe_of_separable_data_is_right_and_one_of_noise_is_at_chance():
    x_tr, y_tr = blobs(400)
    x_te, y_te = blobs(1000, seed=1)
    assert linear_probe(x_tr, y_tr, x_te, y_te) == 1.0
    g = torch.Generator().manual_seed(2)
    noise_tr, noise_te = torch.randn(400, 10, generator=g), torch.randn(1000, 10, generator=g)
    chance = linear_probe(noise_tr, y_tr, noise_te, y_te)
    assert abs(chance - 0.25) < 0.06, chance  # 4 balanced classes
    # deterministic: the same features give the same probe
    assert linear_probe(noise_tr, y_tr, noise_te, y_te) == chance


def test_the_probes_gradient_and_minimum_match_autograd_and_torchs_lbfgs():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(200, 5, generator=g, dtype=torch.float64), torch.arange(200) % 3
    onehot = torch.nn.functional.one_hot(y, 3).double()
    w = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    loss, dw, db = representations.logistic_loss(x, onehot, w.detach(), b.detach(), 0.1)
    reference = torch.nn.functional.cross_entropy(x @ w + b, y) + 0.05 * (w * w).sum()
    reference.backward()
    torch.testing.assert_close(loss, reference.detach())
    torch.testing.assert_close(dw, w.grad)
    torch.testing.assert_close(db, b.grad)
    # the same (strictly convex) problem solved by torch's own L-BFGS, to convergence
    x = x.float() * torch.tensor([1.0, 3.0, 0.5, 2.0, 1.0]) + 1.0
    y = (x[:, 0] + x[:, 1] / 3 > 1.5).long() + (x[:, 2] > 1).long()
    mean, std, w_ours, b_ours = representations.fit_logistic(x, y, 3, l2=0.01, max_iter=200)
    z = (x - x.mean(0)) / x.std(0)
    torch.testing.assert_close(mean, x.mean(0))
    w = torch.zeros(5, 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-12,
                            line_search_fn="strong_wolfe")  # fmt: skip

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z @ w + b, y) + 0.005 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    torch.testing.assert_close(w_ours, w.detach(), atol=2e-3, rtol=0)
    torch.testing.assert_close(b_ours, b.detach(), atol=2e-3, rtol=0)


class _Noise(nn.Module):
    """Replaces its input by noise of the same shape (the same noise for the same rows)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(len(x) + int(x.abs().sum() * 1000) % 10_000)
        return torch.randn(x.shape, generator=g)


class _Known(nn.Module):
    """input -> `same` (the identity) -> `noise` -> a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.same, self.noise, self.head = nn.Identity(), _Noise(), nn.Linear(10, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.noise(self.same(x)))

    def activation_points(self) -> list[tuple[str, nn.Module]]:
        return [("same", self.same), ("noise", self.noise)]


def test_probe_layers_reads_each_layer_of_a_network_input_to_output():
    (x_tr, y_tr), (x_te, y_te) = blobs(400), blobs(400, seed=1)
    data = Dataset("blobs", "points2d", x_tr, y_tr, x_te, y_te, ("a", "b", "c", "d"))
    layers = probe_layers(_Known(), data)
    assert [r["name"] for r in layers] == ["input", "same", "noise", "output"]
    assert [r["dim"] for r in layers] == [10, 10, 10, 4]
    acc = {r["name"]: r["probe_accuracy"] for r in layers}
    assert acc["input"] == acc["same"] == 1.0  # the identity of separable data
    assert abs(acc["noise"] - 0.25) < 0.1 and abs(acc["output"] - 0.25) < 0.1  # at chance


def test_probe_layers_of_a_trained_mlp_follow_its_layers_and_find_its_classes():
    cfg = RunConfig().with_changes(
        data={"name": "moons", "n_samples": 400},
        model={"hidden": (8, 8)},
        train={"epochs": 30, "device": "cpu", "lr": 0.03},
    )
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)
    state = fit(model, data, cfg.train, torch.device("cpu"))
    layers = probe_layers(model, data, max_train=100)
    names = [r["name"] for r in layers]
    assert names == ["input", "hidden1", "hidden2", "output"]
    assert names[1:] == [n for n, _ in model.weight_layers()]  # the model's own layer names
    assert [r["dim"] for r in layers] == [2, 8, 8, 2]
    # the network's own last layer is linearly read as well as the network reads it
    assert layers[-1]["probe_accuracy"] >= state.metrics["test_accuracy"] - 0.05
    assert layers[-1]["probe_accuracy"] > 0.9


def test_feature_maps_are_pooled_to_the_feature_cap():
    cfg = RunConfig.from_dict(
        {
            "data": {"name": "shapes", "n_samples": 120, "image_size": 16},
            "model": {
                "arch": "cnn",
                "blocks": [{"channels": 8}, {"channels": 32, "pool": "max"}],
                "head": [12],
            },
        }
    )
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)
    feats, y = layer_features(model, data.x_test[:20], data.y_test[:20], max_features=128)
    assert list(feats) == ["input", "conv1", "conv2", "fc1", "output"]
    # input 1x16x16: pooled to 11x11 (121 <= 128); conv1 8x16x16 to 4x4 (8*16 = 128);
    # conv2 32x8x8 to 2x2 (32*4 = 128); the head's 12 units and the 6 classes as they are
    assert {k: v.shape for k, v in feats.items()} == {
        "input": (20, 121),
        "conv1": (20, 128),
        "conv2": (20, 128),
        "fc1": (20, 12),
        "output": (20, 6),
    }
    pooled = torch.nn.functional.adaptive_avg_pool2d(data.x_test[:20], 11).flatten(1)
    torch.testing.assert_close(feats["input"], pooled)
    assert torch.equal(y, data.y_test[:20])


def test_sequence_models_are_probed_as_their_heads_read_them():
    # one class a sequence: the last state of an LSTM, a bag of tokens for the input
    cfg = RunConfig.from_dict(
        {"data": {"name": "temporal_order", "n_samples": 200, "length": 12},
         "model": {"arch": "lstm", "hidden_size": 8, "layers": 2}}
    )  # fmt: skip
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=0, spec=data.seq)
    feats, y = layer_features(model, data.x_test[:10], data.y_test[:10])
    assert list(feats) == ["input", "lstm1", "lstm2", "output"]
    with torch.no_grad():
        h = model.layers[0](model.embed(data.x_test[:10]))
    torch.testing.assert_close(feats["lstm1"], h[:, -1])
    vocab = len(data.seq.vocab)
    assert feats["input"].shape == (10, vocab)
    torch.testing.assert_close(feats["input"].sum(dim=1), torch.ones(10))
    # a token at each position: a row per predicted position
    cfg = RunConfig.from_dict(
        {"data": {"name": "sort", "n_samples": 200}, "model": {"arch": "transformer",
         "hidden_size": 16, "layers": 2, "heads": 2}}
    )  # fmt: skip
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=0, spec=data.seq)
    feats, y = layer_features(model, data.x_test[:10], data.y_test[:10])
    predicted = int((data.y_test[:10] != -100).sum())
    assert list(feats) == ["input", "block1", "block2", "output"]
    assert {k: v.shape[0] for k, v in feats.items()} == dict.fromkeys(feats, predicted)
    assert len(y) == predicted and bool((y >= 0).all())
    assert all(0 <= r["probe_accuracy"] <= 1 for r in probe_layers(model, data, max_train=64))
    # chance over the predicted positions only: the commonest target token's share
    y_tr, y_te = data.y_train[data.y_train != -100], data.y_test[data.y_test != -100]
    common = int(torch.bincount(y_tr).argmax())
    chance = representations.chance_accuracy(data.y_train, data.y_test)
    assert chance == pytest.approx(float((y_te == common).float().mean()))


def test_a_forecast_has_no_classes_to_probe():
    cfg = RunConfig.from_dict(
        {"data": {"name": "sines", "length": 16, "horizon": 4, "n_samples": 200},
         "model": {"arch": "lstm", "hidden_size": 8}}
    )  # fmt: skip
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=0, spec=data.seq)
    with pytest.raises(ProbeError, match="forecast"):
        probe_layers(model, data)
    with pytest.raises(ProbeError, match="forecast"):
        ProbeSet.from_data(data)


# --- linear CKA -------------------------------------------------------------------------------------


def cka_by_formula(x: np.ndarray, y: np.ndarray) -> float:
    """HSIC(K, L) = tr(K H L H) / (n - 1)^2 with K = x x^T, L = y y^T and the centring matrix
    H = I - 11^T / n; CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, lg = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h) / (n - 1) ** 2

    return hsic(k, lg) / np.sqrt(hsic(k, k) * hsic(lg, lg))


def debiased_cka_by_formula(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased HSIC estimator (Song et al. 2012) with K~, L~ the Gram matrices with
    their diagonals zeroed: [tr(K~L~) + 1^T K~ 1 1^T L~ 1 / ((n-1)(n-2))
    - 2/(n-2) 1^T K~ L~ 1] / (n (n-3))."""
    n = len(x)

    def tilde(a):
        a = a @ a.T
        np.fill_diagonal(a, 0)
        return a

    def hsic(k, lg):
        one = np.ones(n)
        return (
            np.trace(k @ lg)
            + (one @ k @ one) * (one @ lg @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * (one @ k @ lg @ one)
        ) / (n * (n - 3))

    k, lg = tilde(x), tilde(y)
    return hsic(k, lg) / np.sqrt(hsic(k, k) * hsic(lg, lg))


@pytest.mark.parametrize("n, p", [(200, 12), (30, 80)])  # feature space; Gram matrices
def test_linear_cka_matches_its_formula_and_its_invariances(n, p):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, p, generator=g, dtype=torch.float64)
    y = torch.tanh(x[:, :7] @ torch.randn(7, 9, generator=g, dtype=torch.float64)) + 0.3 * (
        torch.randn(n, 9, generator=g, dtype=torch.float64)
    )
    assert linear_cka(x, y) == pytest.approx(cka_by_formula(x.numpy(), y.numpy()), rel=1e-9)
    assert linear_cka(x, y, debiased=True) == pytest.approx(
        debiased_cka_by_formula(x.numpy(), y.numpy()), rel=1e-9
    )
    q, _ = torch.linalg.qr(torch.randn(p, p, generator=g, dtype=torch.float64))
    assert torch.allclose(q.T @ q, torch.eye(p, dtype=torch.float64))  # orthogonal
    assert linear_cka(x, x @ q) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, 3.7 * x) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, y) == pytest.approx(linear_cka(x @ q, 0.2 * y), rel=1e-9)
    assert linear_cka(x, y) == pytest.approx(linear_cka(y, x), rel=1e-9)


def test_linear_cka_of_unrelated_noise_is_low():
    g = torch.Generator().manual_seed(1)
    x, noise = torch.randn(1000, 10, generator=g), torch.randn(1000, 10, generator=g)
    assert linear_cka(x, noise) < 0.05
    assert abs(linear_cka(x, noise, debiased=True)) < 0.02  # unbiased: near 0 on average
    assert linear_cka(x, x[:, :5]) > 0.5  # half of the same directions


def test_cka_matrix_is_every_pair_of_layers(monkeypatch):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(60, 5, generator=g)
    acts = {"a": x, "b": x @ torch.randn(5, 8, generator=g), "c": torch.randn(60, 3, generator=g)}
    m = cka_matrix(acts)
    assert m.shape == (3, 3)
    np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-9)
    np.testing.assert_allclose(m, m.T)
    for i, a in enumerate(acts.values()):
        for j, b in enumerate(acts.values()):
            assert m[i, j] == pytest.approx(linear_cka(a, b), rel=1e-9)
    other = {"z": 2 * x, "w": torch.randn(60, 4, generator=g)}
    two = cka_matrix(acts, other, debiased=True)
    assert two.shape == (3, 2)
    assert two[0, 0] == pytest.approx(1.0) and two[1, 1] == pytest.approx(
        linear_cka(acts["b"], other["w"], debiased=True), rel=1e-9
    )
    monkeypatch.setattr(representations, "CKA_GRAM_ROWS", 10)  # pair by pair, feature space
    np.testing.assert_allclose(cka_matrix(acts), m, rtol=1e-9)
    with pytest.raises(ValueError, match="same inputs"):
        cka_matrix({"a": x}, {"b": x[:10]})


def test_compare_layers_of_a_network_with_itself_has_ones_on_its_diagonal():
    cfg = RunConfig().with_changes(model={"hidden": (6, 6)})
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)
    other = build_model(cfg.model, data.input_shape, data.n_classes, seed=1)
    names, _, m = representations.compare_layers(model, model, data.x_test[:50])
    assert names == ["input", "hidden1", "hidden2", "output"]
    np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-9)
    _, _, two = representations.compare_layers(model, other, data.x_test[:50])
    assert two[0, 0] == pytest.approx(1.0)  # the same input
    assert two.shape == (4, 4) and np.all((two > -1e-9) & (two < 1 + 1e-9))


# --- live probes ------------------------------------------------------------------------------------

SMALL = RunConfig().with_changes(
    data={"name": "xor", "n_samples": 200}, model={"hidden": (6, 6)}, train={"device": "cpu"}
)


def test_live_probes_come_every_k_epochs_within_their_share_of_training():
    data = load_dataset(SMALL.data)
    model = build_model(SMALL.model, data.input_shape, data.n_classes, seed=0)
    sent: list[dict] = []
    probes = events.LayerProbes(sent.append, data, every=2, share=1e9)  # time is no object
    cfg = TrainConfig(epochs=5, device="cpu")
    state = fit(model, data, cfg, torch.device("cpu"), callbacks=[probes])
    assert [e["epoch"] for e in sent] == [2, 4]
    probes.final(state)
    assert [e["epoch"] for e in sent] == [2, 4, 5]
    assert sent[0]["layers"] == ["input", "hidden1", "hidden2", "output"]
    assert sent[0]["dims"] == [2, 6, 6, 2] and len(sent[0]["accuracy"]) == 4
    # no share of the time, no probes while training
    none: list[dict] = []
    fit(model, data, TrainConfig(epochs=3, device="cpu"), torch.device("cpu"),
        callbacks=[events.LayerProbes(none.append, data, share=0.0)])  # fmt: skip
    assert none == []


def test_a_run_with_probe_every_records_probes_in_its_history():
    cfg = SMALL.with_changes(train={"epochs": 4, "probe_every": 1})
    history = jobs.start(cfg).wait(60)
    assert history.status == "finished", history.message
    assert history.probe_layers == ["input", "hidden1", "hidden2", "output"]
    assert history.probe_dims == [2, 6, 6, 2]
    epochs, accuracy = history.probes.column("epoch"), history.probes.column("accuracy")
    assert epochs and epochs[-1] == 4  # at least the trained network's, after the loop
    assert epochs == sorted(set(epochs))
    assert all(len(row) == 4 and all(0 <= a <= 1 for a in row) for row in accuracy)
    # without it, none
    plain = jobs.start(SMALL.with_changes(train={"epochs": 2})).wait(60)
    assert plain.status == "finished" and len(plain.probes) == 0 and plain.probe_layers == []


def test_a_history_keeps_each_probe_as_a_row_of_layer_accuracies():
    from dlviz.history import RunHistory

    h = RunHistory()
    for epoch, acc in ((2, [0.5, 0.6]), (4, [0.5, 0.9])):
        h.apply({"type": "probes", "step": 10 * epoch, "epoch": epoch, "layers": ["input", "output"],
                 "accuracy": acc, "dims": [2, 2], "seconds": 0.01})  # fmt: skip
    assert h.probe_layers == ["input", "output"] and h.probe_dims == [2, 2]
    assert h.probes.to_dict() == {
        "step": [20, 40],
        "epoch": [2, 4],
        "accuracy": [[0.5, 0.6], [0.5, 0.9]],
    }


def test_probe_every_is_checked():
    assert TrainConfig().probe_every == 0
    assert RunConfig.from_dict({"train": {"probe_every": 3}}).train.probe_every == 3
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(ConfigError, match="train.probe_every"):
            TrainConfig(probe_every=bad)


# --- dlviz runs probe ---------------------------------------------------------------------------


def _train(tmp_path, capsys, config: dict) -> str:
    path = tmp_path / f"run{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(config))
    assert main(["train", str(path), "--runs-dir", str(tmp_path / "s"), "--quiet", "--json"]) in (
        0,
        1,
    )
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]


def test_runs_probe_prints_each_layers_accuracy_input_to_output(tmp_path, capsys):
    run_id = _train(
        tmp_path,
        capsys,
        {"data": {"name": "moons", "n_samples": 300}, "model": {"hidden": [8, 8]},
         "train": {"epochs": 20, "lr": 0.03}},
    )  # fmt: skip
    store = str(tmp_path / "s")
    assert main(["runs", "probe", run_id, "--runs-dir", store, "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert [r["name"] for r in result["layers"]] == ["input", "hidden1", "hidden2", "output"]
    assert all(0.0 <= r["probe_accuracy"] <= 1.0 for r in result["layers"])
    assert result["layers"][-1]["probe_accuracy"] > 0.8
    assert result["run_id"] == run_id and result["test_samples"] == 90
    assert main(["runs", "probe", run_id, "--runs-dir", store]) == 0
    out = capsys.readouterr().out
    assert "hidden2" in out and "PROBE ACCURACY" in out and "chance" in out


def test_runs_probe_refuses_what_it_cannot_probe(tmp_path, capsys):
    from dlviz import runs

    store = tmp_path / "s"
    assert main(["runs", "probe", "nope", "--runs-dir", str(store)]) == 1
    assert "dlviz runs ls" in capsys.readouterr().err
    gan = _train(
        tmp_path,
        capsys,
        {"data": {"name": "ring"}, "model": {"arch": "gan"}, "train": {"epochs": 1}},
    )
    assert main(["runs", "probe", gan, "--runs-dir", str(store)]) == 1
    assert "generative" in capsys.readouterr().err
    forecast = _train(
        tmp_path,
        capsys,
        {"data": {"name": "sines", "length": 16, "horizon": 4, "n_samples": 200},
         "model": {"arch": "lstm", "hidden_size": 8}, "train": {"epochs": 1}},
    )  # fmt: skip
    assert main(["runs", "probe", forecast, "--runs-dir", str(store)]) == 1
    assert "forecast" in capsys.readouterr().err
    config = RunConfig().to_dict()
    runs.start_run(store, "20240101-000000-running-abcdef", config, {"device": "cpu"})
    assert main(["runs", "probe", "20240101-000000-running-abcdef", "--runs-dir", str(store)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dlviz: ") and "running" in err and "finished" in err
