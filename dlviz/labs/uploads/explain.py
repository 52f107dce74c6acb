"""Where a trained CNN looked: input-gradient saliency and Grad-CAM, for one image.

Both run the model in eval mode (restored afterwards), leave no hooks behind and return NumPy
maps the size of the input, scaled to [0, 1].
"""

from __future__ import annotations

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


def saliency(model: nn.Module, x: torch.Tensor, target: int | None = None) -> np.ndarray:
    """|d score(target) / d pixel|, the largest over colour channels, for image x (C, H, W);
    `target` defaults to the predicted class. Returns (H, W) in [0, 1]."""
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
    summed, ReLU'd and resized to the input. Returns (H, W) in [0, 1]."""
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
    weights = grad[0].mean(dim=(1, 2))  # (K,)
    cam = F.relu((weights[:, None, None] * maps[0]).sum(0))
    cam = F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear", align_corners=False)
    return _scaled(cam[0, 0])
