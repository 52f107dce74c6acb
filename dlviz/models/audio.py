"""`WaveCNN`, a 1-D CNN on the raw wave (as M5 of Dai et al., 2017: a wide strided first
convolution, then blocks of small ones, each followed by 4x pooling): the Sound lab's cnn1d.
(Its 2-D twin, the CNN on a spectrogram, is `dlviz.models.cnn.SoundCNN`.)

It takes waves (B, 1, S), standardised per clip by its front end, which has no trained
weights: a state dict holds the network's own weights only.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from dlviz.audio_features import AudioFeatures
from dlviz.config import ModelConfig
from dlviz.data.base import AudioInfo
from dlviz.models.layers import ACTIVATIONS, SeededDropout


class WaveBlock(nn.Module):
    """conv1d -> batch norm -> activation -> dropout -> max pool (`pool`x)."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, pool: int, act: str, p: float
    ):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel, stride, padding=kernel // 2)
        self.norm = nn.BatchNorm1d(c_out)
        self.act = ACTIVATIONS[act]()
        self.drop = SeededDropout(p) if p > 0 else nn.Identity()
        self.pool = nn.MaxPool1d(pool) if pool > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.drop(self.act(self.norm(self.conv(x)))))


STEM_KERNEL, STEM_STRIDE, POOL = 80, 4, 4


class WaveCNN(nn.Module):
    """The raw wave, standardised per clip by its front end, through a stem (kernel 80, stride
    4: 5 ms at 16 kHz) and `cfg.layers` blocks of `cfg.kernel`-wide convolutions, each followed
    by 4x max pooling; then the mean over time and a linear layer to the classes. Widths:
    `cfg.hidden_size` / 2 for the stem and the first block, `cfg.hidden_size` after."""

    def __init__(
        self, input_shape: tuple[int, ...], cfg: ModelConfig, n_classes: int, info: AudioInfo
    ):
        super().__init__()
        samples = input_shape[-1]
        self.info = info
        self.frontend = AudioFeatures(info)  # the wave, standardised per clip
        wide = max(cfg.hidden_size, 2)
        narrow = max(wide // 2, 1)
        widths = [narrow] + [narrow if i == 0 else wide for i in range(cfg.layers)]
        blocks = [WaveBlock(1, narrow, STEM_KERNEL, STEM_STRIDE, POOL, cfg.activation, 0.0)]
        # each convolution pads kernel // 2 on both sides; each block then pools by POOL
        length = (samples + 2 * (STEM_KERNEL // 2) - STEM_KERNEL) // STEM_STRIDE + 1
        length //= POOL
        for i in range(cfg.layers):
            blocks.append(
                WaveBlock(
                    widths[i], widths[i + 1], cfg.kernel, 1, POOL, cfg.activation, cfg.dropout
                )
            )
            length = (length + 2 * (cfg.kernel // 2) - cfg.kernel + 1) // POOL
        if length < 1:
            raise ValueError(
                f"{cfg.layers} blocks pool a {samples}-sample clip to nothing: choose fewer "
                "layers or longer clips"
            )
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Linear(widths[-1], n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.frontend(x)
        for block in self.blocks:
            h = block(h)
        return h.mean(dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, S) -> (B, n_classes)
        return self.out(self.features(x))

    def weight_layers(self) -> list[tuple[str, nn.Module]]:
        blocks = cast("list[WaveBlock]", self.blocks)
        return [(f"conv{i + 1}", b.conv) for i, b in enumerate(blocks)] + [("output", self.out)]

    def activation_points(self) -> list[tuple[str, nn.Module]]:
        return [(f"conv{i + 1}", b) for i, b in enumerate(self.blocks)]


def build_wave_cnn(
    cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int, info: AudioInfo
) -> nn.Module:
    if info.features != "wave":
        raise ValueError("a cnn1d on sound reads the raw wave: set data.features to wave")
    return WaveCNN(input_shape, cfg, n_classes, info)
