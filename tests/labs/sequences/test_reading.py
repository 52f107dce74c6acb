"""The Sequence lab's words, on histories and snapshots made by hand: every sentence says what
the numbers it is given show, computed here independently."""

from __future__ import annotations

import numpy as np

from dlviz.history import RunHistory
from dlviz.labs.sequences import reading
from dlviz.sequence_probe import HEAD_KINDS, SequenceSnapshot


def history(task: str, **final) -> RunHistory:
    h = RunHistory(layers=["embed", "lstm1", "head"])
    h.config = {"model": {"arch": "lstm"}, "data": {"name": "temporal_order", "length": 0}}
    h.epoch = 3
    h.apply({"type": "epoch", "epoch": 3, "step": 30, "elapsed": 1.0, "samples_per_second": 1.0,
             "grad_norms": {"embed": 0.001, "lstm1": 0.05, "head": 0.2}, **final})  # fmt: skip
    return h


def snap(grads: dict[str, np.ndarray], gates=None) -> SequenceSnapshot:
    layers = tuple(grads)
    return SequenceSnapshot(
        step=10, epoch=1, example=0, tokens=("a",) * 4, values=None, target="XY",
        prediction="XY", confidence=0.9, forecast=None, layers=layers,
        states={}, gates=gates or {}, grad_steps=grads,
    )  # fmt: skip


def test_the_ratio_words_follow_the_numbers():
    assert reading.ratio_text(1.0, 1.1) == "about the same as"
    assert reading.ratio_text(1.0, 8.5) == "8.5x smaller than"
    assert reading.ratio_text(1e4, 1.0) == "10⁴x larger than"
    assert reading.ratio_text(0.0, 1.0) == "not comparable with"


def test_a_forecast_is_compared_with_the_naive_forecast():
    h = history("forecast", train_loss=0.1, test_loss=0.2, test_mse=0.2, baseline_mse=1.0)
    text = reading.metrics_caption(h, "forecast")
    assert "test mean squared error 0.2, 5x smaller than the naive forecast's (1" in text
    assert "better than repeating the last value" in text
    h = history("forecast", train_loss=0.1, test_loss=2.0, test_mse=2.0, baseline_mse=1.0)
    assert "worse than repeating the last value" in reading.metrics_caption(h, "forecast")


def test_per_token_runs_give_both_accuracies():
    h = history("tokens", train_loss=0.1, test_loss=0.1, train_accuracy=0.99, test_accuracy=0.97,
                test_sequence_accuracy=0.8, train_sequence_accuracy=0.82)  # fmt: skip
    text = reading.metrics_caption(h, "tokens")
    assert "97.0% of the predicted test tokens" in text and "80.0% of the test sequences" in text


def test_the_layer_gradient_caption_names_the_largest_and_smallest():
    h = history("class", train_loss=0.1, test_loss=0.1, train_accuracy=1.0, test_accuracy=1.0)
    text = reading.layer_gradients_caption(h)
    assert "head gets the largest gradient (0.2), embed the smallest (0.001), 200x apart" in text
    assert "An embedding's gradient is small by nature" in text  # the embedding is smallest


def test_the_time_gradient_caption_reads_the_first_layer_now_and_at_the_start():
    start = snap({"lstm1": np.array([1e-6, 1e-3, 1.0], np.float32)})
    now = snap({"lstm1": np.array([0.1, 0.5, 1.0], np.float32)})
    text = reading.time_gradient_caption(start, now)
    assert "reaching the first step is 10x smaller than the one at the last step" in text
    assert "at the start of training: 10⁶x smaller than" in text
    flat = snap({"lstm1": np.array([1.0, 1.0], np.float32)})
    assert "about the same as" in reading.time_gradient_caption(None, flat)


