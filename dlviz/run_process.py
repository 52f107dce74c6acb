"""A run's training loop in a process of its own, so that runs at once do not take turns at
Python's interpreter lock.

Two runs training in threads of one process share one interpreter lock: between its torch
operations each run's Python holds it, and the other run's thread waits (measured in
docs/benchmarks.md: two Image lab CNNs in two threads at once took longer than one after the
other; in two processes, 1.26 to 1.44 times faster). The page's own drawing shares it too.

So, in the dashboard, a CPU run that does not take turns (`jobs.takes_turns`: the Playground's
tiny networks, whose runs take turns half a second each) trains in a child process. Everything
else of the run stays in the server, as for a run in a thread: loading the data, building the
network, admission and its share of the cores, the run store, the summary and the trained
model handed to the page. Only `jobs.train` (the loop, its snapshots and probes) runs in the
child, which is forked from a server of processes that has already imported torch
(multiprocessing's "forkserver"), so a run starts in tens of milliseconds, not seconds.

Across the pipe:
- to the child: the network and its data, then the run's controls as they happen (stop with
  its reason, pause, resume, one step), the test example and channels the page chooses, the
  page's first drawing (`events.FirstDrawGate`) and the run's share of the cores;
- from the child: every event the loop emits, in order, then the loop's end state with the
  trained model, or the error that ended it. The count of updates taken (what the page's Step
  button checks) is shared memory.

`DLVIZ_RUN_PROCESSES`: ``1`` or ``0`` turns this on or off whatever the code asks; unset, the
dashboard turns it on (`enable`) and scripts and tests keep runs in threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing as mp
import os
import pickle
import queue
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from dlviz import devices

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from dlviz.events import FirstDrawGate
    from dlviz.probes import ImageProbe
    from dlviz.train import Callback, Control, FitState

log = logging.getLogger(__name__)

ENV = "DLVIZ_RUN_PROCESSES"
POLL_S = 0.02
RUN_NICE = 5  # a run's process's niceness above the server's  # how often the server's side looks for the page's choices and the controls
_enabled = False


def enable(on: bool = True) -> None:
    """Train CPU runs in processes of their own from now on (the dashboard calls this), and
    start the server of processes they are forked from, so that the first run does not wait
    for it."""
    global _enabled
    _enabled = on
    if enabled():
        _context()


def enabled() -> bool:
    """Whether a run that can train in a process of its own does (`DLVIZ_RUN_PROCESSES`, else
    what `enable` set)."""
    value = os.environ.get(ENV, "").strip()
    if value in ("0", "1"):
        return value == "1"
    return _enabled


_ctx_lock = threading.Lock()
_ctx: Any = None


def _context() -> Any:
    """The multiprocessing context runs are started from: a fork server that has imported this
    module (and so torch and the training loop) where the platform has one, else spawn."""
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            if "forkserver" in mp.get_all_start_methods():
                server = mp.get_context("forkserver")
                server.set_forkserver_preload([__name__, "dlviz.run_warm"])
                from multiprocessing import forkserver

                forkserver.ensure_running()
                _ctx = server
            else:
                _ctx = mp.get_context("spawn")
        return _ctx


def _process(ctx: Any, target: Callable[..., None], args: tuple[Any, ...], name: str) -> Any:
    """A daemon process of `ctx` that does not run the server's main module first
    (`_BareForkServerProcess`)."""
    if ctx.get_start_method() != "forkserver":
        return ctx.Process(target=target, args=args, name=name, daemon=True)
    return _BareForkServerProcess(target=target, args=args, name=name, daemon=True)


if "forkserver" in mp.get_all_start_methods():
    import io
    from multiprocessing import context, forkserver, popen_forkserver, reduction, spawn, util

    class _BarePopen(popen_forkserver.Popen):
        """multiprocessing's own launch through the fork server, less the main module.

        multiprocessing prepares a child by importing the parent's ``__main__`` again, and in a
        Streamlit server ``__main__`` is whichever page script ran last: the child would run
        the page. Everything a run needs is imported in the fork server already."""

        def _launch(self, process_obj: Any) -> None:
            prep = spawn.get_preparation_data(process_obj._name)
            prep = {k: v for k, v in prep.items() if not k.startswith("init_main_")}
            buf = io.BytesIO()
            context.set_spawning_popen(self)
            try:
                reduction.dump(prep, buf)
                reduction.dump(process_obj, buf)
            finally:
                context.set_spawning_popen(None)
            fds: list[int] = self._fds  # type: ignore[attr-defined]
            self.sentinel, w = forkserver.connect_to_new_process(fds)
            _parent_w = os.dup(w)
            close = util.close_fds  # type: ignore[attr-defined]
            self.finalizer = util.Finalize(self, close, (_parent_w, self.sentinel))
            with open(w, "wb", closefd=True) as f:
                f.write(buf.getbuffer())
            self.pid = forkserver.read_signed(self.sentinel)

    class _BareForkServerProcess(context.ForkServerProcess):
        @staticmethod
        def _Popen(process_obj: Any) -> Any:
            return _BarePopen(process_obj)


class RunFailed(Exception):
    """The run's process ended the run with an error (the message a person reads), or ended
    without a word."""


def carries(callbacks: tuple[Callback, ...]) -> bool:
    """Whether a run with these extra callbacks can train in a process of its own: only the
    page's first-drawing gate crosses (any other callback stays with the thread it was made
    in)."""
    from dlviz.events import FirstDrawGate

    return all(isinstance(c, FirstDrawGate) for c in callbacks)


def train(
    loop: Callable[..., FitState],
    net: Any,
    device: torch.device,
    record: Any,
    control: Control,
    probe: ImageProbe | None,
    snapshots: bool,
    callbacks: tuple[Callback, ...] = (),
    on_epoch: Callable[[], None] | None = None,
) -> FitState:
    """`loop(net, device, record, control, snapshotter, callbacks)` (`jobs.train`, a function
    the child finds by its name) in a child process: the same events in `record`, the same end
    state, `net.model` the trained model. `on_epoch` is called in this
    thread after each epoch's event (saving the curves as they grow). Raises `RunFailed` when
    the loop raised in the child (with the message a person reads) or the child died."""
    from dlviz.events import FirstDrawGate

    gate = next((c for c in callbacks if isinstance(c, FirstDrawGate)), None)
    ctx = _context()
    updates = ctx.Value("q", 0, lock=False)
    ours, theirs = ctx.Pipe(duplex=True)
    orders: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
    control.forward = orders.put  # from now on every stop, pause, resume and step crosses
    proc = _process(ctx, _child, (theirs, updates), f"dlviz-run-{record.run_id}")
    proc.start()
    theirs.close()
    share = devices.thread_share()  # the share the child starts with; `_follow` sends changes
    try:
        _send(
            ours,
            {
                "loop": loop,
                "net": dataclasses.replace(net, backbone=None),  # the backbone stays here
                "device": str(device),
                "snapshots": snapshots,
                "choice": _chosen(probe),
                "gate_s": None if gate is None else gate.timeout_s,
                "share": share,
                "control": control.orders(),
            },
        )
        return _follow(
            ours, proc, updates, orders, share, net, record, control, probe, gate, on_epoch
        )
    finally:
        control.forward = None
        ours.close()
        proc.join(5.0)
        if proc.is_alive():  # it said its last word; whatever holds it up, it is done
            proc.kill()
            proc.join(1.0)


def _send(conn: Connection, message: Any) -> None:
    """Plain pickle, tensors copied into the bytes. (Connection.send would use torch's
    reductions for multiprocessing, which share a tensor's memory through a file descriptor
    its sender must stay alive to hand over: a child that has sent its end goes.)"""
    conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _recv(conn: Connection) -> Any:
    return pickle.loads(conn.recv_bytes())


def _chosen(probe: ImageProbe | None) -> tuple[int, int] | None:
    """The test example and first channel the page chose for the run's snapshots."""
    if probe is None:
        return None
    c = probe.choice()
    return c.sample_index, c.channel_start


