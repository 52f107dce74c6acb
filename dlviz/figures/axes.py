"""Log axes whose ticks read as powers of ten, for readings that span decades."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from dlviz.captions import power_of_ten


def log_decade_axis(
    values: Sequence[Any], title: str | None = None, max_ticks: int = 6
) -> dict[str, Any]:
    """A log axis for values that span many orders of magnitude (gradient norms): labelled at
    powers of ten only - every decade, or every 2nd, 3rd, 5th ... so that at most `max_ticks`
    labels show - as 10⁻³ in one line. (Plotly's own log ticks add small 2 and 5 labels
    between the decades, which pile up into an unreadable column on a short chart.)"""
    vs = (
        np.asarray(values, dtype=np.float64).ravel()
        if isinstance(values, np.ndarray)
        else np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    )
    vs = vs[np.isfinite(vs) & (vs > 0)]
    axis: dict[str, Any] = {"type": "log"}
    if title:
        axis["title"] = {"text": title}
    if not len(vs):
        return axis
    lo, hi = math.floor(math.log10(vs.min())), math.ceil(math.log10(vs.max()))
    if hi == lo:  # one value, a power of ten: the decade below it too
        lo -= 1
    step = next(s for s in (1, 2, 3, 5, 10, 20, 50, 100) if (hi - lo) // s + 1 <= max_ticks)
    first = -(-lo // step) * step  # labels at multiples of `step`: 10⁻¹⁵, 10⁻¹⁰, 10⁻⁵, 1
    ticks = list(range(first, hi + 1, step))
    pad = 0.03 * (hi - lo)
    axis.update(
        tickvals=[10.0**k for k in ticks],
        ticktext=[power_of_ten(k) for k in ticks],
        range=[lo - pad, hi + pad],
        minor={"showgrid": False},
    )
    return axis


LOG_DTICK_2X = math.log10(2)  # a log axis ticked at 1, 2, 4, 8, ...


def _tick_text(t: float) -> str:
    return f"{t:,.0f}" if t >= 1000 else f"{t:g}"


def log_value_axis(values: Sequence[float], title: str) -> dict[str, Any]:
    """A log axis for measured values with labelled ticks however narrow their range: 1, 2, 5
    in each decade where they span under 2.5 decades, the powers of ten where wider (a plain
    log axis labels only the powers of ten, and none at all inside one decade). The range runs
    from the tick at or below the smallest value to the one at or above the largest, so at
    least two labels always show."""
    vs = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v) and v > 0]
    axis: dict[str, Any] = {"type": "log", "title": {"text": title}}
    if not vs:
        return axis
    lo, hi = min(vs), max(vs)
    steps = (1,) if hi / lo > 10**2.5 else (1, 2, 5)
    first, last = math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1
    candidates = [m * 10.0**k for k in range(first, last + 1) for m in steps]
    bottom = max(t for t in candidates if t <= lo * (1 + 1e-9))
    top = min(t for t in candidates if t >= hi * (1 - 1e-9))
    if top == bottom:  # one value, on a tick: the ticks either side
        i = candidates.index(bottom)
        bottom, top = candidates[i - 1], candidates[i + 1]
    ticks = [t for t in candidates if bottom <= t <= top]
    pad = 0.04 * max(math.log10(top / bottom), 0.3)
    axis.update(
        tickvals=ticks,
        ticktext=[_tick_text(t) for t in ticks],
        range=[math.log10(bottom) - pad, math.log10(top) + pad],
    )
    return axis
