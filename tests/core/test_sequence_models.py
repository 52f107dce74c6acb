"""The sequence models (dlviz.models.sequence, .transformer) and their recording, checked
against plain torch (nn.LSTM, nn.GRU, nn.RNN, F.scaled_dot_product_attention) and by hand."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlviz.config import ModelConfig
from dlviz.data import SequenceInfo
from dlviz.models import build_model, count_parameters, parameter_count
from dlviz.models.recording import recording

VOCAB = tuple("_abcdefg")  # id 0 pads class tasks
ARCHS = ("rnn", "lstm", "gru", "cnn1d", "transformer", "bow")
RECURRENT = {"rnn": (nn.RNN, 1), "lstm": (nn.LSTM, 4), "gru": (nn.GRU, 3)}


def make_spec(task: str, causal: bool = False) -> SequenceInfo:
    if task == "forecast":
        return SequenceInfo("forecast", horizon=3)
    return SequenceInfo(task, VOCAB, pad=0 if task == "class" else -1, causal=causal)


def make(arch: str, task: str = "class", T: int = 6, n: int = 4, causal: bool = False, **kw):
    cfg = ModelConfig(arch=arch, **{"hidden_size": 8, "layers": 2, **kw})
    shape = (T, 1) if task == "forecast" else (T,)
    n = 3 if task == "forecast" else n
    model = build_model(cfg, shape, n, seed=0, spec=make_spec(task, causal))
    return model.eval(), cfg, shape, n


def tokens(B: int, T: int, pads: tuple[int, ...] = (), seed: int = 0) -> torch.Tensor:
    """(B, T) ids 1..7, row i left-padded with pads[i] zeros."""
    x = torch.randint(1, len(VOCAB), (B, T), generator=torch.Generator().manual_seed(seed))
    for i, p in enumerate(pads):
        x[i, :p] = 0
    return x


def inputs(task: str, B: int = 3, T: int = 6) -> torch.Tensor:
    if task == "forecast":
        return torch.randn(B, T, 1, generator=torch.Generator().manual_seed(0))
    return tokens(B, T, (2, 0, 5) if task == "class" else ())


def cases():
    return [
        (a, t) for a in ARCHS for t in ("class", "tokens", "forecast") if a != "bow" or t == "class"
    ]


@pytest.mark.parametrize("kind", list(RECURRENT))
def test_step_path_equals_torch_with_the_same_weights(kind):
    model, cfg, _, _ = make(kind, "tokens", causal=True, hidden_size=5)
    torch_cls, _ = RECURRENT[kind]
    ref = torch_cls(5, 5, num_layers=2, batch_first=True)
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(ref, f"{w}_l{i}").copy_(getattr(layer.rnn, f"{w}_l0"))
    x = tokens(3, 7)
    with torch.no_grad(), recording(model) as rec:
        model(x)
        out, final = ref(model.embed(x))
    h_n, c_n = final if kind == "lstm" else (final, None)
    torch.testing.assert_close(rec.layers[-1].states, out, atol=1e-5, rtol=0)
    for i, trace in enumerate(rec.layers):
        torch.testing.assert_close(trace.states[:, -1], h_n[i], atol=1e-5, rtol=0)
        if c_n is not None:
            torch.testing.assert_close(trace.cells[:, -1], c_n[i], atol=1e-5, rtol=0)


def test_recorded_gates_equal_gates_by_hand():
    model, *_ = make("lstm", "tokens", causal=True, layers=1, hidden_size=4)
    x, t, H = tokens(2, 6), 3, 4
    with torch.no_grad(), recording(model) as rec:
        model(x)
    trace, p = rec.layers[0], model.layers[0].rnn
    e, h_prev, c_prev = model.embed(x)[:, t], trace.states[:, t - 1], trace.cells[:, t - 1]

    def pre(rows: slice) -> torch.Tensor:  # one gate's pre-activation, from the weights
        return (
            e @ p.weight_ih_l0[rows].T + p.bias_ih_l0[rows]
            + h_prev @ p.weight_hh_l0[rows].T + p.bias_hh_l0[rows]
        )  # fmt: skip

    with torch.no_grad():
        i, f = torch.sigmoid(pre(slice(0, H))), torch.sigmoid(pre(slice(H, 2 * H)))
        g, o = torch.tanh(pre(slice(2 * H, 3 * H))), torch.sigmoid(pre(slice(3 * H, 4 * H)))
    for name, value in {"input": i, "forget": f, "cell": g, "output": o}.items():
        torch.testing.assert_close(trace.gates[name][:, t], value, atol=1e-6, rtol=0)
    torch.testing.assert_close(trace.cells[:, t], f * c_prev + i * g, atol=1e-6, rtol=0)
    torch.testing.assert_close(trace.states[:, t], o * torch.tanh(f * c_prev + i * g))
    for name in ("input", "forget", "output"):
        assert 0 <= trace.gates[name].min() and trace.gates[name].max() <= 1


def test_recorded_gru_gates_are_in_range_and_rebuild_the_state():
    model, *_ = make("gru", "tokens", causal=True, layers=1)
    with torch.no_grad(), recording(model) as rec:
        model(tokens(2, 6))
    trace = rec.layers[0]
    z, n, h = trace.gates["update"], trace.gates["new"], trace.states
    assert set(trace.gates) == {"reset", "update", "new"} and n.abs().max() <= 1
    # h_t = (1 - z_t) n_t + z_t h_{t-1}
    torch.testing.assert_close(h[:, 1:], (1 - z[:, 1:]) * n[:, 1:] + z[:, 1:] * h[:, :-1])


@pytest.mark.parametrize("arch, task", cases())
def test_fused_and_recording_paths_agree_with_the_right_shapes(arch, task):
    model, _, _, n = make(arch, task, causal=task == "tokens")
    x = inputs(task)
    with torch.no_grad():
        fused = model(x)
        with recording(model) as rec:
            observed = model(x)
    assert fused.shape == ((3, 6, n) if task == "tokens" else (3, n))
    torch.testing.assert_close(observed, fused, atol=1e-5, rtol=0)
    assert [t.name for t in rec.layers] == model.layer_names()
    steps = 1 if arch == "bow" else 6
    assert all(t.states.shape == (3, steps, 8) for t in rec.layers)
    names = [name for name, _ in model.weight_layers()]
    assert names == ["embed", *model.layer_names(), "head"]
    assert all(isinstance(m.weight, nn.Parameter) for _, m in model.weight_layers())


@pytest.mark.parametrize("causal", [False, True])
def test_explicit_attention_equals_sdpa(causal):
    model, *_ = make("transformer", "class", T=7, causal=causal, heads=2)
    x = tokens(3, 7, (3, 0, 1))
    real = x != 0
    block = model.layers[0]
    seen = {}
    hook = block.register_forward_pre_hook(lambda m, args: seen.update(h=args[0]))
    with torch.no_grad(), recording(model) as rec:
        model(x)
    hook.remove()
    with torch.no_grad():  # the reference, from the block's own projections
        q, k, v = block.attn.qkv(block.ln1(seen["h"])).split(8, dim=2)
        q, k, v = (t.view(3, 7, 2, 4).transpose(1, 2) for t in (q, k, v))
        mask = real[:, None, None, :].expand(3, 1, 7, 7)
        if causal:
            mask = mask & torch.ones(7, 7, dtype=torch.bool).tril()
        ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, nh, T, hs)
    att = rec.layers[0].attention  # (B, nh, T, T)
    assert att.shape == (3, 2, 7, 7)
    rows = real[:, None, :, None]  # compare real queries (a pad query reads itself only)
    torch.testing.assert_close((att @ v) * rows, ref.nan_to_num() * rows, atol=1e-5, rtol=0)
    for trace in rec.layers:
        torch.testing.assert_close(trace.attention.sum(-1), torch.ones(3, 2, 7))
        assert (trace.attention * rows * ~real[:, None, None, :]).abs().max() == 0  # pad keys
        if causal:
            assert trace.attention.triu(1).abs().max() == 0


def test_bptt_state_gradients_by_hand():
    model, *_ = make("rnn", "class", T=5, n=2, layers=1, hidden_size=3)
    x, w = tokens(2, 5, seed=3), torch.tensor([0.7, -1.3])
    with recording(model, grads=True) as rec:
        (model(x) * w).sum().backward()
    h, grads = rec.layers[0].states, rec.layers[0].state_grads  # (B, T, H)
    W_hh = model.layers[0].rnn.weight_hh_l0.detach()
    delta = [None] * 5
    delta[4] = (w @ model.head.weight.detach()).expand(2, 3)  # the direct term: L reads h_T
    for t in range(3, -1, -1):  # δ_t = W_hhᵀ (δ_{t+1} ⊙ (1 − h_{t+1}²))
        delta[t] = (delta[t + 1] * (1 - h[:, t + 1] ** 2)) @ W_hh
    torch.testing.assert_close(grads, torch.stack(delta, dim=1), atol=1e-6, rtol=1e-5)
    assert grads[:, 0].abs().sum() > 0  # the gradient reached the first step


def test_transformer_states_get_their_gradients():
    model, *_ = make("transformer", "class")
    with recording(model, grads=True) as rec:
        model(inputs("class")).sum().backward()
        assert rec.layers[0].state_grads is None  # filled when the block ends
    assert all(t.state_grads.shape == (3, 6, 8) for t in rec.layers)


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_forget_bias_is_set(arch):
    # the memory gate: the LSTM's forget gate (rows 4:8 of i, f, g, o) and the GRU's update
    # gate (rows 4:8 of r, z, n; torch's GRU keeps z of the old state)
    model, *_ = make(arch, hidden_size=4, forget_bias=2.5)
    for layer in model.layers:
        b_ih, b_hh = layer.rnn.bias_ih_l0.detach(), layer.rnn.bias_hh_l0.detach()
        assert torch.all(b_ih[4:8] == 2.5) and torch.all(b_hh[4:8] == 0)
        assert (b_ih[:4] != 2.5).all() and (b_hh[:4] != 0).all()  # the other gates untouched


def test_an_open_update_gate_keeps_the_gru_state():
    # by hand: with a zero input and zero recurrent weights, z = sigmoid(bias) of the old state
    # is kept each step, so a state decays by that factor
    model, *_ = make("gru", hidden_size=4, forget_bias=3.0)
    layer = model.layers[0]
    with torch.no_grad():
        for name, p in layer.rnn.named_parameters():
            if name.startswith("weight"):
                p.zero_()
        h0 = torch.ones(1, 1, 4)
        out, _ = layer.rnn(torch.zeros(1, 1, layer.rnn.input_size), h0)
    z = torch.sigmoid(torch.tensor(3.0))
    n = torch.tanh(
        layer.rnn.bias_ih_l0[8:]
        + torch.sigmoid(layer.rnn.bias_ih_l0[:4] + layer.rnn.bias_hh_l0[:4])
        * layer.rnn.bias_hh_l0[8:]
    )
    assert torch.allclose(out[0, 0], (1 - z) * n + z * 1.0, atol=1e-6)


def expected_parameters(arch: str, V: int, H: int, L: int, T: int, n: int, k: int = 3) -> int:
    embed, head = V * H, H * n + n
    if arch in RECURRENT:  # gates x (H*I + H*H + 2H), I = H
        return embed + L * RECURRENT[arch][1] * (H * H + H * H + 2 * H) + head
    if arch == "cnn1d":
        return embed + L * (H * H * k + H) + head
    if arch == "bow":
        return embed + H * H + H + head
    block = (
        2 * H + (3 * H * H + 3 * H) + (H * H + H) + 2 * H + (4 * H * H + 4 * H) + (4 * H * H + H)
    )
    return embed + T * H + L * block + 2 * H + head


@pytest.mark.parametrize("arch", ARCHS)
def test_parameter_counts_follow_the_textbook(arch):
    model, cfg, shape, n = make(arch, T=6, n=4, layers=3, hidden_size=8)
    expected = expected_parameters(arch, len(VOCAB), 8, 3, 6, 4)
    assert count_parameters(model) == expected
    assert parameter_count(cfg, shape, n, make_spec("class")) == expected  # on the meta device


def test_sinusoidal_positions_have_no_parameters():
    learned, *_ = make("transformer", T=6)
    fixed, *_ = make("transformer", T=6, positions="sinusoidal")
    assert count_parameters(learned) - count_parameters(fixed) == 6 * 8
    table = fixed.pos_table  # (T, C): sin on even columns, cos on odd ones
    assert table[3, 0] == pytest.approx(math.sin(3)) and table[3, 1] == pytest.approx(math.cos(3))


def test_head_mask_silences_one_head():
    model, *_ = make("transformer", "tokens", causal=True, heads=2)  # 2 heads of width 4
    x = inputs("tokens")
    with torch.no_grad():
        before = model(x)
        model.head_mask[0, 1] = 0.0
        fused = model(x)
        with recording(model):
            observed = model(x)
        # the same, by hand: block1's output projection no longer reads head 2's 4 columns
        model.head_mask.fill_(1.0)
        torch.testing.assert_close(model(x), before)  # all ones: as built
        model.layers[0].attn.proj.weight[:, 4:8] = 0
        by_hand = model(x)
    assert (fused - before).abs().max() > 1e-4
    torch.testing.assert_close(fused, by_hand, atol=1e-6, rtol=0)
    torch.testing.assert_close(observed, fused, atol=1e-5, rtol=0)
    assert "head_mask" not in model.state_dict()


@pytest.mark.parametrize("arch", ["transformer", "cnn1d", "lstm"])
def test_causal_models_do_not_look_ahead(arch):
    model, *_ = make(arch, "tokens", T=8, causal=True)
    x = tokens(2, 8)
    y = x.clone()
    y[:, 5:] = (y[:, 5:] % 7) + 1  # other tokens after position 4
    with torch.no_grad():
        a, b = model(x), model(y)
    torch.testing.assert_close(a[:, :5], b[:, :5], atol=1e-6, rtol=0)
    assert (a[:, 5:] - b[:, 5:]).abs().max() > 1e-5


def test_cnn1d_receptive_field_doubles_with_dilation():
    model, *_ = make("cnn1d", "tokens", T=20, layers=3, kernel=3)  # dilations 1, 2, 4
    assert model.receptive_field() == 1 + 2 * (1 + 2 + 4)
    x = tokens(1, 20)
    with torch.no_grad():
        base = model(x)[0, 19]
        for where, changes in ((19 - 14, True), (19 - 15, False)):
            y = x.clone()
            y[0, where] = y[0, where] % 7 + 1
            assert bool((model(y)[0, 19] - base).abs().max() > 1e-6) == changes


@pytest.mark.parametrize("arch", ["transformer", "bow", "rnn", "lstm", "gru", "cnn1d"])
def test_more_left_padding_changes_nothing(arch):
    model, *_ = make(arch, "class", T=10)
    short = tokens(3, 8, (2, 0, 5))
    longer = torch.cat([torch.zeros(3, 2, dtype=torch.long), short], dim=1)  # two pads more
    with torch.no_grad():
        a, b = model(short), model(longer)
        with recording(model):
            c = model(longer)
    torch.testing.assert_close(b, a, atol=1e-5, rtol=0)
    torch.testing.assert_close(c, a, atol=1e-5, rtol=0)


def test_recording_leaves_nothing_behind():
    model, *_ = make("lstm", dropout=0.2)
    model.train()
    with pytest.raises(KeyError), recording(model) as rec:
        model(inputs("class"))
        with pytest.raises(RuntimeError, match="already"), recording(model):
            pass
        rec.layer("no such layer")
    assert model.training and model._recording is None
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    with pytest.raises(TypeError, match="cannot be recorded"), recording(nn.Linear(2, 2)):
        pass


def test_activation_points_give_each_layers_states():
    model, *_ = make("gru", "class")
    seen = {}
    hooks = [
        m.register_forward_hook(lambda m, a, out, name=name: seen.update({name: out}))
        for name, m in model.activation_points()
    ]
    with torch.no_grad():
        model(inputs("class"))
    for h in hooks:
        h.remove()
    assert list(seen) == ["gru1", "gru2"] and seen["gru2"].shape == (3, 6, 8)
    assert model.weight_layers()[1][1].weight is model.layers[0].rnn.weight_hh_l0


def test_a_tiny_lstm_learns_to_carry_the_first_token_to_the_end():
    torch.manual_seed(0)
    cfg = ModelConfig(arch="lstm", hidden_size=16, layers=1)
    spec = SequenceInfo("class", tuple("abcd"))
    model = build_model(cfg, (10,), 4, seed=0, spec=spec)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    gen = torch.Generator().manual_seed(1)
    for _ in range(300):
        x = torch.randint(0, 4, (64, 10), generator=gen)
        loss = F.cross_entropy(model(x), x[:, 0])
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.randint(0, 4, (500, 10), generator=gen)
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == x[:, 0]).float().mean().item()
    assert accuracy > 0.9  # chance is 0.25: it carried the first token across 9 steps
