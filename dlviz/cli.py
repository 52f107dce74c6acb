"""`dlviz train | bench | runs | ui` — the command line.

dlviz train CONFIG.json [--runs-dir DIR] [--json] [--tensorboard DIR]
dlviz bench overhead [--device cpu] [--repeats 31] [--json]
dlviz bench refresh [--repeats 31] [--json]
dlviz bench recurrent [--device all|cpu|cuda] [--repeats 21] [--json]
dlviz bench generative [--device all|cpu|cuda] [--repeats 21] [--json]
dlviz bench runs [--count 1000] [--repeats 5] [--json]
dlviz runs [ls] [--runs-dir DIR] [--json]
dlviz runs show ID [--json] | rm ID [--yes] | import FILE
dlviz runs export ID [--format zip|onnx|tensorboard] [-o PATH]
dlviz runs probe ID [--json] [--device DEV]
dlviz pretrain [--name NAME] [--samples N] [--epochs N] [--size PX] [--seed S] [--out DIR] | --list
dlviz ui [--shared] [STREAMLIT ARGS...]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
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
    from dlviz import runs
    from dlviz.config import ConfigError

    try:
        config = load_config(args.config)
    except ConfigError as e:
        _err(f"bad config: {e}")
        return EXIT_USAGE
    runs_dir = Path(args.runs_dir) if args.runs_dir else runs.default_root()
    callbacks: tuple[Any, ...] = ()
    if args.tensorboard:
        from dlviz.export.onnx_model import ExportError
        from dlviz.export.tensorboard import TensorBoardCallback

        try:
            board = TensorBoardCallback(args.tensorboard, config=config.to_dict())
        except ExportError as e:
            _err(str(e))
            return EXIT_FAILED
        callbacks = (board,)
    if config.train.until_stopped and not args.quiet:
        print("Training until stopped: press Ctrl+C to stop and save.", file=sys.stderr)
    handle = _start_run(config, runs_dir, callbacks)
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
                    total = 0 if config.train.until_stopped else config.train.epochs
                    if now - last_print >= 0.5 or event["epoch"] == total:
                        last_print = now
                        print(_epoch_line(event, total), file=sys.stderr)
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
    if status in ("error", "diverged") and args.json:  # stdout holds JSON: say it on stderr too
        _err(summary["message"])
    if args.tensorboard and not args.quiet:
        board_error = callbacks[0].error
        print(
            board_error
            or f"TensorBoard events in {args.tensorboard}: tensorboard --logdir {args.tensorboard}",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(_json_safe(summary)))
    else:
        print(_human_summary(summary))
    return EXIT_OK if status in ("finished", "stopped") else EXIT_FAILED


def _start_run(config: Any, runs_dir: Path, callbacks: tuple[Any, ...]) -> Any:
    """`jobs.start`, or, with `callbacks` for the loop (`--tensorboard`), a `jobs.RunHandle`
    whose thread runs `jobs.execute` with them (`jobs.start` takes no callbacks)."""
    import threading

    from dlviz import jobs

    if not callbacks:
        return jobs.start(config, runs_dir=runs_dir)
    handle = jobs.RunHandle(config, runs_dir=runs_dir)
    handle.thread = threading.Thread(
        target=jobs.execute,
        args=(config,),
        kwargs={
            "emit": handle.events.put,
            "control": handle.control,
            "runs_dir": runs_dir,
            "callbacks": callbacks,
        },
        name="dlviz-run",
        daemon=True,
    )
    handle.thread.start()
    return handle


def _epoch_line(event: dict[str, Any], total: int) -> str:
    """One epoch's progress; `total` 0 is a run until stopped (Ctrl+C)."""
    of = f"{event['epoch']:>{len(str(total))}}/{total}" if total else f"{event['epoch']}"
    return (
        f"epoch {of}  "
        f"train {_scores(event, 'train')}  test {_scores(event, 'test')}  "
        f"{event['samples_per_second']:,.0f} samples/s"
    )


def _scores(metrics: dict[str, Any], split: str) -> str:
    """A split's loss and what else the task measures: accuracy (per token for per-token
    tasks, and whole sequences), or a forecast's mean squared error beside the naive one's."""
    text = f"loss {metrics[f'{split}_loss']:.4f}"
    if metrics.get(f"{split}_accuracy") is not None:
        text += f" acc {metrics[f'{split}_accuracy']:.3f}"
    if metrics.get(f"{split}_sequence_accuracy") is not None:
        text += f" seq {metrics[f'{split}_sequence_accuracy']:.3f}"
    if split == "test" and metrics.get("baseline_mse") is not None:
        text += f" (naive forecast {metrics['baseline_mse']:.4f})"
    return text


