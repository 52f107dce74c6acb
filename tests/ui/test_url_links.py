"""Every other lab's settings in its page's URL (`dlviz.ui.url_state`): for Your images, Depth,
Transfer, Sound, Generative and Sweeps, settings of each kind changed in one session, the link
(only what differs from the defaults, without the key prefix) opened in a fresh one, the same
settings there and the lab's button ready; and a bad link per lab - unknown names, numbers out
of range, options that do not exist, slider values past their ends - that opens the page with
the defaults for what it gets wrong, the rest kept, and a warning naming each bad part."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest
from support.uploads import two_classes

LINK_WARNING = "This link's settings are set, except"


def link(at: AppTest) -> dict[str, str]:
    """The page's URL query, as a link gives it."""
    return {k: v if isinstance(v, str) else v[0] for k, v in at.query_params.items()}


def link_warning(at: AppTest) -> str:
    found = [w.value for w in at.warning if w.value.startswith(LINK_WARNING)]
    assert len(found) <= 1, found
    return found[0] if found else ""


def reopened(apptest, page: str, at: AppTest, expected: dict[str, str]) -> AppTest:
    """`at`'s link, checked against `expected`, opened in a fresh session (no warning)."""
    query = link(at)
    assert query == expected
    fresh = apptest(page, query=query)
    assert not link_warning(fresh), link_warning(fresh)
    assert not fresh.error, [e.value for e in fresh.error]
    assert link(fresh) == query  # the fresh session writes the same link back
    return fresh


def assert_state(at: AppTest, values: dict[str, Any]) -> None:
    assert {k: at.session_state[k] for k in values} == values


def assert_refused(at: AppTest, defaults: dict[str, Any], named: list[str]) -> None:
    """The refused settings keep their defaults; the warning names each bad part (once)."""
    assert_state(at, defaults)
    warning = link_warning(at)
    for words in named:
        assert words in warning, (words, warning)
    at.run()
    assert not at.exception and not link_warning(at)


# --- Your images ---------------------------------------------------------------------------------

UPLOADS = "pages/uploads.py"


def test_a_your_images_link_reopens_its_settings_and_network_without_the_pictures(apptest):
    at = apptest(UPLOADS)
    at.select_slider(key="up_size").set_value(48).run()
    at.segmented_control(key="up_channels").set_value(1).run()
    at.slider(key="up_rotate").set_value(20).run()
    at.slider(key="up_crop").set_value(0.2).run()
    at.toggle(key="up_flip").set_value(False).run()
    at.number_input(key="up_epochs").set_value(4).run()
    at.select_slider(key="up_lr").set_value(0.01).run()
    at.selectbox(key="im_activation").set_value("tanh").run()
    at.toggle(key="im_residual").set_value(True).run()
    fresh = reopened(
        apptest,
        UPLOADS,
        at,
        {"size": "48", "channels": "1", "rotate": "20", "crop": "0.2", "flip": "false",
         "epochs": "4", "lr": "0.01", "im_activation": "tanh", "im_residual": "true"},
    )  # fmt: skip
    assert_state(
        fresh,
        {"up_size": 48, "up_channels": 1, "up_rotate": 20, "up_crop": 0.2, "up_flip": False,
         "up_epochs": 4, "up_lr": 0.01, "im_activation": "tanh", "im_residual": True},
    )  # fmt: skip
    assert not fresh.session_state["up_set"].classes  # the pictures are not in a link
    two_classes(fresh, 6)
    assert not fresh.button(key="up_train").disabled
    assert fresh.session_state["up_size"] == 48 and link(fresh)["size"] == "48"


def test_a_bad_your_images_link_keeps_the_defaults_for_what_it_gets_wrong(apptest):
    at = apptest(
        UPLOADS,
        query={"size": "40", "rotate": "90", "crop": "0.9", "colour": "grey", "epochs": "0",
               "camera": "true", "im_norm": "group", "jitter": "0.3", "im_dropout": "0.5"},
    )  # fmt: skip
    assert_refused(
        at,
        {"up_size": 32, "up_rotate": 10, "up_crop": 0.1, "up_epochs": 30, "up_camera": False,
         "im_norm": "batch"},
        ["size=40 (not one of 16, 24, 32, 48, 64)", "rotate=90 (not from 0 to 45)",
         "crop=0.9 (not from 0 to 0.3)", "colour (not a setting", "epochs=0 (not from 1 to",
         "camera (not a setting", "im_norm=group (not one of"],
    )  # fmt: skip
    assert_state(at, {"up_jitter": 0.3, "im_dropout": 0.5})


