"""A run as a ZIP: exported from the store, and imported back with every file checked."""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from dlviz import jsonread
from dlviz.runs.store import (
    CONFIG,
    FORMAT_VERSION,
    MAX_IMPORT_BYTES,
    MAX_JSON_BYTES,
    MAX_WEIGHTS_BYTES,
    META,
    RUN_FILES,
    RUN_ID,
    STATUS,
    SUMMARY,
    WEIGHTS,
    RunStoreError,
    _folder,
    _version_problem,
    atomic_write_bytes,
    default_root,
    describe_config,
    new_run_id,
)

# --- export and import ------------------------------------------------------------------------

# What a bundle (`dlviz.export.bundle`) adds to a run's folder, for people rather than for dlviz:
# the model as ONNX, the run as code, its metrics as CSV, a model card. Import skips them.
TAKE_AWAY = "take-away"
TAKE_AWAY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.(onnx|npz|py|csv|md|html|txt)")
MAX_TAKE_AWAY_FILES = 16
MAX_TAKE_AWAY_TEXT = 64 << 20  # a script, a CSV, a card, a report
# zipfile reads a ZIP's whole list of entries at once, about 500 bytes of memory each: more
# entry signatures than this (a run has at most 29 entries; an .npz beside it, its own) are
# refused before it does
MAX_ENTRY_SIGNATURES = 10_000


def export_run(root: str | os.PathLike[str] | None, run_id: str) -> bytes:
    """A ZIP of the run's folder (its files under one folder named by the run id)."""
    folder = _folder(root, run_id)
    if not (folder / CONFIG).is_file():
        raise RunStoreError(f"run {run_id} has no config.json; there is nothing to export")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in RUN_FILES:
            path = folder / name
            if path.is_file():
                method = zipfile.ZIP_STORED if name == WEIGHTS else zipfile.ZIP_DEFLATED
                zf.write(path, f"{run_id}/{name}", compress_type=method)
    return buf.getvalue()


IMPORT_CAP_VAR = "DLVIZ_MAX_IMPORT_MB"
DEFAULT_IMPORT_CAP_MB = 200


def max_import_bytes() -> int:
    """The largest run ZIP an import reads: `DLVIZ_MAX_IMPORT_MB` megabytes (a whole number of
    at least 1; default 200), and never more than `MAX_IMPORT_BYTES`."""
    text = os.environ.get(IMPORT_CAP_VAR, "").strip()
    mb = int(text) if text.isdigit() and int(text) >= 1 else DEFAULT_IMPORT_CAP_MB
    return min(mb << 20, MAX_IMPORT_BYTES)


def import_size_problem(size: int) -> str:
    """Why a run ZIP of `size` bytes is not imported ("" when it may be), said before anything
    of it is read."""
    cap = max_import_bytes()
    if size <= cap:
        return ""
    return (
        f"it is {size / 2**20:.0f} MB, over the {cap >> 20} MB a run ZIP may be here "
        f"({IMPORT_CAP_VAR} sets it), so it was not read"
    )


def _zip_problem(message: str) -> RunStoreError:
    return RunStoreError(f"this is not a dlviz run ZIP that can be imported: {message}")


def _read_run_zip(data: bytes) -> tuple[str, dict[str, bytes]]:
    """The folder name (or "") and the known files of a run ZIP; refuses anything else."""
    if problem := import_size_problem(len(data)):
        raise RunStoreError(problem)
    if (listed := data.count(b"PK\x01\x02")) > MAX_ENTRY_SIGNATURES:
        raise _zip_problem(f"it lists {listed:,} entries; a run has at most {len(RUN_FILES)} files")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as e:  # BadZipFile, and zipfile's other errors for a damaged one
        raise _zip_problem(f"not a ZIP file ({e})") from e
    infos = zf.infolist()
    if len(infos) > 2 * len(RUN_FILES) + MAX_TAKE_AWAY_FILES + 1:
        raise _zip_problem(f"{len(infos)} entries; a run has at most {len(RUN_FILES)} files")
    top: set[str] = set()
    files: dict[str, bytes] = {}
    extras = 0
    for info in infos:
        name = info.filename
        parts = name.rstrip("/").split("/")
        if (
            not name
            or "\\" in name
            or ":" in name
            or name.startswith("/")
            or any(p in ("", ".", "..") for p in parts)
            or any(ord(c) < 32 for c in name)
        ):
            raise _zip_problem(f"unsafe path {name!r}")
        if info.is_dir():
            if len(parts) == 2 and parts[1] == TAKE_AWAY:
                top.add(parts[0])
                continue
            if len(parts) != 1:
                raise _zip_problem(f"unexpected folder {name!r}")
            top.add(parts[0])
            continue
        if len(parts) == 3 and parts[1] == TAKE_AWAY:  # a bundle's extras: checked, not kept
            if not TAKE_AWAY_NAME.fullmatch(parts[2]):
                raise _zip_problem(f"unexpected file {name!r}")
            extras += 1
            big = parts[2].endswith((".onnx", ".npz"))
            limit = MAX_WEIGHTS_BYTES if big else MAX_TAKE_AWAY_TEXT
            if extras > MAX_TAKE_AWAY_FILES or info.file_size > limit:
                raise _zip_problem(f"{name} is too big, or one extra file too many")
            top.add(parts[0])
            continue
        if len(parts) > 2:
            raise _zip_problem(f"{name!r} is nested too deep (a run is one folder of files)")
        top.add(parts[0] if len(parts) == 2 else "")
        base = parts[-1]
        if base not in RUN_FILES:
            raise _zip_problem(f"unexpected file {name!r} (a run holds {', '.join(RUN_FILES)})")
        if base in files:
            raise _zip_problem(f"{base} is in it twice")
        limit = MAX_WEIGHTS_BYTES if base == WEIGHTS else MAX_JSON_BYTES[base]
        if info.file_size > limit:
            raise _zip_problem(f"{name} is over {limit >> 20} MB")
        try:
            with zf.open(info) as f:
                content = f.read(limit + 1)
        except Exception as e:  # damaged (zlib.error, ...), encrypted, unknown compression
            raise _zip_problem(f"{name} cannot be read ({e})") from e
        if len(content) > limit:
            raise _zip_problem(f"{name} is over {limit >> 20} MB")
        files[base] = content
    if len(top) > 1:
        raise _zip_problem("its files must all lie in one folder")
    return (top.pop() if top else ""), files


