"""Sound classes generated from a seed: clips of `seconds` at 16 kHz, numpy only.

Every clip sounds for a random 60-95 % of the clip, at a random onset, with raised-cosine
fades of 10-30 ms; its class is fixed by construction:

- ``tones``: one pure tone or two at once, over a root of 200-800 Hz (random phases; the upper
  tone 0.6-1.0 as loud): ``single tone``, ``minor third`` (ratio 6/5), ``major third`` (5/4),
  ``fifth`` (3/2), ``octave`` (2).
- ``chirps``: ``rising`` and ``falling`` sweeps, linear or exponential at random, between
  150-500 Hz and 1.2-4 kHz over the whole sound; ``AM``, a 300-3000 Hz carrier whose amplitude
  swings (depth 0.5-1) at 2-12 Hz; ``FM``, a 500-2000 Hz carrier whose frequency swings by
  100-400 Hz at 3-12 Hz.
- ``vowels``: ``/a/``, ``/i/``, ``/u/``: a glottal pulse train (pitch 90-250 Hz, 1 % period
  jitter, a -6 dB/octave source tilt) through three formant resonators in series, F1/F2/F3 of
  730/1090/2440, 270/2290/3010 and 300/870/2240 Hz, each moved by up to 8 %.
- ``noises``: ``white`` (flat power), ``pink`` (power ~ 1/f), ``brown`` (~ 1/f^2), shaped in
  the FFT domain, and ``clicks``: 2 ms bursts at a steady 5-40 per second over a white floor
  of 2-6 % of their height (RMS).

`noise` (0-1) then adds white noise whose RMS is that fraction of the clean clip's RMS (over
the whole clip), and each clip's peak is scaled to a random 0.5-0.9.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlviz.data.base import SAMPLE_RATE

SOUND_SETS = ("tones", "chirps", "vowels", "noises")
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "tones": ("single tone", "minor third", "major third", "fifth", "octave"),
    "chirps": ("rising", "falling", "AM", "FM"),
    "vowels": ("/a/", "/i/", "/u/"),
    "noises": ("white", "pink", "brown", "clicks"),
}
TONE_RATIOS = (1.0, 6 / 5, 5 / 4, 3 / 2, 2.0)  # upper tone / root, by tones' class
FORMANTS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240))  # Hz, by vowels' class
BANDWIDTHS = (80.0, 100.0, 140.0)  # Hz, of F1, F2, F3
NOISE_SLOPES = (0.0, -1.0, -2.0)  # log power / log frequency of white, pink, brown
CHUNK = 256  # clips generated at once: bounds the (clips, samples) float64 arrays to ~33 MB

Params = dict[str, np.ndarray]


def generate(
    name: str,
    n_samples: int,
    noise: float,
    seed: int,
    seconds: float = 1.0,
    sample_rate: int = SAMPLE_RATE,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """`n_samples` clips of sound set `name`.

    Returns:
        waves (N, S) float32 in [-1, 1], S = round(seconds * sample_rate); labels (N,) int64,
        the classes as even as can be (class i has n // k or n // k + 1 clips), shuffled;
        the class names.
    """
    waves, labels, _ = _generate(name, n_samples, noise, seed, seconds, sample_rate)
    return waves, labels, CLASS_NAMES[name]


def _generate(
    name: str, n_samples: int, noise: float, seed: int, seconds: float, sample_rate: int
) -> tuple[np.ndarray, np.ndarray, Params]:
    """`generate`, and each clip's parameters (onset and duration in seconds, frequencies in Hz;
    NaN where a class has none) for tests."""
    if name not in SOUND_SETS:
        raise ValueError(f"unknown sound set {name!r}; choose from {', '.join(SOUND_SETS)}")
    if n_samples < 0 or seconds <= 0 or sample_rate <= 0:
        raise ValueError("n_samples must be >= 0, seconds and sample_rate > 0")
    rng = np.random.default_rng(seed)
    labels = balanced_labels(n_samples, len(CLASS_NAMES[name]), rng)
    n_wave = max(1, round(seconds * sample_rate))
    make = _MAKERS[name]
    waves = np.empty((n_samples, n_wave), np.float32)
    parts: list[Params] = []
    for start in range(0, n_samples, CHUNK):
        y = labels[start : start + CHUNK]
        onset, duration, env = _envelope(rng, len(y), n_wave, sample_rate)
        clean, params = make(rng, y, n_wave, sample_rate, onset, duration)
        waves[start : start + CHUNK] = finish_clips(clean * env, noise, rng)
        parts.append({"onset": onset, "duration": duration, **params})
    keys = parts[0].keys() if parts else ()
    return waves, labels, {k: np.concatenate([p[k] for p in parts]) for k in keys}


def balanced_labels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) int64 labels of k classes, class i n // k times or once more, in random order."""
    return rng.permutation(np.arange(n, dtype=np.int64) % k)


