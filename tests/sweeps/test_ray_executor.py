"""The Ray executor on a private local Ray: tiny trials come back whole with their epochs as
they end, a GPU shared by two trials holds two at once and no more (counted by the trials
themselves, on the board), a stop ends every trial within seconds, and a request the cluster
can never meet, or Ray missing, is refused at once with what to do.

One Ray for the module (2 CPUs and a logical GPU): Ray takes seconds to start."""

from __future__ import annotations

import sys
import time

import pytest
import torch

from dlviz.sweeps.executors import ExecutorError
from dlviz.sweeps.ray_executor import (
    RAY_MISSING,
    RayExecutor,
    capacity,
    check_request,
    impossible,
    placed,
)

TINY = {"data": {"name": "circle", "n_samples": 200}, "train": {"epochs": 3}}
LONG = {"data": {"name": "spiral", "n_samples": 2000}, "train": {"epochs": 10_000}}


def seeded(config: dict, seed: int) -> dict:
    return {**config, "train": {**config["train"], "seed": seed}}


def collect(ex, until, timeout: float) -> list[dict]:
    """Events until `until(events)` holds or `timeout` passes."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while not until(events) and time.monotonic() < deadline:
        events += ex.events(0.2)
    return events


def dones(events: list[dict]) -> dict[str, dict]:
    return {e["key"]: e["result"] for e in events if e["type"] == "done"}


# --- without a cluster ----------------------------------------------------------------------


def test_without_ray_the_message_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ExecutorError) as e:
        RayExecutor()
    assert str(e.value) == RAY_MISSING
    assert "pip install 'dlviz[ray]'" in RAY_MISSING and "leave out --ray" in RAY_MISSING


@pytest.mark.parametrize(
    "gpu, cpus, words",
    [(2, 1, "share of one GPU"), (-0.5, 1, "share of one GPU"), (0.5, 1.5, "whole number"),
     (0, 0, "share of a CPU"), ("half", 1, "must be a number")],
)  # fmt: skip
def test_a_share_ray_cannot_grant_is_refused_before_ray_starts(monkeypatch, gpu, cpus, words):
    monkeypatch.setitem(sys.modules, "ray", None)  # never reached: refused first
    with pytest.raises(ExecutorError, match=words):
        RayExecutor(gpu=gpu, cpus=cpus)
    assert check_request(0.25, 2) == (0.25, 2.0)


def test_capacity_and_impossible_requests_are_judged_node_by_node():
    two = [{"CPU": 8.0, "GPU": 1.0}, {"CPU": 8.0, "GPU": 0.0}]
    assert capacity(two, gpu=0.25, cpus=1) == 4  # the GPU node's one GPU, four a GPU
    assert capacity(two, gpu=0, cpus=1) == 16
    assert capacity(two, gpu=0.1, cpus=0.5) == 10  # 1 / 0.1 is 9.999... in floats
    assert impossible(two, gpu=1, cpus=4) == ""
    assert "16 CPUs, 1 GPU" in impossible(two, gpu=2, cpus=1)
    assert "no node" in impossible(two, gpu=0, cpus=12)  # 16 in all, but 8 a node
    assert "both" in impossible([{"CPU": 1.0, "GPU": 1.0}, {"CPU": 4.0, "GPU": 0.0}], 1, 2)


def test_placement_decides_the_device():
    cpu, problem = placed(TINY, gpu=0)
    assert cpu["train"] == {"epochs": 3, "device": "cpu"} and problem == ""
    assert TINY["train"] == {"epochs": 3}  # the driver's config is left as it was
    assert placed(TINY, gpu=0.5) == (TINY, "")  # auto: the GPU Ray gives the task
    named = {"train": {"device": "cuda:1"}}
    assert placed(named, gpu=0.5)[0]["train"]["device"] == "cuda"  # Ray shows it one GPU
    assert "--gpu" in placed(named, gpu=0)[1]


# --- on a private local Ray -------------------------------------------------------------------


@pytest.mark.ray
def test_a_gpu_share_on_a_cluster_without_gpus_is_refused_at_once():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("needs a Ray of its own, and this process already runs one")
    t = time.monotonic()
    with pytest.raises(ExecutorError) as e:
        RayExecutor(num_cpus=1, num_gpus=0, gpu=1)
    assert "asks for 1 GPU but the Ray cluster has 1 CPU, 0 GPUs" in str(e.value)
    assert "leave out --gpu" in str(e.value)
    assert not ray.is_initialized()  # the Ray it started is stopped again
    assert time.monotonic() - t < 60


@pytest.fixture(scope="module")
def packed():
    """Two trials a GPU on a Ray of 2 CPUs and one (logical) GPU, half a CPU each: the GPU, not
    the CPUs, holds them to two at once."""
    pytest.importorskip("ray")
    ex = RayExecutor("local", num_cpus=2, num_gpus=1, gpu=0.5, cpus=0.5)
    yield ex
    ex.close()


@pytest.mark.ray
def test_tiny_trials_come_back_whole_with_their_epochs(packed):
    assert packed.slots == 2
    assert packed.where.startswith("a private local Ray (2 CPUs, 1 GPU), 2 at a time")
    for seed in range(3):
        packed.submit(f"t{seed}", seeded(TINY, seed))
    packed.submit("bad", {"data": {"name": "nope"}})
    events = collect(packed, lambda ev: len(dones(ev)) == 4, timeout=120)
    results = dones(events)
    assert set(results) == {"t0", "t1", "t2", "bad"}
    assert results["bad"]["status"] == "error" and "data.name" in results["bad"]["message"]
    for seed in range(3):
        key = f"t{seed}"
        mine = [e for e in events if e["key"] == key]
        assert [e.get("epoch") for e in mine] == [1, 2, 3, None]  # every epoch, then done
        assert 0 <= mine[0]["test_accuracy"] <= 1 and mine[0]["train_loss"] > 0
        r = results[key]
        assert r["status"] == "finished", r["message"]
        assert r["metrics"]["epoch"] == [1, 2, 3]
        assert r["metrics"]["test_accuracy"][-1] == mine[2]["test_accuracy"]
        assert r["state"] and all(v.device.type == "cpu" for v in r["state"].values())
        assert all(isinstance(v, torch.Tensor) for v in r["state"].values())
    assert results["t0"]["state"]["blocks.0.linear.weight"].shape[1] == 2  # 2-D points
    assert not torch.equal(  # the seeds reached the trials
        results["t0"]["state"]["blocks.0.linear.weight"],
        results["t1"]["state"]["blocks.0.linear.weight"],
    )
    assert packed.events(0) == []  # nothing left over


@pytest.mark.ray
def test_more_cpus_than_a_node_has_is_refused_and_the_running_ray_is_kept(packed):
    with pytest.raises(ExecutorError, match=r"asks for 4 CPUs but no node .* \(2 CPUs, 1 GPU\)"):
        RayExecutor(cpus=4)
    assert packed._ray.is_initialized()
    cpu_only = RayExecutor(cpus=1)  # shares the module's Ray, which it leaves running
    assert cpu_only.slots == 2 and cpu_only.where.startswith("the Ray this process already runs")
    assert cpu_only.where.endswith("1 CPU each, on the CPU")
    cpu_only.submit("gpu-named", {**TINY, "train": {"device": "cuda"}})
    [event] = cpu_only.events(1)
    assert event["result"]["status"] == "error" and "--gpu" in event["result"]["message"]
    cpu_only.close()
    assert packed._ray.is_initialized()


@pytest.mark.ray
def test_two_share_the_gpu_at_once_and_a_stop_ends_every_trial(packed):
    ex = RayExecutor(gpu=0.5, cpus=0.5)  # its own board, so its stop is its own
    assert ex.slots == 2
    for seed in range(4):  # more than the slots: Ray must hold the other two back
        ex.submit(f"long{seed}", seeded(LONG, seed))
    events = collect(ex, lambda ev: len({e["key"] for e in ev}) >= 2, timeout=90)
    events += collect(ex, lambda ev: False, timeout=2)  # both training a while
    training = {e["key"] for e in events if e["type"] == "epoch"}
    board = ex.running()
    assert len(training) == 2 and len(board["running"]) == 2 and board["peak"] == 2, board
    assert not dones(events)
    waiting = sorted({f"long{seed}" for seed in range(4)} - training)
    [cancelled] = [ref for ref, key in ex._pending.items() if key == waiting[0]]
    packed._ray.cancel(cancelled)  # a task that fails in Ray ends as an error, not a hang

    t = time.monotonic()
    ex.stop()
    events += collect(ex, lambda ev: len(dones(ev)) == 4, timeout=30)
    took = time.monotonic() - t
    results = dones(events)
    assert len(results) == 4 and took < 5, (took, results.keys())
    failed = results.pop(waiting[0])
    assert failed["status"] == "error" and "TaskCancelledError" in failed["message"], failed
    assert {r["status"] for r in results.values()} == {"stopped"}
    for key in training:  # stopped while training: its curves kept
        assert results[key]["metrics"]["epoch"] and results[key]["state"]
    assert "before this trial started" in results[waiting[1]]["message"]  # stopped as it started
    assert ex.running() == {"running": [], "peak": 2}  # never more than two at once
    ex.close()