def test_the_images_page_keeps_its_own_link_apart_from_your_images(apptest):
    """The two pages share the network, each link its own: an Images link is not read as Your
    images settings, nor the reverse."""
    at = apptest(UPLOADS, query={"lr": "0.03", "im_norm": "none"})
    assert_state(at, {"up_lr": 0.03, "im_lr": 0.003, "im_norm": "none"})
    at.query_params.clear()  # as a page switch in a browser does (AppTest's keeps them)
    at.switch_page("pages/images.py").run()
    assert not at.exception and not link_warning(at)
    assert link(at) == {"norm": "none"}  # the Image lab's link names its own settings


# --- Depth ----------------------------------------------------------------------------------------

DEPTH = "pages/depth.py"


def test_a_depth_link_reopens_the_experiment(apptest):
    at = apptest(DEPTH)
    at.multiselect(key="dp_depths").set_value([1, 4]).run()
    at.multiselect(key="dp_variants").set_value(["plain", "residual"]).run()
    at.select_slider(key="dp_width").set_value(32).run()
    at.selectbox(key="dp_activation").set_value("tanh").run()
    at.selectbox(key="dp_dataset").set_value("xor").run()
    at.number_input(key="dp_epochs").set_value(12).run()
    at.select_slider(key="dp_lr").set_value(0.01).run()
    at.number_input(key="dp_seeds").set_value(2).run()
    fresh = reopened(
        apptest,
        DEPTH,
        at,
        {"depths": "1,4", "variants": "plain,residual", "width": "32", "activation": "tanh",
         "dataset": "xor", "epochs": "12", "lr": "0.01", "seeds": "2"},
    )  # fmt: skip
    assert_state(
        fresh,
        {"dp_depths": [1, 4], "dp_variants": ["plain", "residual"], "dp_width": 32,
         "dp_activation": "tanh", "dp_dataset": "xor", "dp_epochs": 12, "dp_lr": 0.01,
         "dp_seeds": 2},
    )  # fmt: skip
    run = fresh.button(key="dp_run")
    assert not run.disabled and run.label == "Run the depth experiment (8 runs)"


def test_a_bad_depth_link_keeps_the_defaults_for_what_it_gets_wrong(apptest):
    at = apptest(
        DEPTH,
        query={"depths": "1,5", "variants": "plain,dense", "width": "1000", "seeds": "11",
               "dataset": "moons", "ladder": "2"},
    )  # fmt: skip
    assert_refused(
        at,
        {"dp_depths": [1, 2, 4, 8, 16, 32], "dp_variants": ["plain", "residual", "sigmoid"],
         "dp_width": 16, "dp_seeds": 1},
        ["depths=1,5 (not one of", "variants=plain,dense (not one of plain, residual, sigmoid)",
         "width=1000 (not one of 4, 8, 16, 32, 64)", "seeds=11 (not from 1 to 10)",
         "ladder (not a setting"],
    )  # fmt: skip
    assert at.session_state["dp_dataset"] == "moons"


# --- Transfer -------------------------------------------------------------------------------------

TRANSFER = "pages/transfer.py"


def test_a_transfer_link_reopens_the_target_strategy_and_training(apptest):
    at = apptest(TRANSFER)
    at.selectbox(key="tl_target").set_value("digits").run()
    at.select_slider(key="tl_per_class").set_value(10).run()
    at.radio(key="tl_strategy").set_value("finetune_top").run()
    at.slider(key="tl_top").set_value(3).run()
    at.select_slider(key="tl_factor").set_value(0.3).run()
    at.select_slider(key="tl_batch").set_value(64).run()
    at.number_input(key="tl_epochs").set_value(5).run()
    at.multiselect(key="tl_levels").set_value([1, 5, 0]).run()
    fresh = reopened(
        apptest,
        TRANSFER,
        at,
        {"target": "digits", "per_class": "10", "strategy": "finetune_top", "top": "3",
         "factor": "0.3", "batch": "64", "epochs": "5", "levels": "1,5,0"},
    )  # fmt: skip
    assert_state(
        fresh,
        {"tl_target": "digits", "tl_per_class": 10, "tl_strategy": "finetune_top", "tl_top": 3,
         "tl_factor": 0.3, "tl_batch": 64, "tl_epochs": 5, "tl_levels": [1, 5, 0]},
    )  # fmt: skip
    assert not fresh.button(key="tl_train").disabled


