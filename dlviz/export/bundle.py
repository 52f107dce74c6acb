"""One bundle of a run to take away: the run ZIP another dlviz imports (config, status, metrics,
summary, meta, weights as safetensors), and beside its files a `take-away/` folder for people:
the model as ONNX (checked against PyTorch in onnxruntime), the run as a PyTorch script and a
Keras script (with their data file), the metrics as CSV and a short model card. Importing the
bundle reads the run and skips the rest (`dlviz.runs.archive`).

Whatever cannot be made for a run (a model that does not export, a run no script can
reproduce) is left out and the card says why, so a bundle is always made.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

from dlviz import __version__, runs
from dlviz.runs.archive import TAKE_AWAY


@dataclass
class Bundle:
    data: bytes  # the ZIP
    files: list[str] = field(default_factory=list)  # the take-away files it holds
    left_out: list[str] = field(default_factory=list)  # what it could not hold, and why


def _pct(v: Any) -> str:
    return f"{v:.1%}" if isinstance(v, (int, float)) else "-"


def model_card(stored: runs.StoredRun, onnx: dict[str, Any] | None, notes: list[str]) -> str:
    """A short card in Markdown: the data, the network, the training, the results, where the
    numbers come from."""
    c, s = stored.config, stored.summary
    data, model, train = (c.get(k) if isinstance(c.get(k), dict) else {} for k in
                          ("data", "model", "train"))  # fmt: skip
    final = s.get("final") if isinstance(s.get("final"), dict) else {}
    tests = [v for v in stored.metrics.get("test_accuracy", []) if isinstance(v, (int, float))]
    described = runs.describe_config(c)
    lines = [
        f"# Model card: {stored.row.get('name') or stored.run_id}",
        "",
        f"Run `{stored.run_id}`, trained {stored.row.get('date') or 'on an unknown date'} with "
        f"dlviz {__version__}; this card was written {dt.date.today().isoformat()}.",
        "",
        "## Data",
        f"- dataset: {data.get('name', '?')}"
        + (f", {data['n_samples']:,} examples" if isinstance(data.get("n_samples"), int) else "")
        + (
            f", test share {data['test_fraction']:g}"
            if isinstance(data.get("test_fraction"), (int, float))
            else ""
        )  # fmt: skip
        + (f", split seed {data['seed']}" if "seed" in data else ""),
        "",
        "## Network",
        f"- architecture: {described['arch']}"
        + (f", {described['depth']} layers" if described.get("depth") else "")
        + (
            f", {stored.row['params']:,} parameters"
            if isinstance(stored.row.get("params"), int)
            else ""
        ),  # fmt: skip
        f"- settings: `{_compact(model)}`",
        "",
        "## Training",
        f"- {train.get('optimizer', 'adam')} at learning rate {train.get('lr', '?')}, batch size "
        f"{train.get('batch_size', '?')}, {s.get('epochs', train.get('epochs', '?'))} epochs, "
        f"seed {train.get('seed', 0)}, on {s.get('device') or train.get('device', '?')}",
        "",
        "## Results",
        f"- status: {stored.row.get('status')}",
        f"- final test accuracy {_pct(final.get('test_accuracy'))}, best "
        f"{_pct(max(tests) if tests else None)}; final training accuracy "
        f"{_pct(final.get('train_accuracy'))}",
    ]
    if isinstance(s.get("seconds"), (int, float)):
        lines.append(f"- trained in {s['seconds']:.1f} s")
    lines += ["", "## In this bundle"]
    lines.append("- the run itself (config, metrics, summary, weights as safetensors): "
                 "`dlviz runs import` reads it back")  # fmt: skip
    if onnx is not None:
        lines.append(
            f"- `{TAKE_AWAY}/model.onnx`: input `{onnx.get('input_name', 'input')}`, output "
            f"`{onnx.get('output_name', 'output')}`, any batch size; onnxruntime agreed with "
            f"PyTorch on {onnx.get('inputs', '?')} inputs ({onnx.get('source', 'test inputs')}) "
            f"to within {onnx.get('max_abs_diff', float('nan')):.1e}"
        )
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _compact(obj: Any) -> str:
    import json

    return json.dumps(obj, separators=(", ", ": "), sort_keys=True)


def make(root: str | os.PathLike[str] | None, run_id: str) -> Bundle:
    """The bundle of run `run_id`. RunStoreError when the run itself cannot be read."""
    stored = runs.load_run(root, run_id)
    base = runs.export_run(root, run_id)
    out = io.BytesIO(base)
    files: list[str] = []
    left_out: list[str] = []
    notes: list[str] = []
    onnx_report: dict[str, Any] | None = None
    folder = f"{run_id}/{TAKE_AWAY}"
    with zipfile.ZipFile(out, "a") as zf:

        def add(name: str, content: bytes | str, stored_raw: bool = False) -> None:
            method = zipfile.ZIP_STORED if stored_raw else zipfile.ZIP_DEFLATED
            zf.writestr(f"{folder}/{name}", content, compress_type=method)
            files.append(name)

        if stored.metrics:
            add("metrics.csv", runs.metrics_csv(root, [run_id]))
        try:
            from dlviz.export.onnx_model import ExportError, run_to_onnx

            try:
                onnx_bytes, onnx_report = run_to_onnx(root, run_id)
                add("model.onnx", onnx_bytes, stored_raw=True)
            except ExportError as e:
                left_out.append(f"ONNX: {e}")
        except ImportError as e:  # onnx or onnxruntime not installed
            left_out.append(f"ONNX: {e}")
        try:
            from dlviz.export.code import CodeError, generate

            for framework in ("pytorch", "keras"):
                try:
                    code = generate(root, run_id, framework)
                except CodeError as e:
                    left_out.append(f"{framework} code: {e}")
                    continue
                add(code.filename, code.script)
                if code.data is not None and code.data_name not in files:
                    add(code.data_name, code.data, stored_raw=True)
                notes += [f"{code.filename}: {n}" for n in code.notes]
        except ImportError as e:
            left_out.append(f"code: {e}")
        notes += [f"not here: {why}" for why in left_out]
        add("MODEL_CARD.md", model_card(stored, onnx_report, notes))
    return Bundle(out.getvalue(), files, left_out)
