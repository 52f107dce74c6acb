"""The Devices page's parts: what this machine has, the benchmarks run with a progress bar and
charts drawn as results arrive, earlier measurements kept in ``$DLVIZ_HOME/bench``, and
downloads; the generative families' seconds per step on each device. Widget keys start with
``dv_``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dlviz import captions, jsonread, runs
from dlviz.bench.devices import METHOD as METHOD  # the page states the method and offers the CSV
from dlviz.bench.devices import best_matmul, devices_to_measure, relabel, run_all, speedups
from dlviz.bench.devices import to_csv as to_csv
from dlviz.figures.curves import curves_figure
from dlviz.labs.devices.figures import (
    bars_figure,
    generative_steps_figure,
    matmul_figure,
    step_parts_figure,
    train_step_figure,
)
from dlviz.text import plural
from dlviz.timing import machine as machine  # what the page's table shows
from dlviz.timing import threads as threads
from dlviz.timing import threads_phrase
from dlviz.ui import layout, live
from dlviz.ui.charts import live_chart, summary

RESULT = "dv_result"


def store() -> Path:
    return runs.default_root().parent / "bench"


def machine_table(m: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "device": "cpu",
            "name": m["cpu"],
            "memory": f"{m['memory_gb']} GB" if m["memory_gb"] else "?",
            "details": f"{plural(m['cores'] or 0, 'core')}; {threads_phrase(m)}",
        }
    ]
    for g in m["gpus"]:
        rows.append(
            {
                "device": g["device"],
                "name": g["name"],
                "memory": f"{g['memory_gb']} GB",
                "details": f"compute capability {g['capability']}, {g['multiprocessors']} SMs, "
                f"driver {g['cuda_driver'] or '?'}, torch CUDA {m['torch_cuda']}",
            }
        )
    if m["mps"]:
        rows.append({"device": "mps", "name": "Apple GPU", "memory": "shared", "details": ""})
    return pd.DataFrame(rows)


def save(report: dict[str, Any]) -> Path | None:
    """Keep a report (atomically) so the page can show it later; None if the store is not
    writable (the page says so; the results are still shown and downloadable)."""
    folder = store()
    path = folder / f"devices-{time.strftime('%Y%m%d-%H%M%S')}.json"
    try:
        runs.atomic_write_json(path, report)
    except OSError:
        return None
    return path


def earlier() -> list[Path]:
    folder = store()
    return sorted(folder.glob("devices-*.json"), reverse=True) if folder.is_dir() else []


def load(path: Path) -> dict[str, Any] | None:
    try:
        report = jsonread.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and "rows" in report else None


def network(source: str):
    """(model config, input shape, classes) of the network a page's settings describe, for
    the training-step benchmark; the Image lab's default if its settings cannot build one."""
    from dlviz.labs.images import widgets as images
    from dlviz.labs.playground import widgets as controls
    from dlviz.ui.state import dataset

    if source == "images":
        images.init(link=False)
        cfg = images.run_config()
    else:
        controls.init(link=False)
        cfg = controls.run_config()
    ds = dataset(cfg.data)
    if cfg.model.arch == "cnn":  # raises ValueError when its blocks shrink the input to nothing
        images.layer_rows(cfg.model, ds.input_shape, ds.n_classes)
    return cfg.model, ds.input_shape, ds.n_classes


def report_label(report: dict[str, Any], path: Path) -> str:
    """A short name for a kept report: its GPU (or CPU) and the time it was taken."""
    m = report.get("machine", {})
    gpus = [g.get("name", "?") for g in m.get("gpus", [])]
    what = gpus[0] if gpus else str(m.get("cpu", "?"))
    stamp = path.stem.removeprefix("devices-")
    return f"{what} ({stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]})"


def compare_reports(paths: list[Path]) -> None:
    rows: list[dict[str, Any]] = []
    for path in paths:
        report = load(path)
        if report is None:
            st.error(f"{path.name} cannot be read: it is damaged or not a dlviz report.")
            continue
        rows += relabel(report, report_label(report, path))
    if not rows:
        return
    c1, c2 = layout.columns(2, key="dv_cmp_charts", min_width=420, gap="medium")
    c1.plotly_chart(matmul_figure(rows), key="dv_cmp_matmul", config=live.CHART_CONFIG)
    c2.plotly_chart(train_step_figure(rows), key="dv_cmp_train", config=live.CHART_CONFIG)


