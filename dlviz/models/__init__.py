"""Models: `build_model(ModelConfig, input_shape, n_classes) -> nn.Module`.

Every dlviz model exposes two lists, input to output, that probes and charts rely on:

- `weight_layers()`: ``[(name, module)]`` whose ``.weight`` gradient is the layer's gradient norm;
- `activation_points()`: ``[(name, module)]`` whose output is that layer's activations.

The builders live in `registry`; `mlp` and `cnn` register theirs on import, `zoo` when first used.
"""

from __future__ import annotations

# The order of registration is the order of model_names(): the mlp first, then the cnn.
from dlviz.models.mlp import MLP, DenseBlock, layer_table

# isort: split
from dlviz.models.cnn import CNN, ConvBlockModule, Freezable, cnn_layer_table, conv_output_hw
from dlviz.models.layers import (
    ACTIVATIONS,
    SeededDropout,
    count_parameters,
    set_dropout_generator,
)
from dlviz.models.registry import (
    Builder,
    build_model,
    model_names,
    parameter_count,
    register_model,
)

__all__ = [
    "ACTIVATIONS",
    "CNN",
    "MLP",
    "Builder",
    "ConvBlockModule",
    "DenseBlock",
    "Freezable",
    "SeededDropout",
    "build_model",
    "cnn_layer_table",
    "conv_output_hw",
    "count_parameters",
    "layer_table",
    "model_names",
    "parameter_count",
    "register_model",
    "set_dropout_generator",
]
