"""Admission: run slots, memory and each person's cap, first come first served, and the board a
page shows; the memory estimate against a hand count."""

import threading
import time

import pytest
import torch
from torch import nn

from dlviz import admission, jobs
from dlviz.config import RunConfig

CPU = torch.device("cpu")
MB = 1024**2


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    for name in (
        "DLVIZ_RUNS_PER_DEVICE",
        "DLVIZ_RUNS_PER_SESSION",
        "DLVIZ_MEMORY_BUDGET_MB",
        "DLVIZ_MEMORY_FRACTION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(admission, "BOARD", admission.Admission())


class Holder:
    """A run that asks for a place from its own thread and holds it until released."""

    def __init__(self, board, need=MB, owner="", label="run"):
        self.events: list[dict] = []
        self.admitted: bool | None = None
        self.stop = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(
            target=self._main, args=(board, need, owner, label), daemon=True
        )
        self.thread.start()

    def _main(self, board, need, owner, label):
        with board.admit(
            CPU,
            need=need,
            should_stop=self.stop.is_set,
            emit=self.events.append,
            owner=owner,
            label=label,
        ) as ok:
            self.admitted = ok
            if ok:
                self.release.wait(10)

    @property
    def waiting_for(self) -> str:
        return self.events[-1]["message"] if self.events else ""

    def end(self):
        self.release.set()
        self.stop.set()
        self.thread.join(5)


def board(budget_mb=None, free_mb=None):
    return admission.Admission(
        budget=lambda _d: None if budget_mb is None else budget_mb * MB,
        free=lambda _d: None if free_mb is None else free_mb * MB,
    )


# --- the memory estimate ------------------------------------------------------------------------


def test_the_estimate_adds_weights_optimizer_data_and_a_batchs_activations_as_counted_by_hand():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    x_train, x_test = torch.randn(10, 2), torch.randn(4, 2)
    # 17 weights of 4 bytes; with Adam: the weights, their gradients and two moments
    weights = (2 * 3 + 3 + 3 * 2 + 2) * 4 * 4
    data = (10 * 2 + 4 * 2) * 4
    per_sample = (3 + 3 + 2) * 4  # each layer's output for one sample
    need = admission.estimate_bytes(model, x_train, x_test, batch_size=5, optimizer="adam")
    assert need == weights + data + 2 * per_sample * 5
    # SGD keeps one tensor a weight, not two; the batch cannot exceed the data
    sgd = admission.estimate_bytes(model, x_train, x_test, batch_size=500, optimizer="sgd")
    assert sgd == (17 * 4 * 3) + data + 2 * per_sample * 10


def test_the_estimate_leaves_the_random_streams_and_the_mode_as_they_were():
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))
    model.train()
    stats = model[2].running_mean.clone()
    x = torch.randn(6, 4)
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    admission.activation_bytes_per_sample(model, x)
    assert torch.equal(torch.rand(3), expected)
    assert model.training and torch.equal(model[2].running_mean, stats)


def test_a_model_that_cannot_be_forwarded_plainly_is_estimated_from_weights_and_data():
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Linear(2, 2)

        def forward(self, x, needed):
            return self.w(x)

    need = admission.estimate_bytes(Odd(), torch.zeros(8, 2), torch.zeros(2, 2), 4)
    assert need == 6 * 4 * 4 + 10 * 2 * 4


def test_a_run_of_the_default_playground_needs_well_under_a_megabyte_and_a_cnn_more():
    net = jobs.build_network(RunConfig(), jobs.load_data(RunConfig()))
    small = jobs.network_bytes(net)
    assert 10_000 < small < MB
    cnn = RunConfig.from_dict({"data": {"n_samples": 60}, "model": {"arch": "cnn"}})
    net = jobs.build_network(cnn, jobs.load_data(cnn))
    assert jobs.network_bytes(net) > small


# --- the board --------------------------------------------------------------------------------


