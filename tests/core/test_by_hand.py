"""The Playground's step by hand (dlviz.by_hand): every recorded number against two references
that share no code with it:

- a hand computation, in plain Python floats and the math module, of a 2-2-2 tanh network
  with fixed weights on two samples: the forward values, the loss, the backward pass, one
  weight's chain-rule product, and the SGD, momentum and Adam updates over two steps;
- plain autograd: the same weights in a separate forward and backward written with torch ops
  (no MLP, no hooks), and a plain training loop with torch's own optimizer.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from dlviz.by_hand import (
    SIZES,
    HandNet,
    chain_rule,
    pick_batch,
    unit_names,
    weight_name,
    weights,
)
from dlviz.config import ModelConfig
from dlviz.models import build_model

# --- the hand computation: a 2-2-2 tanh network, two samples -------------------------------------

W1 = [[0.5, -0.3], [0.8, 0.2]]  # hidden: w[j][i], from input i to unit j
B1 = [0.1, -0.1]
W2 = [[0.4, -0.6], [-0.7, 0.9]]  # output: logits of class 0 and class 1
B2 = [0.05, -0.05]
X = [[1.0, 2.0], [-0.5, 0.5]]
Y = [1, 0]
LR = 0.1


def hand_step(w1, b1, w2, b2):
    """Forward, loss and backward by hand. Returns the values and the gradients."""
    n = len(X)
    z1 = [[sum(w1[j][i] * x[i] for i in range(2)) + b1[j] for j in range(2)] for x in X]
    a1 = [[math.tanh(v) for v in row] for row in z1]
    z2 = [[sum(w2[k][j] * a[j] for j in range(2)) + b2[k] for k in range(2)] for a in a1]
    probs = []
    for row in z2:
        e = [math.exp(v) for v in row]
        probs.append([v / sum(e) for v in e])
    terms = [-math.log(p[y]) for p, y in zip(probs, Y)]
    loss = sum(terms) / n
    # dL/dz2 = (p - onehot) / n: the softmax's and the log's derivatives, and the mean.
    dz2 = [[(p[k] - (1.0 if k == y else 0.0)) / n for k in range(2)] for p, y in zip(probs, Y)]
    dw2 = [[sum(dz2[s][k] * a1[s][j] for s in range(n)) for j in range(2)] for k in range(2)]
    db2 = [sum(dz2[s][k] for s in range(n)) for k in range(2)]
    da1 = [[sum(dz2[s][k] * w2[k][j] for k in range(2)) for j in range(2)] for s in range(n)]
    dz1 = [[da1[s][j] * (1 - a1[s][j] ** 2) for j in range(2)] for s in range(n)]  # tanh' = 1-a^2
    dw1 = [[sum(dz1[s][j] * X[s][i] for s in range(n)) for i in range(2)] for j in range(2)]
    db1 = [sum(dz1[s][j] for s in range(n)) for j in range(2)]
    return {
        "z1": z1, "a1": a1, "z2": z2, "probs": probs, "terms": terms, "loss": loss,
        "dz2": dz2, "da1": da1, "dz1": dz1, "dw1": dw1, "db1": db1, "dw2": dw2, "db2": db2,
    }  # fmt: skip


def fixed_net(optimizer: str) -> HandNet:
    net = HandNet((2, 2, 2), "tanh", optimizer, LR, seed=0)
    hidden, head = net.layers()
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor(W1))
        hidden.bias.copy_(torch.tensor(B1))
        head.weight.copy_(torch.tensor(W2))
        head.bias.copy_(torch.tensor(B2))
    return net


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(X), torch.tensor(Y)


def close(tensor: torch.Tensor, expected, tol: float = 1e-5) -> None:
    got = torch.as_tensor(tensor, dtype=torch.float64)
    want = torch.as_tensor(expected, dtype=torch.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert torch.allclose(got, want, atol=tol, rtol=tol), (got, want)


# --- against the hand computation ----------------------------------------------------------------


def test_forward_loss_and_backward_match_the_hand_computation():
    rec = fixed_net("sgd").step(*batch())
    hand = hand_step(W1, B1, W2, B2)
    hidden, out = rec.layers
    close(hidden.inputs, X)
    close(hidden.z, hand["z1"])
    close(hidden.a, hand["a1"])
    close(out.inputs, hand["a1"])
    close(out.z, hand["z2"])
    close(out.a, hand["z2"])  # no activation at the output: the logits
    close(rec.logits, hand["z2"])
    close(rec.probs, hand["probs"])
    close(rec.terms, hand["terms"])
    assert rec.loss == pytest.approx(hand["loss"], abs=1e-6)
    close(out.grad_z, hand["dz2"])
    close(hidden.grad_a, hand["da1"])
    close(hidden.slope, [[1 - a**2 for a in row] for row in hand["a1"]])
    close(hidden.grad_z, hand["dz1"])
    close(hidden.weight.grad, hand["dw1"])
    close(hidden.bias.grad, hand["db1"])
    close(out.weight.grad, hand["dw2"])
    close(out.bias.grad, hand["db2"])
    close(hidden.weight.before, W1)
    assert [layer.name for layer in rec.layers] == ["hidden1", "output"]
    assert rec.step == 1 and rec.batch == 2 and rec.sizes == (2, 2, 2)


def test_the_chain_rule_for_one_hidden_weight_by_hand():
    """dL/dw for x2→h1 (w1[0][1]), written out as the page writes it."""
    rec = fixed_net("sgd").step(*batch())
    hand = hand_step(W1, B1, W2, B2)
    chain = chain_rule(rec, 0, 0, 1)
    assert chain.name == "x2→h1"
    # dL/da_h1 = sum_k dL/dz_k * w_k,h1, for each sample
    da = [hand["dz2"][s][0] * W2[0][0] + hand["dz2"][s][1] * W2[1][0] for s in range(2)]
    slope = [1 - hand["a1"][s][0] ** 2 for s in range(2)]
    dz = [da[s] * slope[s] for s in range(2)]
    terms = [dz[s] * X[s][1] for s in range(2)]
    close(chain.next_weight, [W2[0][0], W2[1][0]])
    close(chain.next_grad_z, hand["dz2"])
    close(chain.grad_a, da)
    close(chain.slope, slope)
    close(chain.grad_z, dz)
    close(chain.inputs, [X[0][1], X[1][1]])
    close(chain.terms, terms)
    assert chain.value == pytest.approx(sum(terms), abs=1e-6)
    assert chain.value == pytest.approx(hand["dw1"][0][1], abs=1e-6)
    assert chain.autograd == pytest.approx(hand["dw1"][0][1], abs=1e-6)


def test_the_chain_rule_for_one_output_weight_by_hand():
    """dL/dw for h2→o1: (p_o1 - y_o1) / 2 * a_h2, summed over the two samples."""
    rec = fixed_net("sgd").step(*batch())
    hand = hand_step(W1, B1, W2, B2)
    chain = chain_rule(rec, 1, 1, 1)
    assert chain.name == "h2→o1"
    p = [hand["probs"][s][1] for s in range(2)]
    y = [1.0 if Y[s] == 1 else 0.0 for s in range(2)]
    terms = [(p[s] - y[s]) / 2 * hand["a1"][s][1] for s in range(2)]
    close(chain.probs, p)
    close(chain.targets, y)
    close(chain.terms, terms)
    assert chain.grad_a is None and chain.slope is None
    assert chain.value == pytest.approx(hand["dw2"][1][1], abs=1e-6)


def sub(w, g, lr):
    """w - lr * g, elementwise over nested lists."""
    if isinstance(w, list):
        return [sub(a, b, lr) for a, b in zip(w, g)]
    return w - lr * g


def test_sgd_update_is_w_minus_lr_g():
    rec = fixed_net("sgd").step(*batch())
    hand = hand_step(W1, B1, W2, B2)
    hidden, out = rec.layers
    close(hidden.weight.after, sub(W1, hand["dw1"], LR))
    close(hidden.bias.after, sub(B1, hand["db1"], LR))
    close(out.weight.after, sub(W2, hand["dw2"], LR))
    close(out.bias.after, sub(B2, hand["db2"], LR))
    assert hidden.weight.state == {} and hidden.weight.state_before == {}
    assert rec.optimizer == "sgd" and rec.lr == pytest.approx(LR)


def test_momentum_buffer_over_two_steps():
    """buf_1 = g_1, w_1 = w_0 - lr buf_1; buf_2 = 0.9 buf_1 + g_2, w_2 = w_1 - lr buf_2."""
    net = fixed_net("momentum")
    first, second = net.step(*batch()), net.step(*batch())
    g1 = hand_step(W1, B1, W2, B2)
    w1, b1 = sub(W1, g1["dw1"], LR), sub(B1, g1["db1"], LR)
    w2, b2 = sub(W2, g1["dw2"], LR), sub(B2, g1["db2"], LR)
    close(first.layers[0].weight.state["buffer"], g1["dw1"])
    close(first.layers[0].weight.after, w1)
    assert first.layers[0].weight.state_before == {}
    assert first.momentum == pytest.approx(0.9)
    g2 = hand_step(w1, b1, w2, b2)
    assert second.loss == pytest.approx(g2["loss"], abs=1e-6)
    buf = [[0.9 * g1["dw2"][k][j] + g2["dw2"][k][j] for j in range(2)] for k in range(2)]
    close(second.layers[1].weight.state_before["buffer"], g1["dw2"])
    close(second.layers[1].weight.state["buffer"], buf)
    close(second.layers[1].weight.after, sub(w2, buf, LR))


def adam(w, g, m, v, t, lr=LR, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step of one number: (new w, m, v, m_hat, v_hat)."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return w - lr * m_hat / (math.sqrt(v_hat) + eps), m, v, m_hat, v_hat


def test_adam_moments_and_update_over_two_steps():
    net = fixed_net("adam")
    first, second = net.step(*batch()), net.step(*batch())
    assert first.betas == pytest.approx((0.9, 0.999)) and first.eps == pytest.approx(1e-8)
    g1 = hand_step(W1, B1, W2, B2)
    # step 1, every weight of the hidden layer: m = 0.1 g, v = 0.001 g^2, m_hat = g,
    # v_hat = g^2, so w moves by lr * g / (|g| + eps): almost exactly lr, against g's sign
    new = [[adam(W1[j][i], g1["dw1"][j][i], 0.0, 0.0, 1) for i in range(2)] for j in range(2)]
    hidden = first.layers[0].weight
    for name, index in (("m", 1), ("v", 2), ("m_hat", 3), ("v_hat", 4)):
        close(hidden.state[name], [[n[index] for n in row] for row in new])
    close(hidden.after, [[n[0] for n in row] for row in new])
    close(hidden.state["m_hat"], g1["dw1"])
    assert hidden.state_before == {}
    # step 2 of the output layer's weights and biases, from the hand's own first step
    w_1 = [[adam(W2[k][j], g1["dw2"][k][j], 0.0, 0.0, 1) for j in range(2)] for k in range(2)]
    b_1 = [adam(B2[k], g1["db2"][k], 0.0, 0.0, 1) for k in range(2)]
    g2 = hand_step(
        [[n[0] for n in row] for row in new],
        [adam(B1[j], g1["db1"][j], 0.0, 0.0, 1)[0] for j in range(2)],
        [[n[0] for n in row] for row in w_1],
        [n[0] for n in b_1],
    )
    assert second.loss == pytest.approx(g2["loss"], abs=1e-6)
    w_2 = [
        [adam(w_1[k][j][0], g2["dw2"][k][j], w_1[k][j][1], w_1[k][j][2], 2) for j in range(2)]
        for k in range(2)
    ]
    out = second.layers[1].weight
    close(out.state_before["m"], [[n[1] for n in row] for row in w_1])
    close(out.state_before["v"], [[n[2] for n in row] for row in w_1])
    for name, index in (("m", 1), ("v", 2), ("m_hat", 3), ("v_hat", 4)):
        close(out.state[name], [[n[index] for n in row] for row in w_2])
    close(out.after, [[n[0] for n in row] for row in w_2])
    b_2 = [adam(b_1[k][0], g2["db2"][k], b_1[k][1], b_1[k][2], 2) for k in range(2)]
    close(second.layers[1].bias.after, [n[0] for n in b_2])


# --- against plain autograd ----------------------------------------------------------------------

ACTS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "gelu": F.gelu}


def plain_autograd(record):
    """The record's weights (before the update) in a forward and backward of plain torch ops."""
    params = [
        (
            layer.weight.before.clone().requires_grad_(True),
            layer.bias.before.clone().requires_grad_(True),
        )
        for layer in record.layers
    ]
    return params


