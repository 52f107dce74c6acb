"""The Transfer lab's experiments over the strategies: the same run under each, and the
data-efficiency sweep (accuracy against labelled examples per class, at the levels below, one
definition for the page and the experiment); what their results show, in words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dlviz.config import (
    STRATEGIES,
    ConfigError,
    DataConfig,
    RunConfig,
    TrainConfig,
)
from dlviz.text import plural
from dlviz.transfer.strategies import STRATEGY_LABELS

# --- experiments ----------------------------------------------------------------------------------

# Labelled examples per class (0: all of them). Three sets, each as its user shows it today:
PER_CLASS_CHOICES = (1, 2, 5, 10, 25, 50, 100, 0)  # what the Transfer page offers to pick from
DEFAULT_LEVELS = (1, 2, 5, 10, 25, 50, 0)  # what EfficiencyExperiment sweeps when not told
PAGE_LEVELS = (1, 2, 5, 10, 25, 0)  # what the Transfer page's experiment starts with chosen
EFFICIENCY_STRATEGIES = ("scratch", "frozen", "finetune_all")


def strategy_configs(base: RunConfig, strategies: tuple[str, ...] = STRATEGIES) -> list[RunConfig]:
    """The same run under each strategy, named after it."""
    if not base.transfer.active:
        raise ConfigError("transfer.backbone", "choose a backbone to compare strategies")
    return [
        base.with_changes(transfer={"strategy": s}, name=STRATEGY_LABELS[s]) for s in strategies
    ]


@dataclass(frozen=True)
class EfficiencyExperiment:
    """Accuracy against labelled examples per class: each strategy trained on the first k
    training images of each class (the same k images for every strategy), for each k in
    `levels` (0: all), for `steps` optimizer steps whatever the data size, so that a run on 5
    images is not cut short by having few batches per epoch."""

    base: RunConfig
    levels: tuple[int, ...] = DEFAULT_LEVELS
    strategies: tuple[str, ...] = EFFICIENCY_STRATEGIES
    steps: int = 100

    def __post_init__(self) -> None:
        if not self.base.transfer.active:
            raise ConfigError("transfer.backbone", "choose a backbone for the experiment")
        if not self.levels:
            raise ConfigError("levels", "choose at least one number of examples per class")
        if not self.strategies:
            raise ConfigError("strategies", "choose at least one strategy")
        for s in self.strategies:
            if s not in STRATEGIES:
                raise ConfigError("strategies", f"unknown strategy {s!r}")
        if not 1 <= self.steps <= 100_000:
            raise ConfigError("steps", f"must be 1 to 100000, got {self.steps}")

    def levels_for(self, per_class_available: int) -> list[int]:
        """The levels that fit the data, in increasing order; `all` (0) last."""
        ks = sorted({k for k in self.levels if 0 < k < per_class_available})
        return ks + [0] if 0 in self.levels or not ks else ks

    def configs(self, per_class_available: int, n_classes: int) -> list[tuple[str, int, RunConfig]]:
        """(strategy, k, config) in the order they run: level by level, strategies within."""
        out = []
        batch = self.base.train.batch_size
        for k in self.levels_for(per_class_available):
            n = (k or per_class_available) * n_classes
            epochs = max(1, math.ceil(self.steps / math.ceil(n / batch)))
            for s in self.strategies:
                label = f"{k if k else 'all'}/class {STRATEGY_LABELS[s]}"
                cfg = self.base.with_changes(
                    data={"per_class": k},
                    train={"epochs": epochs, "eval_every": max(1, epochs // 10)},
                    transfer={"strategy": s},
                    name=label,
                )
                out.append((s, k, cfg))
        return out


def efficiency_rows(results: list[tuple[str, int, int, float]]) -> list[dict[str, Any]]:
    """Table rows from (strategy, k, examples actually used per class, test accuracy)."""
    return [
        {"strategy": STRATEGY_LABELS[s], "per_class": used, "level": k, "test_accuracy": acc}
        for s, k, used, acc in results
    ]


def default_target(size: int = 32) -> DataConfig:
    """The built-in target: the six shapes the backbone never saw, in colour."""
    return DataConfig(
        name="shapes", n_samples=600, noise=0.1, channels=3, image_size=size, test_fraction=0.3
    )


DEFAULT_TRAIN = TrainConfig(optimizer="adam", lr=0.003, batch_size=32, epochs=15)


# --- what the results show, in words --------------------------------------------------------------


def _pct(v: float) -> str:
    return f"{v:.1%}" if 0.995 <= v < 1.0 else f"{v:.0%}"  # 99.6% is not 100%


def strategies_reading(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences on a comparison of strategies; `rows` have strategy, trainable,
    seconds_per_epoch and test_accuracy (NaN for a run that did not end)."""
    done = [r for r in rows if math.isfinite(r["test_accuracy"])]
    if len(done) < 2:
        return []
    best = max(done, key=lambda r: r["test_accuracy"])
    out = [
        f"{STRATEGY_LABELS[best['strategy']]} reached the best test accuracy, "
        f"{_pct(best['test_accuracy'])}."
    ]
    by = {r["strategy"]: r for r in done}
    if "scratch" in by and "frozen" in by:
        s, f = by["scratch"], by["frozen"]
        gap = f["test_accuracy"] - s["test_accuracy"]
        ratio = s["trainable"] / max(f["trainable"], 1)
        verdict = (
            f"{plural(round(abs(gap) * 100), 'point')} {'above' if gap > 0 else 'below'}"
            if abs(gap) >= 0.01
            else "the same as"
        )
        out.append(
            f"Feature extraction trained {f['trainable']:,} parameters, {ratio:,.0f} times fewer "
            f"than from scratch, and ended {verdict} it ({_pct(f['test_accuracy'])} against "
            f"{_pct(s['test_accuracy'])})."
        )
        if f["seconds_per_epoch"] > 0 and s["seconds_per_epoch"] > 0:
            out.append(
                f"An epoch took {f['seconds_per_epoch']:.2f} s frozen against "
                f"{s['seconds_per_epoch']:.2f} s from scratch: frozen layers need no backward "
                "pass through their weights."
            )
    return out


