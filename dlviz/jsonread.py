"""JSON read with a fixed limit on nesting, the same in every process.

`json.loads` recurses once per level of nesting and stops at Python's recursion limit, which
depends on the process (a test, a library, or a deep call stack may have changed it): the same
file could be refused in one place and read in another, and a RecursionError is not a
ValueError, so callers that named bad JSON missed it. Every file dlviz writes nests a few levels
deep; `loads` refuses anything past `MAX_DEPTH` before parsing, with `NestedTooDeep`."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 100  # dlviz's own files nest under 10; the parser's stack stays far from its limit

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_STRING_B = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_BRACKET_B = re.compile(rb"[\[\]{}]")


class NestedTooDeep(ValueError):
    """The text nests lists or objects deeper than `MAX_DEPTH`."""

    def __init__(self, depth: int) -> None:
        super().__init__(f"nests lists or objects more than {depth} deep")


def depth_over(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether `text` opens more than `limit` lists or objects inside one another (brackets
    inside strings not counted)."""
    is_bytes = isinstance(text, bytes | bytearray)
    opens = text.count(b"[" if is_bytes else "[") + text.count(b"{" if is_bytes else "{")
    if opens <= limit:  # the usual case: too few brackets in all to nest that deep
        return False
    bare = (_STRING_B if is_bytes else _STRING).sub(b"" if is_bytes else "", text)
    depth = 0
    for m in (_BRACKET_B if is_bytes else _BRACKET).finditer(bare):
        if m.group(0) in (b"[", b"{", "[", "{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads(text: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """`json.loads`, refusing text nested more than `limit` deep with `NestedTooDeep` (a
    ValueError, as `json.JSONDecodeError` is)."""
    if depth_over(text, limit):
        raise NestedTooDeep(limit)
    return json.loads(text)
