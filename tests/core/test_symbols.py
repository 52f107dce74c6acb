"""The symbol tasks' targets, checked by their rules, computed here independently."""

from __future__ import annotations

import numpy as np
import pytest

from dlviz.data.symbols import SYMBOL_TASKS, generate, min_length


def test_copy_reverse_and_sort_targets_follow_their_rule():
    for name, rule in (("copy", lambda s: s), ("reverse", lambda s: s[::-1]), ("sort", sorted)):
        d = generate(name, 50, 7, seed=1)
        assert d.x.shape == d.y.shape == (50, 7) and d.target == "tokens"
        for seq, target in zip(d.x.tolist(), d.y.tolist()):
            assert target == list(rule(seq)), name


def test_addition_targets_are_the_sum_digit_by_digit_least_significant_first():
    d = generate("addition", 200, 4, seed=2)
    assert d.x.shape == (200, 9) and d.y.shape == (200, 5)
    for tokens, out in zip(d.x, d.y):
        text = "".join(d.vocab[t] for t in tokens)
        a, b = text.split("+")
        total = int(a[::-1]) + int(b[::-1])  # the digits are written least significant first
        assert int("".join(d.target_vocab[t] for t in out)[::-1]) == total
    assert d.y[:, -1].max() == 1  # some sums carry into the extra digit


def test_parity_is_whether_an_odd_number_of_bits_are_set():
    d = generate("parity", 100, 9, seed=3)
    for bits, label in zip(d.x.tolist(), d.y.tolist()):
        assert label == sum(bits) % 2
    assert 0 < d.y.mean() < 1


def test_parens_are_balanced_and_labelled_with_the_depth_after_each_bracket():
    d = generate("parens", 100, 12, seed=4)
    for seq, depths in zip(d.x.tolist(), d.y.tolist()):
        depth = 0
        for bracket, label in zip(seq, depths):
            depth += 1 if d.vocab[bracket] == "(" else -1
            assert depth >= 0 and label == depth
        assert depth == 0
    assert d.y.max() > 1  # nesting, not only "()()()"
    with pytest.raises(ValueError, match="even length"):
        generate("parens", 5, 7, seed=0)


def test_temporal_order_class_is_the_order_of_the_two_markers_and_nothing_else():
    d = generate("temporal_order", 200, 50, seed=5)
    assert d.x.shape == (200, 50)
    for seq, label in zip(d.x.tolist(), d.y.tolist()):
        marks = [(i, d.vocab[t]) for i, t in enumerate(seq) if d.vocab[t] in "XY"]
        assert len(marks) == 2
        (t1, m1), (t2, m2) = marks
        assert 5 <= t1 < 10 and 25 <= t2 < 30  # 10-20% and 50-60% into the sequence
        assert d.target_vocab[label] == m1 + m2
    assert set(d.y.tolist()) == {0, 1, 2, 3}
    assert generate("temporal_order", 10, min_length("temporal_order"), seed=0).x.shape == (10, 4)


def test_recall_class_is_the_value_stored_under_the_queried_key():
    d = generate("recall", 100, 12, seed=6)
    for seq, label in zip(d.x.tolist(), d.y.tolist()):
        words = [d.vocab[t] for t in seq]
        assert words[-2] == "?"
        keys, values = words[0:-2:2], words[1:-2:2]
        assert len(set(keys)) == len(keys)  # distinct keys
        assert d.target_vocab[label] == values[keys.index(words[-1])]


@pytest.mark.parametrize("name", SYMBOL_TASKS)
def test_every_task_is_the_same_for_the_same_seed_and_differs_for_another(name):
    length = 8
    a, b = generate(name, 30, length, seed=7), generate(name, 30, length, seed=7)
    c = generate(name, 30, length, seed=8)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    assert a.x.dtype == a.y.dtype == np.int64
    assert a.x.max() < len(a.vocab) and a.y.max() < len(a.target_vocab)
    assert a.text(0).count(" ") == a.x.shape[1] - 1


def test_bad_names_and_lengths_are_clear_errors():
    with pytest.raises(ValueError, match="unknown symbol task 'copyy'"):
        generate("copyy", 5, 5, seed=0)
    with pytest.raises(ValueError, match="at least 4"):
        generate("recall", 5, 3, seed=0)
