"""Reading a sequence model's insides: each layer's states, gates, attention and state gradients.

    with recording(model, grads=True) as rec:
        loss_fn(model(x), y).backward()
    rec.layer("lstm1").gates["forget"]   # (B, T, H)

Inside the block the model runs its observable path (recurrent cells step by step, attention
computed explicitly, as minGPT does) over the very same parameters as its fused path, and each
layer adds a `LayerTrace`. Outside it nothing is recorded and the fused kernels run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

# The attribute a recordable model keeps its current Recording in (None when not recording).
ATTR = "_recording"
_LOCK = threading.Lock()  # the check-and-set of ATTR, so two threads never record one model


@dataclass
class LayerTrace:
    """One layer's insides for one forward pass; every tensor detached, on the model's device."""

    name: str
    states: torch.Tensor  # (B, T, H) the layer's output at each step
    # LSTM: input, forget, cell, output; GRU: reset, update, new; others: none. Each (B, T, H);
    # sigmoid gates are in [0, 1], the "cell" and "new" candidates in [-1, 1].
    gates: dict[str, torch.Tensor] = field(default_factory=dict)
    # (B, T, H) dL/dh_t, the total gradient reaching h_t (through the recurrence and the direct
    # path); filled when the block ends, after the caller's backward, with grads=True
    state_grads: torch.Tensor | None = None
    attention: torch.Tensor | None = None  # (B, heads, T, T) transformer; rows sum to 1
    cells: torch.Tensor | None = None  # (B, T, H) LSTM only: the cell state c_t (unbounded)


@dataclass
class Recording:
    """The layers of the last forward pass run inside `recording`, input to output."""

    layers: list[LayerTrace] = field(default_factory=list)
    grads: bool = False
    # (trace, the tensors whose .grad make its state_grads): one per step, or the states whole
    _watched: list[tuple[LayerTrace, list[torch.Tensor]]] = field(default_factory=list, repr=False)

    def layer(self, name: str) -> LayerTrace:
        for trace in self.layers:
            if trace.name == name:
                return trace
        raise KeyError(f"no layer {name!r}; recorded: {', '.join(t.name for t in self.layers)}")

    def begin(self) -> None:
        """A forward pass starts: forget the previous one (models call this)."""
        self.layers = []
        self._watched = []

    def add(
        self,
        name: str,
        states: torch.Tensor,
        *,
        gates: dict[str, torch.Tensor] | None = None,
        attention: torch.Tensor | None = None,
        cells: torch.Tensor | None = None,
        steps: list[torch.Tensor] | None = None,
    ) -> None:
        """Record a layer (models call this). `states` (B, T, H) still in the graph; `steps`,
        the (B, H) tensors it was stacked from, each feeding the next step as well as the output:
        their gradients are the total ones (a stacked copy would only get the direct part)."""
        trace = LayerTrace(
            name=name,
            states=states.detach(),
            gates={k: v.detach() for k, v in (gates or {}).items()},
            attention=None if attention is None else attention.detach(),
            cells=None if cells is None else cells.detach(),
        )
        self.layers.append(trace)
        if self.grads and states.requires_grad:
            watched = steps if steps is not None else [states]
            for t in watched:
                t.retain_grad()
            self._watched.append((trace, watched))

    def _fill_grads(self) -> None:
        for trace, watched in self._watched:
            grads = [t.grad for t in watched]
            if all(g is None for g in grads):
                continue  # no backward ran (or this layer took no part in the loss)
            full = [torch.zeros_like(t) if g is None else g for t, g in zip(watched, grads)]
            trace.state_grads = full[0] if len(full) == 1 else torch.stack(full, dim=1)
        self._watched = []  # let the graph's tensors go


def can_record(model: nn.Module) -> bool:
    return hasattr(model, ATTR)


@contextmanager
def recording(model: nn.Module, grads: bool = False) -> Iterator[Recording]:
    """While inside, the model runs its observable path (step-by-step cells, explicit attention)
    and records each layer; with grads=True the caller runs backward inside the block, and the
    state gradients are filled in when the block ends.

    model.training is left as it is (dropout still applies when training). Call it from the
    thread that runs the model: every forward pass of the model inside the block is recorded.
    """
    if not can_record(model):
        raise TypeError(
            f"{type(model).__name__} cannot be recorded: only the sequence models "
            "(rnn, lstm, gru, cnn1d, transformer, bow) can"
        )
    rec = Recording(grads=grads)
    with _LOCK:
        if getattr(model, ATTR) is not None:
            raise RuntimeError("this model is already being recorded")
        setattr(model, ATTR, rec)
    try:
        yield rec
    finally:
        setattr(model, ATTR, None)
        rec._fill_grads()
