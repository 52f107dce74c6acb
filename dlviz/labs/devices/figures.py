"""The Devices page's figures: matmul speed, training-step speed, where a step's time goes, and
the generative families' seconds per step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from dlviz.figures.axes import LOG_DTICK_2X, log_value_axis
from dlviz.figures.theme import COMPARE_COLORS, RUN_COLORS, base_layout, legend_below, make_figure


def _series_color(i: int) -> str:
    return COMPARE_COLORS[i % len(COMPARE_COLORS)]


def matmul_figure(rows: Sequence[dict[str, Any]], height: int = 360) -> go.Figure:
    """Matrix-multiply TFLOP/s against size (log-log), one line per device and dtype; the
    hover gives the share of the device's data-sheet peak where known."""
    done = [r for r in rows if r.get("bench") == "matmul" and r.get("tflops")]
    keys = list(dict.fromkeys((r["device"], r["dtype"]) for r in done))
    traces = []
    for i, (dev, dtype) in enumerate(keys):
        line = [r for r in done if (r["device"], r["dtype"]) == (dev, dtype)]
        peak = [
            f"{r['percent_of_peak']:.0f}% of its {r.get('peak_source', 'data sheet')} peak"
            if r.get("percent_of_peak")
            else "peak unknown"
            for r in line
        ]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{dev} {dtype}",
                "x": [r["size"] for r in line],
                "y": [r["tflops"] for r in line],
                "customdata": peak,
                "line": {"color": _series_color(i)},
                "hovertemplate": f"{dev} {dtype}, n=%{{x}}: %{{y:.3g}} TFLOP/s (%{{customdata}})"
                "<extra></extra>",
            }
        )
    layout = base_layout(
        height,
        xaxis={
            "type": "log",
            "title": {"text": "matrix side n (n x n times n x n)"},
            "dtick": LOG_DTICK_2X,
        },
        yaxis=log_value_axis([r["tflops"] for r in done], "TFLOP/s"),
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def train_step_figure(rows: Sequence[dict[str, Any]], height: int = 360) -> go.Figure:
    """Training samples a second against batch size (log-log), one line per device: where the
    lines cross, the GPU starts to pay off."""
    done = [r for r in rows if r.get("bench") == "train_step"]
    traces = []
    for i, dev in enumerate(dict.fromkeys(r["device"] for r in done)):
        line = [r for r in done if r["device"] == dev]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": dev,
                "x": [r["batch"] for r in line],
                "y": [r["samples_per_s"] for r in line],
                "customdata": [
                    [r["forward_s"] * 1e3, r["backward_s"] * 1e3, r["step_s"] * 1e3] for r in line
                ],
                "line": {"color": _series_color(i)},
                "hovertemplate": f"{dev}, batch %{{x}}: %{{y:,.0f}} samples/s<br>forward "
                "%{customdata[0]:.1f} ms, backward %{customdata[1]:.1f} ms, step "
                "%{customdata[2]:.1f} ms<extra></extra>",
            }
        )
    layout = base_layout(
        height,
        xaxis={"type": "log", "title": {"text": "batch size"}, "dtick": LOG_DTICK_2X},
        yaxis=log_value_axis([r["samples_per_s"] for r in done], "training samples / s"),
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def step_parts_figure(rows: Sequence[dict[str, Any]], height: int = 360) -> go.Figure:
    """Where one training step's time goes - forward, backward, optimizer step - per device and
    batch size: stacked bars of microseconds per training sample, so that every batch size
    reads on one scale (per step, the largest batch dwarfs the rest); the hover gives the
    milliseconds of the whole step's part."""
    done = [r for r in rows if r.get("bench") == "train_step"]
    labels = [f"{r['device']} b{r['batch']}" for r in done]
    parts = zip(("forward", "backward", "step"), RUN_COLORS)
    traces = [
        {
            "type": "bar",
            "name": part,
            "x": labels,
            "y": [r[f"{part}_s"] * 1e6 / r["batch"] for r in done],
            "customdata": [r[f"{part}_s"] * 1e3 for r in done],
            "marker": {"color": color},
            "hovertemplate": f"%{{x}}: {part} %{{y:.3g}} µs a sample "
            "(%{customdata:.2f} ms a step)<extra></extra>",
        }
        for part, color in parts
    ]
    layout = base_layout(
        height,
        barmode="stack",
        yaxis={"title": {"text": "µs per training sample"}},
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def bars_figure(
    rows: Sequence[dict[str, Any]], bench: str, label: str, value: str, unit: str, height: int = 320
) -> go.Figure:
    """One bar per measurement of `bench` (e.g. conv2d shapes, copies), grouped by device."""
    done = [r for r in rows if r.get("bench") == bench and r.get(value) is not None]
    traces = []
    for i, dev in enumerate(dict.fromkeys(r["device"] for r in done)):
        line = [r for r in done if r["device"] == dev]
        traces.append(
            {
                "type": "bar",
                "name": dev,
                "x": [str(r[label]) for r in line],
                "y": [r[value] for r in line],
                "marker": {"color": _series_color(i)},
                "hovertemplate": f"{dev}: %{{x}}: %{{y:.3g}} {unit}<extra></extra>",
            }
        )
    layout = base_layout(
        height,
        barmode="group",
        yaxis={"title": {"text": unit}},
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def _width_label(row: dict[str, Any]) -> str:
    """ "3x128, batch 128" of a generative bench row."""
    hidden = row["hidden"]
    width = f"{len(hidden)}x{hidden[0]}" if len(set(hidden)) == 1 else "-".join(map(str, hidden))
    return f"{width}, batch {row['batch']:,}"


def generative_steps_figure(rows: Sequence[dict[str, Any]], height: int = 360) -> go.Figure:
    """Milliseconds per training step of each generative family (`dlviz bench generative`'s
    rows): grouped bars, one bar per device and size (width and batch), on a log axis so that
    a narrow step and a wide one read on one chart; the hover gives samples a second."""
    families = list(dict.fromkeys(r["family"] for r in rows))
    series = list(dict.fromkeys((r["device"], _width_label(r)) for r in rows))
    traces = []
    for i, (dev, size) in enumerate(series):
        line = {r["family"]: r for r in rows if (r["device"], _width_label(r)) == (dev, size)}
        traces.append(
            {
                "type": "bar",
                "name": f"{dev}, {size}",
                "x": families,
                "y": [line[f]["seconds_per_step"] * 1e3 if f in line else None for f in families],
                "customdata": [
                    line[f]["samples_per_second"] if f in line else None for f in families
                ],  # fmt: skip
                "marker": {"color": _series_color(i)},
                "hovertemplate": f"{dev}, {size}: %{{x}} %{{y:.3g}} ms a step "
                "(%{customdata:,.0f} samples/s)<extra></extra>",
            }
        )
    layout = base_layout(
        height,
        barmode="group",
        xaxis={"title": {"text": "family"}},
        yaxis=log_value_axis([r["seconds_per_step"] * 1e3 for r in rows], "ms per training step"),
        legend=legend_below(),
    )
    return make_figure(traces, layout)
