"""AppTest tests for the Your images page: classes, uploads (good and bad files, a ZIP), the
summary and its warnings, training on the uploaded set, and predicting a new image.

The images are made here: small PNG and JPEG pictures of bright discs and dark squares (easy
to tell apart, so a two-epoch run learns them), plus files that must be refused."""

from __future__ import annotations

import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest
from support.apptest import charts, wait_for
from support.uploads import add_class, class_uploader, files, picture, two_classes, upload, uploader

from dlviz.config import ConvBlock

PAGE = "pages/uploads.py"
DEADLINE_S = 60.0


def messages(at: AppTest) -> str:
    return "\n".join(
        e.value for kind in ("error", "warning", "info", "success") for e in at.get(kind)
    )


@pytest.fixture
def page(apptest) -> AppTest:
    return apptest(PAGE)


def test_the_page_opens_empty_with_its_limits_and_train_off(page):
    at = page
    assert at.button(key="up_train").disabled
    text = "\n".join(c.value for c in at.caption)
    assert "Limits: up to 5,000 images, 25 MB and 40 megapixels each" in text
    assert not at.session_state["up_set"].classes and not messages(at)


def test_files_given_to_two_classes_at_once_are_all_taken_in(page):
    """A person drops files on a second class while the first one's are still being read: the
    rerun that empties the first uploader must not replace (and empty) the second."""
    at = page
    add_class(at, "disc")
    add_class(at, "square")
    class_uploader(at, "disc").set_value(files("disc", 5))
    class_uploader(at, "square").set_value(files("square", 4))
    at.run()
    assert not at.exception, at.exception
    classes = at.session_state["up_set"].classes
    assert {c: len(pics) for c, pics in classes.items()} == {"disc": 5, "square": 4}
    assert "9 images in 2 classes" in "\n".join(m.value for m in at.markdown)


def test_one_class_cannot_train_and_says_why(page):
    at = page
    add_class(at, "disc")
    upload(at, "disc", files("disc", 6))
    assert "Training needs at least two classes." in messages(at)
    assert at.button(key="up_train").disabled and at.button(key="up_train_pair").disabled
    add_class(at, "square")
    upload(at, "square", files("square", 6))
    assert "Training needs" not in messages(at)
    assert not at.button(key="up_train").disabled


def test_classes_uploads_summary_and_refused_files_by_name(page):
    at = page
    add_class(at, "disc")
    add_class(at, "disc")  # twice: refused
    assert "There is already a class called disc" in messages(at)
    add_class(at, "a/b")
    assert "cannot be a class name" in messages(at)
    add_class(at, "square")
    assert at.button(key="up_train").disabled
    assert "Classes disc, square have no images yet" in messages(at)

    bad = [
        ("notes.txt", b"not an image at all", "text/plain"),
        ("cut.jpg", picture("disc", 99, "JPEG", size=(160, 120))[:900], "image/jpeg"),
        ("empty.png", b"", "image/png"),
    ]
    upload(at, "disc", files("disc", 3) + bad)
    text = messages(at)
    assert "Added 3 images to disc. 3 files could not be used:" in text
    assert "notes.txt: is not an image" in text
    assert "cut.jpg: is damaged or truncated" in text
    assert "empty.png: is empty" in text
    assert [len(p) for p in at.session_state["up_set"].classes.values()] == [3, 0]

    upload(at, "square", files("square", 12))
    text = messages(at)
    assert "15 images in 2 classes" in "\n".join(m.value for m in at.markdown)
    assert "Few images in disc (under 5)" in text
    assert "Strong imbalance: square has 12 images, disc only 3" in text
    figs = charts(at)
    thumbs = [k for k in figs if k.startswith("up_thumbs_")]
    assert len(thumbs) == 2
    assert "up_preview" in figs  # the augmentation preview: originals and their draws
    assert not at.button(key="up_train").disabled


def test_a_zip_of_class_folders_adds_classes_and_names_unsafe_entries(page):
    at = page
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, _ in files("disc", 6):
            z.writestr(f"disc/{name}", data)
        for name, data, _ in files("square", 6):
            z.writestr(f"square/{name}", data)
        z.writestr("../evil.png", picture("disc", 1))
        z.writestr("inner/more.zip", b"PK\x03\x04")
    uploader(at, "up_zip_").set_value(("set.zip", buf.getvalue(), "application/zip")).run()
    assert not at.exception, at.exception
    text = messages(at)
    assert "Added 12 images." in text and "../evil.png" in text and "more.zip" in text
    assert list(at.session_state["up_set"].classes) == ["disc", "square"]
    uploader(at, "up_zip_").set_value(("photo.png", picture("disc", 2), "image/png")).run()
    assert (
        "Nothing was added. 1 file could not be used:\n- photo.png: this file is not a ZIP"
        in messages(at)
    )


