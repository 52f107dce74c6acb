"""The Devices page's parts: what this machine has, the benchmarks run with a progress bar and
charts drawn as results arrive, earlier measurements kept in ``$DLVIZ_HOME/bench``, and
downloads. Widget keys start with ``dv_``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dlviz import plots, runs, speed
from dlviz.ui import live

RESULT = "dv_result"


def store() -> Path:
    return runs.default_root().parent / "bench"


def machine_table(m: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "device": "cpu",
            "name": m["cpu"],
            "memory": f"{m['memory_gb']} GB" if m["memory_gb"] else "?",
            "details": f"{m['cores']} cores; torch uses {m['torch_threads']} threads",
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
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and "rows" in report else None


def measure(which: str, quick: bool) -> dict[str, Any]:
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

    report = speed.run_all(which, quick=quick, progress=progress)
    bar.empty()
    charts.empty()
    return report


def draw(rows: list[dict[str, Any]], key_prefix: str = "dv") -> None:
    c1, c2 = st.columns(2, gap="medium")
    with c1:
        st.markdown("**Matrix multiply**: TFLOP/s against size")
        st.plotly_chart(
            plots.matmul_figure(rows), key=f"{key_prefix}_matmul", config=live.CHART_CONFIG
        )
    with c2:
        st.markdown("**Your kind of network** (the Image lab's Deep CNN): samples/s by batch")
        st.plotly_chart(
            plots.train_step_figure(rows), key=f"{key_prefix}_train", config=live.CHART_CONFIG
        )
    c1, c2 = st.columns(2, gap="medium")
    with c1:
        st.markdown("**Convolution**: typical layer shapes")
        st.plotly_chart(
            plots.bars_figure(rows, "conv2d", "shape", "tflops", "TFLOP/s"),
            key=f"{key_prefix}_conv",
            config=live.CHART_CONFIG,
        )
    with c2:
        st.markdown("**One training step**, split: forward, backward, optimizer step")
        st.plotly_chart(
            plots.step_parts_figure(rows), key=f"{key_prefix}_parts", config=live.CHART_CONFIG
        )
    if any(r["bench"] == "copy" for r in rows):
        st.markdown("**Copies** between host and GPU memory")
        st.plotly_chart(
            plots.bars_figure(rows, "copy", "what", "gb_per_s", "GB/s"),
            key=f"{key_prefix}_copy",
            config=live.CHART_CONFIG,
        )


def speedup_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for s in speed.speedups(rows):
        word = "faster" if s["speedup"] >= 1 else "slower"
        factor = s["speedup"] if s["speedup"] >= 1 else 1 / s["speedup"]
        out.append(
            f"Training step, batch {s['batch']}: {s['device']} is {factor:.1f}x {word} than the CPU."
        )
    return out
