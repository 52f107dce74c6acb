"""The Sequence lab's figures: what each draws, checked in fig.data and fig.layout, on snapshots
and histories made by hand."""

from __future__ import annotations

import numpy as np
import pytest

from dlviz.figures.theme import RUN_COLORS, figure_bytes
from dlviz.history import RunHistory
from dlviz.labs.sequences.figures import (
    ARCH_COLORS,
    BASELINE_COLORS,
    MAX_CELLS,
    NO_GATES,
    ablation_figure,
    attention_figure,
    forecast_figure,
    gates_figure,
    head_scores_figure,
    horizon_error_figure,
    length_accuracy_figure,
    length_gradient_figure,
    next_token_figure,
    pool_attention,
    sequence_curves_figure,
    series_preview_figure,
    states_figure,
    time_gradient_figure,
)
from dlviz.sequence_probe import HEAD_KINDS, TURNED_ON, SequenceSnapshot

REFRESH_BYTES = 300_000  # docs/ARCHITECTURE.md: a live refresh sends under 300 KB


def snap(**kw) -> SequenceSnapshot:
    """A snapshot of a 5-token example, changed by `kw`."""
    base = dict(
        step=10, epoch=1, example=0, tokens=("a", " ", "b", "\n", "c"), values=None,
        target="x", prediction="x", confidence=0.9, forecast=None, layers=("rnn1",),
        states={"rnn1": np.zeros((3, 5), np.float16)}, gates={"rnn1": {}},
        grad_steps={"rnn1": np.ones(5, np.float32)},
    )  # fmt: skip
    return SequenceSnapshot(**{**base, **kw})


def history(epochs: int, task: str) -> RunHistory:
    h = RunHistory(steps_per_epoch=4)
    for e in range(1, epochs + 1):
        for k in range(4):
            h.steps.append(step=(e - 1) * 4 + k + 1, elapsed=e * 0.1, loss=2.0 / e)
        h.epochs.append(
            epoch=e, step=e * 4, elapsed=e * 0.1, train_loss=1.0 / e, test_loss=1.2 / e,
            train_accuracy=0.5 + 0.1 * e, test_accuracy=0.4 + 0.1 * e,
            train_sequence_accuracy=0.1 * e if task == "tokens" else None,
            test_sequence_accuracy=0.05 * e if task == "tokens" else None,
            test_mse=0.5 / e if task == "forecast" else None,
            baseline_mse=0.3 if task == "forecast" else None,
        )  # fmt: skip
    return h


# --- curves ---------------------------------------------------------------------------------------


def test_class_curves_draw_loss_left_and_accuracy_right():
    fig = sequence_curves_figure([("", history(3, "class"))], "class")
    assert len(fig.data) == 5  # batch loss, train and test loss, train and test accuracy
    right = [t for t in fig.data if t.yaxis == "y2"]
    assert [t.line.dash for t in right] == ["dash", "solid"]
    np.testing.assert_allclose(right[1].y, [0.5, 0.6, 0.7], rtol=1e-6)
    assert fig.layout.yaxis2.tickformat == ".0%"


def test_token_curves_add_whole_sequence_accuracy_dotted():
    fig = sequence_curves_figure([("a", history(3, "tokens"))], "tokens")
    right = {t.name: t for t in fig.data if t.yaxis == "y2"}
    assert len(right) == 4
    seq = right["a: test, whole sequence"]
    assert seq.line.dash == "dot" and right["a: test, per token"].line.dash == "solid"
    np.testing.assert_allclose(seq.y, [0.05, 0.1, 0.15], rtol=1e-6)


def test_forecast_curves_set_the_test_mse_against_the_naive_forecast_on_a_log_axis():
    fig = sequence_curves_figure([("", history(4, "forecast"))], "forecast")
    right = {t.name: t for t in fig.data if t.yaxis == "y2"}
    np.testing.assert_allclose(right["test MSE"].y, [0.5, 0.25, 0.5 / 3, 0.125], rtol=1e-6)
    naive = right["naive forecast"]
    assert naive.line.dash == "dash" and list(naive.y) == [pytest.approx(0.3)] * 2
    assert list(naive.x) == [1, 4]  # across the run's epochs
    assert fig.layout.yaxis2.type == "log"
    assert "squared" in fig.layout.yaxis.title.text


@pytest.mark.parametrize("task", ["class", "tokens", "forecast"])
def test_curves_of_a_run_with_no_epochs_yet_draw(task):
    fig = sequence_curves_figure([("", RunHistory())], task, x="elapsed")
    assert fig.to_json()


