"""A person's own sequence data: good files load, and each bad one is refused with a sentence
that says what is wrong and what to do."""

from __future__ import annotations

import numpy as np
import pytest

from dlviz.config import DataConfig
from dlviz.data.sequence_files import (
    MAX_CSV_BYTES,
    MAX_ROWS,
    MAX_TEXT_BYTES,
    SequenceFileError,
    SeriesColumn,
    dataset_from_upload,
    labelled_rows,
    load_own,
    numeric_series,
    own_labels_dataset,
    own_series_dataset,
    own_text_dataset,
    text_corpus,
)

ROWS = "text,label\n" + "".join(f"a fine day {i},good\nrain again {i},bad\n" for i in range(6))


def _refused(call, *args) -> str:
    with pytest.raises(SequenceFileError) as e:
        call(*args)
    return str(e.value)


# --- text -------------------------------------------------------------------------------------


def test_text_is_read_as_utf8_with_its_line_ends_unified():
    assert text_corpus("héllo\r\nworld".encode()) == "héllo\nworld"
    assert text_corpus("\ufeffbom".encode()) == "bom"  # a byte-order mark is not text
    assert text_corpus("already text") == "already text"


def test_bad_text_says_what_is_wrong():
    msg = _refused(text_corpus, "café".encode("latin-1"))
    assert "not UTF-8 text (byte 0xe9 at position 3" in msg and "save it as UTF-8" in msg
    assert "is empty: paste or upload some text" in _refused(text_corpus, b"  \n ")
    msg = _refused(text_corpus, b"x" * (MAX_TEXT_BYTES + 200_000))
    assert "the text is 5.2 MB; the limit is 5 MB" in msg
    assert "NUL bytes" in _refused(text_corpus, b"PK\x03\x04\x00\x00")


def test_own_text_dataset_and_a_text_too_short_for_its_context():
    cfg = DataConfig(name="own_text", n_samples=40, length=8)
    d = own_text_dataset("abcdefgh\n" * 30, cfg)
    assert d.seq.vocab == ("\n", "a", "b", "c", "d", "e", "f", "g", "h")
    assert d.x_train.shape == (28, 8) and d.y_train.shape == (28, 8)
    with pytest.raises(
        ValueError, match=r"the text has 12 characters; a context of 8 needs at least 27 "
    ):
        own_text_dataset("hello world!", cfg)


# --- labelled rows ----------------------------------------------------------------------------


def test_labelled_rows_skip_a_header_and_read_quoted_commas():
    texts, labels = labelled_rows((ROWS + '"so, so good", good \n').encode())
    assert texts[-1] == "so, so good" and labels[-1] == "good"
    assert texts[0] == "a fine day 0" and labels[:3] == ["good", "bad", "good"]
    assert len(texts) == 13  # no header row among them


def test_bad_labelled_rows_say_which_row_and_what_to_do():
    msg = _refused(labelled_rows, (ROWS + "just a text\n").encode())
    assert "row 14 has 1 column; a labels CSV needs two, text,label" in msg
    msg = _refused(labelled_rows, (ROWS + "a,b,c\n").encode())
    assert "row 14 has 3 columns" in msg and "in quotes" in msg
    assert "row 3 has no label" in _refused(labelled_rows, b"text,label\nok,x\nnothing,\n")
    assert "row 2 has no text" in _refused(labelled_rows, b"a,x\n ,y\n")
    msg = _refused(labelled_rows, b"".join(b"nice,good\n" for _ in range(8)))
    assert "every row has the label 'good': a classifier needs at least two classes" in msg
    msg = _refused(labelled_rows, (ROWS + "odd one,meh\n").encode())
    assert "class 'meh' has only 1 row; each class needs at least 5" in msg
    msg = _refused(labelled_rows, ("review,sentiment\n" + ROWS[11:]).encode())
    assert "class 'sentiment' has only 1 row" in msg and "if row 1 is a header" in msg
    msg = _refused(labelled_rows, "".join(f"{i},text {i}\n" for i in range(200)).encode())
    assert "200 different labels" in msg and "text first" in msg
    assert "holds no rows" in _refused(labelled_rows, b"text,label\n")
    assert "not UTF-8" in _refused(labelled_rows, b"\xff\xfeh\x00i\x00")
    msg = _refused(labelled_rows, b"a,b\n" * (MAX_ROWS + 5))
    assert f"more than {MAX_ROWS:,} rows" in msg
    assert "limit is 5 MB" in _refused(labelled_rows, b"x" * (MAX_CSV_BYTES + 1))


