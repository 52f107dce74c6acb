"""AppTest of the Sequence lab's page: its defaults, refused settings and files with their
messages, a transformer trained on sort with its attention and head scores, then sampling and
head ablation; a forecast beside its baselines; a person's own text and series."""

from __future__ import annotations

import pytest
from support.apptest import charts, values, wait_until_done
from support.uploads import uploader

PAGE = "pages/sequences.py"
VIEW = "sq_view"


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def choose(at, family: str, name: str) -> None:
    at.segmented_control(key="sq_family").set_value(family).run()
    at.selectbox(key=f"sq_data_{family}").set_value(name).run()
    assert not at.exception, at.exception


def train(at, epochs: int = 2) -> None:
    at.number_input(key="sq_epochs").set_value(epochs).run()
    at.button(key="sq_train").click().run()
    assert not at.exception, at.exception
    wait_until_done(at, key=VIEW, deadline_s=120, rerun=True)


def test_the_defaults_show_sort_and_a_transformer_ready_to_train(apptest):
    at = apptest(PAGE)
    assert not errors(at)
    assert not at.button(key="sq_train").disabled
    assert at.session_state["sq_arch"] == "transformer"
    assert "**Sort**: 2,800 training and 1,200 test sequences" in markdown(at)
    table = at.dataframe[0].value
    row = table.iloc[0] if hasattr(table, "iloc") else table[0]
    question, answer = row["input"], row["target"]
    digits = question.rstrip("=").split()
    assert sorted(digits) == answer.split()  # the preview's target is the sorted question
    assert "Transformer, 2 layers of 64, 2 heads" in captions(at)


@pytest.mark.parametrize(
    "setup, message",
    [
        ({"sq_length": 300}, "Length: 300 is out of range; enter a whole number from 1 to 256."),
        ({"sq_data_symbols": "parens", "sq_length": 7}, "parens needs an even length"),
        ({"sq_hidden": 32, "sq_heads": 8, "sq_arch": "transformer", "sq_layers": 1}, None),
        ({"sq_arch": "bow", "sq_family": "series"}, "bow (a bag of words) gives one class"),
    ],
)
def test_settings_that_cannot_train_say_why_and_disable_train(apptest, setup, message):
    at = apptest(PAGE)
    for key, value in setup.items():
        if key == "sq_family":
            at.segmented_control(key=key).set_value(value).run()
        elif key in ("sq_length",):
            at.number_input(key=key).set_value(value).run()
        elif key in ("sq_data_symbols", "sq_arch"):
            at.selectbox(key=key).set_value(value).run()
        else:
            at.select_slider(key=key).set_value(value).run()
    assert not at.exception, at.exception
    if message is None:  # 8 heads on a width of 32: 4 units a head, allowed
        assert not errors(at) and not at.button(key="sq_train").disabled
        return
    assert any(message in e for e in errors(at)), errors(at)
    assert at.button(key="sq_train").disabled


def test_a_transformer_on_sort_shows_attention_then_samples_and_ablates(
    apptest, monkeypatch, tmp_path
):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest(PAGE)
    at.select_slider(key="sq_samples").set_value(1000).run()
    at.select_slider(key="sq_layers").set_value(1).run()
    train(at, epochs=3)
    h = at.session_state[VIEW].handles[0].history
    assert h.status == "finished" and h.seq, h.message
    figs = charts(at)
    assert {"sq_view_curves", "sq_view_grads", "sq_view_attention", "sq_view_heads"} <= set(figs)
    attention = [t for t in figs["sq_view_attention"]["data"] if t["type"] == "heatmap"]
    assert len(attention) == 2  # one map per head
    assert "Inside the network" in markdown(at)
    assert any(
        f"It learned {w}" in markdown(at) for w in ("the task", "part of the task", "nothing")
    )
    # a test question answered token by token
    at.button(key="sq_view_sample").click().run()
    assert not at.exception, at.exception
    text = markdown(at)
    assert "→" in text and ("right" in text or "wrong" in text)
    assert "sq_view_next_token" in charts(at)
    # every head switched off in turn
    at.button(key="sq_view_ablate").click().run()
    assert not at.exception, at.exception
    ablation = charts(at)["sq_view_ablation"]
    bars = [t for t in ablation["data"] if t["type"] == "bar"]
    assert len(values(bars[0]["y"])) == 2


