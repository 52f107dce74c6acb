"""AppTest tests for every page: Home and the Playground, driven by widget keys.

A Playground run trains in a background thread; `wait_until_done` reruns the app every few
tenths of a second (what the live fragment does in a browser) until the session's View has
ended. The `apptest` fixture (tests/conftest.py) makes the sessions, `apptest()` on Home or
`apptest("pages/playground.py")`, and stops and joins every run they started, so no thread
outlives its test.
"""

from __future__ import annotations

import json
import time

import pytest
from support.apptest import (
    VIEW,
    button,
    chart_title,
    charts,
    metric,
    percent,
    playground,
    set_widget,
    texts,
    values,
    view_of,
    wait_for,
    wait_until_done,
)

# --- Home -------------------------------------------------------------------------------------


def test_home_renders_and_links_to_the_pages(apptest):
    at = apptest()
    assert not at.exception
    assert not at.error
    assert "dlviz" in at.title[0].value
    assert any("Playground" in s for s in texts(at.subheader))
    assert any("Images" in s for s in texts(at.subheader))
    links = list(at.page_link)
    assert [link.value for link in links] == [
        "Open the Playground",
        "Open the Depth experiment",
        "Open the Images lab",
        "Open Your images",
        "Open the Sequence lab",
        "Open the Sound lab",
        "Open the Generative lab",
        "Open Sweeps",
    ]
    pages = [link.proto.page for link in links]
    assert "playground" in pages[0] and "depth" in pages[1]
    assert "images" in pages[2] and "uploads" in pages[3] and "sequences" in pages[4]
    assert "sound" in pages[5] and "generative" in pages[6] and "sweeps" in pages[7]
    # The shared sidebar is there on Home too, with this machine's devices.
    assert at.sidebar.expander[0].label == "This machine"
    lines = texts(at.sidebar.caption)
    assert any(line.startswith("**CPU** - ") and "torch uses" in line for line in lines)


def test_the_sidebar_names_each_gpu_with_its_memory_capability_and_driver(monkeypatch):
    from dlviz import timing
    from dlviz.ui import sidebar

    gpu = {"device": "cuda:0", "name": "NVIDIA H100 80GB HBM3", "memory_gb": 79.2,
           "capability": "9.0", "multiprocessors": 132, "cuda_driver": "12.8"}  # fmt: skip
    fake = {"cpu": "Some CPU", "cores": 16, "torch_threads": 8, "memory_gb": 125.6,
            "torch": "2.13.0", "torch_cuda": "12.8", "gpus": [gpu], "mps": False}  # fmt: skip
    monkeypatch.setattr(timing, "machine", lambda: fake)
    sidebar._device_lines.clear()
    try:
        assert sidebar._device_lines() == [
            "**CPU** - Some CPU, 16 cores, torch uses 8 threads, 126 GiB memory",
            "**cuda:0** - NVIDIA H100 80GB HBM3, 79 GiB, compute capability 9.0, driver 12.8, "
            "torch CUDA 12.8",
        ]
        monkeypatch.setattr(timing, "machine", lambda: {**fake, "gpus": [], "memory_gb": None})
        sidebar._device_lines.clear()
        assert sidebar._device_lines() == [
            "**CPU** - Some CPU, 16 cores, torch uses 8 threads",
            "No GPU found: runs train on the CPU.",
        ]
    finally:
        sidebar._device_lines.clear()


# --- Playground: rendering and settings --------------------------------------------------------


def test_playground_renders_with_defaults(apptest):
    at = apptest("pages/playground.py")
    assert not at.exception
    assert not at.error
    assert at.title[0].value == "Playground"
    assert at.segmented_control(key="pg_dataset").value == "spiral"
    assert at.text_input(key="pg_widths").value == "8, 8, 8"
    figs = charts(at)
    assert set(figs) == {"pg_data_preview", "pg_network"}
    assert chart_title(figs["pg_data_preview"]).startswith("Spiral: 700 train, 300 test")
    assert chart_title(figs["pg_network"]).startswith("3 hidden layers")
    assert not button(at, "pg_train").disabled
    assert not button(at, "pg_train_pair").disabled
    assert VIEW not in at.session_state  # nothing trains until asked
    # Every rerun goes through app.py: the shared sidebar is there.
    at.run()
    assert not at.exception
    assert [e.label for e in at.sidebar.expander] == ["This machine"]
    assert at.title[0].value == "Playground"


