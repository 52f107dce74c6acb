"""What a run that ended says about what it learned: whether its network is dead or it ended at
chance, from facts the run records (its final accuracies, its gradient norms, its dead-unit
shares, its 2-D neuron maps and the classes of its test set). No streamlit: the pages show the
verdict as a warning instead of a green "finished", the CLI prints it, the run store keeps it.

A network is *dead* when no weight gets any gradient, or when every unit of a layer outputs zero
for every input and no residual connection goes around it: it then gives the same answer for
every input. A run *ends at chance* when its test accuracy is within `margin` of the accuracy
of always answering the test set's most common class (for balanced classes, 1 / classes): two
standard errors of that accuracy on a test set this size, and at least 2 points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlviz.text import plural

OK, CHANCE, DEAD = "ok", "chance", "dead"
MIN_MARGIN = 0.02


@dataclass(frozen=True)
class Outcome:
    """`kind`: ok, chance or dead; `message`: one or two sentences for a person ("" when ok)."""

    kind: str = OK
    message: str = ""

    @property
    def bad(self) -> bool:
        return self.kind != OK

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


def chance_level(y_test: Sequence[int] | np.ndarray, n_classes: int) -> tuple[float, int]:
    """(the accuracy of always answering the most common test class, that class): at least
    1 / n_classes."""
    y = np.asarray(y_test, dtype=np.int64).reshape(-1)
    if len(y) == 0:
        return 1.0 / max(n_classes, 1), 0
    counts = np.bincount(y, minlength=max(n_classes, 1))
    top = int(counts.argmax())
    return max(float(counts[top]) / len(y), 1.0 / max(n_classes, 1)), top


def margin(chance: float, n_test: int) -> float:
    """How far above `chance` a test accuracy on `n_test` samples must be to count as learned:
    two standard errors of the chance accuracy, at least MIN_MARGIN."""
    if n_test <= 0:
        return MIN_MARGIN
    return max(MIN_MARGIN, 2.0 * math.sqrt(chance * (1.0 - chance) / n_test))


def dead_layer(shares: Mapping[str, float]) -> str | None:
    """The first layer whose units are all dead (share 1.0), or None."""
    return next((name for name, share in shares.items() if share >= 0.999), None)


def dead_shares_2d(neurons: Mapping[str, Any], widths: Sequence[int]) -> dict[str, float]:
    """Share of dead units per layer from a 2-D snapshot's neuron maps (layer -> (n, r, r)
    responses over the plotted square): a unit is dead where its response is exactly zero
    everywhere. Only layers whose every unit is in the maps (`widths`, input side first)."""
    out = {}
    for (name, maps), width in zip(neurons.items(), widths):
        maps = np.asarray(maps)
        if len(maps) != width or width == 0:
            continue  # the snapshot holds only some of this layer's units
        flat = maps.reshape(len(maps), -1)
        out[name] = float((np.abs(flat).max(axis=1) == 0).mean())
    return out


def judge(
    final: Mapping[str, float],
    *,
    n_classes: int,
    chance: float,
    chance_class: str,
    n_test: int,
    grad_norms: Mapping[str, float] | None = None,
    dead: Mapping[str, float] | None = None,
    activation: str = "relu",
    residual: bool = False,
    frozen: bool = False,
) -> Outcome:
    """The verdict on a run that ended with metrics `final` (train/test loss and accuracy).

    `chance`: the accuracy of always answering `chance_class` (`chance_level`); `n_test`: the
    test samples behind `final`; `grad_norms`: the last epoch's mean weight-gradient norm per
    layer; `dead`: the share of units per layer that output zero for every input (ReLU layers);
    `residual`: shortcuts go around the layers; `frozen`: some layers are frozen on purpose (a
    transfer run), so their zero gradient says nothing."""
    test = final.get("test_accuracy")
    train = final.get("train_accuracy")
    if test is None or not math.isfinite(test):
        return Outcome()
    m = margin(chance, n_test)
    at_chance = test <= chance + m
    baseline = (
        f"always answering {chance_class} would be right on {chance:.0%} of the test set"
        if chance > 1.0 / max(n_classes, 1) + 1e-9
        else f"guessing among {plural(n_classes, 'class')} gets {chance:.0%}"
    )
    norms = [v for v in (grad_norms or {}).values() if v is not None]
    no_gradient = bool(norms) and not frozen and all(v == 0 for v in norms)
    layer = None if residual else dead_layer(dead or {})
    if no_gradient or (layer and at_chance):
        why = (
            f"every unit of {layer} outputs zero for every input (dead ReLUs), so the network "
            "gives the same answer whatever it is shown"
            if layer and activation == "relu"
            else "no weight gets any gradient: the network gives the same answer whatever it is "
            "shown"
            + (
                " (its ReLUs are dead)"
                if activation == "relu"
                else f" (its {activation} units are saturated)"
            )
        )
        return Outcome(
            DEAD,
            f"The network is dead and learned nothing: {why}. Test accuracy {test:.0%}: "
            f"{baseline}. Try a lower learning rate, batch norm or fewer layers.",
        )
    if not at_chance:
        return Outcome()
    if train is not None and math.isfinite(train) and train > chance + max(m, 0.1):
        return Outcome(
            CHANCE,
            f"It did not generalise: right on {train:.0%} of its training data, but its test "
            f"accuracy, {test:.0%}, is no better than chance ({baseline}). It memorised the "
            "training points: try more data, a smaller network, dropout or weight decay.",
        )
    return Outcome(
        CHANCE,
        f"It learned nothing: test accuracy {test:.0%} is no better than chance ({baseline}). "
        "Try another learning rate, more epochs, or a different network.",
    )


def _activation(model: Any) -> str:
    """The units whose saturation a dead network is blamed on: a recurrent network's tanh and
    sigmoid gates, a transformer's GELU, else the network's activation."""
    if model.arch in ("rnn", "lstm", "gru"):
        return "tanh"
    if model.arch == "transformer":
        return "gelu"
    return model.activation


def of_run(state: Any, data: Any, config: Any, history: Any = None) -> Outcome:
    """The verdict on a run, from what it recorded: its final metrics and gradient norms
    (`state`, a `FitState`), its test labels and class names (`data`), its network (`config`,
    the `RunConfig` it trained: transfer runs with the backbone's model) and its `history` (a
    `RunHistory`: the last dead-unit shares of an image run, the last neuron maps of a 2-D
    one)."""
    model = config.model
    task = getattr(data, "task", "class")
    if task in ("forecast", "generate"):  # no classes: read against baselines, or the data
        return Outcome()
    n_classes = len(data.class_names)
    labels = np.asarray(data.y_test).reshape(-1)
    if task == "tokens":  # every predicted position is a sample
        labels = labels[labels >= 0]
    chance, top = chance_level(labels, n_classes)
    dead: dict[str, float] = {}
    if history is not None:
        if history.dead.last:
            dead = dict(history.dead.last["shares"])
        elif history.snapshot is not None and model.activation == "relu" and model.arch == "mlp":
            dead = dead_shares_2d(history.snapshot.neurons, model.hidden)
    residual = bool(model.residual) or any(b.residual for b in model.blocks)
    frozen = config.transfer.active and config.transfer.strategy in ("frozen", "finetune_top")
    return judge(
        state.metrics,
        n_classes=n_classes,
        chance=chance,
        chance_class=f'"{data.class_names[top]}"' if data.class_names else "one class",
        n_test=len(labels) if task == "tokens" else (state.test_samples or len(labels)),
        grad_norms=state.grad_norms,
        dead=dead,
        activation=_activation(model),
        residual=residual,
        frozen=frozen,
    )
