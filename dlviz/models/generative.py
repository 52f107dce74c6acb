"""Generative models on flattened data: a GAN, a VAE, a diffusion model (DDPM) and a flow
(flow matching). All four are MLPs and share one interface, `Generative`, that the training loop
drives: `make_optimizers`, `train_step`, `sample`, `main_loss`.

Every random number a model draws (latents, noise, time steps) comes from the CPU
`torch.Generator` it is given and is then moved to the model's device, so a seeded run draws the
same numbers on any device. `train_step` returns detached scalar tensors and never calls
`.item()`: the loop decides when to synchronise with the device.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from dlviz.config import ModelConfig
from dlviz.models.layers import ACTIVATIONS
from dlviz.models.registry import register_model

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
LOSSES = ("minimax", "nonsaturating", "lsq", "wgan_gp", "hinge")
OUTPUTS = ("linear", "sigmoid")  # points in R^d | images in [0, 1]
SCHEDULES = ("linear", "cosine")
TIME_EMBEDDING = 32  # width of the sinusoidal time embedding of Diffusion and Flow


# ---------------------------------------------------------------------------- shared parts


def _mlp(d_in: int, hidden: tuple[int, ...], d_out: int, activation: str) -> nn.Sequential:
    """linear -> activation for each hidden width, then a linear output layer."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(d_in, width), ACTIVATIONS[activation]()]
        d_in = width
    layers.append(nn.Linear(d_in, d_out))
    return nn.Sequential(*layers)


def _check(name: str, value: str, known: tuple[str, ...]) -> None:
    if value not in known:
        raise ValueError(f"unknown {name} {value!r}; known: {', '.join(known)}")


def randn(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str
) -> torch.Tensor:
    """Standard normal numbers drawn on the CPU from `generator`, then moved to `device`."""
    return torch.randn(shape, generator=generator).to(device)


def rand(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str
) -> torch.Tensor:
    """U(0, 1) numbers drawn on the CPU from `generator`, then moved to `device`."""
    return torch.rand(shape, generator=generator).to(device)


def make_optimizer(
    kind: str,
    params: Iterable[nn.Parameter],
    lr: float,
    weight_decay: float,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.Optimizer:
    """sgd | momentum (SGD, momentum 0.9) | adam (`betas`) | adamw (`betas`), torch's foreach
    implementation. (Not the fused kernel the supervised runs use: it rounds differently in the
    last bits, a GAN amplifies that, and on the ring's defaults the GAN with seed 0 covered 6
    modes instead of 8. `train.fit` calls the update directly: `fast_step.LeanOptimizer`.)"""
    _check("optimizer", kind, OPTIMIZERS)
    params = list(params)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, foreach=True)
    if kind == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay, foreach=True)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, foreach=True)
    return torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay, foreach=True)


class Updater(Protocol):
    """What a `train_step` needs of an optimizer: a `torch.optim.Optimizer`, or
    `fast_step.LeanOptimizer` around one (which `train.fit` passes)."""

    def zero_grad(self, set_to_none: bool = True) -> None: ...

    def step(self) -> Any: ...


def time_embedding(t: torch.Tensor, width: int = TIME_EMBEDDING) -> torch.Tensor:
    """(B,) times -> (B, width): [sin(t f_i), cos(t f_i)], f_i = 10000^(-i / (width/2)), as in
    the Transformer's positions and DDPM's time steps."""
    half = width // 2
    freqs = torch.exp(
        -math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half
    )
    args = t.float()[:, None] * freqs[None, :]  # (B, half)
    return torch.cat([args.sin(), args.cos()], dim=1)


def _snapshot_steps(total: int, keep: int) -> list[int]:
    """`keep` indices, evenly spaced over 0..total, the first and the last included (fewer when
    keep > total + 1: no state twice)."""
    if keep < 2:
        raise ValueError(f"keep must be at least 2 (the start and the end), not {keep}")
    return sorted({round(i * total / (keep - 1)) for i in range(keep)})


