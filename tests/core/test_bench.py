import os
import subprocess
import sys

import pytest
import torch

from dlviz import timing
from dlviz.bench import BENCHMARKS, overhead, recurrent, refresh
from dlviz.config import RunConfig
from dlviz.data import load_dataset
from dlviz.models import build_model


def test_spread_matches_a_hand_computation():
    s = timing.summarize([4.0, 1.0, 3.0, 2.0, 10.0]).spread()
    assert s["median"] == 3.0 and s["min"] == 1.0 and s["max"] == 10.0
    # quartiles (inclusive method) of 1, 2, 3, 4, 10 are 2 and 4
    assert s["iqr"] == 2.0
    assert timing.summarize([5.0]).spread()["median"] == 5.0


def test_bare_and_instrumented_loops_train_the_same_model_the_same_way():
    """The benchmark compares like with like: from the same initial weights, both loops end at
    the same weights (instrumentation only observes)."""
    cfg = RunConfig().with_changes(data={"n_samples": 200}, train={"epochs": 2, "device": "cpu"})
    data = load_dataset(cfg.data)
    a = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)
    b = build_model(cfg.model, data.input_shape, data.n_classes, seed=0)

    overhead.bare_loop(a, data, cfg, torch.device("cpu"))
    overhead.instrumented_loop(b, data, cfg, torch.device("cpu"))
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


@pytest.mark.parametrize("arch", ["lstm", "transformer"])
def test_the_sequence_cases_bare_loop_does_the_same_work_clipping_included(arch):
    """For sequences the bare loop uses the task's loss and clips the gradient as the config
    says: from the same weights both loops end at the same weights. The clip is set low so that
    it bites at every step (a loop that did not clip would end elsewhere)."""
    case = next(c for c in overhead.overhead_cases() if c.config.model.arch == arch)
    cfg = case.config.with_changes(data={"n_samples": 200}, train={"epochs": 2, "clip": 0.05})
    data = load_dataset(cfg.data)
    a, b, unclipped = (
        build_model(cfg.model, data.input_shape, data.n_outputs, seed=0, spec=data.seq)
        for _ in range(3)
    )
    overhead.bare_loop(a, data, cfg, torch.device("cpu"))
    overhead.instrumented_loop(b, data, cfg, torch.device("cpu"))
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
    overhead.bare_loop(unclipped, data, cfg.with_changes(train={"clip": 0.0}), torch.device("cpu"))
    assert any(not torch.equal(pa, pu) for pa, pu in zip(a.parameters(), unclipped.parameters()))


def test_the_overhead_cases_include_the_sequence_labs_lstm_and_transformer():
    cases = {c.config.model.arch: c.config for c in overhead.overhead_cases(epochs=1)}
    lstm, transformer = cases["lstm"], cases["transformer"]
    assert lstm.data.name == "temporal_order" and lstm.data.seq_length == 50
    assert lstm.model.hidden_size == 64
    assert transformer.data.name == "sort"
    net = transformer.model
    assert (net.layers, net.hidden_size, net.heads) == (2, 64, 2)
    # the Sequence lab's training defaults, gradient clipping included
    assert lstm.train.clip == transformer.train.clip == 1.0
    assert lstm.train.epochs == transformer.train.epochs == 1


