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