# --- states, gates, gradients through time --------------------------------------------------------


def test_states_heatmap_carries_the_states_with_the_tokens_as_labels():
    states = np.arange(15, dtype=np.float16).reshape(3, 5) - 7
    fig = states_figure(snap(states={"rnn1": states}), "rnn1")
    heat = fig.data[0]
    np.testing.assert_array_equal(heat.z, states.astype(np.float32))
    assert heat.zmin == -7 and heat.zmax == 7  # centred at 0
    assert list(fig.layout.xaxis.ticktext) == ["a", "␣", "b", "⏎", "c"]
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_states_of_a_series_have_its_values_drawn_above_on_the_same_positions():
    values = np.linspace(-1, 1, 5, dtype=np.float32)
    fig = states_figure(snap(tokens=(), values=values), "rnn1")
    assert len(fig.data) == 2
    line = fig.data[1]
    assert line.yaxis == "y2" and line.xaxis is None  # the heatmap's x axis
    np.testing.assert_allclose(line.y, values)
    np.testing.assert_array_equal(line.x, np.arange(5))
    assert fig.layout.yaxis2.domain[0] > fig.layout.yaxis.domain[1]


def test_a_big_states_heatmap_stays_small_and_a_longer_one_is_averaged_in_bins():
    rng = np.random.default_rng(0)
    big = rng.standard_normal((64, 256)).astype(np.float16)
    tokens = tuple("abcdefgh"[i % 8] for i in range(256))
    fig = states_figure(snap(states={"rnn1": big}, tokens=tokens), "rnn1")
    np.testing.assert_array_equal(fig.data[0].z, big.astype(np.float32))  # not pooled
    assert len(fig.layout.xaxis.tickvals) <= 40  # every k-th token
    assert figure_bytes(fig) < REFRESH_BYTES / 2

    longer = rng.standard_normal((64, 1000)).astype(np.float16)
    fig = states_figure(snap(states={"rnn1": longer}, tokens=()), "rnn1")
    z = fig.data[0].z
    assert z.size <= MAX_CELLS and z.shape == (64, 250)  # bins of 4 positions
    np.testing.assert_allclose(z[:, 0], longer[:, :4].astype(np.float32).mean(axis=1), rtol=1e-5)
    assert "bins of 4" in fig.layout.xaxis.title.text


def test_gates_show_each_gates_mean_and_saturated_share():
    gates = {
        "forget": {"mean": np.array([0.9, 0.8, 0.7], np.float32),
                   "saturated": np.array([0.5, 0.4, 0.3], np.float32)},
        "input": {"mean": np.array([0.1, 0.2, 0.3], np.float32),
                  "saturated": np.array([0.0, 0.1, 0.0], np.float32)},
    }  # fmt: skip
    fig = gates_figure(snap(gates={"lstm1": gates}), "lstm1")
    assert [t.name for t in fig.data] == [
        "forget: mean", "forget: saturated", "input: mean", "input: saturated"
    ]  # fmt: skip
    assert [t.line.dash for t in fig.data] == ["solid", "dot"] * 2
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color
    np.testing.assert_allclose(fig.data[1].y, [0.5, 0.4, 0.3])
    assert list(fig.layout.yaxis.range) == [0, 1.02]


def test_a_layer_without_gates_says_so():
    fig = gates_figure(snap(), "rnn1")
    assert not fig.data
    assert fig.layout.annotations[0].text == NO_GATES


def test_time_gradient_drops_zeros_and_gaps_and_draws_on_a_log_axis():
    start = snap(
        layers=("l1", "l2"),
        grad_steps={
            "l1": np.array([0.0, 1e-4, np.nan, 1e-2]),
            "l2": np.array([1e-3, 1e-2, 1e-1, 1.0]),
        },
    )
    now = snap(layers=("l1", "l2"), grad_steps={"l1": np.full(4, 0.5), "l2": np.full(4, 0.5)})
    fig = time_gradient_figure([("at the start", start), ("now", now)])
    assert len(fig.data) == 4
    first = fig.data[0]
    assert first.name == "at the start: l1"
    np.testing.assert_array_equal(first.x, [1, 3])  # step 0 (zero) and 2 (NaN) dropped
    np.testing.assert_allclose(first.y, [1e-4, 1e-2], rtol=1e-6)
    assert [t.line.dash for t in fig.data] == ["solid", "dash", "solid", "dash"]
    assert fig.data[0].line.color != fig.data[2].line.color
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.title.text == "gradient reaching step t (log)"


# --- attention ------------------------------------------------------------------------------------


