"""Sound files made here (a low hum and a high whistle, easy to tell apart, and hostile ones)
and the Sound page's class and upload steps, for AppTest and the browser journey."""

from __future__ import annotations

import hashlib
import io
import wave

import numpy as np
from streamlit.testing.v1 import AppTest


def tone(freq: float, k: int, seconds: float = 1.0, rate: int = 16_000) -> np.ndarray:
    """A tone of `freq` Hz (+-3%, by `k`) with a little noise, peak about 0.6."""
    rng = np.random.default_rng(k)
    t = np.arange(int(seconds * rate)) / rate
    f = freq * (1 + rng.uniform(-0.03, 0.03))
    x = 0.6 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28))
    return (x + rng.normal(0, 0.02, len(t))).astype(np.float32)


def wav_bytes(x: np.ndarray, rate: int = 16_000, channels: int = 1) -> bytes:
    """16-bit PCM WAV of samples x in [-1, 1] (the same samples on each channel)."""
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    if channels > 1:
        pcm = np.repeat(pcm[:, None], channels, axis=1).reshape(-1)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


FREQS = {"hum": 220.0, "whistle": 2_000.0}


def files(kind: str, n: int, rate: int = 16_000) -> list[tuple[str, bytes, str]]:
    """`n` WAV files of class `kind` (hum or whistle), some at 44.1 kHz and in stereo."""
    out = []
    for k in range(n):
        r = 44_100 if k % 3 == 1 else rate
        out.append(
            (f"{kind} {k}.wav", wav_bytes(tone(FREQS[kind], k, rate=r), r, 1 + k % 2), "audio/wav")
        )
    return out


def add_class(at: AppTest, name: str) -> None:
    at.text_input(key="sd_new_class").input(name)
    at.button(key="sd_add_class").click().run()
    assert not at.exception, at.exception


def uploader(at: AppTest, prefix: str):
    found = [u for u in at.file_uploader if u.proto.id.split("-")[-1].startswith(prefix)]
    assert len(found) == 1, [u.proto.id for u in at.file_uploader]
    return found[0]


def class_uploader(at: AppTest, cls: str):
    return uploader(at, f"sd_files_{hashlib.sha1(cls.encode()).hexdigest()[:10]}_")
