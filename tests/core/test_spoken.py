"""Spoken digits: the resampler against a hand case, the WAV decoding, how espeak-ng is called
(an argument list, never a shell), the cache, the missing-program message, and (where
espeak-ng is installed) real synthesis."""

from __future__ import annotations

import io
import subprocess
import wave

import numpy as np
import pytest

from dlviz.data import spoken
from dlviz.data.base import SAMPLE_RATE
from dlviz.data.spoken import (
    DIGITS,
    HOW_TO_GET,
    decode_wav,
    espeak_path,
    generate,
    resample,
    synthesize,
    trim,
)

needs_espeak = pytest.mark.skipif(espeak_path() is None, reason="espeak-ng is not installed")
SMALL_GRID = {"voices": ("en", "en+f2"), "speeds": (160,), "pitches": (50,)}


def _wav(x: np.ndarray, rate: int, frames_in_header: int | None = None) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    data = bytearray(buf.getvalue())
    if frames_in_header is not None:  # what espeak-ng writes to a pipe: a length it cannot know
        data[40:44] = frames_in_header.to_bytes(4, "little")
    return bytes(data)


def _tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(round(seconds * rate)) / rate)


class FakeEspeak:
    """Stands in for subprocess.run: records each call; 'speaks' digit d as a 0.4 s tone of
    300 + 100 d Hz at 22050 Hz between silences."""

    def __init__(self):
        self.calls: list[tuple[list[str], dict]] = []

    def __call__(self, args, **kwargs):
        self.calls.append((args, kwargs))
        if "--version" in args:
            out = b"eSpeak NG text-to-speech: 0.0-fake  Data at: /nowhere\n"
        else:
            d = DIGITS.index(args[-1])
            x = np.concatenate([np.zeros(2205), _tone(300 + 100 * d, 22050, 0.4), np.zeros(2205)])
            out = _wav(x, 22050, frames_in_header=0x7FFFF000)
        return subprocess.CompletedProcess(args, 0, stdout=out, stderr=b"")

    @property
    def syntheses(self) -> int:
        return sum("--version" not in args for args, _ in self.calls)


@pytest.fixture
def fake(monkeypatch):
    fake = FakeEspeak()
    monkeypatch.setattr(spoken, "espeak_path", lambda: "/usr/bin/espeak-ng")
    monkeypatch.setattr(spoken.subprocess, "run", fake)
    return fake


# --- resampling and decoding ---------------------------------------------------------------


def test_resampled_sine_keeps_its_frequency_and_amplitude():
    x = _tone(1000.0, 22050, 1.0, amplitude=0.8)
    y = resample(x, 22050, 16000)
    assert y.dtype == np.float32 and len(y) == 16000
    # sample k of the output is the sine at time k / 16000, away from the edges
    k = np.arange(16000)
    expected = 0.8 * np.sin(2 * np.pi * 1000 * k / 16000)
    np.testing.assert_allclose(y[800:-800], expected[800:-800], atol=2e-3)
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.fft.rfftfreq(len(y), 1 / 16000)[spec.argmax()] == pytest.approx(1000.0, abs=1.0)


def test_resampling_up_and_removing_what_the_lower_rate_cannot_hold():
    x = _tone(440.0, 16000, 0.5)
    up = resample(x, 16000, 44100)
    assert len(up) == 22050
    t = np.arange(len(up)) / 44100
    np.testing.assert_allclose(
        up[1000:-1000], 0.5 * np.sin(2 * np.pi * 440 * t)[1000:-1000], atol=2e-3
    )
    # 10 kHz is above 16 kHz's Nyquist frequency: it is removed, not folded down to 6 kHz
    high = resample(_tone(10_000.0, 22050, 1.0), 22050, 16000)
    assert np.abs(high[800:-800]).max() < 0.01
    assert np.array_equal(resample(x, 16000, 16000), x.astype(np.float32))


def test_decode_reads_the_samples_whatever_the_header_says():
    x = _tone(500.0, 22050, 0.1)
    for header in (None, 0x7FFFF000):  # espeak-ng's, writing to a pipe
        samples, rate = decode_wav(_wav(x, 22050, frames_in_header=header))
        assert rate == 22050 and len(samples) == len(x)
        pcm = (x * 32767).astype("<i2")  # what _wav wrote
        assert np.array_equal(samples, pcm / np.float32(32768))


def test_trim_keeps_the_sound_and_a_little_silence():
    x = np.concatenate([np.zeros(8000), _tone(300, 16000, 0.25), np.zeros(8000)])
    t = trim(x, 16000)
    assert len(t) == 4000 + 2 * 320
    assert np.abs(t[:320]).max() == 0 and np.abs(t[320:-320]).max() > 0.4


# --- calling espeak-ng ---------------------------------------------------------------------


