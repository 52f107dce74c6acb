"""What a CNN channel wants: activation maximisation.

An input is optimised from seeded, low-amplitude noise by gradient ascent on one channel's mean
activation (the output of the layer, read by a forward hook), with the usual regularisers of
Yosinski et al. (2015) and Olah et al. (2017): a random shift (jitter) of a few pixels at every
step, a Gaussian blur every few steps, and an L2 decay towards the data's average pixel; pixels
stay within the data's range. The same seed gives the same pictures.

`maximise_layer` optimises one input per channel in one batch (the model is in eval mode, so the
inputs do not interact: batch norm uses its running statistics); each channel's starting noise
depends only on the seed and the channel, and every input gets the same shifts, so a channel's
picture does not depend on which others were optimised with it. The forward stops at the layer.
A channel that is exactly zero everywhere at the start (a ReLU whose input is below zero) passes
no gradient; its input to the activation is raised instead until the channel wakes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlviz.probes import activation_points, capture, evaluating
from dlviz.text import plural

# Defaults: 8 channels of a layer of the Image lab's Deep network at 32 px take 0.2 s (conv1)
# to 0.8 s (conv8) at 64 steps, twice that at 128, on one thread of a shared 2-core CPU (the
# dashboard gives torch half the cores).
STEPS = 64
LR = 0.05
JITTER = 2  # pixels, each way
BLUR_EVERY = 4  # steps
BLUR_SIGMA = 0.5  # pixels
DECAY = 0.01  # share of the distance to the data's average pixel taken off each step
NOISE = 0.02  # starting noise, as a share of the pixel range


class _StopForward(Exception):
    """Raised by the hook once the layer has run: nothing after it is needed."""


def layer_module(model: nn.Module, layer_name: str) -> nn.Module:
    """The module whose output is layer `layer_name` (one of the model's activation points)."""
    points = dict(activation_points(model))
    if layer_name not in points:
        names = ", ".join(points) or "none"
        raise KeyError(f"no layer {layer_name!r}; layers: {names}")
    return points[layer_name]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, C, H, W) blurred by a Gaussian of `sigma` pixels, each channel on its own, edges
    reflected."""
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(2 * sigma))
    radius = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along the rows
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # along the columns


def _channel_means(out: torch.Tensor, channels: torch.Tensor) -> torch.Tensor:
    """(B,) mean activation of channel `channels[b]` of row b of a layer's output (B, C, ...)."""
    picked = out[torch.arange(len(channels), device=out.device), channels]
    return picked.flatten(1).mean(dim=1) if picked.dim() > 1 else picked


