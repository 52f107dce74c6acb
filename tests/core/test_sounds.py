"""Generated sound sets: each class measured against what it is by construction (peaks,
ratios, sweeps, envelopes, pitch, formant bands, spectral slopes), and the common contract
(shapes, range, balance, seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from dlviz.data.base import SAMPLE_RATE
from dlviz.data.sounds import (
    CLASS_NAMES,
    SOUND_SETS,
    TONE_RATIOS,
    _generate,
    finish_clips,
    generate,
    resonator_response,
)

SR = SAMPLE_RATE


def _clips(name: str, n: int, seed: int = 0, noise: float = 0.0):
    return _generate(name, n, noise, seed, 1.0, SR)


def _active(x: np.ndarray, onset: float, duration: float, margin: float = 0.04) -> np.ndarray:
    """The part of a clip that sounds, without its fades."""
    return x[int((onset + margin) * SR) : int((onset + duration - margin) * SR)]


def _spectrum(x: np.ndarray, pad: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and magnitudes of `x` under a Hann window, zero-padded `pad` times."""
    n = len(x) * pad
    return np.fft.rfftfreq(n, 1 / SR), np.abs(np.fft.rfft(x * np.hanning(len(x)), n))


def _analytic(x: np.ndarray) -> np.ndarray:
    """The analytic signal (Hilbert transform by FFT)."""
    spec = np.fft.fft(x)
    h = np.zeros(len(x))
    h[0] = 1
    h[1 : (len(x) + 1) // 2] = 2
    if len(x) % 2 == 0:
        h[len(x) // 2] = 1
    return np.fft.ifft(spec * h)


# --- the contract -------------------------------------------------------------------------


@pytest.mark.parametrize("name", SOUND_SETS)
def test_shapes_range_balance_and_seeds(name):
    n, k = 23, len(CLASS_NAMES[name])
    waves, labels, classes = generate(name, n, 0.2, seed=3, seconds=0.25)
    assert classes == CLASS_NAMES[name]
    assert waves.shape == (n, SR // 4) and waves.dtype == np.float32
    assert labels.shape == (n,) and labels.dtype == np.int64
    assert sorted(np.bincount(labels, minlength=k)) == sorted(
        [n // k + (i < n % k) for i in range(k)]
    )
    peaks = np.abs(waves).max(axis=1)
    assert peaks.min() >= 0.5 - 1e-6 and peaks.max() <= 0.9 + 1e-6
    again, labels_again, _ = generate(name, n, 0.2, seed=3, seconds=0.25)
    assert np.array_equal(waves, again) and np.array_equal(labels, labels_again)
    other, _, _ = generate(name, n, 0.2, seed=4, seconds=0.25)
    assert not np.array_equal(waves, other)


def test_more_clips_than_a_chunk_and_none():
    waves, labels, _ = generate("noises", 300, 0.0, seed=0, seconds=0.05)
    assert waves.shape == (300, 800) and np.isfinite(waves).all()
    assert np.bincount(labels).tolist() == [75] * 4
    assert np.abs(waves).max(axis=1).min() >= 0.5 - 1e-6
    empty, no_labels, _ = generate("tones", 0, 0.0, seed=0)
    assert empty.shape == (0, SR) and no_labels.shape == (0,)


def test_an_unknown_set_is_named():
    with pytest.raises(ValueError, match="'birdsong'.*tones"):
        generate("birdsong", 10, 0.0, 0)


def test_noise_is_white_at_the_relative_level():
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    clean = np.stack([np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 1000 * t)])
    out = finish_clips(clean, 0.5, rng).astype(np.float64)
    for x, c in zip(out, clean):
        a = x @ c / (c @ c)  # the gain given to the clean part
        residual = x - a * c
        assert np.std(residual) / np.sqrt(np.mean((a * c) ** 2)) == pytest.approx(0.5, rel=0.05)
        freqs, mag = _spectrum(residual, pad=1)
        low, high = mag[(freqs > 100) & (freqs < 2000)], mag[(freqs > 4000) & (freqs < 7900)]
        assert np.mean(low**2) / np.mean(high**2) == pytest.approx(1.0, rel=0.15)  # flat
    quiet = finish_clips(clean, 0.0, rng)
    np.testing.assert_allclose(
        quiet / np.abs(quiet).max(axis=1, keepdims=True),
        clean / np.abs(clean).max(axis=1, keepdims=True),
        atol=1e-6,
    )


# --- tones ---------------------------------------------------------------------------------


def test_tones_peaks_are_the_root_and_the_class_interval():
    waves, labels, params = _clips("tones", 30)
    for x, y, f0, onset, dur in zip(
        waves, labels, params["f0"], params["onset"], params["duration"]
    ):
        freqs, mag = _spectrum(_active(x, onset, dur))
        first = int(mag.argmax())
        masked = mag.copy()
        masked[np.abs(freqs - freqs[first]) < 20] = 0
        second = int(masked.argmax())
        if y == 0:
            assert masked[second] < 0.01 * mag[first]  # one tone alone
            assert freqs[first] == pytest.approx(f0, abs=1.0)
            continue
        assert masked[second] > 0.4 * mag[first]
        low, high = sorted([freqs[first], freqs[second]])
        assert low == pytest.approx(f0, abs=1.0)
        measured = high / low
        assert measured == pytest.approx(TONE_RATIOS[y], abs=0.004)
        assert int(np.argmin(np.abs(np.asarray(TONE_RATIOS) - measured))) == y


# --- chirps --------------------------------------------------------------------------------


def _centroid(x: np.ndarray) -> float:
    freqs, mag = _spectrum(x, pad=1)
    return float((freqs * mag**2).sum() / (mag**2).sum())


def test_rising_and_falling_sweeps():
    waves, labels, params = _clips("chirps", 40)
    seen = set()
    for x, y, onset, dur in zip(waves, labels, params["onset"], params["duration"]):
        if y > 1:
            continue
        a = _active(x, onset, dur)
        q = len(a) // 4
        first, last = _centroid(a[:q]), _centroid(a[-q:])
        assert (last > 1.5 * first) if y == 0 else (first > 1.5 * last)
        seen.add(int(y))
    assert seen == {0, 1}


def test_am_envelope_swings_at_its_rate_and_fm_envelope_is_flat():
    waves, labels, params = _clips("chirps", 40)
    for i in np.flatnonzero(labels >= 2):
        a = _active(waves[i], params["onset"][i], params["duration"][i])
        envelope = np.abs(_analytic(a))[200:-200]  # the Hilbert edges ring
        swing = np.std(envelope) / np.mean(envelope)
        if labels[i] == 3:
            assert swing < 0.05
            inst = np.diff(np.unwrap(np.angle(_analytic(a)))) * SR / (2 * np.pi)
            inst = inst[200:-200]
            middle = (np.max(inst) + np.min(inst)) / 2
            assert middle == pytest.approx(params["carrier"][i], rel=0.03)
            assert (np.max(inst) - np.min(inst)) / 2 == pytest.approx(
                params["deviation"][i], rel=0.1
            )
            continue
        assert swing > 0.2
        e = envelope - envelope.mean()
        n = 16 * len(e)
        freqs = np.fft.rfftfreq(n, 1 / SR)
        mag = np.abs(np.fft.rfft(e * np.hanning(len(e)), n))
        band = (freqs > 1.0) & (freqs < 20.0)
        peak = freqs[band][mag[band].argmax()]
        assert 2.0 - 0.5 <= peak <= 12.0 + 0.5
        assert peak == pytest.approx(params["rate"][i], abs=0.5)


# --- vowels --------------------------------------------------------------------------------


def test_resonator_in_the_frequency_domain_is_the_iir_recursion():
    """The vowel filter applies `resonator_response` to an FFT; the reference runs the
    difference equation y[n] = g x[n] + c y[n-1] - r^2 y[n-2] sample by sample."""
    n, f, bw = 4000, 700.0, 90.0
    x = np.zeros(n)
    x[::97] = 1.0  # a pulse train
    r = np.exp(-np.pi * bw / SR)
    c = 2 * r * np.cos(2 * np.pi * f / SR)
    g = 1 - c + r**2
    y = np.zeros(n)
    for i in range(n):
        y[i] = g * x[i] + c * (y[i - 1] if i >= 1 else 0) - r**2 * (y[i - 2] if i >= 2 else 0)
    z = np.exp(2j * np.pi * np.fft.rfftfreq(n, 1 / SR) / SR)
    via_fft = np.fft.irfft(np.fft.rfft(x) * resonator_response(f / SR, bw / SR, z), n)
    # equal once the tail that the circular convolution wraps onto the start has decayed
    np.testing.assert_allclose(via_fft[800:], y[800:], atol=1e-6 * np.abs(y).max())
    assert resonator_response(f / SR, bw / SR, np.array([1.0 + 0j]))[0] == pytest.approx(1.0)


def test_vowels_pitch_and_formant_bands():
    waves, labels, params = _clips("vowels", 36)
    bands = {name: [] for name in ("200-400", "600-1000", "2000-3000")}
    for x, f0, onset, dur in zip(waves, params["f0"], params["onset"], params["duration"]):
        a = _active(x, onset, dur).astype(np.float64)
        a = a - a.mean()
        ac = np.fft.irfft(np.abs(np.fft.rfft(a, 2 * len(a))) ** 2)[: SR // 60]
        lo = SR // 300  # pitch lags for 60-300 Hz
        lag = lo + int(ac[lo:].argmax())
        assert SR / lag == pytest.approx(f0, rel=0.03)
        freqs, mag = _spectrum(a, pad=1)
        power = mag**2 / (mag**2).sum()
        for band in bands:
            lo_hz, hi_hz = map(float, band.split("-"))
            bands[band].append(power[(freqs >= lo_hz) & (freqs < hi_hz)].sum())
    e = {b: np.asarray(v) for b, v in bands.items()}

    def median(band, cls):
        return float(np.median(e[band][labels == cls]))

    a_, i_, u_ = 0, 1, 2
    # /i/ (F2 2290, F3 3010) is bright; /u/ (F1 300, F2 870) and /a/ are not
    assert median("2000-3000", i_) > 10 * median("2000-3000", u_)
    assert median("2000-3000", i_) > 3 * median("2000-3000", a_)
    # /a/ (F1 730, F2 1090) is loud around 600-1000 Hz; /i/ and /u/ have F1 near 300
    ratio = e["600-1000"] / e["200-400"]
    assert np.median(ratio[labels == a_]) > 3 * np.median(ratio[labels == u_])
    assert np.median(ratio[labels == a_]) > 3 * np.median(ratio[labels == i_])
    formants = params["formants"]
    assert np.all(
        np.abs(
            formants / np.asarray([[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240]])[labels]
            - 1
        )
        <= 0.08 + 1e-9
    )


# --- noises --------------------------------------------------------------------------------


def test_noise_colours_have_their_spectral_slopes():
    waves, labels, params = _clips("noises", 24)
    for cls, slope in enumerate((0.0, -1.0, -2.0)):
        power = []
        for i in np.flatnonzero(labels == cls):
            a = _active(waves[i], params["onset"][i], params["duration"][i])[: SR // 2]
            freqs, mag = _spectrum(a.astype(np.float64), pad=1)
            power.append(mag**2)
        band = (freqs >= 50) & (freqs <= 5000)
        fit = np.polyfit(np.log(freqs[band]), np.log(np.mean(power, axis=0)[band]), 1)[0]
        assert fit == pytest.approx(slope, abs=0.15), CLASS_NAMES["noises"][cls]


def test_clicks_come_at_their_rate():
    waves, labels, params = _clips("noises", 24)
    for i in np.flatnonzero(labels == 3):
        a = np.abs(_active(waves[i], params["onset"][i], params["duration"][i]))
        above = a > 0.5 * a.max()
        starts = np.flatnonzero(above & ~np.concatenate([[False], above[:-1]]))
        starts = starts[np.concatenate([[True], np.diff(starts) > 0.004 * SR])]  # one per click
        assert len(starts) >= 2
        assert SR / np.median(np.diff(starts)) == pytest.approx(params["rate"][i], rel=0.03)
    # clicks are peaky: far from a Gaussian's kurtosis of 3, which white noise has
    kurtosis = {}
    for i, x in enumerate(waves):
        a = _active(x, params["onset"][i], params["duration"][i]).astype(np.float64)
        kurtosis[i] = np.mean(a**4) / np.mean(a**2) ** 2
    assert all(kurtosis[i] == pytest.approx(3.0, abs=0.5) for i in np.flatnonzero(labels == 0))
    assert all(kurtosis[i] > 6.0 for i in np.flatnonzero(labels == 3))