def test_espeak_is_called_with_an_argument_list_and_no_shell(fake):
    x = synthesize("seven", "en+f2", 150, 40)
    (args, kwargs), *_ = fake.calls
    assert isinstance(args, list) and all(isinstance(a, str) for a in args)
    assert not kwargs.get("shell", False)
    assert kwargs["capture_output"] and kwargs["timeout"] > 0
    assert args[0] == "/usr/bin/espeak-ng" and args[-2:] == ["--", "seven"]
    assert "--stdout" in args
    for flag, value in (("-v", "en+f2"), ("-s", "150"), ("-p", "40")):
        assert args[args.index(flag) + 1] == value
    assert x.dtype == np.float32 and len(x) == round(0.6 * SAMPLE_RATE)


def test_a_failing_espeak_says_so(monkeypatch):
    monkeypatch.setattr(spoken, "espeak_path", lambda: "/usr/bin/espeak-ng")
    monkeypatch.setattr(
        spoken.subprocess,
        "run",
        lambda args, **kw: subprocess.CompletedProcess(args, 1, b"", b"unknown voice"),
    )
    with pytest.raises(RuntimeError, match="unknown voice"):
        synthesize("one", "xx", 150, 50)


def test_missing_espeak_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(spoken, "espeak_path", lambda: None)
    for call in (lambda: synthesize("one", "en", 150, 50), lambda: generate(10, 0.0, 0)):
        with pytest.raises(RuntimeError) as err:
            call()
        assert HOW_TO_GET in str(err.value) and "apt-get install espeak-ng" in str(err.value)


# --- clips and the cache -------------------------------------------------------------------


def test_clips_are_their_digits_balanced_and_seeded(fake):
    waves, labels, names = generate(53, 0.0, seed=1, **SMALL_GRID)
    assert names == DIGITS
    assert waves.shape == (53, SAMPLE_RATE) and waves.dtype == np.float32
    assert labels.dtype == np.int64 and sorted(np.bincount(labels)) == [5] * 7 + [6] * 3
    peaks = np.abs(waves).max(axis=1)
    assert peaks.min() >= 0.5 - 1e-6 and peaks.max() <= 0.9 + 1e-6
    freqs = np.fft.rfftfreq(SAMPLE_RATE, 1 / SAMPLE_RATE)
    heard = freqs[np.abs(np.fft.rfft(waves, axis=1)).argmax(axis=1)]
    np.testing.assert_allclose(heard, 300 + 100 * labels, atol=3)  # each clip is its digit
    starts = np.argmax(np.abs(waves) > 0.05, axis=1)
    assert len(set(starts.tolist())) > 20  # placed at random times
    again, labels_again, _ = generate(53, 0.0, seed=1, **SMALL_GRID)
    assert np.array_equal(waves, again) and np.array_equal(labels, labels_again)
    assert not np.array_equal(waves, generate(53, 0.0, seed=2, **SMALL_GRID)[0])


def test_utterances_are_cached_once_under_dlviz_home(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    first = generate(20, 0.1, seed=0, **SMALL_GRID)
    assert fake.syntheses == len(DIGITS) * 2
    files = list((tmp_path / "cache" / "spoken_digits").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"  # no temporary file left behind
    second = generate(20, 0.1, seed=0, **SMALL_GRID)
    assert fake.syntheses == len(DIGITS) * 2  # nothing synthesised again
    assert np.array_equal(first[0], second[0])
    generate(20, 0.1, seed=0, voices=("en",), speeds=(160,), pitches=(50,))
    assert fake.syntheses == len(DIGITS) * 3  # another grid, another file
    assert len(list(files[0].parent.iterdir())) == 2


def test_a_given_cache_folder_is_used_and_a_broken_file_replaced(fake, tmp_path):
    folder = tmp_path / "elsewhere"
    generate(10, 0.0, seed=0, cache_dir=folder, **SMALL_GRID)
    (path,) = folder.iterdir()
    path.write_bytes(b"not a zip")
    generate(10, 0.0, seed=0, cache_dir=folder, **SMALL_GRID)
    assert fake.syntheses == 2 * len(DIGITS) * 2
    with np.load(path) as f:
        assert len(f["digits"]) == len(DIGITS) * 2


# --- the real espeak-ng --------------------------------------------------------------------


@needs_espeak
def test_real_espeak_speaks_each_voice_differently():
    clips = [synthesize("seven", v, 160, 50) for v in spoken.VOICES]
    for x in clips:
        assert x.dtype == np.float32 and 0.3 * SAMPLE_RATE < len(x) < 1.5 * SAMPLE_RATE
        assert 0.05 < np.abs(x).max() <= 1.0
    assert len({x.tobytes() for x in clips}) == len(spoken.VOICES)


@needs_espeak
def test_real_spoken_digits(tmp_path):
    waves, labels, _ = generate(30, 0.1, seed=0, cache_dir=tmp_path, **SMALL_GRID)
    assert waves.shape == (30, SAMPLE_RATE) and np.bincount(labels).tolist() == [3] * 10
    again, _, _ = generate(30, 0.1, seed=0, cache_dir=tmp_path, **SMALL_GRID)
    assert np.array_equal(waves, again)
    clips, digits = spoken.utterances(tmp_path, **SMALL_GRID)
    assert all(0.2 * SAMPLE_RATE < len(c) < SAMPLE_RATE for c in clips)  # trimmed, they fit