def _follow(
    conn: Connection,
    proc: Any,
    updates: Any,
    orders: queue.SimpleQueue[tuple[Any, ...]],
    share: int | None,
    net: Any,
    record: Any,
    control: Control,
    probe: ImageProbe | None,
    gate: FirstDrawGate | None,
    on_epoch: Callable[[], None] | None,
) -> FitState:
    """The server's side of a run in a child: its events into `record`, the page's choices and
    the controls out, until the child's last word. `share`: the thread share the child was
    given."""
    choice = _chosen(probe)
    drawn = gate is None
    while True:
        while not orders.empty():
            _send(conn, orders.get())
        now = _chosen(probe)
        if now is not None and now != choice:
            choice = now
            _send(conn, ("choose", *now))
        if not drawn and gate is not None and gate.drawn.is_set():
            drawn = True
            _send(conn, ("drawn",))
        if devices.thread_share() != share:
            share = devices.thread_share()
            _send(conn, ("share", share))
        while control.updates < updates.value:  # the page's Step button checks this count
            control.count_update()
        if not conn.poll(POLL_S):
            if not proc.is_alive() and not conn.poll():
                raise RunFailed(
                    f"The run's process ended unexpectedly (exit code {proc.exitcode}): "
                    "the server may be short of memory."
                )
            continue
        while conn.poll():
            try:
                word = _recv(conn)
            except EOFError:
                raise RunFailed(
                    f"The run's process ended unexpectedly (exit code {proc.exitcode})."
                ) from None
            kind = word[0]
            if kind == "event":
                record.emit(word[1])
                if word[1].get("type") == "epoch" and on_epoch is not None:
                    on_epoch()
            elif kind == "done":
                state: FitState = word[1]
                while control.updates < updates.value:
                    control.count_update()
                net.model = state.model
                return state
            elif kind == "error":
                raise RunFailed(word[1])


