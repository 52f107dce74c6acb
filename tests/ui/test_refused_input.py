"""Typed numbers out of range, on every page that has number fields: the value reaches the
page (no Streamlit bounds keep an old one behind the screen), a message names the field and
its range, and the page's button is disabled until the value is fixed. Also the rule of the
hidden-layer widths."""

from __future__ import annotations

import pytest

ABSURD = 99_999_999


def errors(at) -> list[str]:
    return [str(e.value) for e in at.error]


def refused(at, key: str, value: int, message: str, buttons: list[str], fixed: int) -> None:
    """Type `value` into `key`: `message` is shown and every one of `buttons` is disabled;
    type `fixed`: the message goes and the buttons are back."""
    at.number_input(key=key).set_value(value).run()
    assert not at.exception, at.exception
    assert at.session_state[key] == value  # what was typed reached the page
    assert any(message in e for e in errors(at)), errors(at)
    for b in buttons:
        assert at.button(key=b).disabled, b
    at.number_input(key=key).set_value(fixed).run()
    assert not at.exception, at.exception
    assert not any(message in e for e in errors(at)), errors(at)
    for b in buttons:
        assert not at.button(key=b).disabled, b


PLAYGROUND = [
    ("pg_epochs", ABSURD, "Epochs: 99,999,999 is out of range; enter a whole number from 1 to 5,000", 100),
    ("pg_seed", -1, "Seed: -1 is out of range; enter a whole number from 0 to 2,147,483,647", 0),
    ("pg_data_seed", 2**31, "Data seed: 2,147,483,648 is out of range", 0),
    ("pg_layers", 40, "Hidden layers: 40 is out of range; enter a whole number from 1 to 32", 3),
]  # fmt: skip


@pytest.mark.parametrize("key, value, message, fixed", PLAYGROUND)
def test_playground_refuses_out_of_range_numbers(apptest, key, value, message, fixed):
    at = apptest("pages/playground.py")
    refused(at, key, value, message, ["pg_train", "pg_train_pair"], fixed)


def test_the_playground_never_trains_on_a_refused_value(apptest):
    at = apptest("pages/playground.py")
    # typed and clicked before the page could rerun: the callback sees the typed value
    at.number_input(key="pg_epochs").set_value(ABSURD)
    at.button(key="pg_train").click().run()
    assert not at.exception, at.exception
    assert "pg_view" not in at.session_state  # nothing started, with another number or not
    assert any("Epochs: 99,999,999 is out of range" in e for e in errors(at)), errors(at)


def test_widths_give_the_real_rule_and_name_every_bad_entry(apptest):
    at = apptest("pages/playground.py")
    at.text_input(key="pg_widths").input("8, -3, abc").run()
    assert not at.exception, at.exception
    text = "\n".join(errors(at))
    assert "'-3' and 'abc' are not whole numbers from 1 to 1,024" in text
    assert "enter one whole number from 1 to 1,024 for each layer, separated by commas" in text
    assert at.button(key="pg_train").disabled


@pytest.mark.parametrize(
    "key, value, message, fixed",
    [
        ("im_epochs", ABSURD, "Epochs: 99,999,999 is out of range", 10),
        ("im_seed", -5, "Seed: -5 is out of range", 0),
        ("im_data_seed", -1, "Data seed: -1 is out of range", 0),
    ],
)
def test_images_refuses_out_of_range_numbers(apptest, key, value, message, fixed):
    at = apptest("pages/images.py")
    refused(at, key, value, message, ["im_train", "im_train_pair"], fixed)


def test_your_images_refuses_out_of_range_numbers(apptest):
    import io

    from PIL import Image

    at = apptest("pages/uploads.py")
    for name in ("red", "blue"):  # a set that can train: two classes of a few pictures
        at.text_input(key="up_new_class").input(name).run()
        at.button(key="up_add_class").click().run()
    s = at.session_state["up_set"]
    for name, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        files = []
        for k in range(6):
            buf = io.BytesIO()
            Image.new("RGB", (12 + k, 12), colour).save(buf, format="PNG")
            files.append((f"{name}{k}.png", buf.getvalue()))
        s.add_files(name, files)
    at.session_state["up_version"] += 1
    at.run()
    assert not at.button(key="up_train").disabled, errors(at)
    for key, value, message, fixed in (
        ("up_epochs", ABSURD, "Epochs: 99,999,999 is out of range", 30),
        ("up_seed", 2**40, "Seed: 1,099,511,627,776 is out of range", 0),
        ("up_data_seed", -2, "Split seed: -2 is out of range", 0),
    ):
        refused(at, key, value, message, ["up_train", "up_train_pair"], fixed)


