"""AppTest tests for the Images page, driven by widget keys (see tests/conftest.py's `apptest`
for how AppTest is made to run app.py on every rerun, as a real server does).

Runs are small (a few hundred images, a two-block CNN, two or three epochs) so each trains in
about a second; `wait_until_done` reruns the page, as the live fragment does in a browser.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from support.apptest import button, charts, texts, wait_for, wait_until_done

from dlviz.config import ConvBlock
from dlviz.labs.images.blocks import apply_edits, blocks_frame
from dlviz.labs.images.widgets import DEEP_BLOCKS, SHALLOW_BLOCKS

PAGE = "pages/images.py"
VIEW = "im_view"
SMALL = (ConvBlock(8, 3, pool="max"), ConvBlock(16, 3, pool="max"))
DEADLINE_S = 60.0


@pytest.fixture
def app(apptest):
    """`app(**settings)`: an Images-page session (tests/conftest.py's `apptest`), its widgets set
    to `settings` (by widget key). Every run it starts is stopped and joined at the end."""

    def make(**settings) -> AppTest:
        at = apptest(PAGE)
        for key, value in settings.items():
            set_widget(at, key, value)
        return at

    return make


def set_widget(at: AppTest, key: str, value) -> None:
    if key in ("im_dataset", "im_channels", "im_head_pool"):
        at.segmented_control(key=key).set_value(value).run()
    elif key in ("im_shapes_samples", "im_digits_samples", "im_digits_size", "im_lr", "im_batch"):
        at.select_slider(key=key).set_value(value).run()
    elif key in ("im_epochs", "im_seed", "im_data_seed", "im_sample"):
        at.number_input(key=key).set_value(value).run()
    elif key in ("im_shapes_size", "im_noise", "im_clutter", "im_test_fraction"):
        at.slider(key=key).set_value(value).run()
    elif key in ("im_activation", "im_norm", "im_optimizer"):
        at.selectbox(key=key).set_value(value).run()
    elif key == "im_residual":
        at.toggle(key=key).set_value(value).run()
    elif key == "im_head":
        at.text_input(key=key).input(value).run()
    else:
        raise KeyError(key)
    assert not at.exception, at.exception
    assert at.session_state[key] == value, (key, at.session_state[key])


def set_blocks(at: AppTest, blocks) -> None:
    """What an edit of the blocks table leaves behind: new blocks, a fresh table."""
    at.session_state["im_blocks"] = tuple(blocks)
    at.session_state["im_blocks_version"] = at.session_state["im_blocks_version"] + 1
    at.run()
    assert not at.exception, at.exception


def small_run(app, **settings) -> AppTest:
    """Shapes, 300 images of 28x28, a two-block CNN: a run of a few epochs takes a second."""
    values = {"im_shapes_samples": 300, "im_shapes_size": 28, "im_epochs": 3, **settings}
    at = app(**values)
    set_blocks(at, SMALL)
    return at


def layer_table(at: AppTest):
    tables = [t.value for t in at.dataframe if "FLOPs" in t.value.columns]
    assert len(tables) == 1, [list(t.value.columns) for t in at.dataframe]
    return tables[0]


def view_of(at: AppTest):
    return at.session_state[VIEW]


def image_traces(fig: dict) -> list[dict]:
    return [t for t in fig["data"] if t.get("type") == "image"]


# --- the blocks table ----------------------------------------------------------------------------


def test_table_edits_fold_into_the_blocks_in_streamlits_order():
    blocks = (ConvBlock(16, 3), ConvBlock(32, 3, pool="max"), ConvBlock(64, 5))
    edits = {
        "edited_rows": {"0": {"kernel": 5, "norm": "batch"}, 2: {"residual": "off"}},
        "deleted_rows": [1],
        "added_rows": [{"channels": 8.0, "dropout": 0.2}, {}],
    }
    out = apply_edits(blocks, edits)
    assert out == (
        ConvBlock(16, 5, norm="batch"),
        ConvBlock(64, 5, residual=False),
        ConvBlock(8, 3, dropout=0.2),  # a new row takes the table's defaults where left empty
        ConvBlock(16, 3),
    )
    # Back and forth through the table changes nothing.
    assert apply_edits(DEEP_BLOCKS, {}) == DEEP_BLOCKS
    frame = blocks_frame(out)
    assert list(frame["layer"]) == ["conv1", "conv2", "conv3", "conv4"]
    assert list(frame["residual"]) == ["default", "off", "default", "default"]


# --- rendering and settings ----------------------------------------------------------------------


def test_images_page_renders_with_defaults(app):
    at = app()
    assert not at.error
    assert at.title[0].value == "Images"
    assert at.segmented_control(key="im_dataset").value == "shapes"
    assert at.session_state["im_blocks"] == DEEP_BLOCKS
    assert set(charts(at)) == {"im_data_preview", "im_network"}
    preview = charts(at)["im_data_preview"]
    assert len(image_traces(preview)) == 1
    assert "840 train, 360 test images" in " ".join(texts(at.markdown))
    table = layer_table(at)
    assert list(table["layer"]) == [f"conv{i}" for i in range(1, 9)] + ["pool", "output"]
    assert list(table["output"])[:2] == ["16x32x32", "16x16x16"]
    assert table["parameters"].sum() > 0 and table["FLOPs"].iloc[0] > 0
    assert any(m.startswith("**8 conv layers**") for m in texts(at.markdown))
    assert not button(at, "im_train").disabled
    assert not button(at, "im_train_pair").disabled
    assert VIEW not in at.session_state
    # The sidebar and the page survive a rerun, and the Home page links here.
    at.run()
    assert not at.exception and at.title[0].value == "Images"
    assert [e.label for e in at.sidebar.expander] == ["This machine"]


def test_presets_change_the_blocks_and_the_layer_table(app):
    at = app()
    button(at, "im_preset_shallow").click().run()
    assert not at.exception
    assert at.session_state["im_blocks"] == SHALLOW_BLOCKS
    assert at.session_state["im_head_pool"] == "flatten"
    assert at.session_state["im_norm"] == "none"
    table = layer_table(at)
    assert list(table["layer"]) == ["conv1", "pool", "output"]
    assert list(table["type"])[:2] == ["conv 5x5", "flatten"]
    assert list(table["output"]) == ["16x32x32", str(16 * 32 * 32), "6"]
    assert list(table["parameters"]) == [16 * 25 + 16, 0, 16 * 32 * 32 * 6 + 6]
    assert any(m.startswith("**1 conv layer**") for m in texts(at.markdown))

    set_widget(at, "im_residual", True)
    button(at, "im_preset_deep").click().run()
    assert not at.exception
    assert at.session_state["im_blocks"] == DEEP_BLOCKS
    assert at.session_state["im_residual"] is True  # the switch is kept
    assert at.session_state["im_norm"] == "batch"
    table = layer_table(at)
    assert len(table) == 10
    assert list(table["type"])[1] == "conv 3x3 + shortcut + max pool"
    assert list(table["output"])[-3:] == ["64x4x4", "64", "6"]


def test_an_even_kernel_is_a_clear_error_and_train_is_off(app):
    at = app()
    set_blocks(at, (ConvBlock(16, 3), ConvBlock(16, 4)))
    errors = texts(at.error)
    assert any(e.startswith("Block 2 (conv2) kernel: must be odd") for e in errors), errors
    assert button(at, "im_train").disabled
    assert not button(at, "im_train_pair").disabled  # the presets still train
    assert "im_network" not in charts(at)

    set_blocks(at, (ConvBlock(16, 3), ConvBlock(16, 5)))
    assert not at.error
    assert not button(at, "im_train").disabled
    assert list(layer_table(at)["type"])[1] == "conv 5x5"


def test_pooling_8x8_digits_to_nothing_is_a_clear_error(app):
    at = app(im_dataset="digits")
    assert "1258 train, 539 test images" in " ".join(texts(at.markdown))
    set_blocks(at, [ConvBlock(8, 3, pool="max")] * 4)
    errors = texts(at.error)
    assert any("Block 4 shrinks the 8x8 input to nothing" in e for e in errors), errors
    assert button(at, "im_train").disabled

    set_widget(at, "im_digits_size", 16)  # larger images leave room for a fourth pooling
    assert not at.error
    assert not button(at, "im_train").disabled
    assert list(layer_table(at)["output"])[3] == "8x1x1"


def test_a_bad_head_width_is_named(app):
    at = app()
    set_widget(at, "im_head", "64, x")
    assert any(e.startswith("Head hidden widths: 'x' is not") for e in texts(at.error))
    assert button(at, "im_train").disabled
    set_widget(at, "im_head", "64")
    assert not at.error
    assert list(layer_table(at)["layer"])[-2:] == ["fc1", "output"]


# --- training ----------------------------------------------------------------------------------


def test_a_short_run_shows_feature_maps_filters_confusion_and_mistakes(app):
    at = small_run(app)
    button(at, "im_train").click().run()
    assert not at.exception
    view = view_of(at)
    assert view.kind == "single"
    assert view.handles[0].config.model.blocks == SMALL
    wait_until_done(at, key=VIEW, deadline_s=DEADLINE_S, rerun=True)

    h = view.handles[0].history
    assert h.status == "finished", h.message
    # finished: a success, or a warning when three epochs left it at chance (dlviz.outcome)
    ended = texts(at.success) + texts(at.warning)
    assert any("finished 3 epochs" in s for s in ended), ended
    assert not at.error
    figs = charts(at)
    for key in ("fmaps", "filters", "sample", "curves", "grads", "dead", "confusion", "wrong"):
        assert f"{VIEW}_{key}" in figs, sorted(figs)
    assert len(image_traces(figs[f"{VIEW}_fmaps"])) == 1
    notes = [a["text"] for a in figs[f"{VIEW}_fmaps"]["layout"]["annotations"]]
    assert notes[0].startswith("<b>conv1</b> - 8 channels, 14x14")  # after its pooling
    assert notes[1].startswith("<b>conv2</b> - 16 channels, 7x7")
    assert "im_channel_start" not in [s.key for s in at.selectbox]  # 16 channels: no pages
    assert len(image_traces(figs[f"{VIEW}_filters"])) == 1
    names = ["circle", "square", "triangle", "star", "cross", "line"]
    confusion = figs[f"{VIEW}_confusion"]["data"][0]
    assert confusion["type"] == "heatmap" and list(confusion["x"]) == names
    wrong = h.classes["misclassified"]
    assert wrong, "a 3-epoch run on 300 images should get some wrong"
    captions = [a["text"] for a in figs[f"{VIEW}_wrong"]["layout"]["annotations"]]
    first = wrong[0]
    assert captions[0] == (
        f"{names[first['true']]} → {names[first['pred']]} ({first['confidence']:.0%})"
    )
    assert any(m.startswith("#### Misclassified test images") for m in texts(at.markdown))
    # What a channel looks for: the top test images of the chosen layer and channel.
    assert at.selectbox(key="im_explore_layer").value == "conv2"
    top = figs[f"{VIEW}_top"]
    assert len([a for a in top["layout"]["annotations"]]) == 12
    at.selectbox(key="im_explore_layer").set_value("conv1").run()
    at.number_input(key="im_explore_channel").set_value(7).run()
    assert not at.exception
    assert charts(at)[f"{VIEW}_top"] != top
    assert not button(at, "im_train").disabled

    # After the run, another test image shows through the trained network.
    at.number_input(key="im_sample").set_value(7).run()
    assert not at.exception
    caption = [c for c in texts(at.caption) if c.startswith("Every layer's output for")]
    assert caption and "test image 7" in caption[0] and "the trained network" in caption[0]
    # ...and the slider goes back to the first snapshot, taken before training.
    slider = next(s for s in at.select_slider if s.key.startswith(f"{VIEW}_fmap_"))
    slider.set_value(0).run()
    assert not at.exception
    caption = [c for c in texts(at.caption) if c.startswith("Every layer's output for")]
    assert "epoch 0, step 0" in caption[0], caption


def test_choosing_a_test_image_changes_what_the_next_snapshot_shows(app):
    at = small_run(app, im_epochs=2000)
    button(at, "im_train").click().run()
    view = view_of(at)
    handle = view.handles[0]
    h = handle.history
    wait_for(at, lambda: h.fmaps, "the first snapshot", deadline_s=DEADLINE_S)
    assert h.fmaps[-1].sample_index == 0
    assert handle.probe.sample_index == 0

    at.number_input(key="im_sample").set_value(5).run()
    assert not at.exception
    assert handle.probe.sample_index == 5
    wait_for(
        at,
        lambda: h.fmaps[-1].sample_index == 5,
        "a snapshot of test image 5",
        deadline_s=DEADLINE_S,
    )
    assert view.live
    caption = [c for c in texts(at.caption) if c.startswith("Every layer's output for")]
    assert "test image 5" in caption[0], caption
    # The slider follows the newest snapshot while the run goes on.
    slider = next(s for s in at.select_slider if s.key.startswith(f"{VIEW}_fmap_"))
    assert slider.value == len(h.fmaps) - 1

    button(at, "im_sample_random").click().run()
    assert not at.exception
    assert 0 <= at.session_state["im_sample"] < 90
    assert handle.probe.sample_index == at.session_state["im_sample"]

    button(at, f"{VIEW}_stop").click().run()
    wait_until_done(at, key=VIEW, deadline_s=DEADLINE_S, rerun=True)
    assert h.status == "stopped"


def test_train_shallow_vs_deep(app):
    at = app(im_dataset="digits", im_digits_samples=300, im_epochs=2)
    button(at, "im_train_pair").click().run()
    assert not at.exception
    view = view_of(at)
    assert view.kind == "pair" and view.labels == ["shallow", "deep"]
    assert [h.config.model.blocks for h in view.handles] == [SHALLOW_BLOCKS, DEEP_BLOCKS]
    assert [h.config.model.head_pool for h in view.handles] == ["flatten", "avg"]
    wait_until_done(at, key=VIEW, deadline_s=DEADLINE_S, rerun=True)

    assert [h.history.status for h in view.handles] == ["finished", "finished"]
    ended = texts(at.success) + texts(at.warning)  # a warning where it ended at chance
    assert any(s.startswith("**shallow**: finished 2 epochs") for s in ended), ended
    assert any(s.startswith("**deep**: finished 2 epochs") for s in ended), ended
    markdown = texts(at.markdown)
    assert "#### What happened" in markdown
    reading = " ".join(m for m in markdown if m.startswith("- "))
    assert "8 conv layers" in reading and "1 conv layer" in reading, reading
    assert "Test accuracy" in reading
    figs = charts(at)
    for key in ("curves", "fmaps_0", "fmaps_1", "sample"):
        assert f"{VIEW}_{key}" in figs, sorted(figs)
    shallow = [a["text"] for a in figs[f"{VIEW}_fmaps_0"]["layout"]["annotations"]]
    deep = [a["text"] for a in figs[f"{VIEW}_fmaps_1"]["layout"]["annotations"]]
    assert len(shallow) == 1 and len(deep) == 8
    # Both show the same test image, through each trained network.
    at.number_input(key="im_sample").set_value(3).run()
    assert not at.exception
    captions = [c for c in texts(at.caption) if c.startswith("test image 3:")]
    assert len(captions) == 2, texts(at.caption)
    # Wide layers page through their channels: the deep net's 64-channel layers show 33 to 64.
    assert "channels 1-32 of 64" in deep[-1] and "16 channels" in deep[0]
    pager = at.selectbox(key="im_channel_start")
    assert pager.options == ["1 to 32 of 64", "33 to 64 of 64"]
    pager.set_value(32).run()
    assert not at.exception
    deep = [a["text"] for a in charts(at)[f"{VIEW}_fmaps_1"]["layout"]["annotations"]]
    assert "channels 33-64 of 64" in deep[-1] and "16 channels" in deep[0], deep
    shallow = [a["text"] for a in charts(at)[f"{VIEW}_fmaps_0"]["layout"]["annotations"]]
    assert "16 channels" in shallow[0]