def test_presets_set_the_hidden_layers(apptest):
    at = apptest("pages/playground.py")
    set_widget(at, "pg_widths", "16, 4")

    button(at, "pg_preset_deep").click().run()
    assert not at.exception
    assert at.session_state["pg_widths"] == "8, 8, 8, 8, 8, 8"
    assert at.session_state["pg_layers"] == 6
    assert at.text_input(key="pg_widths").value == "8, 8, 8, 8, 8, 8"
    assert at.number_input(key="pg_layers").value == 6
    assert chart_title(charts(at)["pg_network"]).startswith("6 hidden layers")

    button(at, "pg_preset_shallow").click().run()
    assert not at.exception
    assert at.session_state["pg_widths"] == "8"
    assert at.session_state["pg_layers"] == 1
    title = chart_title(charts(at)["pg_network"])
    assert title.startswith("1 hidden layer ") or title == "1 hidden layer", title


def test_layer_count_rewrites_the_widths(apptest):
    at = apptest("pages/playground.py")
    set_widget(at, "pg_widths", "16, 8, 4")
    assert at.session_state["pg_layers"] == 3

    at.number_input(key="pg_layers").set_value(4).run()
    assert not at.exception
    widths = [int(w) for w in at.session_state["pg_widths"].split(",")]
    assert len(widths) == 4
    assert widths == [16, 8, 4, 4]  # the new layer repeats the last width
    assert chart_title(charts(at)["pg_network"]).startswith("4 hidden layers")

    at.number_input(key="pg_layers").set_value(2).run()
    assert at.session_state["pg_widths"] == "16, 8"
    assert chart_title(charts(at)["pg_network"]).startswith("2 hidden layers")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("8, x", "'x' is not a whole number from 1 to 1,024"),
        ("0", "'0' is not a whole number from 1 to 1,024"),
        ("2000", "'2000' is not a whole number from 1 to 1,024"),
        ("", "no widths given; enter one whole number from 1 to 1,024 for each layer"),
    ],
)
def test_invalid_widths_show_an_error_and_disable_train(apptest, text, problem):
    at = apptest("pages/playground.py")
    at.text_input(key="pg_widths").input(text).run()
    assert not at.exception
    errors = texts(at.error)
    assert any(e.startswith("Widths per layer") and problem in e for e in errors), errors
    assert button(at, "pg_train").disabled
    assert button(at, "pg_train_pair").disabled
    assert "pg_network" not in charts(at)  # no diagram of a network that cannot be built

    at.text_input(key="pg_widths").input("8, 8").run()
    assert not at.exception
    assert not at.error
    assert not button(at, "pg_train").disabled
    assert not button(at, "pg_train_pair").disabled
    assert at.session_state["pg_layers"] == 2
    assert chart_title(charts(at)["pg_network"]).startswith("2 hidden layers")


# --- Playground: training ----------------------------------------------------------------------


