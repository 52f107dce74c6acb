"""The convolutional network ("cnn"), and `Freezable`, the transfer-learning side of a network
made of blocks and a head (the cnn and the zoo's backbones)."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from dlviz.audio_features import AudioFeatures, feature_shape
from dlviz.config import ConvBlock, ModelConfig
from dlviz.data.base import AudioInfo
from dlviz.models.layers import ACTIVATIONS, SeededDropout, count_parameters
from dlviz.models.registry import register_model


def _norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # normalise over channels and positions of each sample
        return nn.GroupNorm(1, channels)
    return nn.Identity()


class ConvBlockModule(nn.Module):
    """conv -> norm -> activation -> dropout (+ the input when residual) -> optional 2x2 pool.

    The shortcut is the identity when channels and stride keep the shape, else a bias-free 1x1
    convolution with the block's stride.
    """

    def __init__(
        self, c_in: int, spec: ConvBlock, activation: str, norm: str, dropout: float, residual: bool
    ):
        super().__init__()
        self.spec = spec
        self.conv = nn.Conv2d(
            c_in, spec.channels, spec.kernel, spec.stride, padding=spec.kernel // 2
        )
        self.norm = _norm2d(norm, spec.channels)
        self.act = ACTIVATIONS[activation]()
        self.drop = SeededDropout(dropout) if dropout > 0 else nn.Identity()
        self.skip: nn.Module | None = None
        if residual:
            same = c_in == spec.channels and spec.stride == 1
            self.skip = (
                nn.Identity()
                if same
                else nn.Conv2d(c_in, spec.channels, 1, spec.stride, bias=False)
            )
        self.pool = {"max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2)}.get(spec.pool, nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, H, W) -> (B, C, H', W')
        h = self.drop(self.act(self.norm(self.conv(x))))
        if self.skip is not None:
            h = h + self.skip(x)
        return self.pool(h)


def conv_output_hw(h: int, w: int, spec: ConvBlock) -> tuple[int, int]:
    """Spatial size after a block: 'same' padding, then stride, then 2x2 pooling."""
    h, w = (h - 1) // spec.stride + 1, (w - 1) // spec.stride + 1
    if spec.pool != "none":
        h, w = h // 2, w // 2
    return h, w


class Freezable:
    """Transfer learning (dlviz.transfer) for a network of `blocks`, `head` and `out`: the first
    `frozen_blocks` blocks do not train and stay in eval mode (their batch-norm statistics stay
    fixed); the other blocks learn at `backbone_lr_factor` times the head's learning rate."""

    blocks: nn.ModuleList
    head: nn.Module
    out: nn.Module
    frozen_blocks: int
    backbone_lr_factor: float

    def freeze(self, blocks: int, backbone_lr_factor: float = 1.0) -> None:
        """Freeze the first `blocks` blocks (no gradient, not in the optimizer, eval mode)."""
        self.frozen_blocks = blocks
        self.backbone_lr_factor = backbone_lr_factor
        for i, block in enumerate(self.blocks):
            block.requires_grad_(i >= blocks)
        self.train(self.training)  # type: ignore[attr-defined]

    def train(self, mode: bool = True):
        nn.Module.train(self, mode)  # type: ignore[type-var]
        for block in self.blocks[: self.frozen_blocks]:
            block.eval()  # frozen batch norm keeps its pretrained statistics
        return self

    def param_groups(self, lr: float) -> list[dict[str, object]]:
        """Optimizer groups of the trainable parameters: blocks at `lr` times
        `backbone_lr_factor`, head and output at `lr`."""
        backbone = [p for p in self.blocks.parameters() if p.requires_grad]
        rest = [p for p in [*self.head.parameters(), *self.out.parameters()] if p.requires_grad]
        if self.backbone_lr_factor == 1.0:
            return [{"params": backbone + rest, "lr": lr}]
        groups = [{"params": rest, "lr": lr}]
        if backbone:
            groups.append({"params": backbone, "lr": lr * self.backbone_lr_factor})
        return groups

    def block_name(self, i: int) -> str:
        return f"conv{i + 1}"

    def block_conv(self, i: int) -> nn.Conv2d:
        """The first convolution of block `i` (whose weight change and filters are shown)."""
        return next(m for m in self.blocks[i].modules() if isinstance(m, nn.Conv2d))