def efficiency_reading(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences on the data-efficiency experiment; `rows` have strategy, per_class and
    test_accuracy (NaN for a run that did not end)."""
    done = [r for r in rows if math.isfinite(r["test_accuracy"])]
    if not done:
        return []
    levels = sorted({r["per_class"] for r in done})
    out = []

    def at(k: int) -> dict[str, float]:
        return {r["strategy"]: r["test_accuracy"] for r in done if r["per_class"] == k}

    few = at(levels[0])
    if "scratch" in few and len(few) > 1:
        others = ", ".join(
            f"{STRATEGY_LABELS[s].lower()} {_pct(v)}" for s, v in few.items() if s != "scratch"
        )
        n = levels[0]
        out.append(
            f"With {n} labelled image{'s' if n != 1 else ''} per class: {others}, against "
            f"{_pct(few['scratch'])} from scratch."
        )
    if len(levels) > 1:
        many = at(levels[-1])
        if len(many) > 1:
            best = max(many, key=lambda s: many[s])
            out.append(
                f"With {plural(levels[-1], 'image')} per class, {STRATEGY_LABELS[best].lower()} is best at "
                f"{_pct(many[best])}"
                + (f"; from scratch reaches {_pct(many['scratch'])}." if "scratch" in many else ".")
            )
        for k in levels:
            row = at(k)
            transfer_best = max((v for s, v in row.items() if s != "scratch"), default=None)
            if "scratch" in row and transfer_best is not None:
                if row["scratch"] >= transfer_best - 0.02:
                    out.append(
                        f"From scratch catches up (within 2 points) at {plural(k, 'image')} per class: "
                        "pretrained features matter most when labels are few."
                    )
                    break
    return out
