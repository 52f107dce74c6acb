"""Runs only where torch sees a CUDA GPU; skipped elsewhere."""

import pytest
import torch

from dlviz import jobs
from dlviz.config import RunConfig
from dlviz.devices import available_devices, resolve_device

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine"),
]


def test_cuda_is_offered_and_resolved():
    assert "cuda" in available_devices()
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cuda:0") == torch.device("cuda", 0)


def test_a_run_trains_on_the_gpu_and_learns():
    cfg = RunConfig().with_changes(
        data={"name": "xor", "n_samples": 600},
        model={"hidden": (8, 8)},
        train={"epochs": 40, "lr": 0.02, "device": "cuda"},
    )
    h = jobs.start(cfg).wait(120)
    assert h.status == "finished", h.message
    assert h.device.startswith("cuda:0")
    assert h.final["test_accuracy"] > 0.95
    assert all(v > 0 for v in h.grad_norms.column("norms")[-1])


def test_a_gpu_index_that_is_not_there_is_a_clear_error():
    n = torch.cuda.device_count()
    h = jobs.start(RunConfig().with_changes(train={"device": f"cuda:{n}", "epochs": 1})).wait(30)
    assert h.status == "error" and f"only {n} CUDA GPU" in h.message
