"""A sweep's trials as Ray tasks: on a private Ray of this machine (``address="local"``) or on a
Ray cluster (``"auto"``, ``"ray://head:10001"``, ...), with the events and stop of
`dlviz.sweeps.executors.LocalExecutor`.

- One task a trial, asking for `cpus` CPUs and `gpu` of one GPU (``gpu=0.25`` packs four small
  runs on a GPU). Ray admits no more at once than the nodes hold; the driver submits at most
  `slots`, what the cluster holds at once (or `parallel`).
- Placement decides the device: a trial with no GPU share trains on the CPU (its config's
  ``train.device`` "auto" becomes "cpu"; one that names a GPU ends at once with a message), and
  one with a share trains on the GPU Ray gave it (``cuda:N`` becomes ``cuda``: Ray shows the
  task only its own GPU).
- A small actor, the board (`SweepBoard`, no CPU), carries the rest: each task pushes its epoch
  rows to it and reads the stop flag in one call every half second (when `run_trial` polls its
  stop), and once more before it returns, so a trial's epochs are on the board before its
  result is ready. `events()` drains the board and turns finished tasks into ``done`` events;
  `stop()` raises the flag, which every running trial sees within a second and a trial not yet
  started sees as it starts.
- Results, weights included (CPU tensors), come back as the tasks' return values: the driver
  alone writes the run store, so a cluster needs no shared file system. The cluster's workers
  need torch and dlviz installed (Ray's runtime environments can ship them).
- A request the cluster can never meet (a GPU share on a cluster without GPUs, more CPUs than
  its largest node has) raises `ExecutorError` at once instead of waiting forever. An
  autoscaling cluster is judged by the nodes it has now.

Ray is imported only here, and only when an executor is made: dlviz runs without it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from typing import Any

from dlviz.sweeps.executors import ExecutorError
from dlviz.sweeps.trial import run_trial
from dlviz.text import plural

RAY_MISSING = (
    "Ray is not installed: pip install 'dlviz[ray]' (or pip install ray), "
    "or leave out --ray to sweep on this machine"
)
MAX_BOARD_ROWS = 100_000  # epoch rows the board keeps while nobody drains it (oldest go first)
WAIT_STEP_S = 0.05  # how often events() looks at the board while it waits
CLOSE_WAIT_S = 5.0  # how long close() lets stopped trials end before cancelling them


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ExecutorError(RAY_MISSING) from e
    return ray


class SweepBoard:
    """The Ray actor between the driver and its tasks: epoch rows from the tasks, the stop flag
    from the driver, and which trials are running (with the most ever at once)."""

    def __init__(self) -> None:
        self._rows: list[tuple[str, dict[str, Any]]] = []
        self._stop = False
        self._running: set[str] = set()
        self._peak = 0

    def begin(self, key: str) -> bool:
        """A trial starts; returns the stop flag."""
        self._running.add(key)
        self._peak = max(self._peak, len(self._running))
        return self._stop

    def sync(self, key: str, rows: list[dict[str, Any]]) -> bool:
        """A trial's new epoch rows; returns the stop flag."""
        self._rows.extend((key, row) for row in rows)
        if len(self._rows) > MAX_BOARD_ROWS:
            del self._rows[: len(self._rows) - MAX_BOARD_ROWS]
        return self._stop

    def end(self, key: str, rows: list[dict[str, Any]]) -> None:
        self.sync(key, rows)
        self._running.discard(key)

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        rows, self._rows = self._rows, []
        return rows

    def stop(self) -> None:
        self._stop = True

    def running(self) -> dict[str, Any]:
        """``{"running": [keys], "peak": most at once so far}``."""
        return {"running": sorted(self._running), "peak": self._peak}


def stopped_before_start() -> dict[str, Any]:
    return {
        "status": "stopped",
        "message": "The sweep was stopped before this trial started.",
        "summary": {},
        "metrics": {},
        "state": None,
    }


