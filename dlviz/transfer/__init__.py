"""Transfer learning: start a network from a pretrained backbone and train it on a new task.

A backbone is the convolutional blocks of a dlviz CNN with their trained weights, the input it
expects, and a card saying how it was made. Four strategies (`config.STRATEGIES`):

- ``scratch``: the backbone's architecture, randomly initialised, everything trains;
- ``frozen`` (feature extraction): the pretrained blocks are frozen, a new output layer trains;
- ``finetune_top``: the last N blocks and the new output layer train, the rest is frozen;
- ``finetune_all``: everything trains, the pretrained blocks at a lower learning rate.

Frozen blocks get no gradient, are not in the optimizer, and stay in eval mode, so their
batch-norm statistics keep their pretrained values (`models.CNN.freeze`).

Backbones come from dlviz's own pretrained files in ``dlviz/backbones`` (made by
``dlviz pretrain``), from a CNN run in the run store (``run:ID``), or from a checkpoint file:
safetensors, or a PyTorch state dict read with ``torch.load(weights_only=True)``.

The parts: `backbones` (finding, reading and describing them) and `strategies` (the network and
optimizer groups each strategy trains). Everything public is re-exported here. The Transfer
lab's experiments over the strategies are in `dlviz.labs.transfer.efficiency`.
"""

from __future__ import annotations

from dlviz.transfer.backbones import (
    BACKBONE_DIR,
    DEFAULT_BACKBONE,
    MAX_CHECKPOINT_MB,
    METADATA_KEY,
    Backbone,
    BackboneError,
    load_backbone,
    match_architecture,
    read_backbone,
    shipped_backbones,
)
from dlviz.transfer.strategies import (
    STRATEGY_HELP,
    STRATEGY_LABELS,
    adapt_data,
    build,
    conv_key,
    frozen_blocks,
    lr_factor,
    plan,
    resolve,
    weight_change,
)

__all__ = [
    "BACKBONE_DIR",
    "Backbone",
    "BackboneError",
    "DEFAULT_BACKBONE",
    "MAX_CHECKPOINT_MB",
    "METADATA_KEY",
    "STRATEGY_HELP",
    "STRATEGY_LABELS",
    "adapt_data",
    "build",
    "conv_key",
    "frozen_blocks",
    "load_backbone",
    "lr_factor",
    "match_architecture",
    "plan",
    "read_backbone",
    "resolve",
    "shipped_backbones",
    "weight_change",
]
