"""The sound upload reader against real files built here: every depth, rate, channel count and
container decodes to the wave it holds (checked by hand and by FFT), and every bad input gets a
message naming the file while the rest of the upload still loads."""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest
import soundfile as sf

from dlviz.data.audio_files import (
    AudioLimits,
    SoundSet,
    decode_audio,
    fit_length,
    load_folder,
    load_zip_file,
    resample,
)
from dlviz.data.base import SAMPLE_RATE
from dlviz.data.uploads import UploadError, UploadLimits, read_zip


def sound(x: np.ndarray, rate: int = SAMPLE_RATE, subtype: str = "PCM_16", fmt: str = "WAV"):
    """`x` (T,) or (T, channels) as the bytes of a sound file."""
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def tone(freq: float = 1000.0, seconds: float = 1.0, rate: int = SAMPLE_RATE, amp: float = 0.5):
    t = np.arange(round(seconds * rate)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def peak_and_amplitude(wave: np.ndarray) -> tuple[float, float]:
    """The strongest frequency of `wave` (Hz, at SAMPLE_RATE) and the tone's amplitude, read
    away from the clip's edges."""
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    freq = np.argmax(spectrum) * SAMPLE_RATE / len(wave)
    middle = wave[len(wave) // 10 : -len(wave) // 10]
    return float(freq), float(np.sqrt(2 * np.mean(np.square(middle, dtype=np.float64))))


# --- what decodes, and to what ----------------------------------------------------------------


@pytest.mark.parametrize(
    "subtype, tolerance",
    [("PCM_U8", 1 / 128), ("PCM_16", 1 / 32768), ("PCM_24", 1e-6), ("PCM_32", 1e-7),
     ("FLOAT", 0), ("DOUBLE", 0)],
)  # fmt: skip
def test_every_pcm_depth_and_float_decodes_to_the_wave_it_holds(subtype, tolerance):
    x = tone(440, 0.25).astype(np.float32)
    out = decode_audio(f"a {subtype}.wav", sound(x, subtype=subtype), seconds=None)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, x, atol=tolerance + 1e-7)


def test_flac_is_lossless_and_ogg_keeps_the_tone():
    x = tone(440, 0.5).astype(np.float32)
    flac = decode_audio("a.flac", sound(x, fmt="FLAC"), seconds=None)
    np.testing.assert_allclose(flac, x, atol=1 / 32768 + 1e-7)
    ogg = decode_audio("a.ogg", sound(tone(1000, 1.0, 44_100), 44_100, "VORBIS", "OGG"), None)
    freq, amp = peak_and_amplitude(ogg)
    assert abs(len(ogg) - SAMPLE_RATE) <= 1 and abs(freq - 1000) <= 1 and abs(amp - 0.5) < 0.03


def test_channels_are_mixed_to_their_mean():
    left = tone(440, 0.1).astype(np.float32)
    right = np.full_like(left, 0.25)
    out = decode_audio("st.wav", sound(np.stack([left, right], 1), subtype="FLOAT"), None)
    np.testing.assert_allclose(out, (left + right) / 2, atol=1e-7)
    four = np.stack([left, -left, right, right], 1)  # the tone cancels: a quarter of 0.5 left
    out = decode_audio("quad.wav", sound(four, subtype="FLOAT"), None)
    np.testing.assert_allclose(out, 0.125, atol=1e-7)


@pytest.mark.parametrize("rate", [8000, 11_025, 12_345, 22_050, 44_100, 48_000, 96_000])
def test_any_rate_becomes_16k_with_the_tone_at_its_frequency_and_amplitude(rate):
    out = decode_audio(f"{rate}.wav", sound(tone(1000, 1.0, rate), rate), seconds=None)
    assert len(out) == SAMPLE_RATE  # one second
    freq, amp = peak_and_amplitude(out)
    assert freq == 1000 and abs(amp - 0.5) < 0.002  # PCM_16 quantisation aside, unchanged
    reference = tone(1000, 1.0)
    assert np.abs(out - reference)[200:-200].max() < 1e-3  # in phase too, away from the edges


def test_resampling_removes_what_the_new_rate_cannot_hold_instead_of_aliasing_it():
    high = resample(tone(10_000, 1.0, 44_100), 44_100, SAMPLE_RATE)  # over 8 kHz: gone
    assert np.sqrt(np.mean(high[800:-800] ** 2)) < 1e-4
    kept = resample(tone(7000, 1.0, 44_100), 44_100, SAMPLE_RATE)  # under 90% of 8 kHz: kept
    assert peak_and_amplitude(kept)[0] == 7000 and abs(peak_and_amplitude(kept)[1] - 0.5) < 1e-3
    assert resample(np.zeros(0), 44_100, SAMPLE_RATE).shape == (0,)
    assert resample(np.ones(441), 44_100, SAMPLE_RATE).shape == (160,)
    with pytest.raises(ValueError, match="positive"):
        resample(np.ones(4), 0, SAMPLE_RATE)


def test_a_float_file_louder_than_full_scale_is_scaled_down_not_clipped():
    x = (tone(440, 0.1) * 6).astype(np.float32)  # peak 3
    out = decode_audio("loud.wav", sound(x, subtype="FLOAT"), None)
    assert np.abs(out).max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(out, x / np.abs(x).max(), atol=1e-6)  # same shape, scaled


def test_a_long_clip_keeps_its_loudest_second_and_a_short_one_is_centred():
    ramp = np.linspace(0, 1, 3 * SAMPLE_RATE, dtype=np.float32)  # loudest at the end
    np.testing.assert_array_equal(fit_length(ramp, SAMPLE_RATE), ramp[-SAMPLE_RATE:])
    burst = np.zeros(3 * SAMPLE_RATE, np.float32)
    burst[32_000:35_200] = 0.5  # 2.0 to 2.2 s
    # Every 1-s window holding the whole burst is as loud; the one nearest the middle wins.
    np.testing.assert_array_equal(fit_length(burst, SAMPLE_RATE), burst[19_200:35_200])
    assert fit_length(np.zeros(10, np.float32), 4).shape == (4,)  # silent: the middle
    np.testing.assert_array_equal(
        fit_length(np.array([1, 2, 3], np.float32), 6), [0, 1, 2, 3, 0, 0]
    )
    short = decode_audio("short.wav", sound(np.full(4000, 0.5, np.float32), subtype="FLOAT"))
    assert short.shape == (SAMPLE_RATE,)
    np.testing.assert_array_equal(short[6000:10_000], 0.5)  # centred
    assert not short[:6000].any() and not short[10_000:].any()
    two = decode_audio("two.wav", sound(tone(440, 2.0)), seconds=0.5)
    assert two.shape == (SAMPLE_RATE // 2,)


# --- what is refused, and how it is said ------------------------------------------------------


def png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


def hostile() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, what its message must say), for decode_audio with default limits."""
    good = sound(tone(440, 1.0))
    flac = sound(tone(440, 1.0), fmt="FLAC")
    nan = np.zeros(100, np.float32)
    nan[50] = np.nan
    inf = np.zeros(100, np.float32)
    inf[3] = np.inf
    return {
        "photo.wav": (png(), "is not a sound file dlviz can read (it looks like a PNG image)"),
        "notes.wav": (b"hello, this is not sound\n" * 4, "(it looks like text)"),
        "noise.ogg": (bytes(range(256)) * 4, "is not a sound file dlviz can read: upload WAV"),
        "cut.wav": (good[: len(good) // 2], "is truncated: its header promises 32,000 bytes of"),
        "header only.wav": (good[:44], "is truncated: its header promises 32,000 bytes"),
        "broken header.wav": (good[:30], "is damaged or truncated (Error in WAV file"),
        "cut.flac": (flac[: len(flac) // 2], "is damaged or truncated: it could not be decoded"),
        "empty.wav": (b"", "is empty (0 bytes): record or export it again"),
        "no frames.wav": (sound(np.zeros(0, np.float32)), "holds no sound (0 samples)"),
        "long.wav": (
            sound(np.zeros(31 * 8000, np.float32), 8000, "PCM_U8"),
            "is 31.0 s long; the limit is 30 s a clip: cut it into shorter clips",
        ),
        "huge.wav": (
            sound(np.zeros(6 * 2**20, np.float32), 48_000),
            "is 12.0 MB; the limit is 10 MB a sound file",
        ),
        "voice.mp3": (good, "is a .mp3 file; dlviz reads WAV, FLAC and OGG sound files: convert"),
        "memo": (good, "has no .wav, .flac or .ogg extension: rename it"),
        "nan.wav": (sound(nan, subtype="FLOAT"), "holds NaN or infinite samples"),
        "inf.wav": (sound(inf, subtype="FLOAT"), "holds NaN or infinite samples"),
        "slow.wav": (sound(np.zeros(100), 1000), "has a sample rate of 1,000 Hz; dlviz reads"),
    }


def test_each_hostile_file_raises_a_message_naming_it_and_what_to_do():
    for name, (data, says) in hostile().items():
        with pytest.raises(UploadError) as e:
            decode_audio(name, data)
        assert str(e.value).startswith(f"{name}: "), str(e.value)
        assert says in str(e.value), str(e.value)


def test_one_bad_file_does_not_stop_the_rest_and_each_is_named():
    bad = hostile()
    files = [(f"ok {i}.wav", sound(tone(300 + 100 * i, 0.5))) for i in range(3)]
    mixed = [files[0], *((n, d) for n, (d, _) in bad.items()), *files[1:]]
    s = SoundSet()
    assert s.add_files("voices", mixed) == 3
    assert s.clips("voices") == ["ok 0.wav", "ok 1.wav", "ok 2.wav"]
    assert {p.name for p in s.problems} == set(bad)
    for p in s.problems:
        assert bad[p.name][1] in p.message and str(p).startswith(f"{p.name}: ")


def test_a_zip_of_class_folders_loads_and_its_dangers_are_refused_by_name():
    ok = sound(tone(440, 0.2))
    entries = {
        "yes/a.wav": ok,
        "yes/deep/b ü.flac": sound(tone(500, 0.2), fmt="FLAC"),
        "no/c.ogg": sound(tone(600, 0.2), 22_050, "VORBIS", "OGG"),
        "../escape.wav": ok,
        "/etc/abs.wav": ok,
        "no/link.wav": b"/etc/passwd",
        "no/inner.zip": zip_of({"x/y.wav": ok}),
        "loose.wav": ok,
        "__MACOSX/yes/._a.wav": b"junk",
        "no/readme.txt": b"not sound",
        "no/big.wav": sound(np.zeros(300_000, np.float32), subtype="FLOAT"),  # 1.2 MB
    }
    data = zip_of(entries, symlinks=("no/link.wav",))
    s = SoundSet()
    assert s.add_zip(data, AudioLimits(max_file_bytes=2**20)) == 3
    assert {c: s.clips(c) for c in s.classes} == {"yes": ["a.wav", "deep/b ü.flac"],
                                                   "no": ["c.ogg"]}  # fmt: skip
    why = {p.name: p.message for p in s.problems}
    assert "outside the ZIP's folder" in why["../escape.wav"]
    assert "absolute path" in why["/etc/abs.wav"]
    assert "symbolic link" in why["no/link.wav"]
    assert "ZIP inside the ZIP" in why["no/inner.zip"]
    assert "put each class's sound files in a folder named after it" in why["loose.wav"]
    assert "is a .txt file" in why["readme.txt"]
    assert "unpacks to 1.1 MB; the limit is 1 MB per sound file" in why["no/big.wav"]
    assert len(why) == 7


def zip_of(entries: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, body)
    return buf.getvalue()


def test_zip_bombs_too_many_entries_and_non_zips_are_stopped():
    bomb = zip_of({"a/big.wav": b"\0" * 3 * 2**20})  # a few kB, unpacking to 3 MB
    assert len(bomb) < 10_000
    with pytest.raises(UploadError, match=r"unpacks to 3 MB; the limit is 1 MB \(a ZIP bomb"):
        SoundSet().add_zip(bomb, AudioLimits(max_total_bytes=2**20))
    many = zip_of({f"a/{i}.wav": b"" for i in range(12)})
    with pytest.raises(UploadError, match="holds 12 files; the limit is 10"):
        SoundSet().add_zip(many, AudioLimits(max_files=10))
    with pytest.raises(UploadError, match="not a ZIP"):
        SoundSet().add_zip(sound(tone()))
    assert AudioLimits(max_files=7).zip_limits() == UploadLimits(
        max_file_bytes=10 * 2**20, max_files=7, max_total_bytes=256 * 2**20
    )
    files, _ = read_zip(zip_of({"a/x.png": b"1"}))  # images keep their own words
    assert list(files) == ["a"]


# --- the set ----------------------------------------------------------------------------------


def test_the_set_blocks_warns_and_becomes_arrays():
    s = SoundSet()
    s.add_files("dog", [(f"d{i}.wav", sound(tone(200 + 10 * i, 1.5))) for i in range(9)])
    assert s.blocking() == "Training needs at least two classes."
    s.add_class("cat")
    assert s.blocking() == "Class cat has no clips yet; add some or remove the class."
    quiet = sound(tone(440, 0.5, amp=0.005))
    silent = sound(np.zeros(8000, np.float32))
    s.add_files("cat", [("q.wav", quiet), ("s.wav", silent), ("again.wav", quiet)])
    assert s.blocking() == ""
    text = " ".join(s.warnings(seconds=1.0))
    assert "Few clips in cat (under 5)" in text
    assert "Strong imbalance: dog has 9 clips, cat only 3" in text
    assert "1 silent clip (cat/s.wav)" in text
    assert "2 very quiet clips (cat/q.wav, cat/again.wav)" in text
    assert "1 exact duplicate clip (cat/q.wav = cat/again.wav)" in text
    assert "9 clips are longer than 1 s: the loudest 1 s of each is kept." in text
    assert "3 clips are shorter than 1 s: each is centred in silence." in text
    waves, labels, names = s.to_arrays(1.0)
    assert waves.shape == (12, SAMPLE_RATE) and waves.dtype == np.float32
    assert labels.dtype == np.int64 and labels.tolist() == [0] * 9 + [1] * 3
    assert names == ("dog", "cat") and s.count() == 12 and s.seconds() == pytest.approx(15.0)
    s.remove_class("cat")
    s.remove_class("cat")
    assert list(s.classes) == ["dog"]
    with pytest.raises(UploadError, match="needs a name"):
        s.add_class("  ")


def test_a_browser_recording_is_added_as_a_clip_and_a_bad_one_is_refused_by_name():
    s = SoundSet()
    stereo = np.stack([tone(1000, 1.0, 48_000), tone(1000, 1.0, 48_000)], 1)
    s.add_clip("hello", "recording 1", stereo, rate=48_000)
    clip = s.classes["hello"][0]
    assert clip.rate == 48_000 and len(clip.wave) == SAMPLE_RATE
    assert peak_and_amplitude(clip.wave)[0] == 1000
    s.add_clip("hello", "recording 2", tone(500, 0.5).astype(np.float32))
    assert s.clips("hello") == ["recording 1", "recording 2"]
    with pytest.raises(UploadError, match="^recording 3: holds NaN"):
        s.add_clip("hello", "recording 3", np.full(100, np.nan))
    with pytest.raises(UploadError, match="^recording 4: holds no sound"):
        s.add_clip("hello", "recording 4", np.zeros(0))
    with pytest.raises(UploadError, match="^recording 5: is 3.0 s long; the limit is 2 s"):
        s.add_clip(
            "hello", "recording 5", np.zeros(3 * SAMPLE_RATE), limits=AudioLimits(max_seconds=2)
        )
    assert s.count() == 2


def test_the_set_saves_as_a_zip_of_wavs_that_loads_back_the_same():
    s = SoundSet()
    s.add_files(
        "ja", [("a.wav", sound(tone(440, 0.3))), ("a.flac", sound(tone(550, 0.2), fmt="FLAC"))]
    )
    s.add_files("grün", [("b.ogg", sound(tone(660, 0.4, 44_100), 44_100, "VORBIS", "OGG"))])
    data = s.to_zip()
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == [
        "grün/b.wav", "ja/a-2.wav", "ja/a.wav"]  # fmt: skip
    again = SoundSet()
    assert again.add_zip(data) == 3 and not again.problems
    assert list(again.classes) == ["ja", "grün"]
    for cls in s.classes:
        for c, d in zip(s.classes[cls], again.classes[cls]):
            assert d.rate == SAMPLE_RATE
            np.testing.assert_allclose(d.wave, c.wave, atol=1 / 32767)  # 16-bit PCM


def test_the_set_stops_at_its_limits_and_limits_come_from_the_environment():
    s = SoundSet()
    files = [(f"{i}.wav", sound(tone(440, 1.0))) for i in range(4)]
    assert s.add_files("a", files, AudioLimits(max_files=3)) == 3
    assert "was not added: the limit is 3 sound files" in s.problems[0].message
    s = SoundSet()
    assert s.add_files("a", files, AudioLimits(max_total_seconds=2)) == 2
    assert (
        "would hold over 2 s of sound, the limit" in s.problems[0].message
    )  # 2 s: rounded in the words
    lim = AudioLimits.from_env(
        {"DLVIZ_MAX_SOUND_MB": "5", "DLVIZ_MAX_SOUND_SECONDS": "10", "DLVIZ_MAX_FILES": "300",
         "DLVIZ_MAX_SOUND_MINUTES": "20"}
    )  # fmt: skip
    assert (lim.max_file_bytes, lim.max_seconds, lim.max_files) == (5 * 2**20, 10, 300)
    assert lim.max_total_seconds == 1200 and lim.max_total_bytes == AudioLimits().max_total_bytes
    assert (
        lim.describe() == "up to 300 sound files, 5 MB and 10 s each, 256 MB and 20 minutes in all"
    )
    assert AudioLimits.from_env({}) == AudioLimits()
    with pytest.raises(ValueError, match="DLVIZ_MAX_SOUND_SECONDS must be a whole number"):
        AudioLimits.from_env({"DLVIZ_MAX_SOUND_SECONDS": "1.5"})


# --- from disk --------------------------------------------------------------------------------


def test_a_folder_and_a_zip_of_class_folders_load_for_training(tmp_path):
    root = tmp_path / "sounds"
    for cls, freq in (("low", 300), ("high", 3000)):
        (root / cls / "sub").mkdir(parents=True)
        for i in range(3):
            (root / cls / f"{i}.wav").write_bytes(sound(tone(freq + i, 0.5)))
        (root / cls / "sub" / "x.flac").write_bytes(sound(tone(freq, 2.0), fmt="FLAC"))
    (root / "low" / "broken.wav").write_bytes(b"not sound at all")
    (root / "low" / "notes.txt").write_text("ignored")
    (root / ".hidden").mkdir()
    (root / "stray.wav").write_bytes(sound(tone()))
    waves, labels, names, problems = load_folder(root, 1.0)
    assert names == ("high", "low") and waves.shape == (8, SAMPLE_RATE)
    assert labels.tolist() == [0] * 4 + [1] * 4
    assert problems == [
        "stray.wav: is not inside a class folder; it was not read",
        "low/broken.wav: is not a sound file dlviz can read (it looks like text): upload WAV, "
        "FLAC or OGG files",
    ]
    archive = tmp_path / "set.zip"
    archive.write_bytes(SoundSet().to_zip())
    with pytest.raises(ValueError, match="holds 0 class folders; training needs at least two"):
        load_zip_file(archive, 1.0)
    s = SoundSet()
    s.add_files("high", [("a.wav", sound(tone(3000)))])
    s.add_files("low", [("b.wav", sound(tone(300)))])
    archive.write_bytes(s.to_zip())
    waves, labels, names, problems = load_zip_file(archive, 0.5)
    assert waves.shape == (2, 8000) and names == ("high", "low") and problems == []


def test_a_set_that_cannot_train_says_why(tmp_path):
    with pytest.raises(ValueError, match="no folder at"):
        load_folder(tmp_path / "missing", 1.0)
    with pytest.raises(ValueError, match="no ZIP file at"):
        load_zip_file(tmp_path / "missing.zip", 1.0)
    (tmp_path / "fake.zip").write_bytes(b"hello")
    with pytest.raises(ValueError, match="fake.zip: this file is not a ZIP"):
        load_zip_file(tmp_path / "fake.zip", 1.0)
    (tmp_path / "one" / "a").mkdir(parents=True)
    (tmp_path / "one" / "a" / "x.wav").write_bytes(sound(tone()))
    with pytest.raises(ValueError, match="holds 1 class folder; training needs at least two"):
        load_folder(tmp_path / "one", 1.0)
    (tmp_path / "one" / "b").mkdir()
    (tmp_path / "one" / "b" / "bad.wav").write_bytes(b"")
    with pytest.raises(ValueError, match=r"Class b has no clips yet.*1 file could not be read, "
                                         r"e.g. b/bad.wav: is empty"):  # fmt: skip
        load_folder(tmp_path / "one", 1.0)
