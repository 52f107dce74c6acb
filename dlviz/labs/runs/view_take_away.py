"""A finished run to take away, on the Runs page: the run as PyTorch and Keras code in a code
view (with the data file it loads), the model as ONNX with its check against PyTorch, the
curves as TensorBoard event files, one bundle of all of it, and the run's report as one HTML
file that opens offline."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import streamlit as st

from dlviz import runs
from dlviz.labs.runs.figures import report_html
from dlviz.labs.runs.widgets import root

CODE = "_rs_code"  # (run id, framework) -> Code or the reason there is none
ONNX = "_rs_onnx"  # run id -> (bytes, report) or the reason
FRAMEWORKS = {"pytorch": "PyTorch", "keras": "Keras 3"}


def _code(run_id: str, framework: str) -> Any:
    """The run as `framework` code (kept for the session), or the reason it cannot be."""
    from dlviz.export.code import CodeError, generate

    cache = st.session_state.setdefault(CODE, {})
    if (run_id, framework) not in cache:
        try:
            cache[(run_id, framework)] = generate(root(), run_id, framework)
        except (CodeError, runs.RunStoreError) as e:
            cache[(run_id, framework)] = str(e)
    return cache[(run_id, framework)]


def _script_download(code: Any) -> tuple[bytes, str, str]:
    """The script alone, or a ZIP of it and the data file it loads."""
    if code.data is None:
        return code.script.encode(), code.filename, "text/x-python"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(code.filename, code.script)
        zf.writestr(code.data_name, code.data)
    return buf.getvalue(), code.filename.rsplit(".", 1)[0] + ".zip", "application/zip"


def code_view(run_id: str, framework: str) -> None:
    code = _code(run_id, framework)
    name = FRAMEWORKS[framework]
    if isinstance(code, str):
        st.info(f"No {name} code for this run: {code}", icon=":material/code_off:")
        return
    data, file_name, mime = _script_download(code)
    st.download_button(
        f"Download the {name} script" + (" and its data" if code.data is not None else ""),
        data=data,
        file_name=file_name,
        mime=mime,
        key=f"rs_code_dl_{framework}",
        icon=":material/download:",
        on_click="ignore",
    )
    how = "reproduces this run's numbers exactly" if code.exact else "trains the same way"
    run = f"`python {code.filename}`"
    if framework == "keras":
        run = f"`KERAS_BACKEND=torch python {code.filename}` (or any Keras backend)"
    st.caption(
        f"Standalone: no dlviz needed. Run {run}; it {how} and prints its test accuracy as its "
        "last line."
    )
    for note in code.notes:
        st.caption(f"- {note}")
    st.code(code.script, language="python", line_numbers=True)


def _onnx(run_id: str) -> Any:
    from dlviz.export.onnx_model import ExportError, run_to_onnx

    cache = st.session_state.setdefault(ONNX, {})
    if run_id not in cache:
        try:
            cache[run_id] = run_to_onnx(root(), run_id)
        except (ExportError, runs.RunStoreError) as e:
            cache[run_id] = str(e)
    return cache[run_id]


def onnx_view(run_id: str) -> None:
    done = run_id in st.session_state.get(ONNX, {})
    clicked = st.button(
        "Export as ONNX and check it",
        key="rs_onnx_go",
        icon=":material/deployed_code:",
        disabled=done,
        help="Export the trained model to ONNX, then run it in onnxruntime on test inputs "
        "beside PyTorch and compare their outputs.",
    )
    if not (done or clicked):
        st.caption("ONNX runs the model outside PyTorch: in onnxruntime, in a browser, on a phone.")
        return
    with st.spinner("Exporting and checking..."):
        got = _onnx(run_id)
    if isinstance(got, str):
        st.info(f"This model does not export to ONNX: {got}", icon=":material/block:")
        return
    data, report = got
    diff = float(report.get("max_abs_diff", float("nan")))
    n = report.get("inputs", "?")
    source = report.get("source", "test inputs")
    text = (
        f"onnxruntime agrees with PyTorch on {n} inputs ({source}): the largest difference "
        f"between their outputs is {diff:.1e}"
    )
    if report.get("ok"):
        st.success(text + ", within 1e-4.", icon=":material/check_circle:")
    else:
        st.warning(text + ", more than 1e-4.", icon=":material/warning:")
    st.caption(
        f"Input `{report.get('input_name', 'input')}`, output "
        f"`{report.get('output_name', 'output')}`, any batch size; {len(data):,} bytes."
    )
    st.download_button(
        "Download model.onnx",
        data=data,
        file_name=f"{run_id}.onnx",
        mime="application/octet-stream",
        key="rs_onnx_dl",
        icon=":material/download:",
        on_click="ignore",
    )


def take_away(run_id: str) -> None:
    """The section under a finished run's charts."""
    st.markdown("#### Take it with you")
    tabs = st.tabs(["PyTorch code", "Keras code", "ONNX", "Bundle and report"])
    with tabs[0]:
        code_view(run_id, "pytorch")
    with tabs[1]:
        code_view(run_id, "keras")
    with tabs[2]:
        onnx_view(run_id)
    with tabs[3]:
        bundle_view(run_id)


def bundle_view(run_id: str) -> None:
    from dlviz.export import bundle

    st.download_button(
        "Download the bundle (ZIP)",
        data=lambda: bundle.make(root(), run_id).data,
        file_name=f"{run_id}.zip",
        mime="application/zip",
        key="rs_bundle",
        icon=":material/inventory_2:",
        on_click="ignore",
        help="The run (config, metrics, summary, weights as safetensors), which another dlviz "
        "imports, and a take-away folder: the model as ONNX, the PyTorch and Keras scripts "
        "with their data, the metrics as CSV and a model card.",
    )
    st.caption(
        "Another dlviz imports the bundle on the Runs page (`dlviz runs import`); the "
        "take-away folder is for you."
    )
    st.download_button(
        "Download the report (HTML)",
        data=lambda: report_html(runs.load_run(root(), run_id)).encode(),  # read on a click
        file_name=f"{run_id}-report.html",
        mime="text/html",
        key="rs_report",
        icon=":material/description:",
        on_click="ignore",
        help="One HTML file with the run's numbers, charts and config; it opens offline.",
    )
    st.download_button(
        "Download TensorBoard event files (ZIP)",
        data=lambda: tensorboard_zip(run_id),
        file_name=f"{run_id}-tensorboard.zip",
        mime="application/zip",
        key="rs_tensorboard",
        icon=":material/monitoring:",
        on_click="ignore",
        help="Unzip, then `tensorboard --logdir` the folder (pip install tensorboard).",
    )


def tensorboard_zip(run_id: str) -> bytes:
    """The run's TensorBoard event files in a ZIP (a note instead, without tensorboard)."""
    import tempfile
    from pathlib import Path

    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buf, "w") as zf:
        try:
            from dlviz.export.tensorboard import write_run

            out = write_run(root(), run_id, Path(tmp) / run_id)
        except (ImportError, RuntimeError) as e:
            zf.writestr("README.txt", f"No event files: {e}\n")
            return buf.getvalue()
        for path in sorted(Path(out).rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(tmp).as_posix())
    return buf.getvalue()
