"""A person's own recordings: bytes in, checked mono 16 kHz waves out, with no Streamlit.

The sound side of `dlviz.data.uploads`, whose ZIP reader, `Problem` and `UploadError` it uses.
Every file is checked on its own: one that is not sound, truncated, empty, too long, too large
or holding NaNs becomes a `Problem` naming the file, and the rest of the upload still loads.

- `decode_audio(name, data, seconds)`: one WAV, FLAC or OGG file -> (S,) float32 mono at
  SAMPLE_RATE, `seconds` long (the loudest stretch of a longer clip, a shorter one centred in
  silence); any channel count, sample rate, PCM depth or float; raises UploadError.
- `resample(x, rate_in, rate_out)`: band-limited resampling by FFT, any two rates.
- `SoundSet`: classes of clips (files, a ZIP of class folders, recordings made in the
  browser), `blocking()` / `warnings()` in plain words, `to_arrays(seconds)` for training and
  `to_zip()` to save them.
- `load_folder(path, seconds)`, `load_zip_file(path, seconds)`: the same from disk
  (``audio_folder`` / ``audio_zip`` data).
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from dlviz.data.base import SAMPLE_RATE
from dlviz.data.uploads import (
    LabelledSet,
    Problem,
    UploadError,
    UploadLimits,
    read_zip,
    settings_from_env,
)
from dlviz.text import plural

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
MIN_RATE, MAX_RATE = 2_000, 384_000  # sample rates read, in Hz
QUIET_PEAK = 0.02  # a clip whose loudest sample is under 2% of full scale (-34 dBFS) is quiet
FEW_CLIPS = 5  # fewer clips than this in a class: warned


@dataclass(frozen=True)
class AudioLimits:
    """What one upload of sound may hold. Shown to the user; each is a setting."""

    max_file_bytes: int = 10 * 2**20  # one sound file (about a minute of CD-quality WAV)
    max_seconds: int = 30  # one clip
    max_files: int = 2_000  # clips in one set (or one ZIP)
    max_total_bytes: int = 256 * 2**20  # all of a ZIP's files, uncompressed
    max_total_seconds: int = 3_600  # all clips together: an hour (230 MB kept as float32)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AudioLimits:
        """The defaults, changed by ``DLVIZ_MAX_SOUND_MB``, ``DLVIZ_MAX_SOUND_SECONDS``,
        ``DLVIZ_MAX_SOUND_MINUTES`` and, shared with images, ``DLVIZ_MAX_FILES`` and
        ``DLVIZ_MAX_UPLOAD_MB`` where set (whole positive numbers; anything else raises
        ValueError naming the variable)."""
        return cls(
            **settings_from_env(
                (
                    ("DLVIZ_MAX_SOUND_MB", "max_file_bytes", 2**20),
                    ("DLVIZ_MAX_SOUND_SECONDS", "max_seconds", 1),
                    ("DLVIZ_MAX_FILES", "max_files", 1),
                    ("DLVIZ_MAX_UPLOAD_MB", "max_total_bytes", 2**20),
                    ("DLVIZ_MAX_SOUND_MINUTES", "max_total_seconds", 60),
                ),
                environ,
            )
        )

    def describe(self) -> str:
        return (
            f"up to {plural(self.max_files, 'sound file')}, {self.max_file_bytes / 2**20:.0f} MB "
            f"and {self.max_seconds} s each, {self.max_total_bytes / 2**20:.0f} MB and "
            f"{_duration(self.max_total_seconds)} in all"
        )

    def zip_limits(self) -> UploadLimits:
        """The limits `read_zip` checks a ZIP of sound files against."""
        return UploadLimits(
            max_file_bytes=self.max_file_bytes,
            max_files=self.max_files,
            max_total_bytes=self.max_total_bytes,
        )


DEFAULT_AUDIO_LIMITS = AudioLimits()


# --- one file ---------------------------------------------------------------------------------

_CONVERT = "convert it to WAV (Audacity or ffmpeg can) and upload it again"
# What a file that soundfile cannot open looks like, to say so (by its first bytes).
_LOOKS_LIKE = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"ID3", "an MP3 file"),
    (b"\x1aE\xdf\xa3", "a WebM recording"),
)
_SOUND_MAGIC = (b"RIFF", b"RF64", b"fLaC", b"OggS")  # a container it should have read


def _looks_like(data: bytes) -> str:
    for magic, what in _LOOKS_LIKE:
        if data.startswith(magic):
            return what
    if data[4:8] == b"ftyp":
        return "an MP4 or M4A file"
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return "text" if text and all(c.isprintable() or c in "\r\n\t" for c in text) else ""


def _wav_shortfall(data: bytes) -> tuple[int, int] | None:
    """(bytes of sound a RIFF WAV's data chunk declares, bytes present) when fewer are present
    (libsndfile reads such a file without a word); None otherwise, and for a streamed WAV whose
    length was left unknown (0 or 0xFFFFFFFF)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if data[pos : pos + 4] == b"data":
            present = len(data) - pos - 8
            return (size, present) if 0 < size < 0xFFFFFFFF and present < size else None
        pos += 8 + size + (size & 1)
    return None


def _reason(e: Exception) -> str:
    """libsndfile's own words for what went wrong, without its "Error : " prefix."""
    text = getattr(e, "error_string", "") or str(e) or type(e).__name__
    return text.removeprefix("Error :").strip().rstrip(".")


def _too_big(name: str, size: int, limits: AudioLimits) -> Problem | None:
    if size <= limits.max_file_bytes:
        return None
    return Problem(
        name,
        f"is {size / 2**20:.1f} MB; the limit is {limits.max_file_bytes / 2**20:.0f} MB a sound "
        "file: cut it into shorter clips, or raise DLVIZ_MAX_SOUND_MB",
    )


def _too_long(name: str, seconds: float, limits: AudioLimits) -> Problem | None:
    if seconds <= limits.max_seconds:
        return None
    return Problem(
        name,
        f"is {seconds:,.1f} s long; the limit is {limits.max_seconds} s a clip: cut it into "
        "shorter clips (each one an example), or raise DLVIZ_MAX_SOUND_SECONDS",
    )


def _bad_extension(name: str) -> Problem | None:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in AUDIO_EXTENSIONS:
        return None
    if not suffix:
        return Problem(
            name,
            "has no .wav, .flac or .ogg extension: rename it to end in the one its format has",
        )
    return Problem(
        name, f"is a {suffix} file; dlviz reads WAV, FLAC and OGG sound files: {_CONVERT}"
    )


def _read(name: str, data: bytes, limits: AudioLimits) -> tuple[np.ndarray, int] | Problem:
    """The file's sound mixed to mono at its own rate, (T,) float32, and that rate; or a Problem.
    The header is checked (rate, length) before any sample is decoded."""
    import soundfile as sf  # a dependency; imported here, as only sound uploads need it

    if not data:
        return Problem(name, "is empty (0 bytes): record or export it again")
    problem = _bad_extension(name) or _too_big(name, len(data), limits)
    if problem:
        return problem
    short = _wav_shortfall(data)
    if short:
        return Problem(
            name,
            f"is truncated: its header promises {short[0]:,} bytes of sound but only "
            f"{short[1]:,} are there (the copy or upload was cut short): export or copy it again",
        )
    try:
        f = sf.SoundFile(io.BytesIO(data))
    except Exception as e:
        if data.startswith(_SOUND_MAGIC):
            return Problem(name, f"is damaged or truncated ({_reason(e)}): export or copy it again")
        what = _looks_like(data)
        return Problem(
            name,
            "is not a sound file dlviz can read"
            + (f" (it looks like {what})" if what else "")
            + ": upload WAV, FLAC or OGG files",
        )
    with f:
        rate, frames, channels = f.samplerate, f.frames, f.channels
        if not MIN_RATE <= rate <= MAX_RATE:
            return Problem(
                name,
                f"has a sample rate of {rate:,} Hz; dlviz reads {MIN_RATE:,} to {MAX_RATE:,} Hz: "
                "export it again at 16,000 or 44,100 Hz",
            )
        problem = _too_long(name, frames / rate, limits)
        if problem:
            return problem
        # Reading and resampling take about 40 bytes a sample: a clip holds at most as many
        # samples as a 16-bit WAV at the file size limit (a few KB of FLAC or Ogg can unpack
        # to 30 s at 384 kHz, 11.5 million samples).
        most = limits.max_file_bytes // 2
        if frames > most:
            return Problem(
                name,
                f"holds {frames:,} samples ({frames / rate:,.1f} s at {rate:,} Hz); a sound "
                f"file may hold at most {most:,}, as many as a "
                f"{limits.max_file_bytes / 2**20:.0f} MB 16-bit WAV: export it at 48,000 Hz or "
                "less, or cut it shorter",
            )
        mono = np.empty(frames, np.float32)
        done = 0
        try:  # in blocks, mixed down as read: many channels never sit in memory at once
            while done < frames:
                block = f.read(min(65_536, frames - done), dtype="float32", always_2d=True)
                if not len(block):
                    break
                mono[done : done + len(block)] = block[:, 0] if channels == 1 else block.mean(1)
                done += len(block)
        except Exception as e:
            return Problem(
                name,
                f"is damaged or truncated: it could not be decoded past {done / rate:.2f} s "
                f"({_reason(e)}): export or copy it again",
            )
    if done == 0:
        return Problem(name, "holds no sound (0 samples): record or export it again")
    return mono[:done], rate


def _checked(name: str, mono: np.ndarray, rate: int, limits: AudioLimits) -> np.ndarray | Problem:
    """A mono wave at `rate` as a clip: (S,) float32 at SAMPLE_RATE, peak at most 1."""
    if mono.size == 0:
        return Problem(name, "holds no sound (0 samples): record or export it again")
    problem = _too_long(name, len(mono) / rate, limits)
    if problem:
        return problem
    if not np.isfinite(mono).all():
        return Problem(
            name,
            "holds NaN or infinite samples (a damaged floating-point file): export it again, "
            "e.g. as a 16-bit WAV",
        )
    wave = resample(mono, rate, SAMPLE_RATE)
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak > 1.0:  # a float file louder than full scale, or the resampler's overshoot
        wave /= peak
    return wave


def _decode(name: str, data: bytes, limits: AudioLimits) -> tuple[np.ndarray, int] | Problem:
    """(the whole clip, (S,) float32 mono at SAMPLE_RATE; the file's own rate), or a Problem."""
    out = _read(name, data, limits)
    if isinstance(out, Problem):
        return out
    wave = _checked(name, *out, limits)
    return wave if isinstance(wave, Problem) else (wave, out[1])


def decode_audio(
    name: str,
    data: bytes,
    seconds: float | None = 1.0,
    limits: AudioLimits = DEFAULT_AUDIO_LIMITS,
) -> np.ndarray:
    """The WAV, FLAC or OGG file `data` as (S,) float32 mono (the mean of its channels) at
    SAMPLE_RATE, in [-1, 1] (a float file louder than that is scaled down), S = `seconds` x
    SAMPLE_RATE: a longer clip keeps its loudest `seconds` (by moving RMS), a shorter one is
    centred in silence (`fit_length`). `seconds` None keeps the whole clip.

    Raises UploadError, its message naming the file and what to do, for a file that is not
    sound, damaged, truncated, empty, too long, too large or holding NaN or infinite samples."""
    out = _decode(name, data, limits)
    if isinstance(out, Problem):
        raise UploadError(str(out))
    wave = out[0]
    return wave if seconds is None else fit_length(wave, round(seconds * SAMPLE_RATE))


def fit_length(wave: np.ndarray, length: int) -> np.ndarray:
    """`wave` (S,) as exactly `length` samples: the loudest window of a longer one (the highest
    moving RMS; among equally loud windows, the one nearest the middle; the middle of a silent
    one), a shorter one centred between zeros."""
    n = len(wave)
    if n >= length:
        start = loudest_start(wave, length)
        return np.array(wave[start : start + length], dtype=np.float32)
    out = np.zeros(length, np.float32)
    left = (length - n) // 2
    out[left : left + n] = wave
    return out


def loudest_start(wave: np.ndarray, length: int) -> int:
    """Where the window of `length` samples with the highest RMS begins (see `fit_length`)."""
    n = len(wave)
    middle = (n - length) // 2
    if length <= 0 or n <= length:
        return 0
    energy = np.concatenate([[0.0], np.cumsum(np.square(wave, dtype=np.float64))])
    windows = energy[length:] - energy[:-length]  # (n - length + 1,): length x RMS^2 each
    top = windows.max()
    if top <= 0:
        return middle
    best = np.flatnonzero(windows >= top * (1 - 1e-6))
    return int(best[np.argmin(np.abs(best - middle))])


def _smooth_at_least(m: int) -> int:
    """The smallest number >= m with no prime factor over 5 (a fast FFT length factor)."""
    while True:
        k = m
        for f in (2, 3, 5):
            while k % f == 0:
                k //= f
        if k == 1:
            return m
        m += 1


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """`x` (T,) sampled at `rate_in` as (round(T x rate_out / rate_in),) float32 at `rate_out`.

    Band-limited by FFT: the spectrum is cut at the lower rate's Nyquist frequency (with a
    raised-cosine roll-off over its top 10%, so edges ring little) and transformed back at the
    new length; the clip is padded with silence first, so its end does not wrap onto its start.
    Frequencies below 90% of the lower Nyquist pass unchanged; those above it are removed, not
    aliased."""
    x = np.asarray(x)
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError(f"sample rates must be positive, got {rate_in} and {rate_out}")
    if rate_in == rate_out:
        return x.astype(np.float32)
    g = math.gcd(int(rate_in), int(rate_out))
    p, q = int(rate_in) // g, int(rate_out) // g  # p input samples span q output samples
    n = len(x)
    n_out = (n * q + p // 2) // p
    if n == 0:
        return np.zeros(0, np.float32)
    guard = p * math.ceil(256 / q)  # silence each side: >= 256 output samples, a whole p
    m = _smooth_at_least(math.ceil((n + 2 * guard) / p))
    n_in, n_pad_out = p * m, q * m
    padded = np.zeros(n_in)
    padded[guard : guard + n] = x
    keep = min(n_in, n_pad_out) // 2 + 1
    spectrum = np.fft.rfft(padded)[:keep].copy()  # only the band kept: the rest freed at once
    del padded
    roll = max(1, keep // 10)
    taper = np.ones(keep)
    taper[keep - roll :] = 0.5 * (1 + np.cos(np.pi * np.arange(1, roll + 1) / roll))
    out = np.zeros(n_pad_out // 2 + 1, complex)
    out[:keep] = spectrum[:keep] * taper
    y = np.fft.irfft(out, n_pad_out) * (n_pad_out / n_in)
    start = guard // p * q
    return y[start : start + n_out].astype(np.float32)


# --- the sound set ----------------------------------------------------------------------------


@dataclass
class Clip:
    name: str
    wave: np.ndarray  # (S,) float32 mono at SAMPLE_RATE, in [-1, 1], the whole clip
    rate: int = SAMPLE_RATE  # the file's own sample rate
    digest: str = ""  # of the wave: the same sound in two files is a duplicate

    @property
    def seconds(self) -> float:
        return len(self.wave) / SAMPLE_RATE

    @property
    def peak(self) -> float:
        return float(np.abs(self.wave).max()) if self.wave.size else 0.0


def _digest(wave: np.ndarray) -> str:
    return hashlib.sha1(wave.tobytes()).hexdigest()


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} s"


def _named(items: list[str], shown: int = 3) -> str:
    return ", ".join(items[:shown]) + (", ..." if len(items) > shown else "")


@dataclass
class SoundSet(LabelledSet):
    """Classes (in the order they were made) and their clips, plus what was refused."""

    classes: dict[str, list[Clip]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    NOUN = "clip"
    FEW = FEW_CLIPS

    def add_class(self, name: str) -> None:
        name = name.strip()
        if not name:
            raise UploadError("a class needs a name")
        self.classes.setdefault(name, [])

    def _room(self, name: str, seconds: float, limits: AudioLimits) -> Problem | None:
        if self.count() >= limits.max_files:
            return Problem(
                name,
                f"was not added: the limit is {plural(limits.max_files, 'sound file')} "
                "(DLVIZ_MAX_FILES)",
            )
        if self.seconds() + seconds > limits.max_total_seconds:
            return Problem(
                name,
                f"was not added: the set would hold over {_duration(limits.max_total_seconds)} "
                "of sound, the limit (DLVIZ_MAX_SOUND_MINUTES)",
            )
        return None

    def add_files(
        self,
        cls: str,
        files: list[tuple[str, bytes]],
        limits: AudioLimits = DEFAULT_AUDIO_LIMITS,
    ) -> int:
        """Decode `files` (name, bytes) into class `cls`; returns how many were added. The
        files that could not be are kept in `problems`; the rest load."""
        self.add_class(cls)
        added = 0
        for name, data in files:
            out = self._room(name, 0.0, limits) or _decode(name, data, limits)
            if not isinstance(out, Problem):
                out = self._room(name, len(out[0]) / SAMPLE_RATE, limits) or out
            if isinstance(out, Problem):
                self.problems.append(out)
                continue
            wave, rate = out
            self.classes[cls.strip()].append(Clip(name, wave, rate, _digest(wave)))
            added += 1
        return added

    def add_zip(self, data: bytes, limits: AudioLimits = DEFAULT_AUDIO_LIMITS) -> int:
        """The clips of a ZIP whose top-level folders are the classes (`read_zip`'s checks:
        unsafe paths, links, nested ZIPs, counts and sizes); returns how many were added.
        Raises UploadError for a file that is not a ZIP or a ZIP over a limit."""
        files, problems = read_zip(data, limits.zip_limits(), what="sound file")
        self.problems += problems
        return sum(self.add_files(cls, items, limits) for cls, items in files.items())

    def add_clip(
        self,
        cls: str,
        name: str,
        wave: np.ndarray,
        rate: int = SAMPLE_RATE,
        limits: AudioLimits = DEFAULT_AUDIO_LIMITS,
    ) -> None:
        """A recording already decoded (made in the browser): (S,) or (S, channels) samples
        at `rate`, in [-1, 1]. Raises UploadError naming it when it cannot be used."""
        mono = np.asarray(wave, dtype=np.float32)
        if mono.ndim == 2:
            mono = mono.mean(axis=1)
        if mono.ndim != 1:
            raise UploadError(f"{name}: a recording is (samples,) or (samples, channels)")
        out = _checked(name, mono, rate, limits)
        if not isinstance(out, Problem):
            out = self._room(name, len(out) / SAMPLE_RATE, limits) or out
        if isinstance(out, Problem):
            raise UploadError(str(out))
        self.add_class(cls)
        self.classes[cls.strip()].append(Clip(name, out, rate, _digest(out)))

    def remove_class(self, name: str) -> None:
        self.classes.pop(name, None)

    def count(self) -> int:
        return sum(len(v) for v in self.classes.values())

    def seconds(self) -> float:
        """All clips together, in seconds."""
        return sum(c.seconds for clips in self.classes.values() for c in clips)

    def clips(self, cls: str) -> list[str]:
        """The names of class `cls`'s clips, in the order they were added."""
        return [c.name for c in self.classes.get(cls, [])]

    def warnings(self, seconds: float | None = None) -> list[str]:
        """What will hurt training, in plain words; with `seconds`, also what the network's
        clip length will cut or pad."""
        out = self.balance_warnings()
        labelled = [(f"{cls}/{c.name}", c) for cls, clips in self.classes.items() for c in clips]
        silent = [label for label, c in labelled if c.peak == 0.0]
        if silent:
            out.append(
                f"{plural(len(silent), 'silent clip')} ({_named(silent)}): they hold no sound at "
                "all; check the microphone, or remove them."
            )
        quiet = [label for label, c in labelled if 0.0 < c.peak < QUIET_PEAK]
        if quiet:
            out.append(
                f"{plural(len(quiet), 'very quiet clip')} ({_named(quiet)}): their loudest "
                f"sample is under {QUIET_PEAK:.0%} of full scale, so the network hears mostly "
                "noise; record closer to the microphone."
            )
        if seconds:
            length = round(seconds * SAMPLE_RATE)
            longer = sum(len(c.wave) > length for _, c in labelled)
            shorter = sum(len(c.wave) < length for _, c in labelled)
            if longer:
                out.append(
                    f"{plural(longer, 'clip')} {'is' if longer == 1 else 'are'} longer than "
                    f"{seconds:g} s: the loudest {seconds:g} s of each is kept."
                )
            if shorter:
                out.append(
                    f"{plural(shorter, 'clip')} {'is' if shorter == 1 else 'are'} shorter than "
                    f"{seconds:g} s: each is centred in silence."
                )
        return out

    def to_arrays(self, seconds: float) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """Every clip `seconds` long (`fit_length`): waves (N, S) float32 at SAMPLE_RATE,
        labels (N,) int64, class names."""
        length = round(seconds * SAMPLE_RATE)
        names = tuple(self.classes)
        waves = [fit_length(c.wave, length) for cls in names for c in self.classes[cls]]
        labels = [k for k, cls in enumerate(names) for _ in self.classes[cls]]
        x = np.stack(waves) if waves else np.zeros((0, length), np.float32)
        return x, np.asarray(labels, dtype=np.int64), names

    def to_zip(self) -> bytes:
        """The labelled set as a ZIP of 16-bit WAVs at SAMPLE_RATE, one top-level folder per
        class (re-loadable by `add_zip`)."""
        import soundfile as sf

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for cls, clips in self.classes.items():
                used: set[str] = set()
                for c in clips:
                    stem = PurePosixPath(c.name).stem or "clip"
                    name, k = f"{stem}.wav", 1
                    while name in used:
                        k += 1
                        name = f"{stem}-{k}.wav"
                    used.add(name)
                    wav = io.BytesIO()
                    sf.write(wav, c.wave, SAMPLE_RATE, format="WAV", subtype="PCM_16")
                    z.writestr(f"{cls}/{name}", wav.getvalue())
        return buf.getvalue()


# --- from disk (audio_folder, audio_zip) ------------------------------------------------------


def _trainable(
    found: SoundSet, root: Path, seconds: float
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], list[str]]:
    problems = [str(p) for p in found.problems]
    if len(found.classes) < 2:
        raise ValueError(
            f"data.path: {root} holds {plural(len(found.classes), 'class folder')}; training "
            "needs at least two: put each class's sound files in a folder named after it"
        )
    why = found.blocking()
    if why:
        skipped = f"; {plural(len(problems), 'file')} could not be read, e.g. {problems[0]}"
        raise ValueError(f"data.path: {why} (in {root}{skipped if problems else ''})")
    waves, labels, names = found.to_arrays(seconds)
    return waves, labels, names, problems


def load_folder(
    path: str | Path, seconds: float, limits: AudioLimits = DEFAULT_AUDIO_LIMITS
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], list[str]]:
    """A folder of class folders of .wav, .flac and .ogg files (in subfolders too) through the
    upload's checks: (waves (N, S) float32, labels (N,) int64, class names, the files skipped
    and why). Other files are ignored; hidden folders and links are not followed. Raises
    ValueError saying why when the set cannot train."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ValueError(
            f"data.path: no folder at {root}; give a folder of class folders of sound files"
        )
    found = SoundSet()
    for loose in sorted(root.iterdir()):
        if loose.is_file() and loose.suffix.lower() in AUDIO_EXTENSIONS:
            found.problems.append(
                Problem(loose.name, "is not inside a class folder; it was not read")
            )
    folders = (p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    for folder in sorted(p for p in folders if not p.name.startswith(".")):
        files = []
        for f in sorted(folder.rglob("*")):
            name = str(f.relative_to(root))
            if not f.is_file() or f.is_symlink() or f.suffix.lower() not in AUDIO_EXTENSIONS:
                continue
            if any(part.startswith(".") for part in f.relative_to(folder).parts):
                continue
            big = _too_big(name, f.stat().st_size, limits)  # before reading it
            if big:
                found.problems.append(big)
            else:
                files.append((name, f.read_bytes()))
        found.add_files(folder.name, files, limits)
    return _trainable(found, root, seconds)


def load_zip_file(
    path: str | Path, seconds: float, limits: AudioLimits = DEFAULT_AUDIO_LIMITS
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], list[str]]:
    """A ZIP of class folders of sound files, as `load_folder` reads a folder."""
    root = Path(path).expanduser()
    if not root.is_file():
        raise ValueError(f"data.path: no ZIP file at {root}")
    found = SoundSet()
    try:
        found.add_zip(root.read_bytes(), limits)
    except UploadError as e:
        raise ValueError(f"data.path: {root.name}: {e}") from None
    return _trainable(found, root, seconds)
