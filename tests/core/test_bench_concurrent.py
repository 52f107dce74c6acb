"""`dlviz bench concurrent`: its runs go through admission and finish; the result says what it
timed (speed itself is for the benchmark, never asserted here)."""

from __future__ import annotations

from dlviz import devices
from dlviz.bench import concurrent


def test_concurrent_times_runs_at_once_and_one_after_another(monkeypatch):
    shares: list[int | None] = []
    real = concurrent.admission.set_thread_share

    def spy(n):
        shares.append(n)
        real(n)

    monkeypatch.setattr(concurrent.admission, "set_thread_share", spy)
    monkeypatch.setattr(devices, "_budget", 2)
    monkeypatch.setenv("DLVIZ_RUNS_PER_DEVICE", "2")
    # 30 epochs (under a second each): long enough that the two runs started together
    # overlap; at 1 epoch the first could end before the second was admitted
    result = concurrent.concurrent(runs=2, repeats=1, epochs=30, cases=1)
    assert [c["case"] for c in result["cases"]] == [concurrent.concurrent_cases()[0][0]]
    for c in result["cases"]:
        assert c["one_after_another_s"]["median"] > 0 and c["at_once_s"]["median"] > 0
        assert c["within_budget"] == (c["ratio"] >= 1.0)
    # two runs at once on a budget of two threads: one thread each; alone: both
    assert 1 in shares and 2 in shares and shares[-1] is None
    assert "at once" in concurrent.format_concurrent(result)


def test_without_the_share_no_run_is_given_one(monkeypatch):
    shares: list[int | None] = []

    def spy(n):
        shares.append(n)

    monkeypatch.setattr(concurrent.admission, "set_thread_share", spy)
    result = concurrent.concurrent(runs=2, repeats=1, epochs=1, share=False, cases=1)
    assert result["share"] is False and shares == []
    assert concurrent.admission.set_thread_share is spy  # put back afterwards
    assert "--no-share" in concurrent.format_concurrent(result)
