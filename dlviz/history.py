"""A run's history as the pages see it: built from the events a run sends, bounded in memory
however long the run is (`Series` keeps at most `max_points` rows by thinning itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlviz.probes import FeatureSnapshot, Snapshot2D
from dlviz.sequence_probe import SequenceSnapshot


class Series:
    """Rows of equal-length columns, at most `max_points` of them.

    When full, every other row is dropped and from then on only every `stride`-th new row is kept,
    so the series always spans the whole run at an even spacing. `last` is always the newest row.
    """

    def __init__(self, columns: tuple[str, ...], max_points: int = 1000):
        if max_points < 2:
            raise ValueError("max_points must be at least 2")
        self.columns = columns
        self.max_points = max_points
        self.data: dict[str, list[Any]] = {c: [] for c in columns}
        self.stride = 1
        self.seen = 0
        self.last: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.data[self.columns[0]])

    def append(self, **row: Any) -> None:
        self.last = row
        keep = self.seen % self.stride == 0
        self.seen += 1
        if not keep:
            return
        if len(self) >= self.max_points:
            for c in self.columns:
                self.data[c] = self.data[c][::2]
            self.stride *= 2
            if (self.seen - 1) % self.stride != 0:
                return
        for c in self.columns:
            self.data[c].append(row.get(c))

    def column(self, name: str, include_last: bool = True) -> list[Any]:
        """The kept values of `name`, plus the newest row if thinning skipped it."""
        values = list(self.data[name])
        if include_last and self.last is not None and self.seen and (self.seen - 1) % self.stride:
            values.append(self.last.get(name))
        return values

    def to_dict(self) -> dict[str, list[Any]]:
        return {c: self.column(c) for c in self.columns}


MAX_FMAPS = 24

EPOCH_COLUMNS = (
    "epoch",
    "step",
    "elapsed",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
)
# Columns only some tasks have (None elsewhere): per-token tasks' whole-sequence accuracy,
# forecasts' mean squared errors and the naive forecast's; generative models' losses (a GAN's
# discriminator and generator, its gradient penalty; a VAE's reconstruction and KL) and how
# close their samples are to the data (dlviz.generative_metrics.summary).
TASK_COLUMNS = (
    "train_sequence_accuracy",
    "test_sequence_accuracy",
    "train_mse",
    "test_mse",
    "baseline_mse",
    "loss_d",
    "loss_g",
    "gp",
    "recon",
    "kl",
    "divergence",
    "mmd",
    "modes_covered",
    "n_modes",
    "high_quality",
)
ALL_EPOCH_COLUMNS = EPOCH_COLUMNS + TASK_COLUMNS


@dataclass
class RunHistory:
    """Everything a page draws about one run, updated by `apply(event)`."""

    label: str = ""
    status: str = (
        "starting"  # starting | queued | running | paused | finished | stopped | diverged | error
    )
    message: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    params: int = 0
    trainable_params: int = 0  # fewer than `params` when layers are frozen
    layers: list[str] = field(default_factory=list)
    total_epochs: int = 0
    test_samples: int = 0  # test samples behind the last epoch's test metrics
    steps_per_epoch: int = 0
    epoch: int = 0
    step: int = 0
    elapsed: float = 0.0
    samples_per_second: float = 0.0
    steps: Series = field(default_factory=lambda: Series(("step", "elapsed", "loss")))
    epochs: Series = field(default_factory=lambda: Series(ALL_EPOCH_COLUMNS))
    grad_norms: Series = field(default_factory=lambda: Series(("epoch", "norms")))
    snapshot: Snapshot2D | None = None
    # Images: feature-map snapshots to scrub through (at most MAX_FMAPS, evenly spread over
    # the run, the latest always kept), dead-unit shares per layer, and the class report.
    fmaps: list[FeatureSnapshot] = field(default_factory=list)
    fmaps_seen: int = 0
    dead: Series = field(default_factory=lambda: Series(("step", "epoch", "shares")))
    classes: dict[str, Any] = field(default_factory=dict)
    # Sequences: snapshots of states, gates, attention to scrub through (at most MAX_FMAPS,
    # kept as fmaps are), and every snapshot's attention-head scores.
    seq: list[SequenceSnapshot] = field(default_factory=list)
    seq_seen: int = 0
    gen: list[Any] = field(default_factory=list)  # GenerativeSnapshots, thinned as fmaps are
    heads: Series = field(default_factory=lambda: Series(("step", "epoch", "scores")))
    # Linear probes (train.probe_every, dlviz.events.LayerProbes): the layers probed, input to
    # output, their feature counts, and per probe the test accuracy of each layer's probe.
    probe_layers: list[str] = field(default_factory=list)
    probe_dims: list[int] = field(default_factory=list)
    probes: Series = field(default_factory=lambda: Series(("step", "epoch", "accuracy")))
    summary: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    model: Any = None  # the trained model (on the CPU) once the run has ended

    @property
    def progress(self) -> float:
        total = self.total_epochs * self.steps_per_epoch
        return min(1.0, self.step / total) if total else 0.0

    def epochs_dict(self) -> dict[str, list[Any]]:
        """The per-epoch columns as the run store keeps them: a task's own columns
        (TASK_COLUMNS) only where the run has them."""
        cols = self.epochs.to_dict()
        return {
            k: v for k, v in cols.items() if k not in TASK_COLUMNS or any(x is not None for x in v)
        }

    @property
    def open_ended(self) -> bool:
        """The run trains until stopped (no epoch limit)."""
        return bool(self.config.get("train", {}).get("until_stopped"))

    @property
    def stop_reason(self) -> str:
        """Why the run was stopped when the person who started it did not stop it ("" else)."""
        return self.summary.get("stop_reason", "")

    @property
    def done(self) -> bool:
        return self.status in ("finished", "stopped", "diverged", "error")

    @property
    def final(self) -> dict[str, float]:
        last = self.epochs.last or {}
        return {k: last[k] for k in ALL_EPOCH_COLUMNS[3:] if last.get(k) is not None}

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "queued":
            self.status = "queued"
            self.message = event.get("message", "")
        elif kind == "start":
            self.status = "running"
            self.message = ""
            for key in ("config", "device", "params", "layers", "total_epochs", "steps_per_epoch"):
                setattr(self, key, event[key])
            self.trainable_params = event.get("trainable_params", self.params)
        elif kind == "report":
            self._progress(event)
            self.steps.append(step=event["step"], elapsed=event["elapsed"], loss=event["loss"])
        elif kind == "epoch":
            self._progress(event)
            self.epoch = event["epoch"]
            self.test_samples = event.get("test_samples", 0)
            self.epochs.append(**{c: event.get(c) for c in ALL_EPOCH_COLUMNS})
            norms = event["grad_norms"]
            self.grad_norms.append(epoch=event["epoch"], norms=[norms[k] for k in self.layers])
        elif kind == "snapshot":
            self.snapshot = event["snapshot"]
        elif kind == "fmaps":
            self._add_fmaps(event["snapshot"])
        elif kind == "seq":
            self._add_seq(event["snapshot"])
        elif kind == "gen":  # a generative run's samples (dlviz.generative_probe)
            self.gen.append(event["snapshot"])
            if len(self.gen) > MAX_FMAPS:  # drop every other one, keeping the first and last
                self.gen = self.gen[:-1:2] + [self.gen[-1]]
        elif kind == "probes":
            self.probe_layers, self.probe_dims = list(event["layers"]), list(event["dims"])
            self.probes.append(
                step=event["step"], epoch=event["epoch"], accuracy=list(event["accuracy"])
            )
        elif kind == "classes":
            self.classes = {k: v for k, v in event.items() if k != "type"}
        elif kind == "paused":
            self.status = "paused"
        elif kind == "resumed":
            self.status = "running"
        elif kind == "end":
            self.status = event["status"]
            self.message = event.get("message", "")
            self.summary = event.get("summary", {})
            self.run_id = event.get("run_id", "")
            self.model = event.get("model")
            if self.summary:
                self.elapsed = self.summary.get("seconds", self.elapsed)
                self.samples_per_second = self.summary.get(
                    "samples_per_second", self.samples_per_second
                )

    def _add_fmaps(self, snap: FeatureSnapshot) -> None:
        self.fmaps_seen += 1
        if snap.dead:
            self.dead.append(step=snap.step, epoch=snap.epoch, shares=dict(snap.dead))
        self.fmaps.append(snap)
        if len(self.fmaps) > MAX_FMAPS:  # drop every other one, keeping the first and last
            self.fmaps = self.fmaps[:-1:2] + [self.fmaps[-1]]

    def _add_seq(self, snap: SequenceSnapshot) -> None:
        self.seq_seen += 1
        if snap.head_scores is not None:
            self.heads.append(step=snap.step, epoch=snap.epoch, scores=snap.head_scores)
        self.seq.append(snap)
        if len(self.seq) > MAX_FMAPS:  # drop every other one, keeping the first and last
            self.seq = self.seq[:-1:2] + [self.seq[-1]]

    def _progress(self, event: dict[str, Any]) -> None:
        self.step = event["step"]
        self.elapsed = event["elapsed"]
        self.samples_per_second = event["samples_per_second"]