def _plural(n: Any, noun: str) -> str:
    from dlviz.text import plural

    return plural(n, noun) if isinstance(n, int) else f"{_fmt(n)} {noun}s"


def _epochs(n: Any) -> str:
    return _plural(n, "epoch")


def _human_summary(s: dict[str, Any]) -> str:
    plural = _plural
    if s["status"] == "error":
        return f"run failed: {s['message']}"
    lines = [
        f"run {s['run_id'] or '(not saved)'}: {s['status']}"
        + (f" - {s['message']}" if s["message"] else "")
    ]
    if "params" in s:
        lines.append(
            f"  {plural(s['params'], 'parameter')} on {s['device']}, "
            f"{plural(s['epochs'], 'epoch')} in "
            f"{s['seconds']:.2f} s ({s['samples_per_second']:,.0f} samples/s)"
        )
    final = s.get("final") or {}
    if final:
        lines.append(f"  final: train {_scores(final, 'train')}, test {_scores(final, 'test')}")
    if s.get("gradient_norms"):
        norms = ", ".join(f"{k} {v:.2e}" for k, v in s["gradient_norms"].items())
        lines.append(f"  gradient norms (input to output): {norms}")
    verdict = s.get("outcome") or {}
    if verdict.get("kind") not in (None, "ok"):
        lines.append(f"  warning: {verdict.get('message', '')}")
    if s.get("run_dir"):
        lines.append(f"  saved in {s['run_dir']}")
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    from dlviz.devices import DeviceError

    if args.what == "devices":
        from dlviz.bench import devices

        try:
            report = devices.run_all(args.device or "all", quick=args.quick)
        except DeviceError as e:
            _err(str(e))
            return EXIT_USAGE
        if args.csv:
            Path(args.csv).write_text(devices.to_csv(report["rows"]))
        print(json.dumps(_json_safe(report)) if args.json else devices.format_report(report))
        return EXIT_OK
    if args.what == "sweep":
        from dlviz.bench import sweep

        return sweep.run(trials=args.trials, json_out=args.json, repeats=min(args.repeats, 5))
    if args.what == "recurrent":
        from dlviz.bench import recurrent

        try:
            result = recurrent.recurrent(device=args.device or "all", repeats=args.repeats)
        except DeviceError as e:
            _err(str(e))
            return EXIT_USAGE
        print(json.dumps(result) if args.json else recurrent.format_recurrent(result))
        return EXIT_OK
    if args.what == "generative":
        from dlviz.bench import generative

        try:
            result = generative.generative(device=args.device or "all", repeats=args.repeats)
        except DeviceError as e:
            _err(str(e))
            return EXIT_USAGE
        print(json.dumps(result) if args.json else generative.format_generative(result))
        return EXIT_OK
    if args.what == "browser":
        from dlviz.bench import browser as bench_browser

        try:
            result = bench_browser.browser(repeats=min(args.repeats, 50), width=args.width)
        except RuntimeError as e:
            _err(str(e))
            return EXIT_FAILED
        print(json.dumps(result) if args.json else bench_browser.format_browser(result))
        return EXIT_OK
    if args.what == "watch":
        from dlviz.bench import watch

        try:  # each repeat starts a dashboard and trains each case three times: 3 at most
            result = watch.watch(
                repeats=min(args.repeats, 3),
                playground_epochs=args.epochs or 300,
                apart=args.apart,
            )
        except RuntimeError as e:
            _err(str(e))
            return EXIT_FAILED
        print(json.dumps(_json_safe(result)) if args.json else watch.format_watch(result))
        return EXIT_OK
    if args.what in ("load", "soak"):
        from dlviz.bench import load, soak

        try:
            if args.what == "load":
                result = load.load(sessions=max(1, args.sessions), seconds=args.seconds)
            else:
                result = soak.soak(runs=max(1, args.runs))
        except RuntimeError as e:
            _err(str(e))
            return EXIT_FAILED
        text = load.format_load(result) if args.what == "load" else soak.format_soak(result)
        print(json.dumps(result) if args.json else text)
        return EXIT_OK
    args.device = args.device or "cpu"
    if args.what == "graphs":
        from dlviz.bench import graphs

        try:
            result = graphs.graphs(device=args.device, blocks=max(3, min(args.repeats, 15)))
        except DeviceError as e:
            _err(str(e))
            return EXIT_USAGE
        print(json.dumps(result) if args.json else graphs.format_graphs(result))
        return EXIT_OK
    if args.what == "runs":
        if args.count < 1:
            _err("--count must be at least 1")
            return EXIT_USAGE
        from dlviz.bench import listing

        result = listing.runs_listing(count=args.count, repeats=args.repeats)
        print(json.dumps(result) if args.json else listing.format_runs_listing(result))
        return EXIT_OK
    if args.what == "ingest":
        from dlviz.bench import ingest

        result = ingest.ingest(n_files=args.files, megabytes=args.megabytes)
        print(json.dumps(result) if args.json else ingest.format_ingest(result))
        return EXIT_OK
    if args.what == "audio":
        from dlviz.bench import audio, ingest

        try:
            result = {
                "features": audio.features_bench(device=args.device or "cpu"),
                "ingest": ingest.ingest_sounds(n=args.files),
            }
        except DeviceError as e:
            _err(str(e))
            return EXIT_USAGE
        text = audio.format_features(result["features"])
        text += "\n\n" + ingest.format_ingest_sounds(result["ingest"])
        print(json.dumps(result) if args.json else text)
        return EXIT_OK
    if args.what == "augment":
        from dlviz.bench import augment

        try:
            result = augment.augment(device=args.device, repeats=args.repeats)
        except DeviceError as e:
            _err(str(e))
            return EXIT_USAGE
        print(json.dumps(result) if args.json else augment.format_augment(result))
        return EXIT_OK
    if args.what == "concurrent":
        from dlviz.bench import concurrent

        result = concurrent.concurrent(
            runs=args.at_once,
            repeats=min(args.repeats, 5),
            epochs=args.epochs,
            share=args.share,
            processes=args.processes,
        )
        print(json.dumps(result) if args.json else concurrent.format_concurrent(result))
        return EXIT_OK
    if args.what == "refresh":
        from dlviz.bench import refresh

        result = refresh.refresh(repeats=args.repeats, epochs=args.epochs or 200)
        print(json.dumps(result) if args.json else refresh.format_refresh(result))
        return EXIT_OK
    from dlviz.bench import overhead

    try:
        result = overhead.overhead(device=args.device, repeats=args.repeats, epochs=args.epochs)
    except DeviceError as e:
        _err(str(e))
        return EXIT_USAGE
    print(json.dumps(result) if args.json else overhead.format_overhead(result))
    return EXIT_OK


