"""What each live chart shows, in one line of words: "Test loss rising since epoch 12 ...",
"Epoch 40: the gradient of hidden1 is 1,000x smaller than the output layer's".

The line under a chart says what its lines and colours say, for a person who cannot tell the
colours apart or see the chart, and for a screen reader, which cannot read a chart at all. Pure
functions of a run's history (or of plain numbers); no streamlit, no plotly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from dlviz.history import RunHistory

# A test loss is rising when it ends this far above its lowest (the larger of the two) ...
RISE_ABS, RISE_REL = 0.02, 0.10
# ... still falling when it fell this much over the last quarter of the epochs ...
FALL_ABS, FALL_REL = 0.005, 0.02
# ... and flat since the epoch from which it stays within this band around its last value.
FLAT_ABS, FLAT_REL = 0.01, 0.05
GAP = 10.0  # gradients this many times apart are worth a word
# A layer whose probe accuracy is within this of the best layer's "separates the classes":
PROBE_NEAR_BEST = 0.05

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(k: int) -> str:
    """10 to the `k`, as a tick label or a sentence shows it: 1, 10, 10⁻³, 10¹⁵."""
    return {0: "1", 1: "10"}.get(k, "10" + str(k).translate(_SUPERSCRIPT))


def factor(ratio: float) -> str:
    """How many times: 3x, 40x, 1,000x, then powers of ten (10⁶x, 10¹⁵x)."""
    if not math.isfinite(ratio):
        return "infinitely many times"
    if ratio < 10_000:
        return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.1f}x".replace(".0x", "x")
    return power_of_ten(round(math.log10(ratio))) + "x"


def _finite(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _pct(v: Any) -> str:
    return f"{v:.0%}" if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def _sentence(parts: Sequence[str], before: str = "") -> str:
    """`before` and `parts` joined by semicolons, as one sentence."""
    text = before + "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


# --- loss and accuracy ----------------------------------------------------------------------------


def _test_trend(epochs: list[int], test: list[float]) -> tuple[str, int]:
    """("rising", index of the lowest), ("falling", 0) or ("flat", index since which it stays
    in the band) for a finite test-loss curve of 2+ epochs. Rising means for a while: the
    lowest is at least a tenth of the epochs (2 or more) back, and the mean of those last
    epochs is well above it - not one noisy epoch."""
    best_i = min(range(len(test)), key=test.__getitem__)
    last, best = test[-1], test[best_i]
    window = max(2, len(test) // 10)
    recent = sum(test[-window:]) / window
    if best_i < len(test) - window and recent - best > max(RISE_ABS, RISE_REL * best):
        return "rising", best_i
    start = max(0, len(test) - max(2, len(test) // 4))
    if test[start] - last > max(FALL_ABS, FALL_REL * test[start]):
        return "falling", 0
    band = max(FLAT_ABS, FLAT_REL * last)
    since = len(test) - 1
    while since > 0 and abs(test[since - 1] - last) <= band:
        since -= 1
    return "flat", since


def loss_curve(h: RunHistory) -> str:
    """One run's loss and accuracy chart: whether its test loss falls, has flattened or rises
    (and since when), and its test accuracy now."""
    cols = h.epochs.to_dict()
    epochs, train, test = cols["epoch"], cols["train_loss"], cols["test_loss"]
    if not epochs:
        losses = [v for v in h.steps.column("loss") if v is not None]
        if losses:
            return (
                f"Batch loss {losses[0]:.3g} at the start, {losses[-1]:.3g} now; the first "
                "epoch has not ended yet."
            )
        return "No loss yet: the first point comes a moment after training starts."
    e = epochs[-1]
    if not _finite([train[-1], test[-1]]):
        return f"The loss became NaN or infinite at epoch {e}: training diverged."
    acc = f"test accuracy {_pct(cols['test_accuracy'][-1])} at epoch {e}"
    pairs = [(ep, t) for ep, t in zip(epochs, test) if _finite([t])]
    if len(pairs) < 2:
        return f"Epoch {e}: test loss {test[-1]:.3f}, {acc}."
    eps, tests = [p[0] for p in pairs], [p[1] for p in pairs]
    trend, i = _test_trend(eps, tests)
    if trend == "rising":
        where = epochs.index(eps[i])
        train_falls = _finite([train[where]]) and train[-1] < train[where]
        return (
            f"Test loss rising since epoch {eps[i]} ({tests[i]:.3f} → {tests[-1]:.3f})"
            + (" while the train loss keeps falling: overfitting" if train_falls else "")
            + f"; {acc}."
        )
    if trend == "falling":
        return f"Test loss still falling ({tests[0]:.3f} → {tests[-1]:.3f}); {acc}."
    if i < len(tests) - 1:
        return f"Test loss flat at about {tests[-1]:.3f} since epoch {eps[i]}; {acc}."
    way = "down" if tests[-1] < tests[-2] else "up"  # it jumps about: say where it went last
    return (
        f"Test loss {tests[-1]:.3f}, {way} from {tests[-2]:.3f} at epoch {eps[-2]} (its lowest: "
        f"{min(tests):.3f}); {acc}."
    )


def loss_curves(runs: Sequence[tuple[str, RunHistory]]) -> str:
    """Several runs on one loss and accuracy chart: their test accuracies now, best first, and
    any whose test loss is rising."""
    ended = [(label, h) for label, h in runs if h.epochs.last]
    if not ended:
        return "No epoch has ended yet: each run's curves start with its first epoch."

    def accuracy(run: tuple[str, RunHistory]) -> float:
        v = run[1].final.get("test_accuracy")
        return float(v) if v is not None and _finite([v]) else -1.0

    ranked = sorted(ended, key=accuracy, reverse=True)
    text = "Test accuracy now: " + ", ".join(
        f"{label} {_pct(h.final.get('test_accuracy'))}" for label, h in ranked
    )
    text += "."
    for label, h in ended:
        cols = h.epochs.to_dict()
        pairs = [(e, t) for e, t in zip(cols["epoch"], cols["test_loss"]) if _finite([t])]
        if len(pairs) < 2:
            continue
        trend, i = _test_trend([e for e, _ in pairs], [t for _, t in pairs])
        if trend == "rising":
            text += f" {label}: test loss rising since epoch {pairs[i][0]}."
    return text


# --- gradients ------------------------------------------------------------------------------------


def gradient_chart(
    layers: Sequence[str], norms: Sequence[Sequence[float]], epochs: Sequence[int]
) -> str:
    """The gradient-health chart (each layer's mean weight-gradient norm per epoch, input to
    output; the output layer last): how the weakest layer's gradient compares with the output
    layer's in the latest epoch, and how that changed since the first."""
    if not norms or not layers:
        return "Gradient norms appear after the first epoch."
    latest, e = list(norms[-1]), epochs[-1]
    if not _finite(latest):
        return f"Epoch {e}: gradient norms became NaN or infinite: training diverged."
    top = max(latest)
    if top <= 0:
        return f"Epoch {e}: no layer gets any gradient: the network has stopped learning."
    weak = min(range(len(latest)), key=latest.__getitem__)
    out = latest[-1]
    if latest[weak] <= 0:
        return (
            f"Epoch {e}: {layers[weak]} gets no gradient at all; the output layer's is {out:.2g}."
        )
    if out > 0 and out / latest[weak] >= GAP:
        ratio = out / latest[weak]
        text = (
            f"Epoch {e}: the gradient of {layers[weak]} is {factor(ratio)} smaller than the "
            "output layer's"
        )
        first = list(norms[0])
        if len(norms) > 1 and _finite(first) and first[weak] > 0 and first[-1] > 0:
            before = first[-1] / first[weak]
            if ratio / before >= 3 or before / ratio >= 3:
                text += f" (at epoch {epochs[0]}: {factor(before)})"
        return text + "."
    spread = top / latest[weak]
    if spread < GAP:
        return f"Epoch {e}: every layer's gradient is within {factor(spread)} of every other's."
    strong = latest.index(top)
    weakest = "the output layer's" if weak == len(latest) - 1 else f"that of {layers[weak]}"
    return f"Epoch {e}: the gradient of {layers[strong]} is {factor(spread)} larger than {weakest}."


