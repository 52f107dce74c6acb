"""The Generative lab's canvas: a distribution a person paints with the lasso, a box or clicks
(or gives as a CSV of points), then trains any family on. Keys start with ``gn_draw``.

The drawing is a set of points with weights (`dlviz.data.gen2d`'s ``drawn``): painting a cell
adds its centre, or one more weight to it; erasing removes every point inside the cells
selected. A run on it reads the drawing from a CSV named by its content
(`dlviz.data.gen2d.save_drawing`), its ``data.path``, so the run can be repeated with
``dlviz train`` and rebuilt on the Runs page.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dlviz.data import gen2d
from dlviz.labs.generative.figures import canvas_figure
from dlviz.text import plural
from dlviz.ui import layout, live, upload_budget

POINTS = "gn_draw_points"  # (K, 2) float32: the drawing's points
WEIGHTS = "gn_draw_weights"  # (K,) float32
UNDO = "gn_draw_undo"  # earlier (points, weights), newest last
STROKES = "gn_draw_strokes"  # strokes applied: the canvas chart's key, fresh after each one
SAVED = "gn_draw_saved"  # (points, weights) -> the CSV path they were written to
NOTE = "gn_draw_note"  # what the last upload or stroke did, in words
MODE = "gn_draw_mode"
MAX_UNDO = 20
SIDE = len(np.unique(gen2d.canvas()[:, 0]))  # 41 cells a side


def _cells() -> np.ndarray:
    return gen2d.canvas()


def starter() -> tuple[np.ndarray, np.ndarray]:
    """The drawing a person starts from: a smiling face (two eyes and a mouth) in canvas
    cells, to show at once what a drawing can be; Clear empties it."""
    cells = _cells()
    x, y = cells[:, 0], cells[:, 1]
    eyes = (np.hypot(x + 0.8, y - 0.7) <= 0.3) | (np.hypot(x - 0.8, y - 0.7) <= 0.3)
    r = np.hypot(x, y + 0.1)
    mouth = (np.abs(r - 1.2) <= 0.12) & (y < -0.5)
    keep = eyes | mouth
    return cells[keep].copy(), np.ones(int(keep.sum()), dtype=np.float32)


def init() -> None:
    ss = st.session_state
    if POINTS not in ss:
        ss[POINTS], ss[WEIGHTS] = starter()
    ss.setdefault(UNDO, [])
    ss.setdefault(STROKES, 0)
    ss.setdefault(MODE, "paint")


def drawing() -> tuple[np.ndarray, np.ndarray]:
    init()
    return st.session_state[POINTS], st.session_state[WEIGHTS]


def is_empty() -> bool:
    return len(drawing()[0]) == 0


def density() -> np.ndarray:
    """The drawing's weight in each canvas cell (SIDE x SIDE, rows y, columns x)."""
    points, weights = drawing()
    idx = np.clip(np.rint((points + 2.0) / gen2d.DRAW_CELL), 0, SIDE - 1).astype(int)
    grid = np.zeros((SIDE, SIDE), dtype=np.float32)
    inside = (np.abs(points) <= 2.0 + gen2d.DRAW_CELL / 2).all(axis=1)
    np.add.at(grid, (idx[inside, 1], idx[inside, 0]), weights[inside])
    return grid


def saved_path() -> str:
    """The drawing as a CSV named by its content (written once), the data.path of a run."""
    points, weights = drawing()
    key = (points.tobytes(), weights.tobytes())
    kept = st.session_state.get(SAVED)
    if kept is not None and kept[0] == key:
        return kept[1]
    path = gen2d.save_drawing(points, weights)
    st.session_state[SAVED] = (key, path)
    return path


def _set(points: np.ndarray, weights: np.ndarray, note: str) -> None:
    ss = st.session_state
    ss[UNDO] = (ss[UNDO] + [(ss[POINTS], ss[WEIGHTS])])[-MAX_UNDO:]
    ss[POINTS], ss[WEIGHTS] = points.astype(np.float32), weights.astype(np.float32)
    ss[NOTE] = note


def apply(selected: list[int], erase: bool) -> None:
    """Paint (one more weight) or erase the canvas cells with these indices."""
    if not selected:
        return
    cells = _cells()
    chosen = np.unique(np.asarray(selected, dtype=int))
    chosen = chosen[(chosen >= 0) & (chosen < len(cells))]
    points, weights = drawing()
    if erase:
        hit = np.zeros(len(points), dtype=bool)
        for c in cells[chosen]:
            hit |= (np.abs(points - c) <= gen2d.DRAW_CELL / 2 + 1e-6).all(axis=1)
        if hit.any():
            _set(points[~hit], weights[~hit], f"Erased {plural(int(hit.sum()), 'point')}.")
        return
    new_points, new_weights = points.copy(), weights.copy()
    added = []
    for c in cells[chosen]:
        same = np.flatnonzero((np.abs(new_points - c) < 1e-4).all(axis=1))
        if len(same):
            new_weights[same[0]] += 1.0
        else:
            added.append(c)
    if added:
        new_points = np.concatenate([new_points, np.asarray(added, np.float32)])
        new_weights = np.concatenate([new_weights, np.ones(len(added), np.float32)])
    _set(new_points, new_weights, f"Painted {plural(len(chosen), 'cell')}.")


