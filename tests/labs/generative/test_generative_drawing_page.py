"""AppTest of the Generative page's canvas: choosing "Your drawing" shows the starting face
and the points it makes, Clear refuses Train with a message and Undo brings the face back, a
points file replaces the drawing (a bad one is named and loses nothing), painting and erasing
change the weights as the caption says, and a run trains on the drawing."""

from __future__ import annotations

import os

import numpy as np
from support.apptest import wait_until_done

from dlviz.data import gen2d

PAGE = "pages/generative.py"
POINTS, WEIGHTS = "gn_draw_points", "gn_draw_weights"


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def drawn(apptest):
    at = apptest(PAGE)
    at.selectbox(key="gn_data").set_value("drawn").run()
    assert not at.exception, at.exception
    return at


def test_the_canvas_starts_from_a_face_and_previews_its_points(apptest):
    at = drawn(apptest)
    n = len(at.session_state[POINTS])
    assert n > 50
    assert f"The drawing: {n} points, weight {n}." in captions(at)
    assert "2,800 training points to learn." in captions(at)
    assert not at.button(key="gn_train").disabled
    assert "on your drawing" in "\n".join(m.value for m in at.markdown)


def test_clear_refuses_train_and_undo_brings_the_face_back(apptest):
    at = drawn(apptest)
    face = at.session_state[POINTS].copy()
    at.button(key="gn_draw_clear").click().run()
    assert "The drawing is empty." in captions(at)
    assert at.button(key="gn_train").disabled
    assert "The drawing is empty: paint a region on the canvas." in [e.value for e in at.error]
    at.button(key="gn_draw_undo_btn").click().run()
    np.testing.assert_array_equal(at.session_state[POINTS], face)
    assert not at.button(key="gn_train").disabled


def test_a_points_file_replaces_the_drawing_and_a_bad_one_loses_nothing(apptest):
    at = drawn(apptest)
    face = at.session_state[POINTS].copy()
    uploader = at.get("file_uploader")[0]
    uploader.set_value(("mine.csv", b"x,y\n1,2\nnot,numbers\n", "text/csv")).run()
    assert not at.exception, at.exception
    shown = [e.value for e in at.error]
    assert any("mine.csv, line 3: 'not,numbers' is not numbers" in e for e in shown), shown
    assert any("Your drawing is as it was." in e for e in shown), shown
    np.testing.assert_array_equal(at.session_state[POINTS], face)

    at.get("file_uploader")[0].set_value(
        ("far.csv", b"x,y,weight\n10,0,1\n30,0,2\n20,10,1\n", "text/csv")
    ).run()
    np.testing.assert_allclose(at.session_state[POINTS], [[-2, -1], [2, -1], [0, 1]], atol=1e-6)
    np.testing.assert_allclose(at.session_state[WEIGHTS], [1, 2, 1])
    assert "Read 3 points from far.csv; its points were moved and scaled" in captions(at)


def _paint_script():
    """A page that paints or erases the cells named in session state, as a stroke does."""
    import streamlit as st

    from dlviz.labs.generative import widgets_draw as draw

    draw.init()
    if st.session_state.get("stroke"):
        cells, erase = st.session_state.pop("stroke")
        draw.apply(cells, erase)
    st.write(len(draw.drawing()[0]))


def test_painting_adds_weight_and_erasing_removes_the_points_in_the_cells():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_paint_script)
    at.session_state[POINTS] = np.zeros((0, 2), np.float32)
    at.session_state[WEIGHTS] = np.zeros(0, np.float32)
    at.run()
    cells = gen2d.canvas()
    centre = int(np.flatnonzero((np.abs(cells) < 1e-6).all(axis=1))[0])  # the cell at (0, 0)
    at.session_state["stroke"] = ([centre, centre + 1], False)
    at.run()
    np.testing.assert_allclose(at.session_state[POINTS], [[0, 0], [0.1, 0]], atol=1e-6)
    at.session_state["stroke"] = ([centre], False)  # painted again: it weighs twice
    at.run()
    np.testing.assert_allclose(at.session_state[WEIGHTS], [2, 1])
    at.session_state["stroke"] = ([centre + 1], True)  # erase the other one
    at.run()
    np.testing.assert_allclose(at.session_state[POINTS], [[0, 0]], atol=1e-6)
    assert len(at.session_state["gn_draw_undo"]) == 3


def test_a_run_trains_on_the_drawing_saved_by_its_content(apptest):
    at = drawn(apptest)
    at.select_slider(key="gn_samples").set_value(1000).run()
    at.select_slider(key="gn_width").set_value(32).run()
    at.number_input(key="gn_epochs").set_value(2).run()
    at.button(key="gn_train").click().run()
    wait_until_done(at, key="gn_view", deadline_s=120, rerun=True)
    assert not at.exception and not at.error, [e.value for e in at.error]
    handle = at.session_state["gn_view"].handles[0]
    data = handle.config.data
    assert data.name == "drawn" and os.path.dirname(data.path).endswith("drawings")
    points, weights, _ = gen2d.parse_points(open(data.path, "rb").read())
    np.testing.assert_allclose(points, at.session_state[POINTS], atol=1e-4)
    assert handle.history.done and handle.history.gen
