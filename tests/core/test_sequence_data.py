"""The Sequence lab's datasets through `load_dataset`: each format's shapes, dtypes and IGNORE
layout, generation targets decoded back to their rule, splits, and the same data for a seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlviz.config import SEQUENCE_DATASETS, DataConfig
from dlviz.data import IGNORE, load_dataset
from dlviz.data.sequences import load_sequence

GENERATED = [n for n in SEQUENCE_DATASETS if not n.startswith("own_")]


def _cfg(name: str, **kw) -> DataConfig:
    return DataConfig(name=name, **{"n_samples": 300, **kw})


@pytest.mark.parametrize("name", GENERATED)
def test_same_seed_same_data_other_seed_other_data(name):
    a, b = load_dataset(_cfg(name, seed=3)), load_dataset(_cfg(name, seed=3))
    c = load_dataset(_cfg(name, seed=4))
    for part in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(a, part), getattr(b, part)), part
    assert not torch.equal(a.x_train, c.x_train)
    assert a.seq is not None and a.task == _cfg(name).task
    assert len(a) > 0 and len(a.x_test) > 0


def _decode(d, ids) -> str:
    return "".join(d.seq.vocab[int(t)] for t in ids)


@pytest.mark.parametrize(
    ("name", "rule"),
    [("copy", lambda q: q), ("reverse", lambda q: q[::-1]), ("sort", lambda q: "".join(sorted(q)))],
)
def test_generation_rows_are_question_equals_answer_shifted_by_one(name, rule):
    d = load_dataset(_cfg(name, length=6))
    assert d.kind == "tokens" and d.task == "tokens"
    assert d.seq.vocab == (*"0123456789", "=") and d.class_names == tuple("0123456789")
    assert d.seq.causal and d.seq.prompt == 7  # six digits and "="
    assert d.x_train.shape == d.y_train.shape == (len(d.x_train), 12)
    assert d.x_train.dtype == d.y_train.dtype == torch.int64
    for x, y in zip(d.x_test.tolist(), d.y_test.tolist()):
        assert y[:6] == [IGNORE] * 6  # nothing predicted inside the question
        assert x[6] == 10  # "=" closes the question
        answer = y[6:]  # from "=" on, each position predicts the next answer digit
        assert x[7:] == answer[:-1]  # the input is the answer shifted by one (teacher forcing)
        question = _decode(d, x[:6])
        assert "".join(d.class_names[t] for t in answer) == rule(question)  # target i = token i


def test_addition_answers_are_the_sum_least_significant_digit_first():
    d = load_dataset(_cfg("addition", length=3))
    assert d.seq.vocab == (*"0123456789", "+", "=") and d.seq.prompt == 8  # "abc+def="
    assert d.x_train.shape[1] == 7 + 1 + 4 - 1  # question, "=", four sum digits, less one
    for x, y in zip(d.x_train.tolist(), d.y_train.tolist()):
        assert all(t == IGNORE for t in y[:7]) and x[7] == 11
        a, b = _decode(d, x[:7]).split("+")
        digits = "".join(d.class_names[t] for t in y[7:])
        assert int(digits[::-1]) == int(a[::-1]) + int(b[::-1])


def test_generation_split_is_random_and_disjoint():
    d = load_dataset(_cfg("copy", n_samples=1000, test_fraction=0.3))
    assert len(d.x_test) == 300 and len(d.x_train) == 700
    rows = {tuple(r) for r in d.x_train.tolist()}
    assert sum(tuple(r) in rows for r in d.x_test.tolist()) < 10  # 10^8 questions: repeats are rare


def test_parens_give_the_depth_after_each_bracket():
    d = load_dataset(_cfg("parens", length=10))
    assert d.kind == "tokens" and d.seq.vocab == ("(", ")") and d.seq.causal and d.seq.prompt == 0
    assert d.class_names == ("0", "1", "2", "3", "4", "5")
    assert d.x_train.shape == d.y_train.shape == (len(d.x_train), 10)
    for x, y in zip(d.x_train.tolist(), d.y_train.tolist()):
        depth = np.cumsum([1 if b == 0 else -1 for b in x])
        assert y == depth.tolist() and depth[-1] == 0
    assert (d.y_train != IGNORE).all()


@pytest.mark.parametrize("name", ["parity", "temporal_order", "recall"])
def test_class_tasks_give_one_class_a_sequence_split_by_class(name):
    d = load_dataset(_cfg(name, n_samples=1000, test_fraction=0.25))
    assert d.task == "class" and d.kind == "tokens" and d.seq.pad == -1 and not d.seq.causal
    assert d.y_train.shape == (len(d.x_train),) and d.y_train.dtype == torch.int64
    assert d.x_train.dtype == torch.int64 and d.x_train.max() < d.seq.vocab_size
    for c in range(d.n_classes):  # stratified: each class keeps its share in the test set
        total = int((d.y_train == c).sum() + (d.y_test == c).sum())
        assert abs(int((d.y_test == c).sum()) - 0.25 * total) <= 1


def test_class_names_name_the_targets():
    assert load_dataset(_cfg("parity")).class_names == ("even", "odd")
    assert load_dataset(_cfg("temporal_order")).class_names == ("XX", "XY", "YX", "YY")
    assert load_dataset(_cfg("recall")).class_names == tuple("0123456789")


@pytest.mark.parametrize("name", ["own_text", "own_labels", "own_series"])
def test_own_data_without_a_path_says_where_it_lives_and_how_to_train_from_a_file(name):
    with pytest.raises(ValueError, match="browser session") as e:
        load_sequence(DataConfig(name=name))
    assert "data.path" in str(e.value) and '"path"' in str(e.value)


def test_own_data_is_read_from_its_path(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog\n" * 40, encoding="utf-8")
    d = load_dataset(DataConfig(name="own_text", path=str(text), n_samples=50, length=16))
    assert d.task == "tokens" and d.x_train.shape == (35, 16)
    rows = tmp_path / "rows.csv"
    rows.write_text("text,label\n" + "great stuff,pos\nawful stuff,neg\n" * 10)
    d = load_dataset(DataConfig(name="own_labels", path=str(rows)))
    assert d.class_names == ("neg", "pos") and len(d) == 20
    series = tmp_path / "s.csv"
    series.write_text("value\n" + "\n".join(str(np.sin(i / 3)) for i in range(200)))
    d = load_dataset(DataConfig(name="own_series", path=str(series), length=10, horizon=2))
    assert d.task == "forecast" and d.x_train.shape[1:] == (10, 1)
    with pytest.raises(ValueError, match=r"data.path: no file at .*missing.csv"):
        load_dataset(DataConfig(name="own_series", path=str(tmp_path / "missing.csv")))
