"""The Sound lab's networks, augmentation, settings and explanations, each against an independent
reference: the Image lab's plain CNN on the front end's features, a hand-built `nn.Sequential`
of the 1-D CNN's layers, `torch.roll` and the augmentation's draws recomputed from its seed,
Grad-CAM over time worked out by hand, and occlusion as a hand-masked forward pass."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlviz import explain
from dlviz.audio_features import feature_shape, features
from dlviz.augment import AudioAugment
from dlviz.config import (
    AugmentConfig,
    ConfigError,
    ConvBlock,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from dlviz.data.base import AudioInfo
from dlviz.models import build_model, count_parameters
from dlviz.models.audio import WaveCNN
from dlviz.models.cnn import CNN, SoundCNN

S = 4000  # a quarter second at 16 kHz: the shortest clip the config allows
SMALL = dict(window=256, hop=128, mels=16)  # a front end small enough for quick tests
WAVE = AudioInfo(features="wave")
CNN_CFG = ModelConfig(
    arch="cnn", blocks=(ConvBlock(4, pool="max"), ConvBlock(6)), norm="batch", head=(5,)
)


def waves(b: int = 4, seed: int = 0) -> torch.Tensor:
    """(b, 1, S): tones of different pitch and level with a little noise."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(S) / 16_000
    f = 200 + 900 * torch.rand(b, 1, generator=g)
    a = 0.2 + 0.6 * torch.rand(b, 1, generator=g)
    x = a * torch.sin(2 * math.pi * f * t) + 0.02 * torch.randn(b, S, generator=g)
    return x[:, None].float()


def randomise_batch_norm(model: nn.Module, seed: int = 1) -> None:
    """Running statistics and affine weights away from their identity defaults, so eval-mode
    batch norm is part of what a comparison checks."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(0.3 * torch.randn(n, generator=g))
            m.running_var.copy_(0.5 + torch.rand(n, generator=g))
            m.weight.data.copy_(1 + 0.2 * torch.randn(n, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(n, generator=g))


# --- SoundCNN: the Image lab's CNN on the front end's features ---------------------------------


@pytest.mark.parametrize("kind", ["mel", "stft", "mfcc"])
def test_a_sound_cnn_is_the_plain_cnn_on_the_features(kind):
    info = AudioInfo(features=kind, **SMALL)
    model = build_model(CNN_CFG, (1, S), 3, seed=0, spec=info)
    assert isinstance(model, SoundCNN)
    # the spectrogram's shape by hand: rows (bins, bands or coefficients) x centred frames
    rows = {"stft": 256 // 2 + 1, "mel": 16, "mfcc": 16}[kind]
    assert feature_shape(info, S) == model.spec_shape == (1, rows, S // 128 + 1)
    plain = build_model(CNN_CFG, feature_shape(info, S), 3, seed=0)
    assert type(plain) is CNN
    # no front-end buffers in the state dict; the same seed draws the same weights
    state = model.state_dict()
    assert list(state) == list(plain.state_dict())
    assert not any(k.startswith("frontend") for k in state)
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in state.items())
    randomise_batch_norm(model)
    plain.load_state_dict(model.state_dict())
    # conv 1->4 (3x3) + bn, conv 4->6 + bn, head 6->5, out 5->3
    hand = (9 * 4 + 4) + 8 + (4 * 6 * 9 + 6) + 12 + (6 * 5 + 5) + (5 * 3 + 3)
    assert count_parameters(model) == count_parameters(plain) == hand

    x = waves()
    model.eval()
    plain.eval()
    with torch.no_grad():
        spec = features(x, info)
        assert spec.shape == (4, 1, rows, S // 128 + 1)
        assert torch.allclose(model.frontend(x), spec, atol=1e-6)
        out = model(x)
        assert out.shape == (4, 3)
        assert torch.allclose(out, plain(spec), atol=1e-5)
        assert torch.allclose(model.body(spec), plain(spec), atol=1e-5)


def test_a_sound_cnn_trains_as_the_plain_cnn_does_without_masks():
    """In training mode (batch statistics) too, with no SpecAugment masks set."""
    info = AudioInfo(**SMALL)
    model = build_model(CNN_CFG, (1, S), 3, seed=4, spec=info)
    plain = build_model(CNN_CFG, feature_shape(info, S), 3, seed=4)
    x = waves(6)
    assert torch.allclose(model(x), plain(features(x, info)), atol=1e-5)


# --- WaveCNN: the 1-D CNN on the raw wave -----------------------------------------------------


def hand_wave_net(narrow: int, wide: int, layers: int, kernel: int, n: int):
    """The layers the WaveCNN docstring describes, written out: conv1d 80 stride 4, batch norm,
    ReLU, 4x max pool; then `layers` blocks of `kernel`-wide convolutions, the first `narrow`
    wide and the others `wide`; then (after the mean over time) a linear layer."""
    mods: list[nn.Module] = [
        nn.Conv1d(1, narrow, 80, 4, padding=40),
        nn.BatchNorm1d(narrow),
        nn.ReLU(),
        nn.MaxPool1d(4),
    ]
    c = narrow
    for i in range(layers):
        c_out = narrow if i == 0 else wide
        mods += [
            nn.Conv1d(c, c_out, kernel, 1, padding=kernel // 2),
            nn.BatchNorm1d(c_out),
            nn.ReLU(),
            nn.MaxPool1d(4),
        ]
        c = c_out
    return nn.Sequential(*mods), nn.Linear(c, n)


def copy_into(model: nn.Module, seq: nn.Sequential, out: nn.Linear) -> None:
    """The model's state, in order, into the hand-built layers (the names differ)."""
    values = list(model.state_dict().values())
    targets = list(seq.state_dict().items()) + [
        ("out." + k, v) for k, v in out.state_dict().items()
    ]
    assert len(values) == len(targets)
    for v, (_, t) in zip(values, targets):
        assert v.shape == t.shape
        t.copy_(v)


