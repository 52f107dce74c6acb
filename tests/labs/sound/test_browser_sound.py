"""Browser test of the Sound page's own recordings through a real `streamlit run app.py`: a
person chooses *Your recordings*, makes two classes (a low hum and a high whistle), uploads WAV
files into each (16 and 44.1 kHz, mono and stereo, and one text file named .wav), hears them,
trains the Shallow network for a few epochs, watches its feature maps, and gives it a new
whistle to classify: it hears a whistle, with Grad-CAM and the occlusion check beside it.

Screenshots go to test-artifacts/. Needs /usr/bin/chromium (DLVIZ_SKIP_BROWSER=1 skips). The
fixtures `streamlit_server` (one server for this module) and `new_page` are in tests/conftest.py.
"""

from __future__ import annotations

import hashlib
import time

import pytest
from support.browser import (
    SLOW_MS,
    Steps,
    keyed_chart,
    report_failure,
    screenshot,
    trace_field,
    wait_for_main_text,
    wait_for_traces,
    wait_idle,
)
from support.sounds import files, tone, wav_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CLIPS = 12  # a class
EPOCHS = 4


def payloads(kind: str, n: int) -> list[dict]:
    """`n` WAV files of `kind` as Playwright in-memory files."""
    return [{"name": n_, "mimeType": m, "buffer": b} for n_, b, m in files(kind, n)]


def class_uploader(page, cls: str):
    """The file input of class `cls`'s panel (its key names the class by a hash; the number
    after it changes once its files are taken in)."""
    key = f"st-key-sd_files_{hashlib.sha1(cls.encode()).hexdigest()[:10]}_"
    return page.locator(f'[class*="{key}"] input[type=file]')


def annotations(page, key: str) -> list[str]:
    """The annotation texts of the static Plotly chart under Streamlit key `key`."""
    return page.evaluate(
        "(key) => { const p = document.querySelector(`.st-key-${key} .js-plotly-plot`);"
        " return ((p && p.layout && p.layout.annotations) || []).map(a => a.text); }",
        key,
    )


def wait_for_chart(page, key: str, timeout: float = SLOW_MS) -> dict:
    deadline = time.monotonic() + timeout / 1000
    while (chart := keyed_chart(page, key)) is None:
        assert time.monotonic() < deadline, f"no chart under {key}"
        time.sleep(0.2)
    return chart


@report_failure
def test_record_two_classes_train_and_hear_a_new_whistle(streamlit_server, new_page):
    step = Steps()
    page = new_page()
    step("the Sound page, then Your recordings")
    page.goto(streamlit_server.url + "/sound")
    expect(page.get_by_role("heading", name="Sound", exact=True)).to_be_visible(timeout=SLOW_MS)
    wait_idle(page, SLOW_MS)
    yours = page.get_by_role("radio", name="Your recordings", exact=True)
    yours.click()
    expect(yours).to_have_attribute("aria-checked", "true")
    expect(page.get_by_role("heading", name="Your recordings", exact=True)).to_be_visible()

    step("two classes, typed in and added")
    for name in ("hum", "whistle"):
        box = page.get_by_label("New class", exact=True)
        box.fill(name)
        page.get_by_role("button", name="Add class").click()
        wait_for_main_text(page, rf"\b{name} - 0 clips")
        wait_idle(page)

    step("a dozen WAVs into each class: added, and playable")
    class_uploader(page, "hum").set_input_files(payloads("hum", CLIPS))
    wait_for_main_text(page, rf"Added {CLIPS} clips to hum\.", SLOW_MS)
    wait_idle(page)
    class_uploader(page, "whistle").set_input_files(payloads("whistle", CLIPS))
    wait_for_main_text(page, rf"Added {CLIPS} clips to whistle\.", SLOW_MS)
    wait_for_main_text(page, rf"{2 * CLIPS} clips in 2 classes")
    wait_idle(page)
    expect(page.locator('[data-testid="stMain"] audio').first).to_be_attached()
    assert page.locator('[data-testid="stMain"] audio').count() >= 6  # 3 a class

    step("a text file named .wav is refused by name; the good ones stay")
    notes = {"name": "notes.wav", "mimeType": "audio/wav", "buffer": b"a shopping list"}
    good = {"name": "hum extra.wav", "mimeType": "audio/wav", "buffer": wav_bytes(tone(220, 77))}
    class_uploader(page, "hum").set_input_files([notes, good])
    warning = wait_for_main_text(
        page, r"Added 1 clip to hum\. 1 file could not be used:\s*notes\.wav: [^\n]+", SLOW_MS
    )
    assert "is not a sound file" in warning, warning
    wait_for_main_text(page, rf"{2 * CLIPS + 1} clips in 2 classes")
    wait_for_main_text(page, rf"\bhum - {CLIPS + 1} clips")
    wait_idle(page)

    step(f"the Shallow network, {EPOCHS} epochs, Train")
    page.get_by_role("tab", name="Network").click()
    page.get_by_role("button", name="Shallow", exact=True).click()
    page.mouse.move(5, 5)  # away from the button: its tooltip would cover the tabs
    wait_idle(page)
    page.get_by_role("tab", name="Training").click()
    epochs = page.get_by_label("Epochs", exact=True)
    epochs.fill(str(EPOCHS))
    epochs.press("Enter")
    expect(epochs).to_have_value(str(EPOCHS))
    wait_idle(page)
    train = page.get_by_role("button", name="Train", exact=True)
    expect(train).to_be_enabled()
    train.click()
    wait_for_main_text(page, rf"finished {EPOCHS} epochs", SLOW_MS)
    expect(page.get_by_test_id("stMain").get_by_role("button", name="Stop")).to_be_disabled()
    wait_for_main_text(page, r"What each layer hears")
    wait_for_traces(page, "sd_view_fmaps", "type", lambda types: "image" in types)
    wait_for_main_text(page, r"Confusion matrix - test accuracy [\d.]+%", SLOW_MS)

    step("Predict: a new whistle, uploaded")
    page.get_by_role("radio", name="Upload a clip", exact=True).click()
    predict = page.locator('.st-key-sd_predict_file input[type="file"]')
    expect(predict).to_be_attached()
    predict.set_input_files(
        {"name": "new whistle.wav", "mimeType": "audio/wav", "buffer": wav_bytes(tone(2000, 500))}
    )
    wait_for_main_text(page, r"new whistle\.wav: the network hears whistle", SLOW_MS)
    wait_for_chart(page, "sd_pred_run_explain")
    titles = annotations(page, "sd_pred_run_explain")  # subplot titles, in <b>
    assert any("Grad-CAM (conv1)" in t for t in titles), titles
    assert "heatmap" in trace_field(page, "sd_pred_run_explain", "type")
    wait_for_chart(page, "sd_pred_run_occl")
    wait_for_chart(page, "sd_pred_run_probs")
    wait_for_main_text(page, r"The occlusion check: hiding the 20% of the spectrogram")
    screenshot(page, "browser-sound-predict")
    step("done")