def check_against_autograd(record, activation: str) -> None:
    params = plain_autograd(record)
    h = record.x
    zs, as_ = [], []
    for k, (w, b) in enumerate(params):
        z = h @ w.T + b
        z.retain_grad()
        zs.append(z)
        if k < len(params) - 1:
            h = ACTS[activation](z)
            h.retain_grad()
            as_.append(h)
        else:
            h = z
    loss = F.cross_entropy(h, record.y)
    loss.backward()
    assert record.loss == pytest.approx(float(loss.detach()), abs=1e-6)
    close(record.probs, torch.softmax(h.detach(), 1))
    close(record.terms, -torch.log_softmax(h.detach(), 1)[torch.arange(record.batch), record.y])
    close(record.terms.mean(), loss.detach())
    for k, layer in enumerate(record.layers):
        w, b = params[k]
        close(layer.z, zs[k].detach())
        close(layer.grad_z, zs[k].grad)
        close(layer.weight.grad, w.grad)
        close(layer.bias.grad, b.grad)
        if layer.hidden:
            close(layer.a, as_[k].detach())
            close(layer.grad_a, as_[k].grad)
            close(record.layers[k + 1].inputs, as_[k].detach())
            # f'(z): the activation's slope, by autograd of the plain function alone
            z = zs[k].detach().clone().requires_grad_(True)
            ACTS[activation](z).sum().backward()
            close(layer.slope, z.grad)
        else:
            close(layer.a, layer.z)
    close(record.layers[0].inputs, record.x)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu"])
