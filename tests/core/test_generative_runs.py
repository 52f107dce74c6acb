"""Generative runs through the shared engine: the config's defaults and refusals, a run of each
family with its losses and sample metrics in the summary, the CLI contract, reproducibility,
the live snapshots (samples, the discriminator's heatmap, the latent mesh, gradient arrows,
paths), and the default GAN on the ring covering its modes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dlviz import admission, jobs
from dlviz.cli import main
from dlviz.config import ConfigError, RunConfig
from dlviz.data import load_generative
from dlviz.generative_probe import ARROWS, HEAT, MESH, PATH_FRAMES, PATH_POINTS, GenerativeProbe
from dlviz.models.generative import g_loss

SMALL = {"hidden": [32, 32]}
QUICK = {"epochs": 2, "device": "cpu"}


@pytest.fixture(autouse=True)
def fresh_slots(monkeypatch):
    monkeypatch.setattr(admission, "BOARD", admission.Admission())


def config(model: dict, data: dict | None = None, train: dict | None = None) -> RunConfig:
    return RunConfig.from_dict(
        {
            "data": {"name": "ring", "n_samples": 600, **(data or {})},
            "model": {**SMALL, **model},
            "train": {**QUICK, **(train or {})},
        }
    )


def run(cfg: RunConfig) -> tuple[dict, list[dict]]:
    events: list[dict] = []
    summary = jobs.execute(cfg, emit=events.append)
    assert summary["status"] == "finished", summary["message"]
    return summary, events


def test_defaults_name_a_gan_on_the_ring_and_refusals_name_their_field():
    cfg = RunConfig.from_dict({"data": {"name": "ring"}})
    assert (cfg.model.arch, cfg.model.loss, cfg.model.hidden) == (
        "gan",
        "nonsaturating",
        (128,) * 3,
    )
    assert (cfg.data.n_samples, cfg.data.noise, cfg.train.lr) == (4000, 0.0, 0.001)
    assert RunConfig.from_dict({"model": {"arch": "flow"}}).data.name == "ring"
    wgan = RunConfig.from_dict({"model": {"arch": "gan", "loss": "wgan_gp"}})
    assert wgan.model.d_steps == 5
    assert RunConfig.from_json(cfg.to_json()) == cfg
    for patch, field in [
        ({"data": {"name": "ring"}, "model": {"arch": "mlp"}}, "model.arch"),
        ({"data": {"name": "circle"}, "model": {"arch": "gan"}}, "data.name"),
        ({"model": {"arch": "gan", "loss": "wasserstein"}}, "model.loss"),
        ({"model": {"arch": "gan", "d_steps": 0}}, "model.d_steps"),
        ({"model": {"arch": "diffusion", "schedule": "sqrt"}}, "model.schedule"),
        ({"model": {"arch": "vae", "beta": -1}}, "model.beta"),
        ({"model": {"arch": "gan"}, "train": {"lr_d": -0.1}}, "train.lr_d"),
    ]:
        with pytest.raises(ConfigError) as err:
            RunConfig.from_dict(patch)
        assert err.value.field == field


@pytest.mark.parametrize(
    "model, losses",
    [
        ({"arch": "gan"}, {"loss_d", "loss_g"}),
        ({"arch": "gan", "loss": "wgan_gp", "d_steps": 2}, {"loss_d", "loss_g", "gp"}),
        ({"arch": "vae"}, {"loss", "recon", "kl"}),
        ({"arch": "diffusion", "steps": 20}, {"loss"}),
        ({"arch": "flow", "steps": 10}, {"loss"}),
    ],
)
def test_each_family_trains_and_reports_its_losses_and_how_close_its_samples_are(model, losses):
    summary, events = run(config(model))
    final = summary["final"]
    assert losses <= set(final) and all(np.isfinite(final[k]) for k in losses)
    assert final["n_modes"] == 8 and isinstance(final["modes_covered"], int)
    assert 0 <= final["modes_covered"] <= 8 and 0 <= final["high_quality"] <= 1
    assert 0 <= final["divergence"] <= 1 and np.isfinite(final["mmd"])
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(epochs) == 2 and "mmd" not in epochs[0]  # the costly MMD at the end only
    assert "divergence" in epochs[0] and "modes_covered" in epochs[0]
    assert any(e["type"] == "gen" for e in events)  # live snapshots of its samples


def test_the_same_seed_trains_the_same_gan():
    a, _ = run(config({"arch": "gan"}))
    b, _ = run(config({"arch": "gan"}))
    assert a["final"] == b["final"]
    c, _ = run(config({"arch": "gan"}, train={"seed": 1}))
    assert c["final"]["loss_g"] != a["final"]["loss_g"]


def test_dlviz_train_json_gives_the_contract_fields(tmp_path, capsys):
    path = tmp_path / "gan.json"
    path.write_text(json.dumps(config({"arch": "gan"}).to_dict()))
    assert main(["train", str(path), "--runs-dir", str(tmp_path / "s"), "--json", "--quiet"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["final"]
    for key in ("modes_covered", "n_modes", "high_quality", "divergence", "loss_d", "loss_g"):
        assert key in final
    assert isinstance(final["modes_covered"], int) and final["n_modes"] == 8


def test_a_snapshot_shows_samples_heatmap_mesh_and_arrows_of_a_gan():
    cfg = config({"arch": "gan"})
    data = load_generative(cfg.data)
    model = jobs.build_network(cfg, data).model
    model.train()
    snap = GenerativeProbe(extent=data.extent, seed=3)(model, step=5, epoch=1)
    assert model.training  # put back
    assert snap.samples.shape == (512, 2) and (snap.step, snap.epoch) == (5, 1)
    assert snap.heat.shape == (HEAT, HEAT) and snap.heat_kind == "probability"
    assert 0 <= snap.heat.min() and snap.heat.max() <= 1
    assert snap.mesh.shape == (MESH, MESH, 2) and snap.path is None
    assert snap.arrows.shape == (ARROWS, 2, 2)
    # each arrow points down the generator loss's gradient at its point (by hand, autograd)
    x = torch.tensor(snap.arrows[:, 0], requires_grad=True)
    model.eval()
    (grad,) = torch.autograd.grad(g_loss("nonsaturating", model.discriminate(x)), x)
    step = snap.arrows[:, 1] - snap.arrows[:, 0]
    cos = (-grad.numpy() * step).sum(1) / (
        np.linalg.norm(grad.numpy(), axis=1) * np.linalg.norm(step, axis=1) + 1e-12
    )
    assert np.all(cos > 0.999)
    # the heatmap's cell (row i, column j) is D at (x_j, y_i)
    e = data.extent
    with torch.no_grad():
        corner = torch.sigmoid(model.discriminate(torch.tensor([[e, -e]]))).item()
    assert snap.heat[0, -1] == pytest.approx(corner, abs=1e-5)
    again = GenerativeProbe(extent=data.extent, seed=3)(model)
    assert np.array_equal(again.samples, snap.samples)  # the same noise every snapshot


def test_diffusion_and_flow_snapshots_follow_points_from_noise_to_data():
    for model in ({"arch": "diffusion", "steps": 20}, {"arch": "flow", "steps": 10}):
        cfg = config(model)
        data = load_generative(cfg.data)
        net = jobs.build_network(cfg, data).model
        snap = GenerativeProbe(extent=data.extent)(net)
        assert snap.path.shape == (PATH_FRAMES, PATH_POINTS, 2) and snap.heat is None


def test_digits_are_learned_as_flat_images():
    cfg = config({"arch": "vae", "latent": 4}, data={"name": "digits", "n_samples": 300})
    summary, events = run(cfg)
    assert {"loss", "recon", "kl"} <= set(summary["final"])
    assert "modes_covered" not in summary["final"]  # no modes for images
    snap = next(e["snapshot"] for e in events if e["type"] == "gen")
    assert snap.samples.shape == (512, 64) and snap.samples.min() >= 0 <= snap.samples.max() <= 1


@pytest.mark.slow
def test_the_default_gan_covers_at_least_six_of_the_rings_eight_modes():
    summary, _ = run(RunConfig.from_dict({"data": {"name": "ring"}, "model": {"arch": "gan"}}))
    assert summary["final"]["modes_covered"] >= 6
    assert summary["final"]["high_quality"] > 0.8


def test_step_mode_takes_exactly_one_update_then_holds():
    import time

    cfg = config({"arch": "gan"}, train={"epochs": 1000})
    handle = jobs.start(cfg)
    try:
        deadline = time.monotonic() + 20
        while handle.history.step < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
            handle.poll()
        handle.pause()
        time.sleep(0.5)  # the loop sees the pause after its current update
        handle.poll()
        held = handle.history.step
        time.sleep(0.3)
        handle.poll()
        assert handle.history.step == held  # paused: no more updates
        for _ in range(3):
            handle.step()
            time.sleep(0.4)
            handle.poll()
            assert handle.history.step == held + 1, "one update per Step"
            assert handle.control.paused
            held += 1
        assert handle.history.gen[-1].step == held  # each step shows its snapshot
    finally:
        handle.stop()
        handle.wait(timeout=30)


def test_a_latent_walk_decodes_a_straight_line_between_two_latent_points():
    from dlviz.generative_probe import interpolation

    cfg = config({"arch": "vae", "latent": 3})
    data = load_generative(cfg.data)
    model = jobs.build_network(cfg, data).model
    line = interpolation(model, steps=5, seed=7)
    ends = torch.randn(2, 3, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = model.eval().decode(torch.stack([ends[0], ends.mean(0), ends[1]]))
    np.testing.assert_allclose(line[[0, 2, 4]], expected.numpy(), rtol=1e-5, atol=1e-6)
    flow = jobs.build_network(config({"arch": "flow"}), data).model
    assert interpolation(flow) is None  # no latent space to walk


# --- the conditional GAN ------------------------------------------------------------------------

DIGITS = {"name": "digits", "n_samples": 1797}


def test_model_conditional_is_for_a_gan_on_images_with_classes():
    cfg = RunConfig.from_dict({"data": DIGITS, "model": {"arch": "gan", "conditional": True}})
    assert cfg.model.conditional and cfg.to_dict()["model"]["conditional"] is True
    assert RunConfig.from_json(cfg.to_json()) == cfg
    shapes = {"name": "shapes", "image_size": 16, "n_samples": 600}
    assert RunConfig.from_dict(
        {"data": shapes, "model": {"arch": "gan", "conditional": True}}
    ).model.conditional
    assert not RunConfig.from_dict({"data": DIGITS, "model": {"arch": "gan"}}).model.conditional
    for patch, message in [
        ({"data": DIGITS, "model": {"arch": "vae", "conditional": True}},
         "model.conditional: conditions a GAN on the class; a vae takes no class"),
        ({"data": {"name": "ring"}, "model": {"arch": "gan", "conditional": True}},
         "model.conditional: a conditional GAN draws the class it is asked for, and ring has no "
         "classes: choose data.name digits or shapes"),
        ({"data": DIGITS, "model": {"arch": "gan", "conditional": "yes"}},
         "model.conditional: must be true or false, got 'yes'"),
        ({"data": {"name": "shapes"}, "model": {"arch": "cnn", "conditional": True}},
         "model.conditional: conditions a GAN on the class; a cnn takes no class"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError) as err:
            RunConfig.from_dict(patch)
        assert err.value.field == "model.conditional" and str(err.value).startswith(message)


def conditional_digits(**train) -> RunConfig:
    return RunConfig.from_dict(
        {
            "data": DIGITS,
            "model": {"arch": "gan", "conditional": True, "hidden": [64], "latent": 4},
            "train": {**QUICK, **train},
        }
    )


def test_a_conditional_run_on_digits_records_a_grid_of_one_row_a_class(tmp_path):
    from dlviz.generative_probe import PER_CLASS

    cfg = conditional_digits(epochs=2)
    summary, events = run(cfg)
    assert {"loss_d", "loss_g"} <= set(summary["final"])
    snaps = [e["snapshot"] for e in events if e["type"] == "gen"]
    assert snaps and all(s.samples.shape == (10 * PER_CLASS, 64) for s in snaps)
    assert snaps[-1].per_class == PER_CLASS
    assert np.array_equal(snaps[-1].classes, np.repeat(np.arange(10), PER_CLASS))
    # the trained model's grid, by hand: the same PER_CLASS latents (the probe's seed 0) in
    # every row, row c asking for class c
    model = next(e["model"] for e in events if e["type"] == "end")
    z = torch.randn(PER_CLASS, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        rows = [model.eval().generate(z, torch.full((PER_CLASS,), c)) for c in range(10)]
    np.testing.assert_allclose(snaps[-1].samples, torch.cat(rows).numpy(), atol=1e-6)
    assert not np.allclose(snaps[-1].samples[:PER_CLASS], snaps[-1].samples[PER_CLASS:16])


def test_dlviz_train_runs_a_conditional_gan_and_its_stored_weights_rebuild(tmp_path, capsys):
    from dlviz.trained import trained_model

    cfg = conditional_digits(epochs=1)
    path = tmp_path / "cgan.json"
    path.write_text(json.dumps(cfg.to_dict()))
    store = tmp_path / "s"
    assert main(["train", str(path), "--runs-dir", str(store), "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["status"] == "finished" and "loss_g" in out["final"]
    model, _ = trained_model(store, out["run_id"], cfg, load_generative(cfg.data))
    assert model.n_classes == 10 and model.net_g[0].in_features == 4 + 10


def test_a_conditional_gans_latent_walk_keeps_its_class():
    from dlviz.generative_probe import interpolation, walk_class

    cfg = conditional_digits()
    model = jobs.build_network(cfg, load_generative(cfg.data)).model
    line = interpolation(model, steps=5, seed=13)
    assert walk_class(model, 13) == 3  # each walk the next class
    ends = torch.randn(2, 4, generator=torch.Generator().manual_seed(13))
    z = torch.stack([ends[0], ends.mean(0), ends[1]])
    with torch.no_grad():
        expected = model.eval().generate(z, torch.full((3,), 3))
    np.testing.assert_allclose(line[[0, 2, 4]], expected.numpy(), rtol=1e-5, atol=1e-6)
    plain = jobs.build_network(config({"arch": "vae"}), load_generative(config({}).data)).model
    assert walk_class(plain, 13) is None


def test_a_briefly_trained_conditional_gan_draws_each_digit_nearest_its_own_class():
    """After 50 epochs (about 1,000 steps, a few seconds) each class's samples lie nearer their
    own class's mean digit than the other classes' means. Measured on data and training seeds
    0 to 7: each class's own distance at most 0.81 of its mean distance to the others, and 82%
    to 98% of the samples nearest their own class's mean (chance: 10%)."""
    cfg = RunConfig.from_dict(
        {
            "data": DIGITS,
            "model": {"arch": "gan", "conditional": True, "hidden": [128, 128], "latent": 8},
            "train": {"epochs": 50, "lr": 0.002, "batch_size": 64, "device": "cpu"},
        }
    )
    _, events = run(cfg)
    model = next(e["model"] for e in events if e["type"] == "end")
    data = load_generative(cfg.data)
    real, labels = data.x_train.flatten(1), data.y_train
    means = torch.stack([real[labels == c].mean(0) for c in range(10)])  # (10, 64)
    y = torch.arange(10).repeat_interleave(100)
    with torch.no_grad():
        samples = model.eval().generate(
            torch.randn(1000, 8, generator=torch.Generator().manual_seed(0)), y
        )
    dist = (samples[:, None, :] - means[None]).abs().mean(2)  # (1000, 10) mean pixel distance
    by_class = torch.stack([dist[y == c].mean(0) for c in range(10)])  # (class asked, mean of)
    own = by_class.diag()
    others = (by_class.sum(1) - own) / 9
    assert (own < others).all(), (own, others)
    # nearest their own mean for most classes (one may sit nearer a look-alike: 8 and 2 on one
    # machine's arithmetic), and most samples nearest their own class's mean
    assert (by_class.argmin(1) == torch.arange(10)).sum() >= 9
    assert (dist.argmin(1) == y).float().mean() > 0.6


def test_digits_with_only_the_names_given_take_every_digit():
    cfg = RunConfig.from_dict({"data": {"name": "digits"}, "model": {"arch": "gan"}})
    assert cfg.data.n_samples == 1797  # the generative default of 4,000 is more than there are
    assert RunConfig.from_dict({"data": {"name": "ring"}}).data.n_samples == 4000
