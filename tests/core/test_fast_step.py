"""The lean training step (`dlviz.fast_step`) against the usual path, bit for bit: a plain MLP's
forward and backward by hand against autograd, and the fused kernel called directly against
`Optimizer.step()`; and the cores shared among runs (`devices.follow_thread_share`)."""

from __future__ import annotations

import threading

import pytest
import torch
import torch.nn.functional as F

from dlviz import admission, devices
from dlviz.config import ModelConfig, RunConfig
from dlviz.data import load_dataset
from dlviz.fast_step import LeanOptimizer, LeanStep, mlp_update
from dlviz.models import build_model
from dlviz.train import fit, make_optimizer

OPTIMIZERS = {
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=1e-3, fused=True),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, fused=True),
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1, fused=True),
    "momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, fused=True),
}


def _batches(n_steps: int = 12, batch: int = 16):
    g = torch.Generator().manual_seed(3)
    x, y = (
        torch.randn(n_steps * batch, 2, generator=g),
        torch.randint(0, 3, (n_steps * batch,), generator=g),
    )
    return [(x[i : i + batch], y[i : i + batch]) for i in range(0, len(x), batch)]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_mlp_by_hand_gives_autograds_gradients_and_weights_exactly(activation, optimizer):
    cfg = ModelConfig(arch="mlp", hidden=(8, 6, 8), activation=activation)
    ref, fast = (build_model(cfg, (2,), 3, seed=0) for _ in range(2))
    opt_ref, opt_fast = (
        OPTIMIZERS[optimizer](ref.parameters()),
        OPTIMIZERS[optimizer](fast.parameters()),
    )
    update = mlp_update(fast, LeanStep(opt_fast), "class")
    assert update is not None
    for xb, yb in _batches():
        loss = F.cross_entropy(ref(xb), yb)
        opt_ref.zero_grad(set_to_none=True)
        loss.backward()
        opt_ref.step()
        fast_loss = update(xb, yb)
        assert torch.equal(fast_loss, loss.detach())
        for a, b in zip(ref.parameters(), fast.parameters()):
            assert torch.equal(a.grad, b.grad)
            assert torch.equal(a, b)
    # the optimizer's state is the one the lean step updated
    state_ref, state_fast = opt_ref.state_dict()["state"], opt_fast.state_dict()["state"]
    for k in state_ref:
        for name, value in state_ref[k].items():
            assert torch.equal(value, state_fast[k][name]), name


def _step_alike(model_a, model_b, opt_a, opt_b) -> LeanStep:
    """Six steps of two equal models on one batch, `opt_a` by its own `step()` and `opt_b`
    through `LeanStep`, the first group's learning rate changed after three; the weights
    checked equal after every step. Returns the LeanStep."""
    lean = LeanStep(opt_b)
    x = torch.randn(5, 3)
    for i in range(6):
        if i == 3:
            for opt in (opt_a, opt_b):
                opt.param_groups[0]["lr"] = 0.02
        for m in (model_a, model_b):
            m.zero_grad(set_to_none=True)
            m(x).square().mean().backward()
        opt_a.step()
        lean()
        for a, b in zip(model_a.parameters(), model_b.parameters()):
            assert torch.equal(a, b)
    return lean


def test_lean_step_follows_a_changed_learning_rate_and_each_groups_own():
    model_a, model_b = (torch.nn.Linear(3, 2) for _ in range(2))
    model_b.load_state_dict(model_a.state_dict())

    def groups(m):
        return [{"params": [m.weight], "lr": 0.1}, {"params": [m.bias], "lr": 0.01}]

    opt_a = torch.optim.Adam(groups(model_a), fused=True)
    opt_b = torch.optim.Adam(groups(model_b), fused=True)
    lean = _step_alike(model_a, model_b, opt_a, opt_b)
    assert lean._ready  # the direct call was taken, not the optimizer's own step each time


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        (torch.optim.Adam, {"weight_decay": 0.01}),
        (torch.optim.AdamW, {"weight_decay": 0.01}),
        (torch.optim.SGD, {}),
        (torch.optim.SGD, {"momentum": 0.9, "weight_decay": 0.01}),
        (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    ],
)
def test_lean_step_makes_the_foreach_update_as_the_optimizers_step_does(kind, extra):
    model_a, model_b = (
        torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)) for _ in range(2)
    )
    model_b.load_state_dict(model_a.state_dict())
    opt_a = kind(model_a.parameters(), lr=0.05, foreach=True, **extra)
    opt_b = kind(model_b.parameters(), lr=0.05, foreach=True, **extra)
    lean = _step_alike(model_a, model_b, opt_a, opt_b)
    assert lean._ready and lean._direct.startswith("foreach")
    for s_a, s_b in zip(opt_a.state.values(), opt_b.state.values()):
        assert s_a.keys() == s_b.keys() and all(torch.equal(s_a[k], s_b[k]) for k in s_a)


