"""Run ZIPs, fuzzed: `import_run` given random bytes, a real run's ZIP damaged in any way, and
ZIPs built of hostile entries (``../`` and absolute paths, links, names twice, bombs, thousands
of entries, wrong JSON, a summary naming another run) either adds one new run or raises one
RunStoreError with a message; after a refusal the store is exactly as it was, and nothing is
ever written outside it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import tempfile
import warnings
import zipfile
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fuzz import (
    deep,
    fuzz,
    json_values,
    mutated_bytes,
    mutated_json,
    offsets_of,
    peaks,
    tally,
)

from dlviz import runs
from dlviz.config import RunConfig
from dlviz.models import build_model

CONFIG = RunConfig().with_changes(data={"n_samples": 100}, model={"hidden": (4,)},
                                  train={"epochs": 2, "device": "cpu"})  # fmt: skip
RUN_ID = "20240101-000000-tiny-abc123"
SUMMARY = {"status": "finished", "message": "", "device": "cpu", "params": 22, "epochs": 2,
           "seconds": 0.5, "final": {"test_accuracy": 0.75}}  # fmt: skip
METRICS = {"epoch": [1, 2], "elapsed": [0.25, 0.5], "train_loss": [0.9, 0.5],
           "test_accuracy": [0.5, 0.75]}  # fmt: skip
SYMLINK = (stat.S_IFLNK | 0o777) << 16


@cache
def exported() -> tuple[bytes, dict[str, bytes]]:
    """A real tiny run's ZIP, as `export_run` makes it, and its files by name."""
    with tempfile.TemporaryDirectory() as tmp:
        runs.start_run(tmp, RUN_ID, CONFIG.to_dict(), {"device": "cpu", "params": 22})
        model = build_model(CONFIG.model, (2,), 2, seed=0)
        runs.save_run(tmp, RUN_ID, CONFIG.to_dict(), SUMMARY, METRICS, model=model)
        data = runs.export_run(tmp, RUN_ID)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {info.filename.split("/")[-1]: zf.read(info) for info in zf.infolist()}
    return data, files