def _fmt(value: Any, spec: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    try:
        return format(value, spec) if spec else str(value)
    except (TypeError, ValueError):  # a foreign summary's odd value: show it as it is
        return str(value)


def _runs_table(rows: list[dict[str, Any]]) -> str:
    header = ("ID", "STATUS", "NAME", "DATA", "ARCH", "DEPTH", "PARAMS", "BEST", "FINAL", "TIME",
              "DATE", "TAGS")  # fmt: skip
    table = [header]
    for r in rows:
        table.append(
            (
                r["run_id"],
                r["status"],
                (r["name"] or "")[:24],
                _fmt(r["dataset"]),
                _fmt(r["arch"]),
                _fmt(r["depth"]),
                _fmt(r["params"], ","),
                _fmt(r["best_test_accuracy"], ".3f"),
                _fmt(r["final_test_accuracy"], ".3f"),
                _fmt(r["seconds"], ".1f") + ("s" if r["seconds"] is not None else ""),
                r["date"] or "-",
                ",".join(r["tags"]) or "-",
            )
        )
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(row, widths)).rstrip() for row in table]
    for r in rows:
        if r["status"] in ("unreadable", "interrupted", "error") and r["message"]:
            lines.append(f"{r['run_id']}: {r['status']}: {r['message']}")
    return "\n".join(lines)


def _runs_root(args: argparse.Namespace) -> Path:
    from dlviz import runs

    return Path(args.runs_dir) if getattr(args, "runs_dir", None) else runs.default_root()


def _store_errors(cmd):
    """A `dlviz runs` sub-command whose run-store errors (no such run, a damaged one, a store
    that cannot be read) end it with the message and exit status 1."""

    @functools.wraps(cmd)
    def run(args: argparse.Namespace) -> int:
        from dlviz import runs

        try:
            return cmd(args)
        except runs.RunStoreError as e:
            _err(str(e))
            return EXIT_FAILED

    return run


