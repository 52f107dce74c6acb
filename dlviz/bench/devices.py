"""How fast each device is, measured honestly: matrix multiply, convolution, host-device copies
and one training step of a network, on the CPU and on every GPU torch can use.

Method (also on the Devices page and in docs/benchmarks.md): every operation runs a few times
untimed first (warm-up: kernels chosen, caches filled); then it is timed repeatedly, GPU work
between ``torch.cuda.synchronize()`` calls (CUDA events where the GPU times itself), and we
report the median with the interquartile range. Inputs are random normal numbers, never zeros;
every tensor is allocated before the timed region; the CPU's torch thread count is stated.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
import torch.nn.functional as F

from dlviz.devices import cpu_model, resolve_device, synchronize
from dlviz.text import plural
from dlviz.timing import machine, summarize, threads_phrase, time_call

METHOD = (
    "Each operation runs untimed a few times first (warm-up), then is timed repeatedly with the "
    "device synchronised before and after (CUDA events on a GPU); shown is the median, with the "
    "spread between the 25th and 75th percentile. Inputs are random, allocated before timing."
)

# Dense (no sparsity) peak TFLOP/s from the makers' data sheets, by the name torch reports.
# More specific names first: "H100 PCIe" must not match the SXM entry.
PEAK_TFLOPS: list[tuple[str, dict[str, float]]] = [
    ("H100 PCIe", {"float32": 51.2, "tf32": 378.0, "bfloat16": 756.0, "float16": 756.0}),
    ("H100 NVL", {"float32": 60.0, "tf32": 417.5, "bfloat16": 835.0, "float16": 835.0}),
    ("H100", {"float32": 66.9, "tf32": 494.7, "bfloat16": 989.4, "float16": 989.4}),
    ("H200", {"float32": 66.9, "tf32": 494.7, "bfloat16": 989.4, "float16": 989.4}),
    ("A100", {"float32": 19.5, "tf32": 156.0, "bfloat16": 312.0, "float16": 312.0}),
    ("L40S", {"float32": 91.6, "tf32": 183.0, "bfloat16": 362.0, "float16": 362.0}),
    ("L4", {"float32": 30.3, "tf32": 60.0, "bfloat16": 121.0, "float16": 121.0}),
    ("A10", {"float32": 31.2, "tf32": 62.5, "bfloat16": 125.0, "float16": 125.0}),
    ("RTX 4090", {"float32": 82.6, "tf32": 82.6, "bfloat16": 165.2, "float16": 165.2}),
    ("V100", {"float32": 15.7, "float16": 125.0}),
    ("T4", {"float32": 8.1, "float16": 65.0}),
]


def peak_tflops(device_name: str, dtype: str) -> float | None:
    """The data-sheet dense peak of a GPU called `device_name` for `dtype`, None if unknown."""
    for key, peaks in PEAK_TFLOPS:
        if key.lower() in device_name.lower():
            return peaks.get(dtype)
    return None


# --- the benchmarks ------------------------------------------------------------------------------


def dtypes_for(device: torch.device) -> list[str]:
    """The matmul dtypes worth timing on `device`: TF32 and float16 only where they are fast."""
    if device.type == "cuda":
        major, _ = torch.cuda.get_device_capability(device)
        return ["float32", "tf32", "bfloat16", "float16"] if major >= 8 else ["float32", "float16"]
    if device.type == "mps":
        return ["float32", "float16"]
    return ["float32", "bfloat16"]


@contextmanager
def _tf32(on: bool):
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = on
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def _torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "tf32": torch.float32}.get(name) or getattr(torch, name)


def matmul(
    device: torch.device,
    sizes: Iterable[int] = (128, 256, 512, 1024, 2048, 4096, 8192),
    dtypes: Iterable[str] | None = None,
    repeats: int = 10,
    max_call_s: float = 2.0,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """TFLOP/s of an n x n by n x n matrix product (2 n^3 operations) for each size and dtype.
    A size whose single call would take longer than `max_call_s` (judged from the size before
    it) is skipped, and said so."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    rows = []
    for dtype in dtypes or dtypes_for(device):
        last_rate = None
        for n in sizes:
            flops = 2.0 * n**3
            row: dict[str, Any] = {"bench": "matmul", "device": str(device), "dtype": dtype}
            row.update(size=n, flops=flops)
            if last_rate and flops / last_rate > max_call_s:
                row.update(skipped=f"one call would take about {flops / last_rate:.0f} s")
                rows.append(row)
                if progress:
                    progress(row)
                continue
            gen = torch.Generator(device="cpu").manual_seed(n)
            a = torch.randn(n, n, generator=gen).to(device, _torch_dtype(dtype))
            b = torch.randn(n, n, generator=gen).to(device, _torch_dtype(dtype))
            c = torch.empty_like(a)  # the product's memory, allocated outside the timed calls
            with _tf32(dtype == "tf32") if device.type == "cuda" else nullcontext():
                t = time_call(lambda a=a, b=b, c=c: torch.mm(a, b, out=c), device, repeats=repeats)
            rate = flops / t.median
            last_rate = rate
            peak = peak_tflops(name, dtype) if device.type == "cuda" else None
            row.update(
                median_s=t.median,
                iqr_s=t.iqr,
                repeats=t.n,
                tflops=rate / 1e12,
                peak_tflops=peak,
                percent_of_peak=100 * rate / 1e12 / peak if peak else None,
            )
            rows.append(row)
            if progress:
                progress(row)
            del a, b, c
    return rows