def history_gradients(h: RunHistory) -> str:
    """`gradient_chart` of a run's history."""
    data = h.grad_norms.to_dict()
    return gradient_chart(h.layers, data["norms"], data["epoch"])


def dead_units(h: RunHistory) -> str:
    """The dead-ReLU chart of the image lab: the layer with the largest share of dead channels
    now, and what it was at the first snapshot."""
    data = h.dead.to_dict()
    if not data["shares"]:
        return "Dead-unit shares appear with the first snapshot."
    latest, step = data["shares"][-1], data["step"][-1]
    if not latest or max(latest.values()) <= 0:
        return f"Step {step:,}: no ReLU channel is dead in any layer."
    worst = max(latest, key=latest.get)
    text = f"Step {step:,}: {worst} has the most dead ReLU channels, {_pct(latest[worst])}"
    first = data["shares"][0].get(worst)
    if len(data["shares"]) > 1 and first is not None and abs(first - latest[worst]) >= 0.05:
        text += f" (at step {data['step'][0]:,}: {_pct(first)})"
    return text + "."


# --- what the 2-D network computes ----------------------------------------------------------------


def boundary(h: RunHistory) -> str:
    """The decision-boundary chart: how many training and test points lie on their own class's
    side of it."""
    if h.snapshot is None:
        return "The decision boundary appears when training starts."
    final = h.final
    if not final:
        return f"The untrained network's boundary (step {h.snapshot.step}): no epoch has ended yet."
    return (
        f"Epoch {h.epoch}: {_pct(final.get('train_accuracy'))} of the training points and "
        f"{_pct(final.get('test_accuracy'))} of the test points are on their own class's side."
    )


