"""Links, fuzzed: every lab's settings read from any query (any keys and values, unicode, very
long values, a key given twice) without Streamlit, as `dlviz.ui.url_state.sync` reads them:
the good values kept, each bad or unknown one named once, never an exception; and what a page
writes into its link reads back the same."""

from __future__ import annotations

import importlib
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.fuzz import EDGE_TEXT, deep, fuzz, tally

from dlviz.ui import url_state as us

# prefix -> (module with url_fields(), the module of the lab's DEFAULTS)
LABS = {
    "pg": "dlviz.labs.playground.widgets",
    "im": "dlviz.labs.images.widgets",
    "up": "dlviz.labs.uploads.widgets",
    "dp": "dlviz.labs.depth.view",
    "tl": "dlviz.labs.transfer.widgets",
    "dv": "dlviz.labs.devices.widgets",
    "sq": "dlviz.labs.sequences.widgets",
    "sd": "dlviz.labs.sound.widgets",
    "gn": "dlviz.labs.generative.widgets",
    "sw": "dlviz.labs.sweeps.widgets",
    "rs": "dlviz.labs.runs.widgets",
}


@cache
def lab(prefix: str) -> tuple[dict[str, us.Field], dict]:
    """(the fields a lab's link carries, their defaults), as its `init` passes them to sync."""
    mod = importlib.import_module(LABS[prefix])
    if prefix == "rs":  # the Runs lab builds its fields inside init()
        words = us.Field(mod._words, lambda v: ",".join(v))
        return {"rs_search": us.Field(mod._search), "rs_datasets": words,
                "rs_statuses": words}, dict(mod.DEFAULTS)  # fmt: skip
    if prefix == "sq":  # the Sequence page carries its length experiment's settings too
        lengths = importlib.import_module("dlviz.labs.sequences.view_lengths")
        return {**mod.url_fields(), **lengths.url_fields()}, {**mod.DEFAULTS, **lengths.DEFAULTS}
    defaults = mod.defaults() if prefix == "dv" else {**mod.DEFAULTS}
    if prefix in ("up", "sd"):  # they carry the Image lab's network under its own names
        defaults = {**importlib.import_module(LABS["im"]).DEFAULTS, **defaults}
    return mod.url_fields(), defaults


def names(prefix: str) -> list[str]:
    return sorted(us._name(prefix, key) for key in lab(prefix)[0])


def shown_defaults(prefix: str) -> dict[str, str]:
    """{link name: the default as a link writes it} of every field with a default."""
    fields, defaults = lab(prefix)
    out = {}
    for key, field in fields.items():
        if key in defaults:
            try:
                out[us._name(prefix, key)] = field.show(defaults[key])
            except Exception:  # written() leaves such a value out of a link too
                continue
    return out


# What a person (or a mangled link) puts in a value: text of any script, numbers written every
# way, lists, JSON, and values near and over the length limit.
values = (
    st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
    | st.sampled_from(EDGE_TEXT)
    | st.sampled_from(("1_000", "١٢", "１２", " 7 ", "7,", ",", ",,1,,", "0x10", "1e309", "-0"))
    | st.sampled_from(("-inf", "NaN", "True", "on", "1,2,4,8", "8,8,8,8,8", "16, 8, 4"))
    | st.sampled_from(('[{"channels": 8}]', '[{"channels": 8, "pool": "max"}]', "[]", "{}"))
    | st.integers().map(str)
    | st.floats().map(str)
    | st.lists(st.integers(-5, 1000).map(str), max_size=40).map(",".join)
    | st.sampled_from(("x" * 1999, "1" * 2000, "1," * 1001, deep(999), deep(1500)))
)


@st.composite
def queries(draw, prefix: str) -> list[tuple[str, str]]:
    """A link's query as the browser sends it: pairs, a key possibly twice; keys are the
    lab's names (bare or with its prefix), another lab's, or anything."""
    own = names(prefix)
    key = (
        st.sampled_from(own)
        | st.sampled_from(own).map(lambda n: f"{prefix}_{n}")
        | st.sampled_from(names(draw(st.sampled_from(sorted(LABS)))))
        | st.text(max_size=12)
    )
    good = shown_defaults(prefix)
    value = values | (st.sampled_from(sorted(good.values())) if good else values)
    return draw(st.lists(st.tuples(key, value), max_size=12))


