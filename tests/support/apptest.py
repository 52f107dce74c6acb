"""AppTest helpers for the page tests: a fast Playground session, setting widgets by key,
rerunning a session until its runs end (what the live fragment does in a browser), and reading
the figures, metrics and texts a page drew."""

from __future__ import annotations

import json
import time

from streamlit.testing.v1 import AppTest

VIEW = "pg_view"
RUN_DEADLINE_S = 60.0


def playground(make, **values) -> AppTest:
    """A Playground session with small, fast settings (`values` override them, by widget key)."""
    at = make("pages/playground.py")
    settings = {
        "pg_dataset": "xor",
        "pg_samples": 200,
        "pg_epochs": 30,
        "pg_until_stopped": False,
        **values,
    }
    for key, value in settings.items():
        set_widget(at, key, value)
    assert not at.exception, at.exception
    return at


def set_widget(at: AppTest, key: str, value) -> None:
    if key == "pg_dataset":
        at.segmented_control(key=key).set_value(value).run()
    elif key in ("pg_samples", "pg_lr", "pg_batch", "pg_width", "pg_wd"):
        at.select_slider(key=key).set_value(value).run()
    elif key in ("pg_epochs", "pg_layers", "pg_seed", "pg_data_seed"):
        at.number_input(key=key).set_value(value).run()
    elif key in ("pg_noise", "pg_test_fraction", "pg_dropout"):
        at.slider(key=key).set_value(value).run()
    elif key in ("pg_activation", "pg_optimizer", "pg_norm", "pg_device"):
        at.selectbox(key=key).set_value(value).run()
    elif key in ("pg_until_stopped", "pg_residual"):
        at.toggle(key=key).set_value(value).run()
    elif key == "pg_widths":
        at.text_input(key=key).input(value).run()
    else:
        raise KeyError(key)
    assert at.session_state[key] == value, (key, at.session_state[key])


def view_of(at: AppTest):
    return at.session_state[VIEW]


def wait_until_done(
    *sessions: AppTest, key: str = VIEW, deadline_s: float = RUN_DEADLINE_S, rerun: bool = False
) -> None:
    """Rerun each session until its view under `key` has no live run left, as the live fragment
    does in a browser; with `rerun`, once more after (the full rerun the fragment asks for when
    the runs end)."""
    end = time.monotonic() + deadline_s
    while any(at.session_state[key].live for at in sessions):
        assert time.monotonic() < end, "the run did not end in time"
        time.sleep(0.2)
        for at in sessions:
            if at.session_state[key].live:
                at.run()
                assert not at.exception, at.exception
    if rerun:
        for at in sessions:
            at.run()
            assert not at.exception, at.exception


def wait_for(at: AppTest, condition, what: str, deadline_s: float = 30.0) -> None:
    """Rerun the session until `condition()` holds."""
    end = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)
        at.run()
        assert not at.exception, at.exception


def charts(at: AppTest) -> dict[str, dict]:
    """The page's Plotly charts by their key, each as its figure dict: static ones
    (st.plotly_chart) and live ones (dlviz's live-chart component, which carries the figure
    as its `spec` argument)."""
    out = {}
    for el in at.get("plotly_chart"):
        key = el.proto.id.rsplit("-", 1)[-1]
        out[key] = json.loads(el.proto.spec)
    for el in at.get("bidi_component"):
        data = json.loads(el.proto.json)
        if "spec" in data:  # not the plotly.js preloader
            key = el.proto.id.rsplit("-", 1)[-1]
            out[key] = json.loads(data["spec"])
    return out


def values(array) -> list[float]:
    """A figure array as a list: plotly sends numpy arrays as {"dtype", "bdata"} (base64)."""
    if isinstance(array, dict) and "bdata" in array:
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def chart_title(fig: dict) -> str:
    title = fig["layout"].get("title", "")
    return title.get("text", "") if isinstance(title, dict) else str(title)


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) == 1, [m.label for m in at.metric]
    return values[0]


def percent(text: str) -> float:
    assert text.endswith("%"), text
    return float(text[:-1])


def button(at: AppTest, key: str):
    return at.button(key=key)


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]