def make_zip(entries, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP of (name, bytes) or (name, bytes, external_attr, compression) entries, in order
    (a name may come twice)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, content, *more in entries:
                info = zipfile.ZipInfo(name)
                info.compress_type = more[1] if len(more) > 1 else compression
                if more and more[0] is not None:
                    info.external_attr = more[0]
                zf.writestr(info, content)
    return buf.getvalue()


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` with a hash of its content ("dir" for a folder)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), folder)] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, folder)] = hashlib.sha1(Path(p).read_bytes()).hexdigest()
    return out


def check_import(data: bytes) -> str | None:
    """Import `data` into a store that already holds the tiny run under its own id: either one
    new run folder, the rest untouched, or a RunStoreError and nothing changed; nothing ever
    outside the store (`outside` holds the store and one file beside it)."""
    with tempfile.TemporaryDirectory() as tmp:
        outside = Path(tmp)
        root = outside / "store"
        (root / RUN_ID).mkdir(parents=True)
        for name, content in exported()[1].items():
            (root / RUN_ID / name).write_bytes(content)
        (outside / "beside.txt").write_text("keep me")
        before = snapshot(outside)
        try:
            run_id = runs.import_run(root, data)
        except runs.RunStoreError as e:
            tally("refused")
            assert str(e), e
            assert snapshot(outside) == before
            return None
        tally("imported")
        after = snapshot(outside)
        assert run_id != RUN_ID and runs.RUN_ID.fullmatch(run_id)
        assert {p: after[p] for p in before} == before  # nothing changed
        new = set(after) - set(before)
        assert new and all(p == f"store/{run_id}" or p.startswith(f"store/{run_id}/") for p in new)
        # only plain files a run holds: no link, no folder, no other name to lead elsewhere
        written = list((root / run_id).iterdir())
        assert all(f.is_file() and not f.is_symlink() and f.name in runs.RUN_FILES for f in written)
        assert run_id in {r["run_id"] for r in runs.list_runs(root)}
        try:
            runs.load_run(root, run_id)
        except runs.RunStoreError:
            tally("imported, then refused by load_run")
        return run_id


# --- random and damaged ZIPs ----------------------------------------------------------------------


@fuzz(150)
@given(st.binary(max_size=2_000) | st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b))
def test_random_bytes_are_refused_in_words_and_the_store_is_untouched(data):
    check_import(data)


def _hot(data: bytes) -> list[int]:
    """Where a ZIP keeps its sizes, names' lengths, offsets and entry counts."""
    return offsets_of(data, (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"), span=46)


@fuzz(200)
@given(st.data())
def test_a_real_run_zip_damaged_anywhere_imports_or_is_refused_and_the_store_is_untouched(data):
    base = exported()[0]
    check_import(data.draw(mutated_bytes([base], hot=_hot(base)), label="zip"))


# --- ZIPs built of hostile entries --------------------------------------------------------------


def contents() -> st.SearchStrategy[bytes]:
    """What an entry holds: a real run file, a config changed in a few places, any JSON, JSON
    nested too deep, a weights file cut short, random bytes."""
    files = exported()[1]
    config = json.loads(files["config.json"])
    return st.one_of(
        st.sampled_from(sorted(files.values())),
        mutated_json([config]).map(lambda v: json.dumps(v, allow_nan=True).encode()),
        json_values().map(lambda v: json.dumps(v, allow_nan=True).encode()),
        st.sampled_from([deep(50_000).encode(), b"", b"{}", b"[]", b"NaN", b'{"run_id": 1}']),
        st.sampled_from([files["weights.safetensors"][:n] for n in (0, 7, 8, 40)]),
        st.binary(max_size=64),
    )


def names() -> st.SearchStrategy[str]:
    files = sorted(runs.RUN_FILES)
    folder = st.sampled_from([RUN_ID, "run", "other", "..", ".", "", "a/b", "C:", "é"])
    return st.one_of(
        st.tuples(folder, st.sampled_from(files)).map("/".join),
        st.sampled_from(files),
        st.sampled_from(["../config.json", "/etc/config.json", "run\\config.json", "run/",
                         "run/take-away/", "run/take-away/model.onnx", "run/take-away/x.sh",
                         "run/config.json/", "run/sub/config.json", "run/config.json\x00",
                         "run/./config.json", "run//config.json", "~/config.json"]),
        st.text(max_size=30),
    )  # fmt: skip


@st.composite
def hostile_zips(draw) -> bytes:
    entries = draw(
        st.lists(
            st.tuples(
                names(),
                contents(),
                st.sampled_from([None, SYMLINK, (stat.S_IFDIR | 0o755) << 16, 0xFFFFFFFF]),
                st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                 zipfile.ZIP_LZMA]),
            ),
            min_size=1,
            max_size=8,
        )
    )  # fmt: skip
    if draw(st.booleans()):  # most of the time with a valid config, so the checks go on
        entries.insert(0, (f"{RUN_ID}/config.json", exported()[1]["config.json"]))
    return make_zip(entries)


@fuzz(150)
@given(hostile_zips())
def test_zips_of_hostile_entries_import_or_are_refused_and_the_store_is_untouched(data):
    check_import(data)


def test_the_real_run_zip_imports_under_a_fresh_id():
    run_id = check_import(exported()[0])
    assert run_id and run_id.startswith(RUN_ID)


# --- the hostile ZIP fault test -----------------------------------------------------------------


def _config() -> bytes:
    return exported()[1]["config.json"]


def _forged_sizes(data: bytes, name: str, size: int) -> bytes:
    """`data` with the uncompressed size of entry `name` written as `size`, in its local header
    and in the central directory (a lying header)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    local = info.header_offset
    out[local + 22 : local + 26] = size.to_bytes(4, "little")
    central = out.find(b"PK\x01\x02")
    while central >= 0:
        n = int.from_bytes(out[central + 28 : central + 30], "little")
        if out[central + 46 : central + 46 + n] == name.encode():
            out[central + 24 : central + 28] = size.to_bytes(4, "little")
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def _bomb(name: str, megabytes: int, zip64: bool = True) -> bytes:
    """A ZIP whose entry `name` inflates to `megabytes` MB of zeros (about 1 KB a MB packed);
    `zip64` False keeps its sizes in the plain headers only (where `_forged_sizes` writes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{RUN_ID}/config.json", _config())
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=zip64) as f:
            block = bytes(1 << 20)
            for _ in range(megabytes):
                f.write(block)
    return buf.getvalue()


HOSTILE = {
    "dot-dot path": lambda: make_zip([("../../evil/config.json", _config())]),
    "dot-dot inside the folder": lambda: make_zip([(f"{RUN_ID}/../../config.json", _config())]),
    "absolute path": lambda: make_zip([("/tmp/evil/config.json", _config())]),
    "drive letter": lambda: make_zip([("C:/evil/config.json", _config())]),
    "backslashes": lambda: make_zip([("run\\..\\..\\config.json", _config())]),
    "symlink as config": lambda: make_zip([(f"{RUN_ID}/config.json", b"/etc/passwd", SYMLINK)]),
    "symlink as weights": lambda: make_zip(
        [
            (f"{RUN_ID}/config.json", _config()),
            (f"{RUN_ID}/weights.safetensors", b"../../../../etc/shadow", SYMLINK),
        ]
    ),  # fmt: skip
    "a name twice": lambda: make_zip(
        [(f"{RUN_ID}/config.json", _config()), (f"{RUN_ID}/config.json", b"{}")]
    ),
    "two folders": lambda: make_zip([("a/config.json", _config()), ("b/metrics.json", b"{}")]),
    "zip bomb, honest header": lambda: _bomb(f"{RUN_ID}/metrics.json", 80),  # over 64 MB
    "zip bomb, lying header": lambda: _forged_sizes(
        _bomb(f"{RUN_ID}/summary.json", 40, zip64=False), f"{RUN_ID}/summary.json", 100
    ),
    "20,000 entries": lambda: make_zip(
        [(f"r/{i}", b"") for i in range(20_000)], zipfile.ZIP_STORED
    ),
    "config not JSON": lambda: make_zip([(f"{RUN_ID}/config.json", b"{'data': 1")]),
    "config nested too deep": lambda: make_zip([(f"{RUN_ID}/config.json", deep(100_000).encode())]),
    "config not a run config": lambda: make_zip(
        [(f"{RUN_ID}/config.json", b'{"data": {"name": "nope"}}')]
    ),
    "config a list": lambda: make_zip([(f"{RUN_ID}/config.json", b"[1, 2]")]),
    "summary from a newer dlviz": lambda: make_zip(
        [
            (f"{RUN_ID}/config.json", _config()),
            (f"{RUN_ID}/summary.json", b'{"format_version": 99}'),
        ]
    ),  # fmt: skip
    "metrics nested too deep": lambda: make_zip(
        [
            (f"{RUN_ID}/config.json", _config()),
            (f"{RUN_ID}/metrics.json", b'{"epoch": ' + deep(100_000).encode() + b"}"),
        ]
    ),  # fmt: skip
    "weights not safetensors": lambda: make_zip(
        [(f"{RUN_ID}/config.json", _config()), (f"{RUN_ID}/weights.safetensors", b"\xff" * 64)]
    ),
    "an unknown file": lambda: make_zip(
        [(f"{RUN_ID}/config.json", _config()), (f"{RUN_ID}/run.sh", b"rm -rf /")]
    ),
    "encrypted entry": lambda: _encrypted(make_zip([(f"{RUN_ID}/config.json", _config())])),
}


def _encrypted(data: bytes) -> bytes:
    """`data` with its first entry marked encrypted (flag bit 0), as a password-protected ZIP."""
    out = bytearray(data)
    out[6] |= 1
    central = out.find(b"PK\x01\x02")
    out[central + 8] |= 1
    return bytes(out)


@cache
def hostile(case: str) -> bytes:
    return HOSTILE[case]()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_zip_is_refused_and_the_store_is_untouched(case):
    """The hostile-ZIP fault test: each is refused with a message, the store has no new or
    changed folder, and nothing is written outside it."""
    assert check_import(hostile(case)) is None, case


def test_hostile_zips_are_refused_in_bounded_memory(tmp_path):
    """What a bomb or a ZIP of many entries costs to refuse: well under its inflated size (a
    control that holds 100 MB shows the measure sees memory)."""
    calls = {}
    for case in ("zip bomb, honest header", "zip bomb, lying header", "20,000 entries"):
        path = tmp_path / "hostile.zip"
        path.write_bytes(hostile(case))
        path = path.rename(tmp_path / f"{len(calls)}.zip")
        calls[case] = f"""
            data = open({str(path)!r}, "rb").read()
            try:
                runs.import_run({str(tmp_path / "store")!r}, data)
            except runs.RunStoreError as e:
                assert str(e).startswith("this is not a dlviz run ZIP"), e
            else:
                raise AssertionError("imported")
            del data
        """
    mb = peaks("from dlviz import runs", calls)
    assert all(v < 100 for v in mb.values()), mb


@pytest.mark.parametrize("where", ["summary", "status", "folder"])
@pytest.mark.parametrize("names", [RUN_ID, "../../outside", "..", "/etc", "a" * 300, "store"])
def test_a_run_zip_naming_another_run_or_a_place_outside_lands_in_a_new_folder_only(where, names):
    """A summary, status or folder name pointing at the run already in the store, or outside
    it: the import takes a fresh id of its own and touches nothing else."""
    files = exported()[1]
    summary = {**json.loads(files["summary.json"]), "run_id": names}
    status = {**json.loads(files["status.json"]), "run_id": names}
    folder = names if where == "folder" else "x"
    entries = [
        (f"{folder}/config.json", files["config.json"]),
        (f"{folder}/summary.json", json.dumps(summary if where == "summary" else {}).encode()),
        (f"{folder}/status.json", json.dumps(status if where == "status" else {}).encode()),
    ]
    run_id = check_import(make_zip(entries))
    if run_id is not None:  # a folder name that is a path is refused; the rest are imported
        assert "/" not in run_id and not run_id.startswith(".")


# --- regressions: each bug found while fuzzing, with the input that showed it -------------------


def _damaged_deflate() -> bytes:
    """The real run ZIP with its config's compressed data starting 0xFF (an invalid deflate
    block type)."""
    data = bytearray(exported()[0])
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(f"{RUN_ID}/config.json")
    at = info.header_offset
    start = at + 30 + int.from_bytes(data[at + 26 : at + 28], "little")
    start += int.from_bytes(data[at + 28 : at + 30], "little")
    data[start] = 0xFF
    return bytes(data)


def _central_directory_past_its_place() -> bytes:
    """The real run ZIP with its end record saying the central directory starts one byte later
    than it does: zipfile then places the first entry at offset -1."""
    data = bytearray(exported()[0])
    end = data.rfind(b"PK\x05\x06")
    offset = int.from_bytes(data[end + 16 : end + 20], "little")
    data[end + 16 : end + 20] = (offset + 1).to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize(
    "make, said",
    [
        (_damaged_deflate, "config.json cannot be read (Error -3 while decompressing"),
        (_central_directory_past_its_place, "cannot be read (negative seek value -1)"),
    ],
)
def test_a_damaged_entry_or_a_misplaced_directory_is_refused_not_a_crash(make, said):
    """Was: zlib.error (a damaged deflate stream) and ValueError (an entry before the start of
    the file) escaped the import's reading of an entry: the Runs page showed a traceback."""
    data = make()
    with pytest.raises(
        runs.RunStoreError, match="^this is not a dlviz run ZIP.*" + re.escape(said)
    ):
        runs.import_run(tempfile.mkdtemp(), data)
    assert check_import(data) is None


@pytest.mark.parametrize("name", ["config.json", "metrics.json", "summary.json", "meta.json"])
def test_a_run_file_nested_too_deep_is_refused_not_a_crash(name):
    """Was: json.loads raised RecursionError (not ValueError) for a file nested deeper than
    Python's recursion limit, and the import crashed."""
    entries = [(f"{RUN_ID}/config.json", _config())] if name != "config.json" else []
    data = make_zip(entries + [(f"{RUN_ID}/{name}", b'{"a": ' + deep(5_000).encode() + b"}")])
    with pytest.raises(runs.RunStoreError, match=f"{name} nests lists or objects too deeply"):
        runs.import_run(tempfile.mkdtemp(), data)


def test_a_zip_of_thousands_of_entries_is_refused_before_zipfile_lists_them(monkeypatch):
    """Was: zipfile listed every entry (about 500 bytes of memory each) before the count was
    checked: 200,000 empty entries, an 18 MB ZIP, took 110 MB to refuse; a ZIP at the 200 MB
    import cap, over a gigabyte. Now the entries' signatures are counted first."""
    from dlviz.runs import archive

    data = hostile("20,000 entries")

    def listed(*args, **kwargs):
        raise AssertionError("zipfile was asked to list the entries")

    monkeypatch.setattr(archive.zipfile, "ZipFile", listed)
    with pytest.raises(runs.RunStoreError, match="it lists 20,000 entries; a run has at most"):
        runs.import_run(tempfile.mkdtemp(), data)
