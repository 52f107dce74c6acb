"""AppTest of the Sound lab's page: its defaults, clips to hear, a short training with its
feature maps and results, prediction with Grad-CAM and the occlusion check, the spectrogram vs
wave twins, and a person's recordings with bad files among them."""

from __future__ import annotations

import numpy as np
from support.apptest import charts, wait_until_done
from support.sounds import add_class, class_uploader, files, tone, uploader, wav_bytes

PAGE = "pages/sound.py"
VIEW = "sd_view"


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def text(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(parts)


def small(at, clips: int = 200, epochs: int = 2) -> None:
    at.select_slider(key="sd_samples").set_value(clips).run()
    at.number_input(key="sd_epochs").set_value(epochs).run()
    assert not at.exception, at.exception


def test_the_defaults_offer_tones_to_hear_and_a_cnn_ready_to_train(apptest):
    at = apptest(PAGE)
    assert not errors(at), errors(at)
    assert not at.button(key="sd_train").disabled
    assert "**800 clips** of 1 s in 5 classes" in text(at)
    assert len(at.get("audio")) >= 5  # one clip of each class, playable


def train(at, kind: str = "single", deadline_s: float = 120) -> None:
    at.button(key="sd_train" if kind == "single" else "sd_train_pair").click().run()
    assert not at.exception, at.exception
    wait_until_done(at, key=VIEW, deadline_s=deadline_s, rerun=True)


def test_a_short_run_shows_maps_results_and_a_prediction_with_grad_cam(apptest):
    at = apptest(PAGE)
    small(at)
    at.button(key="im_preset_shallow").click().run()
    train(at)
    assert not errors(at), errors(at)
    h = at.session_state[VIEW].handles[0].history
    assert h.done and h.fmaps and h.classes
    shown = text(at)
    assert "What each layer hears" in shown and "Confusion matrix - test accuracy" in shown
    assert "Where the network listened for" in shown
    assert "The occlusion check" in shown
    # where the classes become separable: the probes of the trained network, from the wave on
    at.button(key="sd_probe_fit").click().run()
    assert not at.exception, at.exception
    probes = charts(at)[f"{VIEW}_probes"]["data"][0]
    assert list(probes["x"])[0] == "input" and list(probes["x"])[-1] == "output"
    assert any("training clips" in c.value for c in at.caption)


def own_recordings(at, n: int = 12) -> None:
    at.segmented_control(key="sd_source").set_value("own").run()
    for cls in ("hum", "whistle"):
        add_class(at, cls)
        class_uploader(at, cls).set_value(files(cls, n)).run()
        assert not at.exception, at.exception


def test_own_recordings_load_with_bad_files_named_and_train_then_predict_on_an_upload(apptest):
    at = apptest(PAGE)
    own_recordings(at)
    assert "Added 12 clips to whistle." in text(at) or any(
        "Added 12 clips to whistle." in s.value for s in at.success
    )
    bad = [
        ("notes.wav", b"these are my notes, not a sound", "audio/wav"),
        ("empty.wav", b"", "audio/wav"),
        ("cut.wav", wav_bytes(tone(220, 1))[:5_000], "audio/wav"),
        ("good.wav", wav_bytes(tone(220, 99)), "audio/wav"),
    ]
    class_uploader(at, "hum").set_value(bad).run()
    warned = "\n".join(w.value for w in at.warning)
    assert "Added 1 clip to hum. 3 files could not be used:" in warned
    for name in ("notes.wav", "empty.wav", "cut.wav"):
        assert name in warned
    assert "13 clips" in text(at) or "25 clips in 2 classes" in text(at)  # nothing lost
    at.number_input(key="sd_epochs").set_value(6).run()
    at.button(key="im_preset_shallow").click().run()
    train(at)
    assert not errors(at), errors(at)
    h = at.session_state[VIEW].handles[0].history
    assert h.classes["accuracy"] >= 0.8  # a low hum and a high whistle are easy to tell apart
    at.segmented_control(key="sd_predict_source").set_value("upload").run()
    uploader(at, "sd_predict_file").set_value(
        ("new whistle.wav", wav_bytes(tone(2000, 500)), "audio/wav")
    ).run()
    assert not at.exception, at.exception
    said = [m.value for m in at.markdown if m.value.startswith("**new whistle.wav**")]
    assert said and "the network hears **whistle**" in said[0]
    uploader(at, "sd_predict_file").set_value(
        ("photo.wav", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "audio/wav")
    ).run()
    assert any("photo.wav" in e and "Try another file" in e for e in errors(at))


def test_refused_settings_say_why_and_keep_train_disabled(apptest):
    at = apptest(PAGE)
    at.number_input(key="sd_data_seed").set_value(-1).run()
    assert at.button(key="sd_train").disabled
    assert any("Data seed" in e for e in errors(at))
    at.number_input(key="sd_data_seed").set_value(0).run()
    at.segmented_control(key="sd_source").set_value("own").run()
    assert at.button(key="sd_train").disabled  # no classes yet
    assert any("class" in e.lower() for e in errors(at))


def test_spoken_digits_without_espeak_say_how_to_get_it(apptest, monkeypatch):
    from dlviz.data import spoken

    monkeypatch.setattr(spoken, "espeak_path", lambda: None)
    at = apptest(PAGE)
    at.selectbox(key="sd_set").set_value("spoken_digits").run()
    assert not at.exception, at.exception
    assert at.button(key="sd_train").disabled
    assert any("espeak-ng" in e for e in errors(at)), errors(at)


def noise_files(kind: str, n: int) -> list[tuple[str, bytes, str]]:
    out = []
    for k in range(n):
        rng = np.random.default_rng(100 + k)
        if kind == "clicks":
            x = np.zeros(16_000, np.float32)
            x[:: 16_000 // 20] = 0.9  # 20 clicks a second
            x += rng.normal(0, 0.01, 16_000).astype(np.float32)
        else:
            x = rng.normal(0, 0.2, 16_000).astype(np.float32)
        out.append((f"{kind} {k}.wav", wav_bytes(x), "audio/wav"))
    return out


def test_a_network_trained_on_built_in_sounds_is_tested_on_your_recordings(apptest):
    at = apptest(PAGE)
    at.segmented_control(key="sd_source").set_value("own").run()
    for cls, kind in (("White", "white"), ("CLICKS", "clicks"), ("hum", "white")):
        add_class(at, cls)  # names match whatever their case; hum is no class of noises
        class_uploader(at, cls).set_value(noise_files(kind, 4)).run()
    at.segmented_control(key="sd_source").set_value("builtin").run()
    at.selectbox(key="sd_set").set_value("noises").run()
    small(at, clips=400, epochs=3)
    at.button(key="im_preset_shallow").click().run()
    train(at)
    assert not errors(at), errors(at)
    shown = text(at)
    assert "On **8 recordings of yours** the network is right" in shown
    assert "Distribution shift" in shown