def test_overhead_result_reports_a_ratio_per_case():
    result = overhead.overhead(device="cpu", repeats=2, epochs=1)
    assert [c["case"] for c in result["cases"]] == [
        c.name for c in overhead.overhead_cases(epochs=1)
    ]
    assert "1 epoch:" in result["cases"][-1]["case"]  # --epochs is kept, not lengthened
    # one epoch over every training sample: 700 of the Playground default, 2800 of the deep
    # case, 840 of the CNN's 1,200 shapes, 2800 of each sequence case's 4,000 sequences and of
    # the GAN's 4,000 points on the ring, and 840 shapes again for the CNN's live probes
    assert [c["samples_per_run"] for c in result["cases"]] == [
        700, 2800, 840, 2800, 2800, 2800, 840,
    ]  # fmt: skip
    for c in result["cases"]:
        s = c["ratio_spread"]
        assert s["min"] <= c["ratio"] <= s["max"] and c["ratio"] == s["median"]
        assert c["bare_seconds"]["min"] > 0 and c["cpu_ratio"] > 0
    # the probes' case is held to 3% of training time, against dlviz without probes
    assert [c["budget"] for c in result["cases"]] == [0.97] * 7
    probes = result["cases"][-1]
    assert probes["baseline"] == "dlviz without probes"
    assert probes["probe_share"]["min"] >= 0 and probes["probes_per_run"]["min"] >= 0
    assert "probe_share" not in result["cases"][0]
    # the probes' case on their own timed share of the run, the others on the ratio
    for c in result["cases"][:-1]:
        assert c["within_budget"] == (c["ratio"] >= 0.97)
        # both sides ran with the thread count the bare loop was fastest at: one or all cores
        assert c["torch_threads"] in {1, os.cpu_count()}
    assert probes["within_budget"] == (
        probes["probe_share"]["median"] <= 0.03 + 1e-12 and probes["probes_per_run"]["median"] >= 1
    )
    assert result["within_budget"] == all(c["within_budget"] for c in result["cases"])
    text = overhead.format_overhead(result)
    assert "ratio" in text and "budget 0.97" in text and "thread" in text
    assert "without probes" in text


def test_the_probes_case_lengthens_a_run_too_short_to_probe():
    case = overhead.overhead_cases()[-1]
    assert case.config.train.epochs == 20 and "20 epochs" in case.name
    # 20 epochs in 5 s: 60 epochs make the 15 s a run should last
    longer = overhead.long_enough(case, 5.0)
    assert longer.config.train.epochs == 60 and "60 epochs" in longer.name
    assert longer.baseline == "unprobed" and longer.config.train.probe_every == 1
    assert longer.config.with_changes(train={"epochs": 20}) == case.config
    assert overhead.long_enough(case, 0.5).config.train.epochs == overhead.PROBED_MAX_EPOCHS
    assert overhead.long_enough(case, 20.0) is case  # long enough already


def test_a_probes_case_that_took_no_probe_is_not_within_its_budget():
    result = {
        "device": "cpu", "machine": {"cpu_model": "x", "torch_threads": 1}, "repeats": 1,
        "budget": 0.97,
        "cases": [{
            "case": "probes", "baseline": "dlviz without probes", "budget": 0.97,
            "bare_samples_per_second": 1.0, "dlviz_samples_per_second": 1.0, "ratio": 1.0,
            "ratio_spread": {"min": 1.0, "max": 1.0, "median": 1.0}, "cpu_ratio": 1.0,
            "torch_threads": 1, "within_budget": False,
            "probe_share": {"min": 0.0, "max": 0.0, "median": 0.0},
            "probes_per_run": {"min": 0.0, "max": 1.0, "median": 0.0},
        }],
    }  # fmt: skip
    text = overhead.format_overhead(result)
    assert "BELOW BUDGET" in text and "no probe was taken" in text


def test_the_probes_case_times_the_same_run_with_probes_on_and_off(monkeypatch):
    """The probes only look: with them on (and taken at every epoch) the run ends at the same
    weights as without them."""
    from dlviz import events

    case = overhead.overhead_cases(epochs=2)[-1]
    assert case.baseline == "unprobed" and case.config.train.probe_every == 1
    assert case.config.model.arch == "cnn"
    cfg = case.config.with_changes(data={"n_samples": 120})
    data = load_dataset(cfg.data)
    a, b = (build_model(cfg.model, data.input_shape, data.n_classes, seed=0) for _ in range(2))
    taken = []
    monkeypatch.setattr(events, "PROBE_SHARE", 1e9)  # time is no object: probe every epoch
    real = events.LayerProbes.take
    monkeypatch.setattr(
        events.LayerProbes, "take", lambda self, s: taken.append(s.epoch) or real(self, s)
    )
    overhead.unprobed_loop(a, data, cfg, torch.device("cpu"))
    assert taken == []
    overhead.instrumented_loop(b, data, cfg, torch.device("cpu"))
    assert taken == [1, 2]
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