def test_lean_step_leaves_optimizers_it_does_not_cover_to_their_own_step():
    model = torch.nn.Linear(3, 2)
    for opt in (
        torch.optim.Adam(model.parameters(), foreach=False),
        torch.optim.SGD(model.parameters(), foreach=False),
        torch.optim.Adam(model.parameters(), fused=True, amsgrad=True),
        torch.optim.RMSprop(model.parameters()),
    ):
        lean = LeanStep(opt)
        for _ in range(2):
            model.zero_grad(set_to_none=True)
            model(torch.ones(1, 3)).sum().backward()
            lean()
        assert not lean._ready


@pytest.mark.parametrize("kind", ["adam", "adamw", "sgd", "momentum"])
@pytest.mark.parametrize("family", ["gan", "vae", "diffusion", "flow"])
def test_lean_optimizers_train_a_generative_model_as_its_own_optimizers_do(family, kind):
    from dlviz.models.generative import GAN, VAE, Diffusion, Flow

    def make():
        torch.manual_seed(0)
        return {
            "gan": lambda: GAN(2, latent=2, hidden_g=(8, 8), hidden_d=(8, 8), d_steps=2),
            "vae": lambda: VAE(2, latent=2, hidden=(8,)),
            "diffusion": lambda: Diffusion(2, hidden=(8,), steps=10),
            "flow": lambda: Flow(2, hidden=(8,), steps=5),
        }[family]()

    plain, lean = make(), make()
    opts_plain = plain.make_optimizers(kind, 0.01, 0.02, 0.01)
    opts_lean = lean.make_optimizers(kind, 0.01, 0.02, 0.01)
    assert all(o.defaults["foreach"] for o in opts_plain)
    wrapped = [LeanOptimizer(o) for o in opts_lean]
    data = torch.Generator().manual_seed(1)
    gen_a, gen_b = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    for _ in range(5):
        x = torch.randn(16, 2, generator=data)
        losses_a = plain.train_step(x, opts_plain, gen_a)
        losses_b = lean.train_step(x, wrapped, gen_b)
        assert losses_a.keys() == losses_b.keys()
        assert all(torch.equal(losses_a[k], losses_b[k]) for k in losses_a)
    for (name, a), b in zip(plain.state_dict().items(), lean.state_dict().values()):
        assert torch.equal(a, b), name
    assert all(w._step._ready for w in wrapped)  # the direct kernel call was taken
    for o_a, o_b in zip(opts_plain, opts_lean):  # the optimizers' own state moved alike
        for p_a, p_b in zip(o_a.state.values(), o_b.state.values()):
            assert all(torch.equal(p_a[k], p_b[k]) for k in p_a)


def test_a_lean_optimizer_is_its_optimizer_for_everything_else():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, fused=True)
    lean = LeanOptimizer(opt)
    assert lean.param_groups is opt.param_groups and lean.state is opt.state
    model(torch.ones(1, 3)).sum().backward()
    lean.zero_grad(set_to_none=False)
    assert torch.equal(model.weight.grad, torch.zeros(2, 3))
    lean.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_make_optimizer_uses_the_fused_kernel_on_the_cpu():
    model = build_model(ModelConfig(), (2,), 2, seed=0)
    for name in ("adam", "adamw", "sgd", "momentum"):
        opt = make_optimizer(model, RunConfig().train.__class__(optimizer=name))
        assert opt.defaults["fused"] is True


@pytest.mark.parametrize(
    "model_cfg",
    [
        ModelConfig(arch="mlp", norm="batch"),
        ModelConfig(arch="mlp", dropout=0.2),
        ModelConfig(arch="mlp", residual=True, hidden=(8, 8, 8)),
    ],
)
def test_networks_the_hand_step_does_not_cover_take_the_usual_path(model_cfg):
    model = build_model(model_cfg, (2,), 2, seed=0)
    step = LeanStep(make_optimizer(model, RunConfig().train))
    assert mlp_update(model, step, "class") is None


def test_a_hook_on_the_network_sends_it_the_usual_way():
    model = build_model(ModelConfig(), (2,), 2, seed=0)
    step = LeanStep(make_optimizer(model, RunConfig().train))
    assert mlp_update(model, step, "class") is not None
    handle = model.blocks[0].act.register_forward_hook(lambda *a: None)
    assert mlp_update(model, step, "class") is None
    handle.remove()
    assert mlp_update(model, step, "tokens") is None