@pytest.mark.parametrize("size", ["2-3-2", "2-4-4-2"])
def test_every_number_matches_plain_autograd(size, activation):
    x = torch.tensor([[0.3, -1.2], [1.1, 0.4], [-0.7, 0.2], [0.5, 0.9]])
    y = torch.tensor([0, 1, 0, 1])
    net = HandNet(SIZES[size], activation, "adam", 0.05, seed=3)
    for _ in range(2):
        record = net.step(x, y)
        check_against_autograd(record, activation)
        for layer, j, i in weights(record.sizes):
            chain = chain_rule(record, layer, j, i)
            # the chain rule's product is autograd's gradient, and its parts are the recorded ones
            assert chain.value == pytest.approx(chain.autograd, abs=1e-6), chain.name
            close(chain.grad_z, record.layers[layer].grad_z[:, j])
            if chain.grad_a is not None:
                close(chain.grad_a, record.layers[layer].grad_a[:, j])


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_three_steps_carry_the_optimizer_state_as_a_plain_loop_does(optimizer):
    x = torch.tensor([[0.3, -1.2], [1.1, 0.4], [-0.7, 0.2], [0.5, 0.9]])
    y = torch.tensor([0, 1, 0, 1])
    net = HandNet((2, 4, 4, 2), "tanh", optimizer, 0.1, seed=1)
    # the plain loop: a copy of the same network, torch's optimizer built here
    plain = copy.deepcopy(net.model)
    params = list(plain.parameters())
    opt = {
        "sgd": lambda: torch.optim.SGD(params, lr=0.1),
        "momentum": lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9),
        "adam": lambda: torch.optim.Adam(params, lr=0.1),
    }[optimizer]()
    records = []
    for step in range(1, 4):
        opt.zero_grad()
        F.cross_entropy(plain(x), y).backward()
        opt.step()
        record = net.step(x, y)
        records.append(record)
        assert record.step == step
        plain_layers = [m for _, m in plain.weight_layers()]
        for layer, ref in zip(record.layers, plain_layers):
            close(layer.weight.after, ref.weight.detach(), tol=1e-6)
            close(layer.bias.after, ref.bias.detach(), tol=1e-6)
            close(layer.weight.grad, ref.weight.grad, tol=1e-6)
            state = opt.state[ref.weight]
            if optimizer == "momentum":
                close(layer.weight.state["buffer"], state["momentum_buffer"])
            if optimizer == "adam":
                assert int(state["step"]) == step
                close(layer.weight.state["m"], state["exp_avg"])
                close(layer.weight.state["v"], state["exp_avg_sq"])
                close(layer.weight.state["m_hat"], state["exp_avg"] / (1 - 0.9**step))
                close(layer.weight.state["v_hat"], state["exp_avg_sq"] / (1 - 0.999**step))
    # each step starts where the last one ended: its weights, and its optimizer state
    for prev, nxt in zip(records, records[1:]):
        for a, b in zip(prev.layers, nxt.layers):
            close(b.weight.before, a.weight.after, tol=0)
            for name, value in b.weight.state_before.items():
                close(value, a.weight.state[name], tol=0)
            assert set(b.weight.state_before) == (
                set()
                if optimizer == "sgd"
                else {"buffer"}
                if optimizer == "momentum"
                else {"m", "v"}
            )
    assert records[-1].loss < records[0].loss  # the same batch, three steps: the loss falls


