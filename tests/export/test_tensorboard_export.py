"""TensorBoard event files of runs (dlviz.export.tensorboard), read back with TensorBoard's
own reader and checked against what the run store keeps."""

from __future__ import annotations

import json
import sys

import pytest
from safetensors.torch import load_file

from dlviz import jobs, runs
from dlviz.cli import main
from dlviz.config import RunConfig
from dlviz.export.onnx_model import ExportError
from dlviz.export.tensorboard import TensorBoardCallback, tag, write_run

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

CONFIG = {
    "data": {"name": "moons", "n_samples": 200},
    "model": {"arch": "mlp", "hidden": [8, 8]},
    "train": {"epochs": 3, "device": "cpu"},
}


def read(folder):
    """Everything in a folder's event files, as TensorBoard reads it (nothing thinned)."""
    acc = event_accumulator.EventAccumulator(
        str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0}
    )
    acc.Reload()
    return acc


def text(acc, name):
    return acc.Tensors(f"{name}/text_summary")[-1].tensor_proto.string_val[0].decode()


def train(root, config=CONFIG, callbacks=()):
    end = jobs.execute(
        RunConfig.from_dict(config), emit=lambda e: None, runs_dir=root, callbacks=callbacks
    )
    assert end["status"] == "finished", end
    return end["run_id"]


def test_tags_are_readable():
    assert tag("train_loss") == "loss/train"
    assert tag("test_accuracy") == "accuracy/test"
    assert tag("test_sequence_accuracy") == "sequence_accuracy/test"
    assert tag("baseline_mse") == "mse/naive_forecast"
    assert tag("loss_d") == "loss/discriminator"
    assert tag("elapsed") == "time/seconds"


def test_a_stored_run_reads_back_as_it_was_stored(tmp_path):
    run_id = train(tmp_path)
    run = runs.load_run(tmp_path, run_id)
    out = write_run(tmp_path, run_id, tmp_path / "board")
    assert out == tmp_path / "board"
    acc = read(out)
    epochs = run.metrics["epoch"]
    assert epochs == [1, 2, 3]
    for column, name in [
        ("train_loss", "loss/train"),
        ("test_loss", "loss/test"),
        ("train_accuracy", "accuracy/train"),
        ("test_accuracy", "accuracy/test"),
    ]:
        events = acc.Scalars(name)
        assert [e.step for e in events] == epochs
        assert [e.value for e in events] == pytest.approx(run.metrics[column], rel=1e-6)

    norms = run.summary["gradient_norms"]
    assert list(norms) == ["hidden1", "hidden2", "output"]
    for layer, value in norms.items():
        (event,) = acc.Scalars(f"gradient_norm/{layer}")
        assert event.step == 3 and event.value == pytest.approx(value, rel=1e-6)
    (spread,) = acc.Histograms("gradient_norms")
    assert spread.histogram_value.num == 3
    assert spread.histogram_value.min == pytest.approx(min(norms.values()), rel=1e-6)
    assert spread.histogram_value.max == pytest.approx(max(norms.values()), rel=1e-6)

    weights = load_file(tmp_path / run_id / runs.WEIGHTS)
    assert {t for t in acc.Tags()["histograms"] if t.startswith("weights/")} == {
        f"weights/{k}" for k in weights
    }
    for name, tensor in weights.items():
        (h,) = acc.Histograms(f"weights/{name}")
        assert h.step == 3 and h.histogram_value.num == tensor.numel()
        assert h.histogram_value.min == pytest.approx(float(tensor.min()), abs=1e-6)
        assert h.histogram_value.max == pytest.approx(float(tensor.max()), abs=1e-6)
        assert h.histogram_value.sum == pytest.approx(float(tensor.double().sum()), abs=1e-4)

    assert json.loads(text(acc, "config")) == run.config
    assert json.loads(text(acc, "summary"))["gradient_norms"] == norms


def test_exporting_again_replaces_the_event_files(tmp_path):
    run_id = train(tmp_path)
    board = tmp_path / "board"
    write_run(tmp_path, run_id, board)
    write_run(tmp_path, run_id, board)
    assert len([f for f in board.iterdir() if f.name.startswith("events.out.tfevents.")]) == 1
    assert len(read(board).Scalars("loss/train")) == 3


