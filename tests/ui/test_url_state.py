"""Settings in the page's URL: each kind of field read and written, a bad or outdated link named
and left at the defaults, and a round trip of the Playground, the Image lab and the Sequence
lab: settings changed in one session, the link opened in a fresh one, the same settings there
and, for the Playground, the same run started."""

from __future__ import annotations

import json

import pytest

from dlviz.config import DEEP_BLOCKS, ConvBlock
from dlviz.ui import url_state as us


def test_choices_numbers_switches_and_lists_read_as_their_widgets_take_them():
    lr = us.choice((0.001, 0.003, 0.01))
    assert lr.parse("0.003") == 0.003 and lr.parse("3e-3") == 0.003 and lr.show(0.01) == "0.01"
    with pytest.raises(ValueError, match="not one of 0.001, 0.003, 0.01"):
        lr.parse("0.002")
    assert us.whole(1, 10).parse("7") == 7
    for bad, why in (("0", "not from 1 to 10"), ("2.5", "not a whole number")):
        with pytest.raises(ValueError, match=why):
            us.whole(1, 10).parse(bad)
    noise = us.real(0.0, 1.0, 0.05)
    assert noise.parse("0.33") == 0.35  # on the slider's step
    for bad in ("1.5", "nan", "inf", "x"):
        with pytest.raises(ValueError):
            noise.parse(bad)
    assert us.flag().parse("true") is True and us.flag().parse("0") is False
    depths = us.many((1, 2, 4, 8))
    assert depths.parse("8,1,8") == [8, 1] and depths.show([1, 4]) == "1,4"
    with pytest.raises(ValueError):
        depths.parse("1,3")


def test_a_link_is_read_field_by_field_and_what_is_wrong_is_named():
    fields = {"pg_dataset": us.choice(("xor", "spiral")), "pg_seed": us.whole(0, 9)}
    values, ignored = us.read(
        "pg", fields, {"dataset": "xor", "seed": "99", "shape": "star", "x" * 3: "y" * 3000}
    )
    assert values == {"pg_dataset": "xor"}
    assert ignored == [
        "seed=99 (not from 0 to 9)",
        "shape (not a setting of this page)",
        "xxx (not a setting of this page)",
    ]
    assert us.written("pg", fields, {"pg_dataset": "xor", "pg_seed": 0},
                      {"pg_dataset": "spiral", "pg_seed": 0}) == {"dataset": "xor"}  # fmt: skip


def test_a_playground_link_reopens_the_same_settings_and_trains_the_same_run(apptest):
    at = apptest("pages/playground.py")
    at.segmented_control(key="pg_dataset").set_value("xor").run()
    at.text_input(key="pg_widths").input("16, 8, 4").run()
    at.select_slider(key="pg_lr").set_value(0.03).run()
    at.slider(key="pg_noise").set_value(0.25).run()
    at.toggle(key="pg_residual").set_value(True).run()
    at.number_input(key="pg_seed").set_value(4).run()
    link = dict(at.query_params)
    assert {k: v if isinstance(v, str) else v[0] for k, v in link.items()} == {
        "dataset": "xor", "widths": "16, 8, 4", "lr": "0.03", "noise": "0.25",
        "residual": "true", "seed": "4",
    }  # fmt: skip
    at.toggle(key="pg_until_stopped").set_value(False).run()
    at.button(key="pg_train").click().run()
    first = at.session_state["pg_view"].handles[0].config

    fresh = apptest("pages/playground.py", query={k: str(v) for k, v in at.query_params.items()})
    assert not fresh.warning
    ss = fresh.session_state
    assert (ss["pg_dataset"], ss["pg_widths"], ss["pg_layers"], ss["pg_width"]) == (
        "xor", "16, 8, 4", 3, 16,
    )  # fmt: skip
    assert (ss["pg_lr"], ss["pg_noise"], ss["pg_residual"], ss["pg_seed"]) == (0.03, 0.25, True, 4)
    fresh.button(key="pg_train").click().run()
    again = fresh.session_state["pg_view"].handles[0].config
    assert again == first


