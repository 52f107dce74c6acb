"""A sweep's trial opened in its lab, to train it live there: each lab's widget values from a
config (what they cannot show named), and the journey from the Sweep page to a Playground run
whose config is the trial's."""

from __future__ import annotations

import json

import pytest

from dlviz import runs
from dlviz.cli import main
from dlviz.config import DEEP_BLOCKS, RunConfig
from dlviz.labs.images import widgets as images
from dlviz.labs.playground import widgets as playground
from dlviz.labs.sequences import widgets as sequences
from dlviz.labs.sweeps.view import lab_of
from dlviz.ui.open_settings import Setter


def values(from_config, cfg: dict) -> Setter:
    s = Setter()
    from_config(RunConfig.from_dict(cfg), s)
    return s


def test_a_playground_config_becomes_its_widgets_and_what_does_not_fit_is_named():
    s = values(
        playground.from_config,
        {
            "data": {"name": "moons", "n_samples": 500, "noise": 0.2, "seed": 3},
            "model": {"hidden": [16, 8, 4], "activation": "tanh", "residual": True},
            "train": {"lr": 0.004, "batch_size": 64, "epochs": 30, "seed": 7},
        },
    )
    v = s.values
    assert (v["pg_dataset"], v["pg_samples"], v["pg_noise"], v["pg_data_seed"]) == (
        "moons", 500, 0.2, 3,
    )  # fmt: skip
    assert (v["pg_widths"], v["pg_layers"], v["pg_width"]) == ("16, 8, 4", 3, 16)
    assert (v["pg_activation"], v["pg_residual"], v["pg_norm"]) == ("tanh", True, "none")
    assert (v["pg_batch"], v["pg_epochs"], v["pg_seed"]) == (64, 30, 7)
    assert v["pg_until_stopped"] is False
    assert "pg_lr" not in v  # 0.004 is not on the page's learning-rate scale
    assert s.ignored == ["train.lr 0.004 (not one of this page's choices)"]


def test_an_image_config_sets_the_blocks_table_and_a_sequence_config_its_family():
    s = values(
        images.from_config,
        {"data": {"name": "digits", "n_samples": 600, "image_size": 16}, "model": {"arch": "cnn"}},
    )
    assert s.values["im_dataset"] == "digits" and s.values["im_digits_size"] == 16
    assert s.values["im_blocks"] == tuple(DEEP_BLOCKS) and s.values["im_norm"] == "batch"
    assert s.ignored == []
    s = values(
        sequences.from_config,
        {
            "data": {"name": "recall", "length": 20},
            "model": {"arch": "lstm", "hidden_size": 32, "forget_bias": 2.0},
        },
    )
    v = s.values
    assert (v["sq_mode"], v["sq_family"], v["sq_data_symbols"]) == ("run", "symbols", "recall")
    assert (v["sq_arch"], v["sq_hidden"], v["sq_forget_bias"], v["sq_length"]) == (
        "lstm", 32, 2.0, 20,
    )  # fmt: skip
    assert s.ignored == []


@pytest.mark.parametrize(
    "cfg, lab",
    [
        ({"data": {"name": "spiral"}}, "Playground"),
        ({"data": {"name": "shapes"}, "model": {"arch": "cnn"}}, "Image lab"),
        ({"data": {"name": "sort"}, "model": {"arch": "gru"}}, "Sequence lab"),
        ({"data": {"name": "ring"}, "model": {"arch": "gan"}}, None),
    ],
)
def test_each_trial_goes_to_the_lab_that_trains_it(cfg, lab):
    found = lab_of(RunConfig.from_dict(cfg))
    assert (found[3] if found else None) == lab


def test_a_trial_opened_from_the_sweep_page_trains_live_in_the_playground_as_it_was(
    apptest, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    store = runs.default_root()
    sweep = {
        "name": "open me",
        "base": {
            "data": {"name": "xor", "n_samples": 200, "seed": 2},
            "model": {"hidden": [4, 4]},
            "train": {"epochs": 2, "lr": 0.03, "batch_size": 16},
        },
        "grid": {"model.width": [6]},
        "seeds": [5],
    }
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(sweep))
    assert main(["sweep", str(path), "--json", "--runs-dir", str(store)]) == 0
    (run_id,) = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"]
    trial = RunConfig.from_dict(runs.load_run(store, run_id).config)

    at = apptest("pages/sweeps.py")
    button = at.button(key="sw_open_lab")
    assert button.label == "Train it in the Playground" and not button.disabled
    button.click().run()
    assert not at.exception, at.exception
    assert at.session_state["pg_widths"] == "6, 6" and at.session_state["pg_seed"] == 5
    notes = " ".join(i.value for i in at.info)
    assert "Opened with the settings of the sweep's trial 0: model.width=6" in notes, notes
    assert "press Train to train it live here" in notes and "cannot show" not in notes
    at.button(key="pg_train").click().run()
    view = at.session_state["pg_view"]
    started = view.handles[0].config
    assert started.data == trial.data and started.model == trial.model
    assert started.train == trial.train
    at.run()
    assert "Opened with" not in " ".join(i.value for i in at.info)  # said once
