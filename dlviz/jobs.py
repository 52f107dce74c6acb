"""Runs in background threads: events out through a queue, stop and pause in through a Control.

A page keeps the `RunHandle` that `start()` returns in its own session state (never in a module
global), calls `handle.poll()` to fold new events into `handle.history`, and draws that.

Admission (`dlviz.admission`): a run waits, and says why, until its device has a free slot and
memory for it and its person is under their cap of running runs.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dlviz import admission, outcome, run_process, runs, transfer
from dlviz.config import RunConfig
from dlviz.data import Dataset, limit_per_class, load_dataset, load_generative
from dlviz.devices import (
    DeviceError,
    describe,
    one_thread,
    resolve_device,
    restore_threads,
    small_step,
)
from dlviz.events import (
    EventEmitter,
    FirstDrawGate,
    LayerProbes,
    Snapshotter,
    probeable,
    snapshotter_for,
)
from dlviz.history import RunHistory
from dlviz.models import build_model, count_parameters
from dlviz.probes import ImageProbe, class_report, weight_layers
from dlviz.runs import store
from dlviz.train import Callback, Control, FitState, batch_bounds, fit
from dlviz.turns import TakeTurns

log = logging.getLogger(__name__)
Emit = Callable[[dict[str, Any]], None]

# --- admission (dlviz.admission) ------------------------------------------------------------

runs_per_device = admission.runs_per_device  # kept here for the pages that quote it


def network_bytes(net: Network) -> int:
    """About the memory `net` takes while it trains (`admission.estimate_bytes`)."""
    d = net.data
    y = sum(t.numel() * t.element_size() for t in (d.y_train, d.y_test))
    return admission.estimate_bytes(
        net.model,
        d.x_train,
        d.x_test,
        net.config.train.batch_size,
        net.config.train.optimizer,
        y_bytes=y,
    )


def takes_turns(net: Network, device: torch.device) -> bool:
    """Whether `net`'s run takes turns on the CPU with others like it (`dlviz.turns`): an
    MLP with a small step (`devices.small_step`), whose step is dozens of operations each
    costing more in Python than in arithmetic. Two Playground runs at once in one process
    finished later than one after the other (their threads take turns at Python's interpreter
    lock); a Playground run beside an Image lab CNN, sooner."""
    from dlviz.models.mlp import MLP  # the registry imports models lazily

    params = count_parameters(net.model)
    return isinstance(net.model, MLP) and small_step(device, params, net.config.train.batch_size)


# --- the curves, saved as a run trains ------------------------------------------------------

RUN_THREAD = "dlviz-run"  # the name of every run's training thread

METRICS_EVERY_S = 10.0  # how often a training run's curves are saved to the run store


class MetricsSaver(Callback):
    """Saves the curves so far to the run store at most every `every_s` seconds, at the end of
    an epoch, so that a run cut off (a server stop, a killed process) keeps them."""

    def __init__(self, save: Callable[[], None], every_s: float):
        self.save = save
        self.every_s = every_s
        self._next = time.monotonic() + every_s

    def on_epoch_end(self, state: FitState) -> None:
        self.save_when_due()

    def save_when_due(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        try:
            self.save()
        except OSError:  # the store filled up or went away: training goes on, the end says so
            log.warning("the curves of a running run could not be saved", exc_info=True)
        self._next = time.monotonic() + max(self.every_s, 20 * (time.monotonic() - now))


# --- one run, start to end: data -> model -> loop -> store ------------------------------------


def execute(
    config: RunConfig,
    *,
    emit: Emit,
    control: Control | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    callbacks: tuple[Callback, ...] = (),
    snapshots: bool = True,
    probe: ImageProbe | None = None,
    data: Dataset | None = None,
    owner: str = "",
    own_process: bool = False,
) -> dict[str, Any]:
    """Load data (or take `data`, already loaded: a person's uploaded images), build the model,
    train, save to the run store; return the summary.

    Everything the run has to say goes through `emit`, ending with one ``end`` event. A device
    that is not present, a divergence or an unexpected error end the run with a message; this
    function does not raise for them (a KeyboardInterrupt or SystemExit raised inside a run
    ends it as failed too, then goes on up). `owner` (an opaque id of the person who started
    it, or "") is kept in the run store with the run. With `own_process`, a CPU run that does
    not take turns trains in a process of its own (`dlviz.run_process`).
    """
    with one_thread() as threads:  # until the run's loop takes its share of the cores
        return _execute(
            config,
            emit,
            control,
            runs_dir,
            callbacks,
            snapshots,
            probe,
            data,
            owner,
            threads,
            own_process,
        )


def _execute(
    config: RunConfig,
    emit: Emit,
    control: Control | None,
    runs_dir: str | os.PathLike[str] | None,
    callbacks: tuple[Callback, ...],
    snapshots: bool,
    probe: ImageProbe | None,
    data: Dataset | None,
    owner: str,
    threads: int,
    own_process: bool = False,
) -> dict[str, Any]:
    control = control or Control()
    record = RunRecord(emit, runs_dir, config)
    try:
        device = resolve_device(config.train.device)
    except DeviceError as e:
        return record.end("error", str(e))
    out_of_memory = False
    try:
        try:
            data = load_data(config, data)
        except (ValueError, RuntimeError) as e:  # no such file, no espeak-ng: say so plainly
            return record.fail(str(e))
        net = build_network(config, data, runs_dir)
        with admission.admit(
            device,
            need=network_bytes(net),
            should_stop=lambda: control.stop_requested,
            emit=record.emit,
            owner=owner,
            label=config.name,
        ) as admitted:
            if not admitted:
                return record.end("stopped", "Stopped before it started.")
            record.begin(net, device, owner)
            if probe is not None:
                probe.x_test = net.data.x_test
            # in a process of its own, a run needs no turns: it has its own interpreter lock
            apart = own_process and device.type == "cpu" and run_process.carries(callbacks)
            turn = None
            if not apart and takes_turns(net, device):
                turn = TakeTurns(lambda: control.stop_requested)
            taking: tuple[Callback, ...] = () if turn is None else (turn,)
            try:
                if apart:
                    state = train_apart(net, device, record, control, probe, snapshots, callbacks)
                else:
                    snap = snapshotter_for(net.data, probe) if snapshots else None
                    state = train(net, device, record, control, snap, callbacks + taking)
            finally:
                if turn is not None:
                    turn.leave()
        restore_threads(threads)  # the rest (its last readings, saving) as before the run
    except (transfer.BackboneError, admission.TooBig) as e:
        return record.fail(str(e))
    except run_process.RunFailed as e:  # the loop in a process of its own (`train_apart`)
        log.warning("run failed in its own process: %s", e)
        return record.fail(str(e))
    except torch.cuda.OutOfMemoryError:
        out_of_memory = True  # handled below, once the traceback no longer holds its tensors
    except BaseException as e:  # the page must survive anything a run does
        log.exception("run failed")
        where = traceback.extract_tb(e.__traceback__)[-1]
        failed = record.fail(
            f"The run failed unexpectedly: {type(e).__name__}: {e} "
            f"(at {os.path.basename(where.filename)}:{where.lineno})."
        )
        if not isinstance(e, Exception):
            raise  # KeyboardInterrupt, SystemExit: the run is saved as failed, and they go on
        return failed
    if out_of_memory:
        net = None  # type: ignore[assignment]  # the model's memory, for release_gpu_memory
        release_gpu_memory(device)
        return record.fail(OUT_OF_MEMORY)
    summary = summarize(state, net, device, owner, record.history)
    return record.finish(state, summary, net.model)


OUT_OF_MEMORY = (
    "The GPU ran out of memory. Try a smaller batch size or a narrower or shallower network, "
    "or train on the CPU (device cpu); other runs on the same GPU leave less memory free."
)


def release_gpu_memory(device: torch.device) -> None:
    """Give the memory a failed run held back to the GPU (torch's cache keeps it otherwise),
    so that a run waiting for memory there (`dlviz.admission`) sees it free."""
    if device.type != "cuda":
        return
    import gc

    gc.collect()  # tensors held in reference cycles of the failed step
    try:
        torch.cuda.empty_cache()
    except RuntimeError:  # a GPU in a broken state: nothing more to give back
        log.warning("the GPU's memory cache could not be emptied", exc_info=True)


def disk_full_message(runs_dir: str | os.PathLike[str], e: OSError) -> str:
    """What a person reads when a run could not be saved because the disk is full."""
    return (
        f"The disk is full: the run could not be saved to {runs_dir} ({e.strerror or e}). "
        "Free some space there, then train it again."
    )


def load_data(config: RunConfig, data: Dataset | None = None) -> Dataset:
    """The run's dataset: loaded from `config.data`, or `data` (already loaded) cut to
    `config.data.per_class` examples of each class."""
    if data is None:
        if config.model.is_generative:
            return load_generative(config.data)
        return load_dataset(config.data)
    if config.data.per_class:
        return limit_per_class(data, config.data.per_class, config.data.seed)
    return data


@dataclass
class Network:
    """What a run trains: the model, the data as it takes it, and the config as it runs (with
    a backbone, the model section is the backbone's architecture)."""

    config: RunConfig
    data: Dataset
    model: nn.Module
    backbone: transfer.Backbone | None = None


def build_network(
    config: RunConfig, data: Dataset, runs_dir: str | os.PathLike[str] | None = None
) -> Network:
    """The model `config` describes, seeded by `config.train.seed`; with a transfer backbone
    (found in `runs_dir` for a ``run:ID``), that backbone's network and `data` adapted to it."""
    if not config.transfer.active:
        spec = data.seq if data.seq is not None else data.audio
        model = build_model(
            config.model, data.input_shape, data.n_outputs, seed=config.train.seed, spec=spec
        )
        aug = config.train.augment
        if data.audio is not None and (aug.time_mask or aug.freq_mask):
            frontend = model.get_submodule("frontend")  # a sound network's AudioFeatures
            frontend.set_masks(aug.time_mask, aug.freq_mask, config.train.seed + 5)  # type: ignore[operator]
        return Network(config, data, model)
    backbone = transfer.load_backbone(config.transfer.backbone, runs_dir)
    config = transfer.resolve(config, backbone)
    data = transfer.adapt_data(data, backbone.input_shape)
    model = transfer.build(backbone, config.transfer, data.n_classes, seed=config.train.seed)
    return Network(config, data, model, backbone)


def train(
    net: Network,
    device: torch.device,
    record: RunRecord,
    control: Control,
    snapshot: Snapshotter | None,
    callbacks: tuple[Callback, ...] = (),
) -> FitState:
    """The training loop, its events into `record` (snapshots by `snapshot`; linear probes of
    every layer with `train.probe_every`), its curves saved to the store as it goes; then, for
    images, how each class fared."""
    model, data, tc = net.model, net.data, net.config.train
    emitter = EventEmitter(record.emit, snapshot=snapshot)
    saving: tuple[Callback, ...] = ()
    if record.run_id:
        saving = (MetricsSaver(record.save_metrics, METRICS_EVERY_S),)
    probes: tuple[LayerProbes, ...] = ()
    if tc.probe_every and probeable(data):
        probes = (LayerProbes(record.emit, data, every=tc.probe_every, seed=tc.seed),)
    state = fit(
        model,
        data,
        tc,
        device,
        callbacks=(emitter, *probes, *saving, *callbacks),
        control=control,
    )
    if probes and state.status != "diverged" and not state.stop_reason:
        # the trained network's, after the loop (not training time); not when the server or
        # the reaper stopped the run, which should end at once
        probes[0].final(state)
    classifier = data.kind in ("image", "audio") and not data.generative
    if classifier and state.epoch > 0 and state.status != "diverged":
        report = class_report(model, data.x_test, data.y_test, data.n_classes)
        record.emit({"type": "classes", **report})
    return state


def train_apart(
    net: Network,
    device: torch.device,
    record: RunRecord,
    control: Control,
    probe: ImageProbe | None,
    snapshots: bool,
    callbacks: tuple[Callback, ...] = (),
) -> FitState:
    """`train`, its loop in a process of its own (`dlviz.run_process`); the curves are saved
    here as they grow."""
    saver = MetricsSaver(record.save_metrics, METRICS_EVERY_S) if record.run_id else None
    return run_process.train(
        train,
        net,
        device,
        record,
        control,
        probe,
        snapshots,
        callbacks,
        on_epoch=None if saver is None else saver.save_when_due,
    )


def summarize(
    state: FitState, net: Network, device: torch.device, owner: str, history: RunHistory
) -> dict[str, Any]:
    """A trained run's summary: the loop's, what it learned (`dlviz.outcome`), and how far a
    fine-tuned backbone moved."""
    config = net.config
    summary = {"device": describe(device), **state.summary(), **({"owner": owner} if owner else {})}
    if state.epoch > 0 and state.status in ("finished", "stopped"):  # learned, at chance, dead
        try:
            summary["outcome"] = outcome.of_run(state, net.data, config, history).to_dict()
        except Exception:  # a reading must never cost the run its end
            log.exception("the outcome of a run could not be judged")
    if net.backbone is not None and config.transfer.strategy != "scratch":
        summary["weight_change"] = transfer.weight_change(net.model, net.backbone)
    return summary


class RunRecord:
    """What a run leaves: its events, folded into `history` and sent on through `emit`; its
    folder in the run store (when `runs_dir` is given), from its start to its end; and its one
    ``end`` event."""

    def __init__(
        self, emit: Emit, runs_dir: str | os.PathLike[str] | None, config: RunConfig
    ) -> None:
        self._emit = emit
        self.runs_dir = runs_dir
        self.config = config  # as it runs, once the network is built
        self.history = RunHistory()
        self.run_id = ""  # in the run store from the start (when `runs_dir` is given)
        self.start_error: OSError | None = None

    def emit(self, event: dict[str, Any]) -> None:
        self.history.apply(event)
        self._emit(event)

    def begin(self, net: Network, device: torch.device, owner: str) -> None:
        """Open the run's folder in the store and announce the run (its ``start`` event)."""
        config, model, data = net.config, net.model, net.data
        self.config = config
        layers = [name for name, _ in weight_layers(model)]
        if self.runs_dir is not None:
            self.run_id = runs.new_run_id(config.name or config.model.arch)
            try:
                runs.start_run(
                    self.runs_dir,
                    self.run_id,
                    config.to_dict(),
                    {
                        "device": describe(device),
                        "params": count_parameters(model),
                        **({"owner": owner} if owner else {}),
                    },
                )
            except OSError as e:  # train anyway; saving is tried again at the end
                self.start_error, self.run_id = e, ""
        self.emit(
            {
                "type": "start",
                "run_id": self.run_id,
                "config": config.to_dict(),
                "device": describe(device),
                "params": count_parameters(model),
                "trainable_params": count_parameters(model, trainable_only=True),
                "layers": layers,
                "total_epochs": 0 if config.train.until_stopped else config.train.epochs,
                "steps_per_epoch": len(batch_bounds(len(data.x_train), config.train.batch_size)),
            }
        )

    def save_metrics(self) -> None:
        assert self.runs_dir is not None  # a run_id is set only with a store
        runs.save_metrics(self.runs_dir, self.run_id, self.history.epochs_dict())

    def end(
        self,
        status: str,
        message: str,
        summary: dict[str, Any] | None = None,
        run_id: str = "",
        model: nn.Module | None = None,
    ) -> dict[str, Any]:
        event = {
            "type": "end",
            "status": status,
            "message": message,
            "summary": summary or {},
            "run_id": run_id,
            "model": model,
        }
        self._emit(event)
        return {"status": status, "message": message, "run_id": run_id, **(summary or {})}

    def fail(self, message: str) -> dict[str, Any]:
        """End with an error; a run already in the store is marked failed, not left running."""
        if not self.run_id:
            return self.end("error", message)
        assert self.runs_dir is not None  # a run_id is set only with a store
        history = self.history
        summary = {
            "status": "error",
            "message": message,
            "device": history.device,
            "params": history.params,
            "epochs": history.epoch,
            "seconds": round(history.elapsed, 4),
            "final": history.final,
        }
        try:
            runs.save_run(
                self.runs_dir, self.run_id, self.config.to_dict(), summary, history.epochs_dict()
            )
        except OSError:
            log.exception("the failed run %s could not be saved", self.run_id)
            self._save_end(self.run_id, summary)
        return self.end("error", message, run_id=self.run_id)

    def _save_end(self, run_id: str, summary: dict[str, Any]) -> None:
        """After a save failed (a full disk): write the end alone, keeping the curves saved
        before; when not even that fits, the listing of this process still shows the end."""
        assert self.runs_dir is not None
        try:
            runs.save_run(self.runs_dir, run_id, self.config.to_dict(), summary, None)
        except OSError:
            log.warning("the end of run %s could not be saved", run_id, exc_info=True)
            store.note_unsaved_end(self.runs_dir, run_id, summary["status"], summary["message"])

    def finish(self, state: FitState, summary: dict[str, Any], model: nn.Module) -> dict[str, Any]:
        """Save the trained run (summary, curves, weights) and end it."""
        config, runs_dir = self.config, self.runs_dir
        message = state.message
        run_id = self.run_id
        if runs_dir is not None:
            run_id = run_id or runs.new_run_id(config.name or config.model.arch)
            try:
                runs.save_run(
                    runs_dir,
                    run_id,
                    config.to_dict(),
                    summary,
                    self.history.epochs_dict(),
                    model=model,
                )
            except OSError as e:
                if store.is_disk_full(e) or store.is_disk_full(self.start_error):
                    return self._disk_full(run_id, summary, model.to("cpu").eval(), e)
                e = self.start_error or e
                message = f"{message} The run could not be saved to {runs_dir}: {e}".strip()
                summary["message"] = message
                run_id = ""
        model.to("cpu").eval()  # the trained model, for what pages compute on demand
        return self.end(state.status, message, summary, run_id, model)

    def _disk_full(
        self, run_id: str, summary: dict[str, Any], model: nn.Module, e: OSError
    ) -> dict[str, Any]:
        """A run whose save found the disk full ends failed, saying so: in the store its end
        alone (its weights are not kept, the curves saved before are); the trained model stays
        with the page."""
        assert self.runs_dir is not None
        if not store.is_disk_full(e) and self.start_error is not None:
            e = self.start_error
        message = disk_full_message(self.runs_dir, e)
        if summary.get("message"):
            message = f"{message} {summary['message']}"
        summary.update(status="error", message=message)
        in_store = os.path.isdir(os.path.join(self.runs_dir, run_id))
        if in_store:
            self._save_end(run_id, summary)
        return self.end("error", message, summary, run_id if in_store else "", model)


# --- the background thread ------------------------------------------------------------------


class RunHandle:
    """One run in a daemon thread. Only the thread that owns the handle should call `poll()`.

    With `orphan_after_s`, a run nobody has polled for that long is stopped: its browser tab is
    gone, and nobody would see the rest of it.
    """

    def __init__(
        self,
        config: RunConfig,
        runs_dir: str | os.PathLike[str] | None = None,
        after: RunHandle | None = None,
        label: str = "",
        orphan_after_s: float | None = None,
        data: Dataset | None = None,
        owner: str = "",
        wait_for_page_s: float | None = None,
    ):
        self.config = config
        self.owner = owner
        # Set by the page once it has drawn this run's first point; with `wait_for_page_s` the
        # run holds after its first report until then (FirstDrawGate).
        self.drawn = threading.Event()
        self.wait_for_page_s = wait_for_page_s
        self.data = data  # given: the run trains on it instead of loading `config.data`
        self.orphan_after_s = orphan_after_s
        self.last_poll = time.monotonic()
        self.control = Control()
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.history = RunHistory(label=label or config.name)
        self.after = after
        self._runs_dir = runs_dir
        # The test image whose feature maps live snapshots keep; the page may change
        # `probe.sample_index` at any time (the data arrives when the run loads it).
        self.probe = ImageProbe(torch.empty(0))
        self.thread = threading.Thread(target=self._main, name=RUN_THREAD, daemon=True)
        self._poll_lock = threading.Lock()  # two tabs of one person may poll the same run

    def _main(self) -> None:
        if self.after is not None:
            self.events.put({"type": "queued", "message": "Waiting for the run before it to end."})
            while self.after.thread.is_alive() and not self.control.stop_requested:
                self.after.thread.join(timeout=0.1)
            if self.control.stop_requested:
                self.events.put(
                    {"type": "end", "status": "stopped", "message": "Stopped before it started."}
                )
                return
        try:
            execute(
                self.config,
                own_process=run_process.enabled(),
                emit=self.events.put,
                control=self.control,
                runs_dir=self._runs_dir,
                probe=self.probe,
                data=self.data,
                owner=self.owner,
                callbacks=(FirstDrawGate(self.drawn, self.wait_for_page_s),)
                if self.wait_for_page_s
                else (),
            )
        except BaseException:  # already ended as failed by `execute`; nothing above this thread
            log.warning("a run's thread ended by an exception", exc_info=True)

    def poll(self, max_events: int = 10_000) -> int:
        """Fold waiting events into `history`; returns how many there were."""
        self.last_poll = time.monotonic()
        count = 0
        with self._poll_lock:
            while count < max_events:
                try:
                    event = self.events.get_nowait()
                except queue.Empty:
                    break
                self.history.apply(event)
                count += 1
        return count

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    @property
    def done(self) -> bool:
        """The thread has ended and every event it sent has been polled."""
        return not self.thread.is_alive() and self.events.empty()

    def stop(self) -> None:
        self.control.stop()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def step(self, after: int | None = None) -> None:
        """One more update of a paused run, then it holds again; with `after`, only if the run
        has taken `after` updates (`control.updates`: what the page saw)."""
        self.control.step_once(after)

    def wait(self, timeout: float | None = None) -> RunHistory:
        """Block until the run ends (tests and scripts); returns the polled history."""
        self.thread.join(timeout)
        self.poll()
        return self.history


def start(
    config: RunConfig,
    *,
    runs_dir: str | os.PathLike[str] | None = None,
    after: RunHandle | None = None,
    label: str = "",
    orphan_after_s: float | None = None,
    data: Dataset | None = None,
    owner: str = "",
    wait_for_page_s: float | None = None,
) -> RunHandle:
    """Start `config` in a background thread (after `after` ends, if given), on `data` when
    given instead of the data `config` names; `owner` is kept with the run in the store. With
    `wait_for_page_s`, the run holds after its first report until `handle.drawn` is set, at
    most that long."""
    handle = RunHandle(
        config,
        runs_dir=runs_dir,
        after=after,
        label=label,
        orphan_after_s=orphan_after_s,
        data=data,
        owner=owner,
        wait_for_page_s=wait_for_page_s,
    )
    if orphan_after_s is not None:
        _watch(handle)
    _started.add(handle)
    _ensure_shutdown_hook()
    handle.thread.start()
    return handle


# --- stopping every run when the process ends -------------------------------------------------

SERVER_STOP_REASON = "The dlviz server was stopped."
SHUTDOWN_WAIT_S = 20.0  # how long the process waits, in all, for its runs to save and end

_started: weakref.WeakSet[RunHandle] = weakref.WeakSet()
_hook_lock = threading.Lock()
_hooked = False


def _ensure_shutdown_hook() -> None:
    global _hooked
    with _hook_lock:
        if not _hooked:
            atexit.register(stop_all, SERVER_STOP_REASON, SHUTDOWN_WAIT_S)
            _hooked = True


def stop_all(reason: str = SERVER_STOP_REASON, wait_s: float = SHUTDOWN_WAIT_S) -> int:
    """Stop every run of this process and wait (up to `wait_s` in all) until each has saved its
    curves and weights and ended; returns how many were still training.

    Runs on the process's way out (atexit: after a SIGTERM or Ctrl+C, Streamlit stops its server
    and the interpreter exits). Without it the run threads, daemons, would be killed wherever
    they are: in the middle of a torch operation (C++ then aborts with "terminate called without
    an active exception") and before the end of the run is saved.
    """
    alive = [h for h in list(_started) if h.alive]
    for h in alive:
        h.control.stop(reason)
    deadline = time.monotonic() + wait_s
    for h in alive:
        h.thread.join(max(0.0, deadline - time.monotonic()))
    return len(alive)


# --- stopping runs whose page went away ---------------------------------------------------------

_watched: weakref.WeakSet[RunHandle] = weakref.WeakSet()
_reaper_lock = threading.Lock()
_reaper: threading.Thread | None = None
REAP_EVERY_S = 2.0


def _watch(handle: RunHandle) -> None:
    global _reaper
    with _reaper_lock:
        _watched.add(handle)
        if _reaper is None or not _reaper.is_alive():
            _reaper = threading.Thread(target=_reap_forever, name="dlviz-reaper", daemon=True)
            _reaper.start()


def reap_orphans(now: float | None = None) -> int:
    """Stop every watched run not polled within its `orphan_after_s`; returns how many."""
    now = time.monotonic() if now is None else now
    count = 0
    for h in list(_watched):
        if h.alive and not h.control.stop_requested and now - h.last_poll > (h.orphan_after_s or 0):
            h.control.stop(
                f"No page had shown it for {h.orphan_after_s:.0f} s (its browser tab closed?)."
            )
            count += 1
    return count


def _reap_forever() -> None:
    while True:
        time.sleep(REAP_EVERY_S)
        reap_orphans()