def test_a_second_run_waits_for_memory_says_how_much_and_starts_when_the_first_ends():
    b = board(budget_mb=100)
    first = Holder(b, need=70 * MB, label="big")
    wait_until(lambda: first.admitted)
    second = Holder(b, need=40 * MB, label="next")
    wait_until(lambda: second.events)
    assert second.admitted is None
    msg = second.waiting_for
    assert "needs about 40 MB" in msg and "30 MB of the 100 MB" in msg, msg
    rows = b.board()
    assert [(r["state"], r["run"]) for r in rows] == [("running", "big"), ("waiting", "next")]
    assert rows[1]["reason"] == msg
    first.end()
    wait_until(lambda: second.admitted)
    second.end()
    assert b.board() == []


def test_a_run_bigger_than_the_whole_budget_fails_at_once_with_the_reason():
    b = board(budget_mb=10)
    with pytest.raises(admission.TooBig, match="needs about 20 MB .* more than the 10 MB"):
        with b.admit(CPU, need=20 * MB, should_stop=lambda: False, emit=lambda e: None):
            pass
    assert b.board() == []


def test_memory_other_programs_hold_keeps_a_run_waiting_even_on_an_idle_device():
    b = board(budget_mb=1000, free_mb=5)
    held = Holder(b, need=50 * MB)
    wait_until(lambda: held.events)
    assert "only 5 MB is free on it now" in held.waiting_for
    held.stop.set()
    held.thread.join(5)
    assert held.admitted is False and b.board() == []


def test_the_slots_of_a_device_hold_and_the_message_counts_whose_runs_they_are(monkeypatch):
    monkeypatch.setenv("DLVIZ_RUNS_PER_SESSION", "0")
    b = board()
    mine = Holder(b, owner="ann")
    theirs = Holder(b, owner="bob")
    wait_until(lambda: mine.admitted and theirs.admitted)
    third = Holder(b, owner="ann")
    wait_until(lambda: third.events)
    assert "2 runs are already training on it (1 of them yours)" in third.waiting_for
    theirs.end()
    wait_until(lambda: third.admitted)
    for h in (mine, third):
        h.end()


def test_one_person_is_capped_and_their_waiting_run_does_not_hold_up_others(monkeypatch):
    monkeypatch.setenv("DLVIZ_RUNS_PER_SESSION", "1")
    monkeypatch.setenv("DLVIZ_RUNS_PER_DEVICE", "3")
    b = board()
    first = Holder(b, owner="ann")
    wait_until(lambda: first.admitted)
    again = Holder(b, owner="ann")  # asks before bob
    wait_until(lambda: again.events)
    assert "you already have 1 run training" in again.waiting_for
    bob = Holder(b, owner="bob")
    wait_until(lambda: bob.admitted)  # not behind ann's capped run
    cli = Holder(b, owner="")  # the command line has no cap
    wait_until(lambda: cli.admitted)
    assert again.admitted is None
    first.end()
    wait_until(lambda: again.admitted)
    for h in (again, bob, cli):
        h.end()


def test_first_come_first_served_a_small_run_does_not_jump_a_waiting_big_one(monkeypatch):
    monkeypatch.setenv("DLVIZ_RUNS_PER_DEVICE", "5")
    b = board(budget_mb=100)
    first = Holder(b, need=60 * MB, owner="a")
    wait_until(lambda: first.admitted)
    big = Holder(b, need=60 * MB, owner="b")
    wait_until(lambda: big.events)
    small = Holder(b, need=10 * MB, owner="c")  # would fit, but big asked first
    wait_until(lambda: small.events)
    assert "1 run asked for it first" in small.waiting_for
    first.end()
    wait_until(lambda: big.admitted)
    wait_until(lambda: small.admitted)  # 60 + 10 fits the 100 MB
    for h in (big, small):
        h.end()


