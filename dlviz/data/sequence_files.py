"""A person's own sequence data: text, a CSV of labelled texts, a CSV of a series; bytes in,
checked data and datasets out, with no Streamlit.

Anything that cannot be used raises `SequenceFileError` (a ValueError) with one sentence saying
what is wrong and what to do: not UTF-8, empty, over a size limit, wrong columns, a single
class, too few rows of a class, a value that is not a number, a NaN, too short a series.

- `text_corpus(data)`: text for a character model (``own_text``);
- `labelled_rows(data)`: the texts and labels of a ``text,label`` CSV (``own_labels``);
- `numeric_series(data)`: the one numeric column of a CSV, or the last of several, with a note
  saying which (``own_series``);
- `own_text_dataset`, `own_labels_dataset`, `own_series_dataset`: the datasets, from data held
  in memory (`dataset_from_upload(cfg, data)` picks the one cfg.name asks for); `load_own(cfg)`
  reads them from `cfg.path` (the command line's way).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlviz.config import DataConfig
from dlviz.data.base import Dataset
from dlviz.data.series import estimate_period, forecast_dataset
from dlviz.data.text import char_dataset, word_dataset, words
from dlviz.text import plural

MAX_TEXT_BYTES = 5 * 2**20  # a text to model character by character
MAX_CSV_BYTES = 5 * 2**20  # a CSV of labelled texts or of a series
MAX_ROWS = 50_000  # rows of a CSV
MIN_ROWS_PER_CLASS = 5  # some to train on, some to test with
MAX_CLASSES = 100
SNIFF_CHARS = 4_000  # the start of a CSV the delimiter is told from


class SequenceFileError(ValueError):
    """A person's file (or pasted text) that cannot be used; the message says why."""


def _quoted(cell: str, most: int = 40) -> str:
    """A cell or label as a message quotes it: in quotes, cut to `most` characters (a cell
    can be a whole file's worth)."""
    return repr(cell if len(cell) <= most else cell[: most - 3] + "...")