def rows_attention(heads: int, t: int, seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).random((heads, t, t)).astype(np.float32)
    return (a / a.sum(axis=-1, keepdims=True)).astype(np.float16)


def test_attention_draws_a_map_per_head_with_the_tokens_on_the_axes():
    att = rows_attention(2, 5)
    fig = attention_figure(snap(layers=("attn1",), attention={"attn1": att}), "attn1")
    assert len(fig.data) == 2
    for head, trace in zip(att, fig.data):
        np.testing.assert_array_equal(trace.z, head.astype(np.float32))
        assert (trace.zmin, trace.zmax) == (0, 1)
    assert [a.text for a in fig.layout.annotations] == ["head 1", "head 2"]
    assert list(fig.layout.xaxis.ticktext) == ["a", "␣", "b", "⏎", "c"]
    assert fig.layout.xaxis.title.text == "key position"
    assert fig.layout.yaxis.title.text == "query position"
    assert fig.data[1].xaxis == "x2" and fig.layout.xaxis2.anchor == "y2"


def test_attention_of_every_layer_has_a_row_per_layer():
    att = {f"attn{i}": rows_attention(3, 4, i) for i in (1, 2)}
    fig = attention_figure(snap(layers=tuple(att), attention=att))
    assert len(fig.data) == 6
    np.testing.assert_array_equal(fig.data[3].z, att["attn2"][0].astype(np.float32))
    assert "attn2" in fig.layout.yaxis4.title.text  # the second row's first map
    assert fig.layout.yaxis4.domain[1] < fig.layout.yaxis.domain[0]


def test_attention_too_big_to_send_is_averaged_in_bins_its_axes_say_so():
    att = rows_attention(8, 64)
    fig = attention_figure(snap(layers=("a",), attention={"a": att}, attention_bins=2), "a")
    z = fig.data[0].z
    assert z.shape == (32, 32)  # 8 maps of 64 x 64 are twice MAX_CELLS: bins of 2 more
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-2)  # each row still sums to 1
    assert fig.layout.xaxis.title.text == "key positions, in bins of 4"
    assert figure_bytes(fig) < REFRESH_BYTES / 2

    small = rows_attention(1, 6)
    fig = attention_figure(snap(layers=("a",), attention={"a": small}, attention_bins=3), "a")
    assert fig.layout.yaxis.title.text == "query positions, in bins of 3"


def test_pooled_attention_averages_queries_and_sums_keys():
    att = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    pooled = pool_attention(att, 2)
    assert pooled.shape == (1, 3, 3)
    assert pooled[0, 0, 0] == pytest.approx((0 + 1 + 5 + 6) / 2)
    assert pooled[0, 2, 2] == pytest.approx(24)  # the last bin has one query, one key


def test_attention_of_a_model_without_it_says_so():
    fig = attention_figure(snap(), None)
    assert not fig.data and "transformer" in fig.layout.annotations[0].text


# --- heads over training, heads switched off ------------------------------------------------------


def test_head_scores_mark_the_step_where_a_head_turned_on():
    kind = HEAD_KINDS.index("previous")
    steps = [0, 10, 20, 30]
    rising = [0.1, 0.2, 0.5, 0.7]  # L1 H1 passes TURNED_ON at step 20
    already = [0.6, 0.6, 0.6, 0.6]  # L1 H2 started on: no marker
    scores = []
    for a, b in zip(rising, already):
        s = np.zeros((1, 2, len(HEAD_KINDS)), np.float32)
        s[0, 0, kind], s[0, 1, kind] = a, b
        s[0, 1, HEAD_KINDS.index("self")] = 0.9 if a > 0.3 else 0.0  # another kind turning on
        scores.append(s)
    fig = head_scores_figure(steps, scores, kind, loss_steps=[0, 5, 30], loss=[2.0, 1.5, 0.2])
    lines = {t.name: t for t in fig.data}
    np.testing.assert_allclose(lines["L1 H1"].y, rising, rtol=1e-6)
    np.testing.assert_array_equal(lines["L1 H1"].x, steps)
    flat = [s for s in fig.layout.shapes if s.y0 == s.y1 and s.xref == "paper"]
    assert [s.y0 for s in flat] == [TURNED_ON]
    upright = [s for s in fig.layout.shapes if s.x0 == s.x1 and s.yref == "paper"]
    assert [s.x0 for s in upright] == [20]  # only this kind's, only the head that turned on
    assert any(a.text == "L1 H1" and a.x == 20 for a in fig.layout.annotations)
    loss = lines["batch loss"]
    assert loss.yaxis == "y2" and fig.layout.yaxis2.side == "right"
    np.testing.assert_allclose(loss.y, [2.0, 1.5, 0.2], rtol=1e-6)
    assert "previous-token" in fig.layout.yaxis.title.text


