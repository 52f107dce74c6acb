"""Step by hand, drawn: one training step of a tiny network, stage by stage, on its diagram.

Forward (each neuron's z and a), Loss (softmax, each sample's -log p, their mean), Backward
(every dL/dz, dL/da and dL/dw, the chain rule of one chosen weight written out), Update (every
weight before and after, with the optimizer's state). The numbers are `dlviz.by_hand`'s: the
real PyTorch tensors of the step. It sits in a closed expander under the Playground and runs
as a fragment, so its buttons redraw it alone.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dlviz.by_hand import ChainRule, StepRecord, chain_rule, unit_names, weight_name
from dlviz.config import ConfigError
from dlviz.figures.theme import themed
from dlviz.labs.playground import widgets as playground
from dlviz.labs.playground import widgets_by_hand as hand
from dlviz.labs.playground.figures import step_figure
from dlviz.text import plural
from dlviz.ui import fields, live
from dlviz.ui.charts import scheme
from dlviz.ui.state import dataset
from dlviz.ui.widgets import DATASET_LABELS

OPEN = "pg_bh_open"
TITLE = "Step by hand: one training step of a tiny network, every number"


def num(v: float) -> str:
    """A number as the text and tables show it: 4 significant digits (and 0, never -0)."""
    return f"{float(v) + 0.0:.4g}"


def _times(a: float, b: float) -> str:
    return f"({num(a)} × {num(b)})"


def _term(v: float) -> str:
    """A number added to a sum: in brackets when negative, "+ (-0.2)" rather than "+ -0.2"."""
    return f"({num(v)})" if float(v) + 0.0 < 0 else num(v)


def expander() -> None:
    """The closed expander under the Playground; what is in it runs only while it is open."""
    box = st.expander(TITLE, key=OPEN, on_change="rerun")
    with box:
        if box.open:
            section()


@st.fragment
def section() -> None:
    hand.init()
    ss = st.session_state
    try:
        data_cfg = playground.data_config()
        seed = fields.value("pg_seed")
    except ConfigError as e:
        st.warning(f"Step by hand needs the Playground's settings to be valid: {e}.")
        return
    ds = dataset(data_cfg)
    hand.controls()
    s = hand.settings(ss["pg_activation"], seed)
    try:
        sp = hand.stepper(s, data_cfg, ds)
    except ValueError as e:
        st.warning(f"{e}: choose more samples in the Data tab.")
        return
    half = s.batch // 2
    st.caption(
        f"A network of its own, built as the Playground builds one: {s.activation} after each "
        "hidden layer (Network tab), two logits and cross-entropy, initial weights from seed "
        f"{seed} (Training tab); no normalisation, dropout or shortcuts. The batch: the first "
        f"{plural(half, 'training point')} of each class of the "
        f"{DATASET_LABELS[data_cfg.name]} data (Data tab), the same batch at every step. "
        "Changing a setting starts again from the first step."
    )
    hand.buttons(sp)
    sample, chosen = hand.view_choices(sp)
    draw(sp, sample, chosen)
    st.caption(
        "This tiny network trains apart from the Playground's: to train the network of the "
        "Network tab on all the data, live, press Train at the top of the page."
    )


# --- the diagram ------------------------------------------------------------------------------


def draw(sp: hand.Stepper, sample: int, chosen: tuple[int, int, int]) -> None:
    rec, stage = sp.record, hand.STAGES[sp.stage]
    sizes = sp.net.sizes
    units = unit_names(sizes)
    act = sp.net.model.cfg.activation
    if rec is None:
        edges = [lin.weight.detach().numpy() for lin in sp.net.layers()]
        fig = step_figure(units, edges, chosen=chosen, title="Before the first step: the weights")
        st.plotly_chart(themed(fig, scheme()), key="pg_bh_diagram", config=live.CHART_CONFIG)
        st.markdown(
            "The numbers on the connections are the weights the first step starts from: "
            "blue positive, orange negative, thicker for larger. Press **Forward** to run the "
            f"batch of {len(sp.y)} samples through the network."
        )
        return
    s = sample
    title = f"Step {rec.step}, {stage}: sample {s + 1} of {rec.batch} (class {int(rec.y[s])})"
    if stage in ("forward", "loss"):
        above = [[f"x={num(v)}" for v in rec.x[s]]]
        below: list[list[str]] = [[""] * sizes[0]]
        values = [rec.x[s].tolist()]
        for layer in rec.layers:
            above.append([f"z={num(v)}" for v in layer.z[s]])
            if layer.hidden:
                below.append([f"a={num(v)}" for v in layer.a[s]])
            elif stage == "loss":
                below.append(
                    [
                        f"p={num(p)}" + (" (true)" if k == int(rec.y[s]) else "")
                        for k, p in enumerate(rec.probs[s])
                    ]
                )
            else:
                below.append([""] * len(layer.z[s]))
            values.append(layer.a[s].tolist())
        edges = [layer.weight.before.numpy() for layer in rec.layers]
        edge_name = "w"
    elif stage == "backward":
        title = f"Step {rec.step}, backward: neurons sample {s + 1}, connections the batch"
        above = [[""] * sizes[0]]
        below = [[""] * sizes[0]]
        values = [[float("nan")] * sizes[0]]
        for layer in rec.layers:
            above.append([f"∂L/∂z={num(v)}" for v in layer.grad_z[s]])
            below.append(
                [f"∂L/∂a={num(v)}" for v in layer.grad_a[s]]
                if layer.grad_a is not None
                else [""] * len(layer.z[s])
            )
            values.append(layer.grad_z[s].tolist())
        edges = [layer.weight.grad.numpy() for layer in rec.layers]
        edge_name = "∂L/∂w"
    else:  # update
        title = f"Step {rec.step}, update: the weights after it"
        above = [[""] * sizes[0]]
        below = [[""] * sizes[0]]
        values = [[float("nan")] * sizes[0]]
        for layer in rec.layers:
            above.append([f"b={num(v)}" for v in layer.bias.after])
            below.append([""] * len(layer.bias.after))
            values.append(layer.bias.after.tolist())
        edges = [layer.weight.after.numpy() for layer in rec.layers]
        edge_name = "w after the step"
    fig = step_figure(
        units,
        edges,
        node_values=values,
        above=above,
        below=below,
        hover=_hover(rec, s, units),
        chosen=chosen,
        edge_name=edge_name,
        title=title,
    )
    st.plotly_chart(themed(fig, scheme()), key="pg_bh_diagram", config=live.CHART_CONFIG)
    explain = {"forward": forward_text, "loss": loss_text, "backward": backward_text,
               "update": update_text}[stage]  # fmt: skip
    st.markdown(explain(rec, s, chosen, act))
    st.dataframe(table(rec, stage), hide_index=True, key="pg_bh_table")
    if len(sp.losses) > 1:
        shown = sp.losses[-8:]
        first = len(sp.losses) - len(shown) + 1
        st.caption(
            "The batch's loss at each step so far: "
            + ", ".join(f"{num(v)} (step {first + k})" for k, v in enumerate(shown))
            + "."
        )


def _hover(rec: StepRecord, s: int, units: list[list[str]]) -> list[list[str]]:
    rows = [[f"{u}: input, {num(v)}" for u, v in zip(units[0], rec.x[s])]]
    for layer, names in zip(rec.layers, units[1:]):
        rows.append(
            [
                f"{u}: z {num(layer.z[s, k])}, a {num(layer.a[s, k])}, ∂L/∂z "
                f"{num(layer.grad_z[s, k])}, bias {num(layer.bias.before[k])} → "
                f"{num(layer.bias.after[k])}"
                for k, u in enumerate(names)
            ]
        )
    return rows


# --- the words under it -------------------------------------------------------------------------


def forward_text(rec: StepRecord, s: int, chosen: tuple[int, int, int], act: str) -> str:
    layer_i, j, _ = chosen
    layer = rec.layers[layer_i]
    units = unit_names(rec.sizes)
    into, frm = units[layer_i + 1][j], units[layer_i]
    w = layer.weight.before[j]
    parts = " + ".join(_times(w[i], layer.inputs[s, i]) for i in range(len(frm)))
    names = " + ".join(f"w({u}→{into}) × {u}" for u in frm)
    z = float(layer.z[s, j])
    lines = [
        "Each neuron multiplies its inputs by the weights on its connections and adds its "
        f"bias: that sum is z; a hidden neuron's output is a = {act}(z). The output neurons "
        "o0 and o1 have no activation: their z are the logits of class 0 and class 1. "
        "Neurons show one sample's values, coloured by a (x at the inputs, the logit at the "
        "outputs); connections show the weights the step starts from: blue positive, orange "
        "negative, thicker for larger.",
        "",
        f"**{into}** on sample {s + 1}: z({into}) = {names} + b({into}) = {parts} + "
        f"{_term(layer.bias.before[j])} = {num(z)}"
        + (f", a({into}) = {act}({num(z)}) = {num(layer.a[s, j])}" if layer.hidden else ""),
    ]
    return "\n".join(lines)


def loss_text(rec: StepRecord, s: int, chosen: tuple[int, int, int], act: str) -> str:
    y = int(rec.y[s])
    z = rec.logits[s]
    terms = " + ".join(num(t) for t in rec.terms)
    return "\n".join(
        [
            "Softmax turns the two logits into probabilities, p(o1) = e^z(o1) / (e^z(o0) + "
            "e^z(o1)); each sample's loss is -log p of its true class, and the batch's loss "
            "is the mean of those (cross-entropy, as Playground runs train).",
            "",
            f"Sample {s + 1} (class {y}): p(o{y}) = e^{_term(z[y])} / (e^{_term(z[0])} + "
            f"e^{_term(z[1])}) = {num(rec.probs[s, y])}, its loss -log {num(rec.probs[s, y])} = "
            f"{num(rec.terms[s])}.",
            "",
            f"**Loss** L = ({terms}) / {rec.batch} = **{num(rec.loss)}**",
        ]
    )


def backward_text(rec: StepRecord, s: int, chosen: tuple[int, int, int], act: str) -> str:
    c = chain_rule(rec, *chosen)
    units = unit_names(rec.sizes)
    into, frm = units[c.layer + 1][c.j], units[c.layer][c.i]
    b = rec.batch
    lines = [
        "Backward goes from the loss to each neuron and weight, layer by layer, input side "
        "last. Neurons show sample "
        f"{s + 1}'s ∂L/∂z (and ∂L/∂a in hidden layers), coloured by ∂L/∂z; the connections "
        "show ∂L/∂w of the "
        f"batch, the gradient the optimizer uses. L is the mean over {b} samples, so each "
        f"sample's ∂L/∂z carries a factor 1/{b}.",
        "",
        f"**The chain rule for w({frm}→{into})**, sample {s + 1}:",
        "",
    ]
    lines += _chain_lines(c, s, units, act, b)
    per_sample = " + ".join(_times(c.grad_z[k], c.inputs[k]) for k in range(b))
    lines += [
        f"- over the batch: ∂L/∂w({frm}→{into}) = sum over the {b} samples of ∂L/∂z({into}) × "
        f"a({frm}) = {per_sample} = **{num(c.value)}**",
        f"- autograd's gradient of w({frm}→{into}): **{num(c.autograd)}**",
    ]
    return "\n".join(lines)


def _chain_lines(c: ChainRule, s: int, units: list[list[str]], act: str, b: int) -> list[str]:
    into = units[c.layer + 1][c.j]
    if c.probs is not None and c.targets is not None:
        return [
            f"- ∂L/∂z({into}) = (p({into}) - y({into})) / {b} = ({num(c.probs[s])} - "
            f"{num(c.targets[s])}) / {b} = {num(c.grad_z[s])}, where y({into}) is 1 when the "
            f"sample's class is {c.j}, else 0"
        ]
    assert c.next_grad_z is not None and c.next_weight is not None
    assert c.grad_a is not None and c.slope is not None
    nxt = units[c.layer + 2]
    names = " + ".join(f"∂L/∂z({u}) × w({into}→{u})" for u in nxt)
    parts = " + ".join(_times(c.next_grad_z[s, k], c.next_weight[k]) for k in range(len(nxt)))
    return [
        f"- ∂L/∂a({into}) = {names} = {parts} = {num(c.grad_a[s])}",
        f"- ∂L/∂z({into}) = ∂L/∂a({into}) × {act}′(z({into})) = "
        f"{_times(c.grad_a[s], c.slope[s])} = {num(c.grad_z[s])}",
    ]


def update_text(rec: StepRecord, s: int, chosen: tuple[int, int, int], act: str) -> str:
    layer_i, j, i = chosen
    p = rec.layers[layer_i].weight
    name = f"w({weight_name(rec.sizes, layer_i, j, i)})"
    w0, g, w1 = float(p.before[j, i]), float(p.grad[j, i]), float(p.after[j, i])
    lr = num(rec.lr)
    if rec.optimizer == "sgd":
        lines = [
            f"SGD moves every weight against its gradient: w ← w - lr × ∂L/∂w, lr {lr}.",
            "",
            f"{name} ← {num(w0)} - {lr} × {_term(g)} = **{num(w1)}**",
        ]
    elif rec.optimizer == "momentum":
        buf = float(p.state["buffer"][j, i])
        if "buffer" in p.state_before:
            old = float(p.state_before["buffer"][j, i])
            first = f"buffer ← 0.9 × buffer + ∂L/∂w = 0.9 × {_term(old)} + {_term(g)} = {num(buf)}"
        else:
            first = (
                f"buffer ← ∂L/∂w = {num(buf)} (the first step: the buffer starts as the gradient)"
            )
        lines = [
            "SGD with momentum keeps a buffer of past gradients, each step's added to 0.9 "
            "of the last, and moves every weight against it: w ← w - lr × buffer, lr "
            f"{lr}.",
            "",
            f"- {first}",
            f"- {name} ← {num(w0)} - {lr} × {_term(buf)} = **{num(w1)}**",
        ]
    else:
        st_ = {k: float(v[j, i]) for k, v in p.state.items()}
        m0 = float(p.state_before["m"][j, i]) if "m" in p.state_before else 0.0
        v0 = float(p.state_before["v"][j, i]) if "v" in p.state_before else 0.0
        b1, b2 = rec.betas
        t = rec.step
        lines = [
            "Adam keeps running means of each weight's gradient (m) and squared gradient (v), "
            "corrects them for starting at zero (m̂, v̂) and moves each weight against m̂ / √v̂: "
            f"w ← w - lr × m̂ / (√v̂ + eps), lr {lr}, eps {rec.eps:g}. On the first step "
            "m̂ / √v̂ is the gradient's sign: every weight with a gradient moves by almost "
            "exactly lr.",
            "",
            f"- m ← {b1:g} × m + {1 - b1:g} × ∂L/∂w = {b1:g} × {_term(m0)} + {1 - b1:g} × "
            f"{_term(g)} = {num(st_['m'])}",
            f"- v ← {b2:g} × v + {1 - b2:g} × (∂L/∂w)² = {b2:g} × {_term(v0)} + {1 - b2:g} × "
            f"{_term(g)}² = {num(st_['v'])}",
            f"- m̂ = m / (1 - {b1:g}^{t}) = {num(st_['m_hat'])}, v̂ = v / (1 - {b2:g}^{t}) = "
            f"{num(st_['v_hat'])}",
            f"- {name} ← {num(w0)} - {lr} × {_term(st_['m_hat'])} / (√{num(st_['v_hat'])} + "
            f"{rec.eps:g}) = **{num(w1)}**",
        ]
    lines = [
        "The connections now show the weights after the step, the neurons their biases (b) "
        "after it, coloured by them; the table has every parameter before and after.",
        "",
        *lines,
        "",
        "**Next step** runs the same batch through the new weights.",
    ]
    return "\n".join(lines)


# --- the table under it -------------------------------------------------------------------------


def table(rec: StepRecord, stage: str) -> pd.DataFrame:
    """Forward: every sample's values; loss: its probabilities and loss; backward and update:
    every parameter, with its gradient, and after the update its new value and the
    optimizer's state."""
    units = unit_names(rec.sizes)
    if stage in ("forward", "loss"):
        rows = []
        for s in range(rec.batch):
            row = {"sample": str(s + 1), "class": str(int(rec.y[s]))}
            row.update({u: num(v) for u, v in zip(units[0], rec.x[s])})
            if stage == "forward":
                for layer, names in zip(rec.layers, units[1:]):
                    row.update({f"a({u})" if layer.hidden else f"z({u})": num(v)
                                for u, v in zip(names, layer.a[s])})  # fmt: skip
            else:
                row.update({f"z({u})": num(v) for u, v in zip(units[-1], rec.logits[s])})
                row.update({f"p({u})": num(v) for u, v in zip(units[-1], rec.probs[s])})
                row["-log p(true class)"] = num(rec.terms[s])
            rows.append(row)
        return pd.DataFrame(rows)
    rows = []
    for k, layer in enumerate(rec.layers):
        n_out, n_in = layer.weight.before.shape
        params = [(f"w({weight_name(rec.sizes, k, j, i)})", layer.weight, (j, i))
                  for j in range(n_out) for i in range(n_in)]  # fmt: skip
        params += [(f"b({units[k + 1][j]})", layer.bias, (j,)) for j in range(n_out)]
        for name, p, at in params:
            row = {"parameter": name, "before": num(p.before[at]), "gradient": num(p.grad[at])}
            if stage == "update":
                for key, label in (("buffer", "momentum buffer"), ("m", "m"), ("v", "v"),
                                   ("m_hat", "m̂"), ("v_hat", "v̂")):  # fmt: skip
                    if key in p.state:
                        row[label] = num(p.state[key][at])
                row["after"] = num(p.after[at])
            rows.append(row)
    return pd.DataFrame(rows)
