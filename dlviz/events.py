"""A run's training loop as events: `EventEmitter` turns the loop's callbacks into the small
event dicts a page folds into its history, with snapshots of the model (decision boundary,
feature maps) on a time budget; `LayerProbes` fits a linear probe on every layer now and then,
within a share of the training time; `FirstDrawGate` holds a run after its first report until
its page has drawn it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from torch import nn

from dlviz.data import Dataset
from dlviz.generative_probe import GenerativeProbe
from dlviz.probes import ImageProbe, snapshot_2d
from dlviz.representations import (
    LIVE_FEATURES,
    LIVE_ITER,
    LIVE_TEST,
    LIVE_TRAIN,
    ProbeSet,
    feature_points,
    probe_layers,
)
from dlviz.sequence_probe import SequenceProbe
from dlviz.train import Callback, FitState

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]

Snapshotter = Callable[[nn.Module, int, int], dict[str, Any]]


def snapshotter_for(data: Dataset, probe: ImageProbe | None = None) -> Snapshotter | None:
    """What a live run samples of its model on a timer: the decision boundary and neuron maps
    for 2-D points, feature maps and dead units for images (through `probe`), states, gates,
    attention and the gradient through time for sequences (the example `probe` chooses)."""
    if data.generative:
        gen_probe = GenerativeProbe(extent=data.extent)
        return lambda model, step, epoch: {"type": "gen", "snapshot": gen_probe(model, step, epoch)}
    if data.kind == "points2d":
        return lambda model, step, epoch: {
            "type": "snapshot",
            "snapshot": snapshot_2d(model, data.extent, step=step, epoch=epoch),
        }
    if data.kind in ("image", "audio"):
        probe = probe or ImageProbe(data.x_test)
        return lambda model, step, epoch: {"type": "fmaps", "snapshot": probe(model, step, epoch)}
    if data.seq is not None:
        # the page's choice of test example is kept by the run's ImageProbe (its sample_index)
        seq_probe = SequenceProbe(data, chooser=probe)
        return lambda model, step, epoch: {"type": "seq", "snapshot": seq_probe(model, step, epoch)}
    return None


class EventEmitter(Callback):
    """Turns the loop's callbacks into small event dicts; takes snapshots on a timer.

    Snapshots come at most every `snapshot_every_s` seconds, and never more often than keeps
    their cost under `snapshot_budget` of the training time (a big network's snapshot is slow),
    but at least every `max_interval_s` unless a snapshot costs more than a tenth of that.
    """

    def __init__(
        self,
        emit: Emit,
        snapshot: Snapshotter | None = None,
        snapshot_every_s: float = 0.5,
        snapshot_budget: float = 0.03,
        max_interval_s: float = 8.0,
    ):
        self.emit = emit
        self.snapshot = snapshot
        self.snapshot_every_s = snapshot_every_s
        self.snapshot_budget = snapshot_budget
        self.max_interval_s = max_interval_s
        self._next_snapshot = 0.0

    def _progress(self, state: FitState) -> dict[str, Any]:
        return {
            "step": state.step,
            "epoch": state.epoch,
            "elapsed": state.elapsed,
            "samples_per_second": state.samples_per_second,
        }

    def _snapshot(self, state: FitState, force: bool = False) -> None:
        if self.snapshot is None:
            return
        now = time.perf_counter()
        if force or now >= self._next_snapshot:
            self.emit(self.snapshot(state.model, state.step, state.epoch))
            done = time.perf_counter()
            cost = done - now
            wait = max(self.snapshot_every_s, cost / self.snapshot_budget)
            self._next_snapshot = done + min(wait, max(self.max_interval_s, 10 * cost))

    def on_fit_start(self, state: FitState) -> None:
        self._snapshot(state, force=True)

    def on_report(self, state: FitState) -> None:
        self.emit({"type": "report", "loss": state.recent_loss, **self._progress(state)})
        self._snapshot(state)

    def on_epoch_end(self, state: FitState) -> None:
        self.emit(
            {
                "type": "epoch",
                **self._progress(state),
                **state.metrics,
                "test_samples": state.test_samples,
                "grad_norms": dict(state.grad_norms),
            }
        )
        self._snapshot(state)

    def on_pause(self, state: FitState) -> None:
        self._snapshot(state, force=True)
        self.emit({"type": "paused", **self._progress(state)})

    def on_resume(self, state: FitState) -> None:
        self.emit({"type": "resumed"})

    def on_fit_end(self, state: FitState) -> None:
        # The final boundary, except after a Stop: keep what was drawn and end at once (on a
        # huge network one more snapshot can take seconds).
        self._snapshot(state, force=state.status != "stopped")


PROBE_SHARE = 0.03  # live probes may cost at most this share of the training time
# Seconds a layer's probe is taken to cost before one has been timed (a 30-step L-BFGS fit on
# a CPU), on top of the forward pass over the probe samples.
FIRST_PROBE_S_PER_LAYER = 0.03


def probeable(data: Dataset) -> bool:
    """The data has classes a linear probe can read (not a forecast, not a generative set)."""
    return not data.generative and data.task in ("class", "tokens")


class LayerProbes(Callback):
    """Fits a linear probe on every layer of the training network (`dlviz.representations`)
    at the end of an epoch, at most every `every` epochs and only while all probes so far plus
    the next stay within `share` (default PROBE_SHARE) of the training time: the first probe's
    cost is estimated from the forward pass over the probe samples, the next ones' from the
    last one's. Each probe's accuracies go out as a ``probes`` event; `final(state)` takes one
    more after the loop unless the last epoch had one. The probe samples are fixed
    (`ProbeSet`, from `seed`): at most 256 train and 256 test samples (rows, for per-token
    tasks), each layer pooled to at most 256 features. A probe that fails is logged and
    probing stops; it never ends the run."""

    def __init__(
        self,
        emit: Emit,
        data: Dataset,
        every: int = 1,
        share: float | None = None,
        seed: int = 0,
        max_train: int = LIVE_TRAIN,
        max_test: int = LIVE_TEST,
    ):
        self.emit = emit
        self.every = max(1, every)
        self.share = PROBE_SHARE if share is None else share
        self.probe_set = ProbeSet.from_data(data, max_train, max_test, seed)
        self.spent = 0.0  # seconds of probing so far
        self.cost: float | None = None  # the last probe's seconds
        self.last_epoch = -1
        self.failed = False

    def on_fit_start(self, state: FitState) -> None:
        self.probe_set = self.probe_set.to(state.device)

    def _estimate(self, state: FitState) -> float:
        if self.cost is not None:
            return self.cost
        # a forward pass is about a third of a training step (forward, backward, update)
        per_sample = (state.elapsed - self.spent) / max(state.samples_seen, 1) / 3
        rows = len(self.probe_set.x_train) + len(self.probe_set.x_test)
        layers = len(feature_points(state.model)) + 2  # and the input and the output
        return per_sample * rows + FIRST_PROBE_S_PER_LAYER * layers

    def on_epoch_end(self, state: FitState) -> None:
        if self.failed or state.epoch % self.every:
            return
        training_s = state.elapsed - self.spent
        if self.spent + self._estimate(state) <= self.share * training_s:
            self.take(state)

    def final(self, state: FitState) -> None:
        """A probe of the trained network, unless the last epoch had one."""
        if not self.failed and state.epoch > 0 and self.last_epoch != state.epoch:
            self.take(state)

    def take(self, state: FitState) -> None:
        start = time.perf_counter()
        try:
            layers = probe_layers(
                state.model,
                self.probe_set,
                max_train=LIVE_TRAIN,
                max_test=LIVE_TEST,
                max_features=LIVE_FEATURES,
                max_iter=LIVE_ITER,
            )
        except Exception:  # a reading must never cost the run its training
            log.exception("the layers of a running run could not be probed")
            self.failed = True
            return
        self.cost = time.perf_counter() - start
        self.spent += self.cost
        self.last_epoch = state.epoch
        self.emit(
            {
                "type": "probes",
                "step": state.step,
                "epoch": state.epoch,
                "layers": [r["name"] for r in layers],
                "accuracy": [r["probe_accuracy"] for r in layers],
                "dims": [r["dim"] for r in layers],
                "seconds": self.cost,
            }
        )


class FirstDrawGate(Callback):
    """Holds the loop after its first report until `drawn` is set (the page has drawn the run's
    first point) or `timeout_s` passes. On a small machine the training thread and the page's
    script share the CPU and Python's lock: held for that moment, the first drawing of the
    live view takes its own time instead of two or three times as long. The wait is not
    counted as training time."""

    def __init__(self, drawn: threading.Event, timeout_s: float):
        self.drawn = drawn
        self.timeout_s = timeout_s
        self._done = False

    def on_report(self, state: FitState) -> None:
        if self._done:
            return
        self._done = True
        start = time.perf_counter()
        self.drawn.wait(self.timeout_s)
        state.held_s += time.perf_counter() - start