def neuron_maps(neurons: dict[str, np.ndarray]) -> str:
    """The neuron-response maps: how many neurons of each layer give the same output over the
    whole plane (a dead ReLU, or a saturated sigmoid), which respond to nothing."""
    if not neurons:
        return "Each neuron's map appears when training starts."
    parts = []
    for name, maps in neurons.items():
        m = np.nan_to_num(np.asarray(maps, dtype=np.float64).reshape(len(maps), -1))
        spread = m.max(axis=1) - m.min(axis=1)
        flat = int((spread <= 1e-6 * np.maximum(1.0, np.abs(m).max(axis=1))).sum())
        if flat:
            parts.append(f"{name} {flat} of {len(m)}")
    if not parts:
        return "Every neuron shown responds to some part of the plane and not to another."
    return (
        "Neurons with the same output over the whole plane (dead or saturated, they respond "
        "to nothing): " + ", ".join(parts) + "."
    )


# --- the depth experiment ---------------------------------------------------------------------------


def _finished(results: Sequence[Any], variant: str, field: str) -> list[Any]:
    rows = [r for r in results if r.variant == variant and math.isfinite(getattr(r, field))]
    return sorted(rows, key=lambda r: r.depth)


def _variants(results: Sequence[Any]) -> list[str]:
    return list(dict.fromkeys(r.variant for r in results))


def depth_accuracy(results: Sequence[Any]) -> str:
    """Accuracy against depth (`dlviz.labs.depth.experiment.DepthResult`s): each network's best training
    accuracy and where it ends at the deepest finished depth."""
    parts = []
    for variant in _variants(results):
        rows = _finished(results, variant, "train_accuracy")
        if not rows:
            continue
        peak = max(rows, key=lambda r: (r.train_accuracy, -r.depth))
        deepest = rows[-1]
        if deepest.depth > peak.depth and deepest.train_accuracy < peak.train_accuracy - 0.05:
            parts.append(
                f"{variant}: train accuracy peaks at depth {peak.depth} "
                f"({_pct(peak.train_accuracy)}), {_pct(deepest.train_accuracy)} at depth "
                f"{deepest.depth}"
            )
        else:
            parts.append(
                f"{variant}: {_pct(deepest.train_accuracy)} train accuracy at depth {deepest.depth}"
            )
    if not parts:
        return "Each point appears when its network has finished training."
    return _sentence(parts)


