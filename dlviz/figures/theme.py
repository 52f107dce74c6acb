"""The look every figure shares: colours, plotly's fast path, light and dark pages.

Figures are built from plain dicts with plotly's validation off (`make_figure`): validating every
property costs tens of milliseconds a figure, and a live refresh has 50 ms for all of them.
Arrays go in as float32 or int8 numpy arrays, which plotly sends as compact binary, so a refresh
stays small (docs/ARCHITECTURE.md budget: under 300 KB).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

# Colours people with any common colour-vision deficiency can tell apart: the Okabe-Ito palette
# (Okabe and Ito, "Color Universal Design", 2008) without its black, which vanishes on a dark
# background. Each reads on a white and on a dark page; none pairs red with green.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",  # bluish green
    "vermillion": "#D55E00",
    "purple": "#CC79A7",  # reddish purple
    "sky": "#56B4E9",
    "yellow": "#F0E442",
}


# Classes after TensorFlow Playground: orange for class 0, blue for class 1 (its own shades of
# the Okabe-Ito pair), then the rest of the palette.
CLASS_COLORS = (
    "#f59322",
    "#0877bd",
    *(OKABE_ITO[k] for k in ("green", "vermillion", "purple", "sky")),
)


# Negative orange, zero near white, positive blue: a diverging map that is not red/green.
DIVERGING = [[0.0, "#f59322"], [0.5, "#f7f7f7"], [1.0, "#0877bd"]]


# The same map faded a quarter toward white, opaque: the pale boundary the points stand out on,
# the same on a light and a dark page (a see-through heatmap would take the page's colour).
BOUNDARY_SCALE = [[0.0, "#f8ae59"], [0.5, "#f9f9f9"], [1.0, "#4699cd"]]


RUN_COLORS = tuple(OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky"))


TRANSPARENT = "rgba(0,0,0,0)"


def make_figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> go.Figure:
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            axis.setdefault("automargin", True)  # room for tick labels and titles
    return go.Figure(data=traces, layout=layout, _validate=False)


def base_layout(height: int, title: str | None = None, **kw: Any) -> dict[str, Any]:
    layout = {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        "font": {"size": 12, "family": '"Source Sans", "Source Sans Pro", sans-serif'},
        "uirevision": "keep",  # live refreshes keep the user's zoom and hidden traces
        # No plotly template (it is ~6 KB a figure): Streamlit's theme styles the charts in the
        # page, `themed` the live ones. Transparent, so the page's light or dark shows through.
        "template": {},
        "paper_bgcolor": TRANSPARENT,
        "plot_bgcolor": TRANSPARENT,
        **kw,
    }
    if title:
        # From the left edge of the figure, so a title wider than a narrow square plot is cut
        # at its end (if at all), never at its start.
        layout["title"] = {
            "text": title,
            "font": {"size": 14},
            "x": 0,
            "xref": "container",
            "xanchor": "left",
            "pad": {"l": 4},
        }
    return layout


def legend_below(**kw: Any) -> dict[str, Any]:
    """A horizontal legend at the foot of the figure, under the x axis's ticks and title: placed
    in the figure's frame (``yref: container``), plotly makes room for it, where a legend placed
    under the plot (``y < 0`` of the plot) lands on the axis title of a short chart."""
    return {
        "orientation": "h",
        "x": 0,
        "xanchor": "left",
        "y": 0,
        "yanchor": "bottom",
        "yref": "container",
        **kw,
    }


# --- light and dark -------------------------------------------------------------------------------

# Text, grid and hover colours on Streamlit's light and dark pages; None: the theme is not known
# yet, mid-greys that read on both.
THEMES: dict[str | None, dict[str, str]] = {
    "light": {"text": "#31333f", "grid": "rgba(49,51,63,0.12)", "line": "rgba(49,51,63,0.35)",
              "background": "#ffffff"},
    "dark": {"text": "#fafafa", "grid": "rgba(250,250,250,0.14)", "line": "rgba(250,250,250,0.35)",
             "background": "#171614"},
    None: {"text": "#808495", "grid": "rgba(128,128,128,0.2)", "line": "rgba(128,128,128,0.45)",
           "background": "#808495"},
}  # fmt: skip


# Lines and markers against the page. WCAG asks 3:1 of graphics; the Okabe-Ito orange and sky
# blue have 2.25 and 2.3 on white, and are kept: a 2 px line of either reads. What falls below
# (yellow on white, viridis's dark purple on a dark page) is darkened or lightened to this.
MIN_CONTRAST = 2.2


def parse_rgb(color: Any) -> tuple[float, float, float] | None:
    """(r, g, b) in 0..255 of '#rrggbb', '#rgb', 'rgb(...)' or 'rgba(...)'; None otherwise."""
    if not isinstance(color, str):
        return None
    c = color.strip().lower()
    if c.startswith("#") and len(c) in (4, 7):
        h = c[1:] if len(c) == 7 else "".join(ch * 2 for ch in c[1:])
        try:
            return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
        except ValueError:
            return None
    if c.startswith("rgb"):
        try:
            parts = [float(v) for v in c[c.index("(") + 1 : c.index(")")].split(",")[:3]]
        except ValueError:
            return None
        return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None
    return None


def luminance(rgb: Sequence[float]) -> float:
    """WCAG relative luminance of an (r, g, b) colour in 0..255."""

    def channel(v: float) -> float:
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Sequence[float], b: Sequence[float]) -> float:
    """WCAG contrast ratio of two (r, g, b) colours: 1 (the same) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(color: str, background: str, ratio: float = MIN_CONTRAST) -> str:
    """`color`, or it mixed toward black (on a light page) or white (on a dark one) just enough
    to stand out from `background` by `ratio`; colours it cannot read are returned as they are."""
    rgb, bg = parse_rgb(color), parse_rgb(background)
    if rgb is None or bg is None or contrast(rgb, bg) >= ratio:
        return color
    target = (0.0, 0.0, 0.0) if luminance(bg) > 0.2 else (255.0, 255.0, 255.0)
    for step in range(1, 11):
        t = step / 10
        mixed = tuple(v + (w - v) * t for v, w in zip(rgb, target))
        if contrast(mixed, bg) >= ratio:
            break
    return "#{:02x}{:02x}{:02x}".format(*(int(round(v)) for v in mixed))


