"""`dlviz train | bench | runs | ui` — the command line.

dlviz train CONFIG.json [--runs-dir DIR] [--json]
dlviz bench overhead [--device cpu] [--repeats 31] [--json]
dlviz bench refresh [--repeats 31] [--json]
dlviz runs ls [--runs-dir DIR] [--json]
dlviz ui [STREAMLIT ARGS...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _err(message: str) -> None:
    print(f"dlviz: {message}", file=sys.stderr)


def _json_safe(obj: Any) -> Any:
    """NaN and inf are not JSON; write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def load_config(path: str):
    from dlviz.config import ConfigError, RunConfig

    p = Path(path)
    if not p.is_file():
        raise ConfigError("config", f"file {path!r} does not exist")
    if p.stat().st_size > 1_000_000:
        raise ConfigError(
            "config", f"file {path!r} is over 1 MB; a run config is a small JSON file"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError("config", f"file {path!r} is not UTF-8 text") from e
    return RunConfig.from_json(text)


def cmd_train(args: argparse.Namespace) -> int:
    from dlviz import jobs, runs
    from dlviz.config import ConfigError

    try:
        config = load_config(args.config)
    except ConfigError as e:
        _err(f"bad config: {e}")
        return EXIT_USAGE
    runs_dir = Path(args.runs_dir) if args.runs_dir else runs.default_root()
    handle = jobs.start(config, runs_dir=runs_dir)
    last_print = 0.0
    end: dict[str, Any] = {}
    try:
        while True:
            handle.thread.join(timeout=0.2)
            while not handle.events.empty():
                event = handle.events.get_nowait()
                handle.history.apply(event)
                if event["type"] == "end":
                    end = event
                elif event["type"] == "queued" and not args.quiet:
                    print(event["message"], file=sys.stderr)
                elif event["type"] == "epoch" and not args.quiet:
                    now = time.monotonic()
                    if now - last_print >= 0.5 or event["epoch"] == config.train.epochs:
                        last_print = now
                        print(_epoch_line(event, config.train.epochs), file=sys.stderr)
            if not handle.alive and handle.events.empty():
                break
    except KeyboardInterrupt:
        _err("stopping (the run so far will be saved)...")
        handle.stop()
        handle.thread.join()
        handle.poll()
        end = {
            "status": handle.history.status,
            "message": handle.history.message,
            "summary": handle.history.summary,
            "run_id": handle.history.run_id,
        }

    status = end.get("status", "error")
    summary = {
        "run_id": end.get("run_id", ""),
        "name": config.name,
        "status": status,
        "message": end.get("message", ""),
        **end.get("summary", {}),
    }
    summary["status"] = status
    if end.get("run_id"):
        summary["run_dir"] = str(runs_dir / end["run_id"])
    if status in ("error", "diverged"):
        _err(summary["message"])
    if args.json:
        print(json.dumps(_json_safe(summary)))
    else:
        print(_human_summary(summary))
    return EXIT_OK if status in ("finished", "stopped") else EXIT_FAILED


def _epoch_line(event: dict[str, Any], total: int) -> str:
    return (
        f"epoch {event['epoch']:>{len(str(total))}}/{total}  "
        f"train loss {event['train_loss']:.4f} acc {event['train_accuracy']:.3f}  "
        f"test loss {event['test_loss']:.4f} acc {event['test_accuracy']:.3f}  "
        f"{event['samples_per_second']:,.0f} samples/s"
    )


def _human_summary(s: dict[str, Any]) -> str:
    if s["status"] == "error":
        return f"run failed: {s['message']}"
    lines = [
        f"run {s['run_id'] or '(not saved)'}: {s['status']}"
        + (f" - {s['message']}" if s["message"] else "")
    ]
    if "params" in s:
        lines.append(
            f"  {s['params']:,} parameters on {s['device']}, {s['epochs']} epoch(s) in "
            f"{s['seconds']:.2f} s ({s['samples_per_second']:,.0f} samples/s)"
        )
    final = s.get("final") or {}
    if final:
        lines.append(
            f"  final: train loss {final['train_loss']:.4f} acc {final['train_accuracy']:.3f}, "
            f"test loss {final['test_loss']:.4f} acc {final['test_accuracy']:.3f}"
        )
    if s.get("gradient_norms"):
        norms = ", ".join(f"{k} {v:.2e}" for k, v in s["gradient_norms"].items())
        lines.append(f"  gradient norms (input to output): {norms}")
    if s.get("run_dir"):
        lines.append(f"  saved in {s['run_dir']}")
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    from dlviz import bench
    from dlviz.devices import DeviceError

    if args.what == "ingest":
        result = bench.ingest(n_files=args.files, megabytes=args.megabytes)
        print(json.dumps(result) if args.json else bench.format_ingest(result))
        return EXIT_OK
    if args.what == "augment":
        try:
            result = bench.augment(device=args.device, repeats=args.repeats)
        except DeviceError as e:
            _err(str(e))
            return EXIT_USAGE
        print(json.dumps(result) if args.json else bench.format_augment(result))
        return EXIT_OK
    if args.what == "refresh":
        result = bench.refresh(repeats=args.repeats, epochs=args.epochs or 200)
        print(json.dumps(result) if args.json else bench.format_refresh(result))
        return EXIT_OK
    try:
        result = bench.overhead(device=args.device, repeats=args.repeats, epochs=args.epochs)
    except DeviceError as e:
        _err(str(e))
        return EXIT_USAGE
    print(json.dumps(result) if args.json else bench.format_overhead(result))
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    from dlviz import runs

    rows = runs.list_runs(args.runs_dir)
    if args.json:
        print(json.dumps(_json_safe(rows)))
        return EXIT_OK
    if not rows:
        print(f"no runs in {args.runs_dir or runs.default_root()}")
        return EXIT_OK
    for r in rows:
        acc = (r.get("final") or {}).get("test_accuracy")
        acc_s = f"test acc {acc:.3f}" if isinstance(acc, (int, float)) else ""
        print(f"{r['run_id']:<40} {r.get('status', ''):<10} {acc_s}  {r.get('message', '')}")
    return EXIT_OK


def cmd_ui(args: argparse.Namespace) -> int:
    app = Path(__file__).resolve().parent.parent / "app.py"
    if not app.is_file():
        _err("app.py was not found next to the dlviz package; run `dlviz ui` from a dlviz checkout")
        return EXIT_USAGE
    # Run from the checkout so .streamlit/config.toml applies; repeat its two settings that
    # matter most for live charts in case it is missing.
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--runner.postScriptGC", "false",
    ]  # fmt: skip
    if os.name == "posix":  # become streamlit, so a signal to `dlviz ui` reaches the server
        os.chdir(app.parent)
        os.execv(sys.executable, cmd + args.streamlit_args)
    return subprocess.call(cmd + args.streamlit_args, cwd=app.parent)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dlviz", description="dlviz: a deep-learning lab in the browser."
    )
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a run config headless and save it to the run store")
    t.add_argument("config", help="run config JSON file (see README)")
    t.add_argument(
        "--runs-dir", help="run store folder (default: $DLVIZ_HOME/runs or ~/.dlviz/runs)"
    )
    t.add_argument("--json", action="store_true", help="end with one JSON summary line on stdout")
    t.add_argument("--quiet", action="store_true", help="no per-epoch progress on stderr")
    t.set_defaults(func=cmd_train)

    b = sub.add_parser("bench", help="benchmarks")
    b.add_argument(
        "what",
        choices=["overhead", "refresh", "ingest", "augment"],
        help="overhead: dlviz's training vs a bare loop; refresh: cost of one live chart "
        "refresh; ingest: reading an upload of photos; augment: batched augmentation vs one "
        "image at a time",
    )
    b.add_argument("--device", default="cpu", help="auto, cpu, cuda, cuda:N or mps (default cpu)")
    b.add_argument("--repeats", type=int, default=21, help="timed pairs of runs (default 21)")
    b.add_argument("--epochs", type=int, default=None, help="epochs per timed run")
    b.add_argument("--files", type=int, default=500, help="ingest: photos (default 500)")
    b.add_argument("--megabytes", type=float, default=1.0, help="ingest: MB a photo (default 1)")
    b.add_argument("--json", action="store_true", help="print the result as JSON")
    b.set_defaults(func=cmd_bench)

    r = sub.add_parser("runs", help="the run store")
    r.add_argument("action", choices=["ls"], help="ls: list runs, newest first")
    r.add_argument("--runs-dir", help="run store folder")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_runs)

    u = sub.add_parser(
        "ui", help="open the dashboard (streamlit run app.py); other options go to streamlit"
    )
    u.set_defaults(func=cmd_ui)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "ui":
        args.streamlit_args = extra  # e.g. --server.port 8502
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "repeats", 1) is not None and getattr(args, "repeats", 1) < 1:
        _err("--repeats must be at least 1")
        return EXIT_USAGE
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
