"""`dlviz sweep SWEEP.json [--ray local|auto|ADDRESS] [--parallel N] [--gpu FRACTION]
[--dry-run] [--yes] [--json] [--runs-dir DIR]`: the sweep's trials run on this machine, N at a
time (default), or as Ray tasks; progress on stderr, and with --json the result as the last
stdout line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DRY_RUN_SHOWN = 3  # trials whose whole config --dry-run prints


def _err(message: str) -> None:
    print(f"dlviz: {message}", file=sys.stderr)


def _finite(obj: Any) -> Any:
    """`obj` with NaN and infinities as null (JSON has none)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def add_parser(sub: Any) -> None:
    s = sub.add_parser(
        "sweep",
        help="run a sweep file: a grid of settings x seeds, on this machine or on Ray",
        description="Run every trial of a sweep file (see README, Sweeps) and aggregate over "
        "seeds. Running the same file again resumes: finished trials are skipped.",
    )
    s.add_argument("sweep", help="sweep file (JSON)")
    s.add_argument(
        "--ray",
        metavar="local|auto|ADDRESS",
        help="run the trials as Ray tasks: a private local Ray, the cluster Ray finds (auto), "
        "or the cluster at ADDRESS (needs pip install 'dlviz[ray]')",
    )
    s.add_argument(
        "--parallel",
        type=int,
        default=None,
        help="trials at once (default: 1 on this machine; with --ray, as many as fit)",
    )
    s.add_argument(
        "--gpu",
        type=float,
        default=0.0,
        help="with --ray: the share of a GPU each trial asks for (0.25 packs four on one GPU); "
        "0: trials train on the CPU",
    )
    s.add_argument("--cpus", type=float, default=1.0, help="with --ray: CPUs a trial asks for")
    s.add_argument("--dry-run", action="store_true", help="print the count and first configs")
    s.add_argument("--yes", "-y", action="store_true", help="run a very large sweep")
    s.add_argument("--json", action="store_true", help="end with the result as one JSON line")
    s.add_argument("--runs-dir", help="run store folder (default: $DLVIZ_HOME/runs)")
    s.add_argument("--owner", default="", help=argparse.SUPPRESS)  # the page's person
    s.set_defaults(func=cmd_sweep)


def _executor(args: argparse.Namespace):
    from dlviz.sweeps.executors import ExecutorError, LocalExecutor

    if args.parallel is not None and not 1 <= args.parallel <= 256:
        raise ExecutorError("--parallel must be from 1 to 256")
    if args.ray is None:
        if args.gpu:
            raise ExecutorError("--gpu is for --ray; on this machine each trial uses its device")
        return LocalExecutor(args.parallel or 1)
    from dlviz.sweeps.ray_executor import RayExecutor

    return RayExecutor(args.ray, parallel=args.parallel, gpu=args.gpu, cpus=args.cpus)


def cmd_sweep(args: argparse.Namespace) -> int:
    from dlviz import runs
    from dlviz.sweeps.driver import Driver, install_signal_stop
    from dlviz.sweeps.executors import ExecutorError
    from dlviz.sweeps.spec import (
        CONFIRM_TRIALS,
        MAX_TRIALS,
        SweepError,
        count,
        expand,
        read_spec,
        sweep_id,
    )

    try:
        spec = read_spec(args.sweep)
        n = count(spec)
        if n > MAX_TRIALS:
            raise SweepError("sweep", f"has {n:,} trials, over the limit of {MAX_TRIALS:,}")
        trials = expand(spec)  # every trial's config checked before anything runs
    except SweepError as e:
        _err(f"bad sweep: {e}")
        return EXIT_USAGE
    combos = n // len(spec.seeds)
    print(
        f"{n} trial{'s' if n != 1 else ''}: {combos} combination{'s' if combos != 1 else ''} "
        f"x {len(spec.seeds)} seed{'s' if len(spec.seeds) != 1 else ''} "
        f"(sweep {sweep_id(spec)})",
        file=sys.stderr,
    )
    if args.dry_run:
        for t in trials[:DRY_RUN_SHOWN]:
            print(f"trial {t.index} ({t.label()}), key {t.key}:")
            print(t.config.to_json())
        if n > DRY_RUN_SHOWN:
            print(f"... and {n - DRY_RUN_SHOWN} more")
        return EXIT_OK
    if n > CONFIRM_TRIALS and not args.yes:
        _err(f"{n:,} trials is a big sweep: run it with --yes (or --dry-run to look first)")
        return EXIT_USAGE
    source = json.loads(Path(args.sweep).read_text(encoding="utf-8"))
    root = Path(args.runs_dir) if args.runs_dir else runs.default_root()
    try:
        executor = _executor(args)
    except ExecutorError as e:
        _err(str(e))
        return EXIT_USAGE
    driver = Driver(
        spec,
        source,
        root,
        executor,
        say=lambda line: print(line, file=sys.stderr),
        owner=args.owner,
    )
    install_signal_stop(driver)
    result = driver.run()
    g = {json.dumps(x["params"], sort_keys=True): x for x in result["groups"]}
    best = result["best"]
    if best is not None:
        m = g[json.dumps(best, sort_keys=True)]["mean"].get(spec.metric)
        shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in best.items()) or "the base config"
        print(f"best by mean {spec.metric}: {shown} ({m:.4g})", file=sys.stderr)
    print(
        f"{result['finished']} finished, {result['failed']} failed, {result['stopped']} "
        f"stopped, {result['pending']} not run",
        file=sys.stderr,
    )
    if args.json:
        print(json.dumps(_finite(result), allow_nan=False, default=str))
    if result["state"] == "stopped":
        return EXIT_FAILED
    return EXIT_OK if result["failed"] == 0 else EXIT_FAILED
