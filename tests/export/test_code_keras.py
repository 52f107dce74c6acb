"""A run as a Keras 3 script (dlviz.export.code), run on Keras's PyTorch backend
(KERAS_BACKEND=torch: no TensorFlow needed) in its own Python process: it learns what the run
learned.

Keras draws its own initial weights and batch order, so a Keras script cannot repeat the run's
digits (`exact` is False). What it must do is learn the task: each check asks for a test
accuracy far above chance and within 0.1 of the run's. These runs reach 0.93 to 1.0, where
one test example is worth 0.003 to 0.011 of accuracy, so 0.1 is 9 to 30 examples: room for
another initialisation and batch order, and still far from what a wrong network (a lost
residual, an unmasked padding, channels in the wrong place) would give.

Keras is imported only by the scripts, never by this file (importing it here without
KERAS_BACKEND would look for TensorFlow); the module is skipped where keras is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlviz import jobs
from dlviz.config import RunConfig
from dlviz.export.code import generate

if importlib.util.find_spec("keras") is None:  # pytest.importorskip would import it here
    pytest.skip("keras is not installed (pip install 'keras>=3')", allow_module_level=True)

# (config, chance): one network of each way the Keras scripts are written
CONFIGS = {
    # keras.Sequential: Dense layers on the 2-D circle (chance: 0.5)
    "mlp": (
        {
            "data": {"name": "circle", "n_samples": 300},
            "model": {"arch": "mlp", "hidden": [16, 16]},
            "train": {"epochs": 20, "lr": 0.03},
        },
        0.5,
    ),
    # the functional API: a CNN with a shortcut, channels-last images (chance: 0.1)
    "cnn": (
        {
            "data": {"name": "digits", "n_samples": 500},
            "model": {
                "arch": "cnn",
                "blocks": [
                    {"channels": 16, "pool": "max"},
                    {"channels": 32, "pool": "max", "residual": True},
                ],
                "norm": "batch",
            },
            "train": {"epochs": 6, "lr": 0.01},
        },
        0.1,
    ),
    # an embedding and a GRU carrying temporal_order's first marker to the end (chance: 0.25)
    "gru": (
        {
            "data": {"name": "temporal_order", "n_samples": 800, "length": 8},
            "model": {"arch": "gru", "hidden_size": 32},
            "train": {"epochs": 8, "lr": 0.01},
        },
        0.25,
    ),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    root = tmp_path_factory.mktemp("runs")
    summaries = {}
    for name, (config, _) in CONFIGS.items():
        summary = jobs.execute(RunConfig.from_dict(config), emit=lambda e: None, runs_dir=root)
        assert summary["status"] == "finished", summary
        summaries[name] = summary
    return root, summaries


def run_keras(path: Path, timeout: float = 180) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    out = subprocess.run(
        [sys.executable, str(path)], cwd=path.parent.parent, capture_output=True, text=True,
        timeout=timeout, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(CONFIGS))
def test_the_keras_script_learns_what_the_run_learned(store, tmp_path, name):
    root, summaries = store
    summary = summaries[name]
    code = generate(root, summary["run_id"], "keras")
    assert not code.exact and code.notes[0].startswith("Close, not exact")
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / code.filename).write_text(code.script)
    if code.data is not None:
        (folder / code.data_name).write_bytes(code.data)
    result = run_keras(folder / code.filename)
    run_accuracy = summary["final"]["test_accuracy"]
    chance = CONFIGS[name][1]
    assert run_accuracy > chance + 0.4  # the run learned: the comparison means something
    assert result["test_accuracy"] > chance + 0.4
    assert result["test_accuracy"] == pytest.approx(run_accuracy, abs=0.1)


def test_the_keras_script_is_written_as_the_primer_writes_keras(store):
    root, summaries = store
    mlp = generate(root, summaries["mlp"]["run_id"], "keras").script
    assert "keras.Sequential(" in mlp and "model.compile(" in mlp and "model.fit(" in mlp
    assert 'metrics=["accuracy"]' in mlp and "model.evaluate(" in mlp
    assert "validation_data=(x_test, y_test)" in mlp
    cnn = generate(root, summaries["cnn"]["run_id"], "keras")
    # a shortcut: the functional API, said in the code and in the notes
    assert "keras.Model(inputs, outputs)" in cnn.script and "functional API" in cnn.script
    assert any("functional API" in note for note in cnn.notes)
    assert "transpose(0, 2, 3, 1)" in cnn.script  # channels last
    assert any("BatchNormalization(momentum=0.9, epsilon=1e-5)" in n for n in cnn.notes)
    gru = generate(root, summaries["gru"]["run_id"], "keras")
    assert "layers.GRU(WIDTH, bias_initializer=update_gate_bias)" in gru.script
    assert any("GRU" in note for note in gru.notes)
