"""The training loop. It fires callbacks and obeys a `Control` (stop, pause); it never prints
and never touches streamlit.

Data lives on the device for the whole run and batches are index slices of it, not a DataLoader.
The loop syncs with the device only at report points (about 10 a second) and at epoch ends, so
the instrumentation costs little (see `dlviz bench overhead`).
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dlviz.augment import AudioAugment, Augment
from dlviz.config import TrainConfig
from dlviz.data import IGNORE, Dataset
from dlviz.devices import SMALL_STEP, follow_thread_share, restore_threads
from dlviz.fast_step import LeanOptimizer, LeanStep, fused_supported, mlp_update
from dlviz.models import count_parameters, set_dropout_generator
from dlviz.probes import GradNormTracker, evaluating
from dlviz.text import plural

EVAL_TRAIN_SAMPLES = 1024  # train metrics are measured on at most this many training samples
EVAL_BATCH = 4096  # rows per forward pass when evaluating 2-D points
EVAL_BATCH_IMAGES = 128  # images: smaller batches run faster on a CPU (they stay in cache)
# Per-epoch evaluation may cost at most this share of the epoch's training time; where the full
# train subset and test set would cost more (CNNs), each epoch evaluates a fixed random part of
# both, sized to the budget, and the last epoch evaluates them in full.
EVAL_SHARE = 0.03
EVAL_MIN_SAMPLES = 64  # never fewer test samples than this in an epoch's evaluation (train: half)
EVAL_FIRST = 128  # the first epoch's evaluation of images or sequences, before its cost is known
# sequences: rows per evaluation pass, so that a transformer's attention at the longest length
# (rows x heads x T x T) stays small
EVAL_BATCH_SEQUENCES = 256


class Control:
    """Stop and pause, set from another thread; the loop checks them every step."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.reason = ""  # why it was stopped, when not by the person who started it
        self._steps_left = 0  # step mode: updates to take before holding again
        self.updates = 0  # updates taken so far (the loop counts them)
        # a loop in another process (`dlviz.run_process`): every order is passed on to it
        self.forward: Callable[[tuple[Any, ...]], None] | None = None

    def _tell(self, *order: Any) -> None:
        if self.forward is not None:
            self.forward(order)

    def stop(self, reason: str = "") -> None:
        if reason and not self._stop.is_set():
            self.reason = reason
        self._stop.set()
        self._running.set()  # wake a paused loop so it can see the stop
        self._tell("stop", reason)

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()
            self._tell("pause")

    def resume(self) -> None:
        self._steps_left = 0
        self._running.set()
        self._tell("resume")

    def orders(self) -> list[tuple[Any, ...]]:
        """The orders that bring a fresh Control to this one's state (`obey`)."""
        if self._stop.is_set():
            return [("stop", self.reason)]
        if self._steps_left:
            return [("step",)]
        return [("pause",)] if self.paused else []

    def obey(self, orders: list[tuple[Any, ...]]) -> None:
        """Carry out orders another Control passed on (`forward`, `orders`)."""
        for order in orders:
            if order[0] == "stop":
                self.stop(order[1])
            elif order[0] == "pause":
                self.pause()
            elif order[0] == "resume":
                self.resume()
            elif order[0] == "step":
                self.step_once()

    def step_once(self, after: int | None = None) -> None:
        """Let a paused loop take exactly one more update, then hold again (step mode).

        `after`: the update count the asker saw; if the loop has taken an update since (the
        same click seen twice), nothing more is taken."""
        if after is not None and after != self.updates:
            return
        if not self._stop.is_set():
            self._steps_left = 1
            self._running.set()
            self._tell("step")

    def count_update(self) -> None:
        """The loop took an update: in step mode, hold again after it."""
        self.updates += 1
        if self._steps_left:
            self._steps_left -= 1
            if not self._steps_left:
                self._running.clear()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, poll_s: float = 0.05) -> float:
        """Block while paused (waking for a stop); return the seconds spent paused."""
        start = time.perf_counter()
        while not self._running.wait(poll_s):
            pass
        return time.perf_counter() - start


