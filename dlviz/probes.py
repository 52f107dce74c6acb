"""Looking inside a model: per-layer gradient norms, activations via forward hooks, and the
2-D snapshots the Playground draws (decision boundary, one response map per neuron).

Hooks are always removed in ``finally``; probes run under ``torch.no_grad()`` in eval mode and
put back the model's training mode; what they return is detached and on the CPU.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlviz.text import plural


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    if hasattr(model, "weight_layers"):
        return model.weight_layers()
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def activation_points(model: nn.Module) -> list[tuple[str, nn.Module]]:
    if hasattr(model, "activation_points"):
        return model.activation_points()
    return []


class GradNormTracker:
    """Mean L2 norm of each layer's weight gradient, accumulated on the device.

    Call `accumulate()` after each backward; it queues one fused norm and one add, so it does not
    make the device wait. `means()` reads the averages (one sync) and `reset()` starts again.
    """

    def __init__(self, model: nn.Module):
        layers = weight_layers(model)
        self.names = [name for name, _ in layers]
        self._weights = [m.weight for _, m in layers]
        self._sums: list[torch.Tensor] | None = None
        self.count = 0

    def accumulate(self) -> None:
        grads = [w.grad for w in self._weights]
        try:
            norms = torch._foreach_norm(grads)
        except (TypeError, RuntimeError):  # a layer without a gradient (frozen): count it as 0
            grads = [torch.zeros_like(w) if g is None else g for w, g in zip(self._weights, grads)]
            norms = torch._foreach_norm(grads)
        if self._sums is None:
            self._sums = [n.clone() for n in norms]
        else:
            torch._foreach_add_(self._sums, norms)  # one fused add for all layers
        self.count += 1

    def means(self) -> dict[str, float]:
        if self._sums is None or self.count == 0:
            return {}
        values = (torch.stack(self._sums) / self.count).tolist()  # one sync
        return dict(zip(self.names, values))

    def reset(self) -> None:
        self._sums = None
        self.count = 0


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode and no_grad for the duration; the model's training mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


@contextmanager
def capture(
    model: nn.Module, points: list[tuple[str, nn.Module]]
) -> Iterator[dict[str, torch.Tensor]]:
    """Record the output of each module in `points` into the yielded dict while inside."""
    store: dict[str, torch.Tensor] = {}
    handles = []

    def hook_for(name: str):
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            store[name] = output.detach()

        return hook

    try:
        for name, module in points:
            handles.append(module.register_forward_hook(hook_for(name)))
        yield store
    finally:
        for h in handles:
            h.remove()


def activations(
    model: nn.Module, x: torch.Tensor, layers: list[str] | None = None
) -> dict[str, torch.Tensor]:
    """Each activation point's output for input `x`, on the CPU, in eval mode."""
    points = activation_points(model)
    if layers is not None:
        points = [(n, m) for n, m in points if n in layers]
    device = next(model.parameters()).device
    with evaluating(model), capture(model, points) as store:
        model(x.to(device))
    return {name: store[name].cpu() for name, _ in points if name in store}


def grid_points(extent: float, resolution: int) -> torch.Tensor:
    """(resolution^2, 2) points covering [-extent, extent]^2, row-major with y increasing by row."""
    axis = torch.linspace(-extent, extent, resolution)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


@dataclass(frozen=True)
class Snapshot2D:
    """What the Playground draws at one moment of training.

    `boundary`: (R, R) probability of class 1 over the grid (rows = y, columns = x).
    `neurons`: layer name -> (n_neurons, r, r) response of each neuron over a coarser grid.
    """

    step: int
    epoch: int
    extent: float
    boundary: np.ndarray
    neurons: dict[str, np.ndarray]


class _StopForward(Exception):
    """Raised by a hook once the layers we want have run, to skip the rest of the forward."""


