"""A training step with less framework around it, for the networks where the framework is most
of the step: the Playground's tiny MLPs spend far more time in Python and dispatch than in
arithmetic (about 30 small operations a step, each costing more than its sums).

Two parts, each giving exactly the numbers of the usual path (tests/core/test_fast_step.py
checks them bit for bit against autograd and `Optimizer.step`):

- `LeanStep`: the optimizer's update by its fused kernel, called directly with the optimizer's
  own state, instead of `Optimizer.step()` (which regroups every tensor by device and dtype,
  wraps the call in profiling hooks and checks its arguments again at every step: on the
  default network that took longer than the forward and backward passes together).
- `mlp_update`: a plain MLP's forward and backward by hand, calling the same ATen kernels in
  the same order that autograd calls (addmm; relu, tanh, sigmoid or gelu; log-softmax and
  NLL; their backward functions), without building the graph.

Both fall back to the usual path wherever they do not apply (see each). `train.fit` uses them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

import torch
from torch import nn
from torch.optim.adam import adam as _adam_update
from torch.optim.adamw import adamw as _adamw_update
from torch.optim.sgd import sgd as _sgd_update

from dlviz.data import IGNORE

Update = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_MEAN = 1  # ATen's Reduction::Mean


class LeanStep:
    """`optimizer.step()` for Adam, AdamW and SGD built with `fused=True` or `foreach=True`:
    after the first step (taken by the optimizer itself, which creates its state), the fused
    kernel, or torch's own foreach update (the functional `torch.optim.adam.adam`, `adamw` or
    `sgd` that `step()` calls), is called directly with the same state tensors, so the
    optimizer object stays the one source of truth (its `state_dict`, its hyperparameters,
    read at every step). Any other optimizer, or any setting the direct call does not cover,
    goes through `optimizer.step()`."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        self._groups: list[tuple[dict[str, Any], list[torch.Tensor], list[list[torch.Tensor]]]]
        self._groups = []
        self._ready = False
        self._direct = _direct_kind(optimizer)

    def __call__(self) -> None:
        if not self._ready:
            self.optimizer.step()
            self._ready = self._direct is not None and self._gather()
            return
        kind = self._direct
        if kind is not None and kind.startswith("foreach"):
            self._foreach(kind)
            return
        for group, params, state in self._groups:
            grads = cast("list[torch.Tensor]", [p.grad for p in params])
            if kind == "sgd":
                momentum = group["momentum"]
                torch._fused_sgd_(
                    params,
                    grads,
                    state[0] if momentum else [],
                    weight_decay=group["weight_decay"],
                    momentum=momentum,
                    lr=group["lr"],
                    dampening=group["dampening"],
                    nesterov=group["nesterov"],
                    maximize=False,
                    is_first_step=False,
                    grad_scale=None,
                    found_inf=None,
                )
                continue
            exp_avgs, exp_avg_sqs, steps = state
            torch._foreach_add_(steps, 1)
            beta1, beta2 = group["betas"]
            kernel = torch._fused_adamw_ if kind == "adamw" else torch._fused_adam_
            kernel(
                params,
                grads,
                exp_avgs,
                exp_avg_sqs,
                [],
                steps,
                amsgrad=False,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )

    def _foreach(self, kind: str) -> None:
        """The foreach update, as `step()` makes it: the same functional call, arguments and
        state, without the regrouping and hooks around it."""
        with torch.no_grad():
            for group, params, state in self._groups:
                grads = cast("list[torch.Tensor]", [p.grad for p in params])
                if kind == "foreach_sgd":
                    buffers: list[torch.Tensor | None] = (
                        list(state[0]) if group["momentum"] else [None] * len(params)
                    )
                    _sgd_update(
                        params,
                        grads,
                        buffers,
                        foreach=True,
                        weight_decay=group["weight_decay"],
                        momentum=group["momentum"],
                        lr=group["lr"],
                        dampening=group["dampening"],
                        nesterov=group["nesterov"],
                        maximize=False,
                    )
                    continue
                update = _adamw_update if kind == "foreach_adamw" else _adam_update
                beta1, beta2 = group["betas"]
                update(
                    params,
                    grads,
                    state[0],
                    state[1],
                    [],
                    state[2],
                    foreach=True,
                    amsgrad=False,
                    beta1=beta1,
                    beta2=beta2,
                    lr=group["lr"],
                    weight_decay=group["weight_decay"],
                    eps=group["eps"],
                    maximize=False,
                )

    def _gather(self) -> bool:
        """The optimizer's state, per group, in the lists the kernels take; False where a
        parameter has no gradient or no state (frozen, or not trained by this optimizer; plain
        SGD keeps none and needs none), or the parameters differ in device or dtype: the
        optimizer's own step handles those."""
        groups: list[tuple[dict[str, Any], list[torch.Tensor], list[list[torch.Tensor]]]] = []
        kind = self._direct
        for group in self.optimizer.param_groups:
            params = list(group["params"])
            sgd = kind in ("sgd", "foreach_sgd")
            stateless = sgd and not group["momentum"]  # plain SGD keeps no state
            if not params or any(
                p.grad is None
                or p.grad.is_sparse
                or (p not in self.optimizer.state and not stateless)
                for p in params
            ):
                return False
            if len({(p.device, p.dtype) for p in params}) != 1:
                return False
            if stateless:
                groups.append((group, params, [[]]))
                continue
            states = [self.optimizer.state[p] for p in params]
            if sgd:
                buffers = [s.get("momentum_buffer") for s in states]
                if any(b is None for b in buffers):
                    return False
                groups.append((group, params, [buffers]))
            else:
                lists = [[s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]]
                groups.append((group, params, [*lists, [s["step"] for s in states]]))
        self._groups = groups
        return True