class Generative(nn.Module, ABC):
    """What the training loop sees of a generative model.

    `dim` is the data's dimension (2 for points, 64 for 8x8 digits); data arrive as (B, ...) and
    are flattened to (B, dim).
    """

    dim: int

    def make_optimizers(
        self, kind: str, lr: float, lr_d: float, weight_decay: float, kind_d: str = ""
    ) -> list[torch.optim.Optimizer]:
        """One optimizer over every parameter (a GAN has two: `kind_d` and `lr_d` are its
        discriminator's)."""
        return [make_optimizer(kind, self.parameters(), lr, weight_decay)]

    @abstractmethod
    def train_step(
        self,
        x: torch.Tensor,
        optimizers: Sequence[Updater],
        generator: torch.Generator | None,
        y: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """One update on the batch `x` (with its classes `y`, which only a conditional model
        reads); returns detached scalar tensors (no host sync)."""

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, dim) samples, drawn in eval mode (the previous mode is restored)."""
        with self._evaluating():
            return self._sample(n, generator)

    @abstractmethod
    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor: ...

    def main_loss(self) -> str:
        """The key of train_step's dict that stands for "the loss"."""
        return "loss"

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        """Every linear layer, input to output, by its dotted module name."""
        return [(name, m) for name, m in self.named_modules() if isinstance(m, nn.Linear)]

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @contextmanager
    def _evaluating(self) -> Iterator[None]:
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)


# ---------------------------------------------------------------------------- GAN


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's (critic's) loss to minimise, averaged over the batch.

    minimax, nonsaturating: -[log D(x) + log(1 - D(G(z)))], D = sigmoid(logit)
    lsq (LSGAN):            1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2 on raw outputs
    wgan_gp:                D(G(z)) - D(x) (the gradient penalty is added by the caller)
    hinge:                  relu(1 - D(x)) + relu(1 + D(G(z)))
    """
    _check("GAN loss", kind, LOSSES)
    r, f = real_logits, fake_logits
    if kind in ("minimax", "nonsaturating"):
        # -log sigmoid(r) = softplus(-r); -log(1 - sigmoid(f)) = softplus(f)
        return F.softplus(-r).mean() + F.softplus(f).mean()
    if kind == "lsq":
        return 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean()
    if kind == "wgan_gp":
        return f.mean() - r.mean()
    return F.relu(1 - r).mean() + F.relu(1 + f).mean()


def g_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's loss to minimise, averaged over the batch.

    minimax:       log(1 - D(G(z)))   (saturates when D wins: the original objective)
    nonsaturating: -log D(G(z))
    lsq:           1/2 (D(G(z)) - 1)^2
    wgan_gp, hinge: -D(G(z))
    """
    _check("GAN loss", kind, LOSSES)
    f = fake_logits
    if kind == "minimax":
        return -F.softplus(f).mean()  # log(1 - sigmoid(f)) = -softplus(f)
    if kind == "nonsaturating":
        return F.softplus(-f).mean()
    if kind == "lsq":
        return 0.5 * ((f - 1) ** 2).mean()
    return -f.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017): E[(||grad D(x^)||_2 - 1)^2] at
    x^ = a x + (1 - a) G(z), a ~ U(0, 1) per sample; differentiable for the critic's update."""
    a = rand((real.shape[0],) + (1,) * (real.dim() - 1), generator, real.device)
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norm = torch.sqrt(grad.flatten(1).pow(2).sum(1) + 1e-12)  # eps: a finite gradient at 0
    return ((norm - 1) ** 2).mean()