def test_depth_refuses_out_of_range_epochs(apptest):
    at = apptest("pages/depth.py")
    refused(at, "dp_epochs", 501, "Epochs: 501 is out of range; enter a whole number from 1 to 500", ["dp_run"], 40)  # fmt: skip


def test_transfer_refuses_out_of_range_numbers(apptest):
    at = apptest("pages/transfer.py")
    buttons = ["tl_train", "tl_compare", "tl_efficiency"]
    refused(at, "tl_epochs", ABSURD, "Epochs: 99,999,999 is out of range", buttons, 20)
    refused(at, "tl_seed", -1, "Seed: -1 is out of range", buttons, 0)
    at.number_input(key="tl_steps").set_value(5).run()
    message = "Optimizer steps per run: 5 is out of range; enter a whole number from 10 to 5,000"
    assert any(message in e for e in errors(at)), errors(at)
    assert at.button(key="tl_efficiency").disabled
    assert not at.button(key="tl_compare").disabled  # steps are the experiment's only


def test_runs_compare_refuses_a_test_image_out_of_range(apptest):
    from dlviz import jobs, runs
    from dlviz.config import RunConfig

    cfg = RunConfig.from_dict(
        {
            "data": {"name": "digits", "n_samples": 100},
            "model": {"arch": "cnn", "blocks": [{"channels": 4}]},
            "train": {"epochs": 1, "device": "cpu"},
        }
    )
    for _ in range(2):
        jobs.execute(cfg, emit=lambda e: None, runs_dir=runs.default_root())
    at = apptest("pages/runs.py")
    frame = next(d for d in at.dataframe if (d.key or "").startswith("rs_table_"))
    at.session_state[frame.key] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()  # both runs ticked: the Compare view, with its test-image field
    assert not at.exception, at.exception
    at.number_input(key="rs_cmp_image").set_value(200_000).run()
    assert not at.exception, at.exception
    text = "\n".join(errors(at))
    assert "Test image: 200,000 is out of range; enter a whole number from 0 to 100,000" in text
    at.number_input(key="rs_cmp_image").set_value(3).run()
    assert "Test image" not in "\n".join(errors(at))


def test_the_image_views_numbers_say_when_they_are_out_of_range(apptest):

    from support.apptest import wait_until_done

    from dlviz.config import ConvBlock

    at = apptest("pages/images.py")
    at.select_slider(key="im_shapes_samples").set_value(300).run()
    at.number_input(key="im_epochs").set_value(1).run()
    at.session_state["im_blocks"] = (ConvBlock(8, 3, pool="max"),)
    at.session_state["im_blocks_version"] += 1
    at.run()
    at.button(key="im_train").click().run()
    view = at.session_state["im_view"]
    wait_until_done(at, key="im_view")
    at.run()
    assert not at.exception, at.exception
    n = len(view.handles[0].probe.x_test)
    at.number_input(key="im_sample").set_value(4).run()
    at.number_input(key="im_sample").set_value(n).run()  # one past the last
    assert not at.exception, at.exception
    assert f"Test image: {n:,} is out of range; enter a whole number from 0 to {n - 1:,}" in (
        "\n".join(errors(at))
    )
    assert view.handles[0].probe.sample_index == 4  # it keeps showing the last one asked for
    at.number_input(key="im_explore_channel").set_value(8).run()  # conv1 has 8 channels
    assert not at.exception, at.exception
    assert "Channel: 8 is out of range; enter a whole number from 0 to 7" in "\n".join(errors(at))


def test_a_block_typed_out_of_range_in_the_blocks_table_is_named_and_blocks_train(apptest):
    from dlviz.config import DEEP_BLOCKS
    from dlviz.labs.images.blocks import apply_edits

    # what the table hands over when a person types 9999 into conv3's channels (the grid has
    # no bounds of its own now: it would refuse the entry without a word)
    blocks = apply_edits(DEEP_BLOCKS, {"edited_rows": {2: {"channels": 9999}}})
    assert blocks[2].channels == 9999
    at = apptest("pages/images.py")
    at.session_state["im_blocks"] = blocks
    at.session_state["im_blocks_version"] += 1
    at.run()
    assert not at.exception, at.exception
    assert "Block 3 (conv3) channels: must be at most 512, got 9999." in "\n".join(errors(at))
    assert at.button(key="im_train").disabled
