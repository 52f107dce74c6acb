"""Sound datasets behind one type: `load_sound(DataConfig) -> Dataset` of kind ``audio``, the
clips as (N, 1, S) waves at 16 kHz with the AudioInfo their network's front end reads."""

from __future__ import annotations

import logging

import numpy as np
import torch

from dlviz.config import DataConfig
from dlviz.data.base import SAMPLE_RATE, AudioInfo, Dataset, split

log = logging.getLogger("dlviz")


def audio_info(cfg: DataConfig) -> AudioInfo:
    return AudioInfo(
        features=cfg.features, window=cfg.window, hop=cfg.hop, mels=cfg.mels,
        sample_rate=SAMPLE_RATE,
    )  # fmt: skip


def sound_dataset(
    cfg: DataConfig, waves: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]
) -> Dataset:
    """Clips (N, S) with their labels, split as every dataset is (stratified, seeded)."""
    if len(class_names) < 2:
        raise ValueError(f"a sound set needs at least 2 classes, got {len(class_names)}")
    x = np.ascontiguousarray(waves, dtype=np.float32)[:, None, :]
    xtr, ytr, xte, yte = split(x, np.asarray(labels, dtype=np.int64), cfg.test_fraction, cfg.seed)
    return Dataset(
        name=cfg.name,
        kind="audio",
        x_train=torch.from_numpy(np.ascontiguousarray(xtr)),
        y_train=torch.from_numpy(ytr),
        x_test=torch.from_numpy(np.ascontiguousarray(xte)),
        y_test=torch.from_numpy(yte),
        class_names=tuple(class_names),
        audio=audio_info(cfg),
    )


def load_sound(cfg: DataConfig) -> Dataset:
    """Generate, synthesise or read the clips `cfg` names."""
    if cfg.name in ("tones", "chirps", "vowels", "noises"):
        from dlviz.data.sounds import generate

        waves, labels, names = generate(
            cfg.name, cfg.n_samples, cfg.noise, cfg.seed, seconds=cfg.seconds
        )
    elif cfg.name == "spoken_digits":
        from dlviz.data.spoken import generate as speak

        waves, labels, names = speak(cfg.n_samples, cfg.noise, cfg.seed, seconds=cfg.seconds)
    elif cfg.name in ("audio_folder", "audio_zip"):
        from dlviz.data.audio_files import load_folder, load_zip_file

        read = load_folder if cfg.name == "audio_folder" else load_zip_file
        waves, labels, names, problems = read(cfg.path, cfg.seconds)
        for problem in problems:
            log.warning("skipped %s", problem)
    else:  # audio_upload
        raise ValueError(
            "data.name: 'audio_upload' clips live only in the browser session that uploaded "
            "them. Save them there as a ZIP (Sound, 'Download as ZIP') and train on "
            '{"name": "audio_zip", "path": "that.zip"}'
        )
    return sound_dataset(cfg, waves, labels, tuple(names))
