"""The Transfer lab's figures: which layers train, how far weights and representations moved,
what each strategy costs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from dlviz.figures.theme import OKABE_ITO, RUN_COLORS, base_layout, f32, legend_below, make_figure
from dlviz.labs.transfer.layers import KEPT_CKA

# --- transfer learning ----------------------------------------------------------------------------

# Light blue and light orange for the pretrained blocks, vermillion and bluish green for the
# layers that start from random weights (Okabe-Ito): told apart with any colour vision, and
# dark text reads on each.
ROLE_COLORS = {"frozen": "#9ecae1", "fine-tuned": "#fdae6b", "trained": OKABE_ITO["vermillion"],
               "new": OKABE_ITO["green"]}  # fmt: skip


ROLE_LABELS = {
    "frozen": "frozen (pretrained, not trained)",
    "fine-tuned": "fine-tuned (pretrained, trains)",
    "trained": "trained from random weights",
    "new": "new layer (random, trains)",
}


STRATEGY_COLORS = {  # the run colours, in the order a comparison runs them
    "scratch": RUN_COLORS[0],
    "frozen": RUN_COLORS[1],
    "finetune_top": RUN_COLORS[2],
    "finetune_all": RUN_COLORS[3],
}


def transfer_plan_figure(rows: Sequence[dict[str, Any]], height: int = 190) -> go.Figure:
    """The network as a row of blocks, input to output, coloured by what training does to each
    (`dlviz.transfer.plan` rows: layer, what, params, role, lr)."""
    traces = []
    for role, color in ROLE_COLORS.items():
        mine = [r for r in rows if r["role"] == role]
        if not mine:
            continue
        text = []
        for r in mine:
            lr = "" if r["role"] == "frozen" or r["lr"] == 1.0 else f"<br>lr x{r['lr']:g}"
            text.append(f"<b>{r['layer']}</b><br>{r['params']:,}{lr}")
        traces.append(
            {
                "type": "bar",
                "name": ROLE_LABELS[role],
                "x": [r["layer"] for r in mine],
                "y": [1.0] * len(mine),
                "text": text,
                "textposition": "inside",
                "insidetextanchor": "middle",
                "textfont": {"size": 11, "color": "#222"},
                "marker": {"color": color, "line": {"color": "#555", "width": 1}},
                "customdata": [[r["what"], r["params"]] for r in mine],
                "hovertemplate": "%{x}: %{customdata[0]}, %{customdata[1]:,} parameters"
                "<extra>" + role + "</extra>",
            }
        )
    layout = base_layout(
        height,
        barmode="overlay",
        bargap=0.12,
        xaxis={"categoryorder": "array", "categoryarray": [r["layer"] for r in rows],
               "title": {"text": "input  \u2192  output"}},
        yaxis={"visible": False, "range": [0, 1]},
        legend={"orientation": "h", "yref": "container", "y": 1, "yanchor": "top", "x": 0},
        uniformtext={"minsize": 9, "mode": "hide"},
    )  # fmt: skip
    return make_figure(traces, layout)


def weight_change_figure(
    changes: Sequence[tuple[str, str, dict[str, float]]], height: int = 300
) -> go.Figure:
    """Relative weight change per conv layer, ||W - W0|| / ||W0||, one bar series per run:
    `changes` are (label, strategy, {layer: change})."""
    traces = []
    for label, strategy, change in changes:
        traces.append(
            {
                "type": "bar",
                "name": label,
                "x": list(change),
                "y": f32(list(change.values())),
                "marker": {"color": STRATEGY_COLORS.get(strategy, "#444")},
                "hovertemplate": f"{label}, %{{x}}: moved %{{y:.2%}}<extra></extra>",
            }
        )
    layout = base_layout(
        height,
        barmode="group",
        xaxis={"title": {"text": "layer (input \u2192 output)"}},
        yaxis={
            "title": {"text": "change from pretrained"},
            "tickformat": ".0%",
            "rangemode": "tozero",
        },
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def backbone_similarity_figure(
    rows: Sequence[tuple[str, str, dict[str, float]]], height: int = 300
) -> go.Figure:
    """Linear CKA between each conv layer of the pretrained backbone and the same layer of each
    trained network (1: the layer computes what it did before training), one line per run:
    `rows` are (label, strategy, {layer: CKA}). A run from scratch, which never saw the
    backbone, is dashed: the reference the others are read against. A dotted line at KEPT_CKA,
    above which the reading calls a layer kept close."""
    traces: list[dict[str, Any]] = []
    for label, strategy, cka in rows:
        scratch = strategy == "scratch"
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{label} (reference)" if scratch else label,
                "x": list(cka),
                "y": f32(list(cka.values())),
                "line": {"color": STRATEGY_COLORS.get(strategy, "#444"), "width": 2,
                         "dash": "dash" if scratch else "solid"},
                "marker": {"size": 7},
                "hovertemplate": f"{label}, %{{x}}: CKA %{{y:.3f}}<extra></extra>",
            }
        )  # fmt: skip
    layers = list(dict.fromkeys(k for _, _, cka in rows for k in cka))
    if layers:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"CKA {KEPT_CKA:.2f}: kept close above",
                "x": [layers[0], layers[-1]],
                "y": [KEPT_CKA, KEPT_CKA],
                "line": {"color": "#999999", "dash": "dot", "width": 1},
                "hoverinfo": "skip",
            }
        )
    finite = [v for _, _, cka in rows for v in cka.values() if math.isfinite(v)]
    # from a round tenth below the lowest line: lines near 1 would merge on an axis from 0
    bottom = max(0.0, math.floor((min(finite, default=1.0) - 0.05) * 10) / 10)
    layout = base_layout(
        height,
        xaxis={"title": {"text": "layer (input \u2192 output)"}, "type": "category"},
        yaxis={"title": {"text": "CKA with the pretrained layer"}, "range": [bottom, 1.01]},
        legend=legend_below(),
    )
    return make_figure(traces, layout)


def efficiency_figure(rows: Sequence[dict[str, Any]], height: int = 380) -> go.Figure:
    """Test accuracy against labelled examples per class (log axis), one line per strategy;
    `rows` have strategy, label, per_class and test_accuracy (NaN until the run ends)."""
    traces = []
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        mine = sorted((r for r in rows if r["strategy"] == strategy), key=lambda r: r["per_class"])
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": mine[0]["label"],
                "x": [r["per_class"] for r in mine],
                "y": f32([r["test_accuracy"] for r in mine]),
                "line": {"color": STRATEGY_COLORS.get(strategy, "#444"), "width": 2.5},
                "marker": {"size": 8},
                "hovertemplate": f"{mine[0]['label']}, %{{x}} a class: test %{{y:.1%}}<extra></extra>",
            }
        )
    ticks = sorted({r["per_class"] for r in rows})
    layout = base_layout(
        height,
        xaxis={"type": "log", "title": {"text": "labelled training images per class"},
               "tickvals": ticks, "ticktext": [str(t) for t in ticks]},
        yaxis={"title": {"text": "test accuracy"}, "tickformat": ".0%", "range": [0, 1.02]},
        legend=legend_below(),
    )  # fmt: skip
    return make_figure(traces, layout)
