"""`dlviz bench graphs`: the Playground default's step eager, compiled and as one CUDA graph."""

import pytest
import torch

from dlviz.bench.graphs import format_graphs, graphs


def test_the_eager_step_is_timed_and_the_gpu_variants_are_listed_as_skipped_on_the_cpu():
    result = graphs("cpu", steps=5, blocks=3, variants=("eager", "cuda-graph"))
    eager, graph = result["rows"]
    assert eager["variant"] == "eager" and eager["us_per_step"] > 0
    assert eager["speedup"] == 1.0
    # the reference is eager steps from the same start: eager must equal it exactly
    assert eager["max_weight_diff"] == 0.0 and eager["compared_after_steps"] == 3
    assert graph == {"variant": "cuda-graph", "device": "cpu", "skipped": "needs a CUDA GPU"}
    text = format_graphs(result)
    assert "cuda-graph" in text and "skipped: needs a CUDA GPU" in text
    assert "8-8-8, relu, adam, batch 32" in result["network"]


def test_an_unknown_variant_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown variant 'jit'"):
        graphs("cpu", steps=1, blocks=3, variants=("jit",))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_the_whole_step_as_one_cuda_graph_computes_what_eager_steps_do():
    result = graphs("cuda", steps=20, blocks=3, variants=("eager", "cuda-graph"))
    eager, graph = result["rows"]
    assert "skipped" not in graph, graph.get("skipped")
    assert graph["compared_after_steps"] == 6  # 3 to warm Adam's state, 3 replays
    assert graph["max_weight_diff"] < 1e-5
    assert graph["us_per_step"] > 0 and eager["us_per_step"] > 0