def test_the_gates_caption_gives_the_means_it_is_shown():
    gates = {"lstm1": {"forget": {"mean": np.array([0.8, 0.9]), "saturated": np.array([0.1, 0.3])},
                       "input": {"mean": np.array([0.5, 0.5]), "saturated": np.array([0.0, 0.0])}}}  # fmt: skip
    text = reading.gates_caption(snap({"lstm1": np.ones(2)}, gates), "lstm1")
    assert text.startswith("Forget gate 0.85 open on average, 20% saturated")
    assert "input gate 0.50 open on average, 0% saturated" in text
    assert "keeps the cell's memory" in text
    assert "no gates" in reading.gates_caption(snap({"rnn1": np.ones(2)}), "rnn1")


def test_the_heads_caption_names_a_head_that_turned_on_and_when():
    off = np.zeros((1, 2, len(HEAD_KINDS)), np.float32)
    on = off.copy()
    on[0, 1, HEAD_KINDS.index("induction")] = 0.9
    text = reading.heads_caption([0, 100, 200], [off, off, on])
    assert text.startswith("Turned on (score past 0.4): L1 H2 as an induction head at step 200")
    quiet = reading.heads_caption([0, 100], [off, off + 0.1], done=True)
    assert quiet.startswith("No head turned on during training")


def test_the_final_reading_of_a_bag_of_words_at_chance_says_what_to_try():
    h = history("class", train_loss=0.6, test_loss=0.7, train_accuracy=0.55, test_accuracy=0.5)
    h.config = {"model": {"arch": "bow"}, "data": {"name": "sentiment"}}
    y = np.array([0, 1] * 300)
    out = reading.reading(h, "class", ("negative", "positive"), y)
    assert out[0].startswith("It learned nothing it can use: 50% of the test sequences right")
    assert any("A bag of words sees which words occur, not their order" in s for s in out)


def test_the_final_reading_of_a_per_token_run_names_its_worst_position():
    h = history("tokens", train_loss=0.1, test_loss=0.1, train_accuracy=0.9, test_accuracy=0.9,
                test_sequence_accuracy=0.6, train_sequence_accuracy=0.6)  # fmt: skip
    h.config = {"model": {"arch": "gru"}, "data": {"name": "addition"}}
    y = np.tile(np.arange(10), 50)
    out = reading.reading(
        h, "tokens", tuple("0123456789"), y, positions=np.array([0.99, 0.8, 0.7, 0.95])
    )
    assert out[0].startswith("It learned part of the task: 90.0% of the predicted tokens right")
    assert any(
        "It fails most at predicted position 3 of 4 (70% right there, 99% at position 1)" in s
        for s in out
    )
    assert any("carries" in s for s in out)


def test_the_final_reading_of_a_forecast_names_a_baseline_that_beats_it():
    h = history("forecast", train_loss=0.1, test_loss=0.3, test_mse=0.3, baseline_mse=1.0)
    out = reading.reading(
        h, "forecast", (), np.zeros(3),
        forecast_mse={"network": 0.3, "naive": 1.0, "linear AR": 0.2},
        per_step={"network": np.array([0.1, 0.5])},
    )  # fmt: skip
    assert "The linear AR forecast beats it" in out[1]
    assert out[2] == (
        "Its error grows with the horizon: 0.1 one step ahead, 0.5 2 steps ahead (5x larger than "
        "one step ahead)."
    )


def test_a_character_model_is_read_by_its_perplexity_not_by_whole_answers():
    h = history("tokens", train_loss=1.5, test_loss=1.6, train_accuracy=0.5, test_accuracy=0.48,
                test_sequence_accuracy=0.0, train_sequence_accuracy=0.0)  # fmt: skip
    h.config = {"model": {"arch": "gru"}, "data": {"name": "chars"}}
    y = np.tile(np.arange(60), 20)
    out = reading.reading(
        h, "tokens", tuple(chr(32 + i) for i in range(60)), y, positions=np.array([0.3, 0.4, 0.5])
    )
    assert out[0].startswith(
        "It learned part of the task: 48.0% of the next characters predicted right"
    )
    assert f"a perplexity of {np.exp(1.6):.1f}" in out[1]
    assert (
        out[2]
        == "It predicts worst at position 1 (30% right), with no character before it to go on, and 50% at position 3, with 2 before it."
    )
    assert not any("every token" in s for s in out)
