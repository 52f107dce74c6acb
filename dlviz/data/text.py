"""Text for sequence models: a sentiment grammar that only an order-aware model can read,
characters of Python's own documentation, and the helpers that turn any text into tokens.

- ``sentiment``: every sentence is two clauses in contrast ("the soup was good but the staff
  was not friendly"), one positive and one negative after negation; the label is the clause
  that wins the contrast ("A but B", "although A , B": B; "A , although B", "A even though B":
  A). The two clauses come in either order with equal chance, and swapping them keeps the bag of
  words and flips the label: a bag-of-words model cannot beat chance, an order-aware one can.
- ``chars``: next-character prediction on `pydoc_data.topics` (about 465,000 characters of the
  Python reference, shipped with Python itself: nothing is downloaded).
- `char_dataset` and `word_dataset` make the same kinds of data from a person's own text
  (`dlviz.data.sequence_files` reads and checks it).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator

import numpy as np
import torch

from dlviz.config import DataConfig
from dlviz.data.base import Dataset, SequenceInfo, split

PAD, UNK = "<pad>", "<unk>"
MAX_WORDS = 5_000  # a labelled CSV's vocabulary: its most frequent training words
MAX_TEXT_WORDS = 256  # words kept of one text (its last ones)
MAX_CHAR_VOCAB = 150  # a person's text: its most frequent characters, the rest become "?"
SENTIMENT_CLASSES = ("negative", "positive")

# --- the sentiment grammar --------------------------------------------------------------------

POSITIVE = (
    "good", "great", "excellent", "wonderful", "lovely", "superb", "pleasant", "delightful",
    "amazing", "brilliant", "charming", "enjoyable", "solid", "impressive", "fantastic", "nice",
    "perfect", "decent", "fresh", "friendly",
)  # fmt: skip
NEGATIVE = (
    "bad", "awful", "terrible", "poor", "dull", "boring", "bland", "weak", "horrible",
    "mediocre", "disappointing", "sloppy", "rude", "tedious", "clumsy", "stale", "noisy",
    "messy", "annoying", "dreadful",
)  # fmt: skip
# (past, base): "we loved the film", "we did not love the film"
LIKE = (("liked", "like"), ("loved", "love"), ("enjoyed", "enjoy"), ("admired", "admire"),
        ("adored", "adore"), ("appreciated", "appreciate"))  # fmt: skip
DISLIKE = (("hated", "hate"), ("disliked", "dislike"), ("loathed", "loathe"),
           ("despised", "despise"), ("resented", "resent"), ("regretted", "regret"))  # fmt: skip
_THINGS = (
    "food", "service", "plot", "acting", "music", "staff", "room", "movie", "book", "price",
    "view", "coffee", "soup", "ending", "script", "hotel", "show", "album", "game", "trip",
    "concert", "menu", "design", "camera", "screen", "battery", "lecture", "teacher", "course",
    "story", "dessert", "wine", "garden", "city", "beach", "flight", "driver", "app", "phone",
    "sequel",
)  # fmt: skip
_OWNERS = ("the", "this", "that", "our", "their", "my", "his", "her")
_PEOPLE = (
    "i", "we", "they", "my friend", "my sister", "my brother", "the critic", "my parents",
    "everyone", "the kids", "our guests", "my boss", "the audience", "my neighbour", "the reviewer",
)  # fmt: skip
_THINK = ("thought", "felt", "said", "agreed", "claimed", "insisted", "admitted")
_COPULA = ("was", "is", "seemed", "looked", "sounded", "felt")
_ADVERBS = ("very", "really", "quite", "rather", "truly", "pretty", "so", "incredibly",
            "fairly", "somewhat", "totally", "extremely")  # fmt: skip
_OPENERS = ("honestly ,", "overall ,", "frankly ,", "to be fair ,", "in the end ,", "well ,",
            "on the whole ,", "all in all ,", "apparently ,")  # fmt: skip
_CLOSERS = ("today", "this time", "last night", "again", "as usual", "this year",
            "in my opinion", "for once")  # fmt: skip
# How two clauses are joined, and which of them (0: the first, 1: the second) wins.
CONTRASTS = (("{a} but {b}", 1), ("although {a} , {b}", 1), ("{a} , however {b}", 1),
             ("{a} , although {b}", 0), ("{a} even though {b}", 0))  # fmt: skip


_DRAWS = 40  # uniform numbers a sentence may use (drawn at once: fast, and seed-stable)


def _clause(u: Iterator[float], positive: bool) -> str:
    """One clause whose sentiment after negation is `positive`; `u` gives uniform numbers."""
    negated = next(u) < 0.5
    thing = f"{_pick(u, _OWNERS)} {_pick(u, _THINGS)}"
    if next(u) < 0.3:  # a verb of liking: "we loved the soup", "we did not hate it"
        past, base = _pick(u, LIKE if positive != negated else DISLIKE)
        verb = f"did not {base}" if negated else past
        return f"{_pick(u, _PEOPLE)} {verb} {thing}"
    adjective = _pick(u, POSITIVE if positive != negated else NEGATIVE)
    if negated:
        quality = f"not {adjective}"
    elif next(u) < 0.4:
        quality = f"{_pick(u, _ADVERBS)} {adjective}"
    else:
        quality = adjective
    clause = f"{thing} {_pick(u, _COPULA)} {quality}"
    if next(u) < 0.3:  # "my friend said the soup was good"
        clause = f"{_pick(u, _PEOPLE)} {_pick(u, _THINK)} {clause}"
    return clause


def _pick(u: Iterator[float], options: tuple):
    return options[int(next(u) * len(options))]


def sentiment_sentences(n: int, seed: int) -> tuple[list[list[str]], np.ndarray]:
    """`n` sentences as word lists and their labels (0 negative, 1 positive)."""
    uniforms = np.random.default_rng(seed).random((n, _DRAWS)).tolist()
    sentences, labels = [], np.zeros(n, dtype=np.int64)
    for i in range(n):
        u = iter(uniforms[i])
        good, bad = _clause(u, True), _clause(u, False)
        good_first = next(u) < 0.5  # the coin a bag of words cannot see
        first, second = (good, bad) if good_first else (bad, good)
        form, winner = _pick(u, CONTRASTS)
        text = form.format(a=first, b=second)
        if next(u) < 0.3:
            text = f"{_pick(u, _OPENERS)} {text}"
        if next(u) < 0.3:
            text = f"{text} {_pick(u, _CLOSERS)}"
        sentences.append(text.split())
        labels[i] = int(good_first == (winner == 0))
    return sentences, labels


@functools.lru_cache(maxsize=1)
def sentiment_vocab() -> tuple[str, ...]:
    """Every word the grammar can write, sorted, after "<pad>" (id 0): the same for every seed."""
    phrases = (
        POSITIVE + NEGATIVE + _THINGS + _OWNERS + _PEOPLE + _THINK + _COPULA + _ADVERBS
        + _OPENERS + _CLOSERS + tuple(w for pair in LIKE + DISLIKE for w in pair)
        + tuple(form.format(a="", b="") for form, _ in CONTRASTS) + ("did not",)
    )  # fmt: skip
    return (PAD, *sorted({w for p in phrases for w in p.split()}))


def sentiment_dataset(cfg: DataConfig) -> Dataset:
    """The sentiment task as a split dataset (words as tokens, left-padded with 0)."""
    sentences, labels = sentiment_sentences(cfg.n_samples, cfg.seed)
    vocab = sentiment_vocab()
    index = {w: i for i, w in enumerate(vocab)}
    x = pad_left([[index[w] for w in s] for s in sentences], cfg.length)
    xtr, ytr, xte, yte = split(x, labels, cfg.test_fraction, cfg.seed)
    info = SequenceInfo(task="class", vocab=vocab, pad=0)
    return token_dataset(cfg.name, xtr, ytr, xte, yte, SENTIMENT_CLASSES, info)


# --- helpers ----------------------------------------------------------------------------------


def pad_left(rows: list[list[int]], length: int = 0, pad: int = 0) -> np.ndarray:
    """Token rows as one (N, T) int64 array, left-padded with `pad`: T is `length`, or the
    longest row when 0; a longer row keeps its last `length` tokens."""
    width = length or max((len(r) for r in rows), default=1) or 1
    out = np.full((len(rows), width), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        r = r[-width:]
        if r:
            out[i, width - len(r) :] = r
    return out


def token_dataset(
    name: str,
    xtr: np.ndarray,
    ytr: np.ndarray,
    xte: np.ndarray,
    yte: np.ndarray,
    class_names: tuple[str, ...],
    seq: SequenceInfo,
) -> Dataset:
    """Token arrays (int64) as a Dataset of kind ``tokens``."""

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))

    return Dataset(
        name=name,
        kind="tokens",
        x_train=t(xtr),
        y_train=t(ytr),
        x_test=t(xte),
        y_test=t(yte),
        class_names=tuple(class_names),
        seq=seq,
    )


# --- characters -------------------------------------------------------------------------------

_PRINTABLE = frozenset(chr(c) for c in range(32, 127)) | {"\n"}


@functools.lru_cache(maxsize=1)
def python_docs() -> str:
    """The corpus of ``chars``: the Python reference's topics (`pydoc_data.topics`), joined in
    the order of their keys."""
    from pydoc_data.topics import topics

    return "\n".join(topics[k] for k in sorted(topics))


def encode_chars(text: str, ascii_only: bool) -> tuple[np.ndarray, tuple[str, ...]]:
    """Character ids (int64) and the vocabulary, sorted. `ascii_only`: printable ASCII and
    newlines; otherwise the MAX_CHAR_VOCAB - 1 most frequent printable characters. Any other
    character becomes "?"."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    counts = Counter(text)
    if ascii_only:
        keep = {c for c in counts if c in _PRINTABLE}
    else:
        ranked = sorted((c for c in counts if c.isprintable() or c == "\n"),
                        key=lambda c: (-counts[c], c))  # fmt: skip
        keep = set(ranked[: MAX_CHAR_VOCAB - 1])
    if len(keep) < len(counts):
        keep.add("?")
    vocab = tuple(sorted(keep))
    index = {c: i for i, c in enumerate(vocab)}
    unknown = index.get("?", 0)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    uniq, inverse = np.unique(codes, return_inverse=True)
    lut = np.array([index.get(chr(int(u)), unknown) for u in uniq], dtype=np.int64)
    return lut[inverse.reshape(-1)], vocab


