"""The sound front end against independent references: a numpy DFT, the mel formula computed
by hand, a hand DCT-II, pure tones whose answer is known."""

import math

import numpy as np
import pytest
import torch

from dlviz.audio_features import (
    FEATURES,
    AudioFeatures,
    axes,
    dct_matrix,
    feature_shape,
    feature_steps,
    features,
    mel_filterbank,
    stft_power,
    to_db,
)
from dlviz.data.base import SAMPLE_RATE, AudioInfo

SR = SAMPLE_RATE


def tone(f: float, seconds: float = 0.5, sr: int = SR, phase: float = 0.3) -> torch.Tensor:
    t = torch.arange(int(seconds * sr), dtype=torch.float64) / sr
    return torch.sin(2 * math.pi * f * t + phase).float()


def noise(n: int, samples: int = 8000, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 1, samples, generator=torch.Generator().manual_seed(seed)) * 0.1


def mel(f: float) -> float:
    return 2595 * math.log10(1 + f / 700)


def hz(m: float) -> float:
    return 700 * (10 ** (m / 2595) - 1)


def centres(n_mels: int, f_min: float, f_max: float) -> list[float]:
    """The n_mels + 2 corners, equally spaced in mel, one at a time."""
    step = (mel(f_max) - mel(f_min)) / (n_mels + 1)
    return [hz(mel(f_min) + i * step) for i in range(n_mels + 2)]


# --- STFT ----------------------------------------------------------------------------------


@pytest.mark.parametrize("f, window, hop", [(1234, 400, 160), (440, 512, 128), (3000, 256, 100)])
def test_a_pure_tone_peaks_at_its_bin_in_every_interior_frame(f, window, hop):
    p = stft_power(tone(f)[None], window, hop)[0]  # (F, T)
    assert p.shape == (window // 2 + 1, len(tone(f)) // hop + 1)
    peaks = p[:, 1:-1].argmax(dim=0)
    assert (peaks == round(f * window / SR)).all()


def test_stft_power_matches_a_numpy_dft_frame_by_frame():
    window, hop = 400, 160
    x = np.random.default_rng(0).standard_normal(3000).astype(np.float32)
    padded = np.pad(x.astype(np.float64), window // 2, mode="reflect")
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window) / window)
    frames = len(x) // hop + 1
    expected = np.stack(
        [
            np.abs(np.fft.rfft(padded[t * hop : t * hop + window] * hann)) ** 2
            for t in range(frames)
        ],
        axis=1,
    )  # (F, T)
    got = stft_power(torch.from_numpy(x)[None], window, hop)[0].numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * expected.max())


def test_a_clip_shorter_than_half_a_window_is_a_clear_error():
    with pytest.raises(ValueError, match="too short"):
        stft_power(torch.zeros(1, 200), 400, 160)


