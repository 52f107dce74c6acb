"""`live_chart(fig, key)`: a Plotly chart that updates in place.

`st.plotly_chart` gives every new figure a new element identity, so a chart redrawn twice a
second is torn down and built again each time: it blinks, and the browser redraws everything
from scratch. This component keeps one iframe per key and hands each new figure to
`Plotly.react`, which updates the drawing in place.

The iframe loads the plotly.js that the installed `plotly` package ships (no network), copied
next to `index.html` in a cache folder on first use.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components

_HERE = Path(__file__).resolve().parent


def _asset_dir() -> Path:
    """A folder holding index.html and plotly.min.js, made once per plotly version."""
    source = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dlviz"
    for root in (base, Path(tempfile.gettempdir()) / "dlviz-cache"):
        folder = root / f"livechart-{plotly.__version__}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            js = folder / "plotly.min.js"
            if not js.exists() or js.stat().st_size != source.stat().st_size:
                tmp = folder / ".plotly.min.js.tmp"
                shutil.copyfile(source, tmp)
                os.replace(tmp, js)
            shutil.copyfile(_HERE / "index.html", folder / "index.html")
            return folder
        except OSError:
            continue
    raise OSError("no writable cache folder for the live chart's plotly.js")


@st.cache_resource(show_spinner=False)
def _component():
    return components.declare_component("dlviz_live_chart", path=str(_asset_dir()))


def live_chart(fig: go.Figure, key: str, height: int | None = None) -> None:
    """Draw `fig` under `key`; later calls with the same key update the same chart."""
    h = int(height or fig.layout.height or 350)
    _component()(spec=fig.to_json(), height=h, key=key, default=None)
