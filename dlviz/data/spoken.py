"""Spoken digits, "zero" to "nine", synthesised by espeak-ng (a separate program, if installed).

Each distinct utterance, a (digit, voice, speed, pitch) of the grid below, is synthesised once,
resampled to 16 kHz, trimmed of its silence and cached under
``$DLVIZ_HOME/cache/spoken_digits/`` (default ``~/.dlviz``) in a file named by a hash of the
grid and espeak-ng's version. The clips are then cut from them: each one a random utterance of
its digit at a random place in the clip, with white noise and a random gain as the generated
sounds have (`dlviz.data.sounds.finish_clips`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import wave
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from math import gcd
from pathlib import Path

import numpy as np

from dlviz.data.base import SAMPLE_RATE
from dlviz.data.sounds import balanced_labels, finish_clips

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
HOW_TO_GET = (
    "Install espeak-ng: `sudo apt-get install espeak-ng` on Debian or Ubuntu, "
    "`sudo dnf install espeak-ng` on Fedora, `brew install espeak-ng` on macOS."
)
# English voices and voice variants (+name) that espeak-ng 1.51 has and that sound different:
# en-us-nyc, for one, is en-us again, and an unknown variant silently falls back to the plain
# voice. mbrola voices (mb-*) need packages of their own and are left out.
VOICES = (
    "en",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en+m3",
    "en+f2",
    "en+f4",
    "en-us+f3",
    "en+croak",
    "en+whisper",
    "en-gb-scotland+klatt",
)
SPEEDS = (120, 165, 220)  # words per minute; a digit at 120 lasts about 0.7 s once trimmed
PITCHES = (20, 50, 80)  # espeak's 0-99
WORKERS = 4  # espeak-ng processes at once
TIMEOUT = 30.0  # seconds one synthesis may take
CACHE_FORMAT = 1  # bump when what the cache holds changes


def espeak_path() -> str | None:
    """The espeak-ng program (or the older espeak), or None if neither is installed."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


def _espeak() -> str:
    path = espeak_path()
    if path is None:
        raise RuntimeError(
            f"The spoken digits need espeak-ng, which is not installed. {HOW_TO_GET}"
        )
    return path


def espeak_version() -> str:
    """espeak-ng's version line, e.g. ``eSpeak NG text-to-speech: 1.51  Data at: ...``."""
    done = subprocess.run([_espeak(), "--version"], capture_output=True, timeout=TIMEOUT)
    return done.stdout.decode("utf-8", "replace").strip()


