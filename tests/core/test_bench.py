from dlviz import timing
from dlviz.bench import overhead, refresh
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
    import torch

    overhead.bare_loop(a, data, cfg, torch.device("cpu"))
    overhead.instrumented_loop(b, data, cfg, torch.device("cpu"))
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


def test_overhead_result_reports_a_ratio_per_case():
    result = overhead.overhead(device="cpu", repeats=3, epochs=1)
    assert [c["case"] for c in result["cases"]] == [c.name for c in overhead.overhead_cases()]
    # one epoch over every training sample: 700 of the Playground default, 2800 of the deep
    # case, 840 of the CNN's 1,200 shapes
    assert [c["samples_per_run"] for c in result["cases"]] == [700, 2800, 840]
    for c in result["cases"]:
        s = c["ratio_spread"]
        assert s["min"] <= c["ratio"] <= s["max"] and c["ratio"] == s["median"]
        assert c["bare_seconds"]["min"] > 0
    assert result["within_budget"] == all(c["ratio"] >= 0.9 for c in result["cases"])
    text = overhead.format_overhead(result)
    assert "ratio" in text and "budget 0.9" in text


def test_the_feature_map_figure_of_an_8_layer_cnn_on_64px_images_stays_under_1_mb():
    """The Images page's heaviest figure (its time is measured by `dlviz bench refresh`)."""
    cost = refresh.feature_map_figure_cost(repeats=1)
    assert 10_000 < cost["bytes"] < 1_000_000, cost["bytes"]
