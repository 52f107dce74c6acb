"""AppTest of the Sound lab's page: its defaults, clips to hear, a short training with its
feature maps and results, prediction with Grad-CAM and the occlusion check, the spectrogram vs
wave twins, and a person's recordings with bad files among them."""

from __future__ import annotations

from support.apptest import wait_until_done

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
