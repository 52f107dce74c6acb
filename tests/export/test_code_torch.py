"""A run as a standalone PyTorch script (dlviz.export.code): the script, run in its own Python
process, repeats the run's numbers; the CLI writes it and its data; runs that cannot be code
say why.

Each run trains in a tmp run store (about a second), and each script runs as a subprocess of
a few seconds. On the CPU a script whose `exact` is True builds the same initial weights and
sees the same batches, dropout masks and augmentations as the run, so its test accuracy must
equal the run's to the last digit; its test loss may differ in the 6th or 7th digit only, as
dlviz sums the per-example losses in another order (a matrix product) than `F.cross_entropy`'s
mean does.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dlviz import jobs
from dlviz.cli import main
from dlviz.config import DataConfig, RunConfig
from dlviz.data import load_dataset
from dlviz.export.code import CodeError, generate
from dlviz.export.code_plan import TOY_NAMES, toy_source

# Small runs that learn in a second each, one per kind of network the scripts write.
CONFIGS = {
    # the Playground: an MLP with dropout on the 2-D circle (the data is made in the script)
    "mlp": {
        "data": {"name": "circle", "n_samples": 300},
        "model": {"arch": "mlp", "hidden": [16, 16], "dropout": 0.1},
        "train": {"epochs": 20, "lr": 0.03},
    },
    # the Image lab: a CNN with batch norm, pooling, a projection shortcut and augmentation
    "cnn": {
        "data": {"name": "digits", "n_samples": 500},
        "model": {
            "arch": "cnn",
            "blocks": [{"channels": 16, "pool": "max"}, {"channels": 32, "pool": "max"}],
            "residual": True,
            "norm": "batch",
        },
        "train": {"epochs": 6, "lr": 0.01, "augment": {"rotate": 10, "crop": 0.05}},
    },
    # the Sequence lab: a GRU carrying the first marker of temporal_order across the gap
    "gru": {
        "data": {"name": "temporal_order", "n_samples": 800, "length": 8},
        "model": {"arch": "gru", "hidden_size": 32},
        "train": {"epochs": 8, "lr": 0.01},
    },
    # ... and a transformer on left-padded sentences: padding masked, positions shifted
    "transformer": {
        "data": {"name": "sentiment", "n_samples": 300},
        "model": {"arch": "transformer", "hidden_size": 16, "layers": 2, "dropout": 0.1},
        "train": {"epochs": 3},
    },
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """A run store with one finished run of each CONFIGS entry: (root, {name: summary})."""
    root = tmp_path_factory.mktemp("runs")
    summaries = {}
    for name, config in CONFIGS.items():
        summary = jobs.execute(RunConfig.from_dict(config), emit=lambda e: None, runs_dir=root)
        assert summary["status"] == "finished", summary
        summaries[name] = summary
    return root, summaries


def run_script(path: Path, timeout: float = 120) -> dict:
    """Run a script in a fresh Python from another folder, with as many torch threads as the
    runs here had (tests/conftest.py gives them one: threads split big sums, and another split
    rounds the last digits differently); its last stdout line, as JSON."""
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    out = subprocess.run(
        [sys.executable, str(path)], cwd=path.parent.parent, capture_output=True, text=True,
        timeout=timeout, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def write(code, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / code.filename).write_text(code.script)
    if code.data is not None:
        (folder / code.data_name).write_bytes(code.data)
    return folder / code.filename


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_script_repeats_the_run_exactly(store, tmp_path, name):
    root, summaries = store
    summary = summaries[name]
    code = generate(root, summary["run_id"], "pytorch")
    assert code.exact, code.notes
    assert code.notes[0].startswith("Exact")
    result = run_script(write(code, tmp_path / "code"))
    final = summary["final"]
    assert result["test_accuracy"] == final["test_accuracy"]
    assert result["test_loss"] == pytest.approx(final["test_loss"], rel=1e-5)
    if name in ("mlp", "cnn", "gru"):  # these learn their task: well above chance
        assert final["test_accuracy"] > 0.8


def test_scripts_import_nothing_of_dlviz(store):
    root, summaries = store
    for summary in summaries.values():
        for framework in ("pytorch", "keras"):
            script = generate(root, summary["run_id"], framework).script
            imported = set()
            for node in ast.walk(ast.parse(script)):  # valid Python, and what it imports
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom):
                    imported.add((node.module or "").split(".")[0])
            allowed = {"json", "math", "os", "pathlib", "numpy", "torch", "keras"}
            assert imported <= allowed, (framework, imported - allowed)
            assert "import_module" not in script and "__import__" not in script


def test_the_data_is_beside_the_script_or_made_in_it(store):
    root, summaries = store
    points = generate(root, summaries["mlp"]["run_id"], "pytorch")
    assert points.data is None and points.data_name == ""
    assert "def make_points" in points.script  # the 2-D set is regenerated
    images = generate(root, summaries["cnn"]["run_id"], "pytorch")
    assert images.data_name == f"{summaries['cnn']['run_id']}_data.npz"
    assert images.data_name in images.script
    assert "def augment" in images.script and "Residual(" in images.script


@pytest.mark.parametrize("name", TOY_NAMES)
def test_the_toy_generators_give_dlviz_s_arrays(name):
    ns: dict = {"np": np}
    exec(toy_source(name), ns)
    for n, noise, seed, fraction in ((300, 0.1, 0, 0.3), (101, 0.37, 5, 0.25)):
        x, y = ns["load_points"](n, noise, seed)
        mine = ns["split"](x, y, fraction, seed)
        d = load_dataset(
            DataConfig(name=name, n_samples=n, noise=noise, seed=seed, test_fraction=fraction)
        )
        theirs = (d.x_train.numpy(), d.y_train.numpy(), d.x_test.numpy(), d.y_test.numpy())
        for a, b in zip(mine, theirs):
            assert a.dtype == b.dtype and np.array_equal(a, b)


def test_the_cli_writes_the_script_and_its_data(store, tmp_path, capsys):
    root, summaries = store
    run_id = summaries["gru"]["run_id"]
    out = tmp_path / "mine" / "gru.py"
    out.parent.mkdir()
    args = ["runs", "--runs-dir", str(root), "code", run_id]
    assert main([*args, "--framework", "pytorch", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    data = out.with_name(f"{run_id}_data.npz")
    assert out.is_file() and data.is_file()
    assert str(out) in said and str(data) in said and "exactly" in said
    with np.load(data) as arrays:
        assert set(arrays.files) == {"x_train", "y_train", "x_test", "y_test"}
    # a folder as -o, and the default name
    assert main([*args, "--framework", "keras", "-o", str(tmp_path)]) == 0
    assert (tmp_path / f"{run_id}_keras.py").is_file()
    assert (tmp_path / f"{run_id}_data.npz").is_file()


def test_a_generative_run_is_refused_with_the_reason(tmp_path, capsys):
    config = RunConfig.from_dict(
        {"data": {"name": "ring", "n_samples": 200}, "model": {"arch": "gan", "hidden": [8]},
         "train": {"epochs": 1}}
    )  # fmt: skip
    summary = jobs.execute(config, emit=lambda e: None, runs_dir=tmp_path)
    for framework in ("pytorch", "keras"):
        with pytest.raises(CodeError, match="generative model \\(gan\\)"):
            generate(tmp_path, summary["run_id"], framework)
    assert main(["runs", "--runs-dir", str(tmp_path), "code", summary["run_id"]]) == 1
    assert "generative model" in capsys.readouterr().err
    assert not list(Path.cwd().glob(f"{summary['run_id']}_*"))  # nothing written


def test_unknown_runs_and_frameworks_are_code_errors(store):
    root, summaries = store
    with pytest.raises(CodeError, match="no run"):
        generate(root, "20200101-000000-mlp-000000", "pytorch")
    with pytest.raises(CodeError, match="framework"):
        generate(root, summaries["mlp"]["run_id"], "jax")
