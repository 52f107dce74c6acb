"""AppTest of the Playground's step by hand: the section opens, each button moves on one stage
and shows the step's numbers, Reset starts again, the optimizer changes the update, a setting
changes the network. Every number shown is checked against a reference step taken here with
`dlviz.by_hand` on the same data, seed and settings; `step_figure` is checked on its own."""

from __future__ import annotations

import numpy as np
import pytest
from support.apptest import chart_title, charts

from dlviz.by_hand import SIZES, HandNet, chain_rule, pick_batch
from dlviz.config import DataConfig
from dlviz.data import load_dataset
from dlviz.figures.theme import CHIP, CHIP_TEXT, DARK_CHIP, DARK_CHIP_TEXT, themed
from dlviz.labs.playground.figures import step_figure

STAGES = ["forward", "loss", "backward", "update", "next"]


def fmt(v) -> str:
    """Four significant digits, as the page writes its numbers."""
    return f"{float(v) + 0.0:.4g}"


def short(v) -> str:
    """Three, as the diagram writes them on its connections."""
    return f"{float(v):.3g}"


def opened(apptest, **values):
    at = apptest("pages/playground.py")
    at.session_state["pg_bh_open"] = True
    at.run()
    assert not at.exception, at.exception
    for key, value in values.items():
        if key == "pg_bh_batch":
            at.segmented_control(key=key).set_value(value).run()
        else:
            at.selectbox(key=key).set_value(value).run()
        assert not at.exception, at.exception
    return at


def reference(at, steps: int = 1):
    """The steps the page should show, taken here on the page's data and settings."""
    ss = at.session_state
    data = load_dataset(
        DataConfig(
            name=ss["pg_dataset"],
            n_samples=ss["pg_samples"],
            noise=float(ss["pg_noise"]),
            test_fraction=float(ss["pg_test_fraction"]),
            seed=int(ss["pg_data_seed"]),
        )
    )
    x, y = pick_batch(data.x_train, data.y_train, int(ss["pg_bh_batch"]))
    net = HandNet(
        SIZES[ss["pg_bh_size"]],
        ss["pg_activation"],
        ss["pg_bh_optimizer"],
        float(ss["pg_bh_lr"]),
        seed=int(ss["pg_seed"]),
    )
    return [net.step(x, y) for _ in range(steps)]


def press(at, name: str) -> None:
    at.button(key=f"pg_bh_{name}").click().run()
    assert not at.exception, at.exception


def diagram(at) -> dict:
    return charts(at)["pg_bh_diagram"]


def trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


def enabled(at) -> list[str]:
    return [b for b in [*STAGES, "reset"] if not at.button(key=f"pg_bh_{b}").disabled]


def text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def table(at) -> list[dict]:
    (section,) = [e for e in at.main.expander if e.label.startswith("Step by hand")]
    (frame,) = section.dataframe  # the one table of the section
    return frame.value.to_dict("records")


def test_closed_until_opened(apptest):
    at = apptest("pages/playground.py")
    assert [e.label for e in at.main.expander][-1].startswith("Step by hand")
    assert "pg_bh_diagram" not in charts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("pg_bh_")]


