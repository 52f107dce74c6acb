"""Where in a network the classes become linearly separable, and how alike its layers are.

- `layer_features(model, x, y)`: every layer's activations for inputs `x`, input to output,
  as rows of features (the raw input first, as layer ``input``; the logits last, as
  ``output``);
- `linear_probe(...)`: the test accuracy of a multinomial logistic regression fitted on one
  layer's frozen features (a linear probe, Alain and Bengio 2016);
- `probe_layers(model, data)`: a probe on every layer of a classification network, input to
  output, on a capped number of the data's train and test samples (`ProbeSet`);
- `linear_cka(X, Y)` and `cka_matrix(a, b)`: linear centred kernel alignment (Kornblith et al.
  2019) between two layers, or between every layer of one network and every layer of another
  (or the same) network, on the same inputs.

How a layer becomes rows of features (`max_features` each at most, so that layers are probed
with a like number of features):

- a dense layer's output (N, D): as it is;
- a convolution's feature maps (N, C, H, W), the raw image included: average-pooled to the
  largest square grid g x g (never larger than the map) with C * g * g <= `max_features`, then
  flattened (a layer with more than `max_features` channels: the global average, C features);
  a 1-D convolution's (N, C, T) alike, to t <= `max_features` / C steps;
- a sequence model's layer (N, T, H): what its head reads. For one class a sequence, the last
  position's state (recurrent networks) or the mean over real positions (convolutions,
  transformers, the bag of words); the input is the share of each token among the real
  positions (a bag of tokens). For a class at each position (per-token tasks), one row per
  predicted position (targets not IGNORE): the layer's state there, the input its token as a
  one-hot vector.

Everything runs under `torch.no_grad()` in eval mode on the model's device (the training mode
is put back) and the hooks are removed in ``finally`` (`dlviz.probes.capture`). Forecasts and
generative models have no classes to probe: `ProbeError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlviz.data import IGNORE, Dataset
from dlviz.probes import activation_points, capture, evaluating

MAX_FEATURES = 1024  # features a layer keeps at most (feature maps are pooled down to it)
MAX_TRAIN = 2048  # train samples (positions, for per-token tasks) a probe is fitted on
MAX_TEST = 1024  # test samples it is scored on
L2 = 1e-2  # the probe's weight penalty, on standardised features: l2/2 * |W|^2
MAX_ITER = 100  # L-BFGS iterations at most
BATCH = 128  # rows per forward pass while collecting features
# A live run's probes (`dlviz.events.LayerProbes`) are smaller, to cost little next to training:
LIVE_TRAIN, LIVE_TEST, LIVE_FEATURES, LIVE_ITER = 256, 256, 256, 30
CKA_GRAM_ROWS = 2048  # cka_matrix: Gram matrices up to this many rows, feature space above


class ProbeError(ValueError):
    """The network or its data cannot be probed (no classes: a forecast, a generative model)."""


# --- every layer's features --------------------------------------------------------------------


def feature_points(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules whose outputs are the model's hidden layers, input to output: its
    activation points (`dlviz.probes.activation_points`), then a CNN's head layers (``fc1``,
    ...) after their activation."""
    points = list(activation_points(model))
    head = getattr(model, "head", None)
    if isinstance(head, nn.Sequential):
        modules = list(head)
        linear = [i for i, m in enumerate(modules) if isinstance(m, nn.Linear)]
        for k, i in enumerate(linear):
            after = modules[i + 1] if i + 1 < len(modules) else modules[i]
            points.append((f"fc{k + 1}", modules[i] if isinstance(after, nn.Linear) else after))
    return points


