"""A person's sound files, fuzzed: random bytes and valid WAV (8, 16, 24-bit, float, stereo),
FLAC and OGG files damaged in any way (their sizes, rates and channel counts set to edge values,
cut short, spliced) each give a clip or an UploadError naming the file - never another
exception out of `decode_audio`, `SoundSet.add_files` or `add_zip`, and what was loaded before
stays; a tiny compressed file that unpacks to a very long clip is refused, or read, in bounded
memory."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
from functools import cache

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st
from support.fuzz import fuzz, mutated_bytes, offsets_of, peaks, tally

from dlviz.data.audio_files import AudioLimits, SoundSet, decode_audio
from dlviz.data.base import SAMPLE_RATE
from dlviz.data.uploads import UploadError


def sound(x: np.ndarray, rate: int, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@cache
def valid_sounds() -> dict[str, bytes]:
    """Short valid files of every kind dlviz reads."""
    t = np.arange(3_200) / 16_000
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    t44 = np.arange(4_410) / 44_100
    stereo = np.stack([np.sin(2 * np.pi * 300 * t44), np.cos(2 * np.pi * 500 * t44)], 1) * 0.3
    return {
        "pcm16.wav": sound(x, 16_000),
        "u8.wav": sound(x, 8_000, subtype="PCM_U8"),
        "stereo24.wav": sound(stereo, 44_100, subtype="PCM_24"),
        "float.wav": sound(x * 3, 16_000, subtype="FLOAT"),  # louder than full scale
        "clip.flac": sound(x, 16_000, "FLAC"),
        "stereo.flac": sound(stereo, 44_100, "FLAC"),
        "clip.ogg": sound(x, 16_000, "OGG", "VORBIS"),
    }


def _hot(data: bytes) -> list[int]:
    """Where sound formats keep sizes, rates and channel counts: the RIFF header and its fmt
    and data chunks, FLAC's STREAMINFO, Ogg's page headers."""
    markers = (b"RIFF", b"fmt ", b"data", b"fLaC", b"OggS", b"\x01vorbis")
    return offsets_of(data, markers, span=40)


def sounds() -> st.SearchStrategy[tuple[str, bytes]]:
    """(a file name, its bytes): random bytes, a valid file, or a valid file damaged."""
    files = valid_sounds()
    damaged = st.sampled_from(sorted(files)).flatmap(
        lambda n: mutated_bytes([files[n]], hot=_hot(files[n])).map(lambda b: (n, b))
    )
    magic = st.sampled_from([b"RIFF", b"RF64", b"fLaC", b"OggS", b"ID3", b"\x89PNG"])
    return st.one_of(
        st.tuples(
            st.sampled_from(["x.wav", "x.flac", "x.ogg", "x.mp3", "x"]), st.binary(max_size=256)
        ),
        st.tuples(st.just("x.wav"), st.tuples(magic, st.binary(max_size=256)).map(b"".join)),
        st.sampled_from(sorted(files.items())),
        damaged,
        damaged,
        damaged,
    )


@fuzz(400)
@given(sounds())
def test_any_bytes_as_a_sound_file_decode_or_are_a_named_error(named):
    name, data = named
    try:
        wave = decode_audio(name, data, seconds=0.5)
    except UploadError as e:
        tally("refused")
        assert str(e).startswith(f"{name}: ") and len(str(e)) > len(name) + 10, e
        return
    tally("decoded")
    assert wave.dtype == np.float32 and wave.shape == (SAMPLE_RATE // 2,)
    assert np.isfinite(wave).all() and np.abs(wave).max() <= 1.0


@fuzz(120)
@given(st.lists(sounds(), min_size=1, max_size=4))
def test_a_batch_of_damaged_sound_files_adds_what_decodes_and_keeps_what_was_there(batch):
    clips = SoundSet()
    assert clips.add_files("before", [("good.wav", valid_sounds()["pcm16.wav"])]) == 1
    files = [(f"{k} {name}", data) for k, (name, data) in enumerate(batch)]
    added = clips.add_files("after", files)
    assert clips.clips("before") == ["good.wav"]
    assert added == len(clips.clips("after"))
    assert added + len(clips.problems) == len(files)
    assert all(p.name in dict(files) and p.message for p in clips.problems)


def sound_zip(entries) -> bytes:
    """A ZIP of (name, bytes) entries, in order; a name may come twice."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


@fuzz(100)
@given(st.data(), st.lists(st.tuples(st.sampled_from(["hum/a.wav", "hiss/b.flac", "../c.wav",
                                                      "d.wav", "hum/e.zip", "hum/sub/f.ogg"]),
                                     sounds().map(lambda s: s[1])), max_size=4))  # fmt: skip
