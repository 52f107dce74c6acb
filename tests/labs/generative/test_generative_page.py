"""AppTest of the Generative lab's page: its defaults, a GAN on the ring with its plane,
losses and metrics, Step one update at a time, the twins and the race, and refused settings."""

from __future__ import annotations

import json
import time

from support.apptest import wait_until_done

PAGE = "pages/generative.py"
VIEW = "gn_view"


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def text(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def short(at, epochs: int = 3) -> None:
    at.select_slider(key="gn_samples").set_value(1000).run()
    at.select_slider(key="gn_width").set_value(32).run()
    at.number_input(key="gn_epochs").set_value(epochs).run()
    assert not at.exception, at.exception


def test_the_defaults_offer_a_gan_on_the_ring(apptest):
    at = apptest(PAGE)
    assert not errors(at), errors(at)
    assert not at.button(key="gn_train").disabled
    assert "**GAN (non-saturating loss)** on the ring of 8 Gaussians, 3 layers of 128" in text(at)
    assert "2,800 training points to learn, around 8 modes (crosses)." in text(at)


def test_a_short_gan_run_draws_its_plane_losses_and_modes(apptest):
    at = apptest(PAGE)
    short(at)
    at.button(key="gn_train").click().run()
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)
    assert not errors(at), errors(at)
    h = at.session_state[VIEW].handles[0].history
    assert h.done and h.gen and h.epoch == 3
    shown = text(at)
    assert "modes covered" in shown and "Real points (grey)" in shown


def test_step_advances_a_paused_run_by_one_update(apptest):
    at = apptest(PAGE)
    short(at, epochs=500)
    at.button(key="gn_train").click().run()
    view = at.session_state[VIEW]
    view.handles[0].pause()
    time.sleep(0.5)
    at.run()
    before = view.handles[0].history.step
    for _ in range(3):
        view.poll()
    at.button(key="gn_view_step").click().run()
    deadline = time.monotonic() + 10
    while view.handles[0].history.step == before and time.monotonic() < deadline:
        time.sleep(0.1)
        view.poll()
    assert view.handles[0].history.step in (before, before + 1)
    time.sleep(0.5)
    view.poll()
    assert view.handles[0].control.paused  # held again after its one update
    view.stop()
    wait_until_done(at, key=VIEW, deadline_s=30)


def test_the_twins_and_the_race_train_side_by_side(apptest):
    at = apptest(PAGE)
    short(at, epochs=2)
    at.button(key="gn_train_pair").click().run()
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)
    assert not errors(at), errors(at)
    assert [h.history.status for h in at.session_state[VIEW].handles] == ["finished"] * 2
    at.button(key="gn_race").click().run()
    wait_until_done(at, key=VIEW, deadline_s=180, rerun=True)
    assert not errors(at), errors(at)
    view = at.session_state[VIEW]
    assert view.labels == ["GAN", "VAE", "Diffusion", "Flow matching"]
    assert "The race" in text(at)


def test_a_refused_number_keeps_train_off(apptest):
    at = apptest(PAGE)
    at.number_input(key="gn_epochs").set_value(0).run()
    assert at.button(key="gn_train").disabled
    assert any("Epochs" in e for e in errors(at))


def test_a_vae_on_digits_shows_its_samples_and_a_walk_through_its_latent_space(apptest):
    at = apptest(PAGE)
    at.selectbox(key="gn_data").set_value("digits").run()
    at.segmented_control(key="gn_arch").set_value("vae").run()
    at.select_slider(key="gn_width").set_value(64).run()
    at.number_input(key="gn_epochs").set_value(2).run()
    at.button(key="gn_train").click().run()
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)
    assert not errors(at), errors(at)
    assert "A walk through the latent space" in text(at)
    assert at.session_state[VIEW].handles[0].config.model.latent == 8  # digits need more than 2