def test_ablation_bars_are_coloured_by_how_much_the_metric_falls():
    ablated = {(0, 0): 0.9, (0, 1): 0.5, (1, 0): 0.95}
    fig = ablation_figure(0.95, ablated)
    bar = fig.data[0]
    assert list(bar.x) == ["L1 H1", "L1 H2", "L2 H1"]
    np.testing.assert_allclose(bar.y, [0.9, 0.5, 0.95], rtol=1e-6)
    np.testing.assert_allclose(bar.marker.color, [0.05, 0.45, 0.0], atol=1e-6)
    assert bar.marker.cmax == pytest.approx(0.45)
    line = fig.layout.shapes[0]
    assert line.y0 == line.y1 == 0.95 and line.line.dash == "dash"


def test_ablation_of_a_loss_counts_a_rise_as_worse():
    fig = ablation_figure(0.2, {(0, 0): 0.5, (0, 1): 0.1}, metric="test loss")
    np.testing.assert_allclose(fig.data[0].marker.color, [0.3, 0.0], atol=1e-6)


# --- generated text -------------------------------------------------------------------------------


def test_next_token_bars_show_before_and_after_with_whitespace_printable():
    vocab = ["a", " ", "\n", "b", "<pad>"]
    raw = np.array([0.1, 0.4, 0.3, 0.15, 0.05], np.float32)
    adjusted = np.array([0.0, 0.6, 0.4, 0.0, 0.0], np.float32)
    fig = next_token_figure(vocab, raw, adjusted, chosen=2, top=3)
    before, after = fig.data
    assert list(before.x) == ["␣", "⏎", "b"] == list(after.x)
    np.testing.assert_allclose(before.y, [0.4, 0.3, 0.15], rtol=1e-6)
    np.testing.assert_allclose(after.y, [0.6, 0.4, 0.0], rtol=1e-6)
    assert list(after.marker.line.width) == [0, 2.5, 0]  # the drawn token outlined
    assert fig.layout.barmode == "group"


def test_next_token_keeps_the_chosen_token_even_when_unlikely():
    vocab = ["a", "b", "<pad>"]
    fig = next_token_figure(vocab, np.array([0.5, 0.45, 0.05]), np.array([0.5, 0.45, 0.05]),
                            chosen=2, top=2)  # fmt: skip
    assert list(fig.data[0].x) == ["a", "&lt;pad&gt;"]  # plotly shows "<pad>"


# --- forecasts ------------------------------------------------------------------------------------


def test_forecast_puts_the_past_before_now_and_the_forecasts_after():
    past = np.arange(6, dtype=np.float32)
    truth = np.array([6.0, 7.0, 8.0], np.float32)
    forecasts = {"naive": np.full(3, 5.0), "network": np.array([6.1, 6.9, 8.2])}
    fig = forecast_figure(past, truth, forecasts, title="example 3")
    seen, ahead, network, naive = fig.data
    np.testing.assert_array_equal(seen.x, [-5, -4, -3, -2, -1, 0])  # the latest value is now
    np.testing.assert_allclose(seen.y, past)
    np.testing.assert_array_equal(ahead.x, [1, 2, 3])
    assert ahead.line.dash == "dash"
    assert network.name == "network" and network.line.color == RUN_COLORS[0]
    np.testing.assert_allclose(network.y, [6.1, 6.9, 8.2], rtol=1e-6)
    np.testing.assert_array_equal(network.x, [1, 2, 3])
    assert naive.line.color == BASELINE_COLORS["naive"] and naive.line.width < network.line.width
    now = fig.layout.shapes[0]
    assert now.x0 == now.x1 == 0 and fig.layout.annotations[0].text == "now"


def test_horizon_error_draws_the_network_thicker_than_the_baselines():
    errors = {"linear AR": np.array([0.1, 0.2]), "network": np.array([0.05, 0.1]),
              "naive": np.array([0.2, 0.4])}  # fmt: skip
    fig = horizon_error_figure(errors)
    assert [t.name for t in fig.data] == ["network", "linear AR", "naive"]
    assert fig.data[0].line.width > fig.data[1].line.width
    np.testing.assert_array_equal(fig.data[1].x, [1, 2])
    np.testing.assert_allclose(fig.data[2].y, [0.2, 0.4], rtol=1e-6)
    assert all(t.mode == "lines+markers" for t in fig.data)