def test_which_steps_are_small():
    from dlviz.devices import SMALL_STEP, small_step

    assert small_step(CPU, params=170, batch_size=32)  # the Playground's default: 2-8-8-8-2
    assert small_step(CPU, params=SMALL_STEP // 64, batch_size=64)
    assert not small_step(CPU, params=SMALL_STEP // 64 + 1, batch_size=64)
    assert not small_step(torch.device("meta"), params=170, batch_size=32)  # not the CPU


def test_a_playground_network_takes_turns_and_an_image_lab_cnn_does_not():
    from dlviz.bench.concurrent import concurrent_cases

    toy, cnn = (config for _, config in concurrent_cases(epochs=1))
    nets = [
        jobs.build_network(config, jobs.load_data(config))
        for config in (toy, cnn.with_changes(data={"n_samples": 120}))
    ]
    assert [jobs.takes_turns(net, CPU) for net in nets] == [True, False]
    assert not jobs.takes_turns(nets[0], torch.device("meta"))  # only on the CPU


def test_a_run_waits_for_its_place_on_one_thread_and_ends_on_the_threads_it_had(
    monkeypatch, tmp_path
):
    """A run thread keeps to one torch thread until its loop takes its share (a thread that
    once ran torch on several keeps a team of OpenMP threads, which slows the run that trains),
    and takes its own count back for what it does after training."""
    fresh = []
    probe = threading.Thread(target=lambda: fresh.append(torch.get_num_threads()))
    probe.start()
    probe.join()
    seen = {}
    admit, summarize = admission.admit, jobs.summarize

    def spy_admit(device, **kwargs):
        seen["waiting"] = torch.get_num_threads()
        return admit(device, **kwargs)

    def spy_summarize(*args, **kwargs):
        seen["after"] = torch.get_num_threads()
        return summarize(*args, **kwargs)

    monkeypatch.setattr(admission, "admit", spy_admit)
    monkeypatch.setattr(jobs, "summarize", spy_summarize)
    config = RunConfig().with_changes(train={"device": "cpu", "epochs": 1})
    assert jobs.start(config, runs_dir=tmp_path).wait(60).status == "finished"
    assert seen == {"waiting": 1, "after": fresh[0]}


def test_the_budget_of_threads_is_the_one_the_process_had_not_a_waiting_runs_one(monkeypatch):
    from dlviz import devices

    monkeypatch.setattr(devices, "_budget", None)  # not yet asked
    before = torch.get_num_threads()
    with devices.one_thread():
        assert torch.get_num_threads() == 1
        assert devices.cpu_thread_budget() == before
    assert torch.get_num_threads() == before


def test_the_board_names_nobody_only_you_or_someone_else():
    b = board()
    mine = Holder(b, owner="owner-hash-1", label="mine")
    cli = Holder(b, owner="", label="script")
    wait_until(lambda: mine.admitted and cli.admitted)
    rows = b.board(viewer="owner-hash-1")
    assert {r["run"]: r["who"] for r in rows} == {"mine": "you", "script": "command line"}
    other = b.board(viewer="someone-else")
    assert {r["run"]: r["who"] for r in other} == {"mine": "someone else", "script": "command line"}
    assert "owner-hash-1" not in repr(rows + other)
    for h in (mine, cli):
        h.end()


def test_stop_while_waiting_gives_up_the_place_in_line():
    b = board(budget_mb=10)
    first = Holder(b, need=8 * MB)
    wait_until(lambda: first.admitted)
    second = Holder(b, need=8 * MB)
    wait_until(lambda: second.events)
    second.stop.set()
    second.thread.join(5)
    assert second.admitted is False
    assert [r["state"] for r in b.board()] == ["running"]
    first.end()


# --- through the engine -------------------------------------------------------------------------


def test_a_run_over_the_memory_budget_ends_failed_with_advice(monkeypatch):
    monkeypatch.setenv("DLVIZ_MEMORY_BUDGET_MB", "0.01")
    cfg = RunConfig().with_changes(data={"n_samples": 200}, train={"epochs": 1, "device": "cpu"})
    events = []
    result = jobs.execute(cfg, emit=events.append)
    assert result["status"] == "error"
    assert "needs about" in result["message"] and "smaller batch size" in result["message"]
    assert not any(e["type"] == "start" for e in events)


def test_a_person_over_the_cap_sees_why_their_run_waits(monkeypatch):
    monkeypatch.setenv("DLVIZ_RUNS_PER_SESSION", "1")
    long = RunConfig().with_changes(
        data={"n_samples": 200}, train={"epochs": 100_000, "device": "cpu"}
    )
    first = jobs.start(long, owner="ann")
    wait_until(lambda: first.poll() >= 0 and first.history.status == "running", 30)
    second = jobs.start(long.with_changes(train={"epochs": 1}), owner="ann")
    wait_until(lambda: second.poll() >= 0 and second.history.status == "queued", 30)
    assert "you already have 1 run training" in second.history.message
    first.stop()
    assert second.wait(30).status == "finished"
    first.wait(5)
