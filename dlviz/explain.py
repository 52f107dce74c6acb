"""Where a trained CNN looked: input-gradient saliency and Grad-CAM, for one image, one
spectrogram or one wave; and the occlusion check that hides what they highlight.

They run the model in eval mode (restored afterwards), leave no hooks behind and return NumPy
maps the size of the input, scaled to [0, 1]. A sound network is explained over its features
(`on_features`): the spectrogram its front end makes, not the wave.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlviz.probes import evaluating


def _scaled(m: torch.Tensor) -> np.ndarray:
    m = m.detach().float().cpu()
    hi = float(m.max())
    return (m / hi if hi > 0 else torch.zeros_like(m)).numpy()


def probabilities(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Class probabilities of one image (C, H, W) or a batch (B, C, H, W)."""
    single = x.dim() == 3
    device = next(model.parameters()).device
    with evaluating(model), torch.no_grad():
        p = F.softmax(model((x[None] if single else x).to(device)).float(), dim=1).cpu().numpy()
    return p[0] if single else p


class OnFeatures(nn.Module):
    """A sound network (`dlviz.models.audio`) seen from its features: its forward takes the
    front end's output (1, H, W) per clip, so gradients reach the spectrogram."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if hasattr(self.model, "body"):
            return self.model.body(features)
        h = features
        for block in self.model.blocks:  # a WaveCNN: its blocks, after its front end
            h = block(h)
        return self.model.out(h.mean(dim=2))

    def activation_points(self) -> list[tuple[str, nn.Module]]:
        return self.model.activation_points()


def on_features(model: nn.Module, wave: torch.Tensor) -> tuple[OnFeatures, torch.Tensor]:
    """The network from its features, and the features (1, H, W) (a wave network: (1, S)) of
    one clip `wave` (1, S), made by its front end in eval mode (no SpecAugment masks)."""
    device = next(model.parameters()).device
    with evaluating(model), torch.no_grad():
        feats = model.frontend(wave[None].to(device))[0]
    return OnFeatures(model), feats


def saliency(model: nn.Module, x: torch.Tensor, target: int | None = None) -> np.ndarray:
    """|d score(target) / d input|, the largest over channels, for image x (C, H, W) or a 1-D
    input (C, S); `target` defaults to the predicted class. Returns (H, W) or (S,) in
    [0, 1]."""
    device = next(model.parameters()).device
    inp = x[None].to(device).clone().requires_grad_(True)
    with evaluating(model), torch.enable_grad():
        logits = model(inp)
        cls = int(logits.argmax(1)) if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, cls], inp)
    return _scaled(grad[0].abs().amax(dim=0))


def grad_cam(
    model: nn.Module, x: torch.Tensor, layer: str | None = None, target: int | None = None
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017) of image x (C, H, W) at conv block `layer` (default the
    last): the block's maps weighted by the mean gradient of the target score over each map,
    summed, ReLU'd and resized to the input. Returns (H, W) in [0, 1]; for a 1-D network's
    input (C, S), its (S,) over time."""
    points = dict(model.activation_points())
    name = layer or list(points)[-1]
    if name not in points:
        raise KeyError(f"no layer {name!r}; the layers are {', '.join(points)}")
    store: dict[str, torch.Tensor] = {}

    def hook(_m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
        store["maps"] = out

    device = next(model.parameters()).device
    handle = points[name].register_forward_hook(hook)
    try:
        with evaluating(model), torch.enable_grad():
            logits = model(x[None].to(device))
            cls = int(logits.argmax(1)) if target is None else int(target)
            maps = store["maps"]
            (grad,) = torch.autograd.grad(logits[0, cls], maps)
    finally:
        handle.remove()
    spatial = tuple(range(1, grad[0].dim()))
    weights = grad[0].mean(dim=spatial)  # (K,)
    cam = F.relu((weights.view(-1, *[1] * len(spatial)) * maps[0]).sum(0))
    if len(spatial) == 1:  # a 1-D network: over time
        cam = F.interpolate(cam[None, None], size=x.shape[-1], mode="linear", align_corners=False)
        return _scaled(cam[0, 0])
    cam = F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)
    return _scaled(cam[0, 0])


def occlusion(
    model: nn.Module,
    x: torch.Tensor,
    heat: np.ndarray,
    share: float = 0.2,
    target: int | None = None,
    seed: int = 0,
    fill: float | None = None,
) -> dict[str, Any]:
    """Hide the `share` of x's cells that `heat` (x's size without channels) rates highest,
    then the same shape moved elsewhere (rolled round by a random quarter to three quarters of
    each side: as many cells, as close together), setting them to `fill` (default: x's lowest
    value, silence on a spectrogram; 0 is silence on a wave), and give the target class's
    probability before and after each: a map that shows what the network uses costs more when
    its cells are hidden than the same patch elsewhere does. `target` defaults to the
    predicted class; ``moved_by`` gives the roll along each axis of `heat`."""
    device = next(model.parameters()).device
    heat_t = torch.as_tensor(np.asarray(heat, dtype=np.float32))
    flat = heat_t.flatten()
    k = max(1, int(round(share * flat.numel())))
    top = torch.zeros(flat.numel(), dtype=torch.bool)
    top[torch.topk(flat, k).indices] = True
    top = top.view(heat_t.shape)
    gen = torch.Generator().manual_seed(seed)
    moved_by = [
        int(n // 4 + torch.randint(0, max(n // 2, 1) + 1, (1,), generator=gen)) for n in top.shape
    ]
    elsewhere = torch.roll(top, shifts=moved_by, dims=tuple(range(top.dim())))
    floor = float(x.min()) if fill is None else float(fill)

    def hidden(mask: torch.Tensor) -> torch.Tensor:
        return torch.where(mask.expand_as(x), torch.tensor(floor, dtype=x.dtype), x)

    batch = torch.stack([x, hidden(top), hidden(elsewhere)]).to(device)
    with evaluating(model), torch.no_grad():
        p = F.softmax(model(batch).float(), dim=1).cpu()
    cls = int(p[0].argmax()) if target is None else int(target)
    return {
        "target": cls,
        "before": float(p[0, cls]),
        "highlighted_hidden": float(p[1, cls]),
        "random_hidden": float(p[2, cls]),
        "share": k / flat.numel(),
        "moved_by": moved_by,
    }
