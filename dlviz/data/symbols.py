"""Symbol tasks for sequence models, generated from a seed: each sequence is a row of token ids,
and its target is either one class for the whole sequence or one token per output position.

- ``copy``, ``reverse``, ``sort``: `length` symbols from 0-9; the target is the same symbols,
  reversed, or sorted ascending (one target token per position).
- ``addition``: two `length`-digit numbers, least significant digit first, ``a + b``; the
  target is the `length + 1` digits of the sum, least significant first (carrying is what the
  network has to learn; reversed digits make it local).
- ``parity``: `length` bits; the class is whether an odd number of them are 1.
- ``parens``: a balanced string of `length` brackets (an even `length`); the target at each
  position is the nesting depth just after that bracket.
- ``temporal_order``: Hochreiter and Schmidhuber's task: `length` distractor symbols with two
  markers, each X or Y, one early (10-20% in) and one late (50-60% in); the class is their
  order, XX, XY, YX or YY. Nothing in between matters: the network must carry the first marker
  across the gap.
- ``recall``: associative recall: key-value pairs (distinct letters, digits), then ``?`` and one
  of the keys; the class is that key's value ("... c 7 ... ? c" -> 7).

This module only makes the arrays; `dlviz.data` turns them into a split dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SYMBOL_TASKS = (
    "copy",
    "reverse",
    "sort",
    "addition",
    "parity",
    "parens",
    "temporal_order",
    "recall",
)
DIGITS = tuple("0123456789")
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class SymbolSet:
    """Sequences of token ids `x` (N, T) and their targets `y`: (N,) classes when
    `target == "class"`, else (N, T_out) target token ids. Tokens and target tokens are named
    by `vocab` and `target_vocab`."""

    name: str
    x: np.ndarray  # int64
    y: np.ndarray  # int64
    vocab: tuple[str, ...]
    target_vocab: tuple[str, ...]
    target: str  # "class" | "tokens"

    def text(self, i: int) -> str:
        """Sequence `i` as text, a space between tokens."""
        return " ".join(self.vocab[t] for t in self.x[i])


def min_length(name: str) -> int:
    """The shortest `length` a task can be made with."""
    return {"parens": 2, "temporal_order": 4, "recall": 4}.get(name, 1)


def generate(name: str, n: int, length: int, seed: int) -> SymbolSet:
    """`n` sequences of task `name` at `length`, the same for the same seed."""
    if name not in SYMBOL_TASKS:
        raise ValueError(f"unknown symbol task {name!r}; choose from {', '.join(SYMBOL_TASKS)}")
    if length < min_length(name):
        raise ValueError(f"{name} needs a length of at least {min_length(name)}, got {length}")
    if name == "parens" and length % 2:
        raise ValueError(f"parens needs an even length (balanced brackets), got {length}")
    rng = np.random.default_rng(seed)
    make = {
        "copy": _copy,
        "reverse": _reverse,
        "sort": _sort,
        "addition": _addition,
        "parity": _parity,
        "parens": _parens,
        "temporal_order": _temporal_order,
        "recall": _recall,
    }[name]
    return make(rng, n, length)


def _digits(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    return rng.integers(0, 10, size=(n, length), dtype=np.int64)


def _copy(rng, n, length) -> SymbolSet:
    x = _digits(rng, n, length)
    return SymbolSet("copy", x, x.copy(), DIGITS, DIGITS, "tokens")


def _reverse(rng, n, length) -> SymbolSet:
    x = _digits(rng, n, length)
    return SymbolSet("reverse", x, x[:, ::-1].copy(), DIGITS, DIGITS, "tokens")


def _sort(rng, n, length) -> SymbolSet:
    x = _digits(rng, n, length)
    return SymbolSet("sort", x, np.sort(x, axis=1), DIGITS, DIGITS, "tokens")


def _addition(rng, n, length) -> SymbolSet:
    plus = len(DIGITS)  # the "+" token
    a, b = _digits(rng, n, length), _digits(rng, n, length)
    x = np.concatenate([a, np.full((n, 1), plus, dtype=np.int64), b], axis=1)
    out = np.zeros((n, length + 1), dtype=np.int64)
    carry = np.zeros(n, dtype=np.int64)
    for i in range(length):  # digit i is worth 10**i: the sum, column by column
        s = a[:, i] + b[:, i] + carry
        out[:, i], carry = s % 10, s // 10
    out[:, length] = carry
    return SymbolSet("addition", x, out, (*DIGITS, "+"), DIGITS, "tokens")


def _parity(rng, n, length) -> SymbolSet:
    x = rng.integers(0, 2, size=(n, length), dtype=np.int64)
    return SymbolSet("parity", x, x.sum(axis=1) % 2, ("0", "1"), ("even", "odd"), "class")


def _parens(rng, n, length) -> SymbolSet:
    x = np.zeros((n, length), dtype=np.int64)  # 0: "(", 1: ")"
    y = np.zeros((n, length), dtype=np.int64)
    for r in range(n):
        depth = 0
        for i in range(length):
            left = length - i  # brackets still to place, this one included
            can_open = depth + 1 <= left - 1
            close = depth > 0 and (not can_open or rng.random() < 0.5)
            depth += -1 if close else 1
            x[r, i] = 1 if close else 0
            y[r, i] = depth
    depths = tuple(str(d) for d in range(length // 2 + 1))
    return SymbolSet("parens", x, y, ("(", ")"), depths, "tokens")


def _temporal_order(rng, n, length) -> SymbolSet:
    vocab = ("a", "b", "c", "d", "X", "Y")
    x = rng.integers(0, 4, size=(n, length), dtype=np.int64)
    lo1, hi1 = length // 10, max(length // 10 + 1, 2 * length // 10)
    lo2 = max(hi1, length // 2)
    hi2 = max(lo2 + 1, 6 * length // 10)
    t1 = rng.integers(lo1, hi1, size=n)
    t2 = rng.integers(lo2, hi2, size=n)
    m1, m2 = rng.integers(0, 2, size=n), rng.integers(0, 2, size=n)  # 0: X, 1: Y
    rows = np.arange(n)
    x[rows, t1] = 4 + m1
    x[rows, t2] = 4 + m2
    return SymbolSet("temporal_order", x, 2 * m1 + m2, vocab, ("XX", "XY", "YX", "YY"), "class")


def _recall(rng, n, length) -> SymbolSet:
    pairs = max(1, (length - 2) // 2)
    if pairs > len(LETTERS):
        raise ValueError(f"recall has at most {len(LETTERS)} keys: length {length} is too long")
    vocab = (*LETTERS, *DIGITS, "?")
    query = len(vocab) - 1
    x = np.zeros((n, 2 * pairs + 2), dtype=np.int64)
    y = np.zeros(n, dtype=np.int64)
    for r in range(n):
        keys = rng.choice(len(LETTERS), size=pairs, replace=False)
        values = rng.integers(0, 10, size=pairs)
        x[r, 0 : 2 * pairs : 2] = keys
        x[r, 1 : 2 * pairs : 2] = len(LETTERS) + values
        asked = rng.integers(0, pairs)
        x[r, -2], x[r, -1] = query, keys[asked]
        y[r] = values[asked]
    return SymbolSet("recall", x, y, vocab, DIGITS, "class")