def min_text_size(window: int, test_fraction: float) -> int:
    """The fewest items (characters, values) whose train and test parts each hold `window`."""
    n = window
    while int(n * (1 - test_fraction)) < window or n - int(n * (1 - test_fraction)) < window:
        n += 1
    return n


def char_dataset(name: str, text: str, cfg: DataConfig, ascii_only: bool = False) -> Dataset:
    """Next-character prediction on `text`: cfg.n_samples windows of cfg.seq_length + 1
    characters at seeded random places, train windows from the first 1 - test_fraction of the
    text and test windows from the rest (none crosses the boundary). x = window[:-1],
    y = window[1:]: target i is character id i."""
    ids, vocab = encode_chars(text, ascii_only)
    need = cfg.seq_length + 1
    if len(ids) < min_text_size(need, cfg.test_fraction):
        raise ValueError(
            f"the text has {len(ids):,} characters; a context of {cfg.seq_length} needs at "
            f"least {min_text_size(need, cfg.test_fraction):,} (windows of {need} in both the "
            f"training and the test part, {cfg.test_fraction:.0%} of the text): add text or "
            "shorten the context"
        )
    boundary = int(len(ids) * (1 - cfg.test_fraction))
    n_test = min(cfg.n_samples - 1, max(1, int(round(cfg.n_samples * cfg.test_fraction))))
    rng = np.random.default_rng(cfg.seed)
    starts_tr = rng.integers(0, boundary - need + 1, size=cfg.n_samples - n_test)
    starts_te = rng.integers(boundary, len(ids) - need + 1, size=n_test)
    offsets = np.arange(need)
    wtr, wte = ids[starts_tr[:, None] + offsets], ids[starts_te[:, None] + offsets]
    info = SequenceInfo(task="tokens", vocab=vocab, causal=True)
    return token_dataset(name, wtr[:, :-1], wtr[:, 1:], wte[:, :-1], wte[:, 1:], vocab, info)


