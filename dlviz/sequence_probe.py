"""What a sequence model shows while it trains: its hidden states, gates and attention on a
chosen test example, the gradient reaching each time step, and what kind of work each
attention head does.

`SequenceProbe` takes a `SequenceSnapshot` on the run's timer, in one recorded forward and
backward pass over a small fixed probe batch of test sequences (the model's observable path:
`dlviz.models.recording`). What it returns is detached, on the CPU, small (float16, at most
MAX_UNITS units and MAX_ATTENTION positions a side) and bounded in count by the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlviz.data import IGNORE, Dataset
from dlviz.models.recording import LayerTrace, can_record, recording
from dlviz.probes import EMBED_COUNT, ImageProbe
from dlviz.representations import layer_features
from dlviz.train import task_loss

PROBE_BATCH = 32  # test sequences a snapshot's gates, gradients and head scores average over
MAX_UNITS = 64  # units of a layer whose states a snapshot keeps (the heatmap's rows)
MAX_ATTENTION = 64  # positions a side of an attention map; longer ones are averaged in bins
SATURATED = 0.05  # a sigmoid gate below this or above 1 - this is saturated (shut or open)
SATURATED_TANH = 0.95  # a candidate (tanh) whose size is above this is saturated
# What kinds of work an attention head does, scored from its attention on the probe batch (the
# share of each query's attention that lands on):
HEAD_KINDS = (
    "previous",  # the position just before it (a previous-token head)
    "self",  # itself (the diagonal)
    "duplicate",  # earlier positions holding the same token (copying)
    "induction",  # positions just after an earlier copy of its token ("A B ... A -> B")
)
TURNED_ON = 0.4  # a head whose score passes this has "turned on" to that kind of work


@dataclass(frozen=True)
class SequenceSnapshot:
    """A sequence model at one moment of training.

    `example`: the test sequence shown; `tokens`: its tokens as text (series: empty) and
    `values`: its values (series: (T,), else None); `target`: its target as text (class name,
    tokens, or a forecast's values as text); `prediction`: the model's answer for it as text
    and `confidence` its probability (classes) or None; `forecast`: (horizon,) predicted values
    (series only).
    `layers`: the layer names, input to output. Per layer: `states` (units, T) float16 of the
    example, `gates` {gate: {"mean": (T,), "saturated": (T,)}} over the probe batch,
    `grad_steps` (T,) the mean norm of dL/dh_t over the probe batch, `attention`
    (heads, T', T') float16 of the example (transformers; T' at most MAX_ATTENTION).
    `head_scores`: (layers, heads, len(HEAD_KINDS)) transformers, else None.
    `loss`: the probe batch's loss.
    `embedding`: one class a sequence: {layer: (EMBED_COUNT, D) float16}, what the head would
    read at each layer (`dlviz.representations.layer_features`; the input left out) for the
    first EMBED_COUNT test sequences, the projector's points; empty for the other tasks.
    """

    step: int
    epoch: int
    example: int
    tokens: tuple[str, ...]
    values: np.ndarray | None
    target: str
    prediction: str
    confidence: float | None
    forecast: np.ndarray | None
    layers: tuple[str, ...]
    states: dict[str, np.ndarray]
    gates: dict[str, dict[str, dict[str, np.ndarray]]]
    grad_steps: dict[str, np.ndarray]
    attention: dict[str, np.ndarray] = field(default_factory=dict)
    attention_bins: int = 1  # positions averaged into one cell of an attention map
    head_scores: np.ndarray | None = None
    loss: float = float("nan")
    embedding: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return len(self.values) if self.values is not None else len(self.tokens)


class SequenceProbe:
    """Takes SequenceSnapshots of a sequence model training on `data`, of the test example the
    page chose: `chooser` (the run's ImageProbe, which keeps the page's choice under its lock;
    its sample_index) may be changed from another thread at any time."""

    def __init__(
        self, data: Dataset, chooser: ImageProbe | None = None, probe_batch: int = PROBE_BATCH
    ):
        if data.seq is None:
            raise ValueError("a SequenceProbe needs sequence data")
        self.data = data
        self.chooser = chooser
        self.probe_batch = probe_batch

    def __call__(self, model: nn.Module, step: int = 0, epoch: int = 0) -> SequenceSnapshot:
        data, seq = self.data, self.data.seq
        assert seq is not None
        n = len(data.x_test)
        chosen = self.chooser.choice().sample_index if self.chooser is not None else 0
        index = min(max(chosen, 0), n - 1)
        device = next(model.parameters()).device
        # the example first, then the probe batch: one pass reads both
        x = torch.cat([data.x_test[index : index + 1], data.x_test[: self.probe_batch]])
        y = torch.cat([data.y_test[index : index + 1], data.y_test[: self.probe_batch]])
        x, y = x.to(device), y.to(device)
        was_training = model.training
        model.eval()  # no dropout: what the network computes, not one noisy draw of it
        try:
            with torch.enable_grad(), recording(model, grads=True) as rec:
                out = model(x)
                loss = task_loss(seq.task, out[1:], y[1:])
                loss.backward()
        finally:
            model.zero_grad(set_to_none=True)  # the loop's next step starts from none anyway
            model.train(was_training)
        out = out.detach()
        states, gates, grads, attention = {}, {}, {}, {}
        scores, bins = [], 1
        batch_tokens = data.x_test[: self.probe_batch] if seq.task != "forecast" else None
        for trace in rec.layers:
            states[trace.name] = _states(trace.states[0])
            gates[trace.name] = gate_summary(trace, probe=slice(1, None))
            if trace.state_grads is not None:
                g = trace.state_grads[1:].float().norm(dim=-1).mean(dim=0)  # (T,)
                grads[trace.name] = g.cpu().numpy().astype(np.float32)
            if trace.attention is not None:
                att = trace.attention.float()
                attention[trace.name], bins = binned_attention(att[0])
                if batch_tokens is not None:
                    scores.append(head_scores(att[1:].cpu(), batch_tokens))
        target, prediction, confidence, forecast = _answer(data, index, out[0])
        ex = data.x_test[index]
        is_series = seq.task == "forecast"
        return SequenceSnapshot(
            step=step,
            epoch=epoch,
            example=index,
            tokens=() if is_series else tuple(seq.vocab[int(t)] for t in ex),
            values=ex[:, 0].numpy().astype(np.float32) if is_series else None,
            target=target,
            prediction=prediction,
            confidence=confidence,
            forecast=forecast,
            layers=tuple(t.name for t in rec.layers),
            states=states,
            gates=gates,
            grad_steps=grads,
            attention=attention,
            attention_bins=bins,
            head_scores=np.stack(scores).astype(np.float32) if scores else None,
            loss=float(loss.detach()),
            embedding=sequence_embedding(model, data) if seq.task == "class" else {},
        )


def sequence_embedding(
    model: nn.Module, data: Dataset, n: int = EMBED_COUNT
) -> dict[str, np.ndarray]:
    """What the head would read at each layer (the input left out) of the first `n` test
    sequences of a one-class-a-sequence task: {layer: (n, D) float16}."""
    feats, _ = layer_features(model, data.x_test[:n])
    return {k: v.cpu().numpy().astype(np.float16) for k, v in feats.items() if k != "input"}


def _states(h: torch.Tensor) -> np.ndarray:
    """(units, T) float16 of one sequence's (T, H) states, at most MAX_UNITS units."""
    return h[:, :MAX_UNITS].T.float().cpu().numpy().astype(np.float16)


def gate_summary(trace: LayerTrace, probe: slice = slice(None)) -> dict[str, dict[str, np.ndarray]]:
    """Per gate of a recorded layer, over the rows `probe` of its batch: its mean activation at
    each time step and the share of its activations that are saturated (a sigmoid gate under
    SATURATED or over 1 - SATURATED: shut or wide open; a tanh candidate over SATURATED_TANH
    in size)."""
    out = {}
    for name, g in trace.gates.items():
        g = g[probe].float()  # (B, T, H)
        if name in ("cell", "new"):  # tanh candidates in [-1, 1]
            sat = g.abs() > SATURATED_TANH
        else:
            sat = (g < SATURATED) | (g > 1 - SATURATED)
        out[name] = {
            "mean": g.mean(dim=(0, 2)).cpu().numpy().astype(np.float32),
            "saturated": sat.float().mean(dim=(0, 2)).cpu().numpy().astype(np.float32),
        }
    return out


def binned_attention(att: torch.Tensor, max_side: int = MAX_ATTENTION) -> tuple[np.ndarray, int]:
    """(heads, T', T') float16 of one sequence's (heads, T, T) attention, and the positions a
    cell covers: sequences longer than `max_side` have their queries averaged and their keys
    summed in bins (each row still sums to 1)."""
    heads, t, _ = att.shape
    bins = -(-t // max_side)  # ceil
    if bins > 1:
        pad = bins * (-(-t // bins)) - t
        att = F.pad(att, (0, pad, 0, pad))
        side = att.shape[-1] // bins
        att = att.reshape(heads, side, bins, side, bins)
        att = att.sum(dim=4).mean(dim=2)  # keys summed, queries averaged
    return att.cpu().numpy().astype(np.float16), bins


def head_scores(att: torch.Tensor, tokens: torch.Tensor) -> np.ndarray:
    """(heads, len(HEAD_KINDS)) scores of one layer's attention `att` (B, heads, T, T) on
    sequences `tokens` (B, T): for each kind, the share of a query's attention that lands on
    the positions of that kind, averaged over the queries that have such a position (a query
    with none, e.g. the first position for "previous", is left out)."""
    b, heads, t, _ = att.shape
    tokens = tokens[:, :t]
    q = torch.arange(t)
    k = torch.arange(t)
    earlier = k[None, :] < q[:, None]  # (T, T): key before query
    same = tokens[:, :, None] == tokens[:, None, :]  # (B, T, T): query token == key token
    prev_same = torch.zeros_like(same)
    prev_same[:, :, 1:] = same[:, :, :-1]  # key's previous token == query token
    masks = (
        (k[None, :] == q[:, None] - 1).expand(b, t, t),  # previous
        (k[None, :] == q[:, None]).expand(b, t, t),  # self
        same & earlier,  # duplicate
        prev_same & (k[None, :] <= q[:, None]),  # induction
    )
    out = np.zeros((heads, len(masks)), dtype=np.float32)
    for i, mask in enumerate(masks):
        has = mask.any(dim=2)  # (B, T) queries that have such a key
        if not has.any():
            continue
        mass = (att * mask[:, None].float()).sum(dim=3)  # (B, heads, T)
        out[:, i] = (mass * has[:, None]).sum(dim=(0, 2)).numpy() / has.sum().item()
    return out


def _answer(
    data: Dataset, index: int, out: torch.Tensor
) -> tuple[str, str, float | None, np.ndarray | None]:
    """(target, prediction, confidence, forecast) of test example `index` from the model's
    output `out` for it."""
    seq = data.seq
    assert seq is not None
    y = data.y_test[index]
    if seq.task == "forecast":
        pred = out.float().cpu().numpy()
        fmt = " ".join(f"{v:.2f}" for v in y.tolist())
        return fmt, " ".join(f"{v:.2f}" for v in pred.tolist()), None, pred.astype(np.float32)
    names = data.class_names
    if seq.task == "class":
        probs = torch.softmax(out.float(), dim=-1)
        conf, pred = probs.max(dim=-1)
        return names[int(y)], names[int(pred)], float(conf), None
    mask = y != IGNORE
    pred_ids = out.argmax(dim=-1).cpu()
    target = " ".join(names[int(t)] for t in y[mask])
    prediction = " ".join(names[int(t)] for t in pred_ids[mask])
    return target, prediction, None, None


def supports(model: nn.Module, data: Dataset) -> bool:
    """Whether a SequenceProbe can watch `model` train on `data`."""
    return data.seq is not None and can_record(model)


def turned_on(steps: list[int], scores: list[np.ndarray]) -> dict[tuple[int, int, int], int]:
    """{(layer, head, kind): the first step at which that score passed TURNED_ON} over a run's
    head-score history (a head already past it at the first snapshot is left out: it did not
    turn on, it started on)."""
    found: dict[tuple[int, int, int], int] = {}
    if not scores:
        return found
    first = np.asarray(scores[0])
    for step, s in zip(steps, scores):
        s = np.asarray(s)
        hits = np.argwhere((s > TURNED_ON) & (first <= TURNED_ON))
        for layer, head, kind in hits:
            found.setdefault((int(layer), int(head), int(kind)), step)
    return found