@_store_errors
def cmd_runs(args: argparse.Namespace) -> int:
    """`dlviz runs [ls]`: the run store as a table, newest first."""
    from dlviz import runs

    root = _runs_root(args)
    rows = runs.list_runs(root)
    if getattr(args, "json", False):
        print(json.dumps(_json_safe(rows)))
    elif not rows:
        print(f"no runs in {root}")
    else:
        print(_runs_table(rows))
    return EXIT_OK


@_store_errors
def cmd_runs_show(args: argparse.Namespace) -> int:
    from dlviz import runs

    run = runs.load_run(_runs_root(args), args.id)
    if args.json:
        out = {
            "run": run.row,
            "config": run.config,
            "summary": run.summary,
            "metrics": run.metrics,
            "has_weights": run.has_weights,
        }
        print(json.dumps(_json_safe(out)))
        return EXIT_OK
    r = run.row
    lines = [
        f"run {r['run_id']}: {r['status']}" + (f" - {r['message']}" if r["message"] else ""),
        f"  name: {r['name'] or '-'}   tags: {', '.join(r['tags']) or '-'}   date: {r['date'] or '-'}",
        f"  data {_fmt(r['dataset'])}, {_fmt(r['arch'])} of depth {_fmt(r['depth'])}, "
        f"{_fmt(r['params'], ',')} parameters on {_fmt(r['device'])}",
    ]
    if run.summary:
        lines.append(
            f"  {_epochs(run.summary.get('epochs'))} in {_fmt(r['seconds'], '.2f')} s; "
            f"test accuracy best {_fmt(r['best_test_accuracy'], '.3f')}, "
            f"final {_fmt(r['final_test_accuracy'], '.3f')}"
        )
    n = len(run.metrics.get("epoch", []))
    lines.append(
        f"  metrics: {_plural(n, 'epoch row')}; weights: {'saved' if run.has_weights else 'none'}"
    )
    lines.append(f"  folder: {run.path}")
    lines.append("  config: " + json.dumps(run.config, indent=2).replace("\n", "\n  "))
    print("\n".join(lines))
    return EXIT_OK


def probe_run(root: Path, run_id: str, device: str = "auto") -> dict[str, Any]:
    """Linear probes of every layer of a stored classification run's trained network, on its
    data: ``{"run_id", "layers": [{"name", "probe_accuracy", "dim"}], "chance", "train_samples",
    "test_samples", "device", "seconds"}``. Raises RunStoreError (no such run, no weights) or
    ValueError saying why the run cannot be probed."""
    from dlviz import jobs, representations, runs
    from dlviz.config import ConfigError, RunConfig
    from dlviz.devices import describe, resolve_device
    from dlviz.trained import trained_model

    start = time.perf_counter()
    run = runs.load_run(root, run_id)
    status = run.row["status"]
    if status not in ("finished", "stopped"):
        raise ValueError(
            f"run {run_id} is {status}: only a run that finished (or was stopped) has trained "
            "weights to probe"
        )
    if not run.has_weights:
        raise ValueError(f"run {run_id} has no saved weights: train it again to probe it")
    try:
        config = RunConfig.from_dict(run.config)
    except ConfigError as e:
        raise ValueError(f"run {run_id}'s config cannot be read: {e}") from e
    if config.model.is_generative:
        raise ValueError(
            f"run {run_id} is a generative model ({config.model.arch}): it has no classes, so "
            "there is nothing for a linear probe to read"
        )
    if config.data.name == "upload":
        raise ValueError(
            f"run {run_id} trained on uploaded pictures, which are not kept: its data cannot "
            "be loaded to probe it"
        )
    dev = resolve_device(device)
    try:
        data = jobs.load_data(config)
    except (ValueError, RuntimeError, OSError) as e:
        raise ValueError(f"the data of run {run_id} cannot be loaded: {e}") from e
    if data.generative or data.task not in ("class", "tokens"):
        raise ValueError(
            f"run {run_id} is a {data.task} run: it has no classes, so there is nothing for a "
            "linear probe to read"
        )
    model, data = trained_model(root, run_id, config, data)
    model.to(dev)
    probe_set = representations.ProbeSet.from_data(data)
    layers = representations.probe_layers(model, probe_set)
    return {
        "run_id": run_id,
        "layers": layers,
        "chance": representations.chance_accuracy(probe_set.y_train, probe_set.y_test),
        "train_samples": len(probe_set.x_train),
        "test_samples": len(probe_set.x_test),
        "device": describe(dev),
        "seconds": round(time.perf_counter() - start, 3),
    }