def test_each_button_moves_on_and_shows_the_steps_numbers(apptest):
    at = opened(apptest)
    assert chart_title(diagram(at)) == "Before the first step: the weights"
    assert enabled(at) == ["forward"]
    first, second = reference(at, steps=2)
    # before the first step the connections carry the initial weights
    edges = trace(diagram(at), "edges")["text"]
    w = first.layers[0].weight.before
    assert edges[:2] == [f"<b>{short(w[0, 0])}</b>", short(w[0, 1])]  # x1→h1 chosen: in bold

    press(at, "forward")
    assert enabled(at) == ["loss", "reset"]
    fig = diagram(at)
    assert chart_title(fig) == "Step 1, forward: sample 1 of 4 (class 0)"
    hidden, out = first.layers
    top = trace(fig, "top")["text"]
    assert top == [f"x={fmt(v)}" for v in first.x[0]] + [
        f"z={fmt(v)}" for v in [*hidden.z[0], *out.z[0]]
    ]
    assert trace(fig, "bottom")["text"][2:5] == [f"a={fmt(v)}" for v in hidden.a[0]]
    assert trace(fig, "neurons")["text"] == ["x1", "x2", "h1", "h2", "h3", "o0", "o1"]
    rows = table(at)
    assert [r["class"] for r in rows] == ["0", "1", "0", "1"]
    assert [r["z(o1)"] for r in rows] == [fmt(v) for v in out.z[:, 1]]
    assert [r["a(h2)"] for r in rows] == [fmt(v) for v in hidden.a[:, 1]]
    # the chosen weight's neuron, written out for sample 1
    assert (
        f"z(h1) = w(x1→h1) × x1 + w(x2→h1) × x2 + b(h1) = ({fmt(hidden.weight.before[0, 0])}"
        in text(at)
    )
    assert f"= {fmt(hidden.z[0, 0])}, a(h1) = relu(" in text(at)

    press(at, "loss")
    assert enabled(at) == ["backward", "reset"]
    assert chart_title(diagram(at)) == "Step 1, loss: sample 1 of 4 (class 0)"
    assert f"= **{fmt(first.loss)}**" in text(at)
    assert f"{fmt(first.terms[0])} + {fmt(first.terms[1])}" in text(at)
    below = trace(diagram(at), "bottom")["text"]
    assert below[-2:] == [f"p={fmt(first.probs[0, 0])} (true)", f"p={fmt(first.probs[0, 1])}"]
    assert [r["-log p(true class)"] for r in table(at)] == [fmt(v) for v in first.terms]

    press(at, "backward")
    assert enabled(at) == ["update", "reset"]
    fig = diagram(at)
    assert chart_title(fig).startswith("Step 1, backward")
    assert trace(fig, "top")["text"][2:5] == [f"∂L/∂z={fmt(v)}" for v in hidden.grad_z[0]]
    assert trace(fig, "bottom")["text"][2:5] == [f"∂L/∂a={fmt(v)}" for v in hidden.grad_a[0]]
    assert trace(fig, "edges")["text"][0] == f"<b>{short(hidden.weight.grad[0, 0])}</b>"
    chain = chain_rule(first, 0, 0, 0)
    assert "**The chain rule for w(x1→h1)**, sample 1" in text(at)
    assert f"autograd's gradient of w(x1→h1): **{fmt(hidden.weight.grad[0, 0])}**" in text(at)
    assert f"= **{fmt(chain.value)}**" in text(at)
    rows = {r["parameter"]: r for r in table(at)}
    assert rows["w(h3→o1)"]["gradient"] == fmt(out.weight.grad[1, 2])
    assert rows["b(h2)"]["gradient"] == fmt(hidden.bias.grad[1])
    assert len(rows) == 6 + 3 + 6 + 2

    press(at, "update")
    assert enabled(at) == ["next", "reset"]
    fig = diagram(at)
    assert chart_title(fig) == "Step 1, update: the weights after it"
    assert trace(fig, "edges")["text"][1] == short(hidden.weight.after[0, 1])
    rows = {r["parameter"]: r for r in table(at)}
    assert rows["w(x2→h3)"]["before"] == fmt(hidden.weight.before[2, 1])
    assert rows["w(x2→h3)"]["after"] == fmt(hidden.weight.after[2, 1])
    assert set(rows["w(x2→h3)"]) == {"parameter", "before", "gradient", "after"}  # SGD: no state
    assert f"w(x1→h1) ← {fmt(hidden.weight.before[0, 0])} - 0.1 × " in text(at)
    assert f"= **{fmt(hidden.weight.after[0, 0])}**" in text(at)

    press(at, "next")
    assert enabled(at) == ["loss", "reset"]
    assert chart_title(diagram(at)) == "Step 2, forward: sample 1 of 4 (class 0)"
    assert trace(diagram(at), "top")["text"][5:] == [f"z={fmt(v)}" for v in second.logits[0]]
    captions = [c.value for c in at.caption]
    assert any(f"{fmt(first.loss)} (step 1), {fmt(second.loss)} (step 2)" in c for c in captions)
    assert second.loss < first.loss


