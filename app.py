"""dlviz's Streamlit entry: page config, navigation and the sidebar every page shares.

Run it with `./dev.sh dashboard` or `dlviz ui`. An installed wheel carries this file, pages/
and .streamlit/ as dlviz/dashboard/ (see pyproject.toml). A plain `streamlit run app.py` works
too, but its first visitor briefly sees pages/' file names as the menu (dlviz.ui.server).
"""

import streamlit as st

from dlviz.ui import layout
from dlviz.ui.sidebar import shared_sidebar
from dlviz.ui.state import mark_app_ran, warm_up

st.set_page_config(page_title="dlviz", page_icon="🧠", layout="wide")
layout.apply()  # layouts that read at any width; the sidebar folded on a narrow window

PAGES = [
    st.Page("pages/home.py", url_path="home", title="Home", icon=":material/home:", default=True),
    st.Page(
        "pages/playground.py",
        url_path="playground",
        title="Playground",
        icon=":material/scatter_plot:",
    ),
    st.Page("pages/images.py", url_path="images", title="Images", icon=":material/image:"),
    st.Page(
        "pages/uploads.py", url_path="uploads", title="Your images", icon=":material/photo_library:"
    ),
    st.Page(
        "pages/depth.py", url_path="depth", title="Depth", icon=":material/stacked_line_chart:"
    ),
    st.Page("pages/transfer.py", url_path="transfer", title="Transfer", icon=":material/move_up:"),
    st.Page("pages/sequences.py", url_path="sequences", title="Sequences", icon=":material/notes:"),
    st.Page("pages/sound.py", url_path="sound", title="Sound", icon=":material/graphic_eq:"),
    st.Page(
        "pages/generative.py",
        url_path="generative",
        title="Generative",
        icon=":material/auto_awesome:",
    ),
    st.Page("pages/sweeps.py", url_path="sweeps", title="Sweeps", icon=":material/tune:"),
    st.Page("pages/runs.py", url_path="runs", title="Runs", icon=":material/history:"),
    st.Page("pages/devices.py", url_path="devices", title="Devices", icon=":material/speed:"),
]
page = st.navigation(PAGES)
mark_app_ran()
shared_sidebar()
page.run()
# After the page is drawn, so a new visitor does not wait for it; once per server process.
warm_up()
