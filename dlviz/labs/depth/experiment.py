"""The depth experiment: one network at a ladder of depths, plain and residual, on the same
data, split and seed; what each depth reached and how much gradient reached its first layer.

On its defaults (the spiral, 16 units a layer, ReLU, no normalisation, Adam at 0.003, 40 epochs)
it shows on a CPU, in under two minutes, what He et al. (2016) reported: past a few layers the
plain network's *training* accuracy falls (depth 4: about 85%, 16 and 32: 50%, chance), while
the residual one's stays high. Its sigmoid networks show what Glorot and Bengio (2010) reported:
gradients shrink toward the input layers, by orders of magnitude as layers are added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from dlviz.captions import factor
from dlviz.config import ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig
from dlviz.sweeps.aggregate import mean_ci

DEFAULT_DEPTHS = (1, 2, 4, 8, 16, 32)
# plain and residual use the experiment's activation; sigmoid is a plain network of sigmoids
VARIANTS = ("plain", "residual", "sigmoid")


@dataclass(frozen=True)
class DepthExperiment:
    """Which depths, how wide, which activation, on which data and training settings."""

    depths: tuple[int, ...] = DEFAULT_DEPTHS
    width: int = 16
    activation: str = "relu"
    data: DataConfig = DataConfig(name="spiral", n_samples=1000, noise=0.1)
    train: TrainConfig = TrainConfig(lr=0.003, epochs=40, batch_size=32)
    variants: tuple[str, ...] = VARIANTS
    seeds: tuple[int, ...] = (0,)  # each rung once per seed (train.seed); the split stays

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError("seeds", "choose one or more different seeds")
        if not self.depths:
            raise ConfigError("depths", "choose at least one depth")
        if len(set(self.depths)) != len(self.depths):
            raise ConfigError("depths", "each depth once")
        for v in self.variants:
            if v not in VARIANTS:
                raise ConfigError("variants", f"must be plain, residual or sigmoid, got {v!r}")
        if not self.variants:
            raise ConfigError("variants", "choose at least one of plain, residual, sigmoid")
        for d in self.depths:  # ModelConfig checks each depth and width
            ModelConfig(hidden=(self.width,) * d, activation=self.activation)

    def configs(self) -> list[tuple[str, int, RunConfig]]:
        """(variant, depth, config) in the order they run: each seed in turn, and in it each
        variant from shallow to deep (so the first seed's ladder is whole first). A run's name
        is "depth D VARIANT", with " seed S" when there are several seeds."""
        out = []
        for seed in self.seeds:
            train = replace(self.train, seed=seed)
            for variant in self.variants:
                for depth in sorted(self.depths):
                    model = ModelConfig(
                        hidden=(self.width,) * depth,
                        activation="sigmoid" if variant == "sigmoid" else self.activation,
                        residual=variant == "residual",
                    )
                    name = f"depth {depth} {variant}" + (
                        f" seed {seed}" if len(self.seeds) > 1 else ""
                    )
                    out.append((variant, depth, RunConfig(self.data, model, train, name=name)))
        return out


@dataclass(frozen=True)
class DepthResult:
    """What one rung of the ladder reached (NaN where it has not ended, or diverged)."""

    variant: str
    depth: int
    status: str
    train_accuracy: float
    test_accuracy: float
    first_grad: float  # mean L2 norm of the first layer's weight gradient, last epoch
    last_grad: float  # the same for the output layer
    seconds: float
    profile: tuple[float, ...] = ()  # every layer's gradient norm, input to output
    activation: str = "relu"  # of the network's hidden layers
    seed: int = 0
    # over seeds (`over_seeds`): how many finished, and the 95% intervals of the accuracies
    n: int = 1
    train_ci: tuple[float, float] | None = None
    test_ci: tuple[float, float] | None = None

    @property
    def finished(self) -> bool:
        return self.status == "finished"


def result_of(variant: str, depth: int, history: Any) -> DepthResult:
    """A DepthResult from a run's `RunHistory` (or anything with the same fields). Only a run
    that finished has numbers: one that was stopped (or diverged) trained for fewer epochs than
    the others, and its numbers would not compare (NaN, its status says what happened)."""
    done = history.status == "finished"
    final = history.final if done else {}
    norms = history.grad_norms.last["norms"] if done and history.grad_norms.last else []
    nan = math.nan
    model = history.config.get("model", {}) if isinstance(history.config, dict) else {}
    return DepthResult(
        variant=variant,
        depth=depth,
        status=history.status,
        train_accuracy=final.get("train_accuracy", nan),
        test_accuracy=final.get("test_accuracy", nan),
        first_grad=norms[0] if norms else nan,
        last_grad=norms[-1] if norms else nan,
        seconds=history.elapsed if done else nan,
        profile=tuple(norms),
        activation="sigmoid" if variant == "sigmoid" else model.get("activation", "relu"),
        seed=int((history.config.get("train", {}) if isinstance(history.config, dict) else {})
                 .get("seed", 0)),
    )  # fmt: skip


def over_seeds(results: list[DepthResult]) -> list[DepthResult]:
    """One DepthResult per (variant, depth): the mean over its finished seeds of each number
    (the gradients' profile too), with the accuracies' 95% intervals (Student's t; None with
    one seed) and `n`, the seeds averaged; NaN and n = 0 until one has finished. With one seed
    each, the results as they are."""
    if len({r.seed for r in results}) <= 1:
        return results
    keys = list(dict.fromkeys((r.variant, r.depth) for r in results))
    out = []
    for variant, depth in keys:
        rows = [r for r in results if (r.variant, r.depth) == (variant, depth)]
        done = [r for r in rows if r.finished]
        if not done:
            out.append(replace(rows[0], status=rows[-1].status, n=0, profile=()))
            continue

        def mean(field: str, done=done) -> float:
            return sum(getattr(r, field) for r in done) / len(done)

        train_m, train_ci = mean_ci([r.train_accuracy for r in done])
        test_m, test_ci = mean_ci([r.test_accuracy for r in done])
        lengths = {len(r.profile) for r in done}
        profile = (
            tuple(sum(p) / len(done) for p in zip(*(r.profile for r in done)))
            if len(lengths) == 1
            else ()
        )
        out.append(
            replace(
                done[0],
                status="finished" if len(done) == len(rows) else f"{len(done)} of {len(rows)}",
                train_accuracy=train_m,
                test_accuracy=test_m,
                first_grad=mean("first_grad"),
                last_grad=mean("last_grad"),
                seconds=mean("seconds"),
                profile=profile,
                n=len(done),
                train_ci=tuple(train_ci) if train_ci else None,
                test_ci=tuple(test_ci) if test_ci else None,
            )
        )
    return out


def seeds_reading(results: list[DepthResult]) -> list[str]:
    """With several seeds: at each depth, in how many seeds the residual network's training
    accuracy beats the plain one's, in words (the deepest depth, and any depth where the
    seeds disagree)."""
    seeds = sorted({r.seed for r in results})
    if len(seeds) < 2:
        return []
    by = {(r.variant, r.depth, r.seed): r for r in results if r.finished}
    depths = sorted({r.depth for r in results})
    out = []
    for depth in depths:
        pairs = [
            (by[("residual", depth, s)], by[("plain", depth, s)])
            for s in seeds
            if ("residual", depth, s) in by and ("plain", depth, s) in by
        ]
        if len(pairs) < 2:
            continue
        wins = sum(res.train_accuracy > plain.train_accuracy for res, plain in pairs)
        gap = sum(res.train_accuracy - plain.train_accuracy for res, plain in pairs) / len(pairs)
        if depth == depths[-1] or 0 < wins < len(pairs):
            n = len(pairs)
            how = (
                f"in all {n} seeds"
                if wins == n
                else f"in {wins} of {n} seeds"
                if wins * 2 > n
                else f"in only {wins} of {n} seeds"
            )
            shown = f"{gap:+.0%}" if round(gap * 100) != 0 else f"{gap:+.1%}, about even"
            out.append(
                f"At depth {depth} the residual network beats the plain one in training "
                f"accuracy {how} (by {shown} on average)."
            )
    return out


def _peak(rows: list[DepthResult]) -> DepthResult | None:
    done = [r for r in rows if not math.isnan(r.train_accuracy)]
    return max(done, key=lambda r: (r.train_accuracy, -r.depth)) if done else None


def reading(results: list[DepthResult], chance: float = 0.5) -> list[str]:
    """What the finished ladder shows, in plain sentences (empty until something has ended)."""
    out = []
    by = {
        v: sorted((r for r in results if r.variant == v), key=lambda r: r.depth) for v in VARIANTS
    }
    for variant, rows in by.items():
        if variant == "sigmoid":
            continue  # read for its gradients, below
        peak = _peak(rows)
        if peak is None:
            continue
        deepest = [r for r in rows if not math.isnan(r.train_accuracy)][-1]
        if deepest.depth > peak.depth and deepest.train_accuracy < peak.train_accuracy - 0.05:
            near_chance = deepest.train_accuracy <= chance + 0.05
            out.append(
                f"{variant.capitalize()}: training accuracy is highest at depth {peak.depth} "
                f"({peak.train_accuracy:.0%}) and falls to {deepest.train_accuracy:.0%} at depth "
                f"{deepest.depth}"
                + (" - no better than guessing" if near_chance else "")
                + ". A deeper network can represent everything a shallower one can (its extra "
                "layers could pass their input through), yet it fits its own training data "
                "worse: it is harder to optimise, not overfitting (He et al., 2016)."
            )
        else:
            out.append(
                f"{variant.capitalize()}: training accuracy {deepest.train_accuracy:.0%} at "
                f"depth {deepest.depth}, within 5 points of its best ({peak.train_accuracy:.0%} "
                f"at depth {peak.depth}): "
                + (
                    "the identity shortcuts keep even the deepest network trainable."
                    if variant == "residual"
                    else "no degradation at these depths."
                )
            )
    for variant in ("plain", "sigmoid"):
        rows = [r for r in by[variant] if not math.isnan(r.first_grad)]
        if len(rows) < 2 or rows[0].first_grad <= 0:
            continue
        first, deepest = rows[0], rows[-1]
        if deepest.first_grad >= first.first_grad * 0.01:
            continue
        change = (
            f"falls from {first.first_grad:.1e} at depth {first.depth} to exactly zero at "
            f"depth {deepest.depth} (too small for a 32-bit float)"
            if deepest.first_grad == 0
            else f"is {_times(deepest.first_grad / first.first_grad)} smaller at depth "
            f"{deepest.depth} than at depth {first.depth}"
        )
        along = (
            f" Along that network it shrinks layer by layer toward the input: the output layer "
            f"gets {deepest.last_grad:.1e}."
            if deepest.last_grad > 0 and deepest.first_grad < deepest.last_grad / 100
            else ""
        )
        why = _why_it_fades(deepest.activation, dead=deepest.first_grad == 0)
        out.append(f"The {variant} network's first-layer gradient {change}.{along} {why}")
    return out


def _why_it_fades(activation: str, dead: bool) -> str:
    """Why the gradient reaching the first layer of a deep network of `activation` units fades
    (`dead`: it is exactly zero): what is true of that activation."""
    if activation == "sigmoid":
        return (
            "On its way back each layer multiplies the gradient by its weights and by the "
            "sigmoid's slope, which is at most 0.25, and over many layers the product vanishes "
            "(Glorot and Bengio, 2010): the first layers barely learn."
        )
    if activation == "tanh":
        return (
            "On its way back each layer multiplies the gradient by its weights and by the tanh's "
            "slope, at most 1 and near 0 where units saturate, and over many layers the product "
            "vanishes (Glorot and Bengio, 2010): the first layers barely learn."
        )
    what = "ReLU" if activation == "relu" else activation.upper()
    tail = (
        f" Here it stops altogether: in some layer every {what} outputs zero for every input "
        "(they are dead), and a dead unit passes no gradient back."
        if dead and activation == "relu"
        else ""
    )
    return (
        f"A {what}'s slope is 1 where it is active and 0 where it is not, so the gradient goes "
        "back only through active units, scaled by each layer's weights; through many plain "
        f"layers it shrinks, and the first layers barely learn.{tail}"
    )


def _times(ratio: float) -> str:
    if ratio <= 0:
        return "infinitely (it is exactly zero)"
    return factor(1 / ratio)  # as the charts' captions write it
