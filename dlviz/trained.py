"""A stored run's trained network, built again from its config and loaded with its weights, for
looking inside it after the run (the Runs lab's feature maps of a finished run)."""

from __future__ import annotations

import os

from torch import nn

from dlviz import runs, transfer
from dlviz.config import RunConfig
from dlviz.data import Dataset
from dlviz.models import build_model


def trained_model(
    root: str | os.PathLike[str] | None, run_id: str, cfg: RunConfig, data: Dataset
) -> tuple[nn.Module, Dataset]:
    """The run's network with its trained weights, in eval mode, and `data` as that network
    takes it (a transfer run's images resized and coloured as its backbone wants them)."""
    if cfg.transfer.active:
        data = transfer.adapt_data(data, backbone_input(root, run_id, cfg, data))
    model = build_model(
        cfg.model,
        data.input_shape,
        data.n_outputs,
        spec=data.seq if data.seq is not None else data.audio,
    )
    runs.load_weights(root, run_id, model)
    model.eval()
    return model, data


def backbone_input(
    root: str | os.PathLike[str] | None, run_id: str, cfg: RunConfig, data: Dataset
) -> tuple[int, int, int]:
    """The input shape a transfer run's network took: the channels of its first convolution,
    and the side its backbone resizes to (torchvision models: 64; dlviz's: the data's own)."""
    from safetensors import safe_open

    path = runs.run_folder(root, run_id) / runs.WEIGHTS
    if not path.is_file():
        raise runs.RunStoreError(
            f"run {run_id} has no saved weights (it did not finish); train it again to get them"
        )
    try:
        with safe_open(str(path), "pt") as f:
            key = next(
                k
                for k in f.keys()
                if k.startswith("blocks.0.") and len(f.get_slice(k).get_shape()) == 4
            )
            channels = f.get_slice(key).get_shape()[1]
    except StopIteration:
        raise runs.RunStoreError(
            f"the weights of run {run_id} hold no convolution of a backbone; build it from the "
            "run's config"
        ) from None
    except Exception as e:  # safetensors raises its own error types for damaged files
        raise runs.RunStoreError(f"the weights of run {run_id} cannot be read: {e}") from e
    side = 64 if cfg.model.arch == "zoo" else data.input_shape[1]
    return channels, side, side