def test_the_feature_map_figure_of_an_8_layer_cnn_on_64px_images_stays_under_1_mb():
    """The Images page's heaviest figure (its time is measured by `dlviz bench refresh`)."""
    cost = refresh.feature_map_figure_cost(repeats=1)
    assert 10_000 < cost["bytes"] < 1_000_000, cost["bytes"]


def test_recurrent_times_both_paths_of_every_arch():
    result = recurrent.recurrent(
        "cpu", repeats=1, lengths=(3,), hidden=(4,), transformer_lengths=(5,), batch=2
    )
    assert result["benchmark"] == "recurrent" and result["devices"] == ["cpu"]
    assert result["machine"]["torch_threads"] >= 1
    rows = result["rows"]
    assert [(r["arch"], r["length"], r["hidden"]) for r in rows] == [
        ("rnn", 3, 4),
        ("lstm", 3, 4),
        ("gru", 3, 4),
        ("transformer", 5, 4),
    ]
    for r in rows:
        assert r["device"] == "cpu"
        for path in ("fused", "observable"):
            assert r[path]["samples_per_second"] > 0 and r[path]["n"] == 1
            s = r[path]["seconds"]
            assert 0 < s["min"] <= s["median"] <= s["max"]
            assert r[path]["samples_per_second"] == pytest.approx(2 / s["median"])
        assert r["slowdown"] == pytest.approx(
            r["observable"]["seconds"]["median"] / r["fused"]["seconds"]["median"]
        )
    assert rows[1]["paths"] == {"fused": "fused kernel", "observable": "step by step"}
    assert rows[3]["paths"]["observable"] == "explicit attention"
    text = recurrent.format_recurrent(result)
    assert all(f"cpu {arch} length" in text for arch in ("rnn", "lstm", "gru", "transformer"))


def test_recurrent_is_listed_and_measures_the_cpu_and_cuda_where_there_is_one():
    assert BENCHMARKS["recurrent"][0] == "recurrent"
    names = [d.type for d in recurrent.devices_for("all")]
    assert names[0] == "cpu" and set(names) <= {"cpu", "cuda"}
    assert ("cuda" in names) == torch.cuda.is_available()
    assert [d.type for d in recurrent.devices_for("cpu")] == ["cpu"]


def test_the_sequence_views_refresh_reports_its_time_and_bytes():
    costs = refresh.sequence_view_costs(repeats=1, epochs=1, samples=200)
    assert [c["case"] for c in costs] == list(refresh.sequence_view_cases())
    assert "transformer" in costs[0]["case"] and "lstm" in costs[1]["case"]
    for c in costs:
        assert c["ms"]["median"] > 0 and c["epochs"] == 1 and c["snapshots"] >= 1
        # the figures the live charts carry: curves, gradients and the insides (attention,
        # or states, gates and the gradient through time)
        assert 5_000 < c["bytes"] < 300_000, c["bytes"]


def test_overhead_and_recurrent_run_without_streamlit_or_plotly():
    """The GPU machine has torch and numpy only: both benchmarks' sequence and generative work
    runs there."""
    code = """
import sys
sys.modules["streamlit"] = None  # an import of either now fails
sys.modules["plotly"] = None
import torch
from dlviz.bench import overhead, recurrent
from dlviz.data import load_dataset, load_generative
from dlviz.models import build_model

recurrent.recurrent("cpu", repeats=1, lengths=(3,), hidden=(4,), transformer_lengths=(3,), batch=2)
for case in overhead.overhead_cases(epochs=1)[3:]:
    cfg = case.config.with_changes(data={"n_samples": 60})
    data = (load_generative if cfg.model.is_generative else load_dataset)(cfg.data)
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=0, spec=data.seq)
    overhead.instrumented_loop(model, data, cfg, torch.device("cpu"))
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