def test_a_bad_or_outdated_link_keeps_the_defaults_for_what_it_gets_wrong(apptest):
    at = apptest(
        "pages/playground.py",
        query={"dataset": "moons", "widths": "8, 0", "lr": "5", "device": "cuda:7", "old": "1"},
    )
    assert not at.exception
    ss = at.session_state
    assert ss["pg_dataset"] == "moons"  # the good part is kept
    assert ss["pg_widths"] == "8, 8, 8" and ss["pg_lr"] == 0.01 and ss["pg_device"] == "auto"
    (warning,) = [w.value for w in at.warning]
    for words in ("widths=8, 0", "lr=5 (not one of", "device=cuda:7", "old (not a setting"):
        assert words in warning, warning
    assert not at.button(key="pg_train").disabled
    at.run()
    assert not at.warning  # said once


def test_an_image_lab_link_carries_its_blocks_table(apptest):
    blocks = [{"channels": 8, "pool": "max"}, {"channels": 16, "kernel": 5}]
    at = apptest(
        "pages/images.py",
        query={
            "dataset": "digits",
            "digits_size": "16",
            "blocks": json.dumps(blocks),
            "norm": "none",
            "epochs": "4",
        },  # fmt: skip
    )
    assert not at.warning and not at.exception
    ss = at.session_state
    assert ss["im_blocks"] == (ConvBlock(channels=8, pool="max"), ConvBlock(channels=16, kernel=5))
    assert (ss["im_dataset"], ss["im_digits_size"], ss["im_epochs"]) == ("digits", 16, 4)
    link = {k: str(v) for k, v in at.query_params.items()}
    assert json.loads(link["blocks"]) == blocks
    bad = apptest("pages/images.py", query={"blocks": '[{"channels": 8, "kernel": 4}]'})
    assert "kernel: must be odd (1, 3, 5, 7 or 9), got 4" in bad.warning[0].value
    assert tuple(bad.session_state["im_blocks"]) == tuple(DEEP_BLOCKS)  # the default kept


def test_a_sequence_lab_link_reopens_its_task_and_network(apptest):
    query = {"family": "text", "data_text": "sentiment", "arch": "lstm", "hidden": "32",
             "forget_bias": "2.0", "clip": "5.0", "epochs": "7"}  # fmt: skip
    at = apptest("pages/sequences.py", query=query)
    assert not at.warning and not at.exception
    ss = at.session_state
    assert (ss["sq_family"], ss["sq_data_text"], ss["sq_arch"], ss["sq_hidden"]) == (
        "text", "sentiment", "lstm", 32,
    )  # fmt: skip
    assert (ss["sq_forget_bias"], ss["sq_clip"], ss["sq_epochs"]) == (2.0, 5.0, 7)
    assert at.selectbox(key="sq_arch").value == "lstm"


def test_the_length_experiment_shares_the_sequence_pages_link(apptest):
    at = apptest("pages/sequences.py")
    at.segmented_control(key="sq_mode").set_value("lengths").run()
    at.multiselect(key="sq_len_archs").set_value(["rnn", "lstm"]).run()
    at.number_input(key="sq_len_seeds").set_value(3).run()
    link = {k: str(v) for k, v in at.query_params.items()}
    assert link == {"mode": "lengths", "len_archs": "rnn,lstm", "len_seeds": "3"}
    fresh = apptest("pages/sequences.py", query=link)
    ss = fresh.session_state
    assert (ss["sq_mode"], ss["sq_len_archs"], ss["sq_len_seeds"]) == (
        "lengths",
        ["rnn", "lstm"],
        3,
    )
    # 2 networks x 5 lengths x 3 seeds
    assert fresh.button(key="sq_len_run").label == "Run the length experiment (30 runs)"


def test_a_devices_link_reopens_what_to_measure_and_names_a_device_not_here(apptest):
    from dlviz.labs.devices.view import SOURCES

    second = list(SOURCES)[1]
    at = apptest("pages/devices.py", query={"quick": "false", "network": second, "which": "cuda:3"})
    assert not at.exception
    ss = at.session_state
    assert ss["dv_quick"] is False and ss["dv_network"] == second and ss["dv_which"] == "all"
    (warning,) = [w.value for w in at.warning]
    assert "which=cuda:3 (not one of all, cpu" in warning
    link = {k: str(v) for k, v in at.query_params.items()}
    assert link == {"quick": "false", "network": second}