def measure(which: str, quick: bool, source: str = "images") -> dict[str, Any]:
    """Run the benchmarks with a progress line and the charts redrawn as each result arrives."""
    bar = st.progress(0.0, text="Starting...")
    charts = st.empty()
    rows: list[dict[str, Any]] = []
    expected = 60 if not quick else 12  # a rough count, for the bar only

    def progress(row: dict[str, Any]) -> None:
        rows.append(row)
        what = (
            row.get("dtype") or row.get("shape") or row.get("what") or f"batch {row.get('batch')}"
        )
        bar.progress(
            min(len(rows) / expected, 0.99),
            text=f"{row['bench']} on {row['device']}: {what}",
        )
        with charts.container():
            draw(rows, key_prefix=f"dv_live{len(rows)}")  # keys must differ within a run

    try:
        net = network(source)
    except ValueError as e:  # ConfigError too: the page's settings cannot build a network
        st.warning(f"That page's network cannot be built ({e}); the Deep CNN is used instead.")
        net = None
    report = run_all(which, quick=quick, progress=progress, network=net)
    bar.empty()
    charts.empty()
    return report


def draw(rows: list[dict[str, Any]], key_prefix: str = "dv") -> None:
    c1, c2 = layout.columns(2, key=f"{key_prefix}_charts1", min_width=420, gap="medium")
    with c1:
        st.markdown("**Matrix multiply**: TFLOP/s against size")
        st.plotly_chart(matmul_figure(rows), key=f"{key_prefix}_matmul", config=live.CHART_CONFIG)
        for line in peak_lines(rows):
            st.caption(line)
    with c2:
        st.markdown("**Your network**: training samples/s by batch size")
        st.plotly_chart(
            train_step_figure(rows), key=f"{key_prefix}_train", config=live.CHART_CONFIG
        )
    c1, c2 = layout.columns(2, key=f"{key_prefix}_charts2", min_width=420, gap="medium")
    with c1:
        st.markdown("**Convolution**: typical layer shapes")
        st.plotly_chart(
            bars_figure(rows, "conv2d", "shape", "tflops", "TFLOP/s"),
            key=f"{key_prefix}_conv",
            config=live.CHART_CONFIG,
        )
    with c2:
        st.markdown("**One training step**, split: forward, backward, optimizer step, per sample")
        st.plotly_chart(
            step_parts_figure(rows), key=f"{key_prefix}_parts", config=live.CHART_CONFIG
        )
    if any(r["bench"] == "copy" for r in rows):
        st.markdown("**Copies** between host and GPU memory")
        st.plotly_chart(
            bars_figure(rows, "copy", "what", "gb_per_s", "GB/s"),
            key=f"{key_prefix}_copy",
            config=live.CHART_CONFIG,
        )


def peak_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Each device and dtype's best matrix-multiply rate, and what share of the device's peak
    it is: the data sheet's for a known GPU, else the best measured is the reference."""
    out = []
    for (dev, dtype), r in best_matmul(rows).items():
        rate = f"**{dev} {dtype}**: best {r['tflops']:.3g} TFLOP/s, at n = {r['size']:,}"
        if r.get("peak_source", "data sheet") == "data sheet" and r.get("percent_of_peak"):
            out.append(
                f"{rate}: {r['percent_of_peak']:.0f}% of the data sheet's dense peak "
                f"({r['peak_tflops']:.4g} TFLOP/s)."
            )
        else:
            what = "a CPU" if dev.split()[-1] == "cpu" else "this GPU"
            out.append(
                f"{rate}. No data-sheet peak is known for {what}: the chart's hover gives each "
                "size as a share of this best."
            )
    return out


def speedup_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for s in speedups(rows):
        word = "faster" if s["speedup"] >= 1 else "slower"
        factor = s["speedup"] if s["speedup"] >= 1 else 1 / s["speedup"]
        out.append(
            f"Training step, batch {s['batch']}: {s['device']} is {factor:.1f}x {word} than the CPU."
        )
    return out


# --- the generative families ---------------------------------------------------------------------

GENERATIVE = "dv_gen_result"
# How the page measures them: fewer and shorter timed calls than `dlviz bench generative`'s
# defaults, so the whole takes seconds (the sizes: None for the bench's own).
GEN_SIZES: dict[str, tuple[tuple[int, ...], int]] | None = None
GEN_REPEATS = 5
GEN_STEPS = 5
GEN_MAX_SECONDS = 1.0
FAMILY_NAMES = {"gan": "GAN", "vae": "VAE", "diffusion": "Diffusion", "flow": "Flow matching"}