def _check_safetensors(data: bytes) -> None:
    if len(data) < 8:
        raise _zip_problem("weights.safetensors is truncated")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise _zip_problem("weights.safetensors is truncated")
    try:
        header = jsonread.loads(data[8 : 8 + n])
    except ValueError as e:
        raise _zip_problem("weights.safetensors is not a safetensors file") from e
    if not isinstance(header, dict):
        raise _zip_problem("weights.safetensors is not a safetensors file")


def import_run(root: str | os.PathLike[str] | None, data: bytes, owner: str | None = None) -> str:
    """Add a run from a ZIP that `export_run` made; returns its id in this store (a fresh one
    if the id is taken). Refuses a ZIP over `max_import_bytes`, unknown files, oversized files,
    unsafe paths and a config this dlviz cannot read, with a message saying which.

    `owner`: whose run it becomes here (the importer's owner id; "" for nobody's: the server
    operator's); None keeps the owner the ZIP names."""
    from dlviz.config import ConfigError, RunConfig

    root = Path(root) if root else default_root()
    folder_name, files = _read_run_zip(data)
    if CONFIG not in files:
        raise _zip_problem("it has no config.json")
    parsed: dict[str, Any] = {}
    for name, content in files.items():
        if name == WEIGHTS:
            _check_safetensors(content)
            continue
        try:
            parsed[name] = jsonread.loads(content)
        except jsonread.NestedTooDeep as e:
            raise _zip_problem(f"{name} nests lists or objects too deeply to read") from e
        except ValueError as e:
            raise _zip_problem(f"{name} is not valid JSON ({e})") from e
        if not isinstance(parsed[name], dict):
            raise _zip_problem(f"{name} is not a JSON object")
        if problem := _version_problem(name, parsed[name]):
            raise _zip_problem(problem)
    try:
        RunConfig.from_dict(parsed[CONFIG])
    except ConfigError as e:
        raise _zip_problem(f"config.json is not a run config this dlviz can read: {e}") from e

    candidates = [
        folder_name,
        parsed.get(SUMMARY, {}).get("run_id"),
        parsed.get(STATUS, {}).get("run_id"),
    ]
    run_id = next((c for c in candidates if isinstance(c, str) and RUN_ID.fullmatch(c)), "")
    if not run_id:
        run_id = new_run_id("imported")
    root.mkdir(parents=True, exist_ok=True)
    while (root / run_id).exists():
        run_id = f"{run_id[:100]}-{secrets.token_hex(3)}"
    for name in (SUMMARY, STATUS):
        if name in parsed:
            parsed[name]["run_id"] = run_id
    if STATUS in parsed:  # the process that trained it is not ours: unfinished means interrupted
        parsed[STATUS].update(pid=None, host=None, proc_start=None)
    if owner is not None:
        if SUMMARY not in parsed and STATUS not in parsed and owner:  # where the owner is kept
            parsed[STATUS] = {"format_version": FORMAT_VERSION, "run_id": run_id,
                              **describe_config(parsed[CONFIG])}  # fmt: skip
            files[STATUS] = b""
        for name in (SUMMARY, STATUS):
            if name in parsed:
                parsed[name].pop("owner", None)
                if owner:
                    parsed[name]["owner"] = owner
        if owner:  # no restart notice of a run this server never trained
            parsed.setdefault(META, {})["owner_told"] = True
            files.setdefault(META, b"")

    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{run_id}.", suffix=".importing"))
    try:
        for name, content in files.items():
            if name in parsed:
                content = (json.dumps(parsed[name], indent=2, allow_nan=True) + "\n").encode()
            atomic_write_bytes(tmp / name, content)
        os.rename(tmp, root / run_id)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RunStoreError(f"the run could not be written to {root}: {e}") from e
    return run_id
