"""dlviz.sampling: temperature, top-k and top-p by hand; sampled frequencies; generate()."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from dlviz.config import ModelConfig
from dlviz.data import SequenceInfo
from dlviz.models import build_model
from dlviz.sampling import generate, next_token_probs

# probabilities 0.1, 0.5, 0.15, 0.25, in a shuffled order so indices must be kept right
P = torch.tensor([0.1, 0.5, 0.15, 0.25])
LOGITS = P.log()


def close(a: torch.Tensor, b: list[float]) -> None:
    torch.testing.assert_close(a, torch.tensor(b, dtype=torch.float32), atol=1e-6, rtol=0)


def test_temperature_scales_the_logits_before_the_softmax():
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    for t in (1.0, 2.0, 0.5):
        e = [math.exp(v / t) for v in logits.tolist()]
        close(next_token_probs(logits, temperature=t), [v / sum(e) for v in e])


def test_temperature_zero_is_greedy():
    close(next_token_probs(LOGITS, temperature=0), [0, 1, 0, 0])
    close(next_token_probs(LOGITS, temperature=0, top_p=0.3), [0, 1, 0, 0])


def test_top_k_keeps_the_k_most_likely():
    close(next_token_probs(LOGITS, top_k=2), [0, 0.5 / 0.75, 0, 0.25 / 0.75])
    close(next_token_probs(LOGITS, top_k=1), [0, 1, 0, 0])
    close(next_token_probs(LOGITS, top_k=10), P.tolist())  # more than V: all


def test_top_p_keeps_the_smallest_set_that_reaches_p():
    close(next_token_probs(LOGITS, top_p=0.5), [0, 1, 0, 0])  # 0.5 reaches 0.5
    close(next_token_probs(LOGITS, top_p=0.6), [0, 2 / 3, 0, 1 / 3])
    close(next_token_probs(LOGITS, top_p=0.75), [0, 2 / 3, 0, 1 / 3])  # 0.5 + 0.25 reaches it
    close(next_token_probs(LOGITS, top_p=0.8), [0, 0.5 / 0.9, 0.15 / 0.9, 0.25 / 0.9])
    close(next_token_probs(LOGITS, top_p=0.01), [0, 1, 0, 0])  # the most likely always stays
    close(next_token_probs(LOGITS, top_k=2, top_p=0.8), [0, 2 / 3, 0, 1 / 3])  # both cuts


@pytest.mark.parametrize(
    "kwargs",
    [{"temperature": -1.0}, {"temperature": math.inf}, {"top_k": -1}, {"top_k": 1.5},
     {"top_p": 0.0}, {"top_p": 1.5}],
)  # fmt: skip
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        next_token_probs(LOGITS, **kwargs)


def test_logits_must_be_one_row():
    with pytest.raises(ValueError, match="one row"):
        next_token_probs(torch.zeros(2, 3))


class Fixed(nn.Module):
    """A per-token 'model' whose next-token logits never change; it notes what it was fed."""

    def __init__(self, logits: torch.Tensor, context_length: int = 5):
        super().__init__()
        self.logits = nn.Parameter(logits.clone())
        self.context_length = context_length
        self.seen: list[torch.Tensor] = []
        self.modes: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, T, V)
        self.seen.append(x.clone())
        self.modes.append(self.training)
        return self.logits.expand(*x.shape, -1)


def test_sampled_frequencies_match_the_distribution():
    model = Fixed(LOGITS)
    steps = 4000
    out = generate(model, torch.tensor([0]), steps, temperature=0.7, top_k=3,
                   generator=torch.Generator().manual_seed(0))  # fmt: skip
    expected = next_token_probs(LOGITS, temperature=0.7, top_k=3)
    counts = torch.bincount(out.ids, minlength=4).float()
    assert counts[0] == 0  # cut by top-k
    keep = expected > 0
    chi2 = (((counts - steps * expected) ** 2)[keep] / (steps * expected[keep])).sum()
    assert chi2 < 16.3  # chi-square with 2 degrees of freedom: p < 0.0003 if it were right
    torch.testing.assert_close(out.probs, expected.expand(steps, 4))
    torch.testing.assert_close(out.raw_probs, P.expand(steps, 4))  # before temperature


def test_generate_returns_the_tokens_asked_for_and_crops_the_context():
    model = Fixed(LOGITS, context_length=4)
    model.train()
    prompt = torch.tensor([3, 2])
    out = generate(model, prompt, 5, generator=torch.Generator().manual_seed(1))
    assert out.ids.shape == (5,) and out.tokens.shape == (7,)
    assert out.tokens[:2].tolist() == [3, 2] and out.probs.shape == (5, 4)
    assert [s.shape[1] for s in model.seen] == [2, 3, 4, 4, 4]  # the model's length: 4
    assert model.seen[-1][0].tolist() == out.tokens[2:6].tolist()  # the last 4, unpadded
    assert model.modes == [False] * 5 and model.training  # eval inside, restored after
    model.seen.clear()
    generate(model, prompt, 3, context=2)
    assert [s.shape[1] for s in model.seen] == [2, 2, 2]


def test_generate_is_reproducible_with_a_generator():
    model = Fixed(torch.zeros(6))

    def run(seed: int) -> list[int]:
        return generate(
            model, torch.tensor([1]), 30, generator=torch.Generator().manual_seed(seed)
        ).ids.tolist()

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_generate_with_a_real_transformer_and_greedy_steps():
    spec = SequenceInfo("tokens", tuple("abcde"), causal=True)
    cfg = ModelConfig(arch="transformer", hidden_size=8, layers=1, heads=2)
    model = build_model(cfg, (6,), 5, seed=0, spec=spec)
    out = generate(model, torch.tensor([0, 1, 2]), 8, temperature=0)
    assert out.tokens.shape == (11,) and 0 <= out.ids.min() and out.ids.max() < 5
    assert out.ids.tolist() == out.raw_probs.argmax(1).tolist()  # greedy: always the argmax
    assert model.training  # build_model gives a training model; generate put it back


def test_generate_refuses_a_class_model_and_bad_prompts():
    spec = SequenceInfo("class", tuple("abc"), pad=0)
    model = build_model(ModelConfig(arch="bow", hidden_size=4), (5,), 2, seed=0, spec=spec)
    with pytest.raises(ValueError, match="each position"):
        generate(model, torch.tensor([1, 2]), 2)
    with pytest.raises(ValueError, match="prompt"):
        generate(Fixed(LOGITS), torch.tensor([], dtype=torch.long), 2)
    with pytest.raises(ValueError, match="steps"):
        generate(Fixed(LOGITS), torch.tensor([1]), -1)