def test_the_callback_writes_the_curves_while_a_run_trains(tmp_path):
    board = tmp_path / "live"
    callback = TensorBoardCallback(board, config=CONFIG)
    run_id = train(tmp_path / "store", callbacks=(callback,))
    assert callback.error == ""
    run = runs.load_run(tmp_path / "store", run_id)
    acc = read(board)
    for column in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        events = acc.Scalars(tag(column))
        assert [e.step for e in events] == run.metrics["epoch"]
        assert [e.value for e in events] == pytest.approx(run.metrics[column], rel=1e-6)
    assert [h.step for h in acc.Histograms("gradient_norms")] == [1, 2, 3]  # one an epoch
    (last,) = [e for e in acc.Scalars("gradient_norm/output") if e.step == 3]
    assert last.value == pytest.approx(run.summary["gradient_norms"]["output"], rel=1e-6)
    weights = load_file(tmp_path / "store" / run_id / runs.WEIGHTS)
    (h,) = acc.Histograms("weights/head.weight")
    assert h.histogram_value.num == weights["head.weight"].numel()
    assert h.histogram_value.sum == pytest.approx(float(weights["head.weight"].sum()), abs=1e-5)
    assert json.loads(text(acc, "config")) == CONFIG


def test_a_folder_that_cannot_be_written_does_not_stop_the_run(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    callback = TensorBoardCallback(blocker / "board")
    train(tmp_path / "store", callbacks=(callback,))  # finishes all the same
    assert str(blocker) in callback.error


def test_missing_tensorboard_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    with pytest.raises(ExportError, match=r"pip install 'dlviz\[tensorboard\]'"):
        TensorBoardCallback(tmp_path / "board")
    with pytest.raises(ExportError, match=r"pip install 'dlviz\[tensorboard\]'"):
        write_run(tmp_path, "any", tmp_path / "board")
    config = tmp_path / "run.json"
    config.write_text(json.dumps(CONFIG))
    assert main(["train", str(config), "--tensorboard", str(tmp_path / "tb")]) == 1
    assert "pip install 'dlviz[tensorboard]'" in capsys.readouterr().err
    assert not (tmp_path / "tb").exists()


def test_cli_train_writes_readable_events(tmp_path, capsys):
    config = tmp_path / "run.json"
    config.write_text(json.dumps(CONFIG))
    board, store = tmp_path / "tb", tmp_path / "store"
    code = main(["train", str(config), "--runs-dir", str(store), "--tensorboard", str(board)])
    assert code == 0
    assert f"tensorboard --logdir {board}" in capsys.readouterr().err
    (run_id,) = [p.name for p in store.iterdir()]
    metrics = runs.load_run(store, run_id).metrics
    acc = read(board)
    events = acc.Scalars("loss/test")
    assert [e.step for e in events] == [1, 2, 3]
    assert [e.value for e in events] == pytest.approx(metrics["test_loss"], rel=1e-6)


def test_cli_exports_a_run_as_tensorboard_events(tmp_path, capsys, monkeypatch):
    store = tmp_path / "store"
    run_id = train(store)
    out = tmp_path / "events"
    code = main(["runs", "export", run_id, "--format", "tensorboard", "-o", str(out),
                 "--runs-dir", str(store)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and f"tensorboard --logdir {out}" in printed
    assert len(read(out).Scalars("accuracy/test")) == 3
    monkeypatch.chdir(tmp_path)  # the default folder is ID-tensorboard
    assert (
        main(["runs", "export", run_id, "--format", "tensorboard", "--runs-dir", str(store)]) == 0
    )
    assert read(tmp_path / f"{run_id}-tensorboard").Scalars("loss/train")
    code = main(["runs", "export", run_id, "--format", "tensorboard", "-o", "-",
                 "--runs-dir", str(store)])  # fmt: skip
    assert code == 2 and "folder" in capsys.readouterr().err


def test_a_run_cut_off_before_its_end_still_exports_its_curves(tmp_path):
    """A run with curves but no weights (the process died): scalars and config, no weights."""
    config = RunConfig.from_dict(CONFIG).to_dict()
    runs.start_run(tmp_path, "cut-off", config)
    runs.save_metrics(
        tmp_path,
        "cut-off",
        {"epoch": [1, 2], "train_loss": [0.9, 0.7], "test_loss": [1.0, None], "elapsed": [1, 2]},
    )
    acc = read(write_run(tmp_path, "cut-off", tmp_path / "board"))
    assert [e.value for e in acc.Scalars("loss/train")] == pytest.approx([0.9, 0.7])
    assert [e.step for e in acc.Scalars("loss/test")] == [1]  # a missing value is skipped
    assert not [t for t in acc.Tags()["histograms"] if t.startswith("weights/")]
    assert json.loads(text(acc, "config")) == config
