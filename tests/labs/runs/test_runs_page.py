"""AppTest tests for the Runs page: the table and its filters, rename, tags and delete, the
Compare view of selected runs, damaged runs, and importing a run ZIP.

Runs are trained once per module (three tiny ones, a few seconds) into a folder that each test
copies into its own run store (DLVIZ_HOME, set per test by tests/conftest.py). Rows of the table
are selected through the table's session-state key, as a click on their boxes does."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from support.apptest import charts

from dlviz import jobs, runs
from dlviz.config import RunConfig

PAGE = "pages/runs.py"

CONFIGS = {
    "shallow": {
        "name": "shallow",
        "data": {"name": "xor", "n_samples": 120},
        "model": {"hidden": [4]},
        "train": {"epochs": 3, "device": "cpu"},
    },
    "deep": {
        "name": "deep",
        "data": {"name": "xor", "n_samples": 120},
        "model": {"hidden": [4, 4, 4]},
        "train": {"epochs": 3, "lr": 0.05, "device": "cpu"},
    },
    "digits cnn": {
        "name": "digits cnn",
        "data": {"name": "digits", "n_samples": 150},
        "model": {"arch": "cnn", "blocks": [{"channels": 4}]},
        "train": {"epochs": 1, "device": "cpu"},
    },
}


class Trained(dict):
    """Run ids by name, and the `store` folder they are in."""

    store: Path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Trained:
    """Three finished runs in a module-wide store; returns their ids by name."""
    store = tmp_path_factory.mktemp("runs-page") / "runs"
    ids = Trained()
    for name, cfg in CONFIGS.items():
        end = jobs.start(RunConfig.from_dict(cfg), runs_dir=store).wait()
        assert end.status == "finished", end.message
        ids[name] = end.run_id
    ids.store = store
    return ids


@pytest.fixture
def store(trained) -> Path:
    """This test's run store, holding copies of the three trained runs."""
    root = runs.default_root()
    shutil.copytree(trained.store, root)
    return root


# --- helpers ----------------------------------------------------------------------------------


def table(at: AppTest):
    found = [d for d in at.dataframe if (d.key or "").startswith("rs_table_")]
    assert len(found) == 1, [d.key for d in at.dataframe]
    return found[0]


def table_ids(at: AppTest) -> list[str]:
    return list(table(at).value["run id"])


def select(at: AppTest, *run_ids: str) -> AppTest:
    """Tick the boxes of `run_ids` in the table (rows by position, as the browser sends them)."""
    ids = table_ids(at)
    frame = table(at)
    at.session_state[frame.key] = {
        "selection": {"rows": [ids.index(i) for i in run_ids], "columns": [], "cells": []}
    }
    at.run()
    assert not at.exception, at.exception
    return at


def frame_with(at: AppTest, column: str):
    """The one table of the page with this column (or index name): the Compare view's final
    metrics ("run") or configs ("field")."""
    found = [
        d.value for d in at.dataframe if column in d.value.columns or d.value.index.name == column
    ]
    assert len(found) == 1, len(found)
    return found[0]


def messages(at: AppTest) -> str:
    return "\n".join(
        str(e.value) for kind in ("error", "warning", "info", "success") for e in at.get(kind)
    )


