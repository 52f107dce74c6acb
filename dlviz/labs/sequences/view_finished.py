"""What a finished sequence network does, below its live view: the plain-language reading;
for a transformer, every head switched off in turn; for generation tasks and character models,
sampling with temperature, top-k and top-p and the next-token probabilities before and after
them; for forecasts, the network beside the naive, seasonal-naive and linear baselines, one
step and rolled out, and the error growing over the horizon.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import streamlit as st
import torch

from dlviz.config import GENERATION_DATASETS
from dlviz.data import Dataset
from dlviz.history import RunHistory
from dlviz.labs.sequences import analysis, reading
from dlviz.labs.sequences.figures import (
    ablation_figure,
    forecast_figure,
    horizon_error_figure,
    next_token_figure,
    one_step_figure,
    printable,
)
from dlviz.sampling import generate
from dlviz.text import plural
from dlviz.ui import fields, layout, live

TEMPERATURES = (0.0, 0.2, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0)
TOP_KS = (0, 1, 3, 5, 10, 20, 50)
TOP_PS = (1.0, 0.95, 0.9, 0.8, 0.5)
MAX_WRITE = 500  # characters a click writes at most


def _done(model: Any) -> dict[str, Any]:
    """What was computed of the trained `model` (kept in the session for the latest only)."""
    cache = st.session_state.setdefault("_sq_done", {})
    if cache.get("model") is not model:
        cache.clear()
        cache["model"] = model
    return cache


def _kept(name: str, model: Any, make):
    """`make()` once per trained model."""
    cache = _done(model)
    if name not in cache:
        cache[name] = make()
    return cache[name]


def draw(h: RunHistory, ds: Dataset, key: str) -> None:
    model = h.model
    st.divider()
    st.markdown("#### What the trained network does")
    positions = None
    report = None
    if ds.task == "tokens":
        positions = _kept("positions", model, lambda: analysis.position_accuracy(model, ds))
    if ds.task == "forecast":
        example = int(st.session_state.get("sq_example", 0))
        report = _kept(
            f"forecast{example}", model, lambda: analysis.forecast_report(model, ds, example)
        )
    sentences = reading.reading(
        h,
        ds.task,
        ds.class_names,
        ds.y_test,
        positions=positions,
        forecast_mse={k: report.mse(k) for k in report.errors} if report else None,
        per_step=report.errors if report else None,
    )
    for sentence in sentences:
        st.markdown(f"- {sentence}")
    if report is not None:
        _forecasts(report, ds, key)
    arch = h.config.get("model", {}).get("arch", "")
    if arch == "transformer":
        _ablation(h, ds, key)
    if ds.task == "tokens" and ds.name in GENERATION_DATASETS:
        _sampling(h, ds, key)


# --- forecasts ----------------------------------------------------------------------------------


def _forecasts(report: analysis.ForecastReport, ds: Dataset, key: str) -> None:
    seq = ds.seq
    assert seq is not None
    left, right = layout.columns(2, key=f"{key}_fc", min_width=420, gap="medium")
    with left:
        st.markdown(f"**Test window {report.example}**: every forecast of the next {seq.horizon}")
        st.plotly_chart(
            forecast_figure(report.past, report.truth, report.forecasts, height=300),
            key=f"{key}_fc_direct",
            config=live.CHART_CONFIG,
        )
        st.caption(
            "Each model forecasts all the steps ahead at once from the same window. Choose "
            "another test window above."
        )
    with right:
        st.markdown("**Error against steps ahead**: mean over every test window")
        st.plotly_chart(
            horizon_error_figure(report.errors, height=300),
            key=f"{key}_fc_horizon",
            config=live.CHART_CONFIG,
        )
        net = report.errors["network"]
        st.caption(
            f"The network's error is {net[0]:.3g} one step ahead and {net[-1]:.3g} "
            f"{seq.horizon} steps ahead."
        )
    st.markdown(
        "**One step ahead** along the test part of the series: each forecast made from the "
        "true values before it"
    )
    st.plotly_chart(
        one_step_figure(report.one_step_truth, report.one_step, height=300),
        key=f"{key}_fc_one_step",
        config=live.CHART_CONFIG,
    )
    one = {
        name: float(np.mean((values - report.one_step_truth) ** 2))
        for name, values in report.one_step.items()
    }
    best = min(one, key=one.get)
    st.caption(
        f"One step ahead the {best} forecast is closest (mean squared error {one[best]:.3g}; "
        f"the network's {one['network']:.3g}, the naive forecast's {one['naive']:.3g})."
    )
    if len(report.rolled_truth):
        st.markdown(
            f"**Rolled out**: {len(report.rolled_truth)} steps ahead, each forecast fed back "
            "in as if it were data"
        )
        st.plotly_chart(
            forecast_figure(report.past, report.rolled_truth, report.rolled, height=300),
            key=f"{key}_fc_rolled",
            config=live.CHART_CONFIG,
        )
        errors = {
            name: float(np.mean((values - report.rolled_truth) ** 2))
            for name, values in report.rolled.items()
        }
        best = min(errors, key=errors.get)
        st.caption(
            "Past its horizon a forecast must read its own guesses, so errors compound. Over "
            f"these {len(report.rolled_truth)} steps the {best} forecast stays closest (mean "
            f"squared error {errors[best]:.3g}; the network's: {errors['network']:.3g})."
        )


# --- ablation -----------------------------------------------------------------------------------


def _run_ablation(model: Any, ds: Dataset) -> None:
    _done(model)["ablation"] = analysis.ablate_heads(model, ds)


def _ablation(h: RunHistory, ds: Dataset, key: str) -> None:
    model = h.model
    layers, heads = model.head_mask.shape
    st.markdown("**Switch off one head at a time**: how much does the network need it?")
    st.button(
        f"Test without each head ({plural(layers * heads, 'head')})",
        key=f"{key}_ablate",
        icon=":material/do_not_disturb_on:",
        on_click=_run_ablation,
        args=(model, ds),
    )
    result = _done(model).get("ablation")
    if result is None:
        st.caption(
            "Each head's output is set to zero in turn and the test set is scored again; the "
            "trained weights are not changed."
        )
        return
    metric = "whole answers right" if result.metric == "sequence_accuracy" else "test accuracy"
    st.plotly_chart(
        ablation_figure(result.base, result.ablated, metric=metric, height=280),
        key=f"{key}_ablation",
        config=live.CHART_CONFIG,
    )
    worst = result.most_needed()
    if worst is not None:
        (layer, head), drop = worst
        if drop > 0.02:
            text = (
                f"Without L{layer + 1} H{head + 1} the {metric} falls from {result.base:.1%} to "
                f"{result.ablated[(layer, head)]:.1%}: the network relies on that head most."
            )
        else:
            text = (
                f"No single head matters much: switching any one off costs at most "
                f"{max(drop, 0):.1%} ({metric} {result.base:.1%} with all on). The work is "
                "shared, or done twice."
            )
        st.caption(text)


# --- sampling -----------------------------------------------------------------------------------


def _prompt(ds: Dataset, key: str) -> tuple[torch.Tensor | None, int, str, str]:
    """(prompt ids, tokens to write, the truth to compare with, a problem) from the controls."""
    seq = ds.seq
    assert seq is not None
    ss = st.session_state
    if seq.prompt:  # a symbol task: a test question, the answer to write
        n = len(ds.x_test)
        index = min(max(int(ss.get("sq_example", 0)), 0), n - 1)
        x, y = ds.x_test[index], ds.y_test[index]
        prompt = x[: seq.prompt]
        answer = int((y != -100).sum())
        truth = " ".join(ds.class_names[int(t)] for t in y[y != -100])
        return prompt, answer, truth, ""
    text = ss.get(f"{key}_prompt", "")
    unknown = sorted({c for c in text if c not in seq.vocab})
    if not text:
        return None, 0, "", "Type a few characters for it to continue."
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:8])
        return None, 0, "", f"These characters are not in its vocabulary: {shown}. Remove them."
    refused = fields.problem(f"{key}_write")
    if refused:
        return None, 0, "", refused
    ids = torch.tensor([seq.vocab.index(c) for c in text], dtype=torch.long)
    return ids, int(ss[f"{key}_write"]), "", ""


def _sample(model: Any, ds: Dataset, key: str) -> None:
    prompt, steps, truth, problem = _prompt(ds, key)
    ss = st.session_state
    if problem or prompt is None:
        ss[f"{key}_gen"] = {"problem": problem}
        return
    seed = int(time.time_ns() % 2**31)
    result = generate(
        model,
        prompt,
        steps,
        temperature=float(ss[f"{key}_temperature"]),
        top_k=int(ss[f"{key}_top_k"]),
        top_p=float(ss[f"{key}_top_p"]),
        generator=torch.Generator().manual_seed(seed),
    )
    ss[f"{key}_gen"] = {"result": result, "truth": truth, "model": model, "seed": seed}


def _sampling(h: RunHistory, ds: Dataset, key: str) -> None:
    seq = ds.seq
    assert seq is not None
    ss = st.session_state
    st.markdown("**Let it write**: sample token after token from its predictions")
    ss.setdefault(f"{key}_temperature", 0.8 if not seq.prompt else 1.0)
    ss.setdefault(f"{key}_top_k", 0)
    ss.setdefault(f"{key}_top_p", 1.0)
    if not seq.prompt:
        ss.setdefault(f"{key}_prompt", _default_prompt(ds))
        ss.setdefault(f"{key}_write", 200)
        c1, c2 = layout.columns([3, 1], key=f"{key}_prompt_row", min_width=140)
        c1.text_input("Start it with", key=f"{key}_prompt", max_chars=200)
        fields.RANGES.setdefault(f"{key}_write", ("Characters", 1, MAX_WRITE))
        fields.number_input(
            c2,
            f"{key}_write",
            help=f"How many characters to write, 1 to {MAX_WRITE}.",
            persist=False,
        )
    else:
        st.caption(
            "It answers the test question chosen above (Test sequence), one token at a time."
        )
    c1, c2, c3 = layout.columns(3, key=f"{key}_temp_row", min_width=140)
    c1.select_slider(
        "Temperature",
        TEMPERATURES,
        key=f"{key}_temperature",
        help="Divides the scores before the softmax: below 1 sharpens the distribution (0: "
        "always the likeliest), above 1 flattens it.",
    )
    c2.select_slider(
        "Top-k",
        TOP_KS,
        key=f"{key}_top_k",
        format_func=lambda k: "all" if k == 0 else str(k),
        help="Draw only from the k likeliest tokens.",
    )
    c3.select_slider(
        "Top-p",
        TOP_PS,
        key=f"{key}_top_p",
        help="Draw only from the likeliest tokens whose probabilities add up to p (nucleus "
        "sampling).",
    )
    st.button(
        "Write",
        key=f"{key}_sample",
        icon=":material/edit:",
        on_click=_sample,
        args=(h.model, ds, key),
    )
    gen = ss.get(f"{key}_gen")
    if not gen:
        return
    if gen.get("problem"):
        st.error(gen["problem"], icon=":material/error:")
        return
    if gen.get("model") is not h.model:
        return
    result = gen["result"]
    names = ds.class_names
    written = [names[int(t)] for t in result.ids]
    prompt_text = seq.text(result.prompt, sep="" if not seq.prompt else " ")
    if seq.prompt:
        answer = " ".join(written)
        right = answer == gen["truth"]
        st.markdown(
            f"`{prompt_text}` → `{answer}` ({'right' if right else 'wrong: the answer is ' + gen['truth']})"
        )
    else:
        st.code(prompt_text + "".join(written), language=None, wrap_lines=True)
    if not len(result.ids):
        return
    steps = len(result.ids)
    k = f"{key}_gen_step"
    if not isinstance(ss.get(k), int) or ss[k] >= steps:
        ss[k] = 0
    if steps > 1:
        st.select_slider(
            "Next-token probabilities at step",
            list(range(steps)),
            key=k,
            format_func=lambda i: f"{i + 1}: {printable(written[i])}",
        )
    i = int(ss[k])
    st.plotly_chart(
        next_token_figure(
            names,
            result.raw_probs[i].numpy(),
            result.probs[i].numpy(),
            chosen=int(result.ids[i]),
            height=260,
        ),
        key=f"{key}_next_token",
        config=live.CHART_CONFIG,
    )
    raw_top = float(result.raw_probs[i].max())
    adj_top = float(result.probs[i].max())
    kept = int((result.probs[i] > 0).sum())
    st.caption(
        f"Step {i + 1} drew {printable(written[i])!r}. The likeliest token had "
        f"{raw_top:.0%} before temperature, top-k and top-p and {adj_top:.0%} after; "
        f"{plural(kept, 'token')} could be drawn."
    )


def _default_prompt(ds: Dataset) -> str:
    seq = ds.seq
    assert seq is not None
    text = seq.text(ds.x_test[0], sep="")
    return text[:24]
