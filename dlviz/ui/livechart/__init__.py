"""`live_chart(fig, key)`: a Plotly chart that updates in place.

`st.plotly_chart` gives every new figure a new element identity, so a chart redrawn twice a
second is torn down and built again each time: it blinks, and the browser redraws everything
from scratch. This component (Streamlit components v2: it renders in the page itself, not in a
frame) keeps one element per key and hands each new figure to `Plotly.react`, which updates
the drawing in place.

plotly.js (the copy the installed `plotly` package ships; no network) is loaded once per
browser tab and shared by every chart. `preload()` starts loading it before any chart is on the
page, so the first chart of the first run draws at once. The file is served from a cache folder
through a Streamlit v1 component path (`/component/<name>/plotly.min.js`), which serves a
folder's files with public caching.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components_v1

_HERE = Path(__file__).resolve().parent
PLOTLY_FILE = "plotly.min.js"


def _asset_dir() -> Path:
    """A folder holding plotly.min.js, made once per plotly version."""
    source = Path(plotly.__file__).resolve().parent / "package_data" / PLOTLY_FILE
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dlviz"
    for root in (base, Path(tempfile.gettempdir()) / "dlviz-cache"):
        folder = root / f"livechart-{plotly.__version__}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            js = folder / PLOTLY_FILE
            if not js.exists() or js.stat().st_size != source.stat().st_size:
                tmp = folder / f".{PLOTLY_FILE}.{os.getpid()}.tmp"
                shutil.copyfile(source, tmp)
                os.replace(tmp, js)
            return folder
        except OSError:
            continue
    raise OSError("no writable cache folder for the live chart's plotly.js")


@st.cache_resource(show_spinner=False)
def _plotly_url() -> str:
    """Where the browser fetches plotly.js: a v1 component's folder, served by Streamlit."""
    assets = components_v1.declare_component("dlviz_plotly_js", path=str(_asset_dir()))
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"{prefix}/component/{assets.name}/{PLOTLY_FILE}"


@st.cache_resource(show_spinner=False)
def _component():
    js = (_HERE / "livechart.js").read_text(encoding="utf-8")
    return st.components.v2.component("dlviz_live_chart", js=js, isolate_styles=False)


def live_chart(fig: go.Figure, key: str, height: int | None = None, spec: str = "") -> None:
    """Draw `fig` under `key`; later calls with the same key update the same chart. Loss curves
    (a key ending in "_curves") are drawn before the page's other charts: they are what a
    person watches first. `spec`: `fig.to_json()` when the caller has it already."""
    h = int(height or fig.layout.height or 350)
    data = {"spec": spec or fig.to_json(), "height": h, "plotly_url": _plotly_url(), "key": key}
    data["priority"] = 0 if key.endswith("_curves") else 1
    _component()(data=data, key=key)


def preload(key: str = "dlviz_plotly_preload") -> None:
    """Start loading plotly.js in this browser tab (an empty element, no height)."""
    _component()(data={"preload": True, "plotly_url": _plotly_url()}, key=key)