# --- the child --------------------------------------------------------------------------------


class _Sender:
    """What `jobs.train` needs of a `RunRecord`, in the child: its events go to the server (the
    server saves the curves, so there is no run id here)."""

    run_id = ""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def emit(self, event: dict[str, Any]) -> None:
        _send(self.conn, ("event", event))


def _child(conn: Connection, updates: Any) -> None:
    """A run's loop, in its own process: take the job, train, send the end."""
    from dlviz.events import FirstDrawGate, snapshotter_for
    from dlviz.probes import ImageProbe
    from dlviz.train import Control

    try:
        job = _recv(conn)
    except EOFError:
        return
    torch.set_num_threads(1)  # until the loop takes its share
    # below the server: its event loop and drawing answer every browser promptly, as they did
    # when the runs' threads waited for the server's interpreter lock
    with contextlib.suppress(OSError, AttributeError):
        os.nice(RUN_NICE)
    devices.set_thread_share(job["share"])

    class Counted(Control):
        def count_update(self) -> None:
            super().count_update()
            updates.value = self.updates

    control = Counted()
    control.obey(job["control"])
    net = job["net"]
    data = net.data
    probe = ImageProbe(data.x_test)
    if job["choice"] is not None:
        probe.choose(*job["choice"])
    drawn = threading.Event()
    callbacks: tuple[Any, ...] = ()
    if job["gate_s"] is not None:
        callbacks = (FirstDrawGate(drawn, job["gate_s"]),)

    def listen() -> None:
        while True:
            try:
                order = _recv(conn)
            except (EOFError, OSError):  # the server went away: nobody will see the rest
                control.stop("The dlviz server went away.")
                return
            if order[0] == "choose":
                probe.choose(order[1], order[2])
            elif order[0] == "drawn":
                drawn.set()
            elif order[0] == "share":
                devices.set_thread_share(order[1])
            else:
                control.obey([order])

    threading.Thread(target=listen, name="dlviz-run-orders", daemon=True).start()
    snap = snapshotter_for(data, probe) if job["snapshots"] else None
    try:
        record: Any = _Sender(conn)  # what `jobs.train` uses of a RunRecord
        state = job["loop"](net, torch.device(job["device"]), record, control, snap, callbacks)
    except BaseException as e:
        where = traceback.extract_tb(e.__traceback__)[-1]
        message = (
            f"The run failed unexpectedly: {type(e).__name__}: {e} "
            f"(at {os.path.basename(where.filename)}:{where.lineno})."
        )
        log.exception("run failed")
        _send(conn, ("error", message))
        return
    state.model.to("cpu")
    _send(conn, ("done", state))  # written whole before this process ends