def test_reset_starts_again_from_the_same_weights(apptest):
    at = opened(apptest)
    (first,) = reference(at)
    for name in ["forward", "loss", "backward", "update", "next"]:
        press(at, name)
    assert chart_title(diagram(at)).startswith("Step 2")
    press(at, "reset")
    assert chart_title(diagram(at)) == "Before the first step: the weights"
    assert enabled(at) == ["forward"]
    press(at, "forward")
    assert chart_title(diagram(at)).startswith("Step 1, forward")
    assert trace(diagram(at), "top")["text"][-1] == f"z={fmt(first.logits[0, 1])}"


@pytest.mark.parametrize(
    "optimizer, columns",
    [
        ("sgd", []),
        ("momentum", ["momentum buffer"]),
        ("adam", ["m", "v", "m̂", "v̂"]),
    ],
)
def test_the_optimizer_changes_the_update(apptest, optimizer, columns):
    at = opened(apptest, pg_bh_optimizer=optimizer)
    for name in ["forward", "loss", "backward", "update", "next", "loss", "backward", "update"]:
        press(at, name)
    _, second = reference(at, steps=2)
    out = second.layers[1]
    rows = {r["parameter"]: r for r in table(at)}
    row = rows["w(h2→o0)"]
    assert list(row) == ["parameter", "before", "gradient", *columns, "after"]
    assert row["after"] == fmt(out.weight.after[0, 1])
    if optimizer == "momentum":
        assert row["momentum buffer"] == fmt(out.weight.state["buffer"][0, 1])
        assert "buffer ← 0.9 × buffer + ∂L/∂w = 0.9 × " in text(at)
    if optimizer == "adam":
        for column, key in zip(columns, ["m", "v", "m_hat", "v_hat"]):
            assert row[column] == fmt(out.weight.state[key][0, 1]), column
        state = second.layers[0].weight.state
        assert f"m̂ = m / (1 - 0.9^2) = {fmt(state['m_hat'][0, 0])}" in text(at)
        assert f"= {fmt(state['m'][0, 0])}" in text(at)


def test_a_setting_starts_a_new_network_and_the_choices_follow_it(apptest):
    at = opened(apptest)
    press(at, "forward")
    at.selectbox(key="pg_bh_size").set_value("2-4-4-2").run()
    assert not at.exception, at.exception
    assert chart_title(diagram(at)) == "Before the first step: the weights"
    press(at, "forward")
    (first,) = reference(at)
    names = trace(diagram(at), "neurons")["text"]
    assert names[2:6] == ["h1.1", "h1.2", "h1.3", "h1.4"] and names[-2:] == ["o0", "o1"]
    # the second sample's values, and an output weight's chain rule
    at.selectbox(key="pg_bh_sample").set_value(1).run()
    at.selectbox(key="pg_bh_weight").set_value((2, 1, 3)).run()
    assert not at.exception, at.exception
    assert chart_title(diagram(at)) == "Step 1, forward: sample 2 of 4 (class 1)"
    assert trace(diagram(at), "top")["text"][-1] == f"z={fmt(first.logits[1, 1])}"
    press(at, "loss")
    press(at, "backward")
    chain = chain_rule(first, 2, 1, 3)
    assert "**The chain rule for w(h2.4→o1)**, sample 2" in text(at)
    assert (
        f"∂L/∂z(o1) = (p(o1) - y(o1)) / 4 = ({fmt(first.probs[1, 1])} - 1) / 4 = "
        f"{fmt(chain.grad_z[1])}" in text(at)
    )
    # a batch of two: the sample choice is kept within it
    at.selectbox(key="pg_bh_sample").set_value(3).run()
    at.segmented_control(key="pg_bh_batch").set_value(2).run()
    assert not at.exception, at.exception
    assert at.session_state["pg_bh_sample"] == 0
    press(at, "forward")
    assert chart_title(diagram(at)) == "Step 1, forward: sample 1 of 2 (class 0)"
    assert len(table(at)) == 2