# --- the network, the batch, the names -----------------------------------------------------------


def test_the_network_is_the_playgrounds_mlp_with_that_seed():
    net = HandNet((2, 3, 2), "relu", "sgd", 0.1, seed=7)
    ref = build_model(ModelConfig(arch="mlp", hidden=(3,), activation="relu"), (2,), 2, seed=7)
    for a, b in zip(net.model.state_dict().values(), ref.state_dict().values()):
        assert torch.equal(a, b)
    again = HandNet((2, 3, 2), "relu", "adam", 0.5, seed=7)
    assert torch.equal(again.layers()[0].weight, net.layers()[0].weight)
    with pytest.raises(ValueError, match="optimizer"):
        HandNet((2, 3, 2), "relu", "adamw", 0.1)


def test_pick_batch_takes_the_first_points_of_each_class_in_turn():
    x = torch.arange(20, dtype=torch.float32).reshape(10, 2)
    y = torch.tensor([1, 1, 0, 1, 0, 0, 1, 0, 1, 0])
    xb, yb = pick_batch(x, y, 4)
    assert yb.tolist() == [0, 1, 0, 1]
    assert xb.tolist() == [x[2].tolist(), x[0].tolist(), x[4].tolist(), x[1].tolist()]
    xb, yb = pick_batch(x, y, 2)
    assert yb.tolist() == [0, 1] and xb.tolist() == [x[2].tolist(), x[0].tolist()]
    with pytest.raises(ValueError, match="even"):
        pick_batch(x, y, 3)
    with pytest.raises(ValueError, match="class 0 has 1 point; the batch needs 2"):
        pick_batch(x[:3], torch.tensor([0, 1, 1]), 4)


def test_unit_and_weight_names():
    assert unit_names((2, 3, 2)) == [["x1", "x2"], ["h1", "h2", "h3"], ["o0", "o1"]]
    assert unit_names((2, 4, 4, 2))[2] == ["h2.1", "h2.2", "h2.3", "h2.4"]
    assert weight_name((2, 3, 2), 0, 2, 1) == "x2→h3"
    assert weight_name((2, 4, 4, 2), 1, 0, 3) == "h1.4→h2.1"
    assert len(weights((2, 4, 4, 2))) == 8 + 16 + 8
    assert weights((2, 3, 2))[0] == (0, 0, 0)