class GAN(Generative):
    """A generative adversarial network (Goodfellow et al. 2014) of two MLPs.

    Settings: `latent` (the size of z ~ N(0, I)), `hidden_g` and `hidden_d` (the generator's and
    the discriminator's hidden widths), `loss` (one of LOSSES), `d_steps` (discriminator updates
    per generator update), `activation` (ACTIVATIONS), `gp_weight` (lambda of wgan_gp),
    `output` ("linear" for points, "sigmoid" for images in [0, 1]), `n_classes` (0: an
    unconditional GAN; k: a conditional one, Mirza & Osindero 2014, over k classes).

    A conditional GAN's generator reads [z, one_hot(y)] and its discriminator [x, one_hot(y)].
    The class goes in at the discriminator's input, not by projection (Miyato & Koyama 2018,
    an inner product of a class embedding with the last features): in a small MLP a one-hot
    at the input is a learned per-class bias of the first layer, so every layer can weigh the
    pixels against the class, where a projection would judge the class only by the last
    layer's features; it is also the form that reads the same in the generator and the
    discriminator.

    `make_optimizers` returns [generator's, discriminator's]; Adam uses betas (0.5, 0.999), as
    DCGAN does. `train_step` returns "loss_d" (what the last discriminator update minimised,
    lambda * gp included), "loss_g" and, for wgan_gp, "gp" (the penalty before lambda).
    """

    def __init__(
        self,
        dim: int,
        latent: int = 2,
        hidden_g: tuple[int, ...] = (64, 64),
        hidden_d: tuple[int, ...] = (64, 64),
        loss: str = "nonsaturating",
        d_steps: int = 1,
        activation: str = "relu",
        gp_weight: float = 10.0,
        output: str = "linear",
        n_classes: int = 0,
    ):
        super().__init__()
        _check("GAN loss", loss, LOSSES)
        _check("output", output, OUTPUTS)
        if d_steps < 1:
            raise ValueError(f"d_steps must be at least 1, not {d_steps}")
        if n_classes < 0 or n_classes == 1:
            raise ValueError(f"a conditional GAN needs at least 2 classes, not {n_classes}")
        self.dim, self.latent, self.loss, self.d_steps = dim, latent, loss, d_steps
        self.gp_weight, self.output, self.n_classes = gp_weight, output, n_classes
        self.net_g = _mlp(latent + n_classes, tuple(hidden_g), dim, activation)
        self.net_d = _mlp(dim + n_classes, tuple(hidden_d), 1, activation)

    @property
    def conditional(self) -> bool:
        return self.n_classes > 0

    def _with_class(self, v: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """(B, k) -> (B, k + n_classes): v and y's one-hot, for a conditional GAN; v itself
        for an unconditional one (which takes no class)."""
        if not self.conditional:
            if y is not None:
                raise ValueError("this GAN is not conditional: it takes no class")
            return v
        if y is None:
            raise ValueError(
                f"a conditional GAN needs each sample's class (0 to {self.n_classes - 1})"
            )
        return torch.cat([v, F.one_hot(y.long(), self.n_classes).to(v.dtype)], dim=1)

    def generate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """(B, latent) and, when conditional, (B,) classes -> (B, dim)."""
        out = self.net_g(self._with_class(z, y))
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def discriminate(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """(B, ...) and, when conditional, (B,) classes -> (B,) raw outputs."""
        return self.net_d(self._with_class(x.flatten(1), y)).squeeze(1)

    def random_classes(self, n: int, generator: torch.Generator | None) -> torch.Tensor | None:
        """(n,) classes drawn uniformly (None for an unconditional GAN)."""
        if not self.conditional:
            return None
        return torch.randint(0, self.n_classes, (n,), generator=generator).to(self.device)

    def latent_grid(self, k: int, extent: float = 2.0) -> torch.Tensor:
        """(k * k, latent): a k x k grid over [-extent, extent]^2 in z's first two dimensions
        (the rest 0), row by row; generate() of it draws how the generator warps the plane."""
        axis = torch.linspace(-extent, extent, k, device=self.device)
        zy, zx = torch.meshgrid(axis, axis, indexing="ij")
        z = torch.zeros(k * k, self.latent, device=self.device)
        z[:, 0] = zx.reshape(-1)
        if self.latent > 1:
            z[:, 1] = zy.reshape(-1)
        return z

    def make_optimizers(
        self, kind: str, lr: float, lr_d: float, weight_decay: float, kind_d: str = ""
    ) -> list[torch.optim.Optimizer]:
        """The generator's optimizer and the discriminator's (`kind_d`, "" for the same kind,
        at `lr_d`); Adam's first beta at 0.5, as GANs usually train."""
        betas = (0.5, 0.999)
        return [
            make_optimizer(kind, self.net_g.parameters(), lr, weight_decay, betas),
            make_optimizer(kind_d or kind, self.net_d.parameters(), lr_d, weight_decay, betas),
        ]

    def train_step(
        self,
        x: torch.Tensor,
        optimizers: Sequence[Updater],
        generator: torch.Generator | None,
        y: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """One generator update after `d_steps` discriminator updates. A conditional GAN's
        discriminator sees the real batch with its classes `y` and fakes made for the same
        classes (so each interpolate of the gradient penalty lies between a real sample and
        a fake one of one class); the generator's update draws its classes uniformly."""
        opt_g, opt_d = optimizers
        real = x.flatten(1)
        B = real.shape[0]
        y_real = y.to(real.device) if self.conditional and y is not None else None
        if self.conditional and y_real is None:
            raise ValueError("a conditional GAN trains on labelled data: pass the batch's y")

        def critic(v: torch.Tensor) -> torch.Tensor:
            return self.discriminate(v, y_real)

        out: dict[str, torch.Tensor] = {}
        for _ in range(self.d_steps):  # the same real batch, fresh latents each time
            with torch.no_grad():
                fake = self.generate(randn((B, self.latent), generator, real.device), y_real)
            loss_d = d_loss(self.loss, critic(real), critic(fake))
            if self.loss == "wgan_gp":
                gp = gradient_penalty(critic, real, fake, generator)
                loss_d = loss_d + self.gp_weight * gp
                out["gp"] = gp.detach()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        out["loss_d"] = loss_d.detach()

        # The generator's update; D is frozen so that its .grad stays its own loss's gradient.
        self.net_d.requires_grad_(False)
        try:
            z = randn((B, self.latent), generator, real.device)
            y_fake = self.random_classes(B, generator)
            loss_g = g_loss(self.loss, self.discriminate(self.generate(z, y_fake), y_fake))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        finally:
            self.net_d.requires_grad_(True)
        out["loss_g"] = loss_g.detach()
        return out

    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """n samples; a conditional GAN's of classes drawn uniformly (after the latents)."""
        z = randn((n, self.latent), generator, self.device)
        return self.generate(z, self.random_classes(n, generator))

    def main_loss(self) -> str:
        return "loss_g"


# ---------------------------------------------------------------------------- VAE


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(B, latent) -> (B,): KL(N(mean, exp(logvar)) || N(0, I)), summed over the latent dims."""
    return -0.5 * (1 + logvar - mean**2 - logvar.exp()).sum(1)


def reconstruction(output: str, x: torch.Tensor, decoded_logits: torch.Tensor) -> torch.Tensor:
    """(B, dim) -> (B,): squared error summed over dims ("linear"), or binary cross-entropy of
    the decoder's logits against x in [0, 1] summed over dims ("sigmoid")."""
    _check("output", output, OUTPUTS)
    if output == "linear":
        return ((decoded_logits - x) ** 2).sum(1)
    return F.binary_cross_entropy_with_logits(decoded_logits, x, reduction="none").sum(1)


class VAE(Generative):
    """A variational autoencoder (Kingma & Welling 2014): a Gaussian encoder q(z|x) =
    N(mean, exp(logvar)), z by the reparameterisation mean + exp(logvar / 2) eps, a decoder.

    Settings: `latent` (z's size), `hidden` (the encoder's widths; the decoder's are reversed),
    `activation`, `beta` (the KL's weight: beta-VAE), `output` ("linear": squared error;
    "sigmoid": Bernoulli likelihood, for images in [0, 1]). loss = recon + beta * kl, each
    summed over dimensions and averaged over the batch.
    """

    def __init__(
        self,
        dim: int,
        latent: int = 2,
        hidden: tuple[int, ...] = (64, 64),
        activation: str = "relu",
        beta: float = 1.0,
        output: str = "linear",
    ):
        super().__init__()
        _check("output", output, OUTPUTS)
        self.dim, self.latent, self.beta, self.output = dim, latent, beta, output
        self.encoder = _mlp(dim, tuple(hidden), 2 * latent, activation)
        self.decoder = _mlp(latent, tuple(reversed(hidden)), dim, activation)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, ...) -> mean, logvar, each (B, latent)."""
        mean, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
        return mean, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # (B, latent) -> (B, dim), data space
        out = self.decoder(z)
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def loss_terms(self, x: torch.Tensor, eps: torch.Tensor) -> dict[str, torch.Tensor]:
        """loss, recon and kl (batch means) of the batch x with the reparameterisation noise
        eps (B, latent)."""
        x = x.flatten(1)
        mean, logvar = self.encode(x)
        z = mean + torch.exp(0.5 * logvar) * eps
        recon = reconstruction(self.output, x, self.decoder(z)).mean()
        kl = gaussian_kl(mean, logvar).mean()
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl}

    def train_step(
        self,
        x: torch.Tensor,
        optimizers: Sequence[Updater],
        generator: torch.Generator | None,
        y: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        (opt,) = optimizers
        terms = self.loss_terms(x, randn((x.shape[0], self.latent), generator, x.device))
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        return {k: v.detach() for k, v in terms.items()}

    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        return self.decode(randn((n, self.latent), generator, self.device))


# ---------------------------------------------------------------------------- diffusion


def beta_schedule(kind: str, steps: int) -> torch.Tensor:
    """(steps,) float64 noise variances beta_1..beta_T.

    linear: DDPM's 1e-4..0.02 over 1000 steps, rescaled to `steps` (times 1000 / steps) so the
    process ends as noisy; cosine (Nichol & Dhariwal 2021): alpha-bar(t) = f(t) / f(0),
    f(t) = cos((t / T + s) / (1 + s) * pi / 2)^2, s = 0.008. Both clipped to at most 0.999.
    """
    _check("schedule", kind, SCHEDULES)
    if kind == "linear":
        scale = 1000.0 / steps
        betas = torch.linspace(1e-4 * scale, 0.02 * scale, steps, dtype=torch.float64)
    else:
        s = 0.008
        t = torch.arange(steps + 1, dtype=torch.float64) / steps
        f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
        alpha_bar = f / f[0]
        betas = 1 - alpha_bar[1:] / alpha_bar[:-1]
    return betas.clamp(max=0.999)


class Diffusion(Generative):
    """A denoising diffusion probabilistic model (Ho et al. 2020).

    Forward: x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps; an MLP eps(x_t, t) on
    [x_t, a 32-d sinusoidal embedding of t] learns the noise (MSE). Sampling is ancestral, with
    sigma_t^2 = beta_t. Time steps are indexed 0..steps-1 (the paper's 1..T).

    Settings: `hidden`, `activation`, `steps` (T), `schedule` ("linear" | "cosine").
    Data are modelled as they come: scale images to about [-1, 1] first.
    """

    alphas: torch.Tensor
    alpha_bar: torch.Tensor
    betas: torch.Tensor

    def __init__(
        self,
        dim: int,
        hidden: tuple[int, ...] = (64, 64),
        activation: str = "relu",
        steps: int = 100,
        schedule: str = "linear",
    ):
        super().__init__()
        self.dim, self.steps, self.schedule = dim, steps, schedule
        betas = beta_schedule(schedule, steps)
        alphas = 1 - betas
        # computed in float64, kept in float32; not in the state dict (the settings rebuild them)
        self.register_buffer("betas", betas.float(), persistent=False)
        self.register_buffer("alphas", alphas.float(), persistent=False)
        self.register_buffer("alpha_bar", torch.cumprod(alphas, 0).float(), persistent=False)
        self.net = _mlp(dim + TIME_EMBEDDING, tuple(hidden), dim, activation)

    def noise_model(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """(B, dim), (B,) integer steps -> (B, dim) the predicted noise."""
        return self.net(torch.cat([x_t, time_embedding(t)], dim=1))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t given x_0 (B, dim), steps t (B,) and noise eps (B, dim)."""
        ab = self.alpha_bar[t][:, None]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * eps

    def train_step(
        self,
        x: torch.Tensor,
        optimizers: Sequence[Updater],
        generator: torch.Generator | None,
        y: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        (opt,) = optimizers
        x0 = x.flatten(1)
        B = x0.shape[0]
        t = torch.randint(0, self.steps, (B,), generator=generator).to(x0.device)
        eps = randn((B, self.dim), generator, x0.device)
        loss = F.mse_loss(self.noise_model(self.q_sample(x0, t, eps), t), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    def _reverse(
        self, n: int, generator: torch.Generator | None, keep: list[int]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Ancestral sampling from x_T ~ N(0, I); returns x_0 and the states after the reverse
        steps counted in `keep` (0 = the starting noise, steps = x_0)."""
        x = randn((n, self.dim), generator, self.device)  # x_T
        noise = randn((self.steps, n, self.dim), generator, self.device)  # z, one a step
        kept = [x] if 0 in keep else []
        for i, t in enumerate(range(self.steps - 1, -1, -1), start=1):
            tt = torch.full((n,), t, dtype=torch.long, device=self.device)
            eps = self.noise_model(x, tt)
            x = (x - self.betas[t] / (1 - self.alpha_bar[t]).sqrt() * eps) / self.alphas[t].sqrt()
            if t > 0:
                x = x + self.betas[t].sqrt() * noise[i - 1]
            if i in keep:
                kept.append(x)
        return x, kept

    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        return self._reverse(n, generator, [])[0]

    @torch.no_grad()
    def path(
        self, n: int, generator: torch.Generator | None = None, keep: int = 10
    ) -> torch.Tensor:
        """(keep, n, dim): snapshots from the noise (first) to the samples (last), evenly spaced
        over the reverse process, in eval mode."""
        with self._evaluating():
            return torch.stack(self._reverse(n, generator, _snapshot_steps(self.steps, keep))[1])


# ---------------------------------------------------------------------------- flow


def flow_interpolate(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) x0 + t x1: the straight path from noise x0 to data x1; t is (B, 1)."""
    return (1 - t) * x0 + t * x1


def flow_target(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """The velocity along the straight path, d x_t / dt = x1 - x0."""
    return x1 - x0


class Flow(Generative):
    """Flow matching with straight paths, i.e. rectified flow (Lipman et al. 2023; Liu et al.
    2023): an MLP v(x_t, t) on [x_t, a 32-d sinusoidal embedding of 1000 t] regresses x1 - x0
    (MSE) at x_t = (1 - t) x0 + t x1, x0 ~ N(0, I), x1 a data point, t ~ U(0, 1). Sampling
    integrates dx/dt = v from t = 0 to 1 with `steps` Euler steps.

    Settings: `hidden`, `activation`, `steps` (Euler steps when sampling).
    """

    def __init__(
        self,
        dim: int,
        hidden: tuple[int, ...] = (64, 64),
        activation: str = "relu",
        steps: int = 50,
    ):
        super().__init__()
        self.dim, self.steps = dim, steps
        self.net = _mlp(dim + TIME_EMBEDDING, tuple(hidden), dim, activation)

    def velocity(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """(B, dim), (B,) times in [0, 1] -> (B, dim)."""
        return self.net(torch.cat([x, time_embedding(1000.0 * t)], dim=1))

    def train_step(
        self,
        x: torch.Tensor,
        optimizers: Sequence[Updater],
        generator: torch.Generator | None,
        y: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        (opt,) = optimizers
        x1 = x.flatten(1)
        B = x1.shape[0]
        x0 = randn((B, self.dim), generator, x1.device)
        t = rand((B, 1), generator, x1.device)
        pred = self.velocity(flow_interpolate(x0, x1, t), t.squeeze(1))
        loss = F.mse_loss(pred, flow_target(x0, x1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    def integrate(
        self, x0: torch.Tensor, keep: list[int] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Euler from t = 0 at x0 (n, dim) to t = 1: x += v(x, k h) h, h = 1 / steps. Returns
        the end and the states after the steps counted in `keep` (0 = x0, steps = the end)."""
        keep = keep or []
        x, h = x0, 1.0 / self.steps
        kept = [x] if 0 in keep else []
        for k in range(self.steps):
            t = torch.full((x.shape[0],), k * h, device=x.device)
            x = x + self.velocity(x, t) * h
            if k + 1 in keep:
                kept.append(x)
        return x, kept

    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        return self.integrate(randn((n, self.dim), generator, self.device))[0]

    @torch.no_grad()
    def path(
        self, n: int, generator: torch.Generator | None = None, keep: int = 10
    ) -> torch.Tensor:
        """(keep, n, dim): snapshots from the noise (first) to the samples (last), evenly spaced
        over the Euler steps, in eval mode."""
        with self._evaluating():
            x0 = randn((n, self.dim), generator, self.device)
            return torch.stack(self.integrate(x0, _snapshot_steps(self.steps, keep))[1])


# --- the registry's builders: `model.arch` gan | vae | diffusion | flow ----------------------


def _dim(input_shape: tuple[int, ...]) -> int:
    dim = 1
    for side in input_shape:
        dim *= int(side)
    return dim


def _output(input_shape: tuple[int, ...]) -> str:
    """Images (C, H, W) are in [0, 1]: a sigmoid output; 2-D points: a linear one."""
    return "sigmoid" if len(input_shape) == 3 else "linear"


@register_model("gan")
def _build_gan(cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int, spec: Any = None):
    return GAN(
        _dim(input_shape),
        latent=cfg.latent,
        hidden_g=cfg.hidden,
        hidden_d=cfg.hidden_d or cfg.hidden,
        loss=cfg.loss,
        d_steps=cfg.d_steps,
        activation=cfg.activation,
        output=_output(input_shape),
        n_classes=n_outputs if cfg.conditional else 0,  # the config allows it on classes only
    )


@register_model("vae")
def _build_vae(cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int, spec: Any = None):
    return VAE(
        _dim(input_shape),
        latent=cfg.latent,
        hidden=cfg.hidden,
        activation=cfg.activation,
        beta=cfg.beta,
        output=_output(input_shape),
    )


@register_model("diffusion")
def _build_diffusion(
    cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int, spec: Any = None
):
    return Diffusion(
        _dim(input_shape),
        hidden=cfg.hidden,
        activation=cfg.activation,
        steps=cfg.steps or 100,
        schedule=cfg.schedule,
    )


@register_model("flow")
def _build_flow(cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int, spec: Any = None):
    return Flow(
        _dim(input_shape), hidden=cfg.hidden, activation=cfg.activation, steps=cfg.steps or 50
    )