def _fit(monkeypatch, fast: bool):
    if not fast:
        monkeypatch.setattr("dlviz.train.mlp_update", lambda *a, **k: None)
    cfg = RunConfig().with_changes(train={"epochs": 4, "device": "cpu"})
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=0)
    state = fit(model, data, cfg.train, torch.device("cpu"))
    monkeypatch.undo()
    return model, state


def test_a_playground_run_is_the_same_by_hand_as_through_autograd(monkeypatch):
    fast_model, fast = _fit(monkeypatch, fast=True)
    slow_model, slow = _fit(monkeypatch, fast=False)
    assert fast.status == slow.status == "finished"
    for a, b in zip(fast_model.parameters(), slow_model.parameters()):
        assert torch.equal(a, b)
    assert fast.metrics == slow.metrics
    assert fast.grad_norms == slow.grad_norms and set(fast.grad_norms) == {
        "hidden1", "hidden2", "hidden3", "output"
    }  # fmt: skip


def test_the_cpu_runs_share_the_process_threads(monkeypatch):
    monkeypatch.setattr(devices, "_budget", 4)
    board = admission.Admission(free=lambda d: None, budget=lambda d: None)
    monkeypatch.setenv("DLVIZ_RUNS_PER_DEVICE", "4")
    cpu = torch.device("cpu")
    seen: list[int | None] = []
    with board.admit(cpu, need=1, should_stop=lambda: False, emit=lambda e: None):
        seen.append(devices.thread_share())
        with board.admit(cpu, need=1, should_stop=lambda: False, emit=lambda e: None):
            seen.append(devices.thread_share())
            with board.admit(cpu, need=1, should_stop=lambda: False, emit=lambda e: None):
                seen.append(devices.thread_share())
            seen.append(devices.thread_share())
        seen.append(devices.thread_share())
    seen.append(devices.thread_share())
    assert seen == [4, 2, 1, 2, 4, None]


def test_a_run_follows_its_share_in_its_own_thread(monkeypatch):
    before = torch.get_num_threads()
    got: list[int] = []

    def run() -> None:
        devices.follow_thread_share()
        got.append(torch.get_num_threads())

    monkeypatch.setattr(devices, "_share", 1)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    torch.set_num_threads(before)
    assert got == [1]


def test_a_tiny_mlp_trains_on_one_thread_whatever_its_share(monkeypatch):
    from dlviz.train import Callback

    seen: list[int] = []

    class Threads(Callback):
        def on_epoch_end(self, state) -> None:
            seen.append(torch.get_num_threads())

    monkeypatch.setattr(devices, "_share", 2)
    cfg = RunConfig().with_changes(train={"epochs": 2, "device": "cpu"})
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=0)
    before = torch.get_num_threads()
    t = threading.Thread(
        target=fit, args=(model, data, cfg.train, torch.device("cpu"), [Threads()])
    )
    t.start()
    t.join()
    torch.set_num_threads(before)
    assert seen == [1, 1]


def test_a_run_gives_its_caller_back_the_thread_count_it_had():
    """Was: `fit` on the calling thread left torch on its run's one thread, so everything after
    it (a notebook's next cell, the next test) ran single-threaded, with other rounding."""
    cfg = RunConfig().with_changes(train={"epochs": 1, "device": "cpu"})
    data = load_dataset(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=0)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen: list[int] = []
        from dlviz.train import Callback

        class Threads(Callback):
            def on_epoch_end(self, state) -> None:
                seen.append(torch.get_num_threads())

        state = fit(model, data, cfg.train, torch.device("cpu"), [Threads()])
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert seen == [1] and after == 2
    assert state.summary()["torch_threads"] == [1]  # the run's summary says what it trained on


def test_the_hand_step_builds_no_graph_so_nothing_outlives_the_run():
    """Was: the hand step ran with gradients on, so each `.grad` carried a graph holding the
    weight itself, and every finished run's weights stayed in memory (docs/load.md, soak)."""
    model = build_model(ModelConfig(), (2,), 2, seed=0)
    update = mlp_update(model, LeanStep(make_optimizer(model, RunConfig().train)), "class")
    x, y = torch.randn(8, 2), torch.randint(0, 2, (8,))
    loss = update(x, y)
    assert loss.grad_fn is None
    assert all(p.grad is not None and p.grad.grad_fn is None for p in model.parameters())