def _pool_maps(a: torch.Tensor, max_features: int) -> torch.Tensor:
    """(N, C, H, W) or (N, C, T) maps -> (N, D) rows, average-pooled to D <= max_features."""
    c = a.shape[1]
    if a.dim() == 4:
        g = max(1, math.isqrt(max(max_features // c, 1)))
        a = F.adaptive_avg_pool2d(a, (min(a.shape[2], g), min(a.shape[3], g)))
    elif a.dim() == 3:
        a = F.adaptive_avg_pool1d(a, min(a.shape[2], max(max_features // c, 1)))
    return a.flatten(1)


def _is_sequence_net(model: nn.Module) -> bool:
    return hasattr(model, "task") and hasattr(model, "read_out") and hasattr(model, "real")


def _task(model: nn.Module) -> str:
    task = str(getattr(model, "task", "class")) if _is_sequence_net(model) else "class"
    if task not in ("class", "tokens"):
        raise ProbeError(
            f"this network's task is {task}: a linear probe reads classes, and it has none"
        )
    return task


def layer_features(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    max_features: int = MAX_FEATURES,
    batch: int = BATCH,
) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """Every layer's features for inputs `x`, input to output (see the module docstring), as
    {name: (rows, D) float32} on the model's device, and the labels of those rows: `y` itself,
    or for a per-token task the targets of the predicted positions (None without `y`; then
    every real position is a row)."""
    task = _task(model)
    device = next(model.parameters()).device
    points = feature_points(model)
    sequence = _is_sequence_net(model)
    recurrent = sequence and any(hasattr(m, "rnn") for _, m in points)
    vocab = int(model.embed.num_embeddings) if sequence else 0  # type: ignore[union-attr, arg-type]
    out: dict[str, list[torch.Tensor]] = {}
    labels: list[torch.Tensor] = []
    with evaluating(model), capture(model, points) as store:
        for i in range(0, len(x), batch):
            xb = x[i : i + batch].to(device)
            logits = model(xb)
            layers = {"input": xb, **{name: store[name] for name, _ in points}, "output": logits}
            if not sequence:
                rows = {k: _pool_maps(v.float(), max_features) for k, v in layers.items()}
                if y is not None:
                    labels.append(y[i : i + batch].to(device))
            elif task == "class":
                real = model.real(xb)  # type: ignore[operator]  # (B, T) or None: no padding
                real = torch.ones_like(xb, dtype=torch.bool) if real is None else real
                share = real.float() / real.sum(dim=1, keepdim=True).clamp(min=1)  # (B, T)
                rows = {"input": (F.one_hot(xb, vocab).float() * share[..., None]).sum(dim=1)}
                for name, _ in points:
                    h = layers[name].float()  # (B, T, H), or (B, 1, H) for the bag of words
                    if h.shape[1] == 1:
                        rows[name] = h[:, 0]
                    elif recurrent:  # the head reads the last state (padding is on the left)
                        rows[name] = h[:, -1]
                    else:
                        rows[name] = (h * share[..., None]).sum(dim=1)
                rows["output"] = logits.float()
                if y is not None:
                    labels.append(y[i : i + batch].to(device))
            else:  # tokens: one row per predicted position
                yb = y[i : i + batch].to(device) if y is not None else None
                real = model.real(xb)  # type: ignore[operator]
                keep = yb != IGNORE if yb is not None else real
                keep = torch.ones_like(xb, dtype=torch.bool) if keep is None else keep
                rows = {"input": F.one_hot(xb[keep], vocab).float()}
                rows.update({name: layers[name][keep].float() for name, _ in points})
                rows["output"] = logits[keep].float()
                if yb is not None:
                    labels.append(yb[keep])
            for k, v in rows.items():
                out.setdefault(k, []).append(v)
    feats = {k: torch.cat(v) for k, v in out.items()}
    return feats, (torch.cat(labels) if labels else None)


# --- a linear probe ------------------------------------------------------------------------------


def logistic_loss(
    z: torch.Tensor, onehot: torch.Tensor, w: torch.Tensor, b: torch.Tensor, l2: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The probe's objective and its gradient, by hand: for logits z W + b (z (N, D), W (D, K)),
    the mean cross-entropy + l2/2 |W|^2, and d/dW = z^T (softmax - onehot) / N + l2 W,
    d/db = the mean of (softmax - onehot). Returns (loss, dW, db)."""
    logits = z @ w + b
    logp = torch.log_softmax(logits, dim=1)
    err = (logp.exp() - onehot) / len(z)  # (N, K)
    loss = -(onehot * logp).sum() / len(z) + 0.5 * l2 * (w * w).sum()
    return loss, z.T @ err + l2 * w, err.sum(dim=0)


def fit_logistic(
    x: torch.Tensor, y: torch.Tensor, n_classes: int, l2: float = L2, max_iter: int = MAX_ITER
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A multinomial logistic regression on standardised `x` (N, D), minimising
    `logistic_loss` by full-batch L-BFGS from zero weights (Nocedal and Wright, algorithms 7.4
    and 7.5: the last 10 steps' curvature, a backtracking line search to the Armijo condition; the
    problem is convex, so this finds its one minimum), at most `max_iter` steps. No randomness:
    the same input gives the same fit. Returns (mean, std, W (D, K), b (K,)); features that do
    not vary get std 1 (they standardise to 0).

    Written out rather than `torch.optim.LBFGS`: a process's first torch optimizer imports
    torch's compiler (about 1.5 s), most of what `dlviz runs probe` would otherwise wait for."""
    x = x.float()
    mean = x.mean(dim=0)
    std = x.std(dim=0) if len(x) > 1 else torch.ones_like(mean)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    z = (x - mean) / std
    d, k = x.shape[1], n_classes
    onehot = F.one_hot(y.long(), k).to(z.dtype)

    def objective(theta: torch.Tensor) -> tuple[float, torch.Tensor]:
        loss, dw, db = logistic_loss(z, onehot, theta[: d * k].view(d, k), theta[d * k :], l2)
        return float(loss), torch.cat([dw.flatten(), db])

    theta = torch.zeros(d * k + k, device=x.device)
    f, g = objective(theta)
    history: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (s, y, 1 / y.s)
    for _ in range(max_iter):
        if float(g.abs().max()) <= 1e-5:
            break
        q = g.clone()  # the two-loop recursion: q becomes H g
        alphas = []
        for s_i, y_i, rho in reversed(history):
            a = rho * float(s_i @ q)
            q -= a * y_i
            alphas.append(a)
        if history:
            s_i, y_i, _ = history[-1]
            q *= float(s_i @ y_i) / float(y_i @ y_i)
        else:
            q *= min(1.0, 1.0 / float(g.abs().sum()))  # a first step of length at most 1
        for (s_i, y_i, rho), a in zip(history, reversed(alphas)):
            q += s_i * (a - rho * float(y_i @ q))
        slope = -float(g @ q)
        if slope >= 0:  # not a descent direction (rounding): start again from the gradient
            history.clear()
            q, slope = g / float(g.norm()), -float(g.norm())
        t = 1.0
        new = theta - q
        f_new, g_new = objective(new)
        while f_new > f + 1e-4 * t * slope and t > 1e-8:
            t *= 0.5
            new = theta - t * q
            f_new, g_new = objective(new)
        if f_new > f:  # no step lowers the loss any more (rounding): done
            break
        step, change = new - theta, g_new - g
        curvature = float(step @ change)
        if curvature > 1e-10:
            history = [*history[-9:], (step, change, 1.0 / curvature)]
        converged = abs(f - f_new) <= 1e-9 * max(1.0, abs(f))
        theta, f, g = new, f_new, g_new
        if converged:
            break
    return mean, std, theta[: d * k].view(d, k), theta[d * k :]


def linear_probe(
    train_feats: torch.Tensor,
    train_y: torch.Tensor,
    test_feats: torch.Tensor,
    test_y: torch.Tensor,
    n_classes: int | None = None,
    l2: float = L2,
    max_iter: int = MAX_ITER,
) -> float:
    """Test accuracy of a linear probe: a multinomial logistic regression (`fit_logistic`)
    fitted on (train_feats (N, D), train_y (N,)) and scored on (test_feats, test_y).
    Deterministic; on the features' device. NaN without test rows."""
    if len(test_y) == 0:
        return float("nan")
    train_y, test_y = train_y.long().to(train_feats.device), test_y.long().to(test_feats.device)
    k = n_classes or int(max(train_y.max(), test_y.max())) + 1
    if len(train_y) == 0:
        return float((test_y == 0).float().mean())
    mean, std, w, b = fit_logistic(train_feats, train_y, k, l2, max_iter)
    with torch.no_grad():
        pred = (((test_feats.float() - mean) / std) @ w + b).argmax(dim=1)
    return float((pred == test_y).float().mean())


def chance_accuracy(train_y: torch.Tensor, test_y: torch.Tensor) -> float:
    """The accuracy of always answering the commonest training class: what a probe that
    learned nothing scores (per-token targets: over the predicted positions, not IGNORE)."""
    train_y, test_y = train_y.long().flatten().cpu(), test_y.long().flatten().cpu()
    train_y, test_y = train_y[train_y != IGNORE], test_y[test_y != IGNORE]
    if len(test_y) == 0 or len(train_y) == 0:
        return float("nan")
    common = torch.bincount(train_y).argmax()
    return float((test_y == common).float().mean())


@dataclass(frozen=True)
class ProbeSet:
    """The fixed samples probes are fitted and scored on: at most `max_train` of a dataset's
    train samples and `max_test` of its test samples, drawn once from `seed` (a live run probes
    the same samples each time, so its curve moves with the model only)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @classmethod
    def from_data(
        cls, data: Dataset, max_train: int = MAX_TRAIN, max_test: int = MAX_TEST, seed: int = 0
    ) -> ProbeSet:
        if data.generative or data.task not in ("class", "tokens"):
            raise ProbeError(
                f"{data.name} is a {'generative' if data.generative else data.task} dataset: "
                "a linear probe reads classes, and it has none"
            )
        gen = torch.Generator().manual_seed(seed)

        def pick(n: int, cap: int) -> torch.Tensor:
            return torch.randperm(n, generator=gen)[:cap].sort().values

        tr, te = pick(len(data.x_train), max_train), pick(len(data.x_test), max_test)
        return cls(
            data.x_train[tr], data.y_train[tr], data.x_test[te], data.y_test[te], data.n_classes
        )

    def to(self, device: torch.device | str) -> ProbeSet:
        return ProbeSet(
            self.x_train.to(device),
            self.y_train.to(device),
            self.x_test.to(device),
            self.y_test.to(device),
            self.n_classes,
        )


def _cap_rows(
    feats: dict[str, torch.Tensor], y: torch.Tensor, cap: int, seed: int
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """At most `cap` rows (a per-token task has a row per position), the same rows of every
    layer, drawn from `seed`."""
    if len(y) <= cap:
        return feats, y
    keep = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:cap]
    keep = keep.sort().values.to(y.device)
    return {k: v[keep] for k, v in feats.items()}, y[keep]


def probe_layers(
    model: nn.Module,
    data: Dataset | ProbeSet,
    max_train: int = MAX_TRAIN,
    max_test: int = MAX_TEST,
    max_features: int = MAX_FEATURES,
    seed: int = 0,
    l2: float = L2,
    max_iter: int = MAX_ITER,
) -> list[dict[str, Any]]:
    """A linear probe on every layer of a classification network, input to output:
    ``[{"name", "probe_accuracy", "dim"}]``, fitted on at most `max_train` train samples (rows)
    and scored on at most `max_test` test samples, on the model's device. `data` is the run's
    dataset (as the network takes it) or a `ProbeSet` drawn from it. Raises ProbeError for a
    network or data without classes."""
    _task(model)
    probe_set = (
        data if isinstance(data, ProbeSet) else ProbeSet.from_data(data, max_train, max_test, seed)
    )
    device = next(model.parameters()).device
    s = probe_set.to(device)
    f_tr, y_tr = layer_features(model, s.x_train, s.y_train, max_features)
    f_te, y_te = layer_features(model, s.x_test, s.y_test, max_features)
    assert y_tr is not None and y_te is not None  # labels were given
    f_tr, y_tr = _cap_rows(f_tr, y_tr, max_train, seed + 1)
    f_te, y_te = _cap_rows(f_te, y_te, max_test, seed + 2)
    return [
        {
            "name": name,
            "probe_accuracy": linear_probe(
                f_tr[name], y_tr, f_te[name], y_te, probe_set.n_classes, l2, max_iter
            ),
            "dim": int(f_tr[name].shape[1]),
        }
        for name in f_tr
    ]


# --- linear CKA ------------------------------------------------------------------------------------


def _centred(x: torch.Tensor) -> torch.Tensor:
    x = x.flatten(1).double()
    return x - x.mean(dim=0, keepdim=True)


def _u_centre(gram: torch.Tensor) -> torch.Tensor:
    """The unbiased centring of a Gram matrix (Song et al. 2012; Kornblith et al.'s
    ``center_gram(unbiased=True)``): its inner products are unbiased estimates of HSIC."""
    n = gram.shape[0]
    g = gram.clone()
    g.fill_diagonal_(0)
    means = g.sum(dim=0) / (n - 2)
    means = means - means.sum() / (2 * (n - 1))
    g = g - means[:, None] - means[None, :]
    g.fill_diagonal_(0)
    return g


def linear_cka(x: torch.Tensor, y: torch.Tensor, debiased: bool = False) -> float:
    """Linear CKA between two representations of the same n inputs, x (n, p) and y (n, q)
    (more dimensions are flattened): with centred columns,

        CKA = |y^T x|_F^2 / (|x^T x|_F |y^T y|_F),

    which is HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) for the Gram matrices K = x x^T and
    L = y y^T (Kornblith et al. 2019, eq. 5), computed in feature space or through the Gram
    matrices, whichever is cheaper. In [0, 1]; invariant to orthogonal transforms and isotropic
    scaling of either. `debiased`: from the unbiased HSIC estimator (through Gram matrices), for
    few inputs next to many features (can be slightly below 0). NaN for a constant layer."""
    if len(x) != len(y):
        raise ValueError(f"x and y must describe the same inputs: {len(x)} != {len(y)} rows")
    xc, yc = _centred(x), _centred(y.to(x.device))
    n, p, q = xc.shape[0], xc.shape[1], yc.shape[1]
    if debiased:
        if n < 4:
            raise ValueError("the debiased CKA needs at least 4 inputs")
        k, l_ = _u_centre(xc @ xc.T), _u_centre(yc @ yc.T)
        num, den = (k * l_).sum(), torch.sqrt((k * k).sum() * (l_ * l_).sum())
    elif n * n * (p + q) < n * (p * q + p * p + q * q):
        k, l_ = xc @ xc.T, yc @ yc.T
        num, den = (k * l_).sum(), torch.linalg.norm(k) * torch.linalg.norm(l_)
    else:
        num = torch.linalg.norm(yc.T @ xc) ** 2
        den = torch.linalg.norm(xc.T @ xc) * torch.linalg.norm(yc.T @ yc)
    return float(num / den) if float(den) > 0 else float("nan")


def cka_matrix(
    acts_a: Mapping[str, torch.Tensor],
    acts_b: Mapping[str, torch.Tensor] | None = None,
    debiased: bool = False,
) -> np.ndarray:
    """Linear CKA between every layer of `acts_a` ({name: (n, ...) activations}) and every
    layer of `acts_b` (default: `acts_a` itself), all of the same n inputs in the same order:
    a (len(acts_a), len(acts_b)) array, rows and columns in the mappings' order. For two runs
    (shallow against deep, a fine-tuned network against its backbone), give each run's
    `layer_features` of the same inputs; the diagonal of two like networks compares the same
    layer. Through each layer's centred Gram matrix once (up to CKA_GRAM_ROWS inputs), else
    pair by pair in feature space."""
    same = acts_b is None
    b = acts_a if acts_b is None else acts_b
    rows = {len(v) for v in (*acts_a.values(), *b.values())}
    if len(rows) > 1:
        raise ValueError(f"every layer must describe the same inputs; row counts {sorted(rows)}")
    n = rows.pop() if rows else 0
    out = np.full((len(acts_a), len(b)), np.nan)
    if n > CKA_GRAM_ROWS or (debiased and n < 4):
        for i, xa in enumerate(acts_a.values()):
            for j, xb in enumerate(b.values()):
                out[i, j] = linear_cka(xa, xb, debiased)
        return out

    def grams(acts: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        result = []
        for v in acts.values():
            c = _centred(v)
            k = c @ c.T
            k = _u_centre(k) if debiased else k
            norm = torch.linalg.norm(k)
            result.append(k / norm if float(norm) > 0 else torch.full_like(k, float("nan")))
        return result

    ga = grams(acts_a)
    gb = ga if same else grams(b)
    for i, k in enumerate(ga):
        for j, l_ in enumerate(gb):
            if same and j < i:
                out[i, j] = out[j, i]
                continue
            out[i, j] = float((k * l_.to(k.device)).sum())
    return out


def compare_layers(
    model_a: nn.Module,
    model_b: nn.Module,
    x: torch.Tensor,
    max_features: int = MAX_FEATURES,
    debiased: bool = False,
) -> tuple[list[str], list[str], np.ndarray]:
    """Linear CKA between every layer of `model_a` and every layer of `model_b` on inputs `x`
    (each as its network takes them: the same images): their layer names, input to output, and
    the (layers of a, layers of b) matrix. `model_b` may be `model_a` (one run's layers against
    each other)."""
    fa, _ = layer_features(model_a, x, max_features=max_features)
    fb = fa if model_b is model_a else layer_features(model_b, x, max_features=max_features)[0]
    fb = {k: v.to(next(iter(fa.values())).device) for k, v in fb.items()}
    matrix = cka_matrix(fa, None if model_b is model_a else fb, debiased)
    return list(fa), list(fb), matrix