def trial_task(board: Any, key: str, config: dict[str, Any], threads: int) -> dict[str, Any]:
    """One trial, in a Ray worker: `run_trial` with its epochs and stop through the board."""
    ray = _import_ray()
    if ray.get(board.begin.remote(key)):
        ray.get(board.end.remote(key, []))
        return stopped_before_start()
    rows: list[dict[str, Any]] = []  # appended by the training thread, taken by the stop poll
    lock = threading.Lock()

    def take() -> list[dict[str, Any]]:
        with lock:
            batch = rows[:]
            rows.clear()
        return batch

    def report(row: dict[str, Any]) -> None:
        with lock:
            rows.append(row)

    def should_stop() -> bool:
        return bool(ray.get(board.sync.remote(key, take())))

    try:
        result = run_trial(config, should_stop=should_stop, report=report, threads=threads)
    except Exception as e:  # run_trial ends a run's own failures; this is the rest
        result = {"status": "error", "message": f"{type(e).__name__}: {e}"}
    ray.get(board.end.remote(key, take()))  # every epoch is on the board before the result
    return result


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ExecutorError(f"{name} must be a number; got {value!r}")
    return float(value)


def check_request(gpu: Any, cpus: Any) -> tuple[float, float]:
    """A trial's share, as Ray can grant it: `gpu` 0 (none) or a share of one GPU in (0, 1];
    `cpus` a fraction in (0, 1] or a whole number. Raises ExecutorError saying why not."""
    gpu = _number(gpu, "gpu")
    cpus = _number(cpus, "cpus")
    if not 0 <= gpu <= 1:
        raise ExecutorError(
            f"--gpu {gpu:g} cannot be met: it is the share of one GPU each trial gets, 0 (none) "
            "to 1 (a whole GPU); 0.25 packs four trials on a GPU. A trial trains on one "
            "device, so more than one GPU would sit idle."
        )
    if cpus <= 0 or (cpus > 1 and cpus != int(cpus)):
        raise ExecutorError(
            f"--cpus {cpus:g} cannot be met: each trial needs a share of a CPU in (0, 1] "
            "(0.5: two trials a core) or a whole number of CPUs."
        )
    return gpu, cpus


def _fits(capacity: float, share: float) -> int:
    """How many shares fit in `capacity` (Ray counts resources to 1/10,000)."""
    return int(math.floor(capacity / share + 1e-6))


def _count(value: float, noun: str) -> str:
    return plural(int(value) if value == int(value) else round(value, 4), noun)


def _nodes(ray: Any) -> list[dict[str, float]]:
    """The resources of each live node: {"CPU": ..., "GPU": ...}."""
    out = []
    for node in ray.nodes():
        if node.get("Alive", node.get("alive", True)):
            res = node.get("Resources") or {}
            out.append({"CPU": float(res.get("CPU", 0)), "GPU": float(res.get("GPU", 0))})
    return out


def capacity(nodes: list[dict[str, float]], gpu: float, cpus: float) -> int:
    """How many trials of `cpus` CPUs and `gpu` of a GPU the nodes hold at once."""
    total = 0
    for n in nodes:
        fit = _fits(n["CPU"], cpus)
        if gpu > 0:
            fit = min(fit, _fits(n["GPU"], gpu))
        total += fit
    return total


def describe_cluster(nodes: list[dict[str, float]]) -> str:
    cpus = sum(n["CPU"] for n in nodes)
    gpus = sum(n["GPU"] for n in nodes)
    text = f"{_count(cpus, 'CPU')}, {_count(gpus, 'GPU')}"
    return text if len(nodes) == 1 else f"{plural(len(nodes), 'node')}, {text}"


