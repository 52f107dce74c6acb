"""Raster images and feature maps, drawn as PNG layouts rather than heatmaps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dlviz.figures.theme import base_layout, make_figure
from dlviz.text import plural

# --- images ---------------------------------------------------------------------------------------
# Image-heavy figures are drawn as one PNG each (encoded here with zlib, no imaging library), laid
# under an invisible axis with captions as annotations: a grid of 64 feature maps is one small
# image, not 64 heatmaps.


def png_bytes(pixels: np.ndarray) -> bytes:
    """PNG file bytes of a uint8 image: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA."""
    import struct
    import zlib

    img = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = img.shape[:2]
    color_type = {3: 2, 4: 6}[img.shape[2]] if img.ndim == 3 else 0
    raw = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, -1)], axis=1).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return (
            struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 1))  # fast: a live figure is rebuilt often
        + chunk(b"IEND", b"")
    )


def _data_uri(pixels: np.ndarray) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode()


_VIRIDIS = np.array(
    [[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
     [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]],
    dtype=np.float32,
)  # fmt: skip


_DIVERGING = np.array([[245, 147, 34], [247, 247, 247], [8, 119, 189]], dtype=np.float32)


def _lut(stops: np.ndarray) -> np.ndarray:
    """256 RGB colours interpolated evenly through `stops`."""
    pos = np.linspace(0.0, len(stops) - 1, 256)
    i = np.minimum(pos.astype(int), len(stops) - 2)
    frac = (pos - i)[:, None]
    return (stops[i] * (1 - frac) + stops[i + 1] * frac).round().astype(np.uint8)


_LUTS = {False: _lut(_VIRIDIS), True: _lut(_DIVERGING)}


def colorize(values: np.ndarray, lo: float, hi: float, diverging: bool = False) -> np.ndarray:
    """Map `values` in [lo, hi] to RGB uint8 (viridis, or orange-white-blue when diverging),
    through a 256-colour table; NaN counts as 0."""
    v = np.asarray(values, dtype=np.float32)
    t = (np.nan_to_num(v) - lo) * (255.0 / max(hi - lo, 1e-12))
    index = np.clip(t + 0.5, 0, 255).astype(np.uint8)
    return _LUTS[diverging][index]


def to_rgb(img: np.ndarray) -> np.ndarray:
    """(C, H, W) float in [0, 1] (C = 1 or 3) -> (H, W, 3) uint8."""
    img = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
    rgb = np.repeat(img, 3, axis=0) if img.shape[0] == 1 else img[:3]
    return (rgb.transpose(1, 2, 0) * 255).round().astype(np.uint8)


def _zoom(tile: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of an (H, W[, 3]) tile, or a stack (N, H, W[, 3]) of them, to
    side `size`."""
    stacked = tile.ndim == 4 or (tile.ndim == 3 and tile.shape[-1] != 3)
    h, w = tile.shape[1:3] if stacked else tile.shape[:2]
    rows = (np.arange(size) * h // size).clip(0, h - 1)
    cols = (np.arange(size) * w // size).clip(0, w - 1)
    return tile[:, rows][:, :, cols] if stacked else tile[rows][:, cols]


def _mosaic(tiles: Any, cols: int, gap: int = 2) -> np.ndarray:
    """Equal-size (s, s, 3) tiles (a list, or one (N, s, s, 3) array) in rows of `cols`, `gap`
    pixels apart, as one RGBA image: the gaps are transparent, so the page's own background,
    light or dark, shows between the tiles (and behind the captions laid over them)."""
    tiles = np.asarray(tiles, dtype=np.uint8)
    n, s = len(tiles), tiles.shape[1]
    rows = -(-n // cols)
    grid = np.zeros((rows * cols, s + gap, s + gap, 4), np.uint8)
    grid[:n, :s, :s, :3] = tiles
    grid[:n, :s, :s, 3] = 255
    grid = grid.reshape(rows, cols, s + gap, s + gap, 4).transpose(0, 2, 1, 3, 4)
    out = grid.reshape(rows * (s + gap), cols * (s + gap), 4)
    return np.ascontiguousarray(out[: rows * (s + gap) - gap, : cols * (s + gap) - gap])


def _clear(h: int, w: int) -> np.ndarray:
    """A transparent (h, w) strip of an RGBA image."""
    return np.zeros((h, w, 4), np.uint8)


def _image_figure(
    pixels: np.ndarray, annotations: list[dict], title: str | None, height: int | None
) -> go.Figure:
    h, w = pixels.shape[:2]
    traces = [{"type": "image", "source": _data_uri(pixels), "hoverinfo": "skip"}]
    layout = base_layout(
        height or int(h * min(1.0, 720 / max(w, 1))) + (40 if title else 10),
        title,
        xaxis={"visible": False, "range": [0, w], "constrain": "domain"},
        yaxis={"visible": False, "range": [h, 0], "scaleanchor": "x", "constrain": "domain"},
        annotations=annotations,
    )
    return make_figure(traces, layout)


def image_grid_figure(
    images: np.ndarray,
    captions: Sequence[str] = (),
    cols: int = 8,
    tile: int = 64,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Images (N, C, H, W) in [0, 1] as a grid, each with an optional caption under it."""
    images = np.asarray(images)
    if len(images) == 0:
        return make_figure([], base_layout(60, title or "No images"))
    cols = max(1, min(cols, len(images)))
    caption_px = 16 if len(captions) else 0
    gap = 4 + caption_px
    tiles = [_zoom(to_rgb(img), tile) for img in images]
    mosaic = _mosaic(tiles, cols, gap=gap)
    if caption_px:  # room under the last row too
        mosaic = np.concatenate([mosaic, _clear(caption_px, mosaic.shape[1])])
    notes = [
        {
            "x": (k % cols) * (tile + gap) + tile / 2,
            "y": (k // cols) * (tile + gap) + tile + 2,
            "text": text,
            "showarrow": False,
            "yanchor": "top",
            "font": {"size": 10},
        }
        for k, text in enumerate(captions)
    ]
    return _image_figure(mosaic, notes, title, height)


def feature_maps_figure(
    snapshot: Any, layers: Sequence[str] | None = None, cols: int = 16, tile: int = 28
) -> go.Figure:
    """Every layer's activations for one image: a row of channel images per layer, each layer on
    one colour scale (its own 0 to largest), so strong and weak channels compare at a glance."""
    names = [n for n in (layers or list(snapshot.maps)) if n in snapshot.maps]
    if not names:
        return make_figure([], base_layout(60, "No feature maps yet"))
    label_px = 18
    blocks, notes, y = [], [], 0
    width = cols * (tile + 2) - 2
    for name in names:
        maps = np.asarray(snapshot.maps[name], dtype=np.float32)  # (C, h, w)
        lo, hi = float(min(maps.min(), 0.0)), float(max(maps.max(), 1e-6))
        diverging = lo < 0
        if diverging:
            lo, hi = -max(-lo, hi), max(-lo, hi)
        mosaic = _mosaic(_zoom(colorize(maps, lo, hi, diverging), tile), cols)
        if mosaic.shape[1] < width:
            mosaic = np.pad(mosaic, ((0, 0), (0, width - mosaic.shape[1]), (0, 0)))
        real = snapshot.channels.get(name, len(maps))
        first = getattr(snapshot, "first_channel", {}).get(name, 0)
        shown = (
            f"channels {first + 1}-{first + len(maps)} of {real}"
            if real > len(maps)
            else plural(real, "channel")
        )
        h, w = maps.shape[1:]
        notes.append(
            {"x": 0, "y": y + 2, "text": f"<b>{name}</b> - {shown}, {h}x{w}, scale 0 to {hi:.2g}"
             if not diverging else f"<b>{name}</b> - {shown}, {h}x{w}, scale ±{hi:.2g}",
             "showarrow": False, "xanchor": "left", "yanchor": "top", "font": {"size": 11}}
        )  # fmt: skip
        blocks += [_clear(label_px, width), mosaic, _clear(6, width)]
        y += label_px + mosaic.shape[0] + 6
    return _image_figure(np.concatenate(blocks), notes, None, None)


def filters_figure(weights: np.ndarray, tile: int = 40, cols: int = 16) -> go.Figure:
    """First-layer filters (C_out, C_in, k, k) as images: RGB for 3 input channels (each filter
    scaled to its own range), else a diverging map of the first input channel (orange negative,
    blue positive)."""
    w = np.asarray(weights, dtype=np.float32)
    tiles = []
    for f in w:
        if f.shape[0] == 3:
            lo, hi = f.min(), f.max()
            tiles.append(_zoom(to_rgb((f - lo) / max(hi - lo, 1e-12)), tile))
        else:
            m = float(np.abs(f[0]).max()) or 1.0
            tiles.append(_zoom(colorize(f[0], -m, m, diverging=True), tile))
    return _image_figure(_mosaic(tiles, min(cols, len(tiles))), [], None, None)