class CNN(Freezable, nn.Module):
    """Convolutional blocks, then average pooling or flattening, head layers, and the output.

    With `residual`, every block after the first gets a shortcut (the first is the stem); a
    block's own `residual` overrides that.
    """

    head: nn.Sequential
    out: nn.Linear

    def __init__(self, input_shape: tuple[int, ...], cfg: ModelConfig, n_classes: int):
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(
                f"a cnn needs image input (channels, height, width), got shape {input_shape}; "
                "use the mlp for 2-D points"
            )
        self.cfg = cfg
        c, h, w = input_shape
        blocks, shapes = [], []
        for i, spec in enumerate(cfg.blocks):
            residual = spec.residual if spec.residual is not None else (cfg.residual and i > 0)
            blocks.append(
                ConvBlockModule(
                    c,
                    spec,
                    spec.activation or cfg.activation,
                    spec.norm or cfg.norm,
                    spec.dropout if spec.dropout is not None else cfg.dropout,
                    residual,
                )
            )
            h, w = conv_output_hw(h, w, spec)
            if h < 1 or w < 1:
                raise ValueError(
                    f"block {i + 1} shrinks the {input_shape[1]}x{input_shape[2]} input to nothing: "
                    "use fewer pooling layers or strides, or larger images"
                )
            c = spec.channels
            shapes.append((c, h, w))
        self.blocks = nn.ModuleList(blocks)
        self.block_shapes = shapes  # (C, H, W) after each block
        self.flatten = cfg.head_pool == "flatten"
        d = c * h * w if self.flatten else c
        head = []
        for width in cfg.head:
            head += [nn.Linear(d, width), ACTIVATIONS[cfg.activation]()]
            d = width
        self.head = nn.Sequential(*head)
        self.out = nn.Linear(d, n_classes)
        self.frozen_blocks = 0
        self.backbone_lr_factor = 1.0

    def features(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, D)
        for block in self.blocks:
            x = block(x)
        return x.flatten(1) if self.flatten else x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, n_classes)
        return self.out(self.head(self.features(x)))

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        convs: list[tuple[str, nn.Module]] = [
            (f"conv{i + 1}", b.conv) for i, b in enumerate(_conv_blocks(self.blocks))
        ]
        fcs = [
            (f"fc{i + 1}", m)
            for i, m in enumerate(m for m in self.head if isinstance(m, nn.Linear))
        ]
        return convs + fcs + [("output", self.out)]

    def activation_points(self) -> list[tuple[str, nn.Module]]:
        # Each block's output: its feature maps, after the shortcut and pooling.
        return [(f"conv{i + 1}", b) for i, b in enumerate(self.blocks)]


class SoundCNN(CNN):
    """A CNN on the features of waves (the Sound lab's cnn): `frontend`
    (`dlviz.audio_features.AudioFeatures`: wave (1, S) -> spectrogram (1, H, W), no trained
    weights, SpecAugment masks in training only), then the CNN's blocks.

    `body(features)` runs the CNN on features already made, for saliency and Grad-CAM over the
    spectrogram."""

    def __init__(
        self, input_shape: tuple[int, ...], cfg: ModelConfig, n_classes: int, info: AudioInfo
    ):
        samples = input_shape[-1]
        spec_shape = feature_shape(info, samples)
        super().__init__(spec_shape, cfg, n_classes)
        self.info = info
        self.spec_shape = spec_shape
        self.frontend = AudioFeatures(info)

    def body(self, spec: torch.Tensor) -> torch.Tensor:  # (B, 1, H, W) -> (B, n_classes)
        return CNN.forward(self, spec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, S) -> (B, n_classes)
        return self.body(self.frontend(x))


def _conv_blocks(blocks: nn.ModuleList) -> list[ConvBlockModule]:
    """A CNN's blocks, as the type checker should see them (a ModuleList yields Modules)."""
    return cast("list[ConvBlockModule]", blocks)


@register_model("cnn")
def _build_cnn(
    cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int, spec: object = None
) -> nn.Module:
    if isinstance(spec, AudioInfo):  # waves, read through their spectrogram
        return SoundCNN(input_shape, cfg, n_classes, spec)
    return CNN(input_shape, cfg, n_classes)


def cnn_layer_table(model: CNN, input_shape: tuple[int, ...]) -> list[dict[str, object]]:
    """One row per layer of a CNN: what it is, its output shape, parameters and FLOPs for one
    image (a multiply-add counts as 2; convolutions and linear layers only)."""
    rows = []
    c_in, h_in, w_in = input_shape
    for i, (block, (c, h, w)) in enumerate(zip(_conv_blocks(model.blocks), model.block_shapes)):
        spec = block.spec
        ho, wo = (h_in - 1) // spec.stride + 1, (w_in - 1) // spec.stride + 1  # the conv's output
        flops = 2 * c * ho * wo * c_in * spec.kernel**2
        if isinstance(block.skip, nn.Conv2d):
            flops += 2 * c * ho * wo * c_in
        what = f"conv {spec.kernel}x{spec.kernel}" + (f" /{spec.stride}" if spec.stride > 1 else "")
        what += " + shortcut" if block.skip is not None else ""
        what += f" + {spec.pool} pool" if spec.pool != "none" else ""
        rows.append(
            {
                "layer": f"conv{i + 1}",
                "type": what,
                "output": f"{c}x{h}x{w}",
                "params": count_parameters(block),
                "flops": flops,
            }
        )
        c_in, h_in, w_in = c, h, w
    d = model.out.in_features if not len(model.head) else model.head[0].in_features
    rows.append(
        {
            "layer": "pool",
            "type": "flatten" if model.flatten else "global average",
            "output": str(d),
            "params": 0,
            "flops": 0,
        }
    )
    for i, lin in enumerate(m for m in model.head if isinstance(m, nn.Linear)):
        rows.append(
            {
                "layer": f"fc{i + 1}",
                "type": "linear",
                "output": str(lin.out_features),
                "params": count_parameters(lin),
                "flops": 2 * lin.in_features * lin.out_features,
            }
        )
    rows.append(
        {
            "layer": "output",
            "type": "linear",
            "output": str(model.out.out_features),
            "params": count_parameters(model.out),
            "flops": 2 * model.out.in_features * model.out.out_features,
        }
    )
    return rows
