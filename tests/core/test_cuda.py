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


@pytest.mark.parametrize(
    "data, arch",
    [("temporal_order", "lstm"), ("sort", "transformer"), ("sentiment", "gru"), ("sines", "rnn")],
)
def test_sequence_models_train_on_the_gpu_with_their_insides_recorded(data, arch):
    cfg = RunConfig.from_dict(
        {
            "data": {"name": data, "n_samples": 1000},
            "model": {"arch": arch, "hidden_size": 32},
            "train": {"epochs": 4, "device": "cuda"},
        }
    )
    h = jobs.start(cfg).wait(300)
    assert h.status == "finished", h.message
    assert h.device.startswith("cuda:0")
    assert h.seq, "no snapshot of the insides was taken"
    snap = h.seq[-1]
    assert snap.states and all(v.shape[-1] == snap.length for v in snap.states.values())


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru", "transformer"])
def test_the_observable_path_equals_the_fused_one_on_the_gpu(arch):
    from dlviz.data import load_dataset
    from dlviz.models import build_model
    from dlviz.models.recording import recording

    cfg = RunConfig.from_dict(
        {
            "data": {"name": "sentiment", "n_samples": 200},
            "model": {"arch": arch, "hidden_size": 16},
        }
    )
    data = load_dataset(cfg.data)  # left-padded sentences of several lengths
    model = build_model(cfg.model, data.input_shape, data.n_outputs, seed=0, spec=data.seq)
    model = model.to("cuda").eval()
    x = data.x_test[:64].to("cuda")
    with torch.no_grad():
        fused = model(x)
        with recording(model):
            stepped = model(x)
    # cuDNN may use TF32 inside its kernels: equal to a few parts in a thousand
    assert torch.allclose(fused, stepped, atol=3e-3, rtol=1e-3), (fused - stepped).abs().max()