# --- words ------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """`text` lowercased and split on everything that is not a letter or a digit."""
    return _WORD.findall(text.lower())


def word_dataset(name: str, texts: list[str], labels: list[str], cfg: DataConfig) -> Dataset:
    """Texts with one label each, as a stratified split: words as tokens ("<pad>" 0, "<unk>"
    1, then the MAX_WORDS most frequent words of the training part), each text's last
    cfg.length words (0: the longest, at most MAX_TEXT_WORDS), left-padded; class names are the
    labels sorted."""
    class_names = tuple(sorted(set(labels)))
    y = np.array([class_names.index(lb) for lb in labels], dtype=np.int64)
    tr, ytr, te, yte = split(np.arange(len(texts)), y, cfg.test_fraction, cfg.seed)
    tokens = [words(t)[-MAX_TEXT_WORDS:] for t in texts]
    counts = Counter(w for i in tr for w in tokens[i])
    common = sorted(counts, key=lambda w: (-counts[w], w))[:MAX_WORDS]
    vocab = (PAD, UNK, *common)
    index = {w: i for i, w in enumerate(vocab)}
    ids = [[index.get(w, 1) for w in ws] for ws in tokens]
    x = pad_left(ids, min(cfg.length, MAX_TEXT_WORDS))  # 0: the longest (already <= 256)
    info = SequenceInfo(task="class", vocab=vocab, pad=0)
    return token_dataset(name, x[tr], ytr, x[te], yte, class_names, info)