def _on_select() -> None:
    """The chart's selection, applied once: the next canvas has a new key, so its selection
    starts empty and a stroke is never applied twice."""
    ss = st.session_state
    event = ss.get(f"gn_canvas_{ss[STROKES]}")
    selection = (event or {}).get("selection", {}) if isinstance(event, dict) else {}
    if not selection and event is not None:
        selection = getattr(event, "selection", {}) or {}
    points = selection.get("points", []) if isinstance(selection, dict) else []
    picked = [
        int(p.get("point_index", p.get("point_number", -1)))
        for p in points
        if int(p.get("curve_number", 0)) == 0
    ]
    if picked:
        apply(picked, erase=ss[MODE] == "erase")
        ss[STROKES] += 1


def _undo() -> None:
    ss = st.session_state
    if ss[UNDO]:
        ss[POINTS], ss[WEIGHTS] = ss[UNDO].pop()
        ss[NOTE] = "Undone."
        ss[STROKES] += 1


def _clear() -> None:
    points, _ = drawing()
    if len(points):
        _set(np.zeros((0, 2), np.float32), np.zeros(0, np.float32), "Cleared.")
        st.session_state[STROKES] += 1


def _smile() -> None:
    _set(*starter(), "The starting face again.")
    st.session_state[STROKES] += 1


def _upload() -> None:
    ss = st.session_state
    file = ss.get("gn_draw_file")
    if file is None:
        upload_budget.release("gn_draw_file")
        return
    # the file counts against the session's upload budget while its uploader holds it
    if problem := upload_budget.claim("gn_draw_file", file.size, "Generative", file.name):
        ss[NOTE] = f"error:{problem} Your drawing is as it was."
        return
    try:
        points, weights, note = gen2d.parse_points(file.getvalue(), file.name)
    except gen2d.PointsError as e:
        ss[NOTE] = f"error:{e}. Your drawing is as it was."
        return
    told = f"Read {plural(len(points), 'point')} from {file.name}" + (f"; {note}" if note else "")
    _set(points, weights, told + ".")
    ss[STROKES] += 1


def controls(disabled: bool = False) -> None:
    """The canvas, its brush (paint or erase), Undo, Clear, the starting face, a points file
    in and the drawing out."""
    init()
    ss = st.session_state
    head = layout.row("gn_draw_head")
    head.segmented_control(
        "Brush",
        ["paint", "erase"],
        format_func=str.capitalize,
        key=MODE,
        required=True,
        disabled=disabled,
        label_visibility="collapsed",
    )
    head.button("Undo", key="gn_draw_undo_btn", icon=":material/undo:", on_click=_undo,
                disabled=disabled or not ss[UNDO])  # fmt: skip
    head.button("Clear", key="gn_draw_clear", icon=":material/delete:", on_click=_clear,
                disabled=disabled or is_empty())  # fmt: skip
    head.button("Face", key="gn_draw_face", icon=":material/mood:", on_click=_smile,
                disabled=disabled, help="Start again from the smiling face.")  # fmt: skip
    erase = ss[MODE] == "erase"
    fig = canvas_figure(_cells(), density(), erase=erase)
    st.plotly_chart(
        fig,
        key=f"gn_canvas_{ss[STROKES]}",
        on_select="ignore" if disabled else _on_select,
        selection_mode=("lasso", "box", "points"),
        config={**live.CHART_CONFIG, "displayModeBar": True, "displaylogo": False,
                "modeBarButtonsToRemove": ["zoom2d", "pan2d", "autoScale2d", "toImage"]},
    )  # fmt: skip
    points, weights = drawing()
    note = ss.get(NOTE, "")
    if note.startswith("error:"):
        st.error(note.removeprefix("error:"), icon=":material/error:")
    st.caption(
        ("Drag a lasso round cells to erase them" if erase else "Drag a lasso round cells to "
         "paint them (a cell painted twice weighs twice)")
        + "; the toolbar's box does rectangles, a click one cell. "
        + (f"The drawing: {plural(len(points), 'point')}, weight {weights.sum():g}."
           if len(points) else "The drawing is empty.")
        + (f" {note}" if note and not note.startswith("error:") else "")
    )  # fmt: skip
    c1, c2 = st.columns(2)
    c1.file_uploader(
        "Points from a CSV",
        type=["csv", "txt"],
        key="gn_draw_file",
        on_change=_upload,
        max_upload_size=gen2d.MAX_POINTS_BYTES // 1_000_000,
        disabled=disabled,
        help="Rows of x,y (and optionally a weight), a header allowed; points outside "
        "[-2.5, 2.5] are moved and scaled to fit. It replaces the drawing (Undo brings it back).",
    )
    c2.download_button(
        "Download the drawing",
        gen2d.points_csv(points, weights),
        file_name="drawing.csv",
        mime="text/csv",
        key="gn_draw_download",
        icon=":material/download:",
        disabled=not len(points),
        help="A CSV of x,y,weight: upload it here again, or train on it with dlviz train "
        '(data.name "drawn", data.path the file).',
    )
