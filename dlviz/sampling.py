"""Generating tokens from a sequence model: temperature, top-k and nucleus (top-p) sampling.

Pure torch. `next_token_probs` turns one position's logits into the distribution a token is
drawn from; `generate` feeds a model its own output, keeping every step's distribution before
and after temperature and the cuts, so a page can draw both as bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


def _check(temperature: float, top_k: int, top_p: float) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ValueError(f"temperature must be a number, got {temperature!r}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be 0 (greedy) or more, got {temperature!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise ValueError(f"top_k must be a whole number, 0 (all tokens) or more, got {top_k!r}")
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise ValueError(f"top_p must be above 0 and at most 1 (1: all tokens), got {top_p!r}")


def next_token_probs(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0
) -> torch.Tensor:
    """(V,) logits -> (V,) the probabilities the next token is drawn from.

    softmax(logits / temperature); then only the `top_k` most likely tokens (0: all) that are
    also among the most likely whose probability together reaches `top_p` (both cuts read on
    the same tempered distribution), renormalised. Temperature 0 is greedy: all on the argmax.
    """
    _check(temperature, top_k, top_p)
    if logits.dim() != 1 or logits.numel() == 0:
        raise ValueError(f"logits must be one row (V,) of scores, got shape {tuple(logits.shape)}")
    logits = logits.detach().float()
    if not bool(torch.isfinite(logits).any()):
        raise ValueError("logits has no finite score: no token can be drawn")
    if temperature == 0:
        return torch.zeros_like(logits).scatter_(0, logits.argmax().view(1), 1.0)
    probs = torch.softmax(logits / temperature, dim=0)
    keep = torch.ones_like(probs, dtype=torch.bool)
    if 0 < top_k < probs.numel():
        keep = torch.zeros_like(keep).scatter_(0, probs.topk(top_k).indices, True)
    if top_p < 1:
        ordered, order = probs.sort(descending=True)
        before = ordered.cumsum(0) - ordered  # the mass of the more likely tokens
        # keep a token while the ones before it fall short of top_p (the tolerance stops a
        # rounding error from adding one more); the most likely is always kept
        nucleus = before < top_p - 1e-6
        nucleus[0] = True
        keep &= torch.zeros_like(keep).scatter_(0, order, nucleus)
    kept = probs * keep
    return kept / kept.sum()


@dataclass(frozen=True)
class GenerationResult:
    """What `generate` made: the prompt, the sampled ids, and each step's distributions."""

    prompt: torch.Tensor  # (T0,) int64
    ids: torch.Tensor  # (steps,) int64, the sampled tokens in order
    raw_probs: torch.Tensor  # (steps, V) the model's softmax at temperature 1
    probs: torch.Tensor  # (steps, V) what each token was drawn from (temperature, top-k, top-p)

    @property
    def tokens(self) -> torch.Tensor:
        """(T0 + steps,) the prompt followed by the sampled tokens."""
        return torch.cat([self.prompt, self.ids])


@torch.no_grad()
def generate(
    model: nn.Module,
    prompt: torch.Tensor,
    steps: int,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    context: int | None = None,
) -> GenerationResult:
    """Sample `steps` tokens after `prompt` (T0,) int64 from a per-token model.

    Each step the model reads the sequence so far, cropped to its last `context` tokens
    (default: the model's input length), unpadded; its output at the last position (B, T, V)
    gives the next token's logits, class i being token id i. `generator` (a CPU generator)
    makes the draws reproducible. Runs in eval mode and restores the model's mode.
    """
    _check(temperature, top_k, top_p)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a whole number, 0 or more, got {steps!r}")
    if prompt.dim() != 1 or prompt.numel() == 0 or prompt.is_floating_point():
        raise ValueError(
            f"prompt must be a non-empty row (T0,) of token ids, got {tuple(prompt.shape)}"
        )
    if context is None:
        context = getattr(model, "context_length", None)
        if context is None:
            raise ValueError("this model does not say its input length: give context=")
    if context < 1:
        raise ValueError(f"context must be at least 1 token, got {context}")
    device = next(model.parameters()).device
    seq = prompt.detach().to(device=device, dtype=torch.long)
    ids, raw, drawn = [], [], []
    was_training = model.training
    model.eval()
    try:
        for _ in range(steps):
            out = model(seq[-context:][None])  # (1, T, V)
            if out.dim() != 3:
                raise ValueError(
                    f"generation needs a token at each position (B, T, V); this model gives "
                    f"{tuple(out.shape)}"
                )
            logits = out[0, -1].float().cpu()  # (V,) on the CPU, where `generator` draws
            p = next_token_probs(logits, temperature, top_k, top_p)
            token = torch.multinomial(p, 1, generator=generator)  # (1,)
            seq = torch.cat([seq, token.to(device)])
            ids.append(token)
            raw.append(torch.softmax(logits, dim=0))
            drawn.append(p)
    finally:
        model.train(was_training)
    vocab = raw[0].numel() if raw else 0
    return GenerationResult(
        prompt=prompt.detach().cpu().long(),
        ids=torch.cat(ids) if ids else torch.zeros(0, dtype=torch.long),
        raw_probs=torch.stack(raw) if raw else torch.zeros(0, vocab),
        probs=torch.stack(drawn) if drawn else torch.zeros(0, vocab),
    )