def test_train_finishes_and_is_saved(apptest, _isolated_run_store):
    at = playground(apptest, pg_epochs=60)
    button(at, "pg_train").click().run()
    assert not at.exception
    view = view_of(at)
    assert view.kind == "single" and len(view.handles) == 1
    wait_until_done(at)

    assert not at.exception
    assert not at.error
    assert any("finished 60 epochs" in s for s in texts(at.success)), texts(at.success)
    assert metric(at, "Epoch (of 60)") == "60"
    assert percent(metric(at, "Test accuracy")) > 90.0
    figs = charts(at)
    for key in ("pg_view_boundary", "pg_view_curves", "pg_view_neurons", "pg_view_grads"):
        assert key in figs, sorted(figs)
    assert len(figs["pg_view_curves"]["data"]) > 0
    # Polling is over: Train is enabled again and Pause/Stop are not.
    assert not button(at, "pg_train").disabled
    assert button(at, "pg_view_stop").disabled
    assert button(at, "pg_view_pause").disabled

    h = view.handles[0].history
    assert h.status == "finished" and h.run_id
    folders = [p for p in (_isolated_run_store / "runs").iterdir() if p.is_dir()]
    assert [p.name for p in folders] == [h.run_id]
    summary = json.loads((folders[0] / "summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["epochs"] == 60
    assert summary["final"]["test_accuracy"] > 0.9
    saved = json.loads((folders[0] / "config.json").read_text())
    assert saved["data"]["name"] == "xor" and saved["train"]["epochs"] == 60

    # XOR is not linearly separable in its input, and is after the hidden layers
    button(at, "pg_probe_fit").click().run()
    assert not at.exception, at.exception
    probe = charts(at)["pg_view_probes"]["data"][0]
    acc = dict(zip(probe["x"], values(probe["y"])))
    assert list(acc)[0] == "input" and acc["input"] < 0.75
    assert max(acc.values()) > 0.9
    assert any("training points" in c for c in texts(at.caption))


def test_changing_settings_during_a_run_does_not_touch_it(apptest):
    at = playground(apptest, pg_epochs=300)
    button(at, "pg_train").click().run()
    view = view_of(at)
    handle = view.handles[0]
    assert view.live
    at.run()  # the next full rerun draws Train disabled (the click's own run drew it first)
    assert button(at, "pg_train").disabled
    assert button(at, "pg_train_pair").disabled

    set_widget(at, "pg_dataset", "moons")
    set_widget(at, "pg_noise", 0.4)
    set_widget(at, "pg_widths", "4")
    assert not at.exception
    assert view.live, "the run should still be training (make it longer if this fails)"
    assert view_of(at) is view
    assert view_of(at).handles[0] is handle
    assert any("Changing settings does not affect it" in c for c in texts(at.caption))
    # The preview follows the widgets; the run keeps its own data.
    assert chart_title(charts(at)["pg_data_preview"]).startswith("Moons")

    wait_until_done(at)
    assert view_of(at) is view and view.handles == [handle]
    assert handle.history.status == "finished"
    assert handle.config.data.name == "xor"
    assert handle.config.data.noise == 0.1
    assert handle.config.model.hidden == (8, 8, 8)
    assert handle.history.config["data"]["name"] == "xor"
    assert any("finished 300 epochs" in s for s in texts(at.success))


def test_by_default_train_goes_on_past_the_epoch_limit_until_stopped_and_says_so(apptest):
    at = apptest("pages/playground.py")
    assert at.toggle(key="pg_until_stopped").value is True  # the default
    assert any("keeps training until you press Stop" in c for c in texts(at.caption))
    set_widget(at, "pg_dataset", "xor")
    set_widget(at, "pg_samples", 200)
    set_widget(at, "pg_epochs", 3)  # not a limit while Train trains until stopped
    button(at, "pg_train").click().run()
    h = view_of(at).handles[0].history
    wait_for(at, lambda: h.epoch >= 40, "40 epochs")  # enough to learn XOR: no warning at the end
    assert h.status == "running" and h.total_epochs == 0
    assert any("until you press Stop" in i for i in texts(at.info)), texts(at.info)
    assert metric(at, "Epoch") != ""  # no "of N" where there is no N
    button(at, "pg_view_stop").click().run()
    wait_until_done(at, deadline_s=20)
    assert h.status == "stopped" and h.epoch >= 40
    infos = texts(at.info)
    assert any(f"trained {h.epoch} epochs" in i and "until you stopped it" in i for i in infos)
    assert not at.warning  # the person's own Stop is how such a run ends: no warning box
    # Turned off, Train trains the epoch limit and finishes.
    set_widget(at, "pg_until_stopped", False)
    assert any("Train trains 3 epochs" in c for c in texts(at.caption))
    button(at, "pg_train").click().run()
    wait_until_done(at)
    assert view_of(at).handles[0].history.status == "finished"
    assert view_of(at).handles[0].history.epoch == 3


def test_stop_keeps_what_was_drawn(apptest):
    at = playground(apptest, pg_epochs=5000)
    button(at, "pg_train").click().run()
    view = view_of(at)
    h = view.handles[0].history
    wait_for(at, lambda: h.epoch >= 2 and h.snapshot is not None, "two epochs")
    assert not button(at, "pg_view_stop").disabled
    assert any("run:" in c for c in texts(at.sidebar.caption))  # the sidebar lists the live run

    button(at, "pg_view_stop").click().run()
    assert not at.exception
    wait_until_done(at, deadline_s=20)

    assert h.status == "stopped"
    assert 2 <= h.epoch < 5000
    warnings = texts(at.warning)
    assert any("Stopped after" in w and "of 5000 epochs" in w for w in warnings), warnings
    figs = charts(at)
    for key in ("pg_view_boundary", "pg_view_curves", "pg_view_grads"):
        assert key in figs, sorted(figs)
    assert not button(at, "pg_train").disabled
    assert not any("run:" in c for c in texts(at.sidebar.caption))


def test_pause_and_resume(apptest):
    at = playground(apptest, pg_epochs=5000)
    button(at, "pg_train").click().run()
    view = view_of(at)
    h = view.handles[0].history
    wait_for(at, lambda: h.step > 0, "the first step")
    assert button(at, "pg_view_pause").label == "Pause"

    button(at, "pg_view_pause").click().run()
    assert not at.exception
    wait_for(at, lambda: h.status == "paused", "the paused state")
    assert button(at, "pg_view_resume").label == "Resume"
    # Pause and Resume are two buttons: a late press of Pause cannot resume the run
    assert "pg_view_pause" not in {b.key for b in at.button}
    assert any("paused at epoch" in p.proto.text for p in at.get("progress"))
    step = h.step
    time.sleep(1.0)
    at.run()
    assert h.status == "paused"
    assert h.step == step, "training went on while paused"
    assert view.live

    button(at, "pg_view_resume").click().run()
    assert not at.exception
    wait_for(at, lambda: h.step > step, "steps after resuming")
    assert h.status == "running"
    assert button(at, "pg_view_pause").label == "Pause"

    button(at, "pg_view_stop").click().run()
    wait_until_done(at, deadline_s=20)
    assert h.status == "stopped"


def test_divergence_is_explained(apptest):
    # Plain SGD at lr 10 on a deep, wide ReLU net: the loss becomes NaN within two epochs.
    # (With the 8-wide Deep preset it does not: the net collapses to chance and "finishes".)
    at = playground(apptest, pg_optimizer="sgd", pg_lr=10.0, pg_epochs=50)
    button(at, "pg_preset_deep").click().run()
    set_widget(at, "pg_width", 64)  # "Width (all layers)" rewrites every layer's width
    assert at.session_state["pg_widths"] == "64, 64, 64, 64, 64, 64"
    assert chart_title(charts(at)["pg_network"]).startswith("6 hidden layers")
    button(at, "pg_train").click().run()
    wait_until_done(at)

    h = view_of(at).handles[0].history
    assert h.status == "diverged"
    errors = texts(at.error)
    assert any("diverged" in e and "learning rate" in e for e in errors), errors
    assert not at.success
    assert not button(at, "pg_train").disabled


def test_train_shallow_vs_deep(apptest):
    at = playground(apptest, pg_epochs=20)
    button(at, "pg_train_pair").click().run()
    assert not at.exception
    view = view_of(at)
    assert view.kind == "pair" and view.labels == ["shallow", "deep"]
    assert [h.config.model.hidden for h in view.handles] == [(8,), (8,) * 6]
    wait_until_done(at)

    assert [h.history.status for h in view.handles] == ["finished", "finished"]
    successes = texts(at.success)
    assert any(s.startswith("**shallow**: finished 20 epochs") for s in successes), successes
    assert any(s.startswith("**deep**: finished 20 epochs") for s in successes), successes
    markdown = texts(at.markdown)
    assert "#### What happened" in markdown
    sentences = markdown[markdown.index("#### What happened") + 1 :]
    sentences = [s for s in sentences if s.startswith("- ")]
    assert sentences, markdown
    joined = " ".join(sentences)
    assert "shallow" in joined and "deep" in joined
    assert "Test accuracy" in joined
    figs = charts(at)
    for key in ("pg_view_curves", "pg_view_boundary_0", "pg_view_boundary_1"):
        assert key in figs, sorted(figs)


def test_two_sessions_do_not_see_each_others_runs(apptest):
    one = playground(apptest, pg_dataset="xor", pg_epochs=40)
    two = playground(apptest, pg_dataset="circle", pg_epochs=25)
    button(one, "pg_train").click().run()
    button(two, "pg_train").click().run()
    v1, v2 = view_of(one), view_of(two)
    assert v1 is not v2
    assert v1.handles[0] is not v2.handles[0]
    # Each session holds only its own view.
    assert [v for v in one.session_state.values() if isinstance(v, type(v1))] == [v1]
    assert [v for v in two.session_state.values() if isinstance(v, type(v1))] == [v2]
    wait_until_done(one, two)

    assert v1.handles[0].config.data.name == "xor"
    assert v2.handles[0].config.data.name == "circle"
    assert v1.handles[0].history.config["data"]["name"] == "xor"
    assert v2.handles[0].history.config["data"]["name"] == "circle"
    assert v1.handles[0].history.run_id != v2.handles[0].history.run_id
    assert any("finished 40 epochs" in s for s in texts(one.success)), texts(one.success)
    assert any("finished 25 epochs" in s for s in texts(two.success)), texts(two.success)
    assert not any("25 epochs" in s for s in texts(one.success))
    assert not any("40 epochs" in s for s in texts(two.success))
    # Each page draws its own run on its own data.
    assert chart_title(charts(one)["pg_data_preview"]).startswith("XOR")
    assert chart_title(charts(two)["pg_data_preview"]).startswith("Circle")
