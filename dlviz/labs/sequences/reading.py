"""The Sequence lab's words: the sentence under each chart and the plain-language reading of a
finished run (what the network learned, where it fails, what to try). Every sentence is
computed from the figures it speaks of, so it holds on the settings it is shown for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from dlviz.captions import factor
from dlviz.config import LENGTH_DEFAULT
from dlviz.data import Dataset
from dlviz.history import RunHistory
from dlviz.outcome import chance_level, margin
from dlviz.sequence_probe import HEAD_KINDS, TURNED_ON, SequenceSnapshot, turned_on

KIND_WORDS = {  # with their article
    "previous": "a previous-token",
    "self": "a self (diagonal)",
    "duplicate": "a duplicate-token (copying)",
    "induction": "an induction",
}


MAX_SHOWN = 400  # characters of a sequence shown as text at most


def is_chars(ds: Dataset) -> bool:
    """A character model's text: its tokens are joined as they are, not with spaces."""
    vocab = ds.seq.vocab if ds.seq is not None else ()
    return bool(vocab) and max(len(t) for t in vocab) == 1 and ds.name in ("chars", "own_text")


def shown_text(tokens: Sequence[str], vocab: Sequence[str], pad: int, prompt: int, chars: bool):
    """A sequence's tokens as a person reads them: the padding left out, a generation task's
    question only (its input holds the answer, shifted), characters joined as they are and
    words with spaces, cut at MAX_SHOWN characters."""
    tokens = tokens[:prompt] if prompt else tokens
    padding = vocab[pad] if 0 <= pad < len(vocab) else None
    text = ("" if chars else " ").join(t for t in tokens if t != padding)
    return text[:MAX_SHOWN] + " …" if len(text) > MAX_SHOWN else text


