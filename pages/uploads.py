"""Your images: make classes from your own pictures, train a CNN on them, and ask it about a
new picture - what it says, and where it looked."""

import streamlit as st

from dlviz import text
from dlviz.labs.uploads import view as uploads_view
from dlviz.labs.uploads import widgets as uploads
from dlviz.ui import fields, layout, live, state, upload_budget, url_state
from dlviz.ui.widgets import training_controls

state.ensure_app()
uploads.init()
lim, limit_problem = uploads.limits()

st.title("Your images")
st.caption(
    "Make a class for each kind of picture, add a few dozen photos to each, and train a "
    "convolutional network on them: watch its feature maps of your own pictures, then show it "
    "a new one and see where it looked."
)
url_state.notice("up")

settings, main = layout.split("up")
with settings:
    tab_data, tab_net, tab_train = st.tabs(["Data", "Network", "Training"])
    with tab_data:
        uploads.data_controls()
    with tab_net:
        uploads.network_settings()
    with tab_train:
        training_controls("up")

with main:
    st.subheader("Classes")
    uploads.add_class_row()
    with st.container():
        if limit_problem:
            st.error(limit_problem, icon=":material/error:")
        uploads.report()
    names = list(uploads.image_set().classes)
    for row in range(0, len(names), 2):
        cols = layout.columns(2, key=f"up_classes_{row}", min_width=260, gap="small")
        for col, name in zip(cols, names[row : row + 2]):
            with col:
                uploads.class_panel(name, lim)
    c1, c2 = layout.columns(2, key="up_sources", min_width=260, gap="medium")
    with c1:
        uploads.zip_uploader(lim)
    with c2:
        uploads.camera(lim)
    st.caption(
        f"Accepted: {uploads.accepted_types()}; any size, colour mode or orientation (photos "
        f"are turned upright). Limits: {lim.describe()}. Pictures stay in this browser session "
        f"only, and are gone when it ends. {upload_budget.describe()}"
    )

    ds = uploads.dataset()
    with st.container():
        if uploads.image_set().classes:
            st.divider()
            uploads.summary()
            with layout.row("up_set_actions"):
                uploads.download_button()
                uploads.SET_UI.remove_all_button()
    with st.container():
        if ds is not None:
            uploads.augment_preview(ds)

    st.divider()
    st.subheader("Train")
    rows, problem, pair_problem = uploads.readiness(ds)
    problem = problem or st.session_state.pop(uploads.PROBLEM, "")
    view = live.current_view(uploads.VIEW)
    busy = view is not None and view.live
    buttons = layout.row("up_buttons")
    live.train_buttons(
        "up",
        uploads.start,
        (buttons, buttons),
        disabled=busy or bool(problem),
        pair_disabled=busy or bool(pair_problem),
        pair_help="The Image lab's Shallow and Deep presets, one after the other, on your images.",
    )
    with st.container():
        if problem and problem == uploads.image_set().blocking():
            st.caption("Train is ready once the classes above are.")
        elif problem and problem == fields.first_problem(uploads.NUMBER_KEYS):
            st.error(problem, icon=":material/error:")
        elif problem:
            st.info(problem, icon=":material/info:")
        elif busy:
            st.caption("A run is in progress: stop it to start another.")
        elif ds is not None and len(ds.x_train) < 200:
            st.caption(
                f"{text.plural(len(ds.x_train), 'training image')}: a small set. Augmentation helps, and so do "
                "more epochs; Train shallow vs deep shows whether depth pays off on it."
            )
    with st.container():
        if rows is not None and ds is not None:
            uploads_view.network_panel(rows, ds)

    if view is not None:
        st.divider()
        uploads_view.live_view()
        st.divider()
        uploads_view.predict_panel(view, lim)
