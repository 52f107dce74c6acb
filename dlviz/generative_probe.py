"""What a generative run shows while it trains (the Generative lab): samples from fixed noise
(a conditional GAN's as a grid, one row a class), and for 2-D data the discriminator's output
over the plane, the generator's warp of a grid of latent points and each generated point's
gradient (GANs), the paths from noise to data (diffusion, flow). Everything on the CPU as
float32 numpy, in eval mode, under no_grad except the gradient arrows; the model's training
mode is put back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dlviz.probes import evaluating

SAMPLES = 512  # generated points drawn each snapshot, from the same noise every time
HEAT = 48  # the discriminator's heatmap: HEAT x HEAT points over the plane
MESH = 15  # the latent grid: MESH x MESH points, drawn warped by the generator
ARROWS = 64  # generated points that get a gradient arrow
PATH_POINTS = 128  # points followed from noise to data
PATH_FRAMES = 10
PER_CLASS = 8  # a conditional GAN's grid: this many noises, each drawn as every class


@dataclass(frozen=True)
class GenerativeSnapshot:
    """One moment of a generative run.

    `samples`: (n, dim) from the same noise every snapshot. 2-D only: `heat` (HEAT, HEAT) the
    discriminator's probability that a point is real (sigmoid of its output; a critic's raw
    output for wgan_gp and hinge) over [-extent, extent]^2, rows = y; `mesh` (MESH, MESH, 2)
    the generator's image of a latent grid; `arrows` (ARROWS, 2, 2) a generated point and
    the direction the generator's loss moves it (minus its gradient, scaled for drawing);
    `path` (PATH_FRAMES, PATH_POINTS, 2) diffusion's or a flow's points from noise to data.
    A conditional GAN's `samples` are class by class (`classes` (n,) says each one's), the same
    PER_CLASS noises in every class: class c's j-th sample is row c, column j of a grid.
    """

    step: int
    epoch: int
    samples: np.ndarray
    extent: float = 2.5
    heat: np.ndarray | None = None
    heat_kind: str = ""  # "probability" or "score"
    mesh: np.ndarray | None = None
    arrows: np.ndarray | None = None
    path: np.ndarray | None = None
    classes: np.ndarray | None = None

    @property
    def per_class(self) -> int:
        """Samples of each class (0 for an unconditional model)."""
        if self.classes is None or not len(self.classes):
            return 0
        return int((self.classes == self.classes[0]).sum())


class GenerativeProbe:
    """Snapshots of a generative model, the noise fixed at construction (`seed`)."""

    def __init__(self, extent: float = 2.5, seed: int = 0, samples: int = SAMPLES):
        self.extent = extent
        self.seed = seed
        self.samples = samples

    def _gen(self, offset: int = 0) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed + offset)

    def __call__(self, model: nn.Module, step: int = 0, epoch: int = 0) -> GenerativeSnapshot:
        if getattr(model, "conditional", False):
            samples, classes = self._by_class(model)
            return GenerativeSnapshot(step, epoch, samples, self.extent, classes=classes)
        samples = model.sample(self.samples, self._gen()).float().cpu()  # type: ignore[operator]
        if samples.shape[1] != 2:
            return GenerativeSnapshot(step, epoch, samples.numpy(), self.extent)
        heat = mesh = arrows = path = None
        kind = ""
        if hasattr(model, "discriminate"):
            heat, kind = self._heat(model)
            mesh = self._mesh(model)
            arrows = self._arrows(model)
        if hasattr(model, "path"):
            with evaluating(model), torch.no_grad():
                path = (
                    model.path(PATH_POINTS, self._gen(1), keep=PATH_FRAMES)  # type: ignore[operator]
                    .float()
                    .cpu()
                    .numpy()
                )
        return GenerativeSnapshot(
            step, epoch, samples.numpy(), self.extent, heat, kind, mesh, arrows, path
        )

    def _by_class(self, model: nn.Module) -> tuple[np.ndarray, np.ndarray]:
        """A conditional GAN's samples, PER_CLASS a class, class by class, from the same
        PER_CLASS latents in every class: across a column only the class changes."""
        k = int(model.n_classes)  # type: ignore[arg-type]
        z = torch.randn(PER_CLASS, int(model.latent), generator=self._gen())  # type: ignore[arg-type]
        y = torch.arange(k).repeat_interleave(PER_CLASS)  # 0 0 .. 0 1 1 .. 1 ...
        device = self._device(model)
        with evaluating(model), torch.no_grad():
            out = model.generate(z.repeat(k, 1).to(device), y.to(device))  # type: ignore[operator]
        return out.float().cpu().numpy(), y.numpy()

    def _device(self, model: nn.Module) -> torch.device:
        return next(model.parameters()).device

    def _heat(self, model: nn.Module) -> tuple[np.ndarray, str]:
        e = self.extent
        axis = torch.linspace(-e, e, HEAT)
        yy, xx = torch.meshgrid(axis, axis, indexing="ij")
        grid = torch.stack([xx.flatten(), yy.flatten()], dim=1).to(self._device(model))
        with evaluating(model), torch.no_grad():
            out = model.discriminate(grid).float().cpu()  # type: ignore[operator]
        if getattr(model, "loss", "") in ("wgan_gp", "hinge"):  # a critic: a score, not odds
            return out.reshape(HEAT, HEAT).numpy(), "score"
        return torch.sigmoid(out).reshape(HEAT, HEAT).numpy(), "probability"

    def _mesh(self, model: nn.Module) -> np.ndarray:
        with evaluating(model), torch.no_grad():
            z = model.latent_grid(MESH).to(self._device(model))  # type: ignore[operator]
            return model.generate(z).float().cpu().reshape(MESH, MESH, -1).numpy()  # type: ignore[operator]

    def _arrows(self, model: nn.Module) -> np.ndarray:
        """Generated points, each with the step its generator loss asks of it: minus the
        gradient of that loss with respect to the point, scaled so the longest is a tenth of
        the plane."""
        from dlviz.models.generative import g_loss  # the model's own loss

        device = self._device(model)
        latent = int(model.latent)  # type: ignore[arg-type]
        z = torch.randn(ARROWS, latent, generator=self._gen(2)).to(device)
        with evaluating(model):
            with torch.no_grad():
                x = model.generate(z)  # type: ignore[operator]
            x = x.detach().requires_grad_(True)
            with torch.enable_grad():
                loss = g_loss(model.loss, model.discriminate(x))  # type: ignore[arg-type, operator]
                (grad,) = torch.autograd.grad(loss, x)
        step = -grad.float().cpu()
        longest = float(step.norm(dim=1).max())
        if longest > 0:
            step = step * (0.2 * self.extent / longest)
        points = x.detach().float().cpu()
        return torch.stack([points, points + step], dim=1).numpy()


def walk_class(model: nn.Module, seed: int) -> int | None:
    """The class a conditional GAN's latent walk `seed` holds (each walk the next class), or
    None for a model that takes no class."""
    if not getattr(model, "conditional", False):
        return None
    return seed % int(model.n_classes)  # type: ignore[arg-type]


def interpolation(model: nn.Module, steps: int = 10, seed: int = 0) -> np.ndarray | None:
    """Samples along a straight line in a GAN's or a VAE's latent space, between two random
    latent points: (steps, dim), or None for a model without a latent space (diffusion,
    flow). Smooth changes from one end to the other show a latent space that is continuous.
    A conditional GAN's walk keeps one class all along (`walk_class`): only the style moves."""
    decode = getattr(model, "generate", None) or getattr(model, "decode", None)
    latent = getattr(model, "latent", None)
    if decode is None or latent is None:
        return None
    gen = torch.Generator().manual_seed(seed)
    ends = torch.randn(2, int(latent), generator=gen)
    t = torch.linspace(0, 1, steps)[:, None]
    device = next(model.parameters()).device
    z = ((1 - t) * ends[0] + t * ends[1]).to(device)
    cls = walk_class(model, seed)
    with evaluating(model), torch.no_grad():
        if cls is None:
            return decode(z).float().cpu().numpy()
        y = torch.full((steps,), cls, dtype=torch.long, device=device)
        return decode(z, y).float().cpu().numpy()
