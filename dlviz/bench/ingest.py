"""`dlviz bench ingest`: reading an upload of photos into an image data set."""

from __future__ import annotations

import time
from typing import Any

from dlviz.timing import machine


def photo_bytes(megabytes: float = 1.0, seed: int = 0) -> bytes:
    """A JPEG of about `megabytes` (smooth colour plus fine noise, like a photo's texture)."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    side = int(1260 * megabytes**0.5)
    yy, xx = np.mgrid[0:side, 0:side] / side
    base = np.stack([xx, yy, 1 - xx], axis=-1) * 200
    pixels = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def ingest(n_files: int = 500, megabytes: float = 1.0, size: int = 64) -> dict[str, Any]:
    """Ingesting an upload of `n_files` JPEG photos of about `megabytes` each into two classes:
    decoding and checking every file (`ImageSet.add_files`), then resizing all of them to the
    training input (`to_arrays`). Ten distinct photos are reused under different names."""
    from dlviz.data.uploads import ImageSet

    photos = [photo_bytes(megabytes, seed) for seed in range(10)]
    files = [(f"photo {i}.jpg", photos[i % 10]) for i in range(n_files)]
    images = ImageSet()
    start = time.perf_counter()
    images.add_files("a", files[: n_files // 2])
    images.add_files("b", files[n_files // 2 :])
    decoded = time.perf_counter() - start
    x, _, _ = images.to_arrays(size, channels=3)
    total = time.perf_counter() - start
    mb = sum(len(d) for _, d in files) / 2**20
    return {
        "benchmark": "ingest",
        "machine": machine(brief=True),
        "files": n_files,
        "megabytes": round(mb, 1),
        "photo_size": list(images.classes["a"][0].size),  # (width, height)
        "kept_size": list(images.classes["a"][0].pixels.shape[1::-1]),
        "decode_s": decoded,
        "resize_s": total - decoded,
        "total_s": total,
        "ms_per_file": total / max(n_files, 1) * 1000,
        "input": list(x.shape),
    }


def format_ingest(r: dict[str, Any]) -> str:
    (w, h), (kw, kh) = r["photo_size"], r["kept_size"]
    return (
        f"dlviz bench ingest ({r['machine']['cpu_model']}): {r['files']} JPEG photos, "
        f"{r['megabytes']:.0f} MB, {w}x{h} each, kept at {kw}x{kh} -> {r['total_s']:.1f} s "
        f"({r['ms_per_file']:.0f} ms a file: decode and check {r['decode_s']:.1f} s, resize to "
        f"{r['input'][-1]} px {r['resize_s']:.1f} s)"
    )


# --- sounds -----------------------------------------------------------------------------------

SOUND_RATES = (44_100, 48_000, 22_050, 16_000)  # the others a rate is mixed with
SOUND_DEPTHS = ("PCM_16", "PCM_24", "FLOAT")


def sound_files(
    n: int = 500, seconds: float = 1.0, rate: int = 44_100, seed: int = 0
) -> list[tuple[str, bytes]]:
    """`n` WAV files of `seconds` each (a tone in noise, each its own): half at `rate`, the
    rest at the other rates of SOUND_RATES, in turn, at the depths of SOUND_DEPTHS in turn."""
    import io

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(seed)
    others = [r for r in SOUND_RATES if r != rate] or [rate]
    files = []
    for i in range(n):
        r = rate if i % 2 == 0 else others[(i // 2) % len(others)]
        t = np.arange(round(seconds * r)) / r
        wave = 0.4 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t) + rng.normal(0, 0.05, t.size)
        buf = io.BytesIO()
        sf.write(buf, wave, r, format="WAV", subtype=SOUND_DEPTHS[i % len(SOUND_DEPTHS)])
        files.append((f"clip {i}.wav", buf.getvalue()))
    return files


def ingest_sounds(
    n: int = 500, seconds: float = 1.0, rate: int = 44_100, repeats: int = 5
) -> dict[str, Any]:
    """Ingesting an upload of `n` WAV files (`sound_files`) into two classes: decoding,
    checking and resampling every file to 16 kHz (`SoundSet.add_files`), timed `repeats`
    times (median and spread), then cutting all clips to `seconds` (`to_arrays`)."""
    from dlviz.data.audio_files import SoundSet
    from dlviz.timing import summarize

    files = sound_files(n, seconds, rate)
    samples = []
    for _ in range(repeats):
        sounds = SoundSet()
        start = time.perf_counter()
        sounds.add_files("a", files[: n // 2])
        sounds.add_files("b", files[n // 2 :])
        samples.append(time.perf_counter() - start)
    start = time.perf_counter()
    waves, _, _ = sounds.to_arrays(seconds)
    cut = time.perf_counter() - start
    decode = summarize(samples)
    return {
        "benchmark": "ingest_sounds",
        "machine": machine(brief=True),
        "files": n,
        "megabytes": round(sum(len(d) for _, d in files) / 2**20, 1),
        "seconds_each": seconds,
        "rates": sorted({c.rate for clips in sounds.classes.values() for c in clips}),
        "depths": list(SOUND_DEPTHS),
        "problems": len(sounds.problems),
        "decode_s": decode.spread(),
        "repeats": decode.n,
        "ms_per_file": decode.median / max(n, 1) * 1000,
        "realtime": n * seconds / decode.median,  # seconds of sound read per second
        "to_arrays_s": cut,
        "input": list(waves.shape),
    }


def format_ingest_sounds(r: dict[str, Any]) -> str:
    d = r["decode_s"]
    return (
        f"dlviz bench ingest sounds ({r['machine']['cpu_model']}): {r['files']} WAV files of "
        f"{r['seconds_each']:g} s, {r['megabytes']:.0f} MB, at "
        f"{'/'.join(str(x) for x in r['rates'])} Hz, {'/'.join(r['depths'])} -> "
        f"{d['median']:.2f} s (min {d['min']:.2f}, IQR {d['iqr']:.2f}, {r['repeats']} runs; "
        f"{r['ms_per_file']:.2f} ms a file, {r['realtime']:,.0f}x real time) to decode, check "
        f"and resample to 16 kHz; cut to {r['input'][-1]} samples {r['to_arrays_s']:.2f} s"
    )
