"""What a sweep's finished trials say, for the Sweep page: how much of the metric's variance
each axis explains, the best value found as trials finish, and the plain-language reading.

Trials are the manifest's rows (`dlviz.sweeps.driver`): ``{"index", "params", "seed",
"status", "metrics": {name: value}}``; only finished trials count.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from dlviz.sweeps.aggregate import best_group, groups


def _value(t: dict[str, Any], metric: str) -> float | None:
    if t.get("status") != "finished":
        return None
    v = (t.get("metrics") or {}).get(metric)
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def importance(trials: Sequence[dict[str, Any]], axes: Sequence[str], metric: str):
    """{axis: the share of the metric's variance over finished trials that the axis explains}
    (eta squared of a one-way analysis: the spread of the axis's value means, weighted by
    their counts, over the total spread); None for an axis when fewer than two values of it
    have finished, or the metric does not vary."""
    rows = [(t["params"], v) for t in trials if (v := _value(t, metric)) is not None]
    out: dict[str, float | None] = {}
    if len(rows) < 2:
        return {a: None for a in axes}
    values = [v for _, v in rows]
    mean = sum(values) / len(values)
    total = sum((v - mean) ** 2 for v in values)
    for axis in axes:
        by: dict[str, list[float]] = {}
        for params, v in rows:
            by.setdefault(json.dumps(params.get(axis)), []).append(v)
        if len(by) < 2 or total <= 0:
            out[axis] = None
            continue
        between = sum(len(vs) * (sum(vs) / len(vs) - mean) ** 2 for vs in by.values())
        out[axis] = between / total
    return out


def best_so_far(trials: Sequence[dict[str, Any]], metric: str, goal: str):
    """[(finished trials so far, best value so far)], in the order the trials finished
    (`finished` time where the manifest has it, else their index)."""
    done = [t for t in trials if _value(t, metric) is not None]
    done.sort(key=lambda t: (t.get("finished") or 0, t.get("index", 0)))
    out, best = [], None
    pick = max if goal == "max" else min
    for i, t in enumerate(done, 1):
        v = _value(t, metric)
        assert v is not None
        best = v if best is None else pick(best, v)
        out.append((i, best))
    return out


def paired(trials: Sequence[dict[str, Any]], axes: Sequence[str], metric: str, goal: str):
    """For each axis with two values: how often one beats the other among pairs of finished
    trials alike in everything else (the other axes and the seed), in words."""
    out = []
    for axis in axes:
        vals = list(dict.fromkeys(json.dumps(t["params"].get(axis)) for t in trials))
        if len(vals) != 2:
            continue
        by: dict[str, dict[str, float]] = {}
        for t in trials:
            v = _value(t, metric)
            if v is None:
                continue
            rest = {k: x for k, x in t["params"].items() if k != axis}
            key = json.dumps([rest, t.get("seed")], sort_keys=True)
            by.setdefault(key, {})[json.dumps(t["params"].get(axis))] = v
        pairs = [p for p in by.values() if len(p) == 2]
        if not pairs:
            continue
        a, b = vals
        better = (lambda x, y: x > y) if goal == "max" else (lambda x, y: x < y)
        b_wins = sum(better(p[b], p[a]) for p in pairs)
        a_wins = sum(better(p[a], p[b]) for p in pairs)
        if a_wins == b_wins:
            out.append(
                f"{axis}: {a} and {b} each win {a_wins} of {len(pairs)} pairs of trials alike "
                "in everything else (the other axes and the seed): no side is ahead."
            )
            continue
        win, lose, n_win = (b, a, b_wins) if b_wins > a_wins else (a, b, a_wins)
        whole = "every one" if n_win == len(pairs) else f"{n_win} of {len(pairs)}"
        out.append(
            f"{axis} = {win} beats {lose} in {whole} of the {len(pairs)} pairs of trials alike "
            "in everything else (the other axes and the seed)."
            if n_win == len(pairs)
            else f"{axis} = {win} beats {lose} in {whole} pairs of trials alike in everything "
            "else (the other axes and the seed)."
        )
    return out


def _cut(metric: str, ci: list[float] | None) -> list[float] | None:
    """An accuracy's interval within 0 and 1 (the t interval can run past them)."""
    if ci is None or "accuracy" not in metric:
        return ci
    return [max(ci[0], 0.0), min(ci[1], 1.0)]


def _pct(metric: str, v: float) -> str:
    return f"{v:.1%}" if "accuracy" in metric else f"{v:.4g}"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {json.dumps(v)}" for k, v in params.items()) or "the base config"


def reading(trials: Sequence[dict[str, Any]], axes: Sequence[str], metric: str, goal: str):
    """The sweep in a few sentences, from the finished trials: the best combination by its
    mean over seeds with its interval, whether its interval overlaps the runner-up's, the axis
    that explains most, and the failed trials."""
    gs = [g for g in groups(trials) if g["n"]]
    if not gs:
        return ["No trial has finished yet."]
    best = best_group(gs, metric, goal)
    if best is None:
        return [f"No finished trial reports {metric.replace('_', ' ')}."]
    out = []
    m, ci = best["mean"][metric], _cut(metric, best["ci95"][metric])
    seeds = f"over {best['n']} seed{'s' if best['n'] != 1 else ''}"
    band = f" (95% interval {_pct(metric, ci[0])} to {_pct(metric, ci[1])})" if ci else ""
    out.append(
        f"Best by mean {metric.replace('_', ' ')} {seeds}: {_params(best['params'])}, "
        f"{_pct(metric, m)}{band}."
    )
    rest = [g for g in gs if g is not best and metric in g["mean"]]
    if rest:
        pick = max if goal == "max" else min
        second = pick(rest, key=lambda g: g["mean"][metric])
        c2 = _cut(metric, second["ci95"][metric])
        if ci and c2:
            overlap = ci[0] <= c2[1] and c2[0] <= ci[1]
            out.append(
                f"The runner-up, {_params(second['params'])}, averages "
                f"{_pct(metric, second['mean'][metric])}; "
                + (
                    "their intervals overlap, so these seeds do not tell them apart."
                    if overlap
                    else "their intervals do not overlap: the difference holds across seeds."
                )
            )
        else:
            out.append(
                f"The runner-up, {_params(second['params'])}, averages "
                f"{_pct(metric, second['mean'][metric])}; with one seed each there is no "
                "interval: add seeds to tell whether the difference holds."
            )
    imp = {a: v for a, v in importance(trials, axes, metric).items() if v is not None}
    if imp:
        top = max(imp, key=lambda a: imp[a])
        out.append(f"{top} explains {imp[top]:.0%} of the spread of {metric.replace('_', ' ')}.")
    out += paired(trials, axes, metric, goal)
    failed = sum(g["failed"] for g in groups(trials))
    if failed:
        out.append(
            f"{failed} trial{'s' if failed != 1 else ''} failed: counted, not averaged "
            "(open them in Runs to see why)."
        )
    return out
