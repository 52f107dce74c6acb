"""The generative models (dlviz.models.generative), checked against hand computations, closed
forms, torch.distributions and sampling statistics, then trained briefly on 8 Gaussians."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from dlviz.models.generative import (
    GAN,
    LOSSES,
    VAE,
    Diffusion,
    Flow,
    Generative,
    beta_schedule,
    d_loss,
    flow_interpolate,
    flow_target,
    g_loss,
    gaussian_kl,
    gradient_penalty,
)

REAL = [2.0, -1.0]
FAKE = [0.5, -3.0]


def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def mean(vs: list[float]) -> float:
    return sum(vs) / len(vs)


# Each loss written out from its paper's formula, on REAL and FAKE.
HAND_D = {
    "minimax": -mean([math.log(sig(r)) for r in REAL]) - mean([math.log(1 - sig(f)) for f in FAKE]),
    "lsq": 0.5 * mean([(r - 1) ** 2 for r in REAL]) + 0.5 * mean([f**2 for f in FAKE]),
    "wgan_gp": mean(FAKE) - mean(REAL),
    "hinge": mean([max(0.0, 1 - r) for r in REAL]) + mean([max(0.0, 1 + f) for f in FAKE]),
}
HAND_D["nonsaturating"] = HAND_D["minimax"]
HAND_G = {
    "minimax": mean([math.log(1 - sig(f)) for f in FAKE]),
    "nonsaturating": -mean([math.log(sig(f)) for f in FAKE]),
    "lsq": 0.5 * mean([(f - 1) ** 2 for f in FAKE]),
    "wgan_gp": -mean(FAKE),
    "hinge": -mean(FAKE),
}


def families(dim: int = 2) -> dict[str, Generative]:
    torch.manual_seed(0)
    small = (16, 16)
    return {
        "gan": GAN(dim, latent=2, hidden_g=small, hidden_d=small),
        "wgan": GAN(dim, latent=2, hidden_g=small, hidden_d=small, loss="wgan_gp", d_steps=2),
        "vae": VAE(dim, latent=2, hidden=small),
        "diffusion": Diffusion(dim, hidden=small, steps=20),
        "flow": Flow(dim, hidden=small, steps=10),
    }


KEYS = {
    "gan": {"loss_d", "loss_g"},
    "wgan": {"loss_d", "loss_g", "gp"},
    "vae": {"loss", "recon", "kl"},
    "diffusion": {"loss"},
    "flow": {"loss"},
}


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def ring(n: int, g: torch.Generator) -> torch.Tensor:
    """8 Gaussians (std 0.05) evenly spaced on the circle of radius 2."""
    angle = torch.randint(0, 8, (n,), generator=g).float() * (2 * math.pi / 8)
    centers = 2 * torch.stack([angle.cos(), angle.sin()], dim=1)
    return centers + 0.05 * torch.randn(n, 2, generator=g)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models train fastest, and the same way every time, on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------------- GAN losses


@pytest.mark.parametrize("kind", LOSSES)
def test_gan_losses_match_the_hand_computation(kind):
    r, f = torch.tensor(REAL), torch.tensor(FAKE)
    assert d_loss(kind, r, f).item() == pytest.approx(HAND_D[kind], rel=1e-6)
    assert g_loss(kind, f).item() == pytest.approx(HAND_G[kind], rel=1e-6)


@pytest.mark.parametrize("kind", ["minimax", "nonsaturating"])
def test_gan_log_losses_stay_finite_on_confident_logits(kind):
    big = torch.tensor([200.0, -200.0])
    assert torch.isfinite(d_loss(kind, big, big)) and torch.isfinite(g_loss(kind, big))


def test_unknown_gan_loss_is_refused():
    with pytest.raises(ValueError, match="hinge"):
        d_loss("nope", torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError, match="unknown GAN loss"):
        GAN(2, loss="nope")


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    critic = nn.Linear(2, 1, bias=True)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))  # ||w|| = 5 at every x
    real, fake = torch.randn(7, 2), torch.randn(7, 2)
    gp = gradient_penalty(critic, real, fake, seeded())
    assert gp.item() == pytest.approx((5 - 1) ** 2, rel=1e-5)
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: the penalty trains the critic
    gp.backward()
    w = torch.tensor([[3.0, 4.0]])
    assert torch.allclose(critic.weight.grad, 2 * (5 - 1) * w / 5, atol=1e-5)


def test_gradient_penalty_evaluates_at_the_interpolates():
    # D(x) = ||x||^2 / 2 has gradient x, so the penalty is E[(||x^|| - 1)^2] at
    # x^ = a real + (1 - a) fake, a ~ U(0, 1) per sample from the same generator.
    real, fake = torch.randn(5, 3), torch.randn(5, 3)
    gp = gradient_penalty(lambda x: 0.5 * (x**2).sum(1), real, fake, seeded(3))
    a = torch.rand((5, 1), generator=seeded(3))
    x_hat = a * real + (1 - a) * fake
    assert gp.item() == pytest.approx(((x_hat.norm(dim=1) - 1) ** 2).mean().item(), rel=1e-5)


def test_gan_helpers_shapes():
    gan = GAN(2, latent=3)
    grid = gan.latent_grid(5)
    assert grid.shape == (25, 3) and (grid[:, 2] == 0).all()
    assert grid[0, :2].tolist() == [-2.0, -2.0] and grid[-1, :2].tolist() == [2.0, 2.0]
    assert gan.generate(grid).shape == (25, 2)
    assert gan.discriminate(torch.zeros(4, 2)).shape == (4,)
    assert gan.main_loss() == "loss_g"


# ---------------------------------------------------------------------------- conditional GAN


def first_layer_inputs(net: nn.Sequential) -> tuple[list[torch.Tensor], object]:
    """What each call of `net`'s first layer receives, and the hook's handle (remove it)."""
    seen: list[torch.Tensor] = []
    handle = net[0].register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    return seen, handle


def test_a_conditional_generator_draws_the_class_it_is_given():
    torch.manual_seed(0)
    gan = GAN(64, latent=4, hidden_g=(16,), hidden_d=(16,), output="sigmoid", n_classes=3)
    assert gan.conditional and gan.net_g[0].in_features == 4 + 3
    z = torch.randn(1, 4).repeat(3, 1)  # the same noise for each class
    with torch.no_grad():
        out = gan.generate(z, torch.tensor([0, 1, 2]))
        # by hand: the class is a one-hot after z, so class c adds the first layer's column 4 + c
        w, b = gan.net_g[0].weight, gan.net_g[0].bias
        hidden = torch.relu(z @ w[:, :4].T + b + w[:, 4:].T)  # row c: one-hot c
        expected = torch.sigmoid(gan.net_g[1:](hidden))
    torch.testing.assert_close(out, expected)
    assert (out[0] - out[1]).abs().max() > 1e-3 and (out[1] - out[2]).abs().max() > 1e-3
    with pytest.raises(ValueError, match="needs each sample's class"):
        gan.generate(z)
    plain = GAN(64, latent=4, hidden_g=(16,), hidden_d=(16,), output="sigmoid")
    assert not plain.conditional and plain.net_g[0].in_features == 4  # no class input
    assert plain.net_d[0].in_features == 64
    with pytest.raises(ValueError, match="takes no class"):
        plain.generate(z, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="at least 2 classes"):
        GAN(64, n_classes=1)


def test_the_conditional_discriminator_reads_the_class_beside_the_image():
    torch.manual_seed(0)
    gan = GAN(64, latent=4, hidden_g=(16,), hidden_d=(16,), output="sigmoid", n_classes=5)
    assert gan.net_d[0].in_features == 64 + 5
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([4, 0, 2, 2])
    seen, handle = first_layer_inputs(gan.net_d)
    try:
        with torch.no_grad():
            a, b = gan.discriminate(x, y), gan.discriminate(x, (y + 1) % 5)
    finally:
        handle.remove()
    assert torch.equal(seen[0][:, :64], x.flatten(1))
    assert torch.equal(seen[0][:, 64:], torch.eye(5)[y])
    assert a.shape == (4,) and (a - b).abs().min() > 0  # the verdict depends on the class


@pytest.mark.parametrize("kind", LOSSES)
def test_a_conditional_gan_step_trains_on_the_batchs_labels_under_every_loss(kind):
    torch.manual_seed(0)
    k, B, latent = 4, 6, 3
    gan = GAN(64, latent=latent, hidden_g=(16,), hidden_d=(16,), loss=kind, n_classes=k,
              output="sigmoid")  # fmt: skip
    x, y = torch.rand(B, 64, generator=seeded(1)), torch.tensor([0, 1, 2, 3, 3, 1])
    before = [p.detach().clone() for p in gan.parameters()]
    opts = gan.make_optimizers("adam", 1e-2, 1e-2, 0.0)
    seen, handle = first_layer_inputs(gan.net_d)
    try:
        out = gan.train_step(x, opts, seeded(5), y=y)
    finally:
        handle.remove()
    assert set(out) == ({"loss_d", "loss_g", "gp"} if kind == "wgan_gp" else {"loss_d", "loss_g"})
    assert all(torch.isfinite(v) for v in out.values())
    n_g = len(list(gan.net_g.parameters()))
    changed = [not torch.equal(a, b) for a, b in zip(before, gan.parameters(), strict=True)]
    assert any(changed[:n_g]) and any(changed[n_g:])  # both networks learned
    # D judged the real batch, then fakes, both with the batch's own classes ...
    onehot = torch.eye(k)[y]
    assert torch.equal(seen[0][:, :64], x) and torch.equal(seen[0][:, 64:], onehot)
    assert torch.equal(seen[1][:, 64:], onehot)
    # ... and the generator's update asked for classes drawn uniformly after its latents: in
    # the order the step draws (z of D's step, the penalty's a for wgan_gp, z of G's step, y)
    gen = seeded(5)
    torch.randn(B, latent, generator=gen)
    if kind == "wgan_gp":
        torch.rand(B, 1, generator=gen)
    torch.randn(B, latent, generator=gen)
    drawn = torch.randint(0, k, (B,), generator=gen)
    assert torch.equal(seen[-1][:, 64:], torch.eye(k)[drawn])
    with pytest.raises(ValueError, match="labelled data"):
        gan.train_step(x, opts, seeded(5))


def test_the_conditional_gradient_penalty_is_the_critics_at_the_real_classes():
    torch.manual_seed(0)
    k, B, latent = 3, 5, 2
    gan = GAN(16, latent=latent, hidden_g=(8,), hidden_d=(8,), loss="wgan_gp", n_classes=k)
    x, y = torch.randn(B, 16, generator=seeded(1)), torch.tensor([2, 0, 1, 1, 0])
    # by hand, before the step changes anything: the penalty's draws follow D's latents
    gen = seeded(7)
    z = torch.randn(B, latent, generator=gen)
    a = torch.rand(B, 1, generator=gen)
    with torch.no_grad():
        fake = gan.generate(z, y)
    x_hat = (a * x + (1 - a) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(gan.discriminate(x_hat, y).sum(), x_hat)
    expected = ((grad.norm(dim=1) - 1) ** 2).mean()
    out = gan.train_step(x, gan.make_optimizers("sgd", 0.01, 0.01, 0.0), seeded(7), y=y)
    assert out["gp"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_a_conditional_gans_samples_draw_classes_uniformly_after_their_latents():
    gan = GAN(16, latent=2, hidden_g=(8,), hidden_d=(8,), n_classes=4)
    gen = seeded(3)
    z = torch.randn(200, 2, generator=gen)
    y = torch.randint(0, 4, (200,), generator=gen)
    with torch.no_grad():
        expected = gan.generate(z, y)
    torch.testing.assert_close(gan.sample(200, seeded(3)), expected)
    assert torch.bincount(y, minlength=4).min() > 30  # every class drawn


# ---------------------------------------------------------------------------- diffusion


def test_linear_schedule_is_ddpms_rescaled_and_ends_in_noise():
    betas = beta_schedule("linear", 100)
    assert betas[0].item() == pytest.approx(1e-3) and betas[-1].item() == pytest.approx(0.2)
    alpha_bar = Diffusion(2, steps=100).alpha_bar
    assert (alpha_bar[1:] < alpha_bar[:-1]).all()
    # prod(1 - beta) over 100 steps from 0.001 to 0.2: about 4e-5, pure noise at T
    assert alpha_bar[-1].item() < 1e-4
    # the original: 1000 steps from 1e-4 to 0.02, alpha_bar_T about 4e-5 too
    assert torch.cumprod(1 - beta_schedule("linear", 1000), 0)[-1].item() < 1e-4


def test_cosine_schedule_follows_its_formula():
    T, s = 50, 0.008

    def f(t: int) -> float:
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    alpha_bar = Diffusion(2, steps=T, schedule="cosine").alpha_bar
    for i in (0, 10, 25, 40, T - 2):  # index i is the paper's t = i + 1
        assert alpha_bar[i].item() == pytest.approx(f(i + 1) / f(0), rel=1e-5)
    assert beta_schedule("cosine", T)[-1].item() == pytest.approx(0.999)  # clipped at T


def test_q_sample_has_ddpms_mean_and_variance():
    diffusion = Diffusion(2, steps=100)
    n = 200_000
    x0 = torch.tensor([1.5, -0.5]).expand(n, 2)
    eps = torch.randn(n, 2, generator=seeded())
    for t in (0, 10, 50, 99):
        ab = diffusion.alpha_bar[t].item()
        xt = diffusion.q_sample(x0, torch.full((n,), t), eps)
        assert torch.allclose(xt.mean(0), math.sqrt(ab) * x0[0], atol=0.01)
        assert torch.allclose(xt.var(0), torch.full((2,), 1 - ab), rtol=0.02, atol=1e-4)


def test_diffusion_loss_is_the_noise_mse_on_the_generators_draws():
    diffusion = families()["diffusion"]
    x0 = torch.randn(6, 2)
    g = seeded(4)
    t = torch.randint(0, diffusion.steps, (6,), generator=g)
    eps = torch.randn(6, 2, generator=g)
    with torch.no_grad():
        expected = ((diffusion.noise_model(diffusion.q_sample(x0, t, eps), t) - eps) ** 2).mean()
    (opt,) = diffusion.make_optimizers("sgd", 0.1, 0.0, 0.0)
    out = diffusion.train_step(x0, [opt], seeded(4))
    assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-6)


# ---------------------------------------------------------------------------- VAE


def test_vae_kl_matches_the_closed_form_and_torch_distributions():
    mu = torch.tensor([[0.5, -1.0], [0.0, 2.0]])
    logvar = torch.tensor([[0.2, -0.3], [0.0, 1.0]])
    hand = [
        0.5 * sum(math.exp(lv) + m**2 - 1 - lv for m, lv in zip(ms, lvs, strict=True))
        for ms, lvs in zip(mu.tolist(), logvar.tolist(), strict=True)
    ]
    assert gaussian_kl(mu, logvar).tolist() == pytest.approx(hand, rel=1e-6)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    reference = torch.distributions.kl_divergence(q, p).sum(1)
    assert torch.allclose(gaussian_kl(mu, logvar), reference, atol=1e-6)


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
def test_vae_terms_by_hand(output):
    torch.manual_seed(0)
    vae = VAE(3, latent=2, hidden=(8,), beta=0.5, output=output)
    x = torch.rand(4, 3)
    eps = torch.randn(4, 2)
    with torch.no_grad():
        terms = vae.loss_terms(x, eps)
        mu, logvar = vae.encode(x)
        x_hat = vae.decode(mu + (0.5 * logvar).exp() * eps).tolist()
    recon = 0.0
    for row, row_hat in zip(x.tolist(), x_hat, strict=True):
        for v, p in zip(row, row_hat, strict=True):
            if output == "linear":
                recon += (v - p) ** 2
            else:
                recon -= v * math.log(p) + (1 - v) * math.log(1 - p)
    recon /= 4
    kl = gaussian_kl(mu, logvar).mean().item()
    assert terms["recon"].item() == pytest.approx(recon, rel=1e-5)
    assert terms["kl"].item() == pytest.approx(kl, rel=1e-6)
    assert terms["loss"].item() == pytest.approx(recon + 0.5 * kl, rel=1e-5)


# ---------------------------------------------------------------------------- flow


def test_flow_path_and_target_by_hand():
    x0, x1 = torch.tensor([[1.0, -2.0]]), torch.tensor([[3.0, 0.5]])
    t = torch.tensor([[0.25]])
    assert flow_interpolate(x0, x1, t).tolist() == [[1.5, -1.375]]  # 0.75 x0 + 0.25 x1
    assert flow_target(x0, x1).tolist() == [[2.0, 2.5]]


def test_euler_on_the_exact_velocity_lands_on_the_data():
    flow = Flow(2, steps=7)
    x0, x1 = torch.tensor([[1.0, -2.0]]), torch.tensor([[3.0, 0.5]])
    flow.velocity = lambda x, t: x1 - x0  # type: ignore[method-assign]
    end, kept = flow.integrate(x0, keep=[0, 7])
    assert torch.allclose(end, x1) and torch.equal(kept[0], x0) and torch.equal(kept[1], end)
    # v = 2 t c integrates to c; Euler's left sums on the grid k / N give (1 - 1 / N) c
    c = torch.tensor([[1.0, 2.0]])
    flow.velocity = lambda x, t: 2 * t[:, None] * c  # type: ignore[method-assign]
    end, _ = flow.integrate(torch.zeros(1, 2))
    assert torch.allclose(end, (1 - 1 / 7) * c)


def test_flow_loss_is_the_velocity_mse_on_the_generators_draws():
    flow = families()["flow"]
    x1 = torch.randn(6, 2)
    g = seeded(5)
    x0 = torch.randn(6, 2, generator=g)
    t = torch.rand(6, 1, generator=g)
    with torch.no_grad():
        pred = flow.velocity((1 - t) * x0 + t * x1, t.squeeze(1))
        expected = ((pred - (x1 - x0)) ** 2).mean()
    (opt,) = flow.make_optimizers("sgd", 0.1, 0.0, 0.0)
    assert flow.train_step(x1, [opt], seeded(5))["loss"].item() == pytest.approx(expected.item())


# ---------------------------------------------------------------------------- the interface


@pytest.mark.parametrize("name", list(KEYS))
def test_train_step_is_reproducible_detached_and_updates(name):
    x = torch.randn(8, 2, generator=seeded(1))
    runs = []
    for _ in range(2):
        model = families()[name]
        before = [p.detach().clone() for p in model.parameters()]
        opts = model.make_optimizers("adam", 1e-2, 1e-2, 0.0)
        outs = [model.train_step(x, opts, seeded(2)) for _ in range(2)]
        runs.append((model, before, outs))
    (m1, before, outs1), (m2, _, outs2) = runs
    assert set(outs1[0]) == KEYS[name] and m1.main_loss() in outs1[0]
    for o1, o2 in zip(outs1, outs2, strict=True):
        for k, v in o1.items():
            assert v.dim() == 0 and not v.requires_grad and torch.equal(v, o2[k])
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p1, p2)
    if isinstance(m1, GAN):  # both networks learn
        n_g = len(list(m1.net_g.parameters()))
        changed = [not torch.equal(a, b) for a, b in zip(before, m1.parameters(), strict=True)]
        assert any(changed[:n_g]) and any(changed[n_g:])
    else:
        assert any(not torch.equal(a, b) for a, b in zip(before, m1.parameters(), strict=True))
    s1, s2 = m1.sample(5, seeded(9)), m2.sample(5, seeded(9))
    assert s1.shape == (5, 2) and torch.equal(s1, s2)
    assert m1.training  # sample() went to eval mode and came back


@pytest.mark.parametrize("d_steps", [1, 3])
def test_gan_takes_d_steps_discriminator_updates_per_generator_update(d_steps):
    gan = GAN(2, hidden_g=(8,), hidden_d=(8,), d_steps=d_steps)
    opt_g, opt_d = gan.make_optimizers("sgd", 0.1, 0.1, 0.0)
    counts = {"g": 0, "d": 0}
    opt_g.register_step_post_hook(lambda *_: counts.__setitem__("g", counts["g"] + 1))
    opt_d.register_step_post_hook(lambda *_: counts.__setitem__("d", counts["d"] + 1))
    for _ in range(2):
        gan.train_step(torch.randn(4, 2), [opt_g, opt_d], seeded())
    assert counts == {"g": 2, "d": 2 * d_steps}
    # D's gradient is its own loss's: the generator's update left it alone
    assert all(p.grad is not None and p.requires_grad for p in gan.net_d.parameters())


def test_optimizers_follow_the_kind():
    gan = GAN(2)
    opt_g, opt_d = gan.make_optimizers("adam", 1e-3, 4e-3, 0.0)
    assert opt_g.param_groups[0]["betas"] == (0.5, 0.999)
    assert (opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"]) == (1e-3, 4e-3)
    assert {id(p) for p in opt_d.param_groups[0]["params"]} == {
        id(p) for p in gan.net_d.parameters()
    }
    (opt,) = Flow(2).make_optimizers("adamw", 1e-3, 1.0, 0.01)
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["betas"] == (0.9, 0.999)
    assert opt.param_groups[0]["weight_decay"] == 0.01
    (opt,) = VAE(2).make_optimizers("momentum", 0.1, 1.0, 0.0)
    assert opt.param_groups[0]["momentum"] == 0.9
    with pytest.raises(ValueError, match="adamw"):
        VAE(2).make_optimizers("rmsprop", 0.1, 1.0, 0.0)


@pytest.mark.parametrize("name", ["diffusion", "flow"])
def test_path_runs_from_the_noise_to_the_samples(name):
    model = families()[name]
    assert isinstance(model, Diffusion | Flow)
    path = model.path(6, seeded(7), keep=4)
    assert path.shape == (4, 6, 2)
    assert torch.equal(path[0], torch.randn(6, 2, generator=seeded(7)))
    assert torch.equal(path[-1], model.sample(6, seeded(7)))


def test_image_outputs_lie_in_the_unit_interval():
    for model in (GAN(64, latent=8, output="sigmoid"), VAE(64, latent=8, output="sigmoid")):
        s = model.sample(10, seeded())
        assert s.shape == (10, 64) and s.min() >= 0 and s.max() <= 1
    x = torch.rand(4, 1, 8, 8)  # images are flattened
    for model in (VAE(64, output="sigmoid"), GAN(64, output="sigmoid"), Diffusion(64)):
        opts = model.make_optimizers("adam", 1e-3, 1e-3, 0.0)
        assert all(torch.isfinite(v) for v in model.train_step(x, opts, seeded()).values())


# ---------------------------------------------------------------------------- on 8 Gaussians


@pytest.mark.parametrize(
    ("name", "steps", "lr"),
    [("gan", 1500, 1e-3), ("diffusion", 2000, 2e-3), ("flow", 1000, 2e-3)],
)
def test_training_on_the_ring_puts_samples_on_it(one_thread, name, steps, lr):
    torch.manual_seed(0)
    model: Generative = {
        "gan": lambda: GAN(2, latent=2, hidden_g=(64, 64), hidden_d=(64, 64)),
        "diffusion": lambda: Diffusion(2, hidden=(64, 64), steps=100),
        "flow": lambda: Flow(2, hidden=(64, 64), steps=50),
    }[name]()
    opts = model.make_optimizers("adam", lr, lr, 0.0)
    data, noise = seeded(1), seeded(2)
    for _ in range(steps):
        model.train_step(ring(128, data), opts, noise)
    samples = model.sample(1000, seeded(3))
    assert (samples.norm(dim=1) - 2).abs().mean().item() < 0.3


def test_the_discriminator_may_have_its_own_optimizer():
    gan = GAN(2, latent=2, hidden_g=(8,), hidden_d=(8,), loss="nonsaturating")
    opt_g, opt_d = gan.make_optimizers("adam", 1e-3, 4e-3, 0.0, kind_d="sgd")
    assert isinstance(opt_g, torch.optim.Adam) and isinstance(opt_d, torch.optim.SGD)
    assert opt_d.param_groups[0]["lr"] == 4e-3
    _, same = gan.make_optimizers("adam", 1e-3, 1e-3, 0.0)
    assert isinstance(same, torch.optim.Adam)


def test_discriminator_settings_are_refused_where_there_is_no_discriminator():
    from dlviz.config import ConfigError, RunConfig

    cfg = RunConfig.from_dict({"model": {"arch": "gan"}, "train": {"optimizer_d": "sgd"}})
    assert cfg.train.optimizer_d == "sgd"
    for train in ({"optimizer_d": "sgd"}, {"lr_d": 0.01}):
        name = next(iter(train))
        with pytest.raises(ConfigError, match=f"train.{name}: is a GAN's discriminator's"):
            RunConfig.from_dict({"model": {"arch": "vae"}, "train": train})
    with pytest.raises(ConfigError, match="train.optimizer_d: must be one of"):
        RunConfig.from_dict({"model": {"arch": "gan"}, "train": {"optimizer_d": "rmsprop"}})
