"""Plain-language readings: of two finished runs (which generalised better, which overfits, how
long each took) and of a gradient profile. Pure functions that return sentences. And, for the
Runs page, labels, filters and the config diff of many stored runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dlviz.history import RunHistory

# A run overfits when its test loss ends well above its train loss, or well above its own best.
GAP_ABS, GAP_REL = 0.1, 0.5
RISE_ABS, RISE_REL = 0.02, 0.10
SAME_REL = 0.05


def _describe_net(label: str, h: RunHistory) -> str:
    model = h.config.get("model", {})
    if model.get("arch") == "cnn":  # its `hidden` is the unused mlp default
        depth, kind = len(model.get("blocks", [])), "conv layer"
    else:
        depth, kind = len(model.get("hidden", [])), "hidden layer"
    layers = f"{depth} {kind}{'s' if depth != 1 else ''}"
    return f"the {label} net ({layers}, {h.params:,} parameters)"


def overfitting(h: RunHistory) -> str | None:
    """A sentence on how `h` overfits, or None when it does not."""
    final = h.final
    if not final or not all(
        math.isfinite(final.get(k, math.nan)) for k in ("train_loss", "test_loss")
    ):
        return None
    train, test = final["train_loss"], final["test_loss"]
    tests = [v for v in h.epochs.column("test_loss") if v is not None and math.isfinite(v)]
    epochs = h.epochs.column("epoch")
    best_i = min(range(len(tests)), key=tests.__getitem__) if tests else None
    if best_i is not None:
        best = tests[best_i]
        if test - best > max(RISE_ABS, RISE_REL * best) and best_i < len(tests) - 1:
            return (
                f"its test loss was lowest at epoch {epochs[best_i]} ({best:.3f}) and rose to "
                f"{test:.3f} by the end while it kept fitting the training data "
                f"(train loss {train:.3f}): it overfits"
            )
    gap = test - train
    if gap > max(GAP_ABS, GAP_REL * train):
        return (
            f"its test loss ({test:.3f}) is far above its train loss ({train:.3f}): it fits the "
            "training points better than it generalises"
        )
    return None


def compare_runs(a_label: str, a: RunHistory, b_label: str, b: RunHistory) -> list[str]:
    """Sentences comparing run `a` with run `b` (e.g. shallow and deep)."""
    out: list[str] = []
    for label, h in ((a_label, a), (b_label, b)):
        if h.status in ("diverged", "error"):
            out.append(f"The {label} run {h.status}: {h.message}")
        elif h.status == "stopped":
            out.append(f"The {label} run was stopped after {h.epoch} epochs, so compare with care.")
    fa, fb = a.final, b.final
    if not fa or not fb:
        return out or ["Neither run finished an epoch, so there is nothing to compare yet."]

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
            "Neither overfits noticeably: each one's test loss stays close to its train loss."
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


def gradient_reading(norms: list[float]) -> str:
    """One sentence on a gradient profile (mean weight-gradient norm per layer, input to output):
    vanishing, weakening, dead, exploding or healthy."""
    if not norms:
        return "Gradient norms appear after the first epoch."
    if not all(math.isfinite(v) for v in norms):
        return "The gradients became NaN or infinite: training diverged."
    first, last, top = norms[0], norms[-1], max(norms)
    if top == 0:
        return (
            "No gradient reaches any layer: the network is dead (every unit outputs a constant). "
            "Try a lower learning rate, fewer layers, or batch norm."
        )
    if first == 0:
        return (
            "No gradient reaches the first layer: units in between output zero for every input "
            "(dead ReLUs) and block it. Try a lower learning rate, residual connections or batch norm."
        )
    if top > EXPLODING:
        return "Very large gradients: training may be unstable. Try a lower learning rate."
    ratio = first / last if last > 0 else math.inf
    if ratio < VANISHING:
        return (
            f"Vanishing gradients: the first layer's gradient is {_factor(1 / ratio)} smaller than "
            "the output layer's, so the layers near the input barely learn. Try relu, residual "
            "connections or normalisation."
        )
    if ratio < WEAKENING:
        return (
            f"Gradients weaken toward the input: the first layer's is {_factor(1 / ratio)} smaller "
            "than the output layer's, so the early layers learn slowly."
        )
    return "Gradients reach every layer at similar strength: all layers are learning."


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
        tags = r.get("tags") if isinstance(r.get("tags"), list) else []
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
    """A ratio for a person: "40x", "12,500x", or "10^15 times" once the digits stop helping."""
    if not math.isfinite(x):
        return "infinitely"
    return f"{x:,.0f}x" if x < 1e6 else f"10^{math.log10(x):.0f} times"


def race_reading(labels: list[str], histories: list[Any]) -> list[str]:
    """The outcome of the same run on several devices at once, in plain sentences: who finished
    first and how much faster, in time and in samples a second."""
    done = [(lab, h) for lab, h in zip(labels, histories) if h.status == "finished"]
    if len(done) < 2:
        return []
    done.sort(key=lambda lh: lh[1].elapsed)
    (fast, hf), (slow, hs) = done[0], done[-1]
    out = [
        f"{fast} finished {hf.epoch} epochs in {hf.elapsed:.1f} s, {slow} in {hs.elapsed:.1f} s: "
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