def maximise_layer(
    model: nn.Module,
    layer_name: str,
    channels: Sequence[int],
    *,
    input_shape: Sequence[int],
    steps: int = STEPS,
    lr: float = LR,
    jitter: int = JITTER,
    blur_every: int = BLUR_EVERY,
    blur_sigma: float = BLUR_SIGMA,
    decay: float = DECAY,
    seed: int = 0,
    value_range: tuple[float, float] = (0.0, 1.0),
    baseline: Sequence[float] | float | None = None,
    device: torch.device | str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, list[list[float]]]:
    """One input per channel in `channels` of layer `layer_name`, optimised to excite it.

    Args:
        input_shape: (C, H, W) of one input, as the model takes it.
        steps, lr: gradient-ascent steps (Adam) and their learning rate, in pixel units.
        jitter: each step shifts the inputs (rolling them) by up to this many pixels each way.
        blur_every, blur_sigma: every `blur_every` steps the inputs are blurred (0: never).
        decay: each step takes this share off every pixel's distance to `baseline`.
        seed: the starting noise and the shifts; the same seed gives the same pictures.
        value_range: the data's pixel range; the inputs are clamped to it after each step.
        baseline: the data's average pixel, one value or one per input channel (where the
            noise starts and the decay pulls); the middle of `value_range` if None.
        device: where to optimise (the model must be there); the model's device if None.
        progress: called as progress(step, steps) after each step.

    Returns:
        The inputs (len(channels), C, H, W) on the CPU, and per channel its mean activation at
        each step (measured on that step's shifted input, before the update).

    The model is in eval mode while this runs, and its training mode, its parameters'
    `requires_grad` and its hooks are as before afterwards.
    """
    module = layer_module(model, layer_name)
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    c, h, w = (int(v) for v in input_shape)
    lo, hi = (float(v) for v in value_range)
    if not lo < hi:
        raise ValueError(f"value_range must go up, got {value_range}")
    if baseline is None:
        base = torch.full((c,), (lo + hi) / 2)
    else:
        base = torch.as_tensor(baseline, dtype=torch.float32).flatten().expand(c).clone()
    base = base.clamp(lo, hi).view(1, c, 1, 1).to(device)
    chans = [int(ch) for ch in channels]
    if not chans:
        return torch.zeros(0, c, h, w), []
    if min(chans) < 0:
        raise IndexError(f"channels count from 0, got {chans}")
    index = torch.tensor(chans, device=device)

    # The starting noise of each channel depends only on (seed, channel).
    noise = np.stack(
        [np.random.default_rng((seed, 1, ch)).standard_normal((c, h, w)) for ch in chans]
    )
    x = base + NOISE * (hi - lo) * torch.as_tensor(noise, dtype=torch.float32, device=device)
    x = x.clamp(lo, hi).requires_grad_(True)
    shifts = np.random.default_rng((seed, 2)).integers(-jitter, jitter + 1, size=(steps, 2))

    modes = [(m, m.training) for m in model.modules()]
    grads = [(p, p.requires_grad) for p in model.parameters()]
    store: dict[str, torch.Tensor] = {}

    def hook(_m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
        store["out"] = out
        raise _StopForward

    def pre_hook(_m: nn.Module, inputs: tuple) -> None:
        store["pre"] = inputs[0]

    handles = [module.register_forward_hook(hook)]
    act = getattr(module, "act", None)  # a conv block's activation: its input is the fallback
    if isinstance(act, nn.Module):
        handles.append(act.register_forward_pre_hook(pre_hook))
    trace = []
    try:
        model.eval()
        for p, _ in grads:
            p.requires_grad_(False)
        opt = torch.optim.Adam([x], lr=lr)
        with torch.enable_grad():
            for step in range(steps):
                dy, dx = (int(v) for v in shifts[step])
                try:
                    model(torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
                except _StopForward:
                    pass
                out = store.pop("out")
                if step == 0 and max(chans) >= out.shape[1]:
                    raise IndexError(
                        f"{layer_name} has {plural(out.shape[1], 'channel')}; "
                        f"channels {chans} are not all among them"
                    )
                means = _channel_means(out, index)  # (B,)
                trace.append(means.detach())
                goal = means
                if "pre" in store:
                    # A channel that is exactly zero everywhere (a ReLU below zero) passes no
                    # gradient: raise its input to the activation until it wakes.
                    pre = _channel_means(store.pop("pre"), index)
                    picked = out[torch.arange(len(chans), device=device), index]
                    flat = picked.detach().reshape(len(chans), -1).abs().amax(dim=1) == 0
                    goal = torch.where(flat, pre, means)
                opt.zero_grad(set_to_none=True)
                (-goal.sum()).backward()
                opt.step()
                with torch.no_grad():
                    if blur_every and blur_sigma > 0 and (step + 1) % blur_every == 0:
                        x.copy_(gaussian_blur(x, blur_sigma))
                    if decay:
                        x.sub_(decay * (x - base))
                    x.clamp_(lo, hi)
                if progress is not None:
                    progress(step + 1, steps)
    finally:
        for handle in handles:
            handle.remove()
        for m, mode in modes:
            m.training = mode
        for p, flag in grads:
            p.requires_grad_(flag)
    traces = torch.stack(trace, dim=1) if trace else torch.zeros(len(chans), 0)  # (B, steps)
    return x.detach().float().cpu(), traces.float().cpu().tolist()


def maximise(
    model: nn.Module,
    layer_name: str,
    channel: int,
    *,
    input_shape: Sequence[int],
    steps: int = STEPS,
    lr: float = LR,
    jitter: int = JITTER,
    blur_every: int = BLUR_EVERY,
    blur_sigma: float = BLUR_SIGMA,
    decay: float = DECAY,
    seed: int = 0,
    value_range: tuple[float, float] = (0.0, 1.0),
    baseline: Sequence[float] | float | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, list[float]]:
    """The input (C, H, W) optimised to excite `channel` of `layer_name`, and its mean
    activation at each step: `maximise_layer` for one channel (see it for the arguments)."""
    images, traces = maximise_layer(
        model,
        layer_name,
        [channel],
        input_shape=input_shape,
        steps=steps,
        lr=lr,
        jitter=jitter,
        blur_every=blur_every,
        blur_sigma=blur_sigma,
        decay=decay,
        seed=seed,
        value_range=value_range,
        baseline=baseline,
        device=device,
    )
    return images[0], traces[0]


def channel_scores(
    model: nn.Module, x: torch.Tensor, layer_name: str, batch: int = 256
) -> torch.Tensor:
    """(N, C): each row of `x`'s mean activation of each channel of `layer_name`, on the CPU
    (what `dlviz.probes.top_activating` ranks by, for every channel in one pass)."""
    module = layer_module(model, layer_name)
    device = next(model.parameters()).device
    out = []
    with evaluating(model), capture(model, [(layer_name, module)]) as store:
        for i in range(0, len(x), batch):
            model(x[i : i + batch].to(device))
            a = store[layer_name]
            out.append((a.flatten(2).mean(dim=2) if a.dim() > 2 else a).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, 0)


def channel_means(
    model: nn.Module, x: torch.Tensor, layer_name: str, channels: Sequence[int]
) -> list[float]:
    """Row i of `x`'s mean activation of channel `channels[i]` of `layer_name`."""
    if len(x) != len(channels):
        raise ValueError(f"{plural(len(x), 'input')} but {plural(len(channels), 'channel')}")
    scores = channel_scores(model, x, layer_name)
    return [float(scores[i, ch]) for i, ch in enumerate(channels)]
