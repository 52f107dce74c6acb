"""Datasets behind one type: `load_dataset(DataConfig) -> Dataset`."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from dlviz.config import DataConfig
from dlviz.data import toy2d
from dlviz.data.base import IGNORE, SAMPLE_RATE, AudioInfo, Dataset, SequenceInfo, split

__all__ = [
    "IGNORE",
    "SAMPLE_RATE",
    "AudioInfo",
    "Dataset",
    "SequenceInfo",
    "image_dataset",
    "limit_per_class",
    "load_dataset",
    "load_generative",
    "split",
]


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


def load_generative(cfg: DataConfig) -> Dataset:
    """The distribution a generative model learns: 2-D points (`dlviz.data.gen2d`, scaled to
    about [-2, 2], y each point's mode or -1), or the digits and shapes images (y their class),
    split at random into the points it learns from and the ones its samples are measured
    against."""
    from dataclasses import replace as _replace

    from dlviz.data import gen2d

    if cfg.name == gen2d.DRAWN:
        x = drawn_points(cfg)
        y = np.full(len(x), -1, dtype=np.int64)
        xtr, ytr, xte, yte = split(x, y, cfg.test_fraction, cfg.seed)
        data = _dataset(cfg.name, "points2d", xtr, ytr, xte, yte, ("data",))
        return _replace(data, extent=2.5, generative=True, modes=None)
    if cfg.name in gen2d.GEN2D_DATASETS:
        x, y = gen2d.generate(cfg.name, cfg.n_samples, cfg.seed, cfg.noise)
        xtr, ytr, xte, yte = split(x, y, cfg.test_fraction, cfg.seed)
        data = _dataset(cfg.name, "points2d", xtr, ytr, xte, yte, ("data",))
        return _replace(data, extent=2.5, generative=True, modes=gen2d.modes(cfg.name, cfg.noise))
    return _replace(_load_images(cfg), generative=True)


def drawn_points(cfg: DataConfig, points=None, weights=None) -> np.ndarray:
    """`cfg.n_samples` samples of a drawn distribution: of `points` and `weights` when given
    (the page's canvas), else of the CSV at `cfg.path` (`dlviz.data.gen2d.parse_points`).

    Raises:
        gen2d.PointsError: the file is missing or unreadable as points, in words for a person.
    """
    from pathlib import Path

    from dlviz.data import gen2d

    if points is None:
        path = Path(cfg.path).expanduser()
        if not path.is_file():
            raise gen2d.PointsError(f"data.path: {cfg.path} is not a file")
        points, weights, _ = gen2d.parse_points(path.read_bytes(), path.name)
    return gen2d.draw_samples(points, cfg.n_samples, cfg.seed, cfg.noise, weights)


def _load(cfg: DataConfig) -> Dataset:
    if cfg.is_sequence:
        from dlviz.data.sequences import load_sequence

        return load_sequence(cfg)
    if cfg.is_image:
        return _load_images(cfg)
    if cfg.is_sound:
        from dlviz.data.audio import load_sound

        return load_sound(cfg)
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
