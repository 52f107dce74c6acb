"""Sequence models: recurrent ("rnn", "lstm", "gru"), convolutional ("cnn1d") and a bag of
words ("bow"); the transformer (dlviz.models.transformer) shares `SequenceNet` with them.

Each reads token ids (B, T) or a series' values (B, T, 1) and gives, as `SequenceInfo.task`
says, class logits (B, n), a token's logits at each position (B, T, n) or a forecast
(B, horizon). Recurrent layers run torch's fused kernel; inside
`dlviz.models.recording.recording` they run the same parameters step by step, gate by gate,
so gates and states can be read (the tests check both paths agree).

Class-task sequences are left-padded with `spec.pad`: every model ignores the padding, so
padding an input more leaves its output as it was.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlviz.config import ModelConfig
from dlviz.data.base import AudioInfo
from dlviz.models.layers import ACTIVATIONS, SeededDropout
from dlviz.models.recording import Recording
from dlviz.models.registry import register_model

TASKS = ("class", "tokens", "forecast")
GATES = {
    "rnn": (),
    "lstm": ("input", "forget", "cell", "output"),  # torch's order of the gate rows: i, f, g, o
    "gru": ("reset", "update", "new"),  # r, z, n
}
_TORCH_RNN = {
    "rnn": lambda i, h: nn.RNN(i, h, nonlinearity="tanh", batch_first=True),
    "lstm": lambda i, h: nn.LSTM(i, h, batch_first=True),
    "gru": lambda i, h: nn.GRU(i, h, batch_first=True),
}


def real_positions(x: torch.Tensor, pad: int) -> torch.Tensor:
    """(B, T) bool: the positions from each row's first real token on (rows are left-padded with
    `pad`). The last position always counts, so no row is empty."""
    tokens = x if x.dim() == 2 else x[..., 0]
    T = tokens.size(1)
    leading = (tokens == pad).long().cumprod(dim=1).sum(dim=1).clamp(max=T - 1)  # (B,)
    return torch.arange(T, device=x.device)[None] >= leading[:, None]


def masked_mean(h: torch.Tensor, real: torch.Tensor | None) -> torch.Tensor:
    """(B, T, H) -> (B, H): the mean over real positions (all when `real` is None)."""
    if real is None:
        return h.mean(dim=1)
    w = real.to(h.dtype)[..., None]  # (B, T, 1)
    return (h * w).sum(dim=1) / w.sum(dim=1)


class SequenceNet(nn.Module):
    """What every sequence model shares: the input embedding (token ids) or projection (a
    series' values), the padding, dropout before the head, the head read out per task, and the
    lists probes rely on. Subclasses fill `layers`, each layer having a `name` and a `weight`."""

    layers: nn.ModuleList

    def __init__(
        self, cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int, spec: Any
    ) -> None:
        super().__init__()
        if spec is None or getattr(spec, "task", None) not in TASKS:
            raise ValueError(
                f"{cfg.arch} needs the data's SequenceInfo (spec=...) with a task of "
                f"{', '.join(TASKS)}; got {spec!r}"
            )
        self.task: str = spec.task
        self.pad = spec.pad if spec.task == "class" else -1  # only class tasks are padded
        self.context_length = int(input_shape[0])  # T: the longest input
        width = cfg.hidden_size
        if spec.task == "forecast":
            if len(input_shape) != 2 or input_shape[1] != 1:
                raise ValueError(f"a forecast reads (T, 1) values, got input shape {input_shape}")
            self.embed: nn.Module = nn.Linear(1, width)
        else:
            if len(input_shape) != 1 or not spec.vocab:
                raise ValueError(
                    f"{spec.task} reads (T,) token ids of a vocabulary; got input shape "
                    f"{input_shape} and {len(spec.vocab)} tokens"
                )
            self.embed = nn.Embedding(len(spec.vocab), width)
        self.drop = SeededDropout(cfg.dropout)
        self.head = nn.Linear(width, n_outputs)
        self._recording: Recording | None = None  # set by dlviz.models.recording

    def _begin(self) -> Recording | None:
        rec = self._recording
        if rec is not None:
            rec.begin()
        return rec

    def real(self, x: torch.Tensor) -> torch.Tensor | None:
        """(B, T) bool real positions, or None when this task has no padding."""
        return None if self.pad < 0 else real_positions(x, self.pad)

    def read_out(self, h: torch.Tensor, real: torch.Tensor | None, pool: str) -> torch.Tensor:
        """The head on the last layer's states h (B, T, H): every position for tokens, the last
        for a forecast, and for a class the last (`pool` "last") or the mean over real ones."""
        h = self.drop(h)
        if self.task == "tokens":
            return self.head(h)  # (B, T, n)
        if self.task == "forecast" or pool == "last":
            return self.head(h[:, -1])  # (B, n)
        return self.head(masked_mean(h, real))

    def _layers(self) -> list[Any]:
        return list(self.layers)

    def layer_names(self) -> list[str]:
        return [layer.name for layer in self._layers()]

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        layers = [(layer.name, layer) for layer in self._layers()]
        return [("embed", self.embed), *layers, ("head", self.head)]

    def activation_points(self) -> list[tuple[str, nn.Module]]:
        return [(layer.name, layer) for layer in self._layers()]


class RecurrentLayer(nn.Module):
    """One recurrent layer (B, T, I) -> (B, T, H): torch's fused single-layer module, or, when
    recording, the same parameters step by step (gates read at every step)."""

    def __init__(self, kind: str, size_in: int, size: int, forget_bias: float, name: str):
        super().__init__()
        self.kind, self.name, self.size = kind, name, size
        self.rnn = _TORCH_RNN[kind](size_in, size)
        # The gate that keeps the memory - the LSTM's forget gate, the GRU's update gate (torch's
        # GRU keeps z of the old state) - starts with `forget_bias`: open at first, it lets
        # memory and gradient last across long gaps. Both are the second block of gate rows.
        if kind in ("lstm", "gru"):
            with torch.no_grad():
                cast(torch.Tensor, self.rnn.bias_ih_l0)[size : 2 * size].fill_(forget_bias)
                cast(torch.Tensor, self.rnn.bias_hh_l0)[size : 2 * size].zero_()

    @property
    def weight(self) -> torch.Tensor:
        """The recurrent weight: its gradient is the one that vanishes through time."""
        return cast(torch.Tensor, self.rnn.weight_hh_l0)

    def forward(
        self, x: torch.Tensor, real: torch.Tensor | None = None, rec: Recording | None = None
    ) -> torch.Tensor:
        """x (B, T, I); `real` (B, T) where rows are left-padded (the state stays zero through
        the padding), else None."""
        if rec is not None:
            return self._steps(x, real, rec)
        if real is None:
            return self.rnn(x)[0]
        return self._packed(x, real)

    def _packed(self, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        # The fused kernel skips padding only at the end of a row: move each row's real tokens
        # to the front, pack, run, and move the states back (zeros at the padding).
        B, T, width_in = x.shape
        n_pad = T - real.sum(dim=1)  # (B,) leading pads
        t = torch.arange(T, device=x.device)
        ahead = (t[None] + n_pad[:, None]) % T  # (B, T)
        xs = x.gather(1, ahead[..., None].expand(B, T, width_in))
        packed = pack_padded_sequence(xs, (T - n_pad).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=T)
        back = (t[None] - n_pad[:, None]) % T
        return out.gather(1, back[..., None].expand(B, T, self.size))

    def _steps(self, x: torch.Tensor, real: torch.Tensor | None, rec: Recording) -> torch.Tensor:
        p = self.rnn
        B, T, _ = x.shape
        # the input's share of every gate, for all steps at once: (B, T, G*H)
        xw = F.linear(x, cast(torch.Tensor, p.weight_ih_l0), cast(torch.Tensor, p.bias_ih_l0))
        w_hh, b_hh = cast(torch.Tensor, p.weight_hh_l0), cast(torch.Tensor, p.bias_hh_l0)
        h = x.new_zeros(B, self.size)  # (B, H)
        c = h
        hs, cs = [], []
        gates: dict[str, list[torch.Tensor]] = {g: [] for g in GATES[self.kind]}
        # one view per step: slicing xw[:, t] instead would make every step's backward write
        # a zero tensor the size of the whole input (a cost that grows as T squared)
        x_steps = xw.unbind(dim=1)
        for t in range(T):
            h_new, c_new, step_gates = self._cell(x_steps[t], F.linear(h, w_hh, b_hh), h, c)
            if real is not None:  # a pad leaves the state as it was: zero, as pads come first
                keep = real[:, t, None]
                h_new, c_new = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
            h, c = h_new, c_new
            hs.append(h)
            cs.append(c)
            for g, value in step_gates.items():
                gates[g].append(value.detach())
        states = torch.stack(hs, dim=1)  # (B, T, H)
        rec.add(
            self.name,
            states,
            gates={g: torch.stack(v, dim=1) for g, v in gates.items()},
            cells=torch.stack(cs, dim=1) if self.kind == "lstm" else None,
            steps=hs,
        )
        return states

    def _cell(
        self, xg: torch.Tensor, hg: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One step, as torch's kernels compute it. xg, hg (B, G*H): the input's and the previous
        state's shares of the gates (biases included)."""
        if self.kind == "lstm":
            i, f, g, o = (xg + hg).chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            return o * torch.tanh(c), c, {"input": i, "forget": f, "cell": g, "output": o}
        if self.kind == "gru":
            xr, xz, xn = xg.chunk(3, dim=1)
            hr, hz, hn = hg.chunk(3, dim=1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)  # the reset gate scales the state's share only
            return (1 - z) * n + z * h, c, {"reset": r, "update": z, "new": n}
        return torch.tanh(xg + hg), c, {}


class RecurrentNet(SequenceNet):
    """embed -> `layers` recurrent layers (dropout between) -> dropout -> head. Class and
    forecast read the last layer's last state (real: padding is on the left); tokens every one."""

    def __init__(self, kind: str, cfg: ModelConfig, input_shape, n_outputs: int, spec: Any):
        super().__init__(cfg, input_shape, n_outputs, spec)
        width = cfg.hidden_size
        self.layers = nn.ModuleList(
            RecurrentLayer(kind, width, width, cfg.forget_bias, f"{kind}{i + 1}")
            for i in range(cfg.layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rec = self._begin()
        real = self.real(x)
        if real is not None and bool(real.all()):
            real = None  # nothing padded in this batch: the plain fused kernel
        h = self.embed(x)  # (B, T, H)
        for i, layer in enumerate(self.layers):
            h = layer(h, real, rec)
            if i < len(self.layers) - 1:
                h = self.drop(h)
        return self.read_out(h, real, pool="last")


class ConvLayer(nn.Module):
    """h + dropout(act(conv(h))) over (B, T, H): a dilated 1-D convolution, left-padded
    (causal: position t sees t and before) or padded on both sides ("same")."""

    def __init__(
        self, size: int, kernel: int, dilation: int, causal: bool, activation: str,
        dropout: float, name: str,
    ):  # fmt: skip
        super().__init__()
        self.name = name
        self.conv = nn.Conv1d(size, size, kernel, dilation=dilation)
        span = (kernel - 1) * dilation
        self.pads = (span, 0) if causal else (span // 2, span - span // 2)
        self.act = ACTIVATIONS[activation]()
        self.drop = SeededDropout(dropout)

    @property
    def weight(self) -> torch.Tensor:
        return self.conv.weight

    def forward(
        self, h: torch.Tensor, real: torch.Tensor | None = None, rec: Recording | None = None
    ) -> torch.Tensor:
        if (
            real is not None
        ):  # pads read as zeros, like the padding at the edge: more changes nothing
            h = h * real[..., None].to(h.dtype)
        y = self.conv(F.pad(h.transpose(1, 2), self.pads)).transpose(1, 2)  # (B, T, H)
        out = h + self.drop(self.act(y))
        if rec is not None:
            rec.add(self.name, out)
        return out


class Conv1dNet(SequenceNet):
    """embed -> `layers` ConvLayers, dilation 1, 2, 4, 8 (the receptive field doubles a layer)
    -> head: a class from the mean over real positions, a forecast from the last position."""

    def __init__(self, cfg: ModelConfig, input_shape, n_outputs: int, spec: Any):
        super().__init__(cfg, input_shape, n_outputs, spec)
        padding = cfg.padding or ("same" if spec.task == "class" else "causal")
        self.causal = padding == "causal"
        self.layers = nn.ModuleList(
            ConvLayer(
                cfg.hidden_size,
                cfg.kernel,
                2**i,
                self.causal,
                cfg.activation,
                cfg.dropout,
                f"conv{i + 1}",
            )  # fmt: skip
            for i in range(cfg.layers)
        )

    def receptive_field(self) -> int:
        """How many positions the last layer's output at t sees."""
        return 1 + sum(
            layer.conv.dilation[0] * (layer.conv.kernel_size[0] - 1) for layer in self._layers()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rec = self._begin()
        real = self.real(x)
        h = self.embed(x)  # (B, T, H)
        for layer in self.layers:
            h = layer(h, real, rec)
        return self.read_out(h, real, pool="mean")


class BowHidden(nn.Module):
    """The bag of words' hidden layer: (B, H) pooled embedding -> (B, 1, H), a sequence of one
    step, so it reads as the other models' layers do."""

    def __init__(self, size: int, name: str = "hidden"):
        super().__init__()
        self.name = name
        self.linear = nn.Linear(size, size)

    @property
    def weight(self) -> torch.Tensor:
        return self.linear.weight

    def forward(self, pooled: torch.Tensor, rec: Recording | None = None) -> torch.Tensor:
        out = torch.relu(self.linear(pooled))[:, None]  # (B, 1, H)
        if rec is not None:
            rec.add(self.name, out)
        return out


class BagOfWords(SequenceNet):
    """The mean of the real tokens' embeddings -> hidden (ReLU) -> head. Blind to order on
    purpose: the baseline that shows what order is worth."""

    def __init__(self, cfg: ModelConfig, input_shape, n_outputs: int, spec: Any):
        super().__init__(cfg, input_shape, n_outputs, spec)
        if spec.task != "class":
            raise ValueError(f"bow gives one class a sequence; this data's task is {spec.task}")
        self.layers = nn.ModuleList([BowHidden(cfg.hidden_size)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rec = self._begin()
        pooled = masked_mean(self.embed(x), self.real(x))  # (B, H)
        h = self.layers[0](pooled, rec)  # (B, 1, H)
        return self.read_out(h, None, pool="last")


def _recurrent(kind: str):
    def build(cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int, spec: Any = None):
        return RecurrentNet(kind, cfg, input_shape, n_outputs, spec)

    return build


for _kind in GATES:
    register_model(_kind)(_recurrent(_kind))


@register_model("cnn1d")
def _build_cnn1d(
    cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int, spec: Any = None
) -> nn.Module:
    if isinstance(spec, AudioInfo):  # a raw wave, not a sequence of tokens or values
        from dlviz.models.audio import build_wave_cnn

        return build_wave_cnn(cfg, input_shape, n_outputs, spec)
    return Conv1dNet(cfg, input_shape, n_outputs, spec)


@register_model("bow")
def _build_bow(
    cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int, spec: Any = None
) -> nn.Module:
    return BagOfWords(cfg, input_shape, n_outputs, spec)
