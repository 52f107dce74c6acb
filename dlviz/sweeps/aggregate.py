"""A sweep's results over its seeds: for each combination of parameters, the mean of each metric
over the trials that finished and its 95% confidence interval (Student's t, n - 1 degrees of
freedom); trials that failed are counted, never averaged.

The t quantile is computed here (the regularised incomplete beta function by its continued
fraction, then bisection) so that aggregation needs numpy and nothing else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from dlviz.sweeps.spec import METRICS


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    x = df / (df + t * t)
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p (0.5 < p < 1), by bisection on `t_cdf`."""
    if not 0.5 <= p < 1.0:
        raise ValueError("p must be in [0.5, 1)")
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2.0


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, list[float] | None]:
    """The mean of `values` and its `level` confidence interval, mean -+ t * s / sqrt(n) (s the
    sample standard deviation); None for the interval when there is only one value."""
    n = len(values)
    if n == 0:
        return math.nan, None
    mean = sum(values) / n
    if n < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = t_quantile(0.5 + level / 2.0, n - 1) * math.sqrt(var / n)
    return mean, [mean - half, mean + half]


def trial_metrics(summary: dict[str, Any], metrics: dict[str, list[Any]] | None = None):
    """The numbers a finished trial gives, by METRICS name (those it has)."""
    out: dict[str, float] = {}
    final = summary.get("final") if isinstance(summary.get("final"), dict) else {}
    for name in ("test_accuracy", "train_accuracy", "test_loss", "train_loss"):
        v = final.get(name) if final else None
        if isinstance(v, (int, float)) and math.isfinite(v):
            out[name] = float(v)
    if isinstance(summary.get("seconds"), (int, float)):
        out["seconds"] = float(summary["seconds"])
    tests = (metrics or {}).get("test_accuracy") or []
    tests = [float(v) for v in tests if isinstance(v, (int, float)) and math.isfinite(v)]
    if tests:
        out["best_test_accuracy"] = max(tests)
    return out


def params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def groups(trials: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One group per combination of parameters, in the order first met: ``{"params", "n" (the
    finished trials averaged), "trials", "failed", "mean": {metric: value}, "ci95": {metric:
    [low, high] or None}}``. Each trial is ``{"params", "status", "metrics": {...}}``; only
    ``finished`` trials are averaged, failed ones (``error``, ``diverged``) are counted."""
    by: dict[str, dict[str, Any]] = {}
    for t in trials:
        g = by.setdefault(
            params_key(t["params"]),
            {"params": t["params"], "trials": 0, "failed": 0, "values": {}},
        )
        g["trials"] += 1
        status = t.get("status")
        if status == "finished":
            for name, v in (t.get("metrics") or {}).items():
                g["values"].setdefault(name, []).append(v)
        elif status in ("error", "diverged"):
            g["failed"] += 1
    out = []
    for g in by.values():
        values = g.pop("values")
        g["n"] = max((len(v) for v in values.values()), default=0)
        g["mean"], g["ci95"] = {}, {}
        for name in METRICS:
            if name in values:
                g["mean"][name], g["ci95"][name] = mean_ci(values[name])
        out.append({k: g[k] for k in ("params", "n", "trials", "failed", "mean", "ci95")})
    return out


def best_group(gs: Sequence[dict[str, Any]], metric: str, goal: str) -> dict[str, Any] | None:
    """The group with the best mean `metric` (max or min by `goal`), or None."""
    scored = [g for g in gs if metric in g["mean"] and math.isfinite(g["mean"][metric])]
    if not scored:
        return None
    pick = max if goal == "max" else min
    return pick(scored, key=lambda g: g["mean"][metric])