def snapshot_2d(
    model: nn.Module,
    extent: float,
    step: int = 0,
    epoch: int = 0,
    resolution: int = 48,
    neuron_resolution: int = 24,
    max_layers: int = 3,
    max_neurons: int = 16,
) -> Snapshot2D:
    """Decision boundary and per-neuron response maps of a 2-input classifier, in two passes.

    The second pass stops as soon as the last of the first `max_layers` layers has run.
    """
    device = next(model.parameters()).device
    points = activation_points(model)[:max_layers]
    with evaluating(model):
        probs = torch.softmax(model(grid_points(extent, resolution).to(device)), dim=1)
        boundary = probs[:, 1] if probs.shape[1] == 2 else probs.max(dim=1).values
        store: dict[str, torch.Tensor] = {}
        if points:

            def stop(_m: nn.Module, _i: tuple, _o: torch.Tensor) -> None:
                raise _StopForward

            with capture(model, points) as store:
                handle = points[-1][1].register_forward_hook(stop)
                try:
                    model(grid_points(extent, neuron_resolution).to(device))
                except _StopForward:
                    pass
                finally:
                    handle.remove()
    r = neuron_resolution
    neurons = {
        name: store[name][:, :max_neurons].T.reshape(-1, r, r).float().cpu().numpy()
        for name, _ in points
        if name in store
    }
    return Snapshot2D(
        step=step,
        epoch=epoch,
        extent=extent,
        boundary=boundary.reshape(resolution, resolution).float().cpu().numpy(),
        neurons=neurons,
    )


# --- images: feature maps, filters, dead units, class evaluation -------------------------------


@dataclass(frozen=True)
class FeatureSnapshot:
    """What the Images page draws of one moment of training.

    `maps`: layer -> (C, h, w) float16 activations of test image `sample_index` (at most
    `max_channels` channels from `first_channel[layer]` on, pooled down to at most `max_side`
    pixels a side; a 1-D CNN's (C, t), pooled to at most 8 `max_side` steps); `channels`: each
    layer's real channel count; `dead`: layer -> share of ReLU channels (units, for dense
    layers) that output zero for every image of the probe batch (ReLU layers only); `filters`:
    the first convolution's weights (C_out, C_in, k, k), or (C_out, C_in, k) for a 1-D one, or
    None.
    """

    step: int
    epoch: int
    sample_index: int
    maps: dict[str, np.ndarray]
    channels: dict[str, int]
    dead: dict[str, float]
    filters: np.ndarray | None
    first_channel: dict[str, int] = field(default_factory=dict)  # layer -> its first map's channel
    # layer -> (n, C) float16: each of the first n test images' output of the layer, averaged
    # over its positions (a channel's mean activation); the projector draws these
    embedding: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeChoice:
    """What an ImageProbe's next snapshot shows: the test image, the first channel of wide
    layers, and how many channels a layer keeps."""

    sample_index: int
    channel_start: int
    max_channels: int


EMBED_COUNT = 128  # test images whose pooled activations each snapshot keeps (the projector)


class ImageProbe:
    """Takes FeatureSnapshots of a model training on images, in one forward pass of a fixed
    probe batch of test images. `sample_index` (which test image's feature maps to keep) may be
    changed from another thread at any time; the next snapshot uses it. So may `channel_start`:
    layers with more than `max_channels` channels keep channels ``channel_start`` on (moved back
    so a layer's last page is full; a layer with fewer channels keeps them all)."""

    def __init__(
        self,
        x_test: torch.Tensor,
        sample_index: int = 0,
        probe_batch: int = 16,
        max_channels: int = 32,
        max_side: int = 32,
        embed_count: int = EMBED_COUNT,
    ):
        self.x_test = x_test
        self.embed_count = embed_count
        self.sample_index = sample_index
        self.channel_start = 0
        self.probe_batch = probe_batch
        self.max_channels = max_channels
        self.max_side = max_side
        self._lock = threading.Lock()  # the page chooses while the run's thread snapshots

    def choice(self) -> ProbeChoice:
        """A copy of what the next snapshot shows, safe to read from another thread."""
        with self._lock:
            return ProbeChoice(int(self.sample_index), int(self.channel_start), self.max_channels)

    def choose(self, sample_index: int | None = None, channel_start: int | None = None) -> None:
        """Set which test image and channels the next snapshot shows (None: keep), from any
        thread."""
        with self._lock:
            if sample_index is not None:
                self.sample_index = sample_index
            if channel_start is not None:
                self.channel_start = channel_start

    def __call__(self, model: nn.Module, step: int = 0, epoch: int = 0) -> FeatureSnapshot:
        choice = self.choice()
        index = min(max(choice.sample_index, 0), len(self.x_test) - 1)
        device = next(model.parameters()).device
        batch = max(self.probe_batch, self.embed_count)
        x = torch.cat([self.x_test[index : index + 1], self.x_test[:batch]]).to(device)
        points = activation_points(model)
        relus = [(n, m.act) for n, m in _blocks_with_act(model) if isinstance(m.act, nn.ReLU)]
        with evaluating(model), capture(model, points) as outs, capture(model, relus) as acts:
            model(x)
        maps, channels, starts, embedding = {}, {}, {}, {}
        n_embed = min(self.embed_count, len(x) - 1)
        for name, _ in points:
            if n_embed:
                whole = outs[name][1 : 1 + n_embed]
                pooled = whole.float().flatten(2).mean(dim=2) if whole.dim() > 2 else whole
                embedding[name] = pooled.float().cpu().numpy().astype(np.float16)
            out = outs[name][0]  # the chosen sample
            channels[name] = out.shape[0]
            if out.dim() not in (2, 3):
                continue  # dense layers have no maps
            start = min(max(choice.channel_start, 0), max(out.shape[0] - self.max_channels, 0))
            starts[name] = start
            out = out[start : start + self.max_channels].float()
            if out.dim() == 3 and max(out.shape[-2:]) > self.max_side:  # each side down to
                side = (min(out.shape[-2], self.max_side), min(out.shape[-1], self.max_side))
                out = F.adaptive_avg_pool2d(out, side)  # at most max_side, never stretched
            elif out.dim() == 2 and out.shape[-1] > self.max_side * 8:  # a 1-D CNN's (C, T)
                out = F.adaptive_avg_pool1d(out[None], self.max_side * 8)[0]
            maps[name] = out.cpu().numpy().astype(np.float16)
        dead = {}
        for name, _ in relus:
            a = acts[name][1 : 1 + self.probe_batch]  # the probe batch
            alive = (a > 0).transpose(0, 1).reshape(a.shape[1], -1).any(dim=1)
            dead[name] = 1.0 - alive.float().mean().item()
        first = next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv1d))), None)
        filters = first.weight.detach().float().cpu().numpy() if first is not None else None
        return FeatureSnapshot(step, epoch, index, maps, channels, dead, filters, starts, embedding)