def test_remove_a_class(page):
    at = page
    two_classes(at, 6)
    at.button(key=[b.key for b in at.button if b.key and b.key.startswith("up_remove_")][0]).click()
    at.run()
    assert list(at.session_state["up_set"].classes) == ["square"]
    assert "Removed class disc" in messages(at)


def test_train_on_uploads_then_predict_an_upload_and_a_test_image(page):
    at = page
    at.session_state["im_blocks"] = (ConvBlock(8, 3, pool="max"), ConvBlock(8, 3))
    at.session_state["im_blocks_version"] += 1
    at.number_input(key="up_epochs").set_value(4).run()
    two_classes(at, 12)
    at.button(key="up_train").click().run()
    assert not at.exception, at.exception
    view = at.session_state["up_view"]
    wait_for(at, lambda: not view.live, "the run to end", deadline_s=DEADLINE_S)
    at.run()
    h = view.handles[0].history
    assert h.status == "finished", h.message
    cfg = view.handles[0].config
    assert cfg.data.name == "upload" and cfg.data.n_samples == 24 and cfg.train.augment.flip
    assert h.classes["confusion"].sum() == len(view.handles[0].data.x_test) == 6
    figs = charts(at)
    assert "up_view_fmaps" in figs and "up_view_confusion" in figs
    # what the layers hold, as on the Image lab: the projector of the 6 test images, the probes
    assert "up_view_proj_pca_conv2" in figs
    at.button(key="im_probe_fit").click().run()
    assert not at.exception, at.exception
    assert list(charts(at)["up_view_probes"]["data"][0]["x"]) == [
        "input",
        "conv1",
        "conv2",
        "output",
    ]

    # predict: an uploaded picture, then a damaged one, then a test image
    uploader(at, "up_predict_file").set_value(("new disc.png", picture("disc", 50), "image/png"))
    at.run()
    assert not at.exception, at.exception
    figs = charts(at)
    probs = [k for k in figs if k.endswith("_probs")]
    assert len(probs) == 1
    bars = figs[probs[0]]["data"][0]
    assert sorted(bars["y"]) == ["disc", "square"]
    assert abs(sum(bars["x"]) - 1) < 1e-5
    said = [m.value for m in at.markdown if "the network says" in m.value]
    assert len(said) == 1 and "new disc.png" in said[0]
    explain = figs[[k for k in figs if k.endswith("_explain")][0]]
    assert [a["text"] for a in explain["layout"]["annotations"]] == [
        "the image",
        "saliency",
        "Grad-CAM (conv2)",
    ]
    assert any(k.endswith("_fmaps") and k.startswith("up_pred") for k in figs)

    uploader(at, "up_predict_file").set_value(("broken.png", b"\x89PNG\r\n", "image/png")).run()
    assert "broken.png: is " in messages(at) and "Try another file" in messages(at)

    at.segmented_control(key="up_predict_source").set_value("test").run()
    assert not at.exception, at.exception
    said = [m.value for m in at.markdown if "the network says" in m.value]
    assert len(said) == 1 and said[0].startswith("**test image 0 (")


def test_camera_photos_go_into_the_chosen_class(page):
    at = page
    add_class(at, "disc")
    add_class(at, "square")
    at.toggle(key="up_camera").set_value(True).run()
    at.selectbox(key="up_camera_class").set_value("square").run()
    for k in range(2):
        cams = [c for c in at.camera_input if c.proto.id.split("-")[-1].startswith("up_shot_")]
        assert len(cams) == 1
        cams[0].set_value(("image.jpg", picture("square", k, "JPEG"), "image/jpeg")).run()
        assert not at.exception, at.exception
    pics = at.session_state["up_set"].classes["square"]
    assert [p.name for p in pics] == ["photo-1.jpg", "photo-2.jpg"]
    assert at.session_state["up_set"].classes["disc"] == []
    assert "Added 1 image to square." in messages(at)


def test_train_shallow_vs_deep_on_uploads(page):
    at = page
    at.number_input(key="up_epochs").set_value(2).run()
    two_classes(at, 8)
    at.button(key="up_train_pair").click().run()
    assert not at.exception, at.exception
    view = at.session_state["up_view"]
    assert view.kind == "pair" and view.labels == ["shallow", "deep"]
    wait_for(at, lambda: not view.live, "both runs to end", deadline_s=DEADLINE_S)
    at.run()
    assert [h.history.status for h in view.handles] == ["finished", "finished"]
    assert all(h.data is view.handles[0].data for h in view.handles)  # the same uploaded set
    figs = charts(at)
    assert "up_view_fmaps_0" in figs and "up_view_fmaps_1" in figs
    # predict offers both trained networks
    assert at.segmented_control(key="up_predict_model").options == ["shallow", "deep"]
