"""A person's text and CSV files for the Sequence lab, fuzzed: random bytes, any text, and CSVs
of labelled texts or of a series, valid or broken (columns, quotes, delimiters, NaN, huge and
non-numbers, BOMs, NULs, encodings) each give their data or one SequenceFileError saying what
is wrong - never another exception; and the datasets made from them, a dataset or a ValueError
saying why."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fuzz import fuzz, tally

from dlviz.config import DataConfig
from dlviz.data import sequence_files as files
from dlviz.data.base import Dataset
from dlviz.data.sequence_files import SequenceFileError

CELLS = st.one_of(
    st.sampled_from(["good", "bad", "great movie", "", " ", "text", "label", "1", "-2.5", "1e309",
                     "nan", "NaN", "inf", "-inf", "1,5", '"quoted, comma"', '"unclosed', "a\"b",
                     "\x00", "é", "💥", "1_000", "0x1F", "  3 ", "positive", "negative"]),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)  # fmt: skip


@st.composite
def csv_texts(draw) -> str:
    """A CSV a person might make: labelled texts (classes of enough rows, or nearly), a series
    (one or more numeric columns), or any rows; each with one delimiter, line ends of any kind,
    sometimes a header, a BOM, a stray row or a trailing blank line."""
    kind = draw(st.sampled_from(["labels", "series", "any"]))
    delimiter = "," if kind == "labels" else draw(st.sampled_from([",", ";", "\t", "|", " "]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if kind == "labels":
        label = st.sampled_from(["pos", "neg", "meh", "Good", "très bien"]) | CELLS
        classes = draw(st.lists(label, min_size=1, max_size=4, unique=True))
        words = st.text('abcdefgh éü💥 ,"', min_size=1, max_size=12)
        rows = [[f"text {k} {draw(words)}", classes[k % len(classes)]]
                for k in range(draw(st.integers(0, 30)))]  # fmt: skip
    elif kind == "series":
        width = draw(st.integers(1, 3))
        rows = [[str(k * 0.5 + c) for c in range(width)] for k in range(draw(st.integers(0, 60)))]
    else:
        width = draw(st.integers(1, 4))
        rows = draw(st.lists(st.lists(CELLS, min_size=width, max_size=width), max_size=40))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # a stray row or two, anywhere
        rows.insert(draw(st.integers(0, len(rows))), draw(st.lists(CELLS, max_size=3)))
    head = draw(st.sampled_from(["", "text,label" + end, "value" + end, "\ufeff", "a;b" + end]))
    if kind == "labels":  # as a spreadsheet writes it: a text with a comma or quote is quoted
        out = io.StringIO()
        csv.writer(out, lineterminator=end).writerows(rows)
        body = out.getvalue()
    else:
        body = end.join(delimiter.join(r) for r in rows)
    return head + body + draw(st.sampled_from(["", end, end + end]))


def as_input(text: str, how: str) -> bytes | str:
    return {"text": text, "utf-8": text.encode("utf-8", "surrogatepass"),
            "utf-16": text.encode("utf-16", "surrogatepass"), "latin-1": text.encode("latin-1", "replace")}[how]  # fmt: skip


inputs = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200),
    st.tuples(csv_texts(), st.sampled_from(["text", "utf-8", "utf-8", "utf-16", "latin-1"])).map(
        lambda t: as_input(*t)
    ),
)


def refused(e: SequenceFileError) -> None:
    """One sentence, short whatever the file held (a message quotes a cell, not a whole file)."""
    tally("refused")
    assert 10 < len(str(e)) < 600, str(e)[:2_000]


@fuzz(300)
@given(inputs)
def test_any_input_is_text_labelled_rows_and_a_series_or_one_error_saying_why(data):
    for read in (files.text_corpus, files.labelled_rows, files.numeric_series):
        try:
            out = read(data)
        except SequenceFileError as e:
            refused(e)
            continue
        tally(f"{read.__name__} read")
        if read is files.labelled_rows:
            texts, labels = out
            assert len(texts) == len(labels) >= 2 * files.MIN_ROWS_PER_CLASS
        elif read is files.numeric_series:
            assert out.values.ndim == 1 and len(out.values) >= 1


CONFIGS = {
    "own_text": DataConfig(name="own_text", n_samples=50, length=8),
    "own_labels": DataConfig(name="own_labels", n_samples=50),
    "own_series": DataConfig(name="own_series", n_samples=50, length=4, horizon=2),
}


@fuzz(150)
@given(inputs, st.sampled_from(sorted(CONFIGS)))
def test_any_upload_is_a_dataset_or_a_value_error_saying_why(data, name):
    try:
        ds = files.dataset_from_upload(CONFIGS[name], data)
    except ValueError as e:  # SequenceFileError, or the dataset's own check (too short a text)
        tally("refused")
        assert str(e), e
        return
    tally("dataset")
    assert isinstance(ds, Dataset) and len(ds.y_train) >= 1


@pytest.mark.parametrize(
    "read", [files.text_corpus, files.labelled_rows, files.numeric_series], ids=lambda f: f.__name__
)
@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe\x00\x00", b"a,b\x00,c", "\ud800 lone surrogate", b"", "   \n\n ", '"' * 10_000,
     "x" * 200_000, "1\n" + "x" * 100_000, "a,b\n" * 10 + "c," + "y" * 100_000, ("1," * 100_000)[:-1], "\n".join(["1"] * (files.MAX_ROWS + 5))],
    ids=["bom32", "nul", "surrogate", "empty", "blank", "quotes", "one huge cell", "a huge non-number",
         "a huge label", "one wide row",
         "too many rows"],
)  # fmt: skip
def test_edge_files_are_one_error_saying_why_or_read(read, data):
    try:
        read(data)
    except SequenceFileError as e:
        refused(e)


# --- regressions: each bug found while fuzzing, with the input that showed it -------------------


@pytest.mark.parametrize(
    "read, data, said",
    [
        (files.numeric_series, "1\n" + "x" * 100_000, "row 2 holds 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"),
        (files.labelled_rows, "a,b\n" * 10 + "c," + "y" * 100_000, "class 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...' has only 1 row"),
        (files.numeric_series, "value\n1\n" + "z" * 5_000 + "\n", "row 3 holds 'zzzz"),
    ],
    ids=["a huge non-number", "a huge label", "a long cell"],
)  # fmt: skip
def test_a_message_quotes_a_huge_cell_cut_short(read, data, said):
    """Was: the message quoted the whole cell, 100,000 characters of it, as the one sentence
    the page shows."""
    with pytest.raises(SequenceFileError) as e:
        read(data)
    assert str(e.value).startswith(said) and len(str(e.value)) < 300


def test_the_delimiter_is_told_from_the_start_of_the_csv_only(monkeypatch):
    """Was: csv.Sniffer read the first 20,000 characters; its patterns take time that grows
    with the square of that, and 20,000 characters of '"a,' held the page for 6 s. (Timing is
    not asserted: the sample's length is.)"""
    seen = []
    sniff = files.csv.Sniffer.sniff

    def spy(self, sample, delimiters=None):
        seen.append(len(sample))
        return sniff(self, sample, delimiters)

    monkeypatch.setattr(files.csv.Sniffer, "sniff", spy)
    with pytest.raises(SequenceFileError):
        files.numeric_series('"a,' * 7_000)
    assert seen == [files.SNIFF_CHARS] and files.SNIFF_CHARS <= 4_000
    assert files.numeric_series("a;b\n" + "1;2\n" * 3_000).values[-1] == 2.0  # still told