def test_a_bad_transfer_link_keeps_the_defaults_for_what_it_gets_wrong(apptest):
    at = apptest(
        TRANSFER,
        query={"backbone": "vgg99", "top": "40", "per_class": "7", "steps": "5",
               "strategy": "finetune_all", "checkpoint": "x.pt"},
    )  # fmt: skip
    assert_refused(
        at,
        {"tl_top": 2, "tl_per_class": 25, "tl_steps": 100},
        ["backbone=vgg99 (not one of", "top=40 (not from 1 to 32)", "per_class=7 (not one of",
         "steps=5 (not from 10 to 5,000)", "checkpoint (not a setting"],
    )  # fmt: skip
    assert at.session_state["tl_strategy"] == "finetune_all"
    assert not at.button(key="tl_train").disabled


def test_a_transfer_link_past_the_backbones_blocks_opens_at_its_last_block(apptest):
    """The top-blocks slider ends at the backbone's blocks: a link may name more (another
    backbone has them), and the page takes the most this one has instead of failing."""
    at = apptest(TRANSFER, query={"strategy": "finetune_top", "top": "20"})
    assert not link_warning(at)
    slider = at.slider(key="tl_top")
    assert slider.value == slider.max < 20


# --- Sound ----------------------------------------------------------------------------------------

SOUND = "pages/sound.py"


def test_a_sound_link_reopens_the_clips_features_and_network(apptest):
    at = apptest(SOUND)
    at.select_slider(key="sd_samples").set_value(200).run()
    at.slider(key="sd_noise").set_value(0.2).run()
    at.select_slider(key="sd_seconds").set_value(0.5).run()
    at.segmented_control(key="sd_features").set_value("stft").run()
    at.slider(key="sd_time_mask").set_value(10).run()
    at.number_input(key="sd_epochs").set_value(3).run()
    at.toggle(key="sd_live_probes").set_value(False).run()
    at.toggle(key="im_residual").set_value(True).run()
    fresh = reopened(
        apptest,
        SOUND,
        at,
        {"samples": "200", "noise": "0.2", "seconds": "0.5", "features": "stft",
         "time_mask": "10", "epochs": "3", "live_probes": "false", "im_residual": "true"},
    )  # fmt: skip
    assert_state(
        fresh,
        {"sd_samples": 200, "sd_noise": 0.2, "sd_seconds": 0.5, "sd_features": "stft",
         "sd_time_mask": 10, "sd_epochs": 3, "sd_live_probes": False, "im_residual": True},
    )  # fmt: skip
    assert not fresh.button(key="sd_train").disabled


def test_a_bad_sound_link_keeps_the_defaults_for_what_it_gets_wrong(apptest):
    at = apptest(
        SOUND,
        query={"samples": "200", "gain": "30", "time_mask": "-1", "features": "cqt",
               "window": "300", "set": "birdsong", "recordings": "a.wav", "im_blocks": "[{"},
    )  # fmt: skip
    assert_refused(
        at,
        {"sd_gain": 0.0, "sd_time_mask": 0, "sd_features": "mel", "sd_window": 400,
         "sd_set": "tones"},
        ["gain=30 (not from 0 to 18)", "time_mask=-1 (not from 0 to 40)",
         "features=cqt (not one of mel, stft, mfcc, wave)", "window=300 (not one of",
         "set=birdsong (not one of", "recordings (not a setting", "im_blocks=[{ (not readable)"],
    )  # fmt: skip
    assert at.session_state["sd_samples"] == 200
    assert not at.button(key="sd_train").disabled


# --- Generative -----------------------------------------------------------------------------------

GENERATIVE = "pages/generative.py"


