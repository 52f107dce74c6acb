import pytest
import torch
from torch import nn

from dlviz.config import ModelConfig
from dlviz.models import (
    SeededDropout,
    build_model,
    count_parameters,
    layer_table,
    parameter_count,
    set_dropout_generator,
)


def mlp(**kw):
    return build_model(ModelConfig(**kw), (2,), 2, seed=0)


@pytest.mark.parametrize(
    "kw, expected",
    [
        # (in*out + out) per linear layer, counted by hand
        ({"hidden": (8,)}, (2 * 8 + 8) + (8 * 2 + 2)),  # 42
        ({"hidden": (8, 8)}, (2 * 8 + 8) + (8 * 8 + 8) + (8 * 2 + 2)),  # 114
        ({"hidden": (8, 8, 8)}, 24 + 72 + 72 + 18),  # 186, the Playground default
        ({"hidden": (16, 4)}, (2 * 16 + 16) + (16 * 4 + 4) + (4 * 2 + 2)),  # 126
        # batch / layer norm: a scale and a shift per unit
        ({"hidden": (8, 8), "norm": "batch"}, 114 + 2 * 8 * 2),
        ({"hidden": (8, 8), "norm": "layer"}, 114 + 2 * 8 * 2),
        # residual: identity shortcut when widths match (no parameters) ...
        ({"hidden": (8, 8), "residual": True}, 114),
        # ... a bias-free projection when they do not (16 * 4); never on the first layer
        ({"hidden": (16, 4), "residual": True}, 126 + 16 * 4),
        ({"hidden": (8,), "residual": True}, 42),
        ({"hidden": (8, 8), "dropout": 0.5}, 114),
    ],
)
def test_parameter_counts_match_a_hand_count(kw, expected):
    assert count_parameters(mlp(**kw)) == expected


def test_mlp_equals_the_same_network_written_in_plain_torch():
    model = mlp(hidden=(8, 4), activation="tanh")
    ref = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 4), nn.Tanh(), nn.Linear(4, 2))
    with torch.no_grad():
        for dst, src in zip(
            [ref[0], ref[2], ref[4]], [model.blocks[0].linear, model.blocks[1].linear, model.head]
        ):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
    x = torch.randn(17, 2)
    torch.testing.assert_close(model(x), ref(x))


def test_residual_block_adds_its_input_by_hand():
    model = mlp(hidden=(4, 4, 3), residual=True)
    x = torch.randn(5, 2)
    b0, b1, b2 = model.blocks
    with torch.no_grad():
        h0 = torch.relu(x @ b0.linear.weight.T + b0.linear.bias)  # first layer: no shortcut
        h1 = h0 + torch.relu(h0 @ b1.linear.weight.T + b1.linear.bias)  # identity shortcut
        h2 = h1 @ b2.skip.weight.T + torch.relu(h1 @ b2.linear.weight.T + b2.linear.bias)
        out = h2 @ model.head.weight.T + model.head.bias
        torch.testing.assert_close(model(x), out)


def test_output_shape_and_named_layers_input_to_output():
    model = mlp(hidden=(8, 8, 8))
    assert model(torch.randn(3, 2)).shape == (3, 2)
    assert [n for n, _ in model.weight_layers()] == ["hidden1", "hidden2", "hidden3", "output"]
    assert [n for n, _ in model.activation_points()] == ["hidden1", "hidden2", "hidden3"]
    rows = layer_table(model)
    assert [r["params"] for r in rows] == [24, 72, 72, 18]


