"""`dlviz bench generative` (seconds per training step of the four families on each device, the
GPU's speed-up) and the Generative view's live refresh in `dlviz bench refresh`. Speed itself
is never asserted: only that the figures are there and computed as said."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from dlviz.bench import BENCHMARKS, generative, refresh
from dlviz.config import RunConfig

TINY = {"tiny": ((8, 8), 32)}


def test_the_families_are_the_labs_defaults_on_the_ring_and_a_wide_variant():
    for family in generative.FAMILIES:
        cfg = generative.family_config(family)
        lab = RunConfig.from_dict({"data": {"name": "ring"}, "model": {"arch": family}})
        assert cfg == lab
        assert cfg.model.hidden == (128, 128, 128) and cfg.train.batch_size == 128
    assert generative.family_config("vae").model.beta == 0.3
    assert generative.family_config("diffusion").train.lr == 0.003
    wide = generative.family_config("flow", *generative.SIZES["wide"])
    assert wide.model.hidden == (512, 512, 512) and wide.train.batch_size == 1024
    assert wide.train.lr == 0.003  # the family's own settings kept


def test_a_gan_step_updates_its_discriminator_and_its_generator():
    step, model = generative.step_function(
        generative.family_config("gan", (8,), 16), torch.device("cpu")
    )
    before = {k: v.clone() for k, v in model.state_dict().items()}
    step()
    after = model.state_dict()
    for net in ("net_d", "net_g"):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(net))


def test_the_cpu_rows_give_every_family_a_positive_time_and_rate():
    seen = []
    result = generative.generative(
        "cpu", repeats=1, sizes=TINY, steps=2, max_seconds=0.0, progress=seen.append
    )
    assert result["benchmark"] == "generative" and result["devices"] == ["cpu"]
    assert result["machine"]["torch_threads"] >= 1 and result["steps_per_call"] == 2
    rows = result["rows"]
    assert seen == rows
    assert [r["family"] for r in rows] == ["gan", "vae", "diffusion", "flow"]
    for r in rows:
        assert r["device"] == "cpu" and r["size"] == "tiny" and r["batch"] == 32
        assert r["seconds_per_step"] > 0 and r["n"] == 1
        assert r["seconds_per_step"] == r["seconds"]["median"]
        assert r["samples_per_second"] == pytest.approx(32 / r["seconds_per_step"])
    assert result["speedups"] == []  # one device: nothing to compare
    text = generative.format_generative(result)
    assert all(f"cpu {f}" in text for f in generative.FAMILIES)
    assert "No GPU measured" in text and "2x8, batch 32" in text


def test_the_speedup_is_the_cpu_time_over_the_gpus_for_the_same_family_and_size():
    def row(device, family, size, s):
        return {"device": device, "family": family, "size": size, "seconds_per_step": s}

    rows = [
        row("cpu", "gan", "default", 0.004),
        row("cpu", "gan", "wide", 0.080),
        row("cpu", "vae", "default", 0.002),
        row("cuda:0", "gan", "default", 0.002),
        row("cuda:0", "gan", "wide", 0.001),
        row("cuda:0", "flow", "default", 0.001),  # no CPU row for it: no speed-up
        row("cuda:1", "vae", "default", 0.004),  # slower than the CPU: 0.5
    ]
    assert generative.speedups(rows) == [
        {"device": "cuda:0", "family": "gan", "size": "default", "speedup": pytest.approx(2.0)},
        {"device": "cuda:0", "family": "gan", "size": "wide", "speedup": pytest.approx(80.0)},
        {"device": "cuda:1", "family": "vae", "size": "default", "speedup": pytest.approx(0.5)},
    ]
    assert generative.speedups([r for r in rows if r["device"] == "cpu"]) == []


def test_generative_is_listed_and_measures_the_cpu_and_each_gpu():
    assert BENCHMARKS["generative"][0] == "generative"
    names = [d.type for d in generative.devices_for("all")]
    assert names[0] == "cpu" and ("cuda" in names) == torch.cuda.is_available()
    assert [d.type for d in generative.devices_for("cpu")] == ["cpu"]


def test_the_generative_bench_runs_without_streamlit_or_plotly():
    code = """
import sys
sys.modules["streamlit"] = None  # an import of either now fails
sys.modules["plotly"] = None
from dlviz.bench import generative
r = generative.generative("cpu", repeats=1, sizes={"t": ((4,), 8)}, steps=1, max_seconds=0)
print(len(r["rows"]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "4", done.stderr[-2000:]


def test_the_generative_views_refresh_reports_its_time_and_bytes():
    costs = refresh.generative_view_costs(repeats=1, epochs=1, samples=400)
    assert [c["case"] for c in costs] == list(refresh.generative_view_cases())
    (c,) = costs
    assert "gan" in c["case"] and c["epochs"] == 1 and c["snapshots"] >= 1
    assert c["ms"]["median"] > 0
    # the plane (points, the discriminator's heatmap, the latent mesh, the arrows), the losses
    # and the metrics: more than a few points' worth, under the 300 KB budget
    assert 5_000 < c["bytes"] < 300_000, c["bytes"]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_on_a_gpu_every_family_gets_a_speedup():
    result = generative.generative("all", repeats=3, sizes=TINY, steps=2)
    gpus = [d for d in result["devices"] if d != "cpu"]
    assert gpus and result["gpus"]
    ups = result["speedups"]
    assert {(s["device"], s["family"]) for s in ups} == {
        (d, f) for d in gpus for f in generative.FAMILIES
    }
    assert all(s["speedup"] > 0 for s in ups)
    assert "vs cpu" in generative.format_generative(result)
