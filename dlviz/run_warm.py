"""Imported by the fork server that runs' processes are forked from (`dlviz.run_process`):
trains one epoch of a tiny CNN, with its snapshots, on one torch thread, so that every process
forked afterwards starts warm.

A fresh process pays for torch's lazy imports and first kernels (the optimizer, convolutions,
the probes) on its first steps: measured, a run's first feature maps came 1.3 s after its
start in a fresh process against 0.04 s in a warm one. One thread keeps the fork server free
of OpenMP's worker threads, which a forked child could not use.
"""

from __future__ import annotations

from typing import Any

import torch

from dlviz import jobs
from dlviz.config import RunConfig
from dlviz.probes import ImageProbe
from dlviz.train import Control


class _Quiet:
    """A RunRecord that keeps nothing."""

    run_id = ""

    def emit(self, event: dict[str, Any]) -> None:
        pass


def warm() -> None:
    torch.set_num_threads(1)
    config = RunConfig().with_changes(
        data={"name": "shapes", "n_samples": 96, "image_size": 16},
        model={"arch": "cnn", "blocks": [{"channels": 4}, {"channels": 4, "pool": "none"}]},
        train={"epochs": 1, "device": "cpu", "batch_size": 16},
    )
    data = jobs.load_data(config)
    net = jobs.build_network(config, data)
    snap = jobs.snapshotter_for(data, ImageProbe(data.x_test))
    jobs.train(net, torch.device("cpu"), _Quiet(), Control(), snap)  # type: ignore[arg-type]


warm()