def finish_clips(clean: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """(N, S) clips with white noise of `noise` times each clip's RMS added, then each clip's
    peak scaled to a random 0.5-0.9; float32."""
    clean = np.asarray(clean, np.float64)
    if noise > 0:
        rms = np.sqrt((clean**2).mean(axis=1, keepdims=True))
        clean = clean + rng.standard_normal(clean.shape, np.float32) * (noise * rms)
    peak = np.abs(clean).max(axis=1, keepdims=True)
    gain = rng.uniform(0.5, 0.9, (len(clean), 1))
    return (clean * (gain / np.maximum(peak, 1e-12))).astype(np.float32)


def _envelope(
    rng: np.random.Generator, m: int, n_wave: int, sr: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onsets and durations (m,) in seconds and the amplitude envelopes (m, S): 1 while the clip
    sounds, raised-cosine fades of 10-30 ms at both ends."""
    seconds = n_wave / sr
    duration = rng.uniform(0.6, 0.95, m) * seconds
    onset = rng.uniform(0.0, 1.0, m) * (seconds - duration)
    fade = np.minimum(rng.uniform(0.01, 0.03, m), duration / 4)[:, None]
    t = np.arange(n_wave) / sr
    ramp = np.minimum(t - onset[:, None], onset[:, None] + duration[:, None] - t) / fade
    np.clip(ramp, 0.0, 1.0, out=ramp)
    fading = (ramp > 0) & (ramp < 1)  # the cosine only where it is needed: a few % of samples
    ramp[fading] = 0.5 - 0.5 * np.cos(np.pi * ramp[fading])
    return onset, duration, ramp


def _active_time(n_wave: int, sr: int, onset: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """(m, S) seconds since each clip's onset, held at 0 before and at its duration after."""
    t = np.arange(n_wave) / sr
    return np.clip(t - onset[:, None], 0.0, duration[:, None])


def _tones(
    rng: np.random.Generator,
    y: np.ndarray,
    n_wave: int,
    sr: int,
    onset: np.ndarray,
    duration: np.ndarray,
) -> tuple[np.ndarray, Params]:
    m = len(y)
    root = np.exp(rng.uniform(np.log(200.0), np.log(800.0), m))
    ratio = np.asarray(TONE_RATIOS)[y]
    upper = np.where(y > 0, rng.uniform(0.6, 1.0, m), 0.0)
    phases = rng.uniform(0, 2 * np.pi, (m, 2))
    t = np.arange(n_wave) / sr
    wave = np.sin(2 * np.pi * root[:, None] * t + phases[:, :1])
    wave += upper[:, None] * np.sin(2 * np.pi * (root * ratio)[:, None] * t + phases[:, 1:])
    return wave, {"f0": root, "ratio": ratio}


def _chirps(
    rng: np.random.Generator,
    y: np.ndarray,
    n_wave: int,
    sr: int,
    onset: np.ndarray,
    duration: np.ndarray,
) -> tuple[np.ndarray, Params]:
    m = len(y)
    tau = _active_time(n_wave, sr, onset, duration)  # (m, S)
    d = duration[:, None]
    low, high = rng.uniform(150.0, 500.0, m), rng.uniform(1200.0, 4000.0, m)
    f_start = np.where(y == 0, low, high)
    f_end = np.where(y == 0, high, low)
    exponential = rng.random(m) < 0.5
    carrier = np.where(y == 2, rng.uniform(300.0, 3000.0, m), rng.uniform(500.0, 2000.0, m))
    rate = np.where(y == 2, rng.uniform(2.0, 12.0, m), rng.uniform(3.0, 12.0, m))
    depth = rng.uniform(0.5, 1.0, m)
    deviation = rng.uniform(100.0, 400.0, m)
    phase0 = rng.uniform(0, 2 * np.pi, (m, 2))

    wave = np.empty((m, n_wave))
    sweep = y <= 1
    f0, f1 = f_start[sweep, None], f_end[sweep, None]
    ts, ds = tau[sweep], d[sweep]
    # phase = 2 pi * integral of the instantaneous frequency from the onset
    linear = f0 * ts + (f1 - f0) * ts**2 / (2 * ds)
    k = np.log(f1 / f0) / ds  # exponential: f(t) = f0 exp(k t)
    expo = f0 * np.expm1(k * ts) / k
    cycles = np.where(exponential[sweep, None], expo, linear)
    wave[sweep] = np.sin(2 * np.pi * cycles + phase0[sweep, :1])

    am = y == 2
    ta, fc, fm = tau[am], carrier[am, None], rate[am, None]
    swing = 1 + depth[am, None] * np.sin(2 * np.pi * fm * ta + phase0[am, 1:])
    wave[am] = swing / 2 * np.sin(2 * np.pi * fc * ta + phase0[am, :1])

    fmod = y == 3
    tf, fc, fm = tau[fmod], carrier[fmod, None], rate[fmod, None]
    wobble = deviation[fmod, None] / fm * np.sin(2 * np.pi * fm * tf + phase0[fmod, 1:])
    wave[fmod] = np.sin(2 * np.pi * fc * tf + wobble + phase0[fmod, :1])

    nan = np.full(m, np.nan)
    return wave, {
        "f_start": np.where(sweep, f_start, nan),
        "f_end": np.where(sweep, f_end, nan),
        "carrier": np.where(sweep, nan, carrier),
        "rate": np.where(sweep, nan, rate),
        "depth": np.where(am, depth, nan),
        "deviation": np.where(fmod, deviation, nan),
    }


def resonator_response(
    freq: float | np.ndarray, bandwidth: float | np.ndarray, z: np.ndarray
) -> np.ndarray:
    """A 2nd-order resonator's response at the points `z` of the unit circle, 1 at DC:
    H(z) = (1 - 2 r cos(theta) + r^2) / (1 - 2 r cos(theta) z^-1 + r^2 z^-2), with
    r = exp(-pi B / sr) and theta = 2 pi F / sr given as `freq` and `bandwidth` in cycles per
    sample (F / sr, B / sr)."""
    r = np.exp(-np.pi * np.asarray(bandwidth))
    c = 2 * r * np.cos(2 * np.pi * np.asarray(freq))
    zi = 1 / z
    return (1 - c + r**2) / (1 - c * zi + r**2 * zi**2)


def _vowels(
    rng: np.random.Generator,
    y: np.ndarray,
    n_wave: int,
    sr: int,
    onset: np.ndarray,
    duration: np.ndarray,
) -> tuple[np.ndarray, Params]:
    m = len(y)
    f0 = rng.uniform(90.0, 250.0, m)
    # the pulse train: periods of 1/f0 with 1 % jitter, from a random phase
    n_pulses = int(np.ceil(n_wave / sr * 250.0 * 1.1)) + 2
    periods = sr / f0[:, None] * (1 + 0.01 * rng.standard_normal((m, n_pulses)))
    first = rng.uniform(0.0, 1.0, (m, 1)) * periods[:, :1]
    at = np.rint(first + np.cumsum(periods, axis=1) - periods[:, :1]).astype(np.int64)
    rows = np.broadcast_to(np.arange(m)[:, None], at.shape)
    keep = at < n_wave
    pulses = np.zeros((m, n_wave))
    pulses[rows[keep], at[keep]] = 1.0
    pulses -= pulses.mean(axis=1, keepdims=True)

    formants = np.asarray(FORMANTS, float)[y] * rng.uniform(0.92, 1.08, (m, 3))
    freqs = np.fft.rfftfreq(n_wave, 1 / sr)  # (F,)
    z = np.exp(2j * np.pi * freqs / sr)
    # Filtering the (nearly periodic) train in the frequency domain is the IIR filter up to a
    # circular wrap of its first few ms, which the envelope's onset hides.
    response = 1 / (1 + 1j * freqs / 300.0)  # the source's -6 dB/octave tilt
    for j, bw in enumerate(BANDWIDTHS):
        response = response * resonator_response(formants[:, j : j + 1] / sr, bw / sr, z)
    wave = np.fft.irfft(np.fft.rfft(pulses, axis=1) * response, n=n_wave, axis=1)
    return wave, {"f0": f0, "formants": formants}


def _noises(
    rng: np.random.Generator,
    y: np.ndarray,
    n_wave: int,
    sr: int,
    onset: np.ndarray,
    duration: np.ndarray,
) -> tuple[np.ndarray, Params]:
    m = len(y)
    freqs = np.fft.rfftfreq(n_wave, 1 / sr)
    f = np.maximum(freqs, 20.0)  # flat below 20 Hz: brown noise is no slow drift
    slope = np.asarray(NOISE_SLOPES + (0.0,))[y]  # clicks: a white floor
    spectrum = rng.standard_normal((m, len(freqs))) + 1j * rng.standard_normal((m, len(freqs)))
    spectrum *= f ** (slope[:, None] / 2)  # amplitude ~ f^(slope/2), power ~ f^slope
    spectrum[:, 0] = 0.0
    wave = np.fft.irfft(spectrum, n=n_wave, axis=1)
    wave /= np.maximum(wave.std(axis=1, keepdims=True), 1e-12)

    clicks = y == 3
    rate = np.where(clicks, rng.uniform(5.0, 40.0, m), np.nan)
    if clicks.any():
        c = int(clicks.sum())
        floor = rng.uniform(0.02, 0.06, (c, 1))
        burst_len = max(1, round(0.002 * sr))
        burst = np.exp(-np.arange(burst_len) / (burst_len / 4))  # 2 ms, decaying
        t = np.arange(n_wave) / sr
        tau = t - onset[clicks, None] - rng.uniform(0, 1, (c, 1)) / rate[clicks, None]
        # a click starts at each sample where tau * rate crosses a whole number
        starts = np.diff(np.floor(tau * rate[clicks, None]), axis=1, prepend=-1) > 0
        starts &= tau >= 0
        train = np.zeros((c, n_wave + burst_len))
        sign = rng.choice([-1.0, 1.0], (c, n_wave))
        for i, b in enumerate(burst):
            train[:, i : i + n_wave] += starts * sign * b
        # the floor's RMS is `floor` of the clicks' height (the rows were scaled to unit std)
        wave[clicks] = train[:, :n_wave] + floor * wave[clicks]
    return wave, {"rate": rate}


_MAKERS: dict[str, Callable[..., tuple[np.ndarray, Params]]] = {
    "tones": _tones,
    "chirps": _chirps,
    "vowels": _vowels,
    "noises": _noises,
}
