"""Text datasets: the sentiment grammar (its labels re-derived by a rule written here, and the
ceiling of any order-blind classifier), Python's documentation as characters, and words."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest
import torch

from dlviz.config import DataConfig
from dlviz.data import load_dataset
from dlviz.data.text import (
    DISLIKE,
    LIKE,
    NEGATIVE,
    POSITIVE,
    encode_chars,
    pad_left,
    python_docs,
    sentiment_sentences,
    word_dataset,
    words,
)

GOOD = set(POSITIVE) | {w for pair in LIKE for w in pair}
BAD = set(NEGATIVE) | {w for pair in DISLIKE for w in pair}


def _polarity(clause: list[str]) -> int:
    found = [w for w in clause if w in GOOD or w in BAD]
    assert len(found) == 1, clause
    return int((found[0] in GOOD) != ("not" in clause))


def rule(tokens: list[str]) -> int:
    """The label by hand: "but" and "however" let the second clause win, "even though" the
    first; "although" the first when it follows a clause, else the one after its comma."""
    for word in ("but", "however"):
        if word in tokens:
            return _polarity(tokens[tokens.index(word) + 1 :])
    if "even" in tokens:
        return _polarity(tokens[: tokens.index("even")])
    k = tokens.index("although")
    before, after = tokens[:k], tokens[k + 1 :]
    if any(w in GOOD or w in BAD for w in before):
        return _polarity(before)
    return _polarity(after[after.index(",") + 1 :])


@pytest.mark.parametrize(
    ("sentence", "label"),
    [
        ("the soup was good but the staff was not friendly", 0),
        ("although the soup was not good , we loved the wine", 1),
        ("honestly , although my friend said the plot was dull , the acting was superb", 1),
        ("the plot was dull , although the acting was superb", 0),
        ("we did not hate the show even though the ending was weak", 1),
        ("my boss said the price was bad , however the view was nice today", 1),
    ],
)
def test_the_hand_rule_reads_hand_written_sentences(sentence, label):
    assert rule(sentence.split()) == label


def test_sentiment_labels_follow_the_rule():
    sentences, labels = sentiment_sentences(3000, seed=5)
    assert [rule(s) for s in sentences] == labels.tolist()
    assert 0.45 < labels.mean() < 0.55
    assert len({w for s in sentences for w in s}) > 150  # varied, a few hundred types at most


def test_a_bag_of_words_cannot_beat_chance():
    """Exact multisets of words hardly ever repeat (a few hundred word types), so the best
    order-blind classifier is measured two ways: on the multisets of the words that bear the
    label (sentiment words as + or -, "not", the connectives), whose groups are large; and by
    a linear bag of words over every word, fit on 15,000 sentences and scored on 5,000."""
    sentences, labels = sentiment_sentences(20_000, seed=6)
    keep = {"not", "but", "however", "although", "even", ","}

    def coarse(s: list[str]) -> list[str]:
        return ["+" if w in GOOD else "-" if w in BAD else w for w in s if w in GOOD | BAD | keep]

    def majority_accuracy(keys: list) -> float:
        groups: dict = defaultdict(Counter)
        for k, y in zip(keys, labels.tolist()):
            groups[k][y] += 1
        return sum(c.most_common(1)[0][1] for c in groups.values()) / len(keys)

    bags = [tuple(sorted(coarse(s))) for s in sentences]
    assert majority_accuracy(bags) <= 0.6
    assert majority_accuracy([tuple(coarse(s)) for s in sentences]) == 1.0  # in order: all

    vocab = sorted({w for s in sentences for w in s})
    index = {w: i for i, w in enumerate(vocab)}
    counts = np.zeros((len(sentences), len(vocab) + 1))
    counts[:, -1] = 1.0  # bias
    for i, s in enumerate(sentences):
        for w in s:
            counts[i, index[w]] += 1
    target = 2.0 * labels - 1
    a, b = counts[:15_000], counts[15_000:]
    weights = np.linalg.solve(a.T @ a + 1e-3 * np.eye(a.shape[1]), a.T @ target[:15_000])
    accuracy = ((b @ weights > 0) == (labels[15_000:] == 1)).mean()
    assert accuracy <= 0.6


def test_sentiment_dataset_is_left_padded_words():
    d = load_dataset(DataConfig(name="sentiment", n_samples=400))
    assert d.task == "class" and d.class_names == ("negative", "positive")
    assert d.seq.vocab[0] == "<pad>" and d.seq.pad == 0 and d.x_train.dtype == torch.int64
    x = d.x_train.numpy()
    lengths = (x != 0).sum(axis=1)
    longest = max(lengths.max(), (d.x_test != 0).sum(dim=1).max())
    assert longest == x.shape[1]  # as long as the longest sentence
    for row, n in zip(x, lengths):
        assert (row[: len(row) - n] == 0).all() and (row[len(row) - n :] != 0).all()
    text = d.seq.text(x[0])
    assert text.split()[0] in d.seq.vocab and "<pad>" not in text
    short = load_dataset(DataConfig(name="sentiment", n_samples=400, length=5))
    assert short.x_train.shape[1] == 5
    np.testing.assert_array_equal(short.x_train.numpy(), x[:, -5:])  # the last five words


def test_pad_left_keeps_the_last_tokens():
    np.testing.assert_array_equal(pad_left([[1, 2, 3], [4]]), [[1, 2, 3], [0, 0, 4]])
    np.testing.assert_array_equal(pad_left([[1, 2, 3], []], 2, pad=9), [[2, 3], [9, 9]])


def test_chars_is_pythons_own_documentation():
    from pydoc_data.topics import topics

    text = python_docs()
    assert isinstance(topics, dict) and 400_000 < len(text) < 600_000
    ids, vocab = encode_chars(text, ascii_only=True)
    assert len(ids) == len(text) and len(vocab) <= 100 and "\n" in vocab and "?" in vocab
    assert all(c == "\n" or 32 <= ord(c) < 127 for c in vocab)
    assert "".join(vocab[i] for i in ids[:2000]) == text[:2000].replace("\t", "    ")[:2000]


def test_chars_windows_come_from_their_own_part_of_the_text():
    cfg = DataConfig(name="chars", n_samples=200, length=24, test_fraction=0.2)
    d = load_dataset(cfg)
    assert d.task == "tokens" and d.seq.causal and d.seq.prompt == 0
    assert d.class_names == d.seq.vocab and len(d.x_train) == 160 and len(d.x_test) == 40
    assert torch.equal(d.x_train[:, 1:], d.y_train[:, :-1])  # y is x shifted by one
    ids, vocab = encode_chars(python_docs(), ascii_only=True)
    mapped = "".join(vocab[i] for i in ids)
    boundary = int(len(mapped) * 0.8)
    for x, y in zip(d.x_test[:10], d.y_test[:10]):
        window = "".join(vocab[i] for i in x.tolist()) + vocab[int(y[-1])]
        assert mapped.find(window, boundary) >= 0
    for x, y in zip(d.x_train[:10], d.y_train[:10]):
        window = "".join(vocab[i] for i in x.tolist()) + vocab[int(y[-1])]
        assert 0 <= mapped.find(window) <= boundary - len(window)


def test_a_persons_characters_keep_their_own_alphabet():
    ids, vocab = encode_chars("héllo wörld\r\nçà\tend", ascii_only=False)
    assert "é" in vocab and "\r" not in vocab and "\t" not in vocab and "?" not in vocab
    assert "".join(vocab[i] for i in ids) == "héllo wörld\nçà    end"
    ids, vocab = encode_chars("abc\x07", ascii_only=False)
    assert vocab == ("?", "a", "b", "c")


def test_words_and_a_labelled_word_dataset():
    assert words("Don't STOP, 2 times!") == ["don", "t", "stop", "2", "times"]
    texts = [f"good movie number {i}" for i in range(10)] + [f"bad film {i}" for i in range(10, 20)]
    labels = ["pos"] * 10 + ["neg"] * 10
    cfg = DataConfig(name="own_labels", test_fraction=0.2)
    d = word_dataset("own_labels", texts, labels, cfg)
    assert d.class_names == ("neg", "pos") and d.seq.vocab[:2] == ("<pad>", "<unk>")
    assert len(d.x_test) == 4 and (d.y_test == 0).sum() == 2
    assert d.x_train.shape[1] == 4  # the longest text
    train_words = {d.seq.vocab[i] for i in d.x_train.flatten().tolist()}
    assert "good" in train_words and "bad" in train_words
    assert (d.x_test[:, -1] == 1).all()  # each number is in one text: unknown in the test
    long = word_dataset(
        "own_labels", ["x " * 300 + "end"] * 5 + ["y"] * 5, ["a"] * 5 + ["b"] * 5, cfg
    )
    assert long.x_train.shape[1] == 256 and d.seq.vocab[1] == "<unk>"
    assert long.seq.vocab[int(long.x_train[0, -1])] == "end"  # a long text keeps its last words