@dataclass
class FitState:
    """What callbacks can read. Metrics are plain floats; `model` is the live model."""

    model: nn.Module
    config: TrainConfig
    device: torch.device
    n_train: int
    steps_per_epoch: int
    total_epochs: int  # 0: until stopped
    params: int
    trainable_params: int = 0  # fewer than `params` when layers are frozen (transfer learning)
    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken
    samples_seen: int = 0
    elapsed: float = 0.0  # seconds of training, pauses excluded
    recent_loss: float = float("nan")  # mean batch loss since the previous report
    metrics: dict[str, float] = field(default_factory=dict)  # last epoch's evaluation
    test_samples: int = 0  # how many test samples that evaluation used (see EvalBudget)
    grad_norms: dict[str, float] = field(default_factory=dict)  # last epoch's mean per layer
    status: str = "running"  # running | finished | stopped | diverged
    message: str = ""
    stop_reason: str = ""  # why it was stopped, when not by the person who started it
    held_s: float = 0.0  # seconds callbacks held the loop on purpose: not training time
    # torch's CPU thread counts the run trained on, in order (its share of the cores changes
    # as other runs start and end: `devices.follow_thread_share`); empty on a GPU
    threads: list[int] = field(default_factory=list)

    def note_threads(self) -> None:
        n = torch.get_num_threads()
        if self.device.type == "cpu" and (not self.threads or self.threads[-1] != n):
            self.threads.append(n)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.total_epochs

    @property
    def samples_per_second(self) -> float:
        return self.samples_seen / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "epochs": self.epoch,
            "steps": self.step,
            "seconds": round(self.elapsed, 4),
            "samples_per_second": round(self.samples_per_second, 1),
            "final": dict(self.metrics),
            "gradient_norms": dict(self.grad_norms),
            **({"stop_reason": self.stop_reason} if self.stop_reason else {}),
            **({"torch_threads": list(self.threads)} if self.threads else {}),
        }


class Callback:
    """One do-nothing method per event; override what you need."""

    def on_fit_start(self, state: FitState) -> None: ...

    def on_report(self, state: FitState) -> None:
        """About every `report_every_s` seconds, after `recent_loss` was updated."""

    def on_epoch_end(self, state: FitState) -> None: ...

    def on_pause(self, state: FitState) -> None: ...

    def on_resume(self, state: FitState) -> None: ...

    def on_fit_end(self, state: FitState) -> None: ...


class Diverged(Exception):
    pass


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer `cfg` names, over the trainable parameters only (frozen ones get no
    gradient and no optimizer state); a model with `param_groups(lr)` sets its own groups."""
    if hasattr(model, "param_groups"):
        params = model.param_groups(cfg.lr)  # type: ignore[operator]  # checked just above
    else:
        params = [p for p in model.parameters() if p.requires_grad]
    kinds: dict[str, tuple[Any, dict[str, Any]]] = {
        "sgd": (torch.optim.SGD, {}),
        "momentum": (torch.optim.SGD, {"momentum": 0.9}),
        "adam": (torch.optim.Adam, {}),
        "adamw": (torch.optim.AdamW, {}),
    }
    if cfg.optimizer not in kinds:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}")
    kind, extra = kinds[cfg.optimizer]
    # The fused kernel: one call updates every parameter (the fastest of torch's three
    # implementations; the same arithmetic to within rounding), where this torch has it for the
    # parameters' device; else the foreach one, which is the for-loop's arithmetic exactly.
    first = next(iter(_tensors_of(params)), None)
    fused = first is not None and fused_supported(first.device)
    return kind(
        params,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        **extra,
        **({"fused": True} if fused else {"foreach": True}),
    )


def _tensors_of(params: Any) -> list[torch.Tensor]:
    """The tensors of a parameter list or of a list of parameter groups."""
    out: list[torch.Tensor] = []
    for p in params:
        out.extend(p["params"] if isinstance(p, dict) else [p])
    return out


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """(start, end) of each batch in an epoch; a last batch of one sample is dropped, since
    batch norm cannot train on it."""
    bs = min(batch_size, n)
    bounds = [(i, min(i + bs, n)) for i in range(0, n, bs)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds.pop()
    return bounds


def task_loss(task: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The training loss of a task: cross-entropy over classes (``class``), over the predicted
    positions (``tokens``: y is (N, T) with IGNORE where nothing is predicted), or the mean
    squared error of a forecast (``forecast``)."""
    if task == "tokens":
        return F.cross_entropy(out.flatten(0, 1), y.flatten(), ignore_index=IGNORE)
    if task == "forecast":
        return F.mse_loss(out, y)
    return F.cross_entropy(out, y)


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, parts: tuple[int, ...] | None = None
) -> list[tuple[float, float]]:
    """Mean cross-entropy loss and accuracy of `model` on (x, y), in eval mode.

    `parts` splits the rows into consecutive groups (e.g. train then test) evaluated in the same
    forward passes; one (loss, accuracy) per group, read with a single device sync.
    """
    return [(m["loss"], m["accuracy"]) for m in evaluate_task(model, x, y, parts, "class")]