@_store_errors
def cmd_runs_probe(args: argparse.Namespace) -> int:
    """`dlviz runs probe ID`: a linear probe on each layer of a finished classification run,
    input to output; with --json the last line is ``{"layers": [{"name", "probe_accuracy",
    "dim"}, ...], ...}``."""
    import torch

    from dlviz.devices import DeviceError, configure_threads, server_threads

    # Many small fits: with a thread a core, torch's pool spin-waits whenever another process
    # wants a core (on 2 busy cores, 2 threads took 8.7 s where 1 took 4.9); the dashboard's
    # share of the cores, as it trains.
    threads = torch.get_num_threads()
    configure_threads(server_threads())
    try:
        result = probe_run(_runs_root(args), args.id, args.device)
    except DeviceError as e:
        _err(str(e))
        return EXIT_USAGE
    except ValueError as e:
        _err(str(e))
        return EXIT_FAILED
    finally:
        configure_threads(threads)
    if args.json:
        print(json.dumps(_json_safe(result)))
        return EXIT_OK
    lines = [
        f"run {result['run_id']}: linear probes, fitted on {result['train_samples']:,} train "
        f"and scored on {result['test_samples']:,} test samples, input to output",
        f"  {'LAYER':<10} {'FEATURES':>8}  PROBE ACCURACY",
    ]
    for r in result["layers"]:
        lines.append(f"  {r['name']:<10} {r['dim']:>8,}  {_fmt(r['probe_accuracy'], '.3f')}")
    lines.append(
        f"  chance (the commonest class): {_fmt(result['chance'], '.3f')}; "
        f"{result['seconds']:.1f} s on {result['device']}"
    )
    print("\n".join(lines))
    return EXIT_OK


@_store_errors
def cmd_runs_rm(args: argparse.Namespace) -> int:
    from dlviz import runs

    root = _runs_root(args)
    row = runs.run_row(root, args.id)
    if not args.yes:
        if not sys.stdin.isatty():
            _err(f"not deleting run {args.id} without confirmation: add --yes to delete it")
            return EXIT_USAGE
        label = f" ({row['name']})" if row["name"] else ""
        answer = input(f"Delete run {args.id}{label}, {row['status']}, in {root}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not deleted")
            return EXIT_FAILED
    runs.delete_run(root, args.id)
    print(f"deleted run {args.id}")
    return EXIT_OK


@_store_errors
def cmd_runs_export(args: argparse.Namespace) -> int:
    from dlviz import runs

    if args.format == "onnx":
        return _export_onnx(args)
    if args.format == "tensorboard":
        return _export_tensorboard(args)
    from dlviz.export import bundle

    made = bundle.make(_runs_root(args), args.id)  # the run ZIP and its take-away folder
    data = made.data
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    out = Path(args.output or f"{args.id}.zip")
    try:
        runs.atomic_write_bytes(out, data)
    except OSError as e:
        _err(f"cannot write {out}: {e}")
        return EXIT_FAILED
    print(f"exported run {args.id} to {out} ({len(data):,} bytes)")
    if made.files:
        print(f"  take-away/: {', '.join(made.files)}")
    for why in made.left_out:
        print(f"  not in it: {why}")
    return EXIT_OK


def _export_onnx(args: argparse.Namespace) -> int:
    """`dlviz runs export ID --format onnx`: the trained network as ONNX, checked in
    onnxruntime against PyTorch; exit status 1 when they disagree (the file is written)."""
    from dlviz import runs
    from dlviz.export.onnx_model import ExportError, run_to_onnx

    try:
        data, report = run_to_onnx(_runs_root(args), args.id)
    except ExportError as e:
        _err(f"run {args.id} cannot be exported to ONNX: {e}")
        return EXIT_FAILED
    to_stdout = args.output == "-"
    out = Path(args.output or f"{args.id}.onnx")
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            runs.atomic_write_bytes(out, data)
        except OSError as e:
            _err(f"cannot write {out}: {e}")
            return EXIT_FAILED
    inputs = {"test": "test", "random": "random", "noise": "random"}[report["inputs_from"]]
    verdict = "agrees with" if report["ok"] else "DISAGREES with"
    lines = [
        f"exported run {args.id} to {'stdout' if to_stdout else out} ({len(data):,} bytes); "
        f"onnxruntime {verdict} PyTorch on {report['inputs']} {inputs} inputs: largest "
        f"difference {report['max_abs_diff']:.1e}"
        + ("" if report["ok"] else f" (over the tolerance, {report['atol']:g})"),
        f"  input {report['input_name']!r} {report['input_dtype']} {_dims(report['input_shape'])}"
        f" -> output {report['output_name']!r} {_dims(report['output_shape'])}; opset "
        f"{report['opset']}; batch sizes checked: {', '.join(map(str, report['batch_sizes']))}",
    ]
    if report["note"]:
        lines.append(f"  exported: {report['note']}")
    if report["inputs_from"] == "random":
        lines.append(f"  inputs: {report['inputs_note']}")
    print("\n".join(lines), file=sys.stderr if to_stdout else sys.stdout)
    return EXIT_OK if report["ok"] else EXIT_FAILED