# Typical layer shapes: (name, batch, in channels, side, out channels, kernel)
CONV_SHAPES = (
    ("first layer, 3->64 on 112 px", 32, 3, 112, 64, 7),
    ("early, 64->64 on 56 px", 32, 64, 56, 64, 3),
    ("middle, 128->128 on 28 px", 32, 128, 28, 128, 3),
    ("late, 256->256 on 14 px", 32, 256, 14, 256, 3),
)


def conv2d(
    device: torch.device,
    shapes: Iterable[tuple] = CONV_SHAPES,
    dtype: str = "float32",
    repeats: int = 10,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """TFLOP/s of one forward convolution ('same' padding) per typical layer shape."""
    rows = []
    for name, batch, cin, side, cout, k in shapes:
        gen = torch.Generator(device="cpu").manual_seed(cin * side)
        x = torch.randn(batch, cin, side, side, generator=gen).to(device, _torch_dtype(dtype))
        w = torch.randn(cout, cin, k, k, generator=gen).to(device, _torch_dtype(dtype))
        t = time_call(lambda x=x, w=w, k=k: F.conv2d(x, w, padding=k // 2), device, repeats)
        flops = 2.0 * batch * cout * side * side * cin * k * k
        row = {"bench": "conv2d", "device": str(device), "dtype": dtype, "shape": name}
        row.update(batch=batch, flops=flops, median_s=t.median, iqr_s=t.iqr, repeats=t.n)
        row.update(tflops=flops / t.median / 1e12)
        rows.append(row)
        if progress:
            progress(row)
    return rows


def copies(
    device: torch.device,
    megabytes: Iterable[int] = (1, 16, 256),
    repeats: int = 10,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """GB/s of host-to-device and device-to-host copies, from pinned and from pageable host
    memory (a GPU only; the CPU has nothing to copy to)."""
    if device.type != "cuda":
        return []
    rows = []
    for mb in megabytes:
        n = mb * 2**20 // 4
        for pinned in (True, False):
            host = torch.randn(n)
            if pinned:
                host = host.pin_memory()
            dev = torch.empty(n, device=device)
            for direction, fn in (
                ("host to device", lambda h=host, d=dev: d.copy_(h, non_blocking=True)),
                ("device to host", lambda h=host, d=dev: h.copy_(d, non_blocking=True)),
            ):
                t = time_call(fn, device, repeats)
                row = {"bench": "copy", "device": str(device), "direction": direction}
                row.update(pinned=pinned, megabytes=mb, median_s=t.median, iqr_s=t.iqr)
                row["what"] = f"{direction}, {'pinned' if pinned else 'pageable'}, {mb} MB"
                row.update(repeats=t.n, gb_per_s=mb * 2**20 / t.median / 1e9)
                rows.append(row)
                if progress:
                    progress(row)
    return rows


def train_step(
    model_factory: Callable[[], torch.nn.Module],
    input_shape: tuple[int, ...],
    n_classes: int,
    device: torch.device,
    batch_sizes: Iterable[int] = (16, 64, 256, 1024),
    repeats: int = 10,
    progress: Callable[[dict[str, Any]], None] | None = None,
    max_seconds: float = 5.0,
) -> list[dict[str, Any]]:
    """One training step of a fresh model per batch size: forward, backward and the optimizer
    step timed separately (the device synchronised between them), and samples a second."""
    rows = []
    for batch in batch_sizes:
        torch.manual_seed(0)
        model = model_factory().to(device).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.randn(batch, *input_shape).to(device)
        y = torch.randint(0, n_classes, (batch,)).to(device)
        parts: dict[str, list[float]] = {"forward": [], "backward": [], "step": []}
        spent = 0.0
        for i in range(3 + repeats):  # 3 untimed; at least 3 timed, more while time allows
            if i >= 6 and spent > max_seconds:
                break
            synchronize(device)
            t0 = time.perf_counter()
            loss = F.cross_entropy(model(x), y)
            synchronize(device)
            t1 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            synchronize(device)
            t2 = time.perf_counter()
            opt.step()
            synchronize(device)
            t3 = time.perf_counter()
            if i >= 3:
                spent += t3 - t0
                parts["forward"].append(t1 - t0)
                parts["backward"].append(t2 - t1)
                parts["step"].append(t3 - t2)
        medians = {k: summarize(v).median for k, v in parts.items()}
        total = summarize([a + b + c for a, b, c in zip(*parts.values())])
        row = {"bench": "train_step", "device": str(device), "batch": batch}
        row.update({f"{k}_s": v for k, v in medians.items()})
        row.update(median_s=total.median, iqr_s=total.iqr, repeats=total.n)
        row.update(samples_per_s=batch / total.median)
        rows.append(row)
        if progress:
            progress(row)
    return rows


# --- all of it ---------------------------------------------------------------------------------


def devices_to_measure(which: str) -> list[torch.device]:
    """``all``: the CPU and every GPU; otherwise the one device named (DeviceError if absent)."""
    if which != "all":
        return [resolve_device(which)]
    out = [torch.device("cpu")]
    if torch.cuda.is_available():
        out += [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        out.append(torch.device("mps"))
    return out


def run_all(
    which: str = "all",
    quick: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    network: tuple[Any, tuple[int, ...], int] | None = None,
) -> dict[str, Any]:
    """Every benchmark on every device asked for; `quick` uses small sizes (tests, a first look).
    `network` is (ModelConfig, input shape, classes) for the training-step benchmark; default
    the Image lab's Deep CNN on 32x32 RGB images of 6 classes."""
    from dlviz.config import DEEP_BLOCKS, ModelConfig
    from dlviz.models import build_model

    devices = devices_to_measure(which)
    rows: list[dict[str, Any]] = []
    model_cfg, shape, classes = network or (
        ModelConfig(arch="cnn", blocks=DEEP_BLOCKS, norm="batch"),
        (3, 32, 32),
        6,
    )
    for dev in devices:
        gpu = dev.type != "cpu"
        sizes = (64, 128) if quick else ((128, 256, 512, 1024, 2048, 4096, 8192) if gpu
                                          else (128, 256, 512, 1024, 2048))  # fmt: skip
        repeats = 3 if quick else 10
        rows += matmul(dev, sizes, repeats=repeats, progress=progress)
        shapes = [(n, 2, cin, min(s, 28), cout, k) for n, _, cin, s, cout, k in CONV_SHAPES[:2]]
        rows += conv2d(dev, shapes if quick else CONV_SHAPES, repeats=repeats, progress=progress)
        rows += copies(dev, (1,) if quick else (1, 16, 256), repeats=repeats, progress=progress)
        rows += train_step(
            lambda: build_model(model_cfg, shape, classes),
            shape,
            classes,
            dev,
            (4, 8) if quick else (16, 64, 256, 1024),
            repeats=repeats,
            progress=progress,
        )
    with_measured_peaks(rows)
    network_text = (
        f"{model_cfg.arch} with {model_cfg.depth} "
        f"{'conv blocks' if model_cfg.arch == 'cnn' else 'hidden layers'} on inputs of "
        f"{'x'.join(map(str, shape))}, {classes} classes"
    )
    return {
        "benchmark": "devices",
        "machine": machine(),
        "method": METHOD,
        "network": network_text,
        "rows": rows,
    }


def best_matmul(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(device, dtype) -> the matmul row of the highest measured rate."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r.get("bench") == "matmul" and r.get("tflops"):
            key = (r["device"], r["dtype"])
            if key not in best or r["tflops"] > best[key]["tflops"]:
                best[key] = r
    return best


def with_measured_peaks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each matmul row of a device without a data-sheet peak (a CPU) the best rate
    measured on that device in that dtype as its peak, so every row has a percentage."""
    unknown = [r for r in rows if not r.get("peak_tflops")]
    best = {key: r["tflops"] for key, r in best_matmul(unknown).items()}
    for r in rows:
        if r["bench"] != "matmul" or not r.get("tflops"):
            continue
        if r.get("peak_tflops"):
            r["peak_source"] = "data sheet"
        elif (r["device"], r["dtype"]) in best:
            r["peak_tflops"] = best[(r["device"], r["dtype"])]
            r["percent_of_peak"] = 100 * r["tflops"] / r["peak_tflops"]
            r["peak_source"] = "best measured"
    return rows


def relabel(report: dict[str, Any], label: str) -> list[dict[str, Any]]:
    """A report's rows with each device named `label` + device, to draw several machines'
    reports on one chart."""
    return [{**r, "device": f"{label} {r['device']}"} for r in report.get("rows", [])]


def speedups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The GPU's speed-up over the CPU for each training-step batch size both measured."""
    cpu = {r["batch"]: r for r in rows if r["bench"] == "train_step" and r["device"] == "cpu"}
    out = []
    for r in rows:
        if r["bench"] == "train_step" and r["device"] != "cpu" and r["batch"] in cpu:
            out.append(
                {"device": r["device"], "batch": r["batch"],
                 "speedup": cpu[r["batch"]]["median_s"] / r["median_s"]}
            )  # fmt: skip
    return out


CSV_FIELDS = (
    "bench", "device", "dtype", "size", "shape", "batch", "direction", "pinned", "megabytes",
    "median_s", "iqr_s", "repeats", "tflops", "peak_tflops", "percent_of_peak", "peak_source",
    "gb_per_s",
    "forward_s", "backward_s", "step_s", "samples_per_s", "skipped",
)  # fmt: skip


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One line a measurement, every field in CSV_FIELDS (empty where it does not apply)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in CSV_FIELDS})
    return buf.getvalue()


def format_report(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"CPU: {m['cpu']}, {plural(m['cores'] or 0, 'core')}, {threads_phrase(m)}"
        + (f", {m['memory_gb']} GB" if m["memory_gb"] else ""),
    ]
    for g in m["gpus"]:
        lines.append(
            f"GPU {g['device']}: {g['name']}, {g['memory_gb']} GB, compute {g['capability']}, "
            f"driver {g['cuda_driver'] or '?'}, torch CUDA {m['torch_cuda']}"
        )
    if not m["gpus"]:
        lines.append("No CUDA GPU: CPU figures only.")
    for r in report["rows"]:
        if r.get("skipped"):
            lines.append(f"  {r['bench']} {r['device']} {r['dtype']} {r['size']}: {r['skipped']}")
        elif r["bench"] == "matmul":
            pct = f" ({r['percent_of_peak']:.0f}% of peak)" if r.get("percent_of_peak") else ""
            lines.append(
                f"  matmul {r['device']} {r['dtype']:8} {r['size']:5}: {r['tflops']:8.3f} "
                f"TFLOP/s{pct}"
            )
        elif r["bench"] == "conv2d":
            lines.append(f"  conv2d {r['device']} {r['shape']}: {r['tflops']:.3f} TFLOP/s")
        elif r["bench"] == "copy":
            kind = "pinned" if r["pinned"] else "pageable"
            lines.append(
                f"  copy {r['device']} {r['direction']} {kind} {r['megabytes']} MB: "
                f"{r['gb_per_s']:.1f} GB/s"
            )
        elif r["bench"] == "train_step":
            lines.append(
                f"  train step {r['device']} batch {r['batch']}: {r['median_s'] * 1000:.1f} ms "
                f"(forward {r['forward_s'] * 1000:.1f}, backward {r['backward_s'] * 1000:.1f}, "
                f"step {r['step_s'] * 1000:.1f}), {r['samples_per_s']:,.0f} samples/s"
            )
    for s in speedups(report["rows"]):
        lines.append(f"  {s['device']} vs cpu, batch {s['batch']}: {s['speedup']:.1f}x")
    return "\n".join(lines)