def _ok(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def ratio_text(a: float, b: float) -> str:
    """a as a share of b in words: "about the same as", "8.5x smaller than", "10⁴x larger than"."""
    if not (_ok(a) and _ok(b)) or a <= 0 or b <= 0:
        return "not comparable with"
    r = a / b
    if 0.8 <= r <= 1.25:
        return "about the same as"
    return f"{factor(1 / r)} smaller than" if r < 1 else f"{factor(r)} larger than"


def metrics_caption(h: RunHistory, task: str) -> str:
    """Under the curves: where the test metric stands now."""
    final = h.final
    if "test_loss" not in final:
        losses = [v for v in h.steps.column("loss") if v is not None]
        if losses:
            return (
                f"Batch loss {losses[0]:.3g} at the start, {losses[-1]:.3g} now; the first "
                "epoch has not ended yet."
            )
        return "No loss yet: the first point comes a moment after training starts."
    e = h.epoch
    if task == "forecast":
        mse, naive = final.get("test_mse"), final.get("baseline_mse")
        if _ok(mse) and _ok(naive):
            better = "better" if mse < naive else "worse"
            return (
                f"Epoch {e}: test mean squared error {mse:.3g}, {ratio_text(mse, naive)} the naive "
                f"forecast's ({naive:.3g}, the last value repeated): {better} than repeating "
                "the last value."
            )
        return f"Epoch {e}: test loss {final['test_loss']:.3g}."
    acc = final.get("test_accuracy")
    if task == "tokens":
        seq = final.get("test_sequence_accuracy")
        return (
            f"Epoch {e}: {acc:.1%} of the predicted test tokens are right, and "
            f"{seq:.1%} of the test sequences are right in every predicted token."
        )
    return f"Epoch {e}: test accuracy {acc:.1%}, train accuracy {final['train_accuracy']:.1%}."


def layer_gradients_caption(h: RunHistory) -> str:
    """Under the per-layer gradient chart: the latest epoch's norms, largest and smallest."""
    norms = h.grad_norms.column("norms")
    if not norms or not h.layers:
        return "Gradient norms appear after the first epoch."
    latest = list(zip(h.layers, norms[-1]))
    if not all(_ok(v) for _, v in latest):
        return "The gradients became NaN or infinite: training diverged."
    top = max(latest, key=lambda p: p[1])
    low = min(latest, key=lambda p: p[1])
    if low[1] == 0:
        return f"At epoch {h.epoch}, {low[0]} gets no gradient at all: it has stopped learning."
    text = (
        f"At epoch {h.epoch}: {top[0]} gets the largest gradient ({top[1]:.2g}), {low[0]} the "
        f"smallest ({low[1]:.2g}), {factor(top[1] / low[1])} apart."
    )
    if low[0] == "embed" and top[1] / low[1] >= 10:
        text += (
            " An embedding's gradient is small by nature: each step touches only the rows of "
            "the tokens in the batch."
        )
    return text


def time_gradient_caption(first: SequenceSnapshot | None, now: SequenceSnapshot) -> str:
    """Under the gradient-through-time chart: how much of the gradient at the last step reaches
    the first, in the first layer, now and at the start."""
    if not now.grad_steps:
        return "No gradient through time was measured for this network."
    layer = now.layers[0] if now.layers[0] in now.grad_steps else next(iter(now.grad_steps))
    g = now.grad_steps[layer]
    if len(g) < 2 or not _ok(float(g[-1])) or g[-1] <= 0:
        return f"The gradient reaching the last step of {layer} is zero: nothing to compare."
    text = (
        f"In {layer}, the gradient reaching the first step is {ratio_text(float(g[0]), float(g[-1]))} "
        f"the one at the last step"
    )
    if first is not None and first is not now and layer in first.grad_steps:
        g0 = first.grad_steps[layer]
        if len(g0) >= 2 and g0[-1] > 0:
            text += f" (at the start of training: {ratio_text(float(g0[0]), float(g0[-1]))})"
    return text + ". A line that falls toward step 0 is the gradient vanishing through time."


def gates_caption(snap: SequenceSnapshot, layer: str) -> str:
    """Under the gates chart: how open the memory gates are, and how saturated."""
    gates = snap.gates.get(layer) or {}
    if not gates:
        return "This layer has no gates: a plain RNN squashes its state through tanh each step."
    parts = []
    for name in ("forget", "update", "input", "output", "reset"):
        if name in gates:
            mean = float(np.mean(gates[name]["mean"]))
            sat = float(np.mean(gates[name]["saturated"]))
            parts.append(f"{name} gate {mean:.2f} open on average, {sat:.0%} saturated")
    memory = (
        " A forget gate near 1 keeps the cell's memory step after step."
        if "forget" in gates
        else " An update gate near 0 keeps the old state (GRU's h = (1 - z) h + z n)."
        if "update" in gates
        else ""
    )
    return "; ".join(parts).capitalize() + "." + memory


def heads_caption(steps: list[int], scores: list[np.ndarray], done: bool = False) -> str:
    """Under the head-score chart: which heads turned on, and when; else the strongest now."""
    if not scores:
        return "Head scores appear with the first snapshot."
    found = turned_on(steps, scores)
    if found:
        items = sorted(found.items(), key=lambda kv: kv[1])[:3]
        said = [
            f"L{layer + 1} H{head + 1} as {KIND_WORDS[HEAD_KINDS[kind]]} head at step {step:,}"
            for (layer, head, kind), step in items
        ]
        more = len(found) - len(items)
        return (
            "Turned on (score past "
            + f"{TURNED_ON:g}): "
            + "; ".join(said)
            + (f"; and {more} more" if more > 0 else "")
            + ". Look for a drop in the loss at the same steps."
        )
    last = np.asarray(scores[-1])
    layer, head, kind = np.unravel_index(int(np.argmax(last)), last.shape)
    return (
        ("No head turned on during training" if done else "No head has turned on yet")
        + f" (no score past {TURNED_ON:g} that was not there at the start); "
        f"the strongest now: L{layer + 1} H{head + 1} as {KIND_WORDS[HEAD_KINDS[kind]]} head "
        f"({last[layer, head, kind]:.2f})."
    )


def _what_to_try(arch: str, data_name: str, length: int, at_chance: bool, overfit: bool) -> str:
    if at_chance and arch == "bow":
        return (
            "A bag of words sees which words occur, not their order: try the LSTM or the "
            "Transformer."
        )
    if at_chance and arch == "rnn" and length >= 20:
        return (
            "A plain RNN's gradient fades over long gaps: try the LSTM or GRU (gates carry "
            "the memory), the Transformer (attention reaches any distance), or a shorter length."
        )
    if at_chance:
        return "Try more epochs, a learning rate of 0.001 to 0.003, or a wider network."
    if overfit:
        return "It fits the training data better than the test data: try more samples or dropout."
    return ""


def reading(
    h: RunHistory,
    task: str,
    class_names: Sequence[str],
    y_test: Any,
    positions: np.ndarray | None = None,
    forecast_mse: dict[str, float] | None = None,
    per_step: dict[str, np.ndarray] | None = None,
) -> list[str]:
    """What a finished run learned, where it fails and what to try, in sentences true on its
    figures: `positions` (per-token tasks) the test accuracy at each answer position;
    `forecast_mse` (forecasts) the test MSE of the network and each baseline, and `per_step`
    their MSE at each step ahead."""
    final = h.final
    config = h.config if isinstance(h.config, dict) else {}
    arch = config.get("model", {}).get("arch", "")
    data = config.get("data", {})
    name = data.get("name", "")
    length = int(data.get("length") or LENGTH_DEFAULT.get(name, 0))
    out: list[str] = []
    if task == "forecast":
        if not forecast_mse or "network" not in forecast_mse:
            return out
        net = forecast_mse["network"]
        others = {k: v for k, v in forecast_mse.items() if k != "network" and _ok(v)}
        best = min(others, key=others.get) if others else None
        out.append(
            f"On the test windows its mean squared error is {net:.3g}: "
            + ", ".join(
                f"{ratio_text(net, v)} the {k} forecast's ({v:.3g})" for k, v in others.items()
            )
            + "."
        )
        if best is not None and others[best] < net:
            out.append(
                f"The {best} forecast beats it: the network has not learned more than that "
                "simple rule. Try more epochs, a longer window, or another network."
            )
        if per_step and "network" in per_step and len(per_step["network"]) > 1:
            e = per_step["network"]
            out.append(
                f"Its error grows with the horizon: {e[0]:.3g} one step ahead, {e[-1]:.3g} "
                f"{len(e)} steps ahead ({ratio_text(float(e[-1]), float(e[0]))} one step ahead)."
            )
        return out
    labels = np.asarray(y_test).reshape(-1)
    labels = labels[labels >= 0]
    chance, _ = chance_level(labels, len(class_names))
    acc = final.get("test_accuracy", float("nan"))
    train = final.get("train_accuracy", float("nan"))
    at_chance = _ok(acc) and acc <= chance + margin(chance, len(labels))
    overfit = _ok(acc) and _ok(train) and train - acc > 0.1
    language = name in ("chars", "own_text")  # next-character prediction: no "answers"
    unit = (
        "next characters predicted"
        if language
        else "predicted tokens"
        if task == "tokens"
        else "test sequences"
    )
    if at_chance:
        out.append(
            f"It learned nothing it can use: {acc:.0%} of the {unit} right, where guessing the "
            f"most common answer gets {chance:.0%}."
        )
    elif acc >= 0.95:
        out.append(f"It learned the task: {acc:.1%} of the {unit} right (chance: {chance:.0%}).")
    else:
        out.append(
            f"It learned part of the task: {acc:.1%} of the {unit} right, well above chance "
            f"({chance:.0%}) but short of all of them."
        )
    if task == "tokens" and language:
        loss = final.get("test_loss", float("nan"))
        if _ok(loss):
            out.append(
                f"Its test loss is {loss:.3f} nats a character, a perplexity of "
                f"{math.exp(loss):.1f}: at each character it is about as unsure as a choice "
                f"among {math.exp(loss):.0f} equally likely ones."
            )
        if positions is not None and len(positions) > 1:
            out.append(
                f"It predicts worst at position 1 ({positions[0]:.0%} right), with no "
                f"character before it to go on, and {positions[-1]:.0%} at position "
                f"{len(positions)}, with {len(positions) - 1} before it."
            )
    elif task == "tokens":
        seq = final.get("test_sequence_accuracy", float("nan"))
        if _ok(seq):
            out.append(
                f"{seq:.1%} of the test answers are right in every token"
                + (
                    ": a sampled answer is as likely to be whole."
                    if seq > 0.95
                    else "; one wrong token spoils an answer, so this is the harder measure."
                )
            )
        if positions is not None and len(positions) > 1:
            worst = int(np.argmin(positions))
            best = int(np.argmax(positions))
            if positions[best] - positions[worst] > 0.05:
                out.append(
                    f"It fails most at predicted position {worst + 1} of {len(positions)} "
                    f"({positions[worst]:.0%} right there, {positions[best]:.0%} at position "
                    f"{best + 1})."
                    + (
                        " In addition the later digits depend on carries from the earlier ones."
                        if name == "addition"
                        else ""
                    )
                )
    if overfit:
        out.append(f"Train accuracy {train:.1%} against test {acc:.1%}: it partly memorised.")
    tip = _what_to_try(arch, name, length, at_chance, overfit)
    if tip:
        out.append(tip)
    return out