def test_a_generative_link_reopens_the_data_family_and_training(apptest):
    at = apptest(GENERATIVE)
    at.slider(key="gn_noise").set_value(0.3).run()  # (off for images: set first)
    at.selectbox(key="gn_data").set_value("digits").run()
    at.selectbox(key="gn_loss").set_value("hinge").run()
    at.select_slider(key="gn_d_steps").set_value(2).run()
    at.selectbox(key="gn_opt_d").set_value("sgd").run()
    at.checkbox(key="gn_conditional").check().run()
    at.select_slider(key="gn_width").set_value(64).run()
    at.number_input(key="gn_epochs").set_value(50).run()
    fresh = reopened(
        apptest,
        GENERATIVE,
        at,
        {"noise": "0.3", "data": "digits", "loss": "hinge", "d_steps": "2", "opt_d": "sgd",
         "conditional": "true", "width": "64", "epochs": "50"},
    )  # fmt: skip
    assert_state(
        fresh,
        {"gn_data": "digits", "gn_noise": 0.3, "gn_loss": "hinge", "gn_d_steps": 2,
         "gn_opt_d": "sgd", "gn_conditional": True, "gn_width": 64, "gn_epochs": 50},
    )  # fmt: skip
    assert not fresh.button(key="gn_train").disabled
    # a family's own settings, drawn only for it
    vae = apptest(GENERATIVE, query={"arch": "vae", "beta": "2.0", "latent": "8"})
    assert not link_warning(vae)
    assert vae.select_slider(key="gn_beta").value == 2.0
    plain = apptest(GENERATIVE, query={"arch": "vae"})
    assert plain.select_slider(key="gn_beta").value == 0.3  # the default is one of its choices
    assert not vae.button(key="gn_train").disabled


def test_a_bad_generative_link_keeps_the_defaults_for_what_it_gets_wrong(apptest):
    at = apptest(
        GENERATIVE,
        query={"arch": "diffusion", "steps": "1000", "noise": "2", "schedule": "cosine",
               "data": "ring", "beta": "0.2", "points": "0,0;1,1", "depth": "9"},
    )  # fmt: skip
    assert_refused(
        at,
        {"gn_steps": 100, "gn_noise": 0.0, "gn_beta": 0.3, "gn_depth": 3},
        ["steps=1000 (not one of 20, 50, 100, 200)", "noise=2 (not from 0 to 1)",
         "beta=0.2 (not one of", "points (not a setting", "depth=9 (not one of 1, 2, 3, 4)"],
    )  # fmt: skip
    assert (at.session_state["gn_arch"], at.session_state["gn_schedule"]) == (
        "diffusion", "cosine",
    )  # fmt: skip


def test_a_link_to_a_drawing_opens_the_canvas_without_anyones_points(apptest):
    at = apptest(GENERATIVE, query={"data": "drawn", "samples": "1000"})
    assert not link_warning(at)
    assert at.session_state["gn_data"] == "drawn"
    assert link(at) == {"data": "drawn", "samples": "1000"}  # no points in it


# --- Sweeps ---------------------------------------------------------------------------------------

SWEEPS = "pages/sweeps.py"


def test_a_sweep_link_reopens_its_axes_values_and_seeds(apptest):
    at = apptest(SWEEPS)
    at.multiselect(key="sw_axes").set_value(["train.lr", "model.activation"]).run()
    at.text_input(key="sw_values_train.lr").input("0.01, 0.1").run()
    at.number_input(key="sw_seeds").set_value(2).run()
    # trials at once: 1 differs from the default wherever the machine runs more than one
    parallel = {"parallel": "1"} if at.session_state["sw_parallel"] > 1 else {}
    at.number_input(key="sw_parallel").set_value(1).run()
    fresh = reopened(
        apptest,
        SWEEPS,
        at,
        {"axes": "train.lr,model.activation", "values_train.lr": "0.01, 0.1", "seeds": "2",
         **parallel},
    )  # fmt: skip
    assert_state(
        fresh,
        {"sw_axes": ["train.lr", "model.activation"], "sw_values_train.lr": "0.01, 0.1",
         "sw_seeds": 2, "sw_parallel": 1},
    )  # fmt: skip
    start = fresh.button(key="sw_start")
    assert not start.disabled and start.label == "Start the sweep (8 trials)"


def test_a_bad_sweep_link_keeps_the_defaults_for_what_it_gets_wrong(apptest):
    at = apptest(
        SWEEPS,
        query={"axes": "train.lr,model.norm,model.width,model.depth", "seeds": "21",
               "parallel": "0", "values_model.depth": "1, 2", "base": "{}"},
    )  # fmt: skip
    assert_refused(
        at,
        {"sw_axes": ["model.depth", "model.residual"], "sw_seeds": 3},
        ["axes=train.lr,model.norm,model.width,model... (more than 3 axes)",
         "seeds=21 (not from 1 to 20)", "parallel=0 (not from 1 to", "base (not a setting"],
    )  # fmt: skip
    assert at.session_state["sw_values_model.depth"] == "1, 2"
    start = at.button(key="sw_start")
    assert not start.disabled and start.label == "Start the sweep (12 trials)"
    at2 = apptest(SWEEPS, query={"axes": "train.lr,model.loss"})
    assert "axes=train.lr,model.loss (not one of" in link_warning(at2)