class LeanOptimizer:
    """An optimizer as a model's own `train_step` uses it (`zero_grad`, `step`), with less
    around each call: `step()` is `LeanStep`'s, and `zero_grad()` drops the gradients itself
    (what `Optimizer.zero_grad(set_to_none=True)` does, without its profiling hooks). Everything
    else (`param_groups`, `state`, `state_dict`, ...) is the optimizer's own. `train.fit` wraps a
    generative model's optimizers in it; the weights are the same bit for bit."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        self._step = LeanStep(optimizer)
        self._params = [p for g in optimizer.param_groups for p in g["params"]]

    def step(self) -> None:
        self._step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        if not set_to_none:
            self.optimizer.zero_grad(set_to_none=False)
            return
        for p in self._params:
            p.grad = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


def _direct_kind(optimizer: torch.optim.Optimizer) -> str | None:
    """ "adam", "adamw" or "sgd" where `LeanStep` may call the fused kernel itself,
    "foreach_adam", "foreach_adamw" or "foreach_sgd" where it may make the foreach update
    itself, else None."""
    defaults = optimizer.defaults
    if defaults.get("fused"):
        prefix = ""
    elif defaults.get("foreach"):
        prefix = "foreach_"
    else:
        return None
    if defaults.get("maximize") or defaults.get("differentiable"):
        return None
    if type(optimizer) is torch.optim.SGD:
        return f"{prefix}sgd"
    if defaults.get("amsgrad") or defaults.get("capturable"):
        return None
    if any(torch.is_tensor(g["lr"]) for g in optimizer.param_groups):
        return None
    if type(optimizer) is torch.optim.AdamW:
        return f"{prefix}adamw"
    if type(optimizer) is torch.optim.Adam:
        return None if defaults.get("decoupled_weight_decay") else f"{prefix}adam"
    return None


@functools.lru_cache(maxsize=8)
def fused_supported(device: torch.device) -> bool:
    """Whether this torch has fused optimizer kernels for `device` (CPU ones came in 2.4)."""
    try:
        torch.optim.Adam([torch.zeros(1, device=device, requires_grad=True)], fused=True)
    except (RuntimeError, ValueError, TypeError):
        return False
    return True


# --- a plain MLP by hand ----------------------------------------------------------------------

_BACKWARD: dict[type[nn.Module], Callable[[torch.Tensor, torch.Tensor, torch.Tensor], Any]] = {
    # (gradient of the output, the layer's input, its output) -> gradient of its input,
    # by the kernel autograd's own backward node calls
    nn.ReLU: lambda g, _x, out: torch.ops.aten.threshold_backward(g, out, 0),
    nn.Tanh: lambda g, _x, out: torch.ops.aten.tanh_backward(g, out),
    nn.Sigmoid: lambda g, _x, out: torch.ops.aten.sigmoid_backward(g, out),
    nn.GELU: lambda g, x, _out: torch.ops.aten.gelu_backward(g, x, approximate="none"),
}
_FORWARD: dict[type[nn.Module], Callable[[torch.Tensor], torch.Tensor]] = {
    nn.ReLU: torch.relu,
    nn.Tanh: torch.tanh,
    nn.Sigmoid: torch.sigmoid,
    nn.GELU: lambda x: torch._C._nn.gelu(x),
}


def mlp_update(model: nn.Module, step: Callable[[], None], task: str) -> Update | None:
    """The training update (forward, cross-entropy, backward, `step`) of a plain MLP by hand:
    every weight's gradient left in `.grad` as autograd leaves it, the loss returned detached.

    Only for `dlviz.models.mlp.MLP` classifying 2-D input, with no norm, no dropout and no
    shortcuts, every parameter trained, in float32, and no hooks on any module (a hook would
    expect to see the forward pass); None otherwise, and the caller takes the usual path."""
    from dlviz.models.mlp import MLP, DenseBlock  # the registry imports models lazily

    if task != "class" or not isinstance(model, MLP):
        return None
    blocks = cast("list[DenseBlock]", list(model.blocks))
    if any(
        not isinstance(b.norm, nn.Identity)
        or not isinstance(b.drop, nn.Identity)
        or b.skip is not None
        for b in blocks
    ):
        return None
    acts = [type(b.act) for b in blocks]
    if any(a not in _BACKWARD for a in acts):
        return None
    if any(isinstance(a, nn.GELU) and a.approximate != "none" for a in model.modules()):
        return None
    params = list(model.parameters())
    if any(not p.requires_grad or p.dtype != torch.float32 for p in params):
        return None
    if any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in model.modules()):
        return None
    if torch.nn.modules.module._global_forward_hooks:
        return None
    linears = [b.linear for b in blocks] + [cast(nn.Linear, model.head)]
    weights = [m.weight for m in linears]
    biases = [cast(torch.Tensor, m.bias) for m in linears]
    forward_acts = [_FORWARD[a] for a in acts]
    backward_acts = [_BACKWARD[a] for a in acts]
    one = torch.ones((), device=weights[0].device)  # the loss's gradient, as backward() seeds it

    @torch.no_grad()  # no graph: the gradients are made here (a graph held in .grad would
    # keep each run's weights alive after it ends: a cycle through torch's C++ graph)
    def update(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        # forward: h_{i+1} = act(h_i W_i^T + b_i), as nn.Linear calls addmm
        inputs, pre, outs = [], [], []
        h = xb.flatten(1)
        for w, b, act in zip(weights, biases, forward_acts):
            inputs.append(h)
            z = torch.addmm(b, h, w.t())
            pre.append(z)
            h = act(z)
            outs.append(h)
        inputs.append(h)
        logits = torch.addmm(biases[-1], h, weights[-1].t())  # (B, classes)
        logp = torch._log_softmax(logits, 1, False)
        loss, total = torch.ops.aten.nll_loss_forward(logp, yb, None, _MEAN, IGNORE)
        # backward, output to input
        g = torch.ops.aten.nll_loss_backward(one, logp, yb, None, _MEAN, IGNORE, total)
        g = torch.ops.aten._log_softmax_backward_data(g, logp, 1, logp.dtype)
        for i in range(len(weights) - 1, -1, -1):
            x_in = inputs[i]
            weights[i].grad = g.t().mm(x_in)
            biases[i].grad = g.sum(0)
            if i == 0:
                break
            g = g.mm(weights[i])
            g = backward_acts[i - 1](g, pre[i - 1], outs[i - 1])
        step()
        return loss.detach()

    return update