def depth_gradient(results: Sequence[Any]) -> str:
    """First-layer gradient against depth: in each network's deepest finished rung, how much
    smaller the first layer's gradient is than the output layer's."""
    parts = []
    for variant in _variants(results):
        rows = [r for r in _finished(results, variant, "first_grad") if r.last_grad > 0]
        if not rows:
            continue
        r = rows[-1]
        ratio = r.last_grad / r.first_grad if r.first_grad > 0 else math.inf
        how = (
            "no gradient at all"
            if r.first_grad <= 0
            else f"{factor(ratio)} less than the output layer"
            if ratio >= GAP
            else "about as much as the output layer"
        )
        parts.append(f"{variant} at depth {r.depth}: the first layer gets {how}")
    if not parts:
        return "Each point appears when its network has finished training."
    return _sentence(parts)


def depth_profile(results: Sequence[Any]) -> str:
    """The gradient along the deepest finished network of each kind: how much it shrinks from
    the output layer back to the first."""
    parts = []
    for variant in _variants(results):
        done = [r for r in results if r.variant == variant and r.profile]
        if not done:
            continue
        r = max(done, key=lambda r: r.depth)
        first, out = r.profile[0], r.profile[-1]
        if out <= 0 or not _finite([first, out]):
            continue
        if first <= 0:
            parts.append(f"{variant} ({r.depth} layers): none reaches layer 1")
        elif out / first >= GAP:
            parts.append(f"{variant} ({r.depth} layers): shrinks {factor(out / first)}")
        else:
            parts.append(f"{variant} ({r.depth} layers): about the same all the way")
    if not parts:
        return "Each line appears when the deepest network of its kind has finished."
    return _sentence(parts, "from the output layer back to layer 1, the gradient: ")


# --- transfer learning ------------------------------------------------------------------------------


def weight_change(changes: Sequence[tuple[str, str, dict[str, float]]]) -> str:
    """How far each layer moved from its pretrained weights ((label, strategy, {layer: relative
    change})): the layer each run moved most, and the runs that moved nothing."""
    parts, still = [], []
    for label, _strategy, change in changes:
        moved = {k: v for k, v in change.items() if isinstance(v, (int, float)) and v > 0}
        if not moved:
            still.append(label)
            continue
        top = max(moved, key=moved.__getitem__)
        parts.append(f"{label} moved {top} most ({moved[top]:.1%})")
    if still:
        parts.append(", ".join(still) + ": every conv layer kept its weights")
    return _sentence(parts) if parts else "No run has ended yet."


def efficiency(rows: Sequence[dict[str, Any]]) -> str:
    """Test accuracy against labelled images per class (rows of strategy label, per_class,
    test_accuracy; NaN until a run ends): the best strategy at the fewest and the most images
    measured so far."""
    done = [r for r in rows if _finite([r.get("test_accuracy")])]
    if not done:
        return "Each point appears when its run has finished."
    levels = sorted({r["per_class"] for r in done})
    parts = []
    for k in dict.fromkeys((levels[0], levels[-1])):
        at = [r for r in done if r["per_class"] == k]
        best = max(at, key=lambda r: r["test_accuracy"])
        n = f"{k} labelled image{'s' if k != 1 else ''} a class"
        parts.append(
            f"with {n}, {best['label'].lower()} is best ({_pct(best['test_accuracy'])})"
            if len(at) > 1
            else f"with {n}, {best['label'].lower()} {_pct(best['test_accuracy'])}"
        )
    return _sentence(parts)


# --- what the layers hold (dlviz.representations) ---------------------------------------------