def test_own_labels_dataset_from_bytes_or_rows():
    cfg = DataConfig(name="own_labels")
    d = own_labels_dataset(ROWS.encode(), cfg)
    assert d.class_names == ("bad", "good") and d.task == "class" and d.seq.pad == 0
    texts, labels = labelled_rows(ROWS.encode())
    same = own_labels_dataset((texts, labels), cfg)
    assert (same.x_train == d.x_train).all()
    assert "one label a text" in _refused(own_labels_dataset, (texts, labels[:-1]), cfg)
    assert "at least two classes" in _refused(own_labels_dataset, (texts, ["a"] * 12), cfg)
    msg = _refused(own_labels_dataset, (["!!"] * 10, ["a", "b"] * 5), cfg)
    assert "no text has a letter or a digit" in msg


# --- series -----------------------------------------------------------------------------------


def test_a_series_column_with_or_without_a_header():
    got = numeric_series(b"1\n2.5\n-3e2\n")
    np.testing.assert_array_equal(got.values, [1, 2.5, -300]) and got.note == ""
    got = numeric_series(b"sales\n4\n5\n")
    assert got.values.tolist() == [4, 5] and got.note == ""


def test_several_columns_take_the_numeric_one_or_the_last_and_say_which():
    got = numeric_series(b"date,sales\n2024-01,4\n2024-02,5\n")
    assert got.values.tolist() == [4, 5]
    assert got.note == "took column 'sales', the only numeric one of 2"
    got = numeric_series(b"month;low;high;city\n1;2;3;x\n2;3;4;y\n")
    assert got.values.tolist() == [3, 4]
    assert got.note == "took column 'high', the last of 3 numeric columns ('month', 'low', 'high')"
    got = numeric_series(b"1\t5\n2\t6\n")
    assert got.values.tolist() == [5, 6] and got.note.startswith("took column 2, the last of 2")


def test_bad_series_say_which_row_holds_what():
    msg = _refused(numeric_series, b"value\n1\n2\nabc\n4\n")
    assert msg.startswith("row 4 holds 'abc', not a number: a series needs a number in every row")
    msg = _refused(numeric_series, b"t,v\n1,2\n2,oops\n3,4\nx,5\n")
    assert "row 3 holds 'oops', not a number in column 'v'" in msg
    assert "row 3 is empty" in _refused(numeric_series, b"v,w\n1,a\n,b\n")
    assert "row 3 holds 'nan': a series needs finite numbers" in _refused(
        numeric_series, b"1\n2\nnan\n"
    )
    assert "holds 'inf'" in _refused(numeric_series, b"1\ninf\n")
    assert "no column of the CSV holds numbers" in _refused(numeric_series, b"a,b\nc,d\n")
    assert "row 3 has 3 columns and row 1 2" in _refused(numeric_series, b"1,2\n3,4\n5,6,7\n")
    assert "header but no values" in _refused(numeric_series, b"value\n")
    assert "the CSV is empty" in _refused(numeric_series, b"\n\n")
    assert "limit is 50,000" in _refused(numeric_series, b"1\n" * (MAX_ROWS + 1))


def test_own_series_dataset_checks_its_length_and_finds_a_season():
    cfg = DataConfig(name="own_series", length=32, horizon=8)
    msg = _refused(own_series_dataset, np.arange(40.0), cfg)
    assert "the series has 40 values; a length of 32 and a horizon of 8 need at least" in msg
    assert "value 3 of the series is nan" in _refused(
        own_series_dataset, np.array([1, 2, np.nan]), cfg
    )
    t = np.arange(300)
    season = np.sin(2 * np.pi * t / 12) + 0.01 * t
    d = own_series_dataset(SeriesColumn(season), cfg)
    assert d.seq.period == 12 and d.seq.split_at == 210
    csv = "\n".join(f"{v}" for v in season).encode()
    assert (own_series_dataset(csv, cfg).x_test == d.x_test).all()


def test_load_own_names_the_path_in_its_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"value\n1\nx\n")
    with pytest.raises(
        ValueError, match=r"^data.path: row 3 holds 'x', not a number.*\(in .*bad.csv\)$"
    ):
        load_own(DataConfig(name="own_series", path=str(bad)))
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (MAX_TEXT_BYTES + 1))
    with pytest.raises(ValueError, match=r"the file is 5.0 MB; the limit is 5 MB.*big.txt"):
        load_own(DataConfig(name="own_text", path=str(big)))
    with pytest.raises(ValueError, match="no file at"):
        load_own(DataConfig(name="own_labels", path=str(tmp_path)))  # a folder is not a file


def test_dataset_from_upload_picks_the_builder_its_name_asks_for():
    text = dataset_from_upload(DataConfig(name="own_text", n_samples=20, length=4), "abcd " * 20)
    assert text.task == "tokens" and len(text) == 20
    rows = dataset_from_upload(DataConfig(name="own_labels"), ROWS.encode())
    assert rows.class_names == ("bad", "good")
    series = b"v\n" + b"\n".join(b"%d" % (i % 5) for i in range(100))
    cfg = DataConfig(name="own_series", length=8, horizon=2)
    assert dataset_from_upload(cfg, series).task == "forecast"
    assert "row 2 holds 'x'" in _refused(dataset_from_upload, cfg, b"v\nx\n1\n")
