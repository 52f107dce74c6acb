"""`dlviz bench audio`: the Sound lab's front end (`dlviz.audio_features`) making mel features
for a set of one-second clips in whole-batch tensor operations on the device, against the same
front end one clip at a time.

The clips are on the device before timing starts (moving them there is not the front end's
cost); each figure is clips per second of the median of the timed passes over all the clips
(`dlviz.timing.time_call`: a warm-up pass first, the device synchronised around every pass,
CUDA events on a GPU).

On the CPU with glibc's malloc, a batch's large temporaries (a 1 s clip's frames and spectrum
are about 160 KB each) are handed back to the system after every call and fault in again on
the next (about 100 page faults a clip, against none one clip at a time), which can cancel
what batching saves; MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ set high show the
difference.

Torch and numpy only: it runs on a GPU machine without streamlit or plotly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dlviz.text import plural
from dlviz.timing import machine, time_call


def features_bench(
    device: str = "cpu",
    clips: int = 1000,
    repeats: int = 3,
    batches: tuple[int, ...] = (32, 256),
    seconds: float = 1.0,
    max_seconds: float = 20.0,
) -> dict[str, Any]:
    """Clips per second of mel features (the default `AudioInfo`: 40 bands, 25 ms window,
    10 ms hop at 16 kHz) for `clips` clips of `seconds`, one clip at a time and in batches of
    each size in `batches`; each the median of up to `repeats` passes over all the clips (at
    least 3, fewer once they pass `max_seconds`). ``speedup``: a batch size's clips per second
    over one clip at a time's."""
    from dlviz.audio_features import AudioFeatures, feature_shape
    from dlviz.data.base import SAMPLE_RATE, AudioInfo
    from dlviz.devices import describe, resolve_device

    dev = resolve_device(device)
    info = AudioInfo(features="mel")
    samples = int(seconds * SAMPLE_RATE)
    gen = torch.Generator().manual_seed(0)
    waves = (torch.randn(clips, 1, samples, generator=gen) * 0.1).to(dev)
    front = AudioFeatures(info).to(dev).eval()

    def in_batches(size: int) -> Callable[[], None]:
        @torch.no_grad()
        def run() -> None:
            for i in range(0, clips, size):
                front(waves[i : i + size])

        return run

    rows: list[dict[str, Any]] = []
    for size in (1, *batches):
        t = time_call(in_batches(size), dev, repeats=repeats, warmup=1, max_seconds=max_seconds)
        rows.append(
            {"batch": size, "clips_per_second": clips / t.median, "seconds": t.spread(), "n": t.n}
        )
    for row in rows:
        row["speedup"] = row["clips_per_second"] / rows[0]["clips_per_second"]
    return {
        "benchmark": "audio",
        "machine": machine(brief=True),
        "device": describe(dev),
        "clips": clips,
        "seconds_per_clip": seconds,
        "features": "mel",
        "shape": list(feature_shape(info, samples)),
        "threads": torch.get_num_threads(),
        "rows": rows,  # batch 1 first: one clip at a time
    }


def format_features(r: dict[str, Any]) -> str:
    shape = "x".join(str(n) for n in r["shape"][1:])
    lines = [
        f"dlviz bench audio ({r['machine']['cpu_model']}, {r['device']}, "
        f"{plural(r['threads'], 'thread')}): {r['features']} features ({shape}) of "
        f"{plural(r['clips'], 'clip')} of {r['seconds_per_clip']:g} s, clips per second "
        "(median of the passes over all of them)"
    ]
    for row in r["rows"]:
        what = "one clip at a time" if row["batch"] == 1 else f"in batches of {row['batch']}"
        ratio = "" if row["batch"] == 1 else f" ({row['speedup']:.1f}x one at a time)"
        lines.append(f"  {what}: {row['clips_per_second']:,.0f}{ratio}")
    return "\n".join(lines)