def impossible(nodes: list[dict[str, float]], gpu: float, cpus: float) -> str:
    """Why no node can ever run one trial of this shape ("" when one can)."""
    if not nodes:
        return "The Ray cluster has no live nodes."
    has = describe_cluster(nodes)
    if gpu > 0 and max(n["GPU"] for n in nodes) < gpu:
        return (
            f"Each trial asks for {gpu:g} GPU but the Ray cluster has {has}: leave out --gpu "
            "to train on the CPUs, or add a node with a GPU."
        )
    if max(n["CPU"] for n in nodes) < cpus:
        return (
            f"Each trial asks for {_count(cpus, 'CPU')} but no node of the Ray cluster has that "
            f"many ({has}): ask for fewer with --cpus."
        )
    if gpu > 0 and capacity(nodes, gpu, cpus) < 1:
        return (
            f"No node of the Ray cluster has both {_count(cpus, 'CPU')} and {gpu:g} GPU for a "
            f"trial ({has}): ask for fewer CPUs with --cpus."
        )
    return ""


def placed(config: dict[str, Any], gpu: float) -> tuple[dict[str, Any], str]:
    """The config a task trains, with the device its placement gives, or a reason it cannot
    train there: no GPU share -> "auto" is the CPU, and a named GPU is refused; a share -> Ray
    shows the task its one GPU, so ``cuda:N`` is ``cuda``."""
    if not isinstance(config, dict):
        return config, ""  # RunConfig says what is wrong with it
    train = config.get("train") if isinstance(config.get("train"), dict) else {}
    device = train.get("device", "auto")
    if not isinstance(device, str):
        return config, ""  # RunConfig says what is wrong with it
    if gpu == 0 and device == "auto":
        return {**config, "train": {**train, "device": "cpu"}}, ""
    if gpu == 0 and device.startswith("cuda"):
        return config, (
            f"This trial asks for train.device {device!r} but gets no GPU on Ray: give each "
            "trial a share of one with --gpu (0.25 packs four on a GPU), or set train.device "
            "to auto or cpu."
        )
    if gpu > 0 and device.startswith("cuda:"):
        return {**config, "train": {**train, "device": "cuda"}}, ""
    return config, ""