def test_seeded_build_is_reproducible_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = build_model(ModelConfig(hidden=(8, 8)), (2,), 2, seed=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    b = build_model(ModelConfig(hidden=(8, 8)), (2,), 2, seed=5)
    c = build_model(ModelConfig(hidden=(8, 8)), (2,), 2, seed=6)
    for (_, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_unknown_architecture_is_a_clear_error():
    cfg = ModelConfig()
    object.__setattr__(cfg, "arch", "nonesuch")
    with pytest.raises(KeyError, match="unknown model 'nonesuch'; known models: mlp"):
        build_model(cfg, (2,), 2)


def test_seeded_dropout_masks_follow_their_generator():
    drop = SeededDropout(0.5)
    x = torch.ones(1000)
    drop.generator = torch.Generator().manual_seed(0)
    a = drop(x)
    drop.generator = torch.Generator().manual_seed(0)
    b = drop(x)
    assert torch.equal(a, b)
    assert set(a.unique().tolist()) == {0.0, 2.0}  # kept units are scaled by 1 / (1 - p)
    assert 0.4 < (a == 0).float().mean() < 0.6
    drop.eval()
    assert torch.equal(drop(x), x)


def test_dropout_generator_is_set_on_every_dropout_module():
    model = mlp(hidden=(8, 8), dropout=0.3)
    g = torch.Generator()
    set_dropout_generator(model, g)
    drops = [m for m in model.modules() if isinstance(m, SeededDropout)]
    assert len(drops) == 2 and all(m.generator is g for m in drops)
    set_dropout_generator(model, None)
    assert all(m.generator is None for m in drops)


def test_parameter_count_without_building_matches_the_built_model():
    for kw in ({"hidden": (8, 8, 8)}, {"hidden": (16, 4), "residual": True, "norm": "batch"}):
        cfg = ModelConfig(**kw)
        assert parameter_count(cfg, (2,), 2) == count_parameters(build_model(cfg, (2,), 2))
    huge = ModelConfig(hidden=(1024,) * 32)
    assert parameter_count(huge, (2,), 2) == (2 * 1024 + 1024) + 31 * (1024 * 1024 + 1024) + (
        1024 * 2 + 2
    )


# --- convolutional networks ------------------------------------------------------------------

from dlviz.config import ConvBlock  # noqa: E402
from dlviz.models import CNN, cnn_layer_table  # noqa: E402


def cnn(blocks, input_shape=(1, 32, 32), n_classes=6, **kw):
    return build_model(
        ModelConfig(arch="cnn", blocks=tuple(ConvBlock(**b) for b in blocks), **kw),
        input_shape,
        n_classes,
        seed=0,
    )


def test_cnn_parameter_counts_match_a_hand_count():
    m = cnn(
        [{"channels": 8, "pool": "max"}, {"channels": 16, "pool": "max"}, {"channels": 16}],
        residual=True,
    )
    # conv1 1->8 3x3: 8*1*9 + 8; conv2 8->16: 16*8*9 + 16 plus a 1x1 projection 8*16;
    # conv3 16->16: 16*16*9 + 16, identity shortcut; output 16->6: 16*6 + 6
    assert [r["params"] for r in cnn_layer_table(m, (1, 32, 32))] == [80, 1168 + 128, 2320, 0, 102]
    assert count_parameters(m) == 80 + 1296 + 2320 + 102


def test_cnn_output_shapes_and_flops_by_hand():
    m = cnn(
        [{"channels": 4, "kernel": 5, "stride": 2}, {"channels": 6, "pool": "avg"}],
        input_shape=(3, 33, 33),
        head=(10,),
        head_pool="flatten",
    )
    assert m.block_shapes == [(4, 17, 17), (6, 8, 8)]
    rows = cnn_layer_table(m, (3, 33, 33))
    assert [r["output"] for r in rows] == ["4x17x17", "6x8x8", "384", "10", "6"]
    assert (
        rows[0]["flops"] == 2 * 4 * 17 * 17 * 3 * 25
    )  # per output value: C_in * k * k multiply-adds
    assert rows[1]["flops"] == 2 * 6 * 17 * 17 * 4 * 9  # before the pooling
    assert rows[3]["flops"] == 2 * 384 * 10
    x = torch.randn(2, 3, 33, 33)
    assert m(x).shape == (2, 6)
    assert m.features(x).shape == (2, 384)


def test_cnn_block_equals_plain_torch():
    m = cnn(
        [{"channels": 5, "kernel": 3, "pool": "max"}],
        input_shape=(2, 8, 8),
        n_classes=3,
        activation="tanh",
    )
    ref_conv = torch.nn.Conv2d(2, 5, 3, padding=1)
    with torch.no_grad():
        ref_conv.weight.copy_(m.blocks[0].conv.weight)
        ref_conv.bias.copy_(m.blocks[0].conv.bias)
        x = torch.randn(4, 2, 8, 8)
        feats = torch.nn.functional.max_pool2d(torch.tanh(ref_conv(x)), 2).mean(dim=(2, 3))
        torch.testing.assert_close(m(x), feats @ m.out.weight.T + m.out.bias)


def test_block_settings_override_the_model_defaults():
    m = cnn(
        [
            {"channels": 4},
            {
                "channels": 4,
                "norm": "batch",
                "activation": "gelu",
                "residual": False,
                "dropout": 0.2,
            },
            {"channels": 4},
        ],
        residual=True,
        norm="layer",
    )
    b1, b2, b3 = m.blocks
    assert b1.skip is None and isinstance(b1.norm, torch.nn.GroupNorm)  # the stem has no shortcut
    assert (
        b2.skip is None
        and isinstance(b2.norm, torch.nn.BatchNorm2d)
        and isinstance(b2.act, torch.nn.GELU)
    )
    assert isinstance(b3.skip, torch.nn.Identity)
    assert [n for n, _ in m.weight_layers()] == ["conv1", "conv2", "conv3", "output"]


def test_a_cnn_that_pools_its_input_away_is_a_clear_error():
    with pytest.raises(ValueError, match="shrinks the 8x8 input to nothing"):
        cnn([{"pool": "max"}] * 4, input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="needs image input"):
        build_model(ModelConfig(arch="cnn", blocks=(ConvBlock(),)), (2,), 2)
    assert isinstance(cnn([{}]), CNN)


def test_the_mlp_also_takes_images():
    m = build_model(ModelConfig(hidden=(16,)), (1, 8, 8), 10)
    assert m(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    assert count_parameters(m) == (64 * 16 + 16) + (16 * 10 + 10)
