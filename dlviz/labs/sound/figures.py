"""The Sound lab's figures: a clip's spectrogram, a wave's steps to its features side by side,
a 1-D CNN's activations and first-layer filters, where a network listened (saliency and
Grad-CAM over the spectrogram or the wave) and the occlusion check."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.theme import RUN_COLORS, base_layout, f32, make_figure, thin_out

SPECTRO_SCALE = "Viridis"
HEAT_SCALE = [[0.0, "rgba(255,255,255,0)"], [0.35, "rgba(253,231,37,0.25)"],
              [1.0, "rgba(220,40,30,0.85)"]]  # fmt: skip
MAX_COLUMNS = 400  # spectrogram columns sent; more do not show at a chart's width


def _rows_axis(rows: np.ndarray, unit: str, title: bool = True, ticks: int = 5) -> dict[str, Any]:
    """A spectrogram's rows as an index axis, labelled with `ticks` of their frequencies (mel
    bands are not evenly spaced in Hz, so the rows are drawn evenly and named)."""
    n = len(rows)
    if unit != "Hz" or n == 0:
        return {"title": {"text": "coefficient" if title else ""}}
    picks = np.unique(np.linspace(0, n - 1, ticks).round().astype(int))
    labels = [f"{rows[i] / 1000:.1f}k" if rows[i] >= 1000 else f"{rows[i]:.0f}" for i in picks]
    return {
        "tickvals": picks.tolist(),
        "ticktext": labels,
        "title": {"text": "Hz" if title else ""},
        "range": [-0.5, n - 0.5],
    }


def _columns(image: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_COLUMNS columns (every k-th), with their times."""
    k = max(1, -(-image.shape[1] // MAX_COLUMNS))
    return image[:, ::k], times[::k]


def spectrogram_trace(
    image: np.ndarray, times: np.ndarray, xaxis: str = "x", yaxis: str = "y", **kw: Any
) -> dict[str, Any]:
    img, t = _columns(np.asarray(image, dtype=np.float32), np.asarray(times))
    return {
        "type": "heatmap", "z": f32(img), "x": f32(t), "colorscale": SPECTRO_SCALE,
        "showscale": False, "xaxis": xaxis, "yaxis": yaxis,
        "hovertemplate": "%{x:.2f} s, row %{y}: %{z:.1f}<extra></extra>", **kw,
    }  # fmt: skip


def spectrogram_figure(
    image: np.ndarray,
    times: np.ndarray,
    rows: np.ndarray,
    unit: str = "Hz",
    title: str | None = None,
    height: int = 220,
) -> go.Figure:
    """A spectrogram (H, T), low frequencies at the bottom, time across."""
    ticks = 5 if height >= 200 else 3  # a short chart has room for fewer labels
    layout = base_layout(
        height,
        title,
        xaxis={"title": {"text": "seconds"}},
        yaxis=_rows_axis(rows, unit, ticks=ticks),
    )
    return make_figure([spectrogram_trace(image, times)], layout)


def envelope(wave: np.ndarray, sample_rate: int, bins: int = 400) -> tuple[np.ndarray, ...]:
    """A wave's lowest and highest sample in each of `bins` slices of time, with the slices'
    times: drawn as a band, it shows the whole wave at any width (every k-th sample alone
    would alias a tone into a false one)."""
    x = np.asarray(wave, dtype=np.float32).reshape(-1)
    bins = max(1, min(bins, len(x)))
    cut = len(x) // bins * bins
    parts = x[:cut].reshape(bins, -1)
    times = (np.arange(bins) + 0.5) * (cut / bins) / sample_rate
    return times, parts.min(axis=1), parts.max(axis=1)


def clip_figure(
    wave: np.ndarray,
    sample_rate: int,
    image: np.ndarray,
    times: np.ndarray,
    rows: np.ndarray,
    unit: str = "Hz",
    title: str | None = None,
    height: int = 220,
) -> go.Figure:
    """One clip as a person sees it: its wave (the band of its samples over time) above its
    spectrogram (H, T), on one time axis."""
    t, lo, hi = envelope(wave, sample_rate)
    band = {"mode": "lines", "line": {"width": 0.5, "color": RUN_COLORS[0]}, "hoverinfo": "skip",
            "xaxis": "x", "yaxis": "y2", "showlegend": False}  # fmt: skip
    traces = [
        spectrogram_trace(image, times),
        {"type": "scatter", "x": f32(t), "y": f32(lo), **band},
        {"type": "scatter", "x": f32(t), "y": f32(hi), "fill": "tonexty", **band},
    ]
    ticks = 5 if height >= 200 else 3
    peak = float(max(np.abs(lo).max(), np.abs(hi).max(), 1e-3))
    layout = base_layout(
        height,
        title,
        xaxis={"title": {"text": "seconds"}},
        yaxis={"domain": [0.0, 0.7], **_rows_axis(rows, unit, ticks=ticks)},
        yaxis2={"domain": [0.76, 1.0], "range": [-peak, peak], "showticklabels": False,
                "zeroline": False},
    )  # fmt: skip
    return make_figure(traces, layout)


def _grid(n_cols: int, n_rows: int, gap_x: float = 0.08, gap_y: float = 0.16) -> list[dict]:
    """Axis pairs of an n_rows x n_cols grid, left to right then top to bottom: each
    {"x": "x2", "y": "y2", "xdomain": [...], "ydomain": [...]}."""
    w = (1 - gap_x * (n_cols - 1)) / n_cols
    h = (1 - gap_y * (n_rows - 1)) / n_rows
    cells = []
    for r in range(n_rows):
        for c in range(n_cols):
            k = r * n_cols + c + 1
            x0, top = c * (w + gap_x), 1 - r * (h + gap_y)
            cells.append(
                {
                    "x": "x" if k == 1 else f"x{k}",
                    "y": "y" if k == 1 else f"y{k}",
                    "name": "" if k == 1 else str(k),
                    "xdomain": [round(x0, 6), round(min(x0 + w, 1), 6)],
                    "ydomain": [round(max(top - h, 0), 6), round(top, 6)],
                }
            )
    return cells


def _panel_title(cell: dict, text: str) -> dict[str, Any]:
    return {
        "text": f"<b>{text}</b>", "x": cell["xdomain"][0], "y": cell["ydomain"][1],
        "xref": "paper", "yref": "paper", "xanchor": "left", "yanchor": "bottom",
        "showarrow": False, "font": {"size": 12},
    }  # fmt: skip


def steps_figure(
    steps: dict[str, np.ndarray],
    sample_rate: int,
    window: int,
    hop: int,
    mel_rows: np.ndarray,
    stft_rows: np.ndarray,
    height: int = 460,
    cols: int = 2,
) -> go.Figure:
    """One clip through every step: the wave, its STFT (power in dB), the mel spectrogram and
    the MFCCs, in a grid of `cols` columns."""
    wave = np.asarray(steps["wave"], dtype=np.float32)
    t_wave = np.arange(len(wave)) / sample_rate
    t_frames = np.arange(steps["stft_db"].shape[1]) * hop / sample_rate
    cells = _grid(cols, -(-4 // cols))
    tw, w = thin_out(t_wave, wave, n=1600)
    traces = [
        {"type": "scattergl" if len(tw) > 2000 else "scatter", "x": f32(tw), "y": f32(w),
         "mode": "lines", "line": {"width": 1, "color": RUN_COLORS[0]}, "hoverinfo": "skip",
         "xaxis": cells[0]["x"], "yaxis": cells[0]["y"]},
    ]  # fmt: skip
    for cell, name in zip(cells[1:], ("stft_db", "mel_db", "mfcc")):
        traces.append(spectrogram_trace(steps[name], t_frames, cell["x"], cell["y"]))
    titles = [
        "1. the wave",
        f"2. STFT: {window / sample_rate * 1000:g} ms windows every {hop / sample_rate * 1000:g} ms (dB)",
        f"3. mel spectrogram: {len(mel_rows)} bands (dB)",
        f"4. MFCC: {steps['mfcc'].shape[0]} coefficients",
    ]
    layout = base_layout(height, showlegend=False)
    layout["margin"] = {"l": 10, "r": 10, "t": 26, "b": 10}
    notes = []
    for i, cell in enumerate(cells[:4]):
        n = cell["name"]
        yaxis: dict[str, Any] = {"domain": cell["ydomain"], "anchor": cell["x"]}
        if i == 1:
            yaxis.update(_rows_axis(stft_rows, "Hz"))
        elif i == 2:
            yaxis.update(_rows_axis(mel_rows, "Hz"))
        elif i == 3:
            yaxis.update({"title": {"text": "coefficient"}})
        else:
            yaxis.update({"title": {"text": "amplitude"}})
        layout[f"xaxis{n}"] = {
            "domain": cell["xdomain"], "anchor": cell["y"],
            "title": {"text": "seconds", "standoff": 2},
        }  # fmt: skip
        layout[f"yaxis{n}"] = yaxis
        notes.append(_panel_title(cell, titles[i]))
    layout["annotations"] = notes
    return make_figure(traces, layout)


def explain_figure(
    spec: np.ndarray,
    saliency: np.ndarray,
    cam: np.ndarray,
    times: np.ndarray,
    rows: np.ndarray,
    unit: str = "Hz",
    layer: str = "",
    height: int = 250,
) -> go.Figure:
    """Where a spectrogram network listened: the clip's features (H, T), the saliency map and
    the Grad-CAM heat laid over the features (both (H, T) in [0, 1]), side by side."""
    cells = _grid(3, 1, gap_x=0.05)
    traces = [
        spectrogram_trace(spec, times, cells[0]["x"], cells[0]["y"]),
        spectrogram_trace(saliency, times, cells[1]["x"], cells[1]["y"], colorscale="Magma",
                          zmin=0, zmax=1),
        spectrogram_trace(spec, times, cells[2]["x"], cells[2]["y"], colorscale="Greys",
                          reversescale=True),
        spectrogram_trace(cam, times, cells[2]["x"], cells[2]["y"], colorscale=HEAT_SCALE,
                          zmin=0, zmax=1),
    ]  # fmt: skip
    layout = base_layout(height, showlegend=False)
    layout["margin"] = {"l": 10, "r": 10, "t": 26, "b": 10}
    titles = ["what it reads", "saliency", f"Grad-CAM ({layer})" if layer else "Grad-CAM"]
    for i, cell in enumerate(cells):
        n = cell["name"]
        layout[f"xaxis{n}"] = {"domain": cell["xdomain"], "anchor": cell["y"],
                               "title": {"text": "seconds", "standoff": 2}}  # fmt: skip
        layout[f"yaxis{n}"] = {"domain": cell["ydomain"], "anchor": cell["x"],
                               **_rows_axis(rows, unit, title=i == 0),
                               "showticklabels": i == 0}  # the rows are the same in all three  # fmt: skip
    layout["annotations"] = [_panel_title(c, t) for c, t in zip(cells, titles)]
    return make_figure(traces, layout)


def wave_explain_figure(
    wave: np.ndarray, saliency: np.ndarray, cam: np.ndarray, sample_rate: int, height: int = 260
) -> go.Figure:
    """Where a wave network listened: the wave, with its saliency (smoothed over 10 ms) and
    Grad-CAM over time under it."""
    t = np.arange(len(wave)) / sample_rate
    k = max(1, sample_rate // 100)
    smooth = np.convolve(np.asarray(saliency, dtype=np.float64), np.ones(k) / k, mode="same")
    smooth = smooth / smooth.max() if smooth.max() > 0 else smooth
    tw, w, s, c = thin_out(t, np.asarray(wave), smooth, np.asarray(cam), n=1600)
    traces = [
        {"type": "scatter", "x": f32(tw), "y": f32(w), "mode": "lines", "name": "wave",
         "line": {"width": 1, "color": "#888888"}, "hoverinfo": "skip"},
        {"type": "scatter", "x": f32(tw), "y": f32(c), "mode": "lines", "name": "Grad-CAM",
         "line": {"width": 2, "color": RUN_COLORS[3]}, "xaxis": "x", "yaxis": "y2"},
        {"type": "scatter", "x": f32(tw), "y": f32(s), "mode": "lines", "name": "saliency",
         "line": {"width": 1.5, "color": RUN_COLORS[0]}, "xaxis": "x", "yaxis": "y2"},
    ]  # fmt: skip
    layout = base_layout(
        height,
        xaxis={"title": {"text": "seconds"}},
        yaxis={"domain": [0.55, 1.0], "title": {"text": "wave"}},
        yaxis2={"domain": [0.0, 0.45], "range": [0, 1.05], "title": {"text": "heat"}},
        legend={"orientation": "h", "y": 1.08, "x": 0},
    )
    return make_figure(traces, layout)


def occlusion_figure(result: dict[str, float], class_name: str, height: int = 190) -> go.Figure:
    """The occlusion check: the class's probability as the clip is, with the highlighted
    cells hidden, and with the same patch hidden elsewhere."""
    share = f"{result['share']:.0%}"
    names = ["as it is", f"top {share} of Grad-CAM hidden", "the same patch elsewhere"]
    values = [result["before"], result["highlighted_hidden"], result["random_hidden"]]
    colors = [RUN_COLORS[0], RUN_COLORS[3], "#9bbcd6"]
    traces = [
        {"type": "bar", "orientation": "h", "x": values, "y": names, "marker": {"color": colors},
         "text": [f"{v:.1%}" for v in values], "textposition": "outside", "cliponaxis": False,
         "hovertemplate": "%{y}: %{x:.2%}<extra></extra>"},
    ]  # fmt: skip
    layout = base_layout(
        height,
        f"P({class_name})",
        xaxis={"range": [0, 1.32], "tickformat": ".0%"},  # room for "100.0%" beside a bar
        yaxis={"autorange": "reversed", "type": "category"},
        showlegend=False,
        bargap=0.3,
    )
    return make_figure(traces, layout)


def wave_maps_figure(snapshot: Any, height_per_layer: int = 110) -> go.Figure:
    """A 1-D CNN's activations of one clip: each layer's (channels x time) as one heat map,
    first layer on top."""
    names = [n for n, m in snapshot.maps.items() if np.asarray(m).ndim == 2]
    if not names:
        return make_figure([], base_layout(60, "No activations yet"))
    cells = _grid(1, len(names), gap_y=0.12 if len(names) > 1 else 0.0)
    traces, notes = [], []
    layout = base_layout(height_per_layer * len(names) + 20, showlegend=False)
    layout["margin"] = {"l": 10, "r": 10, "t": 24, "b": 10}
    for cell, name in zip(cells, names):
        maps = np.asarray(snapshot.maps[name], dtype=np.float32)  # (C, t)
        traces.append(
            {"type": "heatmap", "z": f32(maps), "colorscale": SPECTRO_SCALE, "showscale": False,
             "xaxis": cell["x"], "yaxis": cell["y"], "zmin": 0,
             "hovertemplate": "step %{x}, channel %{y}: %{z:.2f}<extra></extra>"}
        )  # fmt: skip
        n = cell["name"]
        layout[f"xaxis{n}"] = {"domain": cell["xdomain"], "anchor": cell["y"], "visible": False}
        layout[f"yaxis{n}"] = {"domain": cell["ydomain"], "anchor": cell["x"], "visible": False}
        real = snapshot.channels.get(name, len(maps))
        notes.append(
            _panel_title(cell, f"{name} - {real} channels x {maps.shape[1]} steps")
            | {"font": {"size": 11}}
        )
    layout["annotations"] = notes
    return make_figure(traces, layout)


def wave_filters_figure(weights: np.ndarray, sample_rate: int, height: int = 240) -> go.Figure:
    """What each first-layer filter of a wave network listens to: its gain (dB) at each
    frequency, one row per filter, sorted by the frequency it passes best."""
    w = np.asarray(weights, dtype=np.float64)[:, 0, :]  # (C, k)
    n_fft = 256
    gain = np.abs(np.fft.rfft(w, n=n_fft, axis=1))
    db = 20 * np.log10(np.maximum(gain / max(gain.max(), 1e-12), 1e-4))
    order = np.argsort(np.argmax(gain, axis=1), kind="stable")
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    traces = [
        {"type": "heatmap", "z": f32(db[order]), "x": f32(freqs), "colorscale": SPECTRO_SCALE,
         "zmin": -40, "zmax": 0, "showscale": False,
         "hovertemplate": "%{x:.0f} Hz: %{z:.0f} dB<extra></extra>"},
    ]  # fmt: skip
    layout = base_layout(
        height,
        xaxis={"title": {"text": "Hz"}},
        yaxis={"title": {"text": "filter (by peak)"}, "showticklabels": False},
    )
    return make_figure(traces, layout)