def _blocks_with_act(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(layer name, block) for blocks with an `act` module, named as in weight_layers."""
    blocks = getattr(model, "blocks", [])
    convs = (nn.Conv2d, nn.Conv1d)
    prefix = (
        "conv" if any(isinstance(getattr(b, "conv", None), convs) for b in blocks) else "hidden"
    )
    return [(f"{prefix}{i + 1}", b) for i, b in enumerate(blocks) if hasattr(b, "act")]


def predict(
    model: nn.Module, x: torch.Tensor, batch: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted class and its probability for every row of `x`, on the CPU."""
    device = next(model.parameters()).device
    preds, confs = [], []
    with evaluating(model):
        for i in range(0, len(x), batch):
            probs = torch.softmax(model(x[i : i + batch].to(device)).float(), dim=1)
            conf, pred = probs.max(dim=1)
            preds.append(pred.cpu())
            confs.append(conf.cpu())
    return torch.cat(preds), torch.cat(confs)


def confusion(true: torch.Tensor, pred: torch.Tensor, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: row = true class, column = predicted class."""
    flat = true.long() * n_classes + pred.long()
    return (
        torch.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes).numpy()
    )


def class_report(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, n_classes: int, keep: int = 48
) -> dict:
    """Confusion matrix on (x, y) and the misclassified rows, most confidently wrong first."""
    pred, conf = predict(model, x)
    wrong = torch.nonzero(pred != y).flatten()
    order = wrong[torch.argsort(conf[wrong], descending=True)][:keep]
    return {
        "confusion": confusion(y, pred, n_classes),
        "misclassified": [
            {"index": int(i), "true": int(y[i]), "pred": int(pred[i]), "confidence": float(conf[i])}
            for i in order
        ],
        "accuracy": float((pred == y).float().mean()) if len(y) else float("nan"),
    }


def top_activating(
    model: nn.Module, x: torch.Tensor, layer: str, channel: int, k: int = 8, batch: int = 256
) -> tuple[list[int], list[float]]:
    """The `k` rows of `x` whose mean activation of `channel` in `layer` is highest."""
    points = [(n, m) for n, m in activation_points(model) if n == layer]
    if not points:
        raise KeyError(
            f"no layer {layer!r}; layers: {', '.join(n for n, _ in activation_points(model))}"
        )
    device = next(model.parameters()).device
    scores = []
    with evaluating(model), capture(model, points) as store:
        for i in range(0, len(x), batch):
            model(x[i : i + batch].to(device))
            out = store[layer]
            if not 0 <= channel < out.shape[1]:
                raise IndexError(
                    f"{layer} has {plural(out.shape[1], 'channel')}; channel {channel} is not one"
                )
            a = out[:, channel]
            scores.append((a.flatten(1).mean(dim=1) if a.dim() > 1 else a).float().cpu())
    s = torch.cat(scores)
    values, idx = torch.topk(s, min(k, len(s)))
    return idx.tolist(), values.tolist()