def check(prefix: str, pairs: list[tuple[str, str]]) -> None:
    fields, _ = lab(prefix)
    params = dict(pairs)  # st.query_params: the last of a key given twice
    got, ignored = us.read(prefix, fields, params)
    by_name = {us._name(prefix, key): key for key in fields}
    assert set(got) <= set(fields)
    assert len(got) + len(ignored) == len(params), (got, ignored)
    left = list(ignored)
    for name, raw in params.items():
        key = by_name.get(name)
        if key in got:
            assert fields[key].parse(raw) == got[key]
            shown = fields[key].show(got[key])  # the link the page writes back
            assert fields[key].parse(shown) == got[key], (name, raw, shown)
        else:  # named once, in the order given, with what was wrong
            said = left.pop(0)
            assert said.startswith(name[:37]) and said.endswith(")") and len(said) < 300, said
    tally(f"{len(got)} kept, {len(ignored)} named")


@pytest.mark.parametrize("prefix", sorted(LABS))
@fuzz(100)
@given(data=st.data())
def test_every_lab_reads_any_query_keeping_the_good_values_and_naming_the_bad(prefix, data):
    check(prefix, data.draw(queries(prefix), label="query"))


# A default a link cannot carry. It never has to: a link holds what differs from the defaults.
# The Sound lab's gain slider takes whole decibels, and its default is written 0.0.
UNSHOWN = {"sd": {"gain"}}


@pytest.mark.parametrize("prefix", sorted(LABS))
def test_every_labs_defaults_written_into_a_link_read_back_as_they_were(prefix):
    fields, defaults = lab(prefix)
    link = shown_defaults(prefix)
    assert link, prefix
    got, ignored = us.read(prefix, fields, link)
    assert sorted(i.split("=")[0] for i in ignored) == sorted(UNSHOWN.get(prefix, ())), ignored
    for name in UNSHOWN.get(prefix, ()):
        del link[name]
    for name, key in ((us._name(prefix, k), k) for k in fields):
        if name in link:
            want = defaults[key]
            assert got[key] == (list(want) if isinstance(got[key], list) else want), name


# --- regressions: each bug found while fuzzing, with the input that showed it -------------------


@pytest.mark.parametrize("text", [deep(999), "[" * 1_999])
def test_a_json_setting_nested_too_deep_is_named_not_a_crash(text):
    """Was: a structured setting (the Image lab's blocks, also in the Your images and Sound
    links) nested deeper than Python's recursion limit raised RecursionError out of
    json.loads, which `read` did not catch: the page crashed on opening the link."""
    fields, _ = lab("im")
    got, ignored = us.read("im", fields, {"blocks": text})
    assert got == {} and ignored == [f"blocks={text[:37]}... (not readable)"]


def test_a_sweep_axis_value_nested_too_deep_is_not_a_crash():
    """Was: the Sweep lab's axis values (`sw_values_*`, free text in a link or the box) are
    read by `parse_values`, each item as JSON where it is JSON; ``[[[...`` deeper than the
    recursion limit escaped as RecursionError when the page built its sweep file. Now such an
    item is kept as text (and the sweep file's own check names it)."""
    sweeps_widgets = importlib.import_module(LABS["sw"])
    fields, _ = lab("sw")
    got, ignored = us.read("sw", fields, {"values_train.lr": "[" * 1_999})
    assert not ignored
    assert sweeps_widgets.parse_values(got["sw_values_train.lr"]) == ["[" * 1_999]


def test_a_refused_value_is_named_in_one_short_sentence_however_long_its_reason():
    """Was: the Image lab's head widths checker quotes what it refuses, so a link with 2,000
    characters of it gave a 2,178-character notice; a 5,000-character key was shown whole.
    Found by the long fuzz run."""
    fields, _ = lab("im")
    got, ignored = us.read("im", fields, {"head": "x" * 1_999, "k" * 5_000: "1"})
    assert got == {} and len(ignored) == 2
    assert all(len(said) < 300 for said in ignored), [len(s) for s in ignored]
    assert ignored[0].startswith("head=" + "x" * 37 + "... (") and ignored[0].endswith("...)")
    assert ignored[1] == "k" * 37 + "... (not a setting of this page)"
