"""Datasets behind one type: `load_dataset(DataConfig) -> Dataset`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from dlviz.config import DataConfig
from dlviz.data import toy2d

IGNORE = -100  # a per-token target that is not predicted (F.cross_entropy's ignore_index)


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
class Dataset:
    """A split dataset held as CPU tensors.

    `kind` tells the pages how to draw it: ``"points2d"`` (x is (N, 2)), ``"image"`` (x is
    (N, C, H, W) in [0, 1]), ``"tokens"`` (x is (N, T) int64 token ids) or ``"series"`` (x is
    (N, T, 1) float32 windows of a time series). Sequences carry `seq` (SequenceInfo); the
    others are classification, y (N,) classes named by `class_names`.
    """

    name: str
    kind: str
    x_train: torch.Tensor  # (N_train, *input_shape) float32
    y_train: torch.Tensor  # (N_train,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: tuple[str, ...]
    extent: float = toy2d.EXTENT  # points2d only: half-width of the square to draw
    seq: SequenceInfo | None = None  # sequences only

    @property
    def task(self) -> str:
        """class, tokens or forecast (SequenceInfo.task); every non-sequence set is class."""
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


def limit_per_class(data: Dataset, k: int, seed: int) -> Dataset:
    """At most `k` training samples of each class (the test set stays whole); which ones is
    fixed by `seed`, and a larger `k` keeps every sample a smaller one kept."""
    if k <= 0:
        return data
    gen = torch.Generator().manual_seed(seed + 7)
    order = torch.randperm(len(data.y_train), generator=gen)
    keep = []
    for c in range(data.n_classes):
        keep.append(order[data.y_train[order] == c][:k])
    idx = torch.cat(keep).sort().values
    return replace(data, x_train=data.x_train[idx].contiguous(), y_train=data.y_train[idx])


def load_dataset(cfg: DataConfig) -> Dataset:
    """Generate (or load) the dataset `cfg` names, split into train and test, limited to
    `cfg.per_class` training samples a class when set."""
    data = _load(cfg)
    return limit_per_class(data, cfg.per_class, cfg.seed) if cfg.per_class else data


def _load(cfg: DataConfig) -> Dataset:
    if cfg.is_sequence:
        from dlviz.data.sequences import load_sequence

        return load_sequence(cfg)
    if cfg.is_image:
        return _load_images(cfg)
    x, y = toy2d.generate(cfg.name, cfg.n_samples, cfg.noise, cfg.seed)
    xtr, ytr, xte, yte = split(x, y, cfg.test_fraction, cfg.seed)
    return _dataset(cfg.name, "points2d", xtr, ytr, xte, yte, ("class 0", "class 1"))


def image_dataset(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    class_names: tuple[str, ...],
    test_fraction: float,
    seed: int,
) -> Dataset:
    """Images x (N, C, H, W) in [0, 1] with labels y, split as every image dataset is."""
    xtr, ytr, xte, yte = split(x, y, test_fraction, seed)
    return _dataset(name, "image", xtr, ytr, xte, yte, class_names)


def _dataset(name, kind, xtr, ytr, xte, yte, class_names) -> Dataset:
    return Dataset(
        name=name,
        kind=kind,
        x_train=torch.from_numpy(np.ascontiguousarray(xtr)),
        y_train=torch.from_numpy(ytr),
        x_test=torch.from_numpy(np.ascontiguousarray(xte)),
        y_test=torch.from_numpy(yte),
        class_names=tuple(class_names),
    )


def _load_images(cfg: DataConfig) -> Dataset:
    from dlviz.data import builtin_images as images

    if cfg.name == "digits":
        x, y = images.load_digits()
        if cfg.n_samples < len(x):  # a stratified subset, reproducible from the seed
            keep, _, _, _ = split(np.arange(len(x)), y, 1 - cfg.n_samples / len(x), cfg.seed)
            x, y = x[keep], y[keep]
        if cfg.noise > 0:
            rng = np.random.default_rng(cfg.seed)
            x = np.clip(x + rng.normal(0, cfg.noise * 0.5, x.shape).astype(np.float32), 0, 1)
        x = images.upscale(x, cfg.size)
        names = tuple(str(d) for d in range(10))
    elif cfg.name in ("folder", "zip"):
        x, y, names = _load_own_images(cfg)
    elif cfg.name == "upload":
        raise ValueError(
            "data.name: 'upload' images live only in the browser session that uploaded them. "
            "Save them there as a ZIP (Your images, 'Download as ZIP') and train on "
            '{"name": "zip", "path": "that.zip"}'
        )
    else:
        x, y, _ = images.generate_shapes(
            cfg.n_samples, cfg.size, cfg.channels, cfg.noise, cfg.clutter, cfg.seed
        )
        names = images.SHAPES
    return image_dataset(cfg.name, x, y, names, cfg.test_fraction, cfg.seed)


def _load_own_images(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """A folder of class folders, or a ZIP of them, through the same checks as an upload.
    Files that cannot be used are skipped with a warning each; a set that cannot train is a
    ValueError saying why."""
    import logging
    from pathlib import Path

    from dlviz.data.uploads import EXTENSIONS, ImageSet

    root = Path(cfg.path).expanduser()
    found = ImageSet()
    if cfg.name == "zip":
        if not root.is_file():
            raise ValueError(f"data.path: no ZIP file at {root}")
        found.add_zip(root.read_bytes())
    else:
        if not root.is_dir():
            raise ValueError(f"data.path: no folder at {root}")
        for folder in sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            files = sorted(
                f for f in folder.rglob("*")
                if f.is_file() and not f.is_symlink() and f.suffix.lower() in EXTENSIONS
            )  # fmt: skip
            found.add_files(
                folder.name, [(str(f.relative_to(root)), f.read_bytes()) for f in files]
            )
    for problem in found.problems:
        logging.getLogger("dlviz").warning("skipped %s", problem)
    if found.blocking():
        raise ValueError(f"data.path: {found.blocking()} (in {root})")
    x, y, names = found.to_arrays(cfg.size, cfg.channels)
    return x, y, names