def captions(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


# --- the table ----------------------------------------------------------------------------------


def test_an_empty_store_says_how_to_make_runs(apptest):
    at = apptest(PAGE)
    text = messages(at)
    assert "No runs yet" in text and "Playground" in text and "dlviz train" in text
    assert not [d for d in at.dataframe if (d.key or "").startswith("rs_table_")]


def test_the_table_lists_every_run_and_filters_them(apptest, store, trained):
    at = apptest(PAGE)
    frame = table(at).value
    assert sorted(frame["run id"]) == sorted(trained.values())
    by_name = frame.set_index("name")
    assert by_name.loc["deep", "depth"] == 3 and by_name.loc["shallow", "depth"] == 1
    assert by_name.loc["digits cnn", "architecture"] == "cnn"
    assert by_name.loc["deep", "dataset"] == "xor" and by_name.loc["deep", "status"] == "finished"
    assert 0 <= by_name.loc["deep", "best test acc"] <= 1
    assert by_name.loc["deep", "parameters"] > by_name.loc["shallow", "parameters"]
    assert "3 of 3 runs shown" in captions(at)

    at.text_input(key="rs_search").input("DEEP").run()
    assert table_ids(at) == [trained["deep"]]
    at.text_input(key="rs_search").input("").run()
    at.multiselect(key="rs_datasets").set_value(["digits"]).run()
    assert table_ids(at) == [trained["digits cnn"]]
    assert "1 of 3 runs shown" in captions(at)


def test_rename_tag_and_delete_one_run(apptest, store, trained):
    at = apptest(PAGE)
    run_id = trained["shallow"]
    select(at, run_id)
    assert at.text_input(key="rs_name").value == "shallow"
    assert "curves" in {k.removeprefix("rs_") for k in charts(at)}
    assert at.get("download_button"), "no download buttons"

    at.text_input(key="rs_name").input("one layer")
    click(at, "rs_rename")
    assert runs.run_row(None, run_id)["name"] == "one layer"
    assert "one layer" in list(table(at).value["name"])

    at.text_input(key="rs_tags").input("baseline, xor , baseline")
    click(at, "rs_set_tags")
    assert runs.run_row(None, run_id)["tags"] == ["baseline", "xor"]
    assert "Tags: baseline, xor." in messages(at)
    at.text_input(key="rs_search").input("baseline").run()
    assert table_ids(at) == [run_id]
    at.text_input(key="rs_search").input("").run()  # another table, the same run selected
    assert at.text_input(key="rs_tags").value == "baseline, xor"
    at.text_input(key="rs_search").input("digits").run()  # it is not in this one
    assert "rs_tags" not in [w.key for w in at.text_input]
    at.text_input(key="rs_search").input("").run()
    assert "rs_tags" not in [w.key for w in at.text_input]  # nor selected any more
    select(at, run_id)

    at.text_input(key="rs_tags").input("x" * 50)  # too long: refused, nothing changes
    click(at, "rs_set_tags")
    assert "at most 40 characters" in messages(at)
    assert runs.run_row(None, run_id)["tags"] == ["baseline", "xor"]

    select(at, run_id)
    click(at, "rs_delete_confirm")
    assert run_id not in [r["run_id"] for r in runs.list_runs()]
    assert run_id not in table_ids(at) and len(table_ids(at)) == 2
    assert "Deleted run one layer." in messages(at)


def test_one_run_reopens_its_curves_and_gradient_profile(apptest, store, trained):
    at = select(apptest(PAGE), trained["deep"])
    figs = charts(at)
    curves = figs["rs_curves"]["data"]
    assert len(curves) == 4 and all(t["name"] == "deep" for t in curves)
    grads = figs["rs_grads"]["data"]
    assert grads[0]["customdata"] == ["hidden1", "hidden2", "hidden3", "output"]
    assert "Final test accuracy" in [m.label for m in at.metric]


# --- compare ------------------------------------------------------------------------------------


def test_two_selected_runs_are_compared(apptest, store, trained):
    at = select(apptest(PAGE), trained["shallow"], trained["deep"])
    assert "Compare 2 runs" in [s.value for s in at.subheader]
    figs = charts(at)
    for key in ("rs_cmp_curves", "rs_cmp_curves_time"):
        traces = figs[key]["data"]
        assert len(traces) == 8
        assert {t["name"] for t in traces} == {"shallow", "deep"}
        assert len({t["line"]["color"] for t in traces}) == 2
    assert figs["rs_cmp_curves_time"]["layout"]["xaxis"]["title"]["text"] == "seconds of training"
    assert sorted(t["name"] for t in figs["rs_cmp_grads"]["data"]) == ["deep", "shallow"]

    configs = frame_with(at, "field")
    assert list(configs.columns) == ["deep", "shallow"]  # table order: newest first
    assert configs.loc["model.hidden"].tolist() == ["4, 4, 4", "4"]
    assert configs.loc["train.lr"].tolist() == ["0.05", "0.01"]
    text = captions(at)
    assert "3 fields differ, highlighted: model.hidden, train.lr, name." in text
    at.toggle(key="rs_cmp_only_diff").set_value(True).run()
    configs = frame_with(at, "field")
    assert list(configs.index) == ["model.hidden", "train.lr", "name"]

    final = frame_with(at, "run")
    assert list(final["run"]) == ["deep", "shallow"]
    assert list(final["epochs"]) == [3, 3]
    assert not [k for k in figs if k.startswith("rs_cmp_fmaps")]  # no image runs


def test_image_runs_show_feature_maps_of_the_same_test_image(apptest, store, trained):
    # an image run whose data cannot be reloaded: uploaded pictures are not kept
    upload_id = "uploaded-run"
    shutil.copytree(store / trained["digits cnn"], store / upload_id)
    config = json.loads((store / upload_id / "config.json").read_text())
    config["data"]["name"] = "upload"
    (store / upload_id / "config.json").write_text(json.dumps(config))

    # and one whose weights do not fit its config (edited by hand)
    misfit_id = "misfit-run"
    shutil.copytree(store / trained["digits cnn"], store / misfit_id)
    config = json.loads((store / misfit_id / "config.json").read_text())
    config["model"]["blocks"][0]["channels"] = 6
    (store / misfit_id / "config.json").write_text(json.dumps(config))

    at = select(apptest(PAGE), trained["digits cnn"], upload_id, misfit_id, trained["deep"])
    assert "Its feature maps cannot be drawn: the weights of run misfit-run do not fit" in (
        messages(at)
    )
    figs = charts(at)
    maps = [k for k in figs if k.startswith("rs_cmp_fmaps_")]
    assert len(maps) == 1  # the digits run's; the upload run's data is gone
    slot = maps[0].removeprefix("rs_cmp_fmaps_")
    notes = [a["text"] for a in figs[maps[0]]["layout"]["annotations"]]
    assert notes and notes[0].startswith("<b>conv1</b> - 4 channels, 8x8")
    sample = f"rs_cmp_sample_{slot}"
    assert "test image 0:" in figs[sample]["layout"]["annotations"][0]["text"]
    assert "trained on uploaded pictures, which are not kept" in messages(at)
    at.number_input(key="rs_cmp_image").set_value(3).run()
    assert not at.exception, at.exception
    assert "test image 3:" in charts(at)[sample]["layout"]["annotations"][0]["text"]


def test_more_than_ten_selected_compares_the_first_ten(apptest, store, trained):
    for k in range(9):
        shutil.copytree(store / trained["shallow"], store / f"copy-{k}")
    at = apptest(PAGE)
    select(at, *table_ids(at))
    assert "12 runs are selected; Compare takes at most 10" in messages(at)
    assert len(charts(at)["rs_cmp_curves"]["data"]) == 40


# --- what can go wrong ------------------------------------------------------------------------


def test_damaged_and_interrupted_runs_are_listed_and_never_break_the_page(apptest, store, trained):
    (store / "broken").mkdir()
    (store / "broken" / "summary.json").write_text("{not json")
    (store / "foreign").mkdir()
    (store / "foreign" / "notes.txt").write_text("hello")
    runs.start_run(store, "cut-short", CONFIGS["deep"])
    status = json.loads((store / "cut-short" / "status.json").read_text())
    status.update(pid=999_999_999, proc_start=1)  # a process that is gone
    (store / "cut-short" / "status.json").write_text(json.dumps(status))

    at = apptest(PAGE)
    frame = table(at).value.set_index("run id")
    assert frame.loc["broken", "status"] == "unreadable"
    assert "summary.json cannot be read" in frame.loc["broken", "note"]
    assert frame.loc["foreign", "status"] == "unreadable"
    assert frame.loc["cut-short", "status"] == "interrupted"

    select(at, "broken")
    assert "This run cannot be read: summary.json cannot be read" in messages(at)
    select(at, "cut-short")
    assert "No epoch finished" in captions(at)
    # cut short after its curves were saved: they are drawn, with what they reached
    runs.save_metrics(store, "cut-short", {"epoch": [1, 2], "elapsed": [0.5, 1.0],
                                            "train_loss": [0.7, 0.6], "test_loss": [0.72, 0.65],
                                            "train_accuracy": [0.5, 0.6],
                                            "test_accuracy": [0.625, 0.5]})  # fmt: skip
    select(at, "cut-short")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Last test accuracy"] == "50.0%" and shown["Best test accuracy"] == "62.5%"
    assert shown["Epochs"] == "2"
    assert len(charts(at)["rs_curves"]["data"]) == 4
    # ... and the table shows them too, marked as the last saved (it showed None before)
    row = table(at).value.set_index("run id").loc["cut-short"]
    assert row["status"] == "interrupted (last saved: epoch 2)"
    assert row["final test acc"] == 0.5 and row["best test acc"] == 0.625
    runs.save_metrics(store, "cut-short", {})
    select(at, "broken", "cut-short", trained["deep"], trained["shallow"])
    text = messages(at)
    assert "**broken** is left out" in text
    assert "(·-short)** has no metrics to draw (interrupted" in text  # the cut-short copy
    assert len(charts(at)["rs_cmp_curves"]["data"]) == 8  # the two finished runs

    at.multiselect(key="rs_statuses").set_value(["unreadable"]).run()
    assert sorted(table_ids(at)) == ["broken", "foreign"]
    select(at, "foreign")
    click(at, "rs_delete_confirm")
    assert not (store / "foreign").exists()


def test_import_refuses_a_bad_file_and_takes_an_exported_run(apptest, store, trained):
    at = apptest(PAGE)
    uploader = at.get("file_uploader")[0]
    uploader.set_value([("notes.zip", b"not a zip at all", "application/zip")]).run()
    assert not at.exception, at.exception
    text = messages(at)
    assert "notes.zip: this is not a dlviz run ZIP that can be imported: not a ZIP file" in text
    assert len(table_ids(at)) == 3

    data = runs.export_run(None, trained["deep"])
    runs.delete_run(None, trained["deep"])
    at.get("file_uploader")[0].set_value([("deep.zip", data, "application/zip")]).run()
    assert not at.exception, at.exception
    assert f"Imported deep.zip as run {trained['deep']}." in messages(at)
    assert trained["deep"] in table_ids(at)


def test_a_transfer_run_shows_feature_maps_of_its_images_as_the_backbone_took_them(
    apptest, store, trained
):
    """Grey digits went into dlviz-shapes32 as three channels; the maps are drawn the same way."""
    cfg = RunConfig.from_dict(
        {
            "name": "digits transfer",
            "data": {"name": "digits", "n_samples": 150, "image_size": 32, "per_class": 3},
            "train": {"epochs": 1, "device": "cpu"},
            "transfer": {"backbone": "dlviz-shapes32"},
        }
    )
    end = jobs.start(cfg, runs_dir=store).wait()
    assert end.status == "finished", end.message
    at = select(apptest(PAGE), trained["digits cnn"], end.run_id)
    assert "cannot be drawn" not in messages(at)
    figs = charts(at)
    maps = sorted(k for k in figs if k.startswith("rs_cmp_fmaps_"))
    assert len(maps) == 2
    notes = [[a["text"] for a in figs[k]["layout"]["annotations"]] for k in maps]
    assert any(n[0].startswith("<b>conv1</b> - 16 channels, 32x32") for n in notes), notes


# --- take it with you -----------------------------------------------------------------------------


def downloads(at: AppTest) -> dict[str, str]:
    return {b.key: b.label for b in at.get("download_button")}


def test_a_finished_run_shows_its_code_checks_its_onnx_and_offers_the_bundle(
    apptest, store, trained
):
    at = select(apptest(PAGE), trained["deep"])
    assert any(m.value == "#### Take it with you" for m in at.markdown)
    code = [c.value for c in at.code]
    assert len(code) == 2  # PyTorch and Keras, each in its tab
    assert (
        "import torch" in code[0] and "import dlviz" not in code[0] and "from dlviz" not in code[0]
    )
    assert "keras.Sequential" in code[1] or "keras.Model" in code[1]
    assert "it reproduces this run's numbers exactly" in captions(at)
    assert downloads(at)["rs_code_dl_pytorch"] == "Download the PyTorch script"
    # ONNX: exported and checked on a click, the result said in numbers
    click(at, "rs_onnx_go")
    (ok,) = [s.value for s in at.success if "onnxruntime agrees with PyTorch" in s.value]
    diff = float(re.search(r"largest difference between their outputs is ([\d.e+-]+)", ok)[1])
    assert diff <= 1e-4 and "within 1e-4" in ok
    at.run()
    assert at.button(key="rs_onnx_go").disabled  # done: kept for the session, still shown
    assert any("onnxruntime agrees with PyTorch" in s.value for s in at.success)
    labels = set(downloads(at).values())
    assert {"Download the bundle (ZIP)", "Download the report (HTML)",
            "Download TensorBoard event files (ZIP)", "Download model.onnx"} <= labels  # fmt: skip


def test_a_cnn_run_with_its_data_offers_the_script_with_the_data_file(apptest, store, trained):
    at = select(apptest(PAGE), trained["digits cnn"])
    assert downloads(at)["rs_code_dl_pytorch"] == "Download the PyTorch script and its data"
    assert "np.load" in at.code[0].value or "npz" in at.code[0].value


def test_a_link_reopens_the_runs_a_person_filtered(apptest, store, trained):
    at = apptest(PAGE, query={"search": "deep", "statuses": "finished", "datasets": "x y"})
    assert at.session_state["rs_search"] == "deep"
    assert at.session_state["rs_statuses"] == ["finished"]
    assert at.session_state["rs_datasets"] == []  # "x y" is not a name: named, left out
    assert "datasets=x y ('x y' is not a name)" in at.warning[0].value
    assert table_ids(at) == [trained["deep"]]
    assert {k: str(v) for k, v in at.query_params.items()} == {
        "search": "deep",
        "statuses": "finished",
    }