# --- mel filters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_mels, n_fft, sr, f_min, f_max",
    [(40, 400, 16000, 0.0, None), (10, 256, 16000, 100.0, 4000.0), (23, 512, 22050, 0.0, None)],
)
def test_mel_filters_are_triangles_between_neighbouring_centres(n_mels, n_fft, sr, f_min, f_max):
    f_max = sr / 2 if f_max is None else f_max
    c = centres(n_mels, f_min, f_max)
    fb = mel_filterbank(n_mels, n_fft, sr, f_min, f_max).numpy()
    assert fb.shape == (n_mels, n_fft // 2 + 1)
    for i in range(n_mels):
        lo, mid, hi = c[i], c[i + 1], c[i + 2]
        for k in range(n_fft // 2 + 1):
            f = k * sr / n_fft
            if lo < f <= mid:
                want = (f - lo) / (mid - lo)
            elif mid < f < hi:
                want = (hi - f) / (hi - mid)
            else:
                want = 0.0
            assert fb[i, k] == pytest.approx(want, abs=1e-6), (i, k)
    above, below = (
        np.arange(n_fft // 2 + 1) * sr / n_fft >= f_max,
        np.arange(n_fft // 2 + 1) * sr / n_fft <= f_min,
    )
    assert (fb[:, above] == 0).all() and (fb[:, below] == 0).all()
    assert fb.max() <= 1.0


def test_one_mel_band_by_hand():
    # One band from 0 to 8 kHz peaks halfway in mel: 700 (sqrt(1 + 8000/700) - 1) = 1767.8 Hz.
    # n_fft 8 at 16 kHz: bins at 0, 2, 4, 6, 8 kHz, all on its falling side.
    centre = 700 * (math.sqrt(1 + 8000 / 700) - 1)
    assert centre == pytest.approx(1767.8, abs=0.1)
    want = [0.0] + [(8000 - f) / (8000 - centre) for f in (2000, 4000, 6000)] + [0.0]
    np.testing.assert_allclose(mel_filterbank(1, 8, 16000)[0].numpy(), want, atol=1e-6)
    assert want[1:4] == pytest.approx([0.96274, 0.64183, 0.32091], abs=1e-5)


def test_a_band_is_exactly_1_where_its_centre_falls_on_a_bin():
    # 700 (sqrt(1 + f_max/700) - 1) = 2000 Hz for f_max = 700 ((2700/700)^2 - 1); at 22.05 kHz
    # with n_fft 441 the bins are 50 Hz apart, so bin 40 is at 2000 Hz.
    f_max = 700 * ((2700 / 700) ** 2 - 1)
    fb = mel_filterbank(1, 441, 22050, 0.0, f_max)[0]
    assert fb[40].item() == pytest.approx(1.0, abs=1e-6)
    assert fb.argmax().item() == 40 and fb[39] < 1 and fb[41] < 1


@pytest.mark.parametrize("band, offset", [(3, 0.3), (12, -0.3), (25, 0.2), (37, -0.25)])
def test_a_pure_tone_fills_the_mel_band_whose_centre_is_nearest(band, offset):
    info = AudioInfo(features="mel", mels=40)
    corners = centres(40, 0, SR / 2)
    c = np.array(corners[1:-1])
    # a tone `offset` of the way from this band's centre towards its neighbour's
    f = c[band] + offset * (corners[band + 2 if offset > 0 else band] - c[band])
    nearest = int(np.abs(c - f).argmin())
    assert nearest == band
    fb = mel_filterbank(40, info.window, SR)
    energy = (fb @ stft_power(tone(f)[None], info.window, info.hop)[0])[:, 1:-1].sum(1)
    assert int(energy.argmax()) == nearest
    np.testing.assert_allclose(axes(info, 8000)["rows"], c, rtol=1e-9)


# --- DCT, dB -------------------------------------------------------------------------------


@pytest.mark.parametrize("n_mfcc, n_mels", [(13, 13), (20, 40), (1, 5)])
def test_the_dct_is_orthonormal_and_is_a_dct_ii(n_mfcc, n_mels):
    d = dct_matrix(n_mfcc, n_mels).double()
    assert d.shape == (n_mfcc, n_mels)
    torch.testing.assert_close(d @ d.T, torch.eye(n_mfcc, dtype=torch.float64), atol=1e-6, rtol=0)
    x = np.random.default_rng(1).standard_normal(n_mels)
    want = []
    for k in range(n_mfcc):
        s = sum(x[n] * math.cos(math.pi * k * (2 * n + 1) / (2 * n_mels)) for n in range(n_mels))
        want.append(s * math.sqrt((1 if k == 0 else 2) / n_mels))
    np.testing.assert_allclose((d @ torch.from_numpy(x)).numpy(), want, atol=1e-5)


def test_to_db_is_ten_log10_floored_at_minus_100():
    p = torch.tensor([1.0, 10.0, 1e-3, 0.0, 1e-12])
    torch.testing.assert_close(to_db(p), torch.tensor([0.0, 10.0, -30.0, -100.0, -100.0]))


# --- features ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FEATURES)
def test_each_clip_is_standardised_and_shaped_as_promised(kind):
    info = AudioInfo(features=kind)
    x = noise(4) * torch.tensor([0.01, 0.1, 1.0, 3.0])[:, None, None]
    out = features(x, info)
    assert out.shape == (4, *feature_shape(info, 8000))
    flat = out.flatten(1)
    torch.testing.assert_close(flat.mean(1), torch.zeros(4), atol=1e-4, rtol=0)
    torch.testing.assert_close(flat.std(1, correction=0), torch.ones(4), atol=1e-4, rtol=0)
    a = axes(info, 8000)
    assert (len(a["rows"]), len(a["times"])) == tuple(out.shape[-2:])
    assert features(x[:, 0], info).shape == out.shape  # (B, S) works as well


def test_default_shapes_for_a_one_second_clip():
    shapes = {k: feature_shape(AudioInfo(features=k), SR) for k in FEATURES}
    assert shapes == {
        "mel": (1, 40, 101),
        "stft": (1, 201, 101),
        "mfcc": (1, 20, 101),
        "wave": (1, 16000),
    }
    t = axes(AudioInfo(), SR)["times"]
    assert t[0] == 0 and t[1] == pytest.approx(0.01) and t[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["mel", "stft"])
def test_features_do_not_change_with_gain(kind):
    info = AudioInfo(features=kind)
    x = tone(700, 0.5)[None, None] + noise(1)
    torch.testing.assert_close(features(0.05 * x, info), features(x, info), atol=2e-3, rtol=0)


def test_gain_moves_only_the_first_mfcc():
    x = (tone(700, 0.5) + noise(1)[0, 0]).numpy()
    diff = feature_steps(0.05 * x, AudioInfo())["mfcc"] - feature_steps(x, AudioInfo())["mfcc"]
    # 20 log10(0.05) dB on every mel band: the DCT of a constant c is c sqrt(M) in row 0
    np.testing.assert_allclose(diff[0], 20 * math.log10(0.05) * math.sqrt(40), atol=1e-2)
    np.testing.assert_allclose(diff[1:], 0, atol=1e-2)


def test_silence_gives_zeros_not_nan():
    for kind in ("mel", "stft", "wave"):
        out = features(torch.zeros(2, 1, 4000), AudioInfo(features=kind))
        assert (out == 0).all()
    out = features(torch.zeros(2, 1, 4000), AudioInfo(features="mfcc"))
    assert torch.isfinite(out).all()  # the pattern of a constant: rows 1.. all alike
    torch.testing.assert_close(out[:, :, 1:], out[:, :, 1:2].expand_as(out[:, :, 1:]))


@pytest.mark.parametrize("kind", FEATURES)
def test_a_batch_gives_what_each_clip_gives_alone(kind):
    info = AudioInfo(features=kind)
    x = noise(5, seed=2)
    batched = features(x, info)
    for i in range(5):
        torch.testing.assert_close(
            batched[i : i + 1], features(x[i : i + 1], info), atol=1e-5, rtol=0
        )


def test_the_steps_are_the_features_before_standardisation():
    info = AudioInfo(mels=32)
    x = tone(440, 0.5) + noise(1, 8000)[0, 0]
    steps = feature_steps(x.numpy(), info)
    assert {k: v.shape for k, v in steps.items()} == {
        "wave": (8000,),
        "stft_db": (201, 51),
        "mel_db": (32, 51),
        "mfcc": (20, 51),
    }
    assert all(v.dtype == np.float32 for v in steps.values())
    for kind, step in (("stft", "stft_db"), ("mel", "mel_db"), ("mfcc", "mfcc")):
        img = torch.from_numpy(steps[step])
        want = (img - img.mean()) / (img.std(correction=0) + 1e-5)
        got = features(x[None], AudioInfo(features=kind, mels=32))[0, 0]
        torch.testing.assert_close(got, want, atol=1e-4, rtol=0)
    assert int(np.argmax(steps["stft_db"][:, 25])) == round(440 * 400 / SR)


def test_settings_a_front_end_cannot_use_are_clear_errors():
    with pytest.raises(ValueError, match="unknown features 'chroma'"):
        AudioFeatures(AudioInfo(features="chroma"))
    with pytest.raises(ValueError, match="hop at least 1"):
        feature_shape(AudioInfo(hop=0), SR)


# --- the module and its masks --------------------------------------------------------------


def test_the_module_keeps_no_state_and_its_buffers_follow_to():
    fe = AudioFeatures(AudioInfo(features="mfcc"))
    assert fe.state_dict() == {}
    assert {n for n, _ in fe.named_buffers()} == {"win", "fb", "dct"}
    assert fe.to(torch.float64).fb.dtype == torch.float64
    x = noise(3)
    torch.testing.assert_close(AudioFeatures(AudioInfo()).train()(x), features(x, AudioInfo()))


def masked(fe: AudioFeatures, x: torch.Tensor) -> tuple[torch.Tensor, list[int], list[int]]:
    """The output, and for each clip how many frames and rows are entirely zero."""
    out = fe(x)
    zero = out[:, 0] == 0  # (B, H, T)
    return out, zero.all(1).sum(1).tolist(), zero.all(2).sum(1).tolist()


def test_masks_hide_up_to_their_widths_in_training_only():
    x = noise(32, seed=3)
    fe = AudioFeatures(AudioInfo()).train()
    fe.set_masks(time=10, freq=6, seed=1)
    out, frames, rows = masked(fe, x)
    assert max(frames) <= 10 and max(rows) <= 6
    assert max(frames) >= 5 and max(rows) >= 3  # 32 clips: some draw wide masks
    plain = features(x, AudioInfo())
    assert ((out == plain) | (out == 0)).all()  # masking only sets values to 0
    fe.eval()
    assert torch.equal(fe(x), plain)  # eval mode never masks


def test_masks_are_reproducible_by_seed():
    x = noise(8, seed=4)
    a, b, c = (AudioFeatures(AudioInfo()).train() for _ in range(3))
    a.set_masks(8, 8, seed=5)
    b.set_masks(8, 8, seed=5)
    c.set_masks(8, 8, seed=6)
    first = a(x)
    assert torch.equal(first, b(x)) and not torch.equal(first, c(x))
    assert not torch.equal(first, a(x))  # each batch draws afresh
    with pytest.raises(ValueError, match="0 or more"):
        a.set_masks(-1, 0)


def test_wave_features_are_never_masked():
    x = noise(4)
    fe = AudioFeatures(AudioInfo(features="wave")).train()
    fe.set_masks(10, 10, seed=0)
    assert torch.equal(fe(x), features(x, AudioInfo(features="wave")))


def test_the_benchmark_runs_and_says_what_it_measured():
    from dlviz.bench.audio import features_bench, format_features

    r = features_bench(clips=6, repeats=1, batches=(4,), seconds=0.25, max_seconds=1)
    assert [row["batch"] for row in r["rows"]] == [1, 4] and r["rows"][0]["speedup"] == 1
    assert r["shape"] == [1, 40, 26] and all(row["clips_per_second"] > 0 for row in r["rows"])
    text = format_features(r)
    assert "one clip at a time" in text and "in batches of 4" in text


# --- CUDA ----------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
@pytest.mark.parametrize("kind", FEATURES)
def test_cuda_features_match_the_cpu(kind):
    info = AudioInfo(features=kind)
    x = noise(6, seed=7)
    fe = AudioFeatures(info).to("cuda").train()
    fe.set_masks(6, 4, seed=2)
    cpu = AudioFeatures(info).train()
    cpu.set_masks(6, 4, seed=2)
    got = fe(x.to("cuda"))
    assert got.device.type == "cuda"
    # cuFFT and the CPU's FFT round differently: on an H200 one STFT magnitude of about 10 in
    # 61,506 differed by 1.1e-4 (a relative 1.1e-5), so the bound is relative as well
    close = {"atol": 1e-4, "rtol": 2e-5}
    torch.testing.assert_close(got.cpu(), cpu(x), **close)
    torch.testing.assert_close(features(x.cuda(), info).cpu(), features(x, info), **close)