def measure_generative() -> dict[str, Any]:
    """`dlviz bench generative` on the CPU and each GPU here, with a progress bar and the chart
    redrawn as each family's step is timed."""
    from dlviz.bench.generative import FAMILIES, SIZES, generative, size_label

    devices = devices_to_measure("all")
    expected = len(devices) * len(GEN_SIZES or SIZES) * len(FAMILIES)
    bar = st.progress(0.0, text="Starting...")
    chart = st.empty()
    rows: list[dict[str, Any]] = []

    def progress(row: dict[str, Any]) -> None:
        rows.append(row)
        bar.progress(
            min(len(rows) / expected, 1.0),
            text=f"{FAMILY_NAMES.get(row['family'], row['family'])}, {size_label(row)}, on "
            f"{row['device']}: {row['seconds_per_step'] * 1e3:.3g} ms a step",
        )
        chart.plotly_chart(
            generative_steps_figure(rows),
            key=f"dv_gen_live{len(rows)}",  # keys must differ within a run
            config=live.CHART_CONFIG,
        )

    result = generative(
        "all",
        repeats=GEN_REPEATS,
        sizes=GEN_SIZES,
        steps=GEN_STEPS,
        max_seconds=GEN_MAX_SECONDS,
        progress=progress,
    )
    bar.empty()
    chart.empty()
    return result


def generative_table(result: dict[str, Any]) -> pd.DataFrame:
    """One line a family, size and device: ms a step, samples/s and, where a GPU was measured,
    its speed-up over the CPU (no such column when only the CPU was)."""
    from dlviz.bench.generative import size_label

    ups = {(s["device"], s["family"], s["size"]): s["speedup"] for s in result["speedups"]}
    rows = []
    for r in result["rows"]:
        row = {
            "family": FAMILY_NAMES.get(r["family"], r["family"]),
            "size": size_label(r),
            "device": r["device"],
            "ms a step": round(r["seconds_per_step"] * 1e3, 3),
            "samples/s": round(r["samples_per_second"]),
        }
        if ups:
            up = ups.get((r["device"], r["family"], r["size"]))
            row["speed-up over the CPU"] = f"{up:.1f}x" if up else ""
        rows.append(row)
    return pd.DataFrame(rows)


def generative_reading(result: dict[str, Any]) -> list[str]:
    """The speed-ups in words, by GPU and size: the range over the four families, and which
    gains most; nothing where only the CPU was measured."""
    from dlviz.bench.generative import size_label

    out = []
    example = {(r["family"], r["size"]): r for r in result["rows"]}
    for dev in dict.fromkeys(s["device"] for s in result["speedups"]):
        for size in dict.fromkeys(s["size"] for s in result["speedups"]):
            ups = [s for s in result["speedups"] if (s["device"], s["size"]) == (dev, size)]
            if not ups:
                continue
            lo, hi = min(u["speedup"] for u in ups), max(u["speedup"] for u in ups)
            best = max(ups, key=lambda u: u["speedup"])
            what = size_label(example[(best["family"], size)])
            if hi < 1:
                verdict = f"the CPU wins: {dev} is {1 / hi:.1f}x to {1 / lo:.1f}x slower"
            elif lo < 1:
                verdict = (
                    f"{dev} is from {1 / lo:.1f}x slower to {hi:.1f}x faster than the CPU "
                    f"(fastest for {FAMILY_NAMES.get(best['family'], best['family'])})"
                )
            else:
                verdict = (
                    f"{dev} is {lo:.1f}x to {hi:.1f}x faster than the CPU (most for "
                    f"{FAMILY_NAMES.get(best['family'], best['family'])})"
                )
            out.append(f"At {what}: {verdict}.")
    return out


NO_GPU = (
    "No GPU is present here: these are the CPU's figures alone, and there is no speed-up to "
    "give. On a machine with a CUDA GPU (and torch built for it), the same button measures "
    "both and gives the GPU's speed-up for each family."
)


