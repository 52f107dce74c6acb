"""Loss and accuracy curves, live and after a run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from dlviz.figures.theme import RUN_COLORS, base_layout, f32, legend_below, make_figure, thin_out
from dlviz.history import RunHistory


def curves_layout(height: int, xlabel: str) -> dict[str, Any]:
    """Loss on the left, accuracy on the right, one x axis each. The accuracy axis has its
    ticks and title on its right, outside the plot: between the two plots they would sit on
    the loss plot's ticks. The legend goes above (`_legend_above`)."""
    return base_layout(
        height,
        xaxis={"domain": [0.0, 0.44], "title": {"text": xlabel}},
        yaxis={"title": {"text": "loss (cross-entropy)"}, "rangemode": "tozero"},
        xaxis2={"domain": [0.56, 1.0], "anchor": "y2", "title": {"text": xlabel}},
        yaxis2={
            "anchor": "x2",
            "side": "right",
            "title": {"text": "accuracy"},
            "range": [0, 1.02],
            "tickformat": ".0%",
        },
        legend=legend_below(),
    )


def batch_loss_trace(h: RunHistory, x: str, color: str, prefix: str, label: str) -> dict[str, Any]:
    """The thin line of a run's mean batch loss between reports, against fractional epochs
    (`x` "epoch") or seconds of training ("elapsed"), in the run's `color`."""
    st = h.steps.to_dict()
    bx = f32(st["step"]) / max(h.steps_per_epoch, 1) if x == "epoch" else f32(st["elapsed"])
    bx, by = thin_out(bx, f32(st["loss"]))
    return {
        "type": "scatter",
        "x": bx,
        "y": by,
        "mode": "lines",
        "name": f"{prefix}batch loss",
        "line": {"color": color, "width": 1},
        "opacity": 0.35,
        "legendgroup": label,
    }


def curves_figure(
    runs: Sequence[tuple[str, RunHistory]],
    x: str = "epoch",
    height: int = 340,
    show_batch_loss: bool = True,
) -> go.Figure:
    """Loss (left) and accuracy (right) of one or more runs; train dashed, test solid.

    `x` is ``"epoch"`` or ``"elapsed"`` (seconds of training). The thin line is the mean batch
    loss between reports, on a fractional-epoch axis, so the curve starts before epoch 1 ends.
    """
    traces: list[dict[str, Any]] = []
    xlabel = "epoch" if x == "epoch" else "seconds of training"
    for i, (label, h) in enumerate(runs):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        prefix = f"{label}: " if label else ""
        ep = {k: f32(v) for k, v in h.epochs.to_dict().items()}
        cols = [c for c in ep if c != "step"]
        ep = dict(zip(cols, thin_out(*(ep[c] for c in cols))))
        xs = ep["epoch"] if x == "epoch" else ep["elapsed"]
        mode = "lines" if len(xs) > 2 else "lines+markers"  # one epoch is still visible
        if show_batch_loss and len(h.steps):
            traces.append(batch_loss_trace(h, x, color, prefix, label))
        for split, dash in (("train", "dash"), ("test", "solid")):
            line = {"color": color, "dash": dash, "width": 2}
            traces.append(
                {
                    "type": "scatter",
                    "x": xs,
                    "y": ep[f"{split}_loss"],
                    "mode": mode,
                    "name": f"{prefix}{split}",
                    "line": line,
                    "legendgroup": label,
                }
            )
            traces.append(
                {
                    "type": "scatter",
                    "x": xs,
                    "y": ep[f"{split}_accuracy"],
                    "mode": mode,
                    "name": f"{prefix}{split}",
                    "line": line,
                    "legendgroup": label,
                    "xaxis": "x2",
                    "yaxis": "y2",
                    "showlegend": False,
                }
            )
    return make_figure(traces, curves_layout(height, xlabel))