def probe_reading(layers: list[dict[str, Any]], chance: float, network: float | None) -> str:
    """What the probes say, from their numbers: the input's and the best layer's accuracy,
    the first layer within PROBE_NEAR_BEST of the best, and whether accuracy rises all the way."""
    acc = [float(layer["probe_accuracy"]) for layer in layers]
    names = [str(layer["name"]) for layer in layers]
    best = int(np.argmax(acc))
    first = next(i for i, a in enumerate(acc) if a >= acc[best] - PROBE_NEAR_BEST)
    parts = [
        f"A linear classifier on the raw {names[0]} scores {acc[0]:.0%} (chance "
        f"{chance:.0%}); on {names[best]}, {acc[best]:.0%}"
        + (f" (the network itself: {network:.0%})" if network is not None else "")
        + "."
    ]
    if first > 0:
        parts.append(
            f"The classes become linearly separable - within {PROBE_NEAR_BEST:.0%} of the best - "
            f"at {names[first]}."
        )
    else:
        parts.append("Even the input is about as separable as any layer: the task is easy.")
    rises = all(b >= a - 0.02 for a, b in zip(acc, acc[1:]))
    parts.append(
        "Probe accuracy rises from layer to layer (never falling by more than 2 points)."
        if rises
        else "Probe accuracy does not rise all the way: it falls by more than 2 points "
        f"somewhere after {names[best] if best < len(acc) - 1 else names[first]}."
    )
    return " ".join(parts)


def cka_reading(rows: list[str], cols: list[str], matrix: np.ndarray, same: bool) -> str:
    m = np.asarray(matrix, dtype=np.float64)
    if same:
        adjacent = [m[i, i + 1] for i in range(len(rows) - 1) if np.isfinite(m[i, i + 1])]
        return (
            f"Neighbouring layers are alike (CKA {np.mean(adjacent):.2f} on average); the input "
            f"and the last layer, {rows[-1]}, much less ({m[0, -1]:.2f}): each layer changes the "
            "representation a little, and together they change it a lot."
            if adjacent
            else ""
        )
    best = [cols[int(np.nanargmax(m[i]))] for i in range(len(rows))]
    pairs = ", ".join(
        f"{r} most like {b} ({np.nanmax(m[i]):.2f})" for i, (r, b) in enumerate(zip(rows, best))
    )
    return f"Each layer of the first network and the layer of the second it is most like: {pairs}."


def probe_history_reading(
    layers: Sequence[str], epochs: Sequence[int], accuracies: Sequence[Sequence[float]]
) -> str:
    """A run's live probes in words: from which layer the classes were linearly separable
    (within PROBE_NEAR_BEST of that probe's best layer) at the first and the latest probe,
    and how the best layer's accuracy moved."""
    if not epochs:
        return ""

    def separable(acc: Sequence[float]) -> tuple[str, float]:
        best = max(acc)
        return layers[next(i for i, a in enumerate(acc) if a >= best - PROBE_NEAR_BEST)], best

    last_at, last_best = separable(accuracies[-1])
    if len(epochs) == 1:
        return (
            f"One probe, at epoch {epochs[0]}: the best layer scores {last_best:.0%}, and "
            f"the classes are linearly separable (within {PROBE_NEAR_BEST:.0%} of it) from "
            f"{last_at} on."
        )
    first_at, first_best = separable(accuracies[0])
    moved = (
        f"still from {last_at}"
        if first_at == last_at
        else f"from {last_at} (at epoch {epochs[0]}, from {first_at})"
    )
    best = (
        f"the best layer stayed at {last_best:.0%}"
        if f"{first_best:.0%}" == f"{last_best:.0%}"
        else f"the best layer went from {first_best:.0%} to {last_best:.0%}"
    )
    return (
        f"{len(epochs)} probes, epochs {epochs[0]} to {epochs[-1]}: {best}; at epoch "
        f"{epochs[-1]} the classes are linearly "
        f"separable (within {PROBE_NEAR_BEST:.0%} of the best) {moved}."
    )