def draw_generative(result: dict[str, Any]) -> None:
    """The generative families' measurement: the chart, the speed-ups in words, the table."""
    from dlviz.bench.generative import size_label

    sizes = {
        r["size"]: size_label(r) + (" (the lab's)" if r["size"] == "default" else "")
        for r in result["rows"]
    }
    m = result["machine"]
    st.plotly_chart(
        generative_steps_figure(result["rows"]), key="dv_gen_steps", config=live.CHART_CONFIG
    )
    st.caption(
        f"Milliseconds per training step (log scale) of each family with the Generative lab's "
        f"settings for the ring, at {' and at '.join(sizes.values())}: the median of up to "
        f"{plural(result['repeats'], 'timed call')} of {plural(result['steps_per_call'], 'step')}"
        f" each, after {plural(result['warmup_calls'], 'untimed call')}, the device synchronised "
        f"around each call. A step is the family's own update, a GAN's discriminator step "
        f"included. Measured on {m['cpu_model']}, torch using {threads(m)}"
        + "".join(f"; {g}" for g in result.get("gpus", []))
        + "."
    )
    if all(d == "cpu" for d in result["devices"]):
        st.info(NO_GPU, icon=":material/info:")
    for line in generative_reading(result):
        st.success(line, icon=":material/speed:")
    st.dataframe(
        generative_table(result),
        hide_index=True,
        key="dv_gen_table",
        column_config={"samples/s": st.column_config.NumberColumn(format="localized")},
    )


# --- the race -----------------------------------------------------------------------------------

RACE = "dv_race"
SOURCES = {"images": "the Image lab's network, as you set it", "playground": "the Playground's"}


def race_devices() -> list[str]:
    """The devices a race can use: the CPU and each GPU (named, never auto)."""
    return [str(d) for d in devices_to_measure("all")]


def race_config(source: str):
    """The run the race trains, from the Image lab's or the Playground's current settings
    (their defaults if that page was never opened in this session)."""
    from dlviz.labs.images import widgets as images
    from dlviz.labs.playground import widgets as controls

    if source == "images":
        images.init(link=False)
        return images.run_config()
    controls.init(link=False)
    # A race ends when both runs have trained the same epochs, even where the Playground's
    # Train would go on until stopped.
    return controls.run_config().with_changes(train={"until_stopped": False})


def start_race(source: str, devices: list[str]) -> None:
    from dataclasses import replace

    from dlviz.config import ConfigError

    try:
        base = race_config(source)
    except (ConfigError, ValueError) as e:
        st.session_state["dv_race_problem"] = f"That page's settings cannot train: {e}."
        return
    configs = [replace(base, train=replace(base.train, device=d), name=f"on {d}") for d in devices]
    live.start_view(RACE, configs, [f"on {d}" for d in devices], kind="race", parallel=True)


def draw_race(view: live.View, key: str) -> None:
    from dlviz.compare import race_reading

    hs = [h.history for h in view.handles]
    for label, h in zip(view.labels, hs):
        live.status_line(label, h)
    live_chart(
        curves_figure(list(zip(view.labels, hs)), x="elapsed", height=320),
        key=f"{key}_curves",
    )
    summary(captions.loss_curves(list(zip(view.labels, hs))))
    st.caption("Both runs train at the same time; the x axis is seconds of training.")
    if all(h.done for h in hs):
        for sentence in race_reading(view.labels, hs):
            st.markdown(f"- {sentence}")


def draw_report(report: dict[str, Any]) -> None:
    """A measurement: the machine it ran on, the speed-ups in words, the charts, downloads."""
    machine = report.get("machine", {})
    st.markdown(
        f"**Measured on** {machine.get('cpu', '?')}"
        + "".join(f"; {g['name']}" for g in machine.get("gpus", []))
        + f" - torch {machine.get('torch', '?')}, {threads(machine)} on the CPU"
        + (f". Training step: {report['network']}." if report.get("network") else "")
    )
    for line in speedup_lines(report["rows"]):
        st.success(line, icon=":material/speed:")
    draw(report["rows"])
    downloads = layout.row("dv_downloads")
    downloads.download_button(
        "JSON",
        data=json.dumps(report, indent=1, default=str),
        file_name="dlviz-devices.json",
        mime="application/json",
        key="dv_json",
        icon=":material/download:",
    )
    downloads.download_button(
        "CSV",
        data=to_csv(report["rows"]),
        file_name="dlviz-devices.csv",
        mime="text/csv",
        key="dv_csv",
        icon=":material/download:",
    )
    if st.session_state.get("dv_saved") == "":
        st.caption("These results could not be kept: the benchmark folder is not writable.")