def test_series_preview_splits_train_and_test_and_thins_a_long_series():
    series = np.sin(np.arange(10_000) / 50).astype(np.float32)
    fig = series_preview_figure(series, split_at=8000)
    train, test = fig.data
    assert len(train.x) + len(test.x) <= 2000
    assert train.x.max() < 8000 <= test.x.min() and test.x.max() == 9999
    np.testing.assert_allclose(train.y, series[train.x.astype(int)])
    assert fig.layout.shapes[0].x0 == 8000


# --- the length experiment ------------------------------------------------------------------------

LENGTH_ROWS = [
    {"arch": a, "length": n, "test_accuracy": acc, "first_step_gradient": g, "status": "finished"}
    for a, n, acc, g in [
        ("transformer", 5, 1.0, None),
        ("rnn", 50, 0.25, 0.0),
        ("rnn", 5, 1.0, 1e-2),
        ("lstm", 5, 1.0, 0.5),
        ("lstm", 50, 0.9, 0.1),
        ("rnn", 100, float("nan"), None),  # still running
    ]
]


def test_length_accuracy_has_a_line_per_architecture_on_a_log_length_axis():
    fig = length_accuracy_figure(LENGTH_ROWS, chance=0.25)
    lines = {t.name: t for t in fig.data}
    assert list(lines) == ["rnn", "lstm", "transformer"]
    assert list(lines["rnn"].x) == [5, 50]  # by length, the unfinished one left out
    np.testing.assert_allclose(lines["rnn"].y, [1.0, 0.25])
    assert lines["lstm"].line.color == ARCH_COLORS["lstm"] != lines["rnn"].line.color
    assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.ticktext) == ["5", "50", "100"]
    chance = fig.layout.shapes[0]
    assert chance.y0 == 0.25 and chance.line.dash == "dot"
    assert fig.layout.annotations[0].text == "chance"


def test_length_gradient_is_log_log_and_skips_rows_without_it():
    fig = length_gradient_figure(LENGTH_ROWS)
    lines = {t.name: t for t in fig.data}
    assert list(lines) == ["rnn", "lstm"]  # the transformer has no ratio
    np.testing.assert_allclose(lines["lstm"].y, [0.5, 0.1], rtol=1e-6)
    np.testing.assert_allclose(lines["rnn"].y, [1e-2, 1e-3], rtol=1e-6)  # 0: at the floor
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert list(fig.layout.xaxis.tickvals) == [5, 50]


# --- size -----------------------------------------------------------------------------------------


def test_a_transformers_live_figures_together_stay_under_300_kb():
    rng = np.random.default_rng(1)
    big = snap(
        tokens=tuple("x" * 64), layers=("l1",),
        states={"l1": rng.standard_normal((64, 64)).astype(np.float16)},
        attention={"l1": rows_attention(8, 64)}, grad_steps={"l1": rng.random(64)},
    )  # fmt: skip
    steps = list(range(0, 1000))
    scores = [rng.random((4, 8, len(HEAD_KINDS))).astype(np.float32) for _ in steps]
    figs = [
        sequence_curves_figure([("", history(200, "tokens"))], "tokens"),
        states_figure(big, "l1"),
        attention_figure(big, "l1"),
        time_gradient_figure([("at the start", big), ("now", big)]),
        head_scores_figure(steps, scores, 0, steps, [1.0] * len(steps)),
    ]
    total = sum(figure_bytes(f) for f in figs)
    assert total < REFRESH_BYTES, total


def test_the_state_path_is_the_states_pca_in_order_ending_on_the_positive_side():
    from dlviz.labs.sequences.figures import state_path_figure

    # 3 units, 5 positions: the state moves along unit 0 only, from +2 down to -2
    states = np.zeros((3, 5), dtype=np.float16)
    states[0] = [2, 1, 0, -1, -2]
    fig = state_path_figure(snap(states={"lstm1": states}), "lstm1")
    line, dots, ends = fig.data
    x = np.asarray(dots.x, dtype=np.float64)
    # the only direction of change, centred (mean 0), signed so the path ends positive
    np.testing.assert_allclose(x, [-2, -1, 0, 1, 2], atol=1e-6)
    np.testing.assert_allclose(np.asarray(dots.y), 0, atol=1e-6)
    assert list(dots.marker.color) == [0, 1, 2, 3, 4]  # coloured by position
    assert list(dots.text) == ["a", "␣", "b", "⏎", "c"]
    assert list(ends.text) == ["start", "end"]
    assert fig.layout.xaxis.title.text == "PC1 (100%)"
    missing = state_path_figure(snap(states={}), "lstm1")
    assert "no states recorded" in missing.layout.annotations[0].text