def test_a_forecast_is_shown_beside_the_baselines(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest(PAGE)
    choose(at, "series", "seasonal")
    at.selectbox(key="sq_arch").set_value("gru").run()
    at.select_slider(key="sq_samples").set_value(500).run()
    assert "sq_data_preview" in charts(at)
    train(at, epochs=2)
    figs = charts(at)
    assert {
        "sq_view_forecast",
        "sq_view_fc_direct",
        "sq_view_fc_horizon",
        "sq_view_fc_one_step",
    } <= set(figs)
    names = [t.get("name") for t in figs["sq_view_fc_horizon"]["data"]]
    assert {"network", "naive", "seasonal naive", "linear AR"} <= set(names)
    live = [t.get("name") for t in figs["sq_view_forecast"]["data"]]
    assert {"network", "naive", "seasonal naive", "linear AR"} <= set(live)  # from the start
    assert "naive forecast" in markdown(at).lower() or "naive" in captions(at)
    metrics = {m.label: m.value for m in at.metric}
    assert "Test MSE" in metrics and "Naive forecast MSE" in metrics


def test_your_own_text_trains_a_character_model_and_bad_files_are_refused(
    apptest, monkeypatch, tmp_path
):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest(PAGE)
    choose(at, "text", "own_text")
    assert any("paste a text or upload" in e.lower() for e in errors(at)), errors(at)
    assert at.button(key="sq_train").disabled
    uploader(at, "sq_file_own_text").set_value(
        ("latin1.txt", "caf\xe9 ".encode("latin-1") * 500, "text/plain")
    ).run()
    assert any("UTF-8" in e for e in errors(at)), errors(at)
    uploader(at, "sq_file_own_text").set_value(None).run()
    at.text_area(key="sq_own_text").input("the cat sat on the mat. " * 400).run()
    assert not errors(at), errors(at)
    train(at, epochs=1)
    h = at.session_state[VIEW].handles[0].history
    assert h.status == "finished"
    assert h.config["data"]["name"] == "own_text"
    at.text_input(key="sq_view_prompt").input("the c").run()
    at.button(key="sq_view_sample").click().run()
    assert not at.exception, at.exception
    assert any(c.value.startswith("the c") for c in at.code), [c.value for c in at.code]
    at.number_input(key="sq_view_write").set_value(100000).run()
    at.button(key="sq_view_sample").click().run()
    assert any("Characters: 100,000 is out of range" in e for e in errors(at)), errors(at)
    at.number_input(key="sq_view_write").set_value(50).run()
    at.text_input(key="sq_view_prompt").input("ZQ€").run()
    at.button(key="sq_view_sample").click().run()
    assert any("not in its vocabulary" in e for e in errors(at)), errors(at)


def test_a_series_csv_with_text_in_it_is_refused_with_its_row(apptest):
    at = apptest(PAGE)
    choose(at, "series", "own_series")
    bad = b"value\n1.0\n2.0\nthree\n4.0\n"
    uploader(at, "sq_file_own_series").set_value(("bad.csv", bad, "text/csv")).run()
    assert not at.exception, at.exception
    message = " ".join(errors(at))
    assert "three" in message and at.button(key="sq_train").disabled


def test_the_length_experiment_runs_and_draws_its_charts_table_and_reading(
    apptest, monkeypatch, tmp_path
):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest(PAGE)
    at.segmented_control(key="sq_mode").set_value("lengths").run()
    assert not at.exception, at.exception
    assert "20 runs" in at.button(key="sq_len_run").label  # 4 networks x 5 lengths
    at.multiselect(key="sq_len_archs").set_value([]).run()
    assert errors(at) and at.button(key="sq_len_run").disabled
    at.multiselect(key="sq_len_archs").set_value(["rnn", "transformer"]).run()
    at.multiselect(key="sq_len_lengths").set_value([5, 10]).run()
    at.number_input(key="sq_len_steps").set_value(60).run()
    assert "4 runs" in at.button(key="sq_len_run").label
    at.button(key="sq_len_run").click().run()
    assert not at.exception, at.exception
    view = at.session_state["sq_len_view"]
    assert [h.config.data.length for h in view.handles] == [5, 5, 10, 10]
    wait_until_done(at, key="sq_len_view", deadline_s=180, rerun=True)
    figs = charts(at)
    assert {"sq_len_view_acc", "sq_len_view_grad"} <= set(figs)
    names = {t.get("name") for t in figs["sq_len_view_acc"]["data"]}
    assert {"rnn", "transformer"} <= names
    assert len(at.dataframe) >= 1


def test_an_lstm_shows_its_states_gates_and_the_path_of_its_state(apptest):
    at = apptest(PAGE)
    choose(at, "symbols", "temporal_order")
    at.selectbox(key="sq_arch").set_value("lstm").run()
    at.select_slider(key="sq_samples").set_value(1000).run()
    train(at, epochs=1)
    assert not errors(at), errors(at)
    figs = charts(at)
    assert {"sq_view_states", "sq_view_gates", "sq_view_state_path"} <= set(figs)
    snap = at.session_state[VIEW].handles[0].history.seq[-1]
    layer = snap.layers[0]
    dots = figs["sq_view_state_path"]["data"][1]
    assert len(values(dots["x"])) == snap.states[layer].shape[1]  # a dot a position
    assert f"The path of {layer}'s state through time" in markdown(at)
    assert "dark at the start, yellow at the end" in captions(at)