def hand_standardise(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, S): each clip minus its mean over its population std."""
    m = x.mean(dim=-1, keepdim=True)
    return (x - m) / (x - m).pow(2).mean(dim=-1, keepdim=True).sqrt()


@pytest.mark.parametrize("layers, kernel", [(1, 3), (2, 5), (3, 4)])
def test_a_wave_cnn_is_the_hand_built_stack_of_its_layers(layers, kernel):
    cfg = ModelConfig(arch="cnn1d", hidden_size=8, layers=layers, kernel=kernel)
    model = build_model(cfg, (1, S), 3, seed=0, spec=WAVE)
    assert isinstance(model, WaveCNN)
    seq, out = hand_wave_net(4, 8, layers, kernel, 3)
    assert count_parameters(model) == sum(p.numel() for p in [*seq.parameters(), *out.parameters()])
    assert not any(k.startswith("frontend") for k in model.state_dict())
    randomise_batch_norm(model)
    copy_into(model, seq, out)

    # each block's output length by hand: the stem's conv (S + 2*40 - 80) // 4 + 1, a block's
    # (L + 2 * (k // 2) - k) + 1, each then pooled by 4
    lengths, length = [], (S + 2 * 40 - 80) // 4 + 1
    lengths.append(length // 4)
    for _ in range(layers):
        lengths.append((lengths[-1] + 2 * (kernel // 2) - kernel + 1) // 4)
    seen = []
    hooks = [b.register_forward_hook(lambda m, i, o: seen.append(o.shape)) for b in model.blocks]
    x = waves(3)
    model.eval()
    seq.eval()
    with torch.no_grad():
        got = model(x)
        ref = out(seq(hand_standardise(x)).mean(dim=2))
    for h in hooks:
        h.remove()
    assert got.shape == (3, 3)
    assert torch.allclose(got, ref, atol=1e-5)
    widths = [4] + [4 if i == 0 else 8 for i in range(layers)]
    assert seen == [torch.Size([3, c, n]) for c, n in zip(widths, lengths)]


def test_a_wave_cnns_layers_are_named_for_the_charts():
    model = build_model(ModelConfig(arch="cnn1d", hidden_size=8, layers=2), (1, S), 3, spec=WAVE)
    names = [n for n, _ in model.weight_layers()]
    assert names == ["conv1", "conv2", "conv3", "output"]
    mods = [m for _, m in model.weight_layers()]
    assert [type(m) for m in mods] == [nn.Conv1d] * 3 + [nn.Linear] and mods[-1] is model.out
    assert mods[0].kernel_size == (80,) and mods[0].stride == (4,)
    assert [n for n, _ in model.activation_points()] == ["conv1", "conv2", "conv3"]
    assert [m for _, m in model.activation_points()] == list(model.blocks)


def test_a_wave_cnn_too_deep_for_its_clips_and_one_on_spectrograms_are_clear_errors():
    # 4000 samples: stem 1001 -> 250, then 62, 15, 3 and 0 after a fourth block
    build_model(ModelConfig(arch="cnn1d", hidden_size=8, layers=3), (1, S), 3, spec=WAVE)
    with pytest.raises(ValueError, match="4 blocks pool a 4000-sample clip to nothing: choose "
                                         "fewer layers or longer clips"):  # fmt: skip
        build_model(ModelConfig(arch="cnn1d", hidden_size=8, layers=4), (1, S), 3, spec=WAVE)
    with pytest.raises(ValueError, match="set data.features to wave"):
        build_model(ModelConfig(arch="cnn1d"), (1, S), 3, spec=AudioInfo(features="mel"))


def test_a_wave_cnn_builds_wherever_its_layers_leave_a_step():
    samples = 4092  # stem 4092 // 4 + 1 = 1024 -> 256 -> 64 -> 16 -> 4 -> 1 after 4 blocks
    seq, _ = hand_wave_net(4, 8, 4, 3, 3)
    with torch.no_grad():
        assert seq.eval()(torch.randn(1, 1, samples)).shape == (1, 8, 1)
    cfg = ModelConfig(arch="cnn1d", hidden_size=8, layers=4)
    build_model(cfg, (1, samples), 3, spec=WAVE)


# --- AudioAugment ---------------------------------------------------------------------------


def draws(seed: int):
    """The augmentation's uniform draws in [-1, 1), from a generator seeded as the loop's."""
    g = torch.Generator().manual_seed(seed)
    return g, lambda *shape: torch.rand(*shape, generator=g) * 2 - 1


def test_shift_rolls_each_clip_by_its_own_drawn_offset():
    x = waves(6)
    out = AudioAugment(shift=0.25)(x, torch.Generator().manual_seed(7))
    _, uniform = draws(7)
    offsets = torch.round(uniform(6) * 0.25 * S).long()
    assert offsets.abs().max() <= S // 4 and len(set(offsets.tolist())) > 1
    for i, k in enumerate(offsets.tolist()):
        assert torch.equal(out[i], torch.roll(x[i], k, dims=-1))


def test_gain_scales_each_clip_by_ten_to_its_drawn_db_over_20():
    x = waves(6)
    out = AudioAugment(gain=6.0)(x, torch.Generator().manual_seed(3))
    _, uniform = draws(3)
    db = uniform(6) * 6.0
    ratio = out[:, 0, 0] / x[:, 0, 0]
    assert torch.allclose(ratio, 10 ** (db / 20), rtol=1e-5)
    assert torch.allclose(out, x * ratio[:, None, None], rtol=1e-5, atol=1e-7)
    assert (ratio <= 10 ** (6 / 20) + 1e-6).all() and (ratio >= 10 ** (-6 / 20) - 1e-6).all()


def test_noise_is_white_at_a_drawn_share_of_each_clips_own_level():
    x = waves(6) * torch.tensor([1.0, 0.1, 0.5, 1.0, 0.01, 0.3])[:, None, None]
    out = AudioAugment(noise=0.3)(x, torch.Generator().manual_seed(11))
    g, _ = draws(11)
    share = torch.rand(6, 1, 1, generator=g) * 0.3  # (u + 1) / 2 of a u in [-1, 1)
    white = torch.randn(x.shape, generator=g)
    rms = x.pow(2).mean(dim=2, keepdim=True).sqrt()
    assert torch.allclose(out, x + white * rms * share, atol=1e-6)
    relative = (out - x).pow(2).mean(dim=2).sqrt() / rms[:, :, 0]  # (6, 1)
    assert (relative <= 0.3 * 1.05).all()  # 4000 white samples: within 5% of their level
    assert torch.allclose(relative[:, 0], share.flatten(), rtol=0.05)


def test_all_three_apply_in_order_shift_noise_gain():
    x = waves(5)
    out = AudioAugment(shift=0.1, noise=0.2, gain=3.0)(x, torch.Generator().manual_seed(5))
    g, uniform = draws(5)
    offsets = torch.round(uniform(5) * 0.1 * S).long()
    rolled = torch.stack([torch.roll(x[i], int(k), dims=-1) for i, k in enumerate(offsets)])
    share = (uniform(5, 1, 1) + 1) / 2 * 0.2
    noisy = rolled + torch.randn(x.shape, generator=g) * rolled.pow(2).mean(2, True).sqrt() * share
    ref = noisy * 10 ** (uniform(5, 1, 1) * 3.0 / 20)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.allclose(out, ref, atol=1e-6)


def test_augmentation_is_seeded_and_does_nothing_when_off():
    aug = AudioAugment.from_config(AugmentConfig(shift=0.2, noise=0.1, gain=4.0))
    assert (aug.shift, aug.noise, aug.gain) == (0.2, 0.1, 4.0) and aug.active
    x = waves(4)
    a = aug(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, aug(x, torch.Generator().manual_seed(1)))
    assert not torch.equal(a, aug(x, torch.Generator().manual_seed(2)))
    off = AudioAugment.from_config(AugmentConfig(flip=True, time_mask=5, freq_mask=3))
    assert not off.active
    assert off(x, torch.Generator().manual_seed(1)) is x
    assert aug(x[:0]).shape == (0, 1, S)


# --- settings -------------------------------------------------------------------------------


def sound(**data):
    return DataConfig(name="tones", **data)


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: sound(window=63), "data.window"),
        (lambda: sound(window=2049), "data.window"),
        (lambda: sound(window=400.0), "data.window"),
        (lambda: sound(hop=15), "data.hop"),
        (lambda: sound(window=256, hop=300), "data.hop"),
        (lambda: sound(seconds=0.25, window=1024, hop=600), "data.hop"),  # 7 frames
        (lambda: sound(mels=7), "data.mels"),
        (lambda: sound(mels=129, window=1024), "data.mels"),
        (lambda: sound(window=64, hop=32, mels=40), "data.mels"),  # 33 bins
        (lambda: sound(seconds=0.2), "data.seconds"),
        (lambda: sound(seconds=4.5), "data.seconds"),
        (lambda: sound(seconds=float("nan")), "data.seconds"),
        (lambda: sound(features="spectrogram"), "data.features"),
        (lambda: sound(per_class=5), "data.per_class"),
        (lambda: DataConfig(name="audio_folder"), "data.path"),
        (lambda: DataConfig(name="audio_zip"), "data.path"),
        (lambda: AugmentConfig(shift=0.6).validate(), "train.augment.shift"),
        (lambda: AugmentConfig(shift=-0.1).validate(), "train.augment.shift"),
        (lambda: AugmentConfig(noise=1.5).validate(), "train.augment.noise"),
        (lambda: AugmentConfig(gain=25.0).validate(), "train.augment.gain"),
        (lambda: AugmentConfig(time_mask=201).validate(), "train.augment.time_mask"),
        (lambda: AugmentConfig(time_mask=2.5).validate(), "train.augment.time_mask"),
        (lambda: AugmentConfig(freq_mask=65).validate(), "train.augment.freq_mask"),
        (lambda: TrainConfig(augment={"freq_mask": -1}), "train.augment.freq_mask"),
        (lambda: TrainConfig(augment={"echo": 1}), "train.augment.echo"),
    ],
)
def test_each_bad_sound_value_names_its_field(make, field):
    with pytest.raises(ConfigError) as e:
        make()
    assert e.value.field == field and str(e.value).startswith(field + ": ")


def test_the_limits_themselves_are_allowed():
    sound(window=256, hop=256, mels=128)  # a hop of a whole window; 129 bins hold 128 bands
    sound(window=64, hop=32, mels=33)  # as many bands as bins
    sound(seconds=0.25, window=512, hop=500)  # 4000 // 500 + 1 = 9 frames


@pytest.mark.parametrize(
    "data, model, transfer, field, words",
    [
        ({"features": "wave"}, {"arch": "cnn"}, {}, "model.arch", "choose cnn1d"),
        ({"features": "mel"}, {"arch": "cnn1d"}, {}, "model.arch", "choose cnn"),
        ({"features": "mfcc"}, {"arch": "mlp"}, {}, "model.arch", "choose cnn"),
        ({"features": "wave"}, {"arch": "lstm"}, {}, "model.arch", "choose cnn1d"),
        ({}, {"arch": "cnn"}, {"backbone": "shapes"}, "transfer.backbone", "not sounds"),
    ],
)
def test_a_sound_paired_with_the_wrong_network_names_what_to_choose(
    data, model, transfer, field, words
):
    d = {"data": {"name": "tones", **data}, "model": model}
    if transfer:
        d["transfer"] = transfer
    with pytest.raises(ConfigError, match=words) as e:
        RunConfig.from_dict(d)
    assert e.value.field == field


def test_a_sound_configs_defaults_and_round_trip():
    cfg = RunConfig.from_dict({"data": {"name": "tones"}})
    assert cfg.model.arch == "cnn" and cfg.data.n_samples == 800
    assert (cfg.train.lr, cfg.train.epochs, cfg.train.batch_size) == (0.003, 12, 32)
    assert (cfg.data.features, cfg.data.window, cfg.data.hop, cfg.data.mels) == (
        "mel",
        400,
        160,
        40,
    )
    wave = RunConfig.from_dict({"data": {"name": "tones", "features": "wave"}})
    m = wave.model
    assert (m.arch, m.layers, m.hidden_size, m.kernel) == ("cnn1d", 3, 64, 3)
    # what a config says wins over the defaults; what it does not say keeps them
    mine = RunConfig.from_dict(
        {
            "data": {"name": "vowels", "features": "wave", "n_samples": 60},
            "model": {"hidden_size": 8},
            "train": {"lr": 0.01},
        }
    )
    assert (mine.model.arch, mine.model.hidden_size, mine.model.layers) == ("cnn1d", 8, 3)
    assert (mine.train.lr, mine.train.epochs, mine.data.n_samples) == (0.01, 12, 60)
    assert RunConfig.from_dict({"data": {"name": "spoken_digits"}}).data.n_samples == 1000

    full = RunConfig.from_dict(
        {
            "data": {"name": "chirps", "features": "mfcc", "window": 512, "hop": 128,
                     "mels": 32, "seconds": 0.5, "n_samples": 50},
            "model": {"arch": "cnn", "blocks": [{"channels": 4, "pool": "max"}]},
            "train": {"augment": {"shift": 0.1, "noise": 0.2, "gain": 3.0, "time_mask": 7,
                                  "freq_mask": 4}},
        }
    )  # fmt: skip
    again = RunConfig.from_dict(full.to_dict())
    assert again == full
    assert RunConfig.from_json(full.to_json()) == full
    d = full.to_dict()
    assert {k: d["data"][k] for k in ("features", "window", "hop", "mels", "seconds")} == {
        "features": "mfcc", "window": 512, "hop": 128, "mels": 32, "seconds": 0.5,
    }  # fmt: skip
    assert d["train"]["augment"]["time_mask"] == 7 and d["train"]["augment"]["freq_mask"] == 4


# --- explanations over the features -----------------------------------------------------------


def sound_cnn(seed: int = 0) -> tuple[SoundCNN, CNN, AudioInfo]:
    """A SoundCNN and a plain CNN holding its weights (the independent reference)."""
    info = AudioInfo(**SMALL)
    model = build_model(CNN_CFG, (1, S), 3, seed=seed, spec=info)
    randomise_batch_norm(model)
    plain = build_model(CNN_CFG, feature_shape(info, S), 3)
    plain.load_state_dict(model.state_dict())
    return model, plain.eval(), info


def test_on_features_gives_the_front_ends_features_unmasked_and_leaves_the_mode():
    model, _, info = sound_cnn()
    model.frontend.set_masks(20, 8, seed=0)  # training masks must not reach an explanation
    model.train()
    wave = waves(1)[0]
    net, feats = explain.on_features(model, wave)
    assert model.training and model.frontend.training
    assert feats.shape == (1, 16, S // 128 + 1)
    assert torch.allclose(feats, features(wave[None], info)[0], atol=1e-6)
    with torch.no_grad():
        assert torch.allclose(net.eval()(feats[None]), model.eval()(wave[None]), atol=1e-5)


@pytest.mark.parametrize("target", [None, 2])
def test_saliency_over_a_spectrogram_is_the_gradient_of_the_plain_cnn(target):
    model, plain, info = sound_cnn()
    net, feats = explain.on_features(model, waves(1, seed=3)[0])
    inp = feats[None].clone().requires_grad_(True)
    logits = plain(inp)
    cls = int(logits.argmax(1)) if target is None else target
    (grad,) = torch.autograd.grad(logits[0, cls], inp)
    ref = grad[0, 0].abs()
    got = explain.saliency(net, feats, target=target)
    assert got.shape == (16, S // 128 + 1)
    np.testing.assert_allclose(got, (ref / ref.max()).numpy(), atol=1e-5)


def test_grad_cam_over_time_of_a_wave_cnn_by_hand():
    """The last block's maps (K, T), weighted by the mean over time of d score / d map: the
    output is a mean over time then a linear layer, so that mean is W[c, k] / T exactly; the sum
    ReLU'd, then linearly interpolated to the clip's S samples (half-sample centres, ends held)
    and scaled to a peak of 1 (all zeros where nothing is left after the ReLU)."""
    cfg = ModelConfig(arch="cnn1d", hidden_size=8, layers=2)
    model = build_model(cfg, (1, S), 3, seed=0, spec=WAVE)
    randomise_batch_norm(model)
    seq, out = hand_wave_net(4, 8, 2, 3, 3)
    copy_into(model, seq, out)
    wave = torch.zeros(1, S)
    wave[0, 1200:2400] = waves(1, seed=5)[0, 0, 1200:2400]  # a burst: the map varies in time
    with torch.no_grad():
        maps = seq.eval()(hand_standardise(wave[None]))[0].double()  # (K, T)
        logits = out.double()(maps.mean(dim=1))
    k, t = maps.shape
    shaped = 0
    for target in (None, 0, 1, 2):
        cls = int(logits.argmax()) if target is None else target
        alpha = out.weight[cls].detach() / t  # (K,)
        cam = torch.relu((alpha[:, None] * maps).sum(0)).numpy()  # (T,)
        src = np.maximum((np.arange(S) + 0.5) * t / S - 0.5, 0.0)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, t - 1)
        lam = src - i0
        ref = (1 - lam) * cam[i0] + lam * cam[i1]
        if ref.max() > 0:
            shaped += bool((ref < 0.5 * ref.max()).any())
            ref = ref / ref.max()
        got = explain.grad_cam(model, wave, target=target)
        assert got.shape == (S,)
        np.testing.assert_allclose(got, ref, atol=1e-5)
        # the same through the network seen from its features (what the Sound lab calls)
        net, feats = explain.on_features(model, wave)
        np.testing.assert_allclose(explain.grad_cam(net, feats, target=target), ref, atol=1e-5)
    assert shaped >= 2  # the check saw maps with something on them, not only zeros
    assert model.training  # restored


def test_occlusion_hides_the_cells_the_heat_marks_and_the_same_patch_elsewhere():
    model, plain, _ = sound_cnn()
    net, feats = explain.on_features(model, waves(1, seed=8)[0])
    h, w = feats.shape[-2:]
    heat = np.zeros((h, w), np.float32)
    heat[2:4, 5:10] = np.arange(1, 11).reshape(2, 5)  # 10 known cells
    share = 10 / (h * w)

    def probs(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return F.softmax(plain(x[None]), dim=1)[0]

    for fill in (None, 0.0, 2.5):
        got = explain.occlusion(net, feats, heat, share=share, seed=4, fill=fill)
        value = float(feats.min()) if fill is None else fill
        top = feats.clone()
        top[0, 2:4, 5:10] = value
        dy, dx = got["moved_by"]
        assert h // 4 <= dy <= h // 4 + h // 2 and w // 4 <= dx <= w // 4 + w // 2
        moved = feats.clone()
        rows = [(r + dy) % h for r in (2, 3)]
        cols = [(c + dx) % w for c in range(5, 10)]
        for r in rows:
            moved[0, r, cols] = value  # the same 2 x 5 patch, rolled round by (dy, dx)
        before = probs(feats)
        cls = int(before.argmax())
        assert got["target"] == cls and got["share"] == pytest.approx(share)
        assert got["before"] == pytest.approx(float(before[cls]), abs=1e-6)
        assert got["highlighted_hidden"] == pytest.approx(float(probs(top)[cls]), abs=1e-6)
        assert got["random_hidden"] == pytest.approx(float(probs(moved)[cls]), abs=1e-6)
    assert explain.occlusion(net, feats, heat, share=share, seed=4)["moved_by"] == [dy, dx]
    # a chosen target, and a wave network's samples hidden with silence
    assert explain.occlusion(net, feats, heat, share=share, target=1)["target"] == 1
    wave_model = build_model(ModelConfig(arch="cnn1d", hidden_size=8, layers=1), (1, S), 3,
                             seed=0, spec=WAVE).eval()  # fmt: skip
    wave = waves(1, seed=9)[0]
    marks = np.zeros(S, np.float32)
    marks[1000:1400] = 1.0
    got = explain.occlusion(wave_model, wave, marks, share=0.1, fill=0.0)
    silenced = wave.clone()
    silenced[0, 1000:1400] = 0.0
    with torch.no_grad():
        p = F.softmax(wave_model(torch.stack([wave, silenced])), dim=1)
    assert got["highlighted_hidden"] == pytest.approx(float(p[1, got["target"]]), abs=1e-6)
    assert got["before"] == pytest.approx(float(p[0].max()), abs=1e-6)


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"data": {"name": "tones"}, "train": {"augment": {"flip": True}}}, "train.augment.flip"),
        (
            {"data": {"name": "tones", "features": "wave"}, "train": {"augment": {"freq_mask": 3}}},
            "train.augment.freq_mask",
        ),
        ({"data": {"name": "shapes"}, "train": {"augment": {"shift": 0.1}}}, "train.augment.shift"),
    ],
)
def test_augmentation_that_would_do_nothing_on_the_data_is_refused(patch, field):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict(patch)
    assert err.value.field == field