def _check_size(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise SequenceFileError(
            f"the {what} is {size / 2**20:.1f} MB; the limit is {limit / 2**20:.0f} MB: use a "
            "shorter part of it"
        )


def _decode(data: bytes | str, limit: int, what: str) -> str:
    """`data` as text with "\\n" line ends, checked for its size, UTF-8 and binary content."""
    if isinstance(data, str):
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            raise SequenceFileError(
                f"the {what} holds characters that are not valid Unicode: copy it again from "
                "its source, or save it as a UTF-8 file and upload that"
            ) from None
        _check_size(size, limit, what)
        text = data
    else:
        _check_size(len(data), limit, what)
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise SequenceFileError(
                f"the {what} is not UTF-8 text (byte 0x{data[e.start]:02x} at position "
                f"{e.start:,} is not valid UTF-8): save it as UTF-8 (in most editors: Save as, "
                "encoding UTF-8) and try again"
            ) from None
    if "\x00" in text:
        raise SequenceFileError(
            f"the {what} holds NUL bytes, as a binary file does (a spreadsheet?): export it as "
            "plain text or CSV and try again"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- text -------------------------------------------------------------------------------------


def text_corpus(data: bytes | str) -> str:
    """A person's text for a character model, checked: UTF-8, not empty, at most
    MAX_TEXT_BYTES."""
    text = _decode(data, MAX_TEXT_BYTES, "text")
    if not text.strip():
        raise SequenceFileError("the text is empty: paste or upload some text")
    return text


# --- labelled texts ---------------------------------------------------------------------------


def _csv_rows(text: str, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row, at most MAX_ROWS + 1 of them."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows.append((reader.line_num, row))
            if len(rows) > MAX_ROWS + 1:  # one more than the limit: a header is allowed
                raise SequenceFileError(
                    f"the CSV has more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,}: keep "
                    "a sample of them"
                )
    except csv.Error as e:
        raise SequenceFileError(
            f"the CSV cannot be read at row {reader.line_num} ({e}): check its quotes"
        ) from None
    return rows


def labelled_rows(data: bytes | str) -> tuple[list[str], list[str]]:
    """The texts and labels of a CSV of ``text,label`` rows (a first row ``text,label`` is a
    header and skipped), checked: two columns a row, a text and a label in each, at least two
    classes of at least MIN_ROWS_PER_CLASS rows each."""
    rows = _csv_rows(_decode(data, MAX_CSV_BYTES, "CSV file"))
    if rows and [c.strip().lower() for c in rows[0][1]] == ["text", "label"]:
        rows = rows[1:]
    if not rows:
        raise SequenceFileError("the CSV holds no rows: give one text,label row per example")
    if len(rows) > MAX_ROWS:
        raise SequenceFileError(
            f"the CSV has {len(rows):,} rows; the limit is {MAX_ROWS:,}: keep a sample of them"
        )
    texts, labels = [], []
    for line, row in rows:
        if len(row) != 2:
            raise SequenceFileError(
                f"row {line} has {plural(len(row), 'column')}; a labels CSV needs two, "
                'text,label (put a text that holds a comma in quotes: "good, not great",positive)'
            )
        text, label = row[0].strip(), row[1].strip()
        if not text or not label:
            raise SequenceFileError(
                f"row {line} has no {'text' if not text else 'label'}: every row needs both, "
                "text,label"
            )
        texts.append(text)
        labels.append(label)
    check_classes(labels, first_line=rows[0][0])
    return texts, labels


def check_classes(labels: list[str], first_line: int = 0) -> None:
    """Raise SequenceFileError unless there are 2 to MAX_CLASSES classes of at least
    MIN_ROWS_PER_CLASS rows each."""
    counts = Counter(labels)
    if len(counts) < 2:
        only = next(iter(counts), "")
        raise SequenceFileError(
            f"every row has the label {_quoted(only)}: a classifier needs at least two classes; add "
            "rows of another class"
        )
    if len(counts) > MAX_CLASSES:
        raise SequenceFileError(
            f"the label column holds {len(counts):,} different labels; the limit is "
            f"{MAX_CLASSES} classes: is the CSV text,label, with the text first?"
        )
    few = sorted((n, c) for c, n in counts.items() if n < MIN_ROWS_PER_CLASS)
    if few:
        n, c = few[0]
        header = first_line and labels[0] == c and n == 1
        raise SequenceFileError(
            f"class {_quoted(c)} has only {plural(n, 'row')}; each class needs at least "
            f"{MIN_ROWS_PER_CLASS} (some to train on, some to test with): add rows or remove "
            "the class"
            + (f" (if row {first_line} is a header, name its columns text,label)" if header else "")
        )


# --- series -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesColumn:
    """The values of a series read from a CSV, and which column they came from (`note`, empty
    for a file of one column)."""

    values: np.ndarray  # (N,) float64
    note: str = ""


def _number(cell: str) -> float | None:
    try:
        return float(cell.strip())
    except ValueError:
        return None


def numeric_series(data: bytes | str) -> SeriesColumn:
    """The numbers of a CSV's one numeric column, or of its last numeric column when it has
    several (a header row is allowed; commas, semicolons or tabs between columns), checked:
    a number in every row, all finite."""
    text = _decode(data, MAX_CSV_BYTES, "CSV file")
    # csv.Sniffer's patterns take time that grows with the square of the sample (20,000
    # characters of '"a,' took 6 s): a few lines are enough to tell the delimiter
    sample = text[:SNIFF_CHARS]
    delimiter = ","
    if any(d in sample for d in ",;\t"):
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
        except csv.Error:
            pass
    rows = _csv_rows(text, delimiter)
    if not rows:
        raise SequenceFileError("the CSV is empty: give one number a row")
    width = len(rows[0][1])
    for line, row in rows:
        if len(row) != width:
            raise SequenceFileError(
                f"row {line} has {plural(len(row), 'column')} and row {rows[0][0]} "
                f"{width}: every row needs the same columns"
            )
    header = None
    if any(_number(c) is None for c in rows[0][1]):
        header = [c.strip() for c in rows[0][1]]
        rows = rows[1:]
    if not rows:
        raise SequenceFileError("the CSV has a header but no values: add one number a row")
    if len(rows) > MAX_ROWS:
        raise SequenceFileError(
            f"the series has {len(rows):,} values; the limit is {MAX_ROWS:,}: keep a part of it"
        )

    def name(c: int) -> str:
        return _quoted(header[c]) if header and header[c] else f"{c + 1}"

    parsed = [[_number(row[c]) for _, row in rows] for c in range(width)]
    numeric = [c for c in range(width) if all(v is not None for v in parsed[c])]
    if not numeric:
        best = max(range(width), key=lambda c: (sum(v is not None for v in parsed[c]), c))
        if all(v is None for v in parsed[best]):
            raise SequenceFileError(
                "no column of the CSV holds numbers: a series is one column of numbers, one a row"
            )
        i = next(i for i, v in enumerate(parsed[best]) if v is None)
        line, cell = rows[i][0], rows[i][1][best].strip()
        where = f" in column {name(best)}" if width > 1 else ""
        what = f"holds {_quoted(cell)}, not a number" if cell else "is empty"
        raise SequenceFileError(
            f"row {line} {what}{where}: a series needs a number in every row (a header row is "
            "fine); fix or remove that row"
        )
    col = numeric[-1]
    values = np.array(parsed[col], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        line, cell = rows[bad[0]][0], rows[bad[0]][1][col].strip()
        raise SequenceFileError(
            f"row {line} holds {_quoted(cell)}: a series needs finite numbers; fill in or remove the "
            "missing values"
        )
    if width == 1:
        note = ""
    elif len(numeric) == 1:
        note = f"took column {name(col)}, the only numeric one of {width}"
    else:
        names = ", ".join(name(c) for c in numeric)
        note = f"took column {name(col)}, the last of {len(numeric)} numeric columns ({names})"
    return SeriesColumn(values, note)


# --- datasets ---------------------------------------------------------------------------------


def own_text_dataset(text: str | bytes, cfg: DataConfig) -> Dataset:
    """A character model's data from a person's text (as ``chars``: cfg.n_samples windows)."""
    return char_dataset(cfg.name, text_corpus(text), cfg)


def own_labels_dataset(rows: bytes | str | tuple[list[str], list[str]], cfg: DataConfig) -> Dataset:
    """A classifier's data from labelled texts: a CSV's bytes, or (texts, labels)."""
    if isinstance(rows, (bytes, bytearray, str)):
        texts, labels = labelled_rows(rows)
    else:
        texts, labels = list(rows[0]), [str(lb).strip() for lb in rows[1]]
        if len(texts) != len(labels):
            raise SequenceFileError(
                f"{plural(len(texts), 'text')} but {plural(len(labels), 'label')}: give one "
                "label a text"
            )
        check_classes(labels)
    if not any(words(t) for t in texts):
        raise SequenceFileError(
            "no text has a letter or a digit: the texts are read as words; check the columns"
        )
    return word_dataset(cfg.name, texts, labels, cfg)


def own_series_dataset(values: np.ndarray | SeriesColumn | bytes, cfg: DataConfig) -> Dataset:
    """A forecaster's data from a person's series: its values, a SeriesColumn or a CSV's
    bytes. Every window of cfg.seq_length values is used (cfg.n_samples is not); the period is
    estimated from the training part (0 when the series shows none)."""
    if isinstance(values, (bytes, bytearray, str)):
        values = numeric_series(values)
    if isinstance(values, SeriesColumn):
        values = values.values
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = np.flatnonzero(~np.isfinite(v))
    if len(bad):
        raise SequenceFileError(
            f"value {bad[0] + 1:,} of the series is {v[bad[0]]}: a series needs finite numbers; "
            "fill in or remove the missing values"
        )
    try:
        split_at = int(round(len(v) * (1 - cfg.test_fraction)))
        period = estimate_period(v[:split_at])
        return forecast_dataset(cfg.name, v, cfg, period)
    except SequenceFileError:
        raise
    except ValueError as e:
        raise SequenceFileError(str(e)) from None


def dataset_from_upload(cfg: DataConfig, data: bytes | str) -> Dataset:
    """own_text, own_labels or own_series (cfg.name) from an upload's bytes or pasted text."""
    if cfg.name == "own_text":
        return own_text_dataset(data, cfg)
    if cfg.name == "own_labels":
        return own_labels_dataset(data, cfg)
    if cfg.name == "own_series":
        return own_series_dataset(numeric_series(data), cfg)
    raise ValueError(f"data.name: {cfg.name!r} is not a person's own data (own_text, ...)")


_EXAMPLE = {"own_text": "my_text.txt", "own_labels": "labels.csv", "own_series": "series.csv"}


def load_own(cfg: DataConfig) -> Dataset:
    """own_text, own_labels or own_series read from cfg.path; a ValueError naming the path
    when the file cannot be used, or when there is no path (the data was given in a browser)."""
    if not cfg.path:
        raise ValueError(
            f"data.path: {cfg.name} data lives only in the browser session that gave it; to "
            "train from the command line, save it as a file and give its path, e.g. "
            f'{{"name": "{cfg.name}", "path": "{_EXAMPLE.get(cfg.name, "data.csv")}"}}'
        )
    path = Path(cfg.path).expanduser()
    if not path.is_file():
        raise ValueError(f"data.path: no file at {path}")
    limit = MAX_TEXT_BYTES if cfg.name == "own_text" else MAX_CSV_BYTES
    try:
        _check_size(path.stat().st_size, limit, "file")
        return dataset_from_upload(cfg, path.read_bytes())
    except OSError as e:
        raise ValueError(f"data.path: {path} cannot be read ({e.strerror or e})") from None
    except ValueError as e:
        raise ValueError(f"data.path: {e} (in {path})") from None
