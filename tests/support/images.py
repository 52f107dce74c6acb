"""An Images-page session with a small trained run, for the tests of what the Image lab shows
after training (projector, probes and CKA, what a channel wants)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dlviz.config import ConvBlock
from support.apptest import button, wait_until_done

PAGE = "pages/images.py"
VIEW = "im_view"
SMALL = (ConvBlock(8, 3, pool="max"), ConvBlock(16, 3, pool="max"))


def trained_images_page(apptest) -> AppTest:
    """An Images-page session (tests/conftest.py's `apptest`) that has trained a two-block CNN
    on 300 shapes of 28x28 for 3 epochs (about a second)."""
    at = apptest(PAGE)
    at.select_slider(key="im_shapes_samples").set_value(300).run()
    at.slider(key="im_shapes_size").set_value(28).run()
    at.number_input(key="im_epochs").set_value(3).run()
    at.session_state["im_blocks"] = SMALL
    at.session_state["im_blocks_version"] = at.session_state["im_blocks_version"] + 1
    at.run()
    button(at, "im_train").click().run()
    assert not at.exception, at.exception
    wait_until_done(at, key=VIEW, deadline_s=60.0, rerun=True)
    assert not at.exception, at.exception
    assert at.session_state[VIEW].handles[0].history.status == "finished"
    return at
