"""Histories and snapshots as runs leave them, made by hand for the figure tests."""

from __future__ import annotations

import numpy as np

from dlviz.history import RunHistory
from dlviz.probes import Snapshot2D


def long_history(epochs=3000, layers=6):
    """A history as a long run leaves it: bounded series, many layers."""
    h = RunHistory(
        layers=[f"hidden{i + 1}" for i in range(layers)] + ["output"], steps_per_epoch=22
    )
    for e in range(1, epochs + 1):
        for k in range(10):
            h.steps.append(step=e * 22 + k, elapsed=e * 0.01, loss=1.0 / e)
        h.epochs.append(
            epoch=e,
            step=e * 22,
            elapsed=e * 0.01,
            train_loss=1 / e,
            train_accuracy=0.9,
            test_loss=1.1 / e,
            test_accuracy=0.85,
        )
        h.grad_norms.append(epoch=e, norms=[10.0 ** -(layers - i) for i in range(layers + 1)])
    return h


def snapshot(layers=3, neurons=8, r=24):
    rng = np.random.default_rng(0)
    return Snapshot2D(
        step=5,
        epoch=1,
        extent=1.25,
        boundary=rng.random((48, 48), dtype=np.float32),
        neurons={
            f"hidden{i + 1}": rng.standard_normal((neurons, r, r)).astype(np.float32)
            for i in range(layers)
        },
    )