def synthesize(
    word: str,
    voice: str,
    speed: int,
    pitch: int,
    *,
    sample_rate: int = SAMPLE_RATE,
    timeout: float = TIMEOUT,
) -> np.ndarray:
    """`word` spoken by espeak-ng's `voice` at `speed` words a minute and `pitch` (0-99), as
    float32 samples in [-1, 1] at `sample_rate`, silence at the ends included.

    Raises:
        RuntimeError: espeak-ng is not installed, or it failed.
    """
    args = [_espeak(), "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "--stdout"]
    done = subprocess.run([*args, "--", word], capture_output=True, timeout=timeout)
    if done.returncode != 0 or not done.stdout:
        err = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"espeak-ng failed on {word!r} with voice {voice!r}: {err}")
    x, rate = decode_wav(done.stdout)
    return resample(x, rate, sample_rate)


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV bytes as (samples float32 in [-1, 1] of the first channel, sample rate).
    The length is read from the data, not the header: espeak-ng writing to a pipe cannot fill
    in the header's frame count."""
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"expected 16-bit samples, got {8 * w.getsampwidth()}-bit")
        channels, rate = w.getnchannels(), w.getframerate()
        raw = w.readframes(len(data))  # at most what is there
    pcm = np.frombuffer(raw[: len(raw) // (2 * channels) * 2 * channels], "<i2")
    return pcm.reshape(-1, channels)[:, 0].astype(np.float32) / 32768.0, rate


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """`x` (1-D, sampled at `rate_in`) sampled at `rate_out`, float32, by band-limited (FFT)
    interpolation: output sample k is x's ideal band-limited interpolation at time
    k / rate_out, content above the lower rate's Nyquist frequency removed. x is padded with
    zeros to a length whose resampled length is whole, so the time axis is exact, and past
    its ends (so its FFT's wrap-around passes through silence). Returns
    ceil(len(x) * rate_out / rate_in) samples."""
    x = np.asarray(x, np.float64).ravel()
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError("sample rates must be positive")
    if rate_in == rate_out or len(x) == 0:
        return x.astype(np.float32)
    g = gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    n_out = -(-len(x) * up // down)
    pad = 256 + max(len(x) // 8, 64)  # silence after the end, so it does not ring into the start
    n = -(-(len(x) + pad) // down) * down  # a multiple of `down`: n * up / down is whole
    m = n // down * up
    spec = np.fft.rfft(x, n)
    keep = min(len(spec), m // 2 + 1)
    out_spec = np.zeros(m // 2 + 1, complex)
    out_spec[:keep] = spec[:keep]
    if m < n and m % 2 == 0:
        out_spec[-1] = out_spec[-1].real  # the new Nyquist bin: a real cosine, as irfft reads it
    elif m > n and n % 2 == 0:
        out_spec[n // 2] *= 0.5  # the old Nyquist bin was both signs: half of it is +f
    y = np.fft.irfft(out_spec, m) * (m / n)
    return y[:n_out].astype(np.float32)


def trim(x: np.ndarray, sample_rate: int, threshold: float = 0.03) -> np.ndarray:
    """`x` without the silence at its ends: from the first to the last 10 ms frame whose RMS
    is `threshold` of the loudest frame's or more, with 20 ms to spare on each side."""
    frame = max(1, sample_rate // 100)
    n = len(x) // frame
    if n == 0:
        return x
    rms = np.sqrt((x[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1))
    loud = np.flatnonzero(rms >= threshold * rms.max())
    if len(loud) == 0 or rms.max() == 0:
        return x[:0]
    spare = 2 * frame
    return x[max(0, loud[0] * frame - spare) : min(len(x), (loud[-1] + 1) * frame + spare)]


def cache_folder(cache_dir: str | Path | None = None) -> Path:
    """`cache_dir`, or ``$DLVIZ_HOME/cache/spoken_digits`` (default ``~/.dlviz``)."""
    if cache_dir is not None:
        return Path(cache_dir)
    home = os.environ.get("DLVIZ_HOME") or Path.home() / ".dlviz"
    return Path(home) / "cache" / "spoken_digits"


def utterances(
    cache_dir: str | Path | None = None,
    voices: Sequence[str] = VOICES,
    speeds: Sequence[int] = SPEEDS,
    pitches: Sequence[int] = PITCHES,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Every (digit, voice, speed, pitch) of the grid spoken once, trimmed, at 16 kHz: the
    clips (float32, peak 0.9) and their digits (int64), from the cache when it has them."""
    grid = [
        (d, v, s, p) for d in range(len(DIGITS)) for v in voices for s in speeds for p in pitches
    ]
    key = json.dumps(
        {
            "format": CACHE_FORMAT,
            "espeak": espeak_version(),
            "rate": SAMPLE_RATE,
            "grid": [DIGITS, list(voices), list(speeds), list(pitches)],
        }
    )
    path = cache_folder(cache_dir) / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    try:
        with np.load(path) as f:
            audio, ends, digits = f["audio"], f["ends"], f["digits"]
        if len(digits) == len(grid):
            clips = np.split(audio.astype(np.float32) / 32767 * 0.9, ends[:-1])
            return clips, digits.astype(np.int64)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        pass  # absent or unreadable: synthesise again

    def one(item: tuple[int, str, int, int]) -> np.ndarray:
        d, v, s, p = item
        x = trim(synthesize(DIGITS[d], v, s, p), SAMPLE_RATE)
        return (x / max(float(np.abs(x).max(initial=0.0)), 1e-9) * 32767).astype(np.int16)

    with ThreadPoolExecutor(WORKERS) as pool:
        pcm = list(pool.map(one, grid))
    digits = np.array([d for d, *_ in grid], np.int64)
    ends = np.cumsum([len(c) for c in pcm])
    _save_atomically(path, np.concatenate(pcm), ends, digits)
    return [c.astype(np.float32) / 32767 * 0.9 for c in pcm], digits


def _save_atomically(path: Path, audio: np.ndarray, ends: np.ndarray, digits: np.ndarray) -> None:
    """The cache file, written to a temporary file and then renamed: a reader sees the whole
    file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, audio=audio, ends=ends, digits=digits)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def generate(
    n_samples: int,
    noise: float,
    seed: int,
    seconds: float = 1.0,
    cache_dir: str | Path | None = None,
    *,
    voices: Sequence[str] = VOICES,
    speeds: Sequence[int] = SPEEDS,
    pitches: Sequence[int] = PITCHES,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """`n_samples` clips of spoken digits at 16 kHz.

    Each clip is a random utterance of its digit (`utterances`: the voices, speeds and
    pitches), placed at a random time in the clip (cut where it is longer than the clip), then
    white noise of `noise` times its RMS and a random peak of 0.5-0.9 (`finish_clips`).

    Returns:
        waves (N, S) float32 in [-1, 1], labels (N,) int64 (balanced, shuffled), DIGITS.

    Raises:
        RuntimeError: espeak-ng is not installed (the message says how to get it) or failed.
    """
    if n_samples < 0 or seconds <= 0:
        raise ValueError("n_samples must be >= 0 and seconds > 0")
    clips, digits = utterances(cache_dir, voices, speeds, pitches)
    by_digit = [np.flatnonzero(digits == d) for d in range(len(DIGITS))]
    rng = np.random.default_rng(seed)
    labels = balanced_labels(n_samples, len(DIGITS), rng)
    n_wave = max(1, round(seconds * SAMPLE_RATE))
    waves = np.zeros((n_samples, n_wave))
    for i, label in enumerate(labels):
        clip = clips[by_digit[label][rng.integers(len(by_digit[label]))]]
        start = int(rng.integers(min(0, n_wave - len(clip)), max(0, n_wave - len(clip)) + 1))
        lo, hi = max(0, start), min(n_wave, start + len(clip))
        waves[i, lo:hi] = clip[lo - start : hi - start]
    return finish_clips(waves, noise, rng), labels, DIGITS
