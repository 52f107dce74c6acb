"""The types every dataset module shares: `Dataset` (a split dataset as CPU tensors), a sequence
dataset's `SequenceInfo`, `IGNORE` and the stratified `split`. `dlviz.data` re-exports them; the
dataset modules import them from here, so none imports the package that imports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dlviz.data.toy2d import EXTENT

IGNORE = -100  # a per-token target that is not predicted (F.cross_entropy's ignore_index)
# Every clip of the Sound lab, generated, synthesised or uploaded, is mono at this rate.
SAMPLE_RATE = 16_000


@dataclass(frozen=True, eq=False)
class SequenceInfo:
    """What a sequence model needs to know of its data beyond the tensors.

    `task`: ``class`` (y is (N,) classes), ``tokens`` (y is (N, T) target ids, IGNORE where
    nothing is predicted) or ``forecast`` (y is (N, horizon) values).
    `vocab`: the input tokens' names, by id (empty for series, whose x is (N, T, 1) floats).
    `pad`: the id of the padding token (sequences left-padded to one length), or -1.
    `causal`: a per-token task predicts position t from positions up to t only (generation,
    character models, parens); a network must not look ahead.
    `prompt`: generation tasks: the tokens before the first predicted one (the question and
    its separator), so the answer can be sampled token by token; 0 for the others.
    `horizon`: forecasts: the values predicted at once.
    `series`: forecasts: the whole series, normalised as x and y are, and `split_at`, the index
    where its test part begins (windows are cut from time, test after train, not shuffled).
    `scale`: forecasts: (mean, std) the raw series was normalised by.
    `period`: forecasts: the season's length in steps where the data has one (seasonal-naive
    forecasts), else 0.
    """

    task: str
    vocab: tuple[str, ...] = ()
    pad: int = -1
    causal: bool = False
    prompt: int = 0
    horizon: int = 0
    series: np.ndarray | None = None
    split_at: int = 0
    scale: tuple[float, float] = (0.0, 1.0)
    period: int = 0

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def text(self, ids: Any, sep: str = " ") -> str:
        """Token ids as text (padding left out)."""
        return sep.join(self.vocab[int(t)] for t in ids if int(t) != self.pad)


@dataclass(frozen=True)
class AudioInfo:
    """What a sound dataset's network needs beyond the clips: how its front end turns a wave
    into features (`dlviz.audio_features`).

    `features`: ``mel`` (log-mel spectrogram), ``stft`` (log power spectrogram), ``mfcc`` or
    ``wave`` (the raw samples); `window` and `hop` in samples, `mels` mel bands.
    """

    features: str = "mel"
    window: int = 400
    hop: int = 160
    mels: int = 40
    sample_rate: int = SAMPLE_RATE


@dataclass(frozen=True)
class Dataset:
    """A split dataset held as CPU tensors.

    `kind` tells the pages how to draw it: ``"points2d"`` (x is (N, 2)), ``"image"`` (x is
    (N, C, H, W) in [0, 1]), ``"tokens"`` (x is (N, T) int64 token ids) or ``"series"`` (x is
    (N, T, 1) float32 windows of a time series) or ``"audio"`` (x is (N, 1, S) float32 mono
    waves in [-1, 1] at `audio.sample_rate`; the network's front end makes its features).
    Sequences carry `seq` (SequenceInfo), sounds `audio` (AudioInfo); the others are
    classification, y (N,) classes named by `class_names`.
    """

    name: str
    kind: str
    x_train: torch.Tensor  # (N_train, *input_shape) float32
    y_train: torch.Tensor  # (N_train,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    extent: float = EXTENT  # points2d only: half-width of the square to draw
    seq: SequenceInfo | None = None  # sequences only
    audio: AudioInfo | None = None  # sounds only
    # a distribution for a generative model to learn (the Generative lab): y is each point's
    # mode (-1 where the data has none), or the image's class
    generative: bool = False
    # 2-D generative sets with known modes (ring, grid): their centres (K, 2) and std
    modes: tuple[np.ndarray, float] | None = None

    @property
    def task(self) -> str:
        """class, tokens or forecast (SequenceInfo.task), or generate (a distribution to
        learn); every other set is class."""
        if self.generative:
            return "generate"
        return self.seq.task if self.seq is not None else "class"

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_outputs(self) -> int:
        """The network's output size: classes, target tokens, or the forecast's horizon."""
        if self.seq is not None and self.seq.task == "forecast":
            return self.seq.horizon
        return self.n_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def __len__(self) -> int:
        return len(self.x_train) + len(self.x_test)


def split(
    x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified split: each class keeps the same share in train and test."""
    rng = np.random.default_rng(seed + 1_000_003)
    test_idx = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test_idx.append(idx[: int(round(len(idx) * test_fraction))])
    test_mask = np.zeros(len(y), dtype=bool)
    test_mask[np.concatenate(test_idx)] = True
    return x[~test_mask], y[~test_mask], x[test_mask], y[test_mask]