def evaluate_task(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    parts: tuple[int, ...] | None = None,
    task: str = "class",
) -> list[dict[str, float]]:
    """The task's metrics of `model` on (x, y), in eval mode, per group of rows (`parts`, e.g.
    train then test), read with a single device sync:

    - ``class``: ``loss`` (mean cross-entropy) and ``accuracy``;
    - ``tokens``: ``loss`` and ``accuracy`` over the predicted positions, and
      ``sequence_accuracy``, the share of rows with every predicted position right (for a
      generation task: the answers greedy decoding gets wholly right);
    - ``forecast``: ``loss``, the mean squared error over every forecast step.
    """
    parts = parts or (len(x),)
    if x.dim() == 4:
        rows = EVAL_BATCH_IMAGES
    elif x.dim() == 2 and x.dtype.is_floating_point:  # 2-D points
        rows = EVAL_BATCH
    else:  # token ids or series windows
        rows = EVAL_BATCH_SEQUENCES
    columns: list[torch.Tensor] = []  # per row: the sums each metric is a share of
    with evaluating(model):
        for i in range(0, len(x), rows):
            out = model(x[i : i + rows]).float()
            columns.append(_row_sums(task, out, y[i : i + rows]))
    per_row = columns[0] if len(columns) == 1 else torch.cat(columns, dim=1)
    # (k, N) @ (N, groups): per-group sums of every column in one product, read in one sync.
    sums = (per_row @ _group_matrix(parts, per_row.device)).T.tolist()
    out_metrics = []
    for group, n in zip(sums, parts):
        if task == "tokens":
            loss, hits, count, whole = group
            out_metrics.append(
                {
                    "loss": loss / count if count else float("nan"),
                    "accuracy": hits / count if count else float("nan"),
                    "sequence_accuracy": whole / n if n else float("nan"),
                }
            )
        elif task == "forecast":
            out_metrics.append({"loss": group[0] / n if n else float("nan")})
        else:
            loss, hits = group
            out_metrics.append(
                {
                    "loss": loss / n if n else float("nan"),
                    "accuracy": hits / n if n else float("nan"),
                }
            )
    return out_metrics