def test_a_damaged_or_hostile_zip_of_sounds_adds_what_it_can_or_is_refused_in_words(data, entries):
    base = sound_zip(entries or [("hum/a.wav", valid_sounds()["pcm16.wav"]),
                                 ("hiss/b.flac", valid_sounds()["clip.flac"])])  # fmt: skip
    hot = offsets_of(base, (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"), span=46)
    blob = data.draw(st.just(base) | mutated_bytes([base], hot=hot), label="zip")
    clips = SoundSet()
    clips.add_files("before", [("good.wav", valid_sounds()["pcm16.wav"])])
    try:
        added = clips.add_zip(blob)
    except UploadError as e:
        tally("refused")
        assert str(e)
        added = 0
    else:
        tally("read")
    assert clips.clips("before") == ["good.wav"] and clips.count() == 1 + added


# --- headers that promise much, and files that unpack to much -------------------------------------


def wav_claiming(**fields) -> bytes:
    """The valid 16-bit WAV with header fields rewritten: riff, channels, rate, byte_rate,
    align, bits, data (the data chunk's size)."""
    data = bytearray(valid_sounds()["pcm16.wav"])
    fmt = data.find(b"fmt ") + 8
    where = {"riff": (4, "<I"), "channels": (fmt + 2, "<H"), "rate": (fmt + 4, "<I"),
             "byte_rate": (fmt + 8, "<I"), "align": (fmt + 12, "<H"), "bits": (fmt + 14, "<H"),
             "data": (data.find(b"data") + 4, "<I")}  # fmt: skip
    for name, value in fields.items():
        at, form = where[name]
        data[at : at + struct.calcsize(form)] = struct.pack(form, value)
    return bytes(data)


def flac_claiming(rate: int, samples: int) -> bytes:
    """The valid FLAC with STREAMINFO's sample rate (20 bits) and total samples (36 bits)
    rewritten."""
    data = bytearray(valid_sounds()["clip.flac"])
    info = 8  # after "fLaC" and the block header
    packed = int.from_bytes(data[info + 10 : info + 18], "big")
    middle = packed >> 36 & 0xFF  # channels and bits per sample, kept
    packed = rate << 44 | middle << 36 | samples
    data[info + 10 : info + 18] = packed.to_bytes(8, "big")
    return bytes(data)


HEADERS = {
    "data chunk of 4 GB": lambda: wav_claiming(data=0xFFFFFFF0),
    "RIFF of 4 GB": lambda: wav_claiming(riff=0xFFFFFFF0),
    "65,535 channels": lambda: wav_claiming(channels=65_535),
    "no channels": lambda: wav_claiming(channels=0),
    "rate of 4 GHz": lambda: wav_claiming(rate=0xFFFFFFFF, byte_rate=0xFFFFFFFF),
    "rate of 1 Hz": lambda: wav_claiming(rate=1, byte_rate=2),
    "65,535-bit samples": lambda: wav_claiming(bits=65_535, align=0xFFFF),
    "FLAC of 2^36 samples": lambda: flac_claiming(16_000, 2**36 - 1),
    "FLAC at 655,350 Hz": lambda: flac_claiming(655_350, 3_200),
}


@pytest.mark.parametrize("case", sorted(HEADERS))
def test_a_header_promising_too_much_is_a_named_error_or_a_clip(case):
    try:
        wave = decode_audio("x.wav" if "FLAC" not in case else "x.flac", HEADERS[case]())
    except UploadError as e:
        assert str(e).startswith("x."), e
    else:
        assert wave.shape == (SAMPLE_RATE,) and np.isfinite(wave).all()


@cache
def long_silence(rate: int, channels: int, seconds: int, fmt: str) -> bytes:
    """`seconds` of silence at `rate` Hz: a few KB of FLAC or Ogg that unpack to millions of
    samples."""
    buf = io.BytesIO()
    subtype = "VORBIS" if fmt == "OGG" else None
    with sf.SoundFile(buf, "w", rate, channels, format=fmt, subtype=subtype) as f:
        block = np.zeros((rate, channels), np.float32)
        for _ in range(seconds):
            f.write(block)
    return buf.getvalue()


def test_small_files_that_unpack_to_long_clips_are_read_or_refused_in_bounded_memory(tmp_path):
    """Was: a 40 KB FLAC of 30 s of silence at 384 kHz (11.5 million samples, within every
    limit) took about 490 MB to read, 12,000 times its size; a 16 KB Ogg at 192 kHz, 235 MB. A
    clip now holds at most as many samples as a 16-bit WAV at the file size limit holds (30 s
    up to 96 kHz still read), and resampling keeps no copy it does not need."""
    cases = {
        "FLAC, 30 s at 384 kHz": (384_000, 1, 30, "FLAC"),
        "FLAC, 29 s at 48 kHz, 8 channels": (48_000, 8, 29, "FLAC"),
        "Ogg, 29 s at 192 kHz, stereo": (192_000, 2, 29, "OGG"),
        "FLAC, 29 s at 96 kHz": (96_000, 1, 29, "FLAC"),
    }
    calls = {}
    for k, (label, args) in enumerate(cases.items()):
        path = tmp_path / f"{k}.{args[3].lower()}"
        path.write_bytes(long_silence(*args))
        assert path.stat().st_size < 200_000, (label, path.stat().st_size)
        calls[label] = f"""
            try:
                wave = decode_audio({path.name!r}, open({str(path)!r}, "rb").read(), seconds=1.0)
                assert wave.shape == ({SAMPLE_RATE},)
            except UploadError as e:
                assert "samples" in str(e), e
        """
    mb = peaks("from dlviz.data.audio_files import UploadError, decode_audio", calls)
    assert all(v < 200 for v in mb.values()), mb
    # 30 s at 96 kHz is read, as it always was; 30 s at 384 kHz is refused, saying why
    assert decode_audio("a.flac", long_silence(96_000, 1, 29, "FLAC")).shape == (SAMPLE_RATE,)
    with pytest.raises(UploadError, match=r"a.flac: holds 11,520,000 samples \(30.0 s at 384,000"):
        decode_audio("a.flac", long_silence(384_000, 1, 30, "FLAC"))


def test_the_sample_cap_follows_the_file_size_limit():
    """A clip holds at most as many samples as a 16-bit WAV at the file size limit: a lower
    DLVIZ_MAX_SOUND_MB lowers it too."""
    x = np.zeros(1_000_000, np.float32)
    small = AudioLimits(max_file_bytes=1 << 20)  # 524,288 samples
    with pytest.raises(UploadError, match="at most 524,288"):
        decode_audio("a.flac", sound(x, 48_000, "FLAC"), limits=small)
    assert decode_audio("a.flac", sound(x[:500_000], 48_000, "FLAC"), limits=small).shape == (
        SAMPLE_RATE,
    )
