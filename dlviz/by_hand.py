"""One training step of a tiny network, every number of it: the Playground's step by hand.

`HandNet` is a network small enough to read (2-3-2, 2-4-4-2), built as the Playground builds
its MLP (`dlviz.models.build_model`: linear layers, an activation after each hidden one, two
logits and cross-entropy, as `dlviz.train` trains it) with the optimizer the Playground would
make (`dlviz.train.make_optimizer`). `HandNet.step(x, y)` runs one real training step on a
batch of a few samples and returns a `StepRecord` of the real tensors:

- forward: each layer's inputs, pre-activations z = W a_prev + b and activations a = f(z);
- loss: the logits, the softmax probabilities, each sample's -log p(true class) and their mean;
- backward: dL/dz and dL/da of every neuron of every sample and dL/dW, dL/db of every
  parameter, read from autograd (`retain_grad`), not derived again;
- update: every parameter before and after the optimizer's own `.step()`, with its state
  (the momentum buffer; Adam's m and v, and the bias-corrected m-hat and v-hat), carried
  from one step to the next.

`chain_rule(record, layer, j, i)` writes out dL/dw for one weight as the chain rule gives it,
with the recorded numbers: dL/dw = sum over samples of dL/dz_j * a_i, where dL/dz_j =
(p_j - y_j) / B at the output (the loss is the batch's mean) and dL/dz_j = dL/da_j * f'(z_j)
in a hidden layer, with dL/da_j = sum over the next layer's units k of dL/dz_k * w_kj.

Nothing here touches a Playground run: the tiny network is its own, reset by building another.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dlviz.config import ModelConfig, TrainConfig
from dlviz.models import MLP, build_model
from dlviz.text import plural
from dlviz.train import make_optimizer

# The networks offered, by name: inputs, hidden widths, classes.
SIZES: dict[str, tuple[int, ...]] = {
    "2-2-2": (2, 2, 2),
    "2-3-2": (2, 3, 2),
    "2-4-4-2": (2, 4, 4, 2),
}
# The optimizers offered (as `TrainConfig.optimizer` names them); momentum is 0.9, Adam's
# betas and eps are torch's defaults, as in a Playground run.
OPTIMIZERS = ("sgd", "momentum", "adam")
BATCHES = (2, 4)


@dataclass(frozen=True)
class ParamStep:
    """One parameter tensor (a layer's weight or bias) through the update.

    `state_before` and `state` are the optimizer's state of it before and after `.step()`:
    ``{"buffer"}`` for momentum (empty before the first step), ``{"m", "v"}`` and after the
    step also ``{"m_hat", "v_hat"}`` for Adam (m-hat = m / (1 - beta1^t), v-hat =
    v / (1 - beta2^t)), nothing for plain SGD.
    """

    before: torch.Tensor
    grad: torch.Tensor
    after: torch.Tensor
    state_before: dict[str, torch.Tensor]
    state: dict[str, torch.Tensor]


@dataclass(frozen=True)
class LayerStep:
    """One weight layer of one step. Shapes: B samples, n_in inputs, n_out units."""

    name: str  # hidden1, hidden2, ..., output
    inputs: torch.Tensor  # (B, n_in): x, or the previous layer's activations
    z: torch.Tensor  # (B, n_out): W inputs + b
    a: torch.Tensor  # (B, n_out): f(z); the output layer has no activation: a is z (logits)
    slope: torch.Tensor | None  # (B, n_out): f'(z); None at the output
    grad_z: torch.Tensor  # (B, n_out): dL/dz
    grad_a: torch.Tensor | None  # (B, n_out): dL/da; None at the output
    weight: ParamStep  # (n_out, n_in)
    bias: ParamStep  # (n_out,)

    @property
    def hidden(self) -> bool:
        return self.slope is not None


@dataclass(frozen=True)
class StepRecord:
    """One training step: forward, loss, backward and update, as real tensors (CPU, detached)."""

    step: int  # 1 for the network's first step
    x: torch.Tensor  # (B, 2)
    y: torch.Tensor  # (B,) classes
    layers: tuple[LayerStep, ...]  # input to output
    probs: torch.Tensor  # (B, C): softmax of the logits
    terms: torch.Tensor  # (B,): each sample's -log p(true class)
    loss: float  # cross-entropy, the mean of `terms`
    optimizer: str  # sgd, momentum, adam
    lr: float
    momentum: float  # 0 but for momentum
    betas: tuple[float, float]  # Adam's; (0, 0) for the others
    eps: float  # Adam's; 0 for the others

    @property
    def logits(self) -> torch.Tensor:
        return self.layers[-1].z

    @property
    def batch(self) -> int:
        return len(self.y)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.layers[0].inputs.shape[1], *(layer.z.shape[1] for layer in self.layers))


@dataclass(frozen=True)
class ChainRule:
    """dL/dw of one weight w (layer `layer`, from input unit `i` to unit `j`) written out with
    the recorded numbers, one entry a sample. The chain's own arithmetic: `value` should equal
    the autograd gradient `autograd`, `grad_z` the recorded dL/dz_j, `grad_a` the recorded
    dL/da_j."""

    layer: int
    j: int
    i: int
    name: str  # "x1→h1"
    inputs: torch.Tensor  # (B,): a_i, what w multiplies
    grad_z: torch.Tensor  # (B,): dL/dz_j as the chain computes it
    terms: torch.Tensor  # (B,): dL/dz_j * a_i
    value: float  # sum of `terms`
    autograd: float  # w.grad after backward
    # the output layer: dL/dz_j = (p_j - y_j) / B
    probs: torch.Tensor | None = None  # (B,): p_j
    targets: torch.Tensor | None = None  # (B,): 1 where the sample's class is j, else 0
    # a hidden layer: dL/dz_j = dL/da_j * f'(z_j), dL/da_j = sum_k dL/dz_k * w_kj
    next_grad_z: torch.Tensor | None = None  # (B, K): the next layer's dL/dz
    next_weight: torch.Tensor | None = None  # (K,): w_kj, the next layer's weights from j
    grad_a: torch.Tensor | None = None  # (B,): dL/da_j
    slope: torch.Tensor | None = None  # (B,): f'(z_j)


# --- names ------------------------------------------------------------------------------------


def unit_names(sizes: tuple[int, ...]) -> list[list[str]]:
    """Each layer's units, input to output: x1, x2; h1, h2, ... (h1.1, h2.1, ... with several
    hidden layers); o0, o1, the logits of class 0 and class 1."""
    n_hidden = len(sizes) - 2
    names = [[f"x{k + 1}" for k in range(sizes[0])]]
    for layer, width in enumerate(sizes[1:-1]):
        prefix = f"h{layer + 1}." if n_hidden > 1 else "h"
        names.append([f"{prefix}{k + 1}" for k in range(width)])
    names.append([f"o{k}" for k in range(sizes[-1])])
    return names


def weight_name(sizes: tuple[int, ...], layer: int, j: int, i: int) -> str:
    """The weight of weight layer `layer` from input unit `i` to unit `j`, e.g. "x1→h2"."""
    names = unit_names(sizes)
    return f"{names[layer][i]}→{names[layer + 1][j]}"


def weights(sizes: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """Every weight as (layer, j, i), input side first."""
    return [
        (layer, j, i)
        for layer in range(len(sizes) - 1)
        for j in range(sizes[layer + 1])
        for i in range(sizes[layer])
    ]


# --- the batch ----------------------------------------------------------------------------------


def pick_batch(x: torch.Tensor, y: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` samples (an even number): the first n/2 points of class 0 and of class 1 in `x`,
    the classes taking turns. Raises ValueError when a class has too few points."""
    if n < 2 or n % 2:
        raise ValueError(f"the batch needs an even number of samples, got {n}")
    picks = []
    for c in (0, 1):
        where = torch.nonzero(y == c).flatten()[: n // 2]
        if len(where) < n // 2:
            raise ValueError(
                f"class {c} has {plural(len(where), 'point')}; the batch needs {n // 2}"
            )
        picks.append(where)
    order = torch.stack(picks, 1).flatten()  # class 0, class 1, class 0, ...
    return x[order].detach().clone(), y[order].detach().clone()


# --- the network --------------------------------------------------------------------------------


class HandNet:
    """A tiny MLP and its optimizer, stepped one batch at a time.

    Args:
        sizes: inputs, hidden widths, classes, e.g. (2, 3, 2).
        activation: the hidden layers' activation (relu, tanh, sigmoid, gelu).
        optimizer: sgd, momentum or adam.
        lr: the learning rate.
        seed: the initial weights' seed (the same seed gives the same network).
    """

    def __init__(
        self, sizes: tuple[int, ...], activation: str, optimizer: str, lr: float, seed: int = 0
    ):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
        cfg = ModelConfig(arch="mlp", hidden=tuple(sizes[1:-1]), activation=activation)
        model = build_model(cfg, (sizes[0],), sizes[-1], seed=seed)
        assert isinstance(model, MLP)
        self.model: MLP = model
        self.sizes = tuple(sizes)
        self.optimizer_name = optimizer
        self.optimizer = make_optimizer(model, TrainConfig(optimizer=optimizer, lr=lr))
        self.steps = 0

    def layers(self) -> list[nn.Linear]:
        return [module for _, module in self.model.weight_layers()]  # type: ignore[misc]

    def step(self, x: torch.Tensor, y: torch.Tensor) -> StepRecord:
        """One training step on the batch (x: (B, 2), y: (B,)), recorded."""
        model, opt = self.model, self.optimizer
        model.train()
        linears = self.layers()
        acts = [module for _, module in model.activation_points()]  # each hidden layer's f
        seen: dict[str, torch.Tensor] = {}

        def keep(name: str):
            def hook(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
                if isinstance(module, nn.Linear):
                    seen[f"{name}.in"] = args[0]
                out.retain_grad()  # dL/dz, dL/da: kept by autograd for us to read
                seen[name] = out

            return hook

        hooks = [lin.register_forward_hook(keep(f"z{k}")) for k, lin in enumerate(linears)]
        hooks += [act.register_forward_hook(keep(f"a{k}")) for k, act in enumerate(acts)]
        try:
            logits = model(x)  # (B, C): the model's own forward
            loss = F.cross_entropy(logits, y)  # what dlviz.train minimises for classes
            opt.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            for h in hooks:
                h.remove()
        before = [(lin.weight.detach().clone(), lin.bias.detach().clone()) for lin in linears]
        states_before = [
            (self._state(lin.weight, hats=False), self._state(lin.bias, hats=False))
            for lin in linears
        ]
        grads = [(lin.weight.grad.clone(), lin.bias.grad.clone()) for lin in linears]  # type: ignore[union-attr]
        opt.step()
        self.steps += 1
        records = []
        for k, lin in enumerate(linears):
            hidden = k < len(acts)
            z = seen[f"z{k}"]
            a = seen[f"a{k}"] if hidden else z
            params = []
            for p, old, grad, state_before in zip(
                (lin.weight, lin.bias), before[k], grads[k], states_before[k]
            ):
                params.append(
                    ParamStep(
                        before=old,
                        grad=grad,
                        after=p.detach().clone(),
                        state_before=state_before,
                        state=self._state(p),
                    )
                )
            records.append(
                LayerStep(
                    name=f"hidden{k + 1}" if hidden else "output",
                    inputs=seen[f"z{k}.in"].detach().clone(),
                    z=z.detach().clone(),
                    a=a.detach().clone(),
                    slope=_slope(acts[k], z) if hidden else None,
                    grad_z=z.grad.detach().clone(),  # type: ignore[union-attr]
                    grad_a=a.grad.detach().clone() if hidden else None,  # type: ignore[union-attr]
                    weight=params[0],
                    bias=params[1],
                )
            )
        group = opt.param_groups[0]
        adam = self.optimizer_name == "adam"
        return StepRecord(
            step=self.steps,
            x=x.detach().clone(),
            y=y.detach().clone(),
            layers=tuple(records),
            probs=torch.softmax(logits.detach(), dim=1),
            terms=F.cross_entropy(logits.detach(), y, reduction="none"),
            loss=float(loss.detach()),
            optimizer=self.optimizer_name,
            lr=float(group["lr"]),
            momentum=float(group.get("momentum", 0.0) or 0.0) if not adam else 0.0,
            betas=tuple(group["betas"]) if adam else (0.0, 0.0),  # type: ignore[arg-type]
            eps=float(group["eps"]) if adam else 0.0,
        )

    def _state(self, p: torch.Tensor, hats: bool = True) -> dict[str, torch.Tensor]:
        """The optimizer's state of `p` now, by the names the page shows; `hats`: with Adam's
        bias-corrected moments."""
        state = self.optimizer.state.get(p, {})
        if self.optimizer_name == "momentum":
            buf = state.get("momentum_buffer")
            return {} if buf is None else {"buffer": buf.detach().clone()}
        if self.optimizer_name != "adam" or "exp_avg" not in state:
            return {}
        m, v = state["exp_avg"].detach().clone(), state["exp_avg_sq"].detach().clone()
        if not hats:
            return {"m": m, "v": v}
        beta1, beta2 = self.optimizer.param_groups[0]["betas"]
        t = int(state["step"])  # the steps taken, this one included
        return {"m": m, "v": v, "m_hat": m / (1 - beta1**t), "v_hat": v / (1 - beta2**t)}


def _slope(act: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """f'(z) of an elementwise activation at each z, by autograd."""
    zz = z.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (slope,) = torch.autograd.grad(act(zz).sum(), zz)
    return slope


# --- the chain rule for one weight --------------------------------------------------------------


def chain_rule(record: StepRecord, layer: int, j: int, i: int) -> ChainRule:
    """dL/dw of weight (layer, j, i) computed by the chain rule from the recorded numbers."""
    here = record.layers[layer]
    inputs = here.inputs[:, i]
    extra: dict[str, torch.Tensor] = {}
    if not here.hidden:
        probs = record.probs[:, j]
        targets = (record.y == j).to(probs.dtype)
        grad_z = (probs - targets) / record.batch  # the loss is the mean over the batch
        extra = {"probs": probs, "targets": targets}
    else:
        nxt = record.layers[layer + 1]
        next_weight = nxt.weight.before[:, j]  # (K,): w_kj, as the forward pass used it
        grad_a = (nxt.grad_z * next_weight).sum(1)  # (B,)
        slope = here.slope[:, j]  # type: ignore[index]
        grad_z = grad_a * slope
        extra = {
            "next_grad_z": nxt.grad_z,
            "next_weight": next_weight,
            "grad_a": grad_a,
            "slope": slope,
        }
    terms = grad_z * inputs
    return ChainRule(
        layer=layer,
        j=j,
        i=i,
        name=weight_name(record.sizes, layer, j, i),
        inputs=inputs,
        grad_z=grad_z,
        terms=terms,
        value=float(terms.sum()),
        autograd=float(here.weight.grad[j, i]),
        **extra,
    )