def test_a_conditional_gan_on_digits_trains_and_draws_one_row_a_class(apptest):
    at = apptest(PAGE)
    box = at.checkbox(key="gn_conditional")
    assert box.disabled and not box.value  # a GAN on 2-D points: no classes
    assert "2-D points have none" in box.help
    at.selectbox(key="gn_data").set_value("digits").run()
    assert not at.checkbox(key="gn_conditional").disabled
    at.checkbox(key="gn_conditional").check().run()
    assert "**GAN (non-saturating loss), conditional on the class** on 8x8 digits" in text(at)
    at.select_slider(key="gn_width").set_value(32).run()
    at.number_input(key="gn_epochs").set_value(2).run()
    at.button(key="gn_train").click().run()
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)
    assert not errors(at), errors(at)
    handle = at.session_state[VIEW].handles[0]
    assert handle.config.model.conditional and handle.config.model.latent == 8
    snap = handle.history.gen[-1]
    assert snap.per_class == 8 and snap.samples.shape == (80, 64)
    shown = text(at)
    assert "one row a class, named on the left" in shown
    assert "Ten samples of the class 0" in shown and "the class held fixed" in shown
    at.segmented_control(key="gn_arch").set_value("vae").run()
    assert "gn_conditional" not in [c.key for c in at.checkbox]  # only a GAN has the box
    assert "**VAE** on 8x8 digits, 3 layers of 32" in text(at)  # and is not conditional


def test_shapes_can_be_chosen_and_previewed(apptest):
    at = apptest(PAGE)
    at.selectbox(key="gn_data").set_value("shapes").run()
    assert not errors(at), errors(at)
    assert "on 16x16 shapes" in text(at)
    assert "2,800 training images to learn; the first 32." in text(at)
    assert not at.select_slider(key="gn_samples").disabled
    assert at.slider(key="gn_noise").disabled
    preview = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert preview["data"][0]["type"] == "image"
    # 32 tiles of 48 px, 8 a row, 4 px apart: 4 rows
    assert preview["layout"]["yaxis"]["range"] == [4 * 52 - 4, 0]
    assert not at.checkbox(key="gn_conditional").disabled
    at.select_slider(key="gn_samples").set_value(1000).run()
    at.select_slider(key="gn_width").set_value(32).run()
    at.number_input(key="gn_epochs").set_value(1).run()
    at.checkbox(key="gn_conditional").check().run()
    at.button(key="gn_train").click().run()
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)
    assert not errors(at), errors(at)
    handle = at.session_state[VIEW].handles[0]
    assert handle.config.data.image_size == 16 and handle.config.data.channels == 1
    assert handle.history.gen[-1].samples.shape == (6 * 8, 16 * 16)  # 6 shapes, 8 noises
    shown = text(at)
    assert "Generated shapes" in shown and "Ten samples of the class circle" in shown


def test_the_discriminator_gets_its_own_optimizer_width_and_depth(apptest):
    at = apptest(PAGE)
    at.selectbox(key="gn_opt_d").set_value("sgd").run()
    at.select_slider(key="gn_width_d").set_value(64).run()
    at.select_slider(key="gn_depth_d").set_value(2).run()
    assert not at.exception and not errors(at), errors(at)
    assert "(the discriminator: 2 layers of 64); the discriminator trains with SGD" in text(at)
    short(at, epochs=1)
    at.button(key="gn_train").click().run()
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)
    handle = at.session_state[VIEW].handles[0]
    assert handle.config.train.optimizer_d == "sgd"
    assert handle.config.model.hidden_d == (64, 64)
    opt_d = handle.history.model  # the trained GAN: its discriminator has the widths asked for
    widths = [m.out_features for m in opt_d.net_d.modules() if hasattr(m, "out_features")]
    assert widths[:2] == [64, 64]
    # the race's other families have no discriminator: its settings do not reach them
    at.button(key="gn_race").click().run()
    view = at.session_state[VIEW]
    for handle in view.handles:
        handle.stop()
    archs = {h.config.model.arch: h.config.train for h in view.handles}
    assert archs["gan"].optimizer_d == "sgd"
    assert all(
        archs[a].optimizer_d == "" and archs[a].lr_d == 0 for a in ("vae", "diffusion", "flow")
    )
