"""What the fuzz tests (tests/fuzz/) share: their hypothesis settings, and strategies for what
a person can give dlviz (any JSON, mutations of a valid JSON object, mutations of a valid
file's bytes), plus a way to measure the memory one call takes.

The settings are sized so the whole folder runs in about a minute on two cores. For a long
run, ``DLVIZ_FUZZ_EXAMPLES`` sets every test's case count (``5000``) or multiplies it
(``x10``)::

    DLVIZ_FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/fuzz --hypothesis-show-statistics
"""

from __future__ import annotations

import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.control import currently_in_test_context

ROOT = Path(__file__).resolve().parents[2]
# hypothesis's caches (no example database: see `fuzz`) outside the checkout
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "dlviz-hypothesis")


def examples(n: int) -> int:
    """`n` cases, or what DLVIZ_FUZZ_EXAMPLES says: a count (``5000``) or a factor (``x10``)."""
    raw = os.environ.get("DLVIZ_FUZZ_EXAMPLES", "").strip().lower()
    if not raw:
        return n
    if raw.startswith("x"):
        return max(1, round(n * float(raw[1:])))
    return max(1, int(raw))


def fuzz(n: int) -> settings:
    """Settings of a fuzz test of `n` cases in CI: the same cases every run (derandomized, no
    example database left in the checkout), no deadline (two busy cores)."""
    return settings(
        max_examples=examples(n),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
            HealthCheck.function_scoped_fixture,
        ],
    )


def tally(what: str) -> None:
    """Count `what` in hypothesis's statistics (``--hypothesis-show-statistics``): how many
    cases were accepted and how many refused. Outside a fuzz test (a regression test calling
    the same check) it does nothing."""
    if currently_in_test_context():
        event(what)


# --- JSON ---------------------------------------------------------------------------------------

# Numbers a person types by mistake, or a file carries: the edges of every range check.
EDGE_NUMBERS = (
    0, -1, 1, 2, 7, 2**31 - 1, 2**31, 2**63, -(2**63), 10**30, 10**400, -(10**400),
    0.0, -0.0, 0.5, 1.5, 1e-300, 1e308, -1e308, float("nan"), float("inf"), float("-inf"),
)  # fmt: skip
EDGE_TEXT = ("", " ", "0", "1.5", "nan", "true", "null", "[]", "{}", "\x00", "é", "💥", "a" * 300)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(EDGE_NUMBERS)
    | st.sampled_from(EDGE_TEXT)
)