# A trace whose `meta` is this keeps its colours on any page: it is drawn over an opaque heatmap
# (pale on both themes), not over the page.
OWN_COLOURS = "own colours"
# A label's chip: a pale box behind its dark text, over lines and markers (the step-by-hand
# diagram's numbers). `themed` turns it dark, with light text, on a dark page.
CHIP, CHIP_TEXT = "rgba(255,255,255,0.88)", "#31333f"
DARK_CHIP, DARK_CHIP_TEXT = "rgba(14,17,23,0.88)", "#fafafa"


def themed(fig: go.Figure, scheme: str | None) -> go.Figure:
    """`fig` (changed in place, and returned) for a page in Streamlit's ``"light"`` or
    ``"dark"`` theme (None: not known, neutral greys): text, grid, axis and hover colours, and
    each line, marker and bar colour made to stand out from the page (`readable`). Images,
    heatmaps and traces marked OWN_COLOURS (drawn over a heatmap) keep their own colours; label chips (CHIP) turn dark on a dark page. For the charts
    Streamlit does not style (the live ones), and those whose labels sit on chips.

    It edits the figure's own dicts (plotly's `_layout` and `_data`, as `make_figure` built them):
    setting a few dozen properties through plotly's objects costs more than a live refresh's
    whole 50 ms."""
    colors = THEMES.get(scheme, THEMES[None])
    text, grid, line = colors["text"], colors["grid"], colors["line"]
    layout: dict[str, Any] = fig._layout
    layout["font"] = {**layout.get("font", {}), "color": text}
    for name in ("xaxis", "yaxis"):  # the default axes, where a figure does not name them
        layout.setdefault(name, {})
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            axis.update(gridcolor=grid, linecolor=line, zerolinecolor=line, tickcolor=line)
    layout["hoverlabel"] = {
        "bgcolor": "#262730" if scheme == "dark" else "#ffffff",
        "bordercolor": line,
        "font": {"color": "#fafafa" if scheme == "dark" else "#31333f"},
    }
    if scheme is None:
        return fig
    if scheme == "dark":
        for note in layout.get("annotations", ()):
            if isinstance(note, dict) and note.get("bgcolor") == CHIP:
                note["bgcolor"] = DARK_CHIP
                note["font"] = {**note.get("font", {}), "color": DARK_CHIP_TEXT}
    background = colors["background"]
    for trace in fig._data:
        if trace.get("type", "scatter") not in ("scatter", "bar"):
            continue
        if trace.get("meta") == OWN_COLOURS:
            continue
        for part in (trace.get("line"), trace.get("marker")):
            if not isinstance(part, dict):
                continue
            color = part.get("color")
            if isinstance(color, str):
                part["color"] = readable(color, background)
            elif isinstance(color, (list, tuple)) and color and isinstance(color[0], str):
                part["color"] = [readable(c, background) for c in color]
    return fig


def f32(values: Any) -> np.ndarray:
    """A float32 array; None becomes NaN (a gap in a line)."""
    return (
        np.array([np.nan if v is None else v for v in values], dtype=np.float32)
        if isinstance(values, list)
        else np.asarray(values, dtype=np.float32)
    )


def accuracy_error_bars(ys: list[float], cis: list[Any], color: str) -> dict[str, Any]:
    """A trace's `error_y` for accuracies `ys` with their 95% intervals `cis` ((low, high), or
    None for a point without one), cut at 0 and 1."""
    return {
        "type": "data",
        "symmetric": False,
        "array": f32([min(c[1], 1.0) - y if c else 0.0 for c, y in zip(cis, ys)]),
        "arrayminus": f32([y - max(c[0], 0.0) if c else 0.0 for c, y in zip(cis, ys)]),
        "color": color,
        "thickness": 1.5,
        "width": 4,
    }


MAX_LINE_POINTS = 400  # points per line sent to the browser; more does not show at chart width


def thin_out(*arrays: np.ndarray, n: int = MAX_LINE_POINTS) -> list[np.ndarray]:
    """Every k-th element (and always the last) so each array has at most about `n`."""
    length = len(arrays[0]) if arrays else 0
    if length <= n:
        return list(arrays)
    idx = np.unique(np.append(np.arange(0, length, -(-length // n)), length - 1))
    return [np.asarray(a)[idx] for a in arrays]


def figure_bytes(fig: go.Figure) -> int:
    """How many bytes the figure's JSON takes: what a refresh sends for it."""
    return len(fig.to_json())


# Ten runs, ten colours: Okabe-Ito's six, then Paul Tol's olive, purple and teal and a grey
# (https://personal.sron.nl/~pault/). The first seven stay apart with any colour vision (ten
# cannot all); each reads on a light and on a dark page.
COMPARE_COLORS = (*RUN_COLORS, "#999933", "#aa4499", "#44aa99", "#888888")
