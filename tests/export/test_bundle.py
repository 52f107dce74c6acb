"""The bundle: the run ZIP with a take-away folder (ONNX, code, metrics CSV, model card) that
imports back as a run, and whose extras the importer checks but does not keep; a model card
that says what the run was; the HTML report that opens offline."""

from __future__ import annotations

import io
import zipfile

import pytest

from dlviz import jobs, runs
from dlviz.config import RunConfig
from dlviz.export import bundle
from dlviz.labs.runs.figures import report_html

MLP = RunConfig.from_dict(
    {
        "data": {"name": "xor", "n_samples": 300},
        "model": {"hidden": [8, 8]},
        "train": {"epochs": 4, "lr": 0.03, "device": "cpu"},
    }  # fmt: skip
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    result = jobs.execute(MLP, emit=lambda e: None, runs_dir=root)
    assert result["status"] == "finished"
    return root, result["run_id"]


def test_the_bundle_holds_the_run_and_the_take_away_files_and_imports_back(trained, tmp_path):
    root, run_id = trained
    b = bundle.make(root, run_id)
    with zipfile.ZipFile(io.BytesIO(b.data)) as zf:
        names = set(zf.namelist())
        card = zf.read(f"{run_id}/take-away/MODEL_CARD.md").decode()
        csv = zf.read(f"{run_id}/take-away/metrics.csv").decode()
    for f in ("config.json", "summary.json", "metrics.json", "weights.safetensors"):
        assert f"{run_id}/{f}" in names
    assert {"model.onnx", "metrics.csv", "MODEL_CARD.md"} <= set(b.files), b.left_out
    assert any(f.endswith("_pytorch.py") for f in b.files)
    assert any(f.endswith("_keras.py") for f in b.files)
    assert b.left_out == []
    # the card says what the run was, from the run itself
    summary = runs.load_run(root, run_id).summary
    assert "dataset: xor, 300 examples" in card
    assert f"final test accuracy {summary['final']['test_accuracy']:.1%}" in card
    assert "onnxruntime agreed with PyTorch" in card
    assert csv.splitlines()[0].startswith("run_id,epoch")
    assert len(csv.splitlines()) == 1 + 4  # a row an epoch
    # another store imports the run and skips the take-away folder
    other = tmp_path / "other"
    new_id = runs.import_run(other, b.data)
    again = runs.load_run(other, new_id)
    assert again.config == runs.load_run(root, run_id).config and again.has_weights
    assert not (runs.run_folder(other, new_id) / "take-away").exists()


@pytest.mark.parametrize(
    "extra, why",
    [
        ("take-away/evil.sh", "unexpected file"),
        ("take-away/../../x.py", "unsafe path"),
        ("take-away/deep/er.py", "nested too deep"),
    ],
)
def test_a_bundles_extras_are_checked_and_strange_ones_refused(trained, extra, why):
    root, run_id = trained
    data = bundle.make(root, run_id).data
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr(f"{run_id}/{extra}", "x")
    with pytest.raises(runs.RunStoreError, match=why):
        runs.import_run(root, buf.getvalue())


def test_the_report_is_one_html_file_with_the_charts_and_plotly_inline(trained):
    root, run_id = trained
    stored = runs.load_run(root, run_id)
    page = report_html(stored)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<script src=" not in page and '<script type="text/javascript" src=' not in page
    assert len(page) > 1_000_000  # plotly.js itself, inlined: the report opens offline
    assert page.count("Plotly.newPlot") >= 2  # the curves and the gradient profile
    assert "&quot;name&quot;: &quot;xor&quot;" in page  # the config, escaped
    final = stored.summary["final"]["test_accuracy"]
    assert f"{final:.1%}" in page
