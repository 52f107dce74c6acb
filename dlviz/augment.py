"""Data augmentation for image batches, on the batch's own device, in whole-batch tensor
operations (no per-image Python): flips, random crops, small rotations, colour jitter."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dlviz.config import AugmentConfig


@dataclass(frozen=True)
class Augment:
    """What to apply; each image gets its own random draw of every enabled transform."""

    flip: bool = False  # mirror left-right, half of the images
    crop: float = 0.0  # shift by up to this share of the side (zero padding), e.g. 0.1
    rotate: float = 0.0  # rotate by up to this many degrees either way, e.g. 15
    jitter: float = 0.0  # brightness and contrast change of up to this share, e.g. 0.2

    @classmethod
    def from_config(cls, cfg: AugmentConfig) -> Augment:
        return cls(flip=cfg.flip, crop=cfg.crop, rotate=cfg.rotate, jitter=cfg.jitter)

    @property
    def active(self) -> bool:
        return self.flip or self.crop > 0 or self.rotate > 0 or self.jitter > 0

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x (B, C, H, W) in [0, 1] -> an augmented copy, same shape, still in [0, 1]."""
        if not self.active or len(x) == 0:
            return x
        b, dev = len(x), x.device

        def uniform(*shape: int) -> torch.Tensor:  # in [-1, 1), drawn on the CPU: reproducible
            return (torch.rand(*shape, generator=generator) * 2 - 1).to(dev)

        if self.crop > 0 or self.rotate > 0:
            angle = uniform(b) * math.radians(self.rotate)
            shift = uniform(b, 2) * self.crop * 2  # grid units: the side is 2 long
            cos, sin = torch.cos(angle), torch.sin(angle)
            theta = torch.stack(
                [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)],
                1,
            )
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if self.flip:
            flip = (torch.rand(b, generator=generator) < 0.5).to(dev)
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if self.jitter > 0:
            bright = 1 + uniform(b, 1, 1, 1) * self.jitter
            contrast = 1 + uniform(b, 1, 1, 1) * self.jitter
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = ((x - mean) * contrast + mean) * bright
        return x.clamp(0, 1)


@dataclass(frozen=True)
class AudioAugment:
    """What to apply to a batch of waves (B, 1, S); each clip gets its own random draw. The
    SpecAugment masks act on the spectrogram, in the network's front end
    (`dlviz.audio_features.AudioFeatures.set_masks`)."""

    shift: float = 0.0  # roll in time by up to this share of the clip, either way
    noise: float = 0.0  # add white noise of up to this share of the clip's own RMS level
    gain: float = 0.0  # scale by up to this many dB either way

    @classmethod
    def from_config(cls, cfg: AugmentConfig) -> AudioAugment:
        return cls(shift=cfg.shift, noise=cfg.noise, gain=cfg.gain)

    @property
    def active(self) -> bool:
        return self.shift > 0 or self.noise > 0 or self.gain > 0

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x (B, 1, S) -> an augmented copy, same shape."""
        if not self.active or len(x) == 0:
            return x
        b, s, dev = len(x), x.shape[-1], x.device

        def uniform(*shape: int) -> torch.Tensor:  # in [-1, 1), drawn on the CPU: reproducible
            return (torch.rand(*shape, generator=generator) * 2 - 1).to(dev)

        if self.shift > 0:
            offset = (uniform(b) * self.shift * s).round().long()  # (B,)
            idx = (torch.arange(s, device=dev)[None, :] - offset[:, None]) % s
            x = torch.gather(x, 2, idx[:, None, :])
        if self.noise > 0:
            level = x.pow(2).mean(dim=2, keepdim=True).sqrt()  # (B, 1, 1)
            amount = (uniform(b, 1, 1) + 1) / 2 * self.noise
            noise = torch.randn(x.shape, generator=generator).to(dev)
            x = x + noise * level * amount
        if self.gain > 0:
            x = x * torch.pow(10.0, uniform(b, 1, 1) * self.gain / 20)
        return x