def _row_sums(task: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(k, rows): per row, the sums the task's metrics are made of."""
    if task == "tokens":
        mask = y != IGNORE
        safe = y.masked_fill(~mask, 0)
        loss = F.cross_entropy(out.transpose(1, 2), safe, reduction="none") * mask
        hit = (out.argmax(dim=-1) == safe) & mask
        whole = (hit | ~mask).all(dim=1)
        return torch.stack(
            [
                loss.sum(1),
                hit.sum(1).to(loss.dtype),
                mask.sum(1).to(loss.dtype),
                whole.to(loss.dtype),
            ]
        )
    if task == "forecast":
        return ((out - y) ** 2).mean(dim=1, keepdim=True).T
    loss = F.cross_entropy(out, y, reduction="none")
    return torch.stack([loss, (out.argmax(dim=1) == y).to(loss.dtype)])


def naive_mse(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared error of the naive forecast (the last value seen, repeated) of windows x
    (N, T, 1) against y (N, horizon)."""
    if len(x) == 0:
        return float("nan")
    return float(((x[:, -1, :1] - y) ** 2).mean())


def epoch_metrics(
    task: str, train: dict[str, float], test: dict[str, float], baseline_mse: float | None = None
) -> dict[str, float]:
    """An epoch's metrics as the run reports them (`FitState.metrics`): train_/test_ loss and
    accuracy; per-token tasks add train_/test_sequence_accuracy, forecasts train_/test_mse
    and baseline_mse (the naive forecast's, on the test windows)."""
    metrics = {"train_loss": train["loss"]}
    if "accuracy" in train:
        metrics["train_accuracy"] = train["accuracy"]
    metrics["test_loss"] = test["loss"]
    if "accuracy" in test:
        metrics["test_accuracy"] = test["accuracy"]
    if task == "tokens":
        metrics["train_sequence_accuracy"] = train["sequence_accuracy"]
        metrics["test_sequence_accuracy"] = test["sequence_accuracy"]
    if task == "forecast":
        metrics["train_mse"] = train["loss"]
        metrics["test_mse"] = test["loss"]
        if baseline_mse is not None:
            metrics["baseline_mse"] = baseline_mse
    return metrics


@functools.lru_cache(maxsize=16)
def _group_matrix(parts: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """(N, groups) 0/1 matrix: row r is 1 in the column of the group that row r belongs to."""
    groups = torch.repeat_interleave(torch.arange(len(parts)), torch.tensor(parts))
    return torch.nn.functional.one_hot(groups, len(parts)).float().to(device)


class EvalBudget:
    """How many train-subset and test samples an epoch's evaluation takes: all of them while
    that costs at most EVAL_SHARE of the epoch's training time (or `first` samples in all for
    the first epoch, when given), else a share sized from the last evaluation's cost per
    sample, never below EVAL_MIN_SAMPLES test samples (and half as many train samples);
    `full=True` (the last epoch) takes all."""

    def __init__(self, n_train: int, n_test: int, first: int | None = None):
        self.n_train, self.n_test = n_train, n_test
        total = n_train + n_test
        self.fraction = 1.0 if first is None or total == 0 else min(1.0, first / total)

    def sizes(self, full: bool = False) -> tuple[int, int]:
        if full or self.fraction >= 1.0:
            return self.n_train, self.n_test

        def part(n: int, floor: int) -> int:
            return min(n, max(floor, round(n * self.fraction)))

        return part(self.n_train, EVAL_MIN_SAMPLES // 2), part(self.n_test, EVAL_MIN_SAMPLES)

    def update(self, eval_s: float, train_s: float, samples: int) -> None:
        if samples <= 0 or eval_s <= 0:
            return
        affordable = EVAL_SHARE * max(train_s, 0.0) / (eval_s / samples)
        self.fraction = min(1.0, affordable / max(self.n_train + self.n_test, 1))


def _divergence_message(state: FitState, epoch: int, value: float) -> str:
    what = "NaN" if math.isnan(value) else "infinite"
    return (
        f"Training diverged in epoch {epoch}, by step {state.step}: the loss became {what}. "
        f"The learning rate ({state.config.lr:g}) is probably too high for this network; "
        f"try {state.config.lr / 10:g} or lower."
    )


def fit(
    model: nn.Module,
    data: Dataset,
    cfg: TrainConfig,
    device: torch.device,
    callbacks: list[Callback] | tuple[Callback, ...] = (),
    control: Control | None = None,
    report_every_s: float = 0.1,
) -> FitState:
    """Train `model` on `data` per `cfg`. Returns the final state; `state.status` says how it
    ended: finished, stopped (by `control`) or diverged (the loss became NaN or inf)."""
    control = control or Control()
    model.to(device)
    x_tr, y_tr = data.x_train.to(device), data.y_train.to(device)
    x_te, y_te = data.x_test.to(device), data.y_test.to(device)
    generative = is_generative(model)
    if generative:  # a generative model learns the data's distribution, flattened
        x_tr, x_te = x_tr.flatten(1), x_te.flatten(1)
    n = len(x_tr)
    gen = torch.Generator().manual_seed(cfg.seed)  # batch order: as a plain loop seeded alike
    # Train metrics on a fixed subset, so an epoch's evaluation costs little on large data.
    eval_gen = torch.Generator().manual_seed(cfg.seed + 2)
    eval_idx = torch.randperm(n, generator=eval_gen)[:EVAL_TRAIN_SAMPLES].sort().values.to(device)
    # Train subset and test set (in a fixed random order), concatenated: one forward pass per
    # epoch evaluates both, or the first `k` of each when the budget allows no more.
    test_order = torch.randperm(len(x_te), generator=eval_gen).to(device)
    x_ev = torch.cat([x_tr[eval_idx], x_te[test_order]])
    y_ev = torch.cat([y_tr[eval_idx], y_te[test_order]])
    task = "generate" if generative else data.task
    baseline_mse = naive_mse(x_te, y_te) if task == "forecast" else None
    budget = EvalBudget(
        # 2-D points evaluate in full from the start (it costs little); images and sequences
        # evaluate a small part first, until the cost per sample is known
        len(eval_idx),
        len(x_te),
        first=None if data.kind == "points2d" else EVAL_FIRST,
    )
    # Augmentation (images and sounds) draws its random numbers from its own seeded generator, so a
    # run with it is as reproducible as one without.
    augment: Augment | AudioAugment = Augment()
    if x_tr.dim() == 4:
        augment = Augment.from_config(cfg.augment)
    elif data.kind == "audio":
        augment = AudioAugment.from_config(cfg.augment)
    augmenting = augment.active
    augment_gen = torch.Generator().manual_seed(cfg.seed + 3)
    dropout_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    set_dropout_generator(model, dropout_gen)

    grad_norms = GradNormTracker(model)
    clipping = cfg.clip > 0
    trainable = [p for p in model.parameters() if p.requires_grad]
    bounds = batch_bounds(n, cfg.batch_size)
    # One update of the model on a batch, as its task wants it; returns the batch's loss
    # (detached, on the device: read only at report points).
    parts: list[dict[str, torch.Tensor]] = []  # a generative model's losses since the epoch began
    if generative:
        optimizers = model.make_optimizers(  # type: ignore[operator]
            cfg.optimizer, cfg.lr, cfg.lr_d or cfg.lr, cfg.weight_decay, cfg.optimizer_d
        )
        step_gen = torch.Generator().manual_seed(cfg.seed + 4)  # latents, noise, times
        main = model.main_loss()  # type: ignore[operator]
        # each optimizer's fused kernel called directly (the same weights, less around a step)
        updaters = [LeanOptimizer(o) for o in optimizers]

        def update(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            losses = model.train_step(xb, updaters, step_gen, y=yb)  # type: ignore[operator]
            parts.append(losses)
            return losses[main]

    else:
        optimizer = make_optimizer(model, cfg)
        step = LeanStep(optimizer)

        def update(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            loss = task_loss(task, model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clipping:
                nn.utils.clip_grad_norm_(trainable, cfg.clip, foreach=True)
            step()
            return loss.detach()

    state = FitState(
        model=model,
        config=cfg,
        device=device,
        n_train=n,
        steps_per_epoch=len(bounds),
        total_epochs=0 if cfg.until_stopped else cfg.epochs,
        params=count_parameters(model),
        trainable_params=count_parameters(model, trainable_only=True),
    )

    def fire(event: str) -> None:
        for cb in callbacks:
            getattr(cb, event)(state)

    def check_finite(value: float, epoch: int) -> None:
        if not math.isfinite(value):
            raise Diverged(_divergence_message(state, epoch, value))

    fire("on_fit_start")
    thread_limit: int | None = None
    if not generative and not clipping and not augmenting:
        # a plain MLP's step by hand (the same kernels autograd calls, without the graph);
        # built after the callbacks' start, so that a hook one of them adds is seen
        fast = mlp_update(model, step, task)
        if fast is not None:
            update = fast  # type: ignore[assignment]
            if state.params * cfg.batch_size <= SMALL_STEP:
                # operations too small to split among threads, and threads that wait for a
                # core spin: one thread (on 2 loaded cores, 2 threads ran 18x slower)
                thread_limit = 1
    threads_before = torch.get_num_threads()
    follow_thread_share(thread_limit)  # this run's share of the cores; again at each report
    state.note_threads()
    start = time.perf_counter()
    paused_total = 0.0
    next_report = start  # the first report comes after the first step: a live chart's first point
    recent: list[torch.Tensor] = []
    model.train()
    try:
        for epoch in itertools.count() if cfg.until_stopped else range(cfg.epochs):
            epoch_start = time.perf_counter() - start - paused_total - state.held_s
            perm = torch.randperm(n, generator=gen).to(device)
            grad_norms.reset()
            for lo, hi in bounds:
                idx = perm[lo:hi]
                xb = augment(x_tr[idx], augment_gen) if augmenting else x_tr[idx]
                recent.append(update(xb, y_tr[idx]))
                grad_norms.accumulate()  # every update: sampling changed the curves (benchmarks.md)
                state.step += 1
                state.samples_seen += hi - lo
                control.count_update()

                if control.paused:
                    if recent:  # the updates since the last report show before it holds
                        state.elapsed = time.perf_counter() - start - paused_total - state.held_s
                        state.recent_loss = torch.stack(recent).mean().item()
                        recent.clear()
                        check_finite(state.recent_loss, epoch + 1)
                        fire("on_report")
                    fire("on_pause")
                    paused_total += control.wait_while_paused()
                    fire("on_resume")
                    next_report = time.perf_counter() + report_every_s
                if control.stop_requested:
                    break
                now = time.perf_counter()
                if now >= next_report:
                    state.elapsed = now - start - paused_total - state.held_s
                    state.recent_loss = torch.stack(recent).mean().item()
                    recent.clear()
                    check_finite(state.recent_loss, epoch + 1)
                    fire("on_report")
                    follow_thread_share(thread_limit)
                    state.note_threads()
                    next_report = time.perf_counter() + report_every_s

            state.elapsed = time.perf_counter() - start - paused_total - state.held_s
            if control.stop_requested and state.step % state.steps_per_epoch != 0:
                state.status = "stopped"  # a partial epoch: keep the last full epoch's metrics
                break
            last = control.stop_requested or (not cfg.until_stopped and epoch == cfg.epochs - 1)
            if not last and (epoch + 1) % cfg.eval_every:
                continue  # no evaluation this epoch (train.eval_every)
            state.epoch = epoch + 1
            state.grad_norms = grad_norms.means()
            if generative:
                state.metrics = generative_metrics(model, parts, x_te, data, cfg.seed, last)
                parts.clear()
                state.test_samples = len(x_te)
                check_finite(state.metrics["train_loss"], epoch + 1)
            else:
                k_tr, k_te = budget.sizes(full=last)
                rows = torch.cat([x_ev[:k_tr], x_ev[budget.n_train : budget.n_train + k_te]])
                labels = torch.cat([y_ev[:k_tr], y_ev[budget.n_train : budget.n_train + k_te]])
                eval_start = time.perf_counter()
                on_train, on_test = evaluate_task(model, rows, labels, (k_tr, k_te), task)
                budget.update(
                    eval_s=time.perf_counter() - eval_start,
                    train_s=state.elapsed - epoch_start,
                    samples=k_tr + k_te,
                )
                state.test_samples = k_te
                state.metrics = epoch_metrics(task, on_train, on_test, baseline_mse)
                check_finite(on_train["loss"], epoch + 1)
            if recent:
                state.recent_loss = torch.stack(recent).mean().item()
                recent.clear()
                check_finite(state.recent_loss, epoch + 1)
            fire("on_epoch_end")
            if control.stop_requested:
                state.status = "stopped"
                break
        else:
            state.status = "finished"
    except Diverged as e:
        state.status = "diverged"
        state.message = str(e)
    finally:
        set_dropout_generator(model, None)
        restore_threads(threads_before)
    state.elapsed = time.perf_counter() - start - paused_total - state.held_s
    if state.status == "stopped":
        if cfg.until_stopped:
            state.message = f"Stopped after {plural(state.epoch, 'epoch', sep='')}."
        else:
            state.message = f"Stopped after {state.epoch} of {plural(cfg.epochs, 'epoch', sep='')}."
        if control.reason:
            state.message += f" {control.reason}"
            state.stop_reason = control.reason
    fire("on_fit_end")
    return state


def is_generative(model: nn.Module) -> bool:
    """Whether `model` learns a distribution (`dlviz.models.generative`): it takes its own
    training steps and samples."""
    return hasattr(model, "train_step") and hasattr(model, "sample")


# samples drawn to measure a generative model: at the last epoch (the run's final metrics),
# and at each epoch before it (fewer: measuring costs under 3% of a small GAN's epoch)
GENERATED_SAMPLES = 2000
GENERATED_SAMPLES_EPOCH = 500


def generative_metrics(
    model: nn.Module,
    parts: list[dict[str, torch.Tensor]],
    real: torch.Tensor,
    data: Dataset,
    seed: int,
    last: bool = True,
) -> dict[str, float]:
    """An epoch's metrics of a generative model: the mean of each of its losses over the
    epoch's steps (``train_loss`` is its main one), and for 2-D data how far its samples are
    from the held-out real points (`dlviz.generative_metrics.summary`: divergence, MMD, and
    where the modes are known, modes covered and the share of high-quality samples; the MMD,
    which costs more, at the `last` epoch only). The samples come from the same seed every
    epoch, so the metrics move with the model only."""
    from dlviz.generative_metrics import summary  # numpy and torch only

    keys = parts[0].keys() if parts else ()
    means = torch.stack([torch.stack([p[k] for p in parts]).float().mean() for k in keys])
    metrics = dict(zip(keys, means.tolist()))
    metrics["train_loss"] = metrics.get(model.main_loss(), float("nan"))  # type: ignore[operator]
    if real.shape[1] == 2:  # 2-D points: how far the samples are from the data
        gen = torch.Generator().manual_seed(seed + 6)
        n = GENERATED_SAMPLES if last else GENERATED_SAMPLES_EPOCH
        samples = model.sample(n, gen).float().cpu().numpy()  # type: ignore[operator]
        metrics.update(summary(samples, real.float().cpu().numpy(), data.modes, mmd=last))
    return metrics


def warm_up() -> None:
    """Take one optimizer step on a throwaway model: the first optimizer in a process imports a
    good deal of torch lazily (about 2 s), which would otherwise delay the first run's first point."""
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    for cfg in (TrainConfig(optimizer="adam"), TrainConfig(optimizer="sgd")):
        opt = make_optimizer(model, cfg)
        loss = F.cross_entropy(model(torch.zeros(4, 2)), torch.zeros(4, dtype=torch.long))
        loss.backward()
        opt.step()
