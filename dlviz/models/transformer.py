"""The transformer ("transformer"): token embedding + positions -> pre-norm blocks -> head.

Attention runs `F.scaled_dot_product_attention` when nothing watches; inside
`dlviz.models.recording.recording` it is computed explicitly, as minGPT does, so every head's
weights (B, heads, T, T) can be read. `head_mask` (layers, heads), ones by default, scales each
head's output in both paths: set an entry to 0 to silence that head.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dlviz.config import ModelConfig
from dlviz.models.layers import SeededDropout
from dlviz.models.recording import Recording
from dlviz.models.registry import register_model
from dlviz.models.sequence import SequenceNet


def sinusoidal_table(length: int, width: int) -> torch.Tensor:
    """(length, width) fixed positions of "Attention is all you need": sin on even columns,
    cos on odd ones, wavelengths from 2*pi to 10000*2*pi."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]  # (T, 1)
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : width // 2]
    return table


class SelfAttention(nn.Module):
    """Multi-head self-attention: `heads` heads of width/heads each, one qkv projection and
    one output projection."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def qkv_heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> q, k, v, each (B, heads, T, C/heads)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        return tuple(t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))  # type: ignore[return-value]

    def forward(
        self,
        x: torch.Tensor,
        allowed: torch.Tensor | None,
        causal: bool,
        head_mask: torch.Tensor,
        explicit: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, C); `allowed` (B, 1, T, T) True where a query may read a key (None: all,
        or the causal triangle). Returns the output (B, T, C) and, when `explicit`, the weights
        (B, heads, T, T)."""
        B, T, C = x.shape
        q, k, v = self.qkv_heads(x)  # (B, nh, T, hs)
        att = None
        if explicit:
            if allowed is None and causal:
                allowed = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
            if allowed is not None:
                att = att.masked_fill(~allowed, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = att @ v  # (B, nh, T, hs)
        else:
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=allowed, is_causal=causal and allowed is None
            )
        y = y * head_mask.view(1, self.heads, 1, 1)  # a 0 silences that head
        return self.proj(y.transpose(1, 2).reshape(B, T, C)), att


class Block(nn.Module):
    """Pre-norm: x + drop(attn(ln1(x))), then + drop(mlp(ln2(x))), the MLP 4x wide with GELU."""

    def __init__(self, width: int, heads: int, dropout: float, name: str):
        super().__init__()
        self.name = name
        self.ln1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )
        self.drop = SeededDropout(dropout)

    @property
    def weight(self) -> torch.Tensor:
        """The attention's qkv weight: the block's gradient."""
        return self.attn.qkv.weight

    def forward(
        self,
        x: torch.Tensor,
        allowed: torch.Tensor | None = None,
        causal: bool = False,
        head_mask: torch.Tensor | None = None,
        rec: Recording | None = None,
    ) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        if head_mask is None:
            head_mask = x.new_ones(self.attn.heads)
        a, att = self.attn(self.ln1(x), allowed, causal, head_mask, explicit=rec is not None)
        x = x + self.drop(a)
        x = x + self.drop(self.mlp(self.ln2(x)))
        if rec is not None:
            rec.add(self.name, x, attention=att)  # the residual stream after the block
        return x


class Transformer(SequenceNet):
    """embed + positions -> `layers` Blocks -> LayerNorm -> head. A class is the mean over real
    positions (keys at padding are never attended to); a forecast reads the last position;
    causal tasks mask the future. Positions count from each row's first real token, so left
    padding moves nothing."""

    pos_table: torch.Tensor  # buffers, (T, C) and (layers, heads)
    head_mask: torch.Tensor

    def __init__(self, cfg: ModelConfig, input_shape, n_outputs: int, spec: Any):
        super().__init__(cfg, input_shape, n_outputs, spec)
        width, T = cfg.hidden_size, self.context_length
        if width % cfg.heads:
            raise ValueError(f"{cfg.heads} heads do not divide the width {width}")
        self.causal = bool(spec.causal)
        self.pos: nn.Module | None = None
        if cfg.positions == "learned":
            self.pos = nn.Embedding(T, width)
        else:
            self.register_buffer("pos_table", sinusoidal_table(T, width), persistent=False)
        self.layers = nn.ModuleList(
            Block(width, cfg.heads, cfg.dropout, f"block{i + 1}") for i in range(cfg.layers)
        )
        self.ln_f = nn.LayerNorm(width)
        # not in the state dict: an ablation is a question asked of a model, not part of it
        self.register_buffer("head_mask", torch.ones(cfg.layers, cfg.heads), persistent=False)
        self.apply(_init_weights)
        for block in self._layers():  # GPT-2: scale the residual branches' last layers by depth
            for lin in (block.attn.proj, block.mlp[2]):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * cfg.layers))

    def positions(self, real: torch.Tensor | None, T: int) -> torch.Tensor:
        """(T, C), or (B, T, C) counted from each row's first real token."""
        table = self.pos.weight if isinstance(self.pos, nn.Embedding) else self.pos_table
        if real is None:
            return table[:T]
        n_pad = T - real.sum(dim=1, keepdim=True)  # (B, 1)
        ids = (torch.arange(T, device=real.device)[None] - n_pad).clamp(min=0)
        return table[ids]

    def attention_mask(self, real: torch.Tensor | None, T: int) -> torch.Tensor | None:
        """(B, 1, T, T) True where a query may read a key; None with no padding (then the
        causal flag alone says)."""
        if real is None:
            return None
        allowed = real[:, None, None, :]  # keys at padding are never read
        if self.causal:
            allowed = allowed & torch.ones(T, T, dtype=torch.bool, device=real.device).tril()
        # a pad query reads itself alone, so no row is empty (its output is never used)
        return allowed | torch.eye(T, dtype=torch.bool, device=real.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rec = self._begin()
        T = x.size(1)
        if T > self.context_length:
            raise ValueError(
                f"the input has {T} positions; this transformer was built for at most "
                f"{self.context_length}: crop it to the last {self.context_length}"
            )
        real = self.real(x)
        h = self.embed(x) + self.positions(real, T)  # (B, T, C)
        allowed = self.attention_mask(real, T)
        for i, block in enumerate(self.layers):
            h = block(h, allowed, self.causal, self.head_mask[i], rec)
        return self.read_out(self.ln_f(h), real, pool="mean")


def _init_weights(module: nn.Module) -> None:
    # nanoGPT's: small normal weights, zero biases, so the residual stream starts near the input
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


@register_model("transformer")
def _build_transformer(
    cfg: ModelConfig, input_shape: tuple[int, ...], n_outputs: int, spec: Any = None
) -> nn.Module:
    return Transformer(cfg, input_shape, n_outputs, spec)
