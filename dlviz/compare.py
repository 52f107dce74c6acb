"""Plain-language readings: of two finished runs (which generalised better, which overfits, how
long each took) and of a gradient profile. Pure functions that return sentences. And, for the
Runs page, labels, filters and the config diff of many stored runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dlviz.captions import factor
from dlviz.config import SEQUENCE_ARCHS, SOUND_DATASETS
from dlviz.history import RunHistory
from dlviz.text import counted, plural

# A run overfits when it fits its training data clearly better than its test data: train
# accuracy at least ACC_GAP above test accuracy, or a test loss that rose well above its own
# minimum (by RISE_ABS and by RISE_REL of it) while the train loss kept falling, and that shows
# in the accuracies too (train accuracy at least ACC_SIGN above test accuracy). A point or two
# between train and test at 97% is the ordinary cost of a test set, not overfitting.
ACC_GAP = 0.05
RISE_ABS, RISE_REL = 0.05, 0.25
ACC_SIGN = 0.03
SAME_REL = 0.05


def _describe_net(label: str, h: RunHistory) -> str:
    model = h.config.get("model", {})
    data = h.config.get("data", {}) if isinstance(h.config.get("data"), dict) else {}
    arch = model.get("arch")
    if arch == "cnn":  # its `hidden` is the unused mlp default
        depth, kind = len(model.get("blocks", [])), "conv layer"
    elif arch == "cnn1d" and data.get("name") in SOUND_DATASETS:  # a stem, then its blocks
        depth, kind = int(model.get("layers", 1)) + 1, "conv layer"
    elif arch in SEQUENCE_ARCHS:
        depth, kind = int(model.get("layers", 1)), "layer"
    else:
        depth, kind = len(model.get("hidden", [])), "hidden layer"
    return f"the {label} net ({plural(depth, kind)}, {plural(h.params, 'parameter')})"


def _acc(v: float) -> str:
    """An accuracy for a sentence: whole percent, one decimal near 100% (99.5% is not 100%)."""
    return f"{v:.1%}" if 0.99 <= v < 1 else f"{v:.0%}"


def overfitting(h: RunHistory) -> str | None:
    """A sentence on how `h` overfits, or None when it does not (see ACC_GAP, RISE_ABS)."""
    final = h.final
    keys = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")
    if not final or not all(math.isfinite(final.get(k, math.nan)) for k in keys):
        return None
    train, test = final["train_loss"], final["test_loss"]
    train_acc, test_acc = final["train_accuracy"], final["test_accuracy"]
    gap = train_acc - test_acc
    rows = [
        (e, te, tr, acc)
        for e, te, tr, acc in zip(
            h.epochs.column("epoch"),
            h.epochs.column("test_loss"),
            h.epochs.column("train_loss"),
            h.epochs.column("test_accuracy"),
        )
        if all(v is not None and math.isfinite(v) for v in (te, tr, acc))
    ]
    if rows:
        best_epoch, best, train_then, _ = min(rows, key=lambda r: r[1])
        rose = test - best > max(RISE_ABS, RISE_REL * best) and best_epoch != rows[-1][0]
        # the rise must show as a gap between train and test accuracy at the end: a test
        # accuracy a few points under its own best is the noise of (sampled) evaluations
        if rose and train < train_then and gap >= ACC_SIGN:
            return (
                f"its test loss was lowest at epoch {best_epoch} ({best:.3f}) and rose to "
                f"{test:.3f} by the end while its train loss kept falling ({train_then:.3f} to "
                f"{train:.3f}); train accuracy {_acc(train_acc)}, test accuracy {_acc(test_acc)}: "
                "it overfits"
            )
    if gap >= ACC_GAP:
        return (
            f"it is right on {_acc(train_acc)} of its training data but {_acc(test_acc)} of the test "
            f"data ({gap * 100:.0f} points less; test loss {test:.3f} against {train:.3f}): it "
            "fits the training points better than it generalises"
        )
    return None


def compare_runs(a_label: str, a: RunHistory, b_label: str, b: RunHistory) -> list[str]:
    """Sentences comparing run `a` with run `b` (e.g. shallow and deep)."""
    out: list[str] = []
    for label, h in ((a_label, a), (b_label, b)):
        if h.status in ("diverged", "error"):
            out.append(f"The {label} run {h.status}: {h.message}")
        elif h.status == "stopped":
            total = f" of {h.total_epochs}" if h.total_epochs else ""
            out.append(
                f"The {label} run was stopped after {h.epoch}{total} {counted(h.epoch, 'epoch')}."
            )
    if out:  # only finished runs are compared: a stopped one had fewer epochs to learn in
        stopped = any(h.status == "stopped" for h in (a, b))
        return out + (["Train both to the end to compare them."] if stopped else [])
    fa, fb = a.final, b.final
    if not fa or not fb:
        return ["Neither run finished an epoch, so there is nothing to compare yet."]

    la, lb = fa["test_loss"], fb["test_loss"]
    if not (math.isfinite(la) and math.isfinite(lb)):
        return out
    acc = f"Test accuracy: {fa['test_accuracy']:.0%} ({a_label}) and {fb['test_accuracy']:.0%} ({b_label})."
    if abs(la - lb) <= SAME_REL * max(la, lb):
        out.append(
            f"Both reached about the same test loss ({la:.3f} for {a_label}, {lb:.3f} for {b_label}): "
            f"on this data the difference between them did not matter. {acc}"
        )
    else:
        (wl, wh, wv), (ll, lh, lv) = sorted(
            ((a_label, a, la), (b_label, b, lb)), key=lambda t: t[2]
        )
        out.append(
            f"{_describe_net(wl, wh).capitalize()} reached the lower test loss: {wv:.3f} against "
            f"{lv:.3f} for {_describe_net(ll, lh)}. {acc}"
        )

    notes = [(label, overfitting(h)) for label, h in ((a_label, a), (b_label, b))]
    flagged = [(label, n) for label, n in notes if n]
    if flagged:
        out += [f"The {label} net: {note}." for label, note in flagged]
    else:
        out.append(
            "Neither overfits noticeably: each one's test accuracy is within "
            f"{ACC_GAP * 100:.0f} points of its train accuracy, and its test loss did not climb "
            "back up."
        )

    ta, tb = a.elapsed, b.elapsed
    if ta > 0 and tb > 0:
        slow, fast = (a_label, b_label) if ta >= tb else (b_label, a_label)
        ratio = max(ta, tb) / min(ta, tb)
        out.append(
            f"Time: {a_label} {ta:.1f} s ({a.samples_per_second:,.0f} samples/s), {b_label} "
            f"{tb:.1f} s ({b.samples_per_second:,.0f} samples/s); the {slow} net took "
            f"{ratio:.1f}x as long as the {fast} one."
        )
    return out


VANISHING, WEAKENING, EXPLODING = 1e-4, 1e-2, 100.0
SIMILAR = (
    10.0  # layers whose gradient norms are all within this factor get them "at similar strength"
)

# Why a gradient stops or shrinks on its way back, for each activation: what is true of it.
_DEAD_ALL = {
    "relu": "its ReLUs are dead: each outputs zero for every input (its input is always "
    "negative), and a ReLU that outputs zero passes no gradient back",
    "sigmoid": "its sigmoid units are saturated: pinned at 0 or 1, where their slope is zero "
    "to float precision",
    "tanh": "its tanh units are saturated: pinned at -1 or 1, where their slope is zero to "
    "float precision",
    "gelu": "its GELU units get inputs so negative that they output zero with no slope",
}
_ZERO_FIRST = {
    "relu": "a layer in between has ReLUs that output zero for every input (dead ReLUs), and "
    "they pass no gradient back",
    "sigmoid": "each sigmoid layer multiplied it on its way back by its slope (at most 0.25) "
    "until it fell below the smallest 32-bit float",
    "tanh": "each tanh layer multiplied it on its way back by its slope (at most 1, near 0 "
    "where units saturate) until it fell below the smallest 32-bit float",
    "gelu": "the units in between pass (almost) no gradient back",
}
_SHRINKS = {
    "sigmoid": "Each sigmoid layer multiplies the gradient on its way back by its slope, at "
    "most 0.25, so it shrinks layer by layer.",
    "tanh": "Each tanh layer multiplies the gradient on its way back by its slope, at most 1 "
    "and near 0 where units saturate, so it shrinks layer by layer.",
    "relu": "A ReLU passes the gradient back only where it is active, and each layer scales it "
    "by its weights: over many layers that can shrink it.",
    "gelu": "A GELU passes the gradient back mostly where it is active, and each layer scales "
    "it by its weights: over many layers that can shrink it.",
}
_FIX = {
    "relu": "Try residual connections or normalisation.",
    "gelu": "Try residual connections or normalisation.",
    "sigmoid": "Try relu, residual connections or normalisation.",
    "tanh": "Try relu, residual connections or normalisation.",
}


def gradient_verdict(
    norms: list[float], activation: str = "relu", frozen: int = 0
) -> tuple[str, str]:
    """(kind, sentence) on a gradient profile: the mean weight-gradient norm per layer, input to
    output, of a network of `activation` units whose first `frozen` layers are frozen (they get
    no gradient by design). kind: "none" (nothing yet), "ok", "weak" (weakening) or "bad"
    (vanishing, stopped, dead, exploding, NaN)."""
    act = activation if activation in _FIX else "relu"
    frozen_note = (
        f" (The first {plural(frozen, 'layer')} {counted(frozen, 'is')} frozen: "
        f"{counted(frozen, 'it gets', 'they get')} no gradient, by design.)"
        if frozen
        else ""
    )
    norms = list(norms)[frozen:] if frozen < len(norms) else []
    if not norms:
        if frozen:
            return "ok", f"Only frozen layers here.{frozen_note}"
        return "none", "Gradient norms appear after the first epoch."
    if not all(math.isfinite(v) for v in norms):
        return "bad", "The gradients became NaN or infinite: training diverged."
    first, last, top = norms[0], norms[-1], max(norms)
    which = "first trainable layer" if frozen else "first layer"
    if top == 0:
        return "bad", (
            f"No gradient reaches any layer: the network is dead. {_upper_first(_DEAD_ALL[act])}, "
            "so it gives the same answer for every input and cannot recover. Try a lower "
            f"learning rate, fewer layers, or batch norm.{frozen_note}"
        )
    if first == 0:
        return "bad", (
            f"No gradient reaches the {which}: {_ZERO_FIRST[act]}. {_FIX[act]}{frozen_note}"
        )
    if top > EXPLODING:
        return "bad", (
            f"Very large gradients: training may be unstable. Try a lower learning rate.{frozen_note}"
        )
    ratio = first / last if last > 0 else math.inf
    if ratio < VANISHING:
        return "bad", (
            f"Vanishing gradients: the {which}'s gradient is {_factor(1 / ratio)} smaller than "
            f"the output layer's, so the layers near the input barely learn. {_SHRINKS[act]} "
            f"{_FIX[act]}{frozen_note}"
        )
    if ratio < WEAKENING:
        return "weak", (
            f"Gradients weaken toward the input: the {which}'s is {_factor(1 / ratio)} smaller "
            f"than the output layer's, so the early layers learn slowly.{frozen_note}"
        )
    live = [v for v in norms if v > 0]
    spread = max(live) / min(live)
    every = f"every {'trainable ' if frozen else ''}layer"
    if spread <= SIMILAR:
        return "ok", (
            f"Gradients reach {every} at similar strength (within {_factor(spread)} of each "
            f"other): all of them are learning.{frozen_note}"
        )
    side = (
        f"{_factor(first / last)} larger than"
        if first >= last
        else f"{_factor(last / first)} smaller than"
    )
    return "ok", (
        f"Gradients reach {every}: nothing vanishes on the way to the input (the {which}'s is "
        f"{side} the output layer's), though some layers get {_factor(spread)} more than "
        f"others.{frozen_note}"
    )


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def gradient_reading(norms: list[float], activation: str = "relu", frozen: int = 0) -> str:
    """One sentence on a gradient profile (see `gradient_verdict`)."""
    return gradient_verdict(norms, activation, frozen)[1]


def config_activation(config: Any) -> str:
    """The activation a stored run config names (its model's; relu where it names none: the
    pretrained backbones and ImageNet models are ReLU networks)."""
    model = config.get("model") if isinstance(config, dict) else None
    act = model.get("activation") if isinstance(model, dict) else None
    return act if act in _FIX else "relu"


def frozen_layers(config: Any, n_layers: int) -> int:
    """How many of a run's `n_layers` weight layers (input to output) its transfer strategy
    froze: all but the output layer for feature extraction, all but the top blocks and the
    output layer when fine-tuning the top ones, none otherwise."""
    tr = config.get("transfer") if isinstance(config, dict) else None
    if not isinstance(tr, dict) or not tr.get("backbone"):
        return 0
    strategy = tr.get("strategy", "frozen")
    if strategy == "frozen":
        return max(n_layers - 1, 0)
    if strategy == "finetune_top":
        top = tr.get("top_blocks", 2)
        return max(n_layers - 1 - (top if isinstance(top, int) else 2), 0)
    return 0


# --- many stored runs: labels, filters and the config diff of the Runs page -------------------


def run_labels(rows: list[dict[str, Any]]) -> list[str]:
    """A short, unique label per run (listing rows): its name, else its id; a name that several
    runs share gets the last 6 characters of each one's id, e.g. ``cnn (·a1b2c3)``."""
    names = [str(r.get("name") or r.get("run_id") or "?") for r in rows]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    labels = [
        f"{n} (·{str(r.get('run_id', ''))[-6:]})" if counts[n] > 1 else n
        for n, r in zip(names, rows)
    ]
    seen: dict[str, int] = {}
    out = []
    for label in labels:  # two runs with the same name and id suffix: number them
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def filter_runs(
    rows: list[dict[str, Any]],
    text: str = "",
    datasets: Sequence[str] = (),
    statuses: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The listing rows that match: every word of `text` found (case-insensitive) in the run's
    name, id or tags; its dataset among `datasets` and status among `statuses` (empty: any)."""
    words = text.lower().split()
    out = []
    for r in rows:
        if datasets and r.get("dataset") not in datasets:
            continue
        if statuses and r.get("status") not in statuses:
            continue
        tags = r["tags"] if isinstance(r.get("tags"), list) else []
        haystack = " ".join(
            [str(r.get("name") or ""), str(r.get("run_id") or ""), *map(str, tags)]
        ).lower()
        if all(w in haystack for w in words):
            out.append(r)
    return out


def flatten_config(config: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"model.hidden": [8, 8], "model.blocks[1]": {...}, ...}``: dicts by
    dotted key; a list of dicts (a CNN's blocks) one entry per item, by 1-based index, each item
    kept whole (one row a block, not one a block's field); other values as they are."""
    if isinstance(config, dict):
        out: dict[str, Any] = {}
        for key, value in config.items():
            out.update(flatten_config(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(config, list) and config and all(isinstance(v, dict) for v in config):
        return {f"{prefix}[{i}]": value for i, value in enumerate(config, start=1)}
    return {prefix: config}


_MISSING = object()


def config_diff(configs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per config field of any of `configs`, in the order the fields first appear:
    ``{"field": "train.lr", "values": [0.01, 0.1], "differs": True}``. A field a config lacks
    (an older run, a shallower CNN) has the value None there, and differs from one that has it."""
    flat = [flatten_config(c) if isinstance(c, dict) else {} for c in configs]
    fields: dict[str, None] = {}
    for f in flat:
        fields.update(dict.fromkeys(f))
    rows = []
    for field in fields:
        raw = [f.get(field, _MISSING) for f in flat]
        differs = any(v is _MISSING for v in raw) or any(v != raw[0] for v in raw[1:])
        rows.append(
            {
                "field": field,
                "values": [None if v is _MISSING else v for v in raw],
                "differs": differs,
            }
        )
    return rows


def _factor(x: float) -> str:
    """A ratio for a person, written as the charts' captions write it (`captions.factor`: "8.5x",
    "40x", "10¹⁵x"), so a reading and the caption under its chart give the same number."""
    return factor(x)


def race_reading(labels: list[str], histories: list[Any]) -> list[str]:
    """The outcome of the same run on several devices at once, in plain sentences: who finished
    first and how much faster, in time and in samples a second."""
    done = [(lab, h) for lab, h in zip(labels, histories) if h.status == "finished"]
    if len(done) < 2:
        return []
    done.sort(key=lambda lh: lh[1].elapsed)
    (fast, hf), (slow, hs) = done[0], done[-1]
    out = [
        f"{fast} finished {plural(hf.epoch, 'epoch')} in {hf.elapsed:.1f} s, {slow} in "
        f"{hs.elapsed:.1f} s: "
        f"{fast} was {hs.elapsed / max(hf.elapsed, 1e-9):.1f}x faster "
        f"({hf.samples_per_second:,.0f} against {hs.samples_per_second:,.0f} samples a second)."
    ]
    af, as_ = hf.final.get("test_accuracy"), hs.final.get("test_accuracy")
    if af is not None and as_ is not None:
        out.append(
            f"Both trained the same network on the same data and seed: test accuracy {af:.1%} "
            f"and {as_:.1%}"
            + (" - the same result, sooner." if abs(af - as_) < 0.02 else
               " (floating-point order differs between devices, so results drift slightly).")
        )  # fmt: skip
    return out