def test_the_playgrounds_activation_is_the_tiny_networks(apptest):
    at = apptest("pages/playground.py")
    at.selectbox(key="pg_activation").set_value("tanh").run()
    at.session_state["pg_bh_open"] = True
    at.run()
    press(at, "forward")
    (first,) = reference(at)
    assert first.layers[0].a[0, 0] == pytest.approx(
        np.tanh(float(first.layers[0].z[0, 0])), abs=1e-6
    )
    assert "a(h1) = tanh(" in text(at)
    assert trace(diagram(at), "bottom")["text"][2] == f"a={fmt(first.layers[0].a[0, 0])}"
    assert any("tanh after each hidden layer" in c.value for c in at.caption)


def test_step_figure_draws_every_neuron_and_connection():
    units = [["x1", "x2"], ["h1", "h2", "h3"], ["o0", "o1"]]
    w1 = np.array([[0.5, -0.25], [1.0, 0.0], [-2.0, 0.125]])
    w2 = np.array([[0.3, -0.3, 0.6], [-1.5, 0.2, 0.9]])
    fig = step_figure(units, [w1, w2], node_values=[[1, -1], [0.5, 0, -0.5], [2, -2]],
                      chosen=(0, 2, 0), title="t")  # fmt: skip
    lines = [t for t in fig.data if t.mode == "lines"]
    assert len(lines) == 6 + 6 + 1  # every connection, and the chosen one's purple line
    widths = [t.line.width for t in lines if t.line.color != "#CC79A7"]
    assert max(widths) == pytest.approx(5.0) and min(widths) == pytest.approx(0.8)  # |-2|, 0
    colours = [t.line.color for t in lines]
    assert colours.count("#0877bd") == 8 and colours.count("#f59322") == 4  # 0 counts as blue
    edges = next(t for t in fig.data if t.name == "edges")
    assert list(edges.text)[:6] == ["0.5", "-0.25", "1", "0", "<b>-2</b>", "0.125"]
    # the numbers of lines into different neurons sit at different places along them
    assert len({(round(x, 6), round(y, 6)) for x, y in zip(edges.x, edges.y)}) == 12
    neurons = next(t for t in fig.data if t.name == "neurons")
    assert list(neurons.text) == [u for row in units for u in row]
    colours = list(neurons.marker.color)
    assert list(neurons.textfont.color)[-2:] == ["white", "white"]  # on the deepest colours
    assert colours[-2] == "#0877bd" and colours[-1] == "#f59322" and colours[3] == "#f7f7f7"


def test_on_a_dark_page_the_numbers_sit_on_dark_chips_and_the_colours_keep_their_meaning():
    units = [["x1", "x2"], ["h1", "h2"], ["o0", "o1"]]
    w = [np.array([[0.5, -0.25], [1.0, 0.0]]), np.array([[0.3, -0.3], [-1.5, 0.2]])]
    light = step_figure(units, w, node_values=[[1, -1], [0.5, 0], [2, -2]], title="t")
    before = [(t.line.color, tuple(t.marker.color or ())) for t in light.data]
    chips = [a for a in light.layout.annotations if a.bgcolor is not None]
    assert chips and all(a.bgcolor == CHIP and a.font.color == CHIP_TEXT for a in chips)
    dark = themed(light, "dark")
    chips = [a for a in dark.layout.annotations if a.bgcolor is not None]
    assert all(a.bgcolor == DARK_CHIP and a.font.color == DARK_CHIP_TEXT for a in chips)
    # the lines' and neurons' colours are the weights' signs and the values' sizes: unchanged
    assert [(t.line.color, tuple(t.marker.color or ())) for t in dark.data] == before
    again = themed(step_figure(units, w, node_values=[[1, -1], [0.5, 0], [2, -2]]), "light")
    assert [a.bgcolor for a in again.layout.annotations if a.bgcolor is not None][0] == CHIP
