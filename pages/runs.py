"""Runs: every run ever trained here, in one table; reopen one, or compare 2 to 10 side by side."""

import streamlit as st

from dlviz import text
from dlviz.labs.runs import view as runs_view
from dlviz.labs.runs import widgets as runs_widgets
from dlviz.ui import state, url_state

state.ensure_app()
runs_widgets.init()

st.title("Runs")
st.caption(runs_widgets.page_caption())
url_state.notice("rs")
runs_widgets.show_flash()
runs_widgets.import_box()
rows = runs_widgets.list_rows()
if rows is not None and not rows:
    runs_widgets.empty_message()
elif rows:
    shown = runs_widgets.filters(rows)
    selected = runs_widgets.table(shown)
    st.caption(
        f"{len(shown)} of {text.plural(len(rows), 'run')} shown; click the column headers to sort, the boxes "
        "on the left to select."
    )
    if len(selected) == 1:
        st.divider()
        runs_view.run_details(selected[0])
    elif len(selected) > 1:
        st.divider()
        runs_view.compare(selected)