def json_values(words: Sequence[str] = (), max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Any JSON value (NaN and infinities too, as Python's json reads them), its strings and
    keys drawn partly from `words` (the names a checker knows, so checks past the first run)."""
    leaf = scalars | st.sampled_from(tuple(words)) if words else scalars
    key = st.text(max_size=12) | st.sampled_from(tuple(words)) if words else st.text(max_size=12)
    return st.recursive(
        leaf,
        lambda kids: st.lists(kids, max_size=5) | st.dictionaries(key, kids, max_size=5),
        max_leaves=max_leaves,
    )


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON tree, the root first."""
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


def _retyped(value: Any) -> list[Any]:
    """The same value as a person might mistype it: text, a list, an object, another number."""
    out: list[Any] = [str(value), [value], {"value": value}, None, True]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out += [-value, value * 10**6]
        if abs(value) < 1e300:  # (a NaN is not: no float of it, nor a whole number)
            out += [float(value), value + 0.5, int(value)]
    if isinstance(value, str):
        out += [value.upper(), value + " ", value * 50, ""]
    if isinstance(value, list):
        out += [value * 20, value[:0], [value], ",".join(map(str, value))]
    return out


@st.composite
def mutated_json(draw, bases: Sequence[Any], words: Sequence[str] = (), most: int = 3) -> Any:
    """One of `bases` (valid objects) changed in 1 to `most` places: a field dropped, replaced
    by junk or by another valid word, retyped, pushed to an edge number, or an unknown field
    added."""
    obj = copy.deepcopy(draw(st.sampled_from(tuple(bases))))
    junk = json_values(words, max_leaves=6)
    for _ in range(draw(st.integers(1, most))):
        path = draw(st.sampled_from(_paths(obj)))
        target = _get(obj, path)
        action = draw(st.sampled_from(("drop", "junk", "word", "retype", "edge", "add")))
        if action == "add" and isinstance(target, (dict, list)):
            value = draw(junk)
            if isinstance(target, dict):
                keys = tuple(words) + ("extra", "", "__class__")
                target[draw(st.text(max_size=8) | st.sampled_from(keys))] = value
            else:
                target.append(value)
            continue
        if action == "drop" and path:
            parent = _get(obj, path[:-1])
            del parent[path[-1]]
            continue
        if action == "word" and words:
            value = draw(st.sampled_from(tuple(words)))
        elif action == "retype":
            value = draw(st.sampled_from(_retyped(target)))
        elif action == "edge":
            value = draw(st.sampled_from(EDGE_NUMBERS))
        else:
            value = draw(junk)
        if not path:
            obj = value
        else:
            _get(obj, path[:-1])[path[-1]] = value
    return obj


def deep(levels: int, opener: str = "[", closer: str = "]") -> str:
    """JSON text nested `levels` deep (a parser's recursion is what it tests)."""
    return opener * levels + closer * levels


def json_text(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


# --- bytes --------------------------------------------------------------------------------------

EDGE_BYTES = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff",
              b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\x01\x00\x00\x00")  # fmt: skip


@st.composite
def mutated_bytes(draw, bases: Sequence[bytes], hot: Sequence[int] = (), most: int = 4) -> bytes:
    """One of `bases` (valid files) damaged in 1 to `most` ways: bits flipped, bytes set to
    edge values (sizes in headers: 0, 0xFFFFFFFF, ...), cut short, bytes inserted or deleted,
    or a stretch of it spliced in elsewhere. Offsets in `hot` (where a format keeps its sizes)
    are chosen often."""
    data = bytearray(draw(st.sampled_from(tuple(bases))))
    for _ in range(draw(st.integers(1, most))):
        if not data:
            data += draw(st.binary(max_size=16))
            continue
        spots = [h for h in hot if h < len(data)]
        where = st.integers(0, len(data) - 1)
        at = draw(st.sampled_from(spots) | where if spots else where)
        op = draw(st.sampled_from(("flip", "edge", "cut", "insert", "delete", "splice", "random")))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "edge":
            value = draw(st.sampled_from(EDGE_BYTES))
            data[at : at + len(value)] = value
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "splice":
            start = draw(st.integers(0, len(data) - 1))
            piece = data[start : start + draw(st.integers(1, 256))]
            data[at:at] = piece
        else:
            data[at : at + 4] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


def offsets_of(data: bytes, markers: Sequence[bytes], span: int = 48) -> list[int]:
    """Offsets in `data` at and after each occurrence of `markers` (a format's chunk and header
    signatures), up to `span` bytes on: where its sizes and counts lie."""
    out: list[int] = []
    for marker in markers:
        start = data.find(marker)
        while start >= 0:
            out += range(start, min(len(data), start + span))
            start = data.find(marker, start + 1)
    return sorted(set(out))


# --- memory -------------------------------------------------------------------------------------


_MEASURE = """
import os


def _mb(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key)) / 1024


def _peak_of(label, call):
    before = _mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak resident set starts again from now
    call()
    print("PEAK_MB", label, _mb("VmHWM") - before, flush=True)
"""


def peaks(setup: str, calls: dict[str, str], timeout: float = 180.0) -> dict[str, float]:
    """The memory (MB of peak resident set, beyond what was in use before) each of `calls`
    takes, run one after the other in a fresh Python after `setup`; first a control that
    holds 100 MB, which must read as that. Pillow's and libsndfile's buffers are outside
    tracemalloc's view; the resident set is not. Linux only (/proc). A call may assert on what
    it gets: a failed assert fails the run."""
    calls = {"control": "held = b'x' * (100 << 20)", **calls}
    script = [_MEASURE, textwrap.dedent(setup).strip(), "HELD = []"]
    for k, (label, call) in enumerate(calls.items()):
        body = textwrap.indent(textwrap.dedent(call).strip(), "    ")
        keep = "    HELD.append(held)\n" if label == "control" else ""
        script += [f"def _call_{k}():\n{body}\n{keep}", f"_peak_of({label!r}, _call_{k})"]
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}",
            # big blocks from mmap, given back when freed: a call's peak is its own
            "MALLOC_MMAP_THRESHOLD_": "131072",
        },
        preexec_fn=_limit_memory,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = {}
    for line in done.stdout.splitlines():
        if line.startswith("PEAK_MB "):
            label, mb = line[len("PEAK_MB ") :].rsplit(" ", 1)
            out[label] = float(mb)
    control = out.pop("control")
    assert 95 < control < 110, f"the measure does not see a 100 MB block: {control:.0f} MB"
    return out


def _limit_memory() -> None:
    """The child may not map more than 8 GB (torch alone maps a few): a blow-up fails the
    test, not the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