def _dims(shape: list[Any]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _export_tensorboard(args: argparse.Namespace) -> int:
    """`dlviz runs export ID --format tensorboard`: the run's curves, gradient norms and
    weights as TensorBoard event files in a folder."""
    from dlviz.export.onnx_model import ExportError
    from dlviz.export.tensorboard import write_run

    if args.output == "-":
        _err("TensorBoard writes a folder of event files: give -o FOLDER, not -")
        return EXIT_USAGE
    try:
        out = write_run(_runs_root(args), args.id, args.output or f"{args.id}-tensorboard")
    except ExportError as e:
        _err(str(e))
        return EXIT_FAILED
    print(
        f"exported run {args.id} to {out}/ (TensorBoard event files); open it with: tensorboard --logdir {out}"
    )
    return EXIT_OK


def cmd_runs_code(args: argparse.Namespace) -> int:
    """`dlviz runs code ID --framework pytorch|keras [-o FILE]`: the run as one standalone
    script, and beside it the .npz of its data where the script needs one."""
    from dlviz import runs
    from dlviz.export.code import CodeError, generate

    try:
        code = generate(_runs_root(args), args.id, args.framework)
    except CodeError as e:
        _err(str(e))
        return EXIT_FAILED
    if args.output == "-":
        _err("a script is written to a file (its data goes beside it): give -o FILE, not -")
        return EXIT_USAGE
    out = Path(args.output or code.filename)
    if out.is_dir():
        out = out / code.filename
    written = [out]
    try:
        runs.atomic_write_bytes(out, code.script.encode("utf-8"))
        if code.data is not None:
            written.append(out.with_name(code.data_name))
            runs.atomic_write_bytes(written[-1], code.data)
    except OSError as e:
        _err(f"cannot write {written[-1]}: {e.strerror or e}")
        return EXIT_FAILED
    how = "repeats the run exactly" if code.exact else "trains like the run, not to the same digits"
    data = f", its data in {written[1]}" if len(written) > 1 else ""
    print(f"wrote run {args.id} as {args.framework} code to {out}{data} ({how})")
    print(f"run it with: python {out}")
    return EXIT_OK


def cmd_runs_import(args: argparse.Namespace) -> int:
    from dlviz import runs
    from dlviz.runs.archive import import_size_problem

    path = Path(args.file)
    try:
        if problem := import_size_problem(path.stat().st_size):
            _err(f"{path}: {problem}. Import a smaller run, or raise DLVIZ_MAX_IMPORT_MB.")
            return EXIT_FAILED
        data = path.read_bytes()
    except OSError as e:
        _err(f"cannot read {path}: {e.strerror or e}")
        return EXIT_FAILED
    root = _runs_root(args)
    try:
        # a run imported on the command line is the operator's, whoever's it was elsewhere
        run_id = runs.import_run(root, data, owner="")
    except runs.RunStoreError as e:
        _err(f"{path}: {e}")
        return EXIT_FAILED
    print(f"imported run {run_id} into {root}")
    return EXIT_OK


def cmd_pretrain(args: argparse.Namespace) -> int:
    from dlviz import transfer

    if args.list:
        for name in transfer.shipped_backbones():
            try:
                b = transfer.load_backbone(name)
            except transfer.BackboneError as e:
                print(f"{name}\tcannot be read: {e}")
                continue
            acc = b.card.get("accuracy", {}).get("test")
            shape = "x".join(str(v) for v in b.input_shape)
            print(
                f"{name}\t{shape}\t{_plural(b.n_blocks, 'block')}\t"
                + (f"source test accuracy {acc:.1%}" if isinstance(acc, float) else "")
            )
        return EXIT_OK
    from dlviz.config import ConfigError
    from dlviz.devices import DeviceError
    from dlviz.transfer.pretrain import PretrainSettings, pretrain

    checks = [
        ("--samples", args.samples, 48, 200_000),
        ("--epochs", args.epochs, 1, 1000),
        ("--size", args.size, 16, 64),
        ("--seed", args.seed, 0, 2**31 - 1),
    ]
    for flag, value, lo, hi in checks:
        if not lo <= value <= hi:
            _err(f"{flag} must be {lo} to {hi}, got {value}")
            return EXIT_USAGE
    if not args.name or not all(c.isalnum() or c in "-_." for c in args.name):
        _err(f"--name must be letters, digits, '-', '_' or '.', got {args.name!r}")
        return EXIT_USAGE
    settings = PretrainSettings(
        name=args.name,
        samples=args.samples,
        epochs=args.epochs,
        size=args.size,
        seed=args.seed,
        device=args.device,
    )
    out = args.out or transfer.BACKBONE_DIR
    try:
        path = pretrain(settings, out, report=lambda line: print(line, file=sys.stderr))
    except (ConfigError, DeviceError, RuntimeError, OSError) as e:
        _err(str(e))
        return EXIT_FAILED
    print(path)
    return EXIT_OK


def cmd_ui(args: argparse.Namespace) -> int:
    from dlviz.ui.server import serve

    if args.shared:  # shared-server mode: each browser (or signed-in person) sees its own runs
        os.environ["DLVIZ_SHARED"] = "1"
    return serve(args.streamlit_args)


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
    t.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="also write TensorBoard event files into DIR while training (needs tensorboard)",
    )
    t.set_defaults(func=cmd_train)

    from dlviz.sweeps.command import add_parser as add_sweep_parser

    add_sweep_parser(sub)

    from dlviz.bench import BENCHMARKS

    b = sub.add_parser("bench", help="benchmarks")
    b.add_argument(
        "what",
        choices=list(BENCHMARKS),
        help="overhead: dlviz's training vs a bare loop; refresh: cost of one live chart "
        "refresh; ingest: reading an upload of photos; augment: batched augmentation vs one "
        "image at a time; audio: mel features batched against clip by clip, and ingesting WAVs; recurrent: sequence models' observable paths against their fused "
        "kernels; generative: seconds per training step of gan, vae, diffusion and flow on "
        "each device, and the GPU's speed-up; runs: listing a run store of --count runs; devices: matmul, conv, "
        "copies and a training step on each device; graphs: the Playground's default step eager, compiled and as one CUDA graph; browser: first paint and the first Train's "
        "first point in Chromium against a fresh dashboard; watch: training samples/s with the "
        "live view open against headless `dlviz train` (--epochs: the Playground's, 300)",
    )
    b.add_argument(
        "--device",
        default=None,
        help="auto, cpu, cuda, cuda:N or mps (default cpu; devices, recurrent and generative: "
        "all, the CPU and every GPU)",
    )
    b.add_argument("--quick", action="store_true", help="devices: small sizes, a first look")
    b.add_argument("--csv", default=None, help="devices: also write every measurement as CSV")
    b.add_argument("--repeats", type=int, default=21, help="timed pairs of runs (default 21)")
    b.add_argument("--epochs", type=int, default=None, help="epochs per timed run")
    b.add_argument(
        "--files", type=int, default=500, help="ingest: photos; audio: WAVs (default 500)"
    )
    b.add_argument("--megabytes", type=float, default=1.0, help="ingest: MB a photo (default 1)")
    b.add_argument("--count", type=int, default=1000, help="runs: runs in the store (default 1000)")
    b.add_argument("--width", type=int, default=1400, help="browser: window width (1400)")
    b.add_argument("--trials", type=int, default=24, help="sweep: tiny trials (default 24)")
    b.add_argument("--sessions", type=int, default=10, help="load: browser sessions (10)")
    b.add_argument("--seconds", type=float, default=180.0, help="load: seconds of load (180)")
    b.add_argument("--runs", type=int, default=200, help="soak: runs in a row (default 200)")
    b.add_argument("--at-once", type=int, default=3, help="concurrent: runs at once (default 3)")
    b.add_argument(
        "--no-share",
        dest="share",
        action="store_false",
        help="concurrent: every run asks for all the threads, as before the share",
    )
    b.add_argument(
        "--threads-only",
        dest="processes",
        action="store_false",
        help="concurrent: every run trains in a thread of the bench's process, as before runs "
        "had processes of their own",
    )
    b.add_argument(
        "--apart",
        action="store_true",
        help="watch: the dashboard and headless runs on the first CPU, Chromium on the others "
        "(a browser on its own machine, as in a class)",
    )
    b.add_argument("--json", action="store_true", help="print the result as JSON")
    b.set_defaults(func=cmd_bench)

    store_help = "run store folder (default: $DLVIZ_HOME/runs or ~/.dlviz/runs)"
    r = sub.add_parser("runs", help="the run store: ls, show, probe, rm, export, code, import")
    r.add_argument("--runs-dir", help=store_help)
    r.add_argument("--json", action="store_true", help="ls: print the runs as JSON")
    r.set_defaults(func=cmd_runs)
    rsub = r.add_subparsers(dest="action", metavar="{ls,show,probe,rm,export,code,import}")

    def runs_command(name: str, func, help: str, with_id: bool = True) -> argparse.ArgumentParser:
        c = rsub.add_parser(name, help=help)
        if with_id:
            c.add_argument("id", help="run id (`dlviz runs ls` lists them)")
        # SUPPRESS: `dlviz runs --runs-dir D ls` keeps D
        c.add_argument("--runs-dir", default=argparse.SUPPRESS, help=store_help)
        c.set_defaults(func=func)
        return c

    c = runs_command("ls", cmd_runs, "list runs, newest first (the default)", with_id=False)
    c.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    c = runs_command("show", cmd_runs_show, "a run's config, summary and metrics")
    c.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    c = runs_command(
        "probe", cmd_runs_probe, "linear probes of each layer of a finished classification run"
    )
    c.add_argument("--json", action="store_true", help="end with one JSON line of the layers")
    c.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (auto)")
    c = runs_command("rm", cmd_runs_rm, "delete a run (asks first)")
    c.add_argument("--yes", "-y", action="store_true", help="delete without asking")
    c = runs_command(
        "export",
        cmd_runs_export,
        "write a run as a ZIP another dlviz can import, its network as ONNX, or its curves as "
        "TensorBoard event files",
    )
    c.add_argument(
        "--format",
        choices=("zip", "onnx", "tensorboard"),
        default="zip",
        help="zip: the whole run (default); onnx: the trained network, checked in onnxruntime; "
        "tensorboard: curves, gradient norms and weights as event files",
    )
    c.add_argument(
        "-o",
        "--output",
        help="file to write (default ID.zip or ID.onnx; - for stdout), or for tensorboard a "
        "folder (default ID-tensorboard)",
    )
    c = runs_command(
        "code", cmd_runs_code, "write a run as a standalone PyTorch or Keras script to run"
    )
    c.add_argument("--framework", choices=("pytorch", "keras"), default="pytorch", help="(pytorch)")
    c.add_argument(
        "-o",
        "--output",
        help="script to write, or a folder for it (default ID_pytorch.py or ID_keras.py); "
        "its data file goes beside it",
    )
    c = runs_command("import", cmd_runs_import, "add a run from an exported ZIP", with_id=False)
    c.add_argument("file", help="a ZIP that `dlviz runs export` wrote")

    from dlviz.transfer.pretrain import PretrainSettings

    d = PretrainSettings()
    pt = sub.add_parser(
        "pretrain", help="pretrain a backbone for the Transfer page (reproducible from its seed)"
    )
    pt.add_argument("--name", default=d.name, help=f"file name without extension ({d.name})")
    pt.add_argument("--samples", type=int, default=d.samples, help=f"source images ({d.samples})")
    pt.add_argument("--epochs", type=int, default=d.epochs, help=f"epochs ({d.epochs})")
    pt.add_argument("--size", type=int, default=d.size, help=f"image side in pixels ({d.size})")
    pt.add_argument("--seed", type=int, default=d.seed, help=f"seed ({d.seed})")
    pt.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    pt.add_argument("--out", default=None, help="folder to write into (default dlviz/backbones)")
    pt.add_argument("--list", action="store_true", help="list the installed backbones")
    pt.set_defaults(func=cmd_pretrain)

    u = sub.add_parser(
        "ui", help="open the dashboard; other options go to `streamlit run` (--server.port 8502)"
    )
    u.add_argument(
        "--shared",
        action="store_true",
        help="shared-server mode (DLVIZ_SHARED=1): each browser, or each person signed in "
        "with st.login, sees and changes only its own runs",
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
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `dlviz runs ls | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
