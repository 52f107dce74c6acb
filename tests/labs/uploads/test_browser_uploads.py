"""Browser test of the Your images page through a real `streamlit run app.py`: a person makes
two classes, uploads real image files into each (one of them not an image, one a CMYK JPEG),
trains, predicts a new picture, downloads the set as a ZIP, and closes the tab: the session's
temporary folder is then removed.

The server runs with `server.disconnectedSessionTTL` of 2 s, so a closed tab's session ends
within seconds instead of Streamlit's default 2 minutes. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import io
import time
import zipfile

import numpy as np
import pytest
from PIL import Image
from support.browser import (
    SLOW_MS,
    Steps,
    keyed_chart,
    report_failure,
    screenshot,
    wait_for_main_text,
    wait_idle,
)

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def streamlit_args() -> list[str]:
    return ["--server.disconnectedSessionTTL", "2"]


def make_picture(path, kind: str, k: int, mode: str = "RGB") -> None:
    rng = np.random.default_rng(k)
    h, w = 90, 120
    a = rng.integers(0, 50, (h, w, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    cy, cx = h / 2 + rng.integers(-15, 16), w / 2 + rng.integers(-20, 21)
    r = rng.integers(15, 25)
    if kind == "disc":
        a[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = (240, 200, 40)
    else:
        a[(abs(yy - cy) < r) & (abs(xx - cx) < r)] = (40, 120, 240)
    img = Image.fromarray(a)
    if mode == "CMYK":
        img = img.convert("CMYK")
    img.save(path)


def folder_of(tmp_path, kind: str, n: int) -> list[str]:
    folder = tmp_path / kind
    folder.mkdir()
    paths = []
    for k in range(n):
        p = folder / f"{kind} nº {k}.{'jpg' if k % 2 else 'png'}"
        make_picture(p, kind, k + (100 if kind == "square" else 0), "CMYK" if k == 1 else "RGB")
        paths.append(str(p))
    return paths


def session_folders(server) -> list:
    return sorted(server.tmpdir.glob("dlviz-session-*"))


@report_failure
def test_upload_two_classes_train_predict_download(streamlit_server, new_page, tmp_path):
    step = Steps()
    discs = folder_of(tmp_path, "disc", 14)
    squares = folder_of(tmp_path, "square", 14)
    notes = tmp_path / "notes.txt"
    notes.write_text("a shopping list, not a picture")

    page = new_page()
    step("the page, then two classes typed in")
    page.goto(streamlit_server.url + "/uploads")
    expect(page.get_by_role("heading", name="Your images", exact=True)).to_be_visible(
        timeout=SLOW_MS
    )
    for name in ("disc", "square"):
        box = page.get_by_placeholder("e.g. cat")
        box.fill(name)
        box.press("Enter")
        wait_for_main_text(page, rf"\b{name} - 0 images")
    dropzones = page.get_by_test_id("stFileUploaderDropzoneInput")

    step("files into each class; a text file among them is named and refused")
    dropzones.nth(0).set_input_files([*discs, str(notes)])
    wait_for_main_text(page, "Added 14 images to disc. 1 file could not be used:", SLOW_MS)
    wait_for_main_text(page, "notes.txt: is not an image")
    # (at once, as a person would: the first upload's rerun must not lose these)
    page.get_by_test_id("stFileUploaderDropzoneInput").nth(1).set_input_files(squares)
    wait_for_main_text(page, "Added 14 images to square.", SLOW_MS)
    wait_for_main_text(page, "28 images in 2 classes")
    wait_idle(page)

    step("the Shallow network and a short run")
    page.get_by_role("tab", name="Network").click()
    page.get_by_role("button", name="Shallow", exact=True).click()
    page.mouse.move(5, 5)  # away from the button: its tooltip would cover the tabs
    wait_idle(page)
    page.get_by_role("tab", name="Training").click()
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill("12")
    epochs.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_main_text(page, r"finished 12 epochs", SLOW_MS)
    deadline = time.monotonic() + SLOW_MS / 1000
    while keyed_chart(page, "up_view_confusion") is None:
        assert time.monotonic() < deadline, "no confusion matrix"
        time.sleep(0.2)

    step("predict a new picture: its probabilities and where the network looked")
    new = tmp_path / "new disc.png"
    make_picture(new, "disc", 999)
    page.get_by_test_id("stFileUploaderDropzoneInput").last.set_input_files(str(new))
    said = wait_for_main_text(page, r"new disc\.png: the network says (disc|square)", SLOW_MS)
    assert said
    deadline = time.monotonic() + SLOW_MS / 1000
    while keyed_chart(page, "up_pred_run_probs") is None or (
        keyed_chart(page, "up_pred_run_explain") is None
    ):
        assert time.monotonic() < deadline, "no prediction charts"
        time.sleep(0.2)
    probs = keyed_chart(page, "up_pred_run_probs")
    assert probs is not None
    screenshot(page, "uploads-predict")

    step("download the labelled set: a ZIP of class folders, written in the session's folder")
    with page.expect_download(timeout=SLOW_MS) as info:
        page.get_by_role("button", name="Download as ZIP").click()
    data = open(info.value.path(), "rb").read()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        first = Image.open(io.BytesIO(z.read(names[0])))
        assert first.format == "PNG"
    assert sum(n.startswith("disc/") for n in names) == 14
    assert sum(n.startswith("square/") for n in names) == 14
    folders = session_folders(streamlit_server)
    assert len(folders) == 1 and list(folders[0].glob("*.zip")), folders

    step("closing the tab ends the session and removes its folder")
    page.context.close()
    deadline = time.monotonic() + 30
    while session_folders(streamlit_server):
        assert time.monotonic() < deadline, "the session folder outlived its session"
        time.sleep(0.5)