class RayExecutor:
    """Trials as Ray tasks, `cpus` CPUs and `gpu` of a GPU each (see the module's docstring).

    Args:
        address: "local" starts a private Ray on this machine (stopped on `close`), with
            `num_cpus` / `num_gpus` if given (logical: ``num_gpus=1`` on a machine without one
            makes a GPU for tests); "auto" or an address connects to that cluster. If this
            process already runs Ray, the executor uses it and leaves it running.
        parallel: trials at once; by default what the cluster holds at once.
        gpu: each trial's share of one GPU: 0 (train on the CPU), a fraction in (0, 1], or 1.
        cpus: each trial's CPUs (also its torch threads, at least 1).
    """

    def __init__(
        self,
        address: str = "local",
        parallel: int | None = None,
        gpu: float = 0.0,
        cpus: float = 1.0,
        num_cpus: int | None = None,
        num_gpus: float | None = None,
    ):
        self.gpu, self.cpus = check_request(gpu, cpus)
        if parallel is not None and (isinstance(parallel, bool) or int(parallel) < 1):
            raise ExecutorError(f"parallel must be at least 1; got {parallel!r}")
        local = address == "local"
        if not local and (num_cpus is not None or num_gpus is not None):
            raise ExecutorError(
                "num_cpus and num_gpus size a private local Ray; a cluster has its own."
            )
        ray = _import_ray()
        self._ray = ray
        self._started = False
        self._closed = False
        self._pending: dict[Any, str] = {}  # a task's result ref -> its trial's key
        self._early: list[dict[str, Any]] = []  # done events of trials that never became tasks
        if ray.is_initialized():
            kind = "the Ray this process already runs"
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
            try:
                if local:
                    ray.init(
                        address="local",
                        num_cpus=num_cpus,
                        num_gpus=num_gpus,
                        include_dashboard=False,
                        **quiet,
                    )
                else:
                    ray.init(address=address, **quiet)
            except Exception as e:
                where = "start a local Ray" if local else f"connect to the Ray cluster at {address}"
                hint = "" if local else " (start one with `ray start --head`, or check the address)"
                raise ExecutorError(f"Could not {where}{hint}: {type(e).__name__}: {e}") from e
            self._started = True
            kind = "a private local Ray" if local else f"the Ray cluster at {address}"
        try:
            nodes = _nodes(ray)
            reason = impossible(nodes, self.gpu, self.cpus)
            if reason:
                raise ExecutorError(reason)
            holds = capacity(nodes, self.gpu, self.cpus)
            self.slots = int(parallel) if parallel is not None else max(1, holds)
            self._board = ray.remote(num_cpus=0)(SweepBoard).remote()
            self._task = ray.remote(trial_task).options(
                num_cpus=self.cpus, num_gpus=self.gpu, max_retries=0
            )
        except BaseException:
            self._shutdown()
            raise
        share = f"{_count(self.cpus, 'CPU')}" + (f" and {self.gpu:g} GPU" if self.gpu else "")
        self.where = f"{kind} ({describe_cluster(nodes)}), {self.slots} at a time, {share} each" + (
            "" if self.gpu else ", on the CPU"
        )

    # --- the protocol ---------------------------------------------------------------------

    def submit(self, key: str, config: dict[str, Any]) -> None:
        config, problem = placed(config, self.gpu)
        if problem:
            result = {"status": "error", "message": problem, "summary": {}, "metrics": {}}
            self._early.append({"type": "done", "key": key, "result": {**result, "state": None}})
            return
        threads = int(self.cpus) or 1
        self._pending[self._task.remote(self._board, key, config, threads)] = key

    def events(self, timeout: float) -> list[dict[str, Any]]:
        """What happened since the last call, waiting up to `timeout` seconds for something."""
        ray = self._ray
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            ready = []
            if self._pending:
                refs = list(self._pending)
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            # after the wait: a finished task's epochs were on the board before its result
            out = [
                {"type": "epoch", "key": k, **row} for k, row in ray.get(self._board.drain.remote())
            ]
            out += self._early
            self._early = []
            for ref in ready:
                key = self._pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as e:  # the worker died, the task was cancelled, ...
                    result = {"status": "error", "message": _task_failure(e)}
                out.append({"type": "done", "key": key, "result": result})
            left = deadline - time.monotonic()
            if out or left <= 0:
                return out
            if self._pending:
                ray.wait(list(self._pending), num_returns=1, timeout=min(WAIT_STEP_S, left))
            else:
                time.sleep(min(WAIT_STEP_S, left))

    def stop(self) -> None:
        if not self._closed:
            self._ray.get(self._board.stop.remote())

    def close(self) -> None:
        """Stop every trial, give them `CLOSE_WAIT_S` to end, cancel the rest, and stop Ray if
        this executor started it."""
        if self._closed:
            return
        ray = self._ray
        try:
            self.stop()
            if self._pending:
                refs = list(self._pending)
                _, left = ray.wait(refs, num_returns=len(refs), timeout=CLOSE_WAIT_S)
                for ref in left:
                    ray.cancel(ref, force=True)
            ray.kill(self._board)
        except Exception:  # Ray already gone: nothing left to stop
            logging.getLogger(__name__).debug("closing the Ray executor", exc_info=True)
        finally:
            self._closed = True
            self._pending.clear()
            self._shutdown()

    # --- for tests and progress -----------------------------------------------------------

    def running(self) -> dict[str, Any]:
        """The board's ``{"running": [keys], "peak": most trials ever running at once}``."""
        return self._ray.get(self._board.running.remote())

    def _shutdown(self) -> None:
        if self._started:
            self._started = False
            self._ray.shutdown()


def _task_failure(e: Exception) -> str:
    cause = getattr(e, "cause", None) or e
    text = str(cause).strip().splitlines()
    return f"The trial's Ray task failed: {type(cause).__name__}" + (
        f": {text[-1]}" if text else ""
    )
