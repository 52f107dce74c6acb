"""Every dataset of the Sequence lab behind one call: `load_sequence(DataConfig) -> Dataset`.

What each kind of task gives a network:

- generation (copy, reverse, sort, addition): the whole string ``question = answer`` as a
  next-token task. x = s[:-1], y = s[1:], and y is IGNORE except where the next token is an
  answer token (the "=" position and every answer position but the last). The input vocabulary
  is the task's plus "=" at its end, so digits keep ids 0-9 and target class i is input token i;
  `prompt` is the question's length plus one (the "=").
- parens: the brackets, and the depth after each one (a token task, causal, no prompt).
- parity, temporal_order, recall: one class a sequence, a stratified split.
- sentiment, chars (dlviz.data.text), the series (dlviz.data.series), and a person's own text,
  labelled texts and series (dlviz.data.sequence_files, read from cfg.path here).

`cfg.noise` is used by the series only; the symbol tasks and sentiment are exact.
"""

from __future__ import annotations

import numpy as np

from dlviz.config import GENERATION_DATASETS, SERIES_DATASETS, SYMBOL_DATASETS, DataConfig
from dlviz.data.base import IGNORE, Dataset, SequenceInfo, split
from dlviz.data.sequence_files import load_own
from dlviz.data.series import series_dataset
from dlviz.data.symbols import SymbolSet, generate
from dlviz.data.text import char_dataset, python_docs, sentiment_dataset, token_dataset

SEPARATOR = "="  # between a generation task's question and its answer


def load_sequence(cfg: DataConfig) -> Dataset:
    """The sequence dataset `cfg` names, split into train and test; the same for the same
    seed. A person's own data (own_text, own_labels, own_series) is read from cfg.path."""
    name = cfg.name
    if name in SYMBOL_DATASETS:
        return symbol_dataset(cfg)
    if name == "sentiment":
        return sentiment_dataset(cfg)
    if name == "chars":
        return char_dataset(name, python_docs(), cfg, ascii_only=True)
    if name in ("own_text", "own_labels", "own_series"):
        return load_own(cfg)
    if name in SERIES_DATASETS:
        return series_dataset(cfg)
    raise ValueError(f"data.name: {name!r} is not a sequence dataset")


def symbol_dataset(cfg: DataConfig) -> Dataset:
    """A symbol task (dlviz.data.symbols) in the format its kind of task needs."""
    s = generate(cfg.name, cfg.n_samples, cfg.seq_length, cfg.seed)
    if cfg.name in GENERATION_DATASETS:
        x, y, vocab, prompt = generation_strings(s)
        info = SequenceInfo(task="tokens", vocab=vocab, causal=True, prompt=prompt)
        return _random_split(cfg, x, y, s.target_vocab, info)
    if s.target == "tokens":  # parens: the depth after each bracket
        info = SequenceInfo(task="tokens", vocab=s.vocab, causal=True)
        return _random_split(cfg, s.x, s.y, s.target_vocab, info)
    xtr, ytr, xte, yte = split(s.x, s.y, cfg.test_fraction, cfg.seed)
    info = SequenceInfo(task="class", vocab=s.vocab)
    return token_dataset(cfg.name, xtr, ytr, xte, yte, s.target_vocab, info)


def generation_strings(
    s: SymbolSet,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], int]:
    """A generation task's (x, y, input vocab, prompt): each row s = question, "=", answer;
    x = s[:-1] and y = s[1:], IGNORE where the next token is not part of the answer."""
    vocab = (*s.vocab, SEPARATOR)
    n, question = s.x.shape
    full = np.concatenate([s.x, np.full((n, 1), len(s.vocab), dtype=np.int64), s.y], axis=1)
    x, y = full[:, :-1].copy(), full[:, 1:].copy()
    y[:, :question] = IGNORE  # (N, Q + A): positions before "=" are followed by the question
    return x, y, vocab, question + 1


def _random_split(
    cfg: DataConfig, x: np.ndarray, y: np.ndarray, class_names: tuple[str, ...], info: SequenceInfo
) -> Dataset:
    """A seeded random split (token tasks have no one class a sequence to stratify by)."""
    idx = np.arange(len(x))
    tr, _, te, _ = split(idx, np.zeros(len(x), dtype=np.int64), cfg.test_fraction, cfg.seed)
    return token_dataset(cfg.name, x[tr], y[tr], x[te], y[te], class_names, info)
