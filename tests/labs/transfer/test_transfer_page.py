"""AppTest of the Transfer page: the network plan per strategy, the four strategies compared to
the end, the data-efficiency experiment, checkpoints uploaded (good, broken, foreign), a run from
the run store as the backbone, and a target without images."""

from __future__ import annotations

import io
import re

import torch
from streamlit.testing.v1 import AppTest
from support.apptest import charts, values, wait_until_done

from dlviz import transfer
from dlviz.models import build_model


def plan_roles(at: AppTest) -> dict[str, list[str]]:
    fig = charts(at)["tl_plan"]
    return {t["name"].split(" ")[0]: list(t["x"]) for t in fig["data"]}


def test_the_plan_shows_what_each_strategy_freezes(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/transfer.py")
    assert at.selectbox(key="tl_backbone").value == transfer.DEFAULT_BACKBONE
    assert "source test accuracy" in "\n".join(c.value for c in at.caption)
    convs = [f"conv{i}" for i in range(1, 7)]
    assert plan_roles(at) == {"frozen": convs, "new": ["output"]}
    text = "\n".join(m.value for m in at.markdown)
    assert "390 of 75,478 parameters train (0.5%)" in text  # blocks 75,088 + 64 * 6 + 6
    at.radio(key="tl_strategy").set_value("finetune_top").run()
    at.slider(key="tl_top").set_value(3).run()
    assert plan_roles(at) == {"frozen": convs[:3], "fine-tuned": convs[3:], "new": ["output"]}
    at.radio(key="tl_strategy").set_value("scratch").run()
    assert plan_roles(at) == {"trained": convs, "new": ["output"]}
    assert at.slider(key="tl_top").disabled and at.select_slider(key="tl_factor").disabled
    at.selectbox(key="tl_target").set_value("digits").run()
    assert (
        "75,738 of 75,738 parameters train"
    )  # 75,088 + 64 * 10 + 10 in "\n".join(m.value for m in at.markdown)
    # no images uploaded: the target cannot train, and the page says why
    at.selectbox(key="tl_target").set_value("upload").run()
    at.button(key="tl_compare").click().run()
    assert not at.exception
    assert any("Your images" in e.value for e in at.error)


def test_compare_all_four_strategies_to_the_end(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/transfer.py")
    at.number_input(key="tl_epochs").set_value(2).run()
    at.select_slider(key="tl_per_class").set_value(5).run()
    at.button(key="tl_compare").click().run()
    assert not at.exception, at.exception
    view = at.session_state["tl_view"]
    assert [h.config.transfer.strategy for h in view.handles] == [
        "scratch", "frozen", "finetune_top", "finetune_all"
    ]  # fmt: skip
    assert all(h.config.data.per_class == 5 for h in view.handles)
    wait_until_done(at, key="tl_view", deadline_s=120, rerun=True)
    figs = charts(at)
    assert len({t["name"].split(":")[0] for t in figs["tl_view_curves"]["data"]}) == 4
    table = at.dataframe[0].value
    assert list(table["strategy"]) == [
        "From scratch", "Feature extraction", "Fine-tune top blocks", "Fine-tune all"
    ]  # fmt: skip
    assert list(table["trainable parameters"])[1] == "390"
    assert all(v.endswith("%") for v in table["final test accuracy"])
    moved = figs["tl_view_moved"]["data"]
    assert [t["name"] for t in moved] == [
        "Feature extraction", "Fine-tune top blocks", "Fine-tune all"
    ]  # fmt: skip
    assert values(moved[0]["y"]) == [0.0] * 6  # frozen: nothing moved
    top = values(moved[1]["y"])  # the last 2 blocks (the default) fine-tuned
    assert top[:4] == [0.0] * 4 and all(v > 0 for v in top[4:])
    assert all(v > 0 for v in values(moved[2]["y"]))
    assert "tl_view_before" in figs and "tl_view_after" in figs
    text = "\n".join(m.value for m in at.markdown)
    assert "reached the best test accuracy" in text and "times fewer" in text
    from dlviz import runs

    assert len(runs.list_runs(tmp_path / "runs")) == 4


def test_the_data_efficiency_experiment_draws_a_line_per_strategy(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/transfer.py")
    at.multiselect(key="tl_levels").set_value([]).run()
    at.button(key="tl_efficiency").click().run()
    assert "levels: choose at least one number of examples per class" in [e.value for e in at.error]
    assert "tl_eff_view" not in at.session_state
    at.multiselect(key="tl_levels").set_value([1, 0]).run()
    assert not at.error  # the message went with the next change
    at.number_input(key="tl_steps").set_value(10).run()
    assert at.button(key="tl_efficiency").label == "Data efficiency (6 runs)"
    at.button(key="tl_efficiency").click().run()
    wait_until_done(at, key="tl_eff_view", deadline_s=120, rerun=True)
    fig = charts(at)["tl_eff_view_chart"]
    assert [t["name"] for t in fig["data"]] == [
        "From scratch", "Feature extraction", "Fine-tune all"
    ]  # fmt: skip
    assert all(list(t["x"]) == [1, 70] for t in fig["data"])
    assert all(0 <= v <= 1 for t in fig["data"] for v in values(t["y"]))
    assert "All 6 runs finished" in "\n".join(s.value for s in at.success)
    assert "With 1 labelled image per class" in "\n".join(m.value for m in at.markdown)


def checkpoint_bytes(**changes) -> bytes:
    b = transfer.load_backbone(transfer.DEFAULT_BACKBONE)
    state = build_model(b.model, b.input_shape, 4, seed=1).state_dict()
    state.update(changes)
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def test_uploaded_checkpoints_good_and_bad(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/transfer.py")
    at.selectbox(key="tl_backbone").set_value("upload").run()
    assert at.button(key="tl_compare").disabled
    assert any("Upload a checkpoint" in i.value for i in at.info)
    uploader = at.get("file_uploader")[0]
    uploader.upload("junk.pt", b"this is not a checkpoint", "application/octet-stream").run()
    assert not at.exception
    assert any("neither a safetensors file" in e.value for e in at.error)
    bad = checkpoint_bytes(**{"blocks.0.conv.weight": torch.zeros(16, 1, 3, 3)})
    at.get("file_uploader")[0].upload("grey.pt", bad, "application/octet-stream").run()
    assert any("does not fit any dlviz backbone" in e.value for e in at.error)
    good = checkpoint_bytes()
    at.get("file_uploader")[0].upload("mine.pt", good, "application/octet-stream").run()
    assert not at.exception and not at.error
    assert "Using mine.pt." in [c.value for c in at.caption]
    assert not at.button(key="tl_compare").disabled
    at.number_input(key="tl_epochs").set_value(1).run()
    at.button(key="tl_train").click().run()
    wait_until_done(at, key="tl_view", deadline_s=120, rerun=True)
    h = at.session_state["tl_view"].handles[0]
    assert h.history.status == "finished", h.history.message
    assert h.config.transfer.backbone.endswith(".pt")


def test_a_cnn_run_from_the_run_store_as_the_backbone(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/transfer.py")
    at.selectbox(key="tl_backbone").set_value("run").run()
    assert any("No finished CNN runs" in i.value for i in at.info)
    from dlviz import jobs
    from dlviz.config import ConvBlock, DataConfig, ModelConfig, RunConfig, TrainConfig

    source = RunConfig(
        data=DataConfig(name="shapes", n_samples=120, image_size=16, channels=3),
        model=ModelConfig(arch="cnn", blocks=(ConvBlock(8), ConvBlock(8, pool="max"))),
        train=TrainConfig(epochs=1),
        name="my shapes cnn",
    )
    done = jobs.execute(source, emit=lambda e: None, runs_dir=tmp_path / "runs")
    at.run()
    assert at.selectbox(key="tl_run").value == done["run_id"]
    convs = ["conv1", "conv2"]
    assert plan_roles(at) == {"frozen": convs, "new": ["output"]}
    at.number_input(key="tl_epochs").set_value(1).run()
    at.button(key="tl_train").click().run()
    wait_until_done(at, key="tl_view", deadline_s=120, rerun=True)
    assert at.session_state["tl_view"].handles[0].history.status == "finished"


def test_a_few_uploaded_images_per_class_compare_all_four_strategies(
    apptest, monkeypatch, tmp_path
):
    """The issue's journey: a few images of each class on Your images, then one click here."""
    from support.uploads import two_classes

    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/uploads.py")
    two_classes(at, n=8)
    at.switch_page("pages/transfer.py").run()
    at.selectbox(key="tl_target").set_value("upload").run()
    assert not at.error
    assert "390" not in "\n".join(m.value for m in at.markdown)  # 2 classes: 64 * 2 + 2
    assert "130 of 75,218 parameters train" in "\n".join(m.value for m in at.markdown)
    # 25 a class asked for, fewer there: the page says so, and counts only the levels that fit
    note = next(c.value for c in at.caption if c.value.startswith("The smallest class has only"))
    n = int(re.search(r"only (\d+) training images", note).group(1))
    assert 4 <= n <= 7 and note.endswith("other classes on at most 25.")
    levels = [k for k in (1, 2, 5, 10, 25) if k < n] + ["all"]
    assert at.button(key="tl_efficiency").label == f"Data efficiency ({3 * len(levels)} runs)"
    at.number_input(key="tl_epochs").set_value(2).run()
    at.button(key="tl_compare").click().run()
    wait_until_done(at, key="tl_view", deadline_s=120, rerun=True)
    view = at.session_state["tl_view"]
    assert [h.history.status for h in view.handles] == ["finished"] * 4
    assert all(h.config.data.name == "upload" for h in view.handles)
    assert all(h.history.model.out.out_features == 2 for h in view.handles)
    assert len(at.dataframe[0].value) == 4
    n_test = view.handles[0].history.test_samples
    assert 0 < n_test < 10  # 16 images, a quarter of them for testing
    assert any(
        f"The test set has only {n_test} images, so one image is worth {100 / n_test:.0f} points"
        in c.value
        for c in at.caption
    )
