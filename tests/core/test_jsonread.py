"""JSON read with a fixed nesting limit (`dlviz.jsonread`): the depth it counts against the depth
of the parsed value, measured by walking it."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlviz import jsonread

leaves = st.none() | st.booleans() | st.integers() | st.text("[]{}\"\\ab,:'", max_size=6)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text('[]{"\\x', max_size=3), inner, max_size=3)
    ),
    max_leaves=30,
)


def walked_depth(v) -> int:
    if isinstance(v, list):
        return 1 + max((walked_depth(x) for x in v), default=0)
    if isinstance(v, dict):
        return 1 + max((walked_depth(x) for x in v.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(values, st.integers(0, 8))
def test_the_counted_depth_is_the_parsed_values_depth(value, limit):
    text = json.dumps(value)  # brackets and quotes inside strings come out escaped or quoted
    want = walked_depth(value) > limit
    assert jsonread.depth_over(text, limit) is want
    assert jsonread.depth_over(text.encode(), limit) is want


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"a": "[" * 500 + '\\"{{{'})
    assert not jsonread.depth_over(text, 1)
    assert jsonread.loads(text) == json.loads(text)


def test_too_deep_is_refused_whatever_the_recursion_limit():
    text = "[" * 3_000 + "]" * 3_000
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)  # a raised limit let json.loads read it, and the check vanish
    try:
        with pytest.raises(jsonread.NestedTooDeep, match="more than 100 deep"):
            jsonread.loads(text)
    finally:
        sys.setrecursionlimit(limit)
    with pytest.raises(ValueError):  # callers that name bad JSON by ValueError catch it too
        jsonread.loads(text.encode())
    assert jsonread.loads("[" * 100 + "]" * 100) is not None  # at the limit: read
