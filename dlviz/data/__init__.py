"""Datasets behind one type: `load_dataset(DataConfig) -> Dataset`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dlviz.config import DataConfig
from dlviz.data import toy2d


@dataclass(frozen=True)
class Dataset:
    """A split classification dataset held as CPU tensors.

    `kind` tells the pages how to draw it: ``"points2d"`` (x is (N, 2)).
    """

    name: str
    kind: str
    x_train: torch.Tensor  # (N_train, *input_shape) float32
    y_train: torch.Tensor  # (N_train,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    extent: float = toy2d.EXTENT  # points2d only: half-width of the square to draw

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

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


def load_dataset(cfg: DataConfig) -> Dataset:
    """Generate (or load) the dataset `cfg` names, split into train and test."""
    x, y = toy2d.generate(cfg.name, cfg.n_samples, cfg.noise, cfg.seed)
    xtr, ytr, xte, yte = split(x, y, cfg.test_fraction, cfg.seed)
    return Dataset(
        name=cfg.name,
        kind="points2d",
        x_train=torch.from_numpy(xtr),
        y_train=torch.from_numpy(ytr),
        x_test=torch.from_numpy(xte),
        y_test=torch.from_numpy(yte),
        class_names=("class 0", "class 1"),
    )
