"""The Runs page's view: what can be done with one run (rename, tag, delete, download, reopen
its charts), and the Compare view of 2 to 10.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dlviz import runs
from dlviz.compare import (
    config_activation,
    config_diff,
    frozen_layers,
    gradient_reading,
    run_labels,
)
from dlviz.config import GENERATIVE_ARCHS, IMAGE_DATASETS, RunConfig
from dlviz.export import bundle
from dlviz.figures.rasters import feature_maps_figure, image_grid_figure
from dlviz.labs.runs import view_take_away
from dlviz.labs.runs.figures import compare_curves_figure, grad_profiles_figure
from dlviz.labs.runs.widgets import as_number, flash, root
from dlviz.probes import FeatureSnapshot, ImageProbe
from dlviz.text import counted, plural
from dlviz.trained import trained_model
from dlviz.ui import fields, layout, live, visibility
from dlviz.ui.state import dataset

MAX_COMPARE = 10
MAX_TEST_IMAGE = 100_000  # the Compare view's test-image number: each run clamps to its own
DETAIL_OF = "rs_detail_of"  # the run whose name and tags the edit boxes hold
CHART_CONFIG = live.CHART_CONFIG  # a chart's own menu saves it as a PNG
DIFF_COLOR = "background-color: rgba(255, 196, 0, 0.25)"


# --- one run ----------------------------------------------------------------------------------


# Each change checks again that the run is the person's (`visibility.require`): the buttons are
# only drawn for runs they see, and a run that is not theirs reads as one that is not there.


def _rename(run_id: str) -> None:
    try:
        visibility.require(root(), run_id)
        runs.rename_run(root(), run_id, st.session_state.get("rs_name", ""))
    except runs.RunStoreError as e:
        flash("error", str(e))
    else:
        flash("success", "Renamed.")


def _set_tags(run_id: str) -> None:
    text = st.session_state.get("rs_tags", "")
    try:
        visibility.require(root(), run_id)
        tags = runs.set_tags(root(), run_id, [t.strip() for t in text.split(",")])
    except runs.RunStoreError as e:
        flash("error", f"{e}. Separate tags with commas.")
    else:
        st.session_state["rs_tags"] = ", ".join(tags)
        flash("success", f"Tags: {', '.join(tags)}." if tags else "Tags removed.")


def _delete(run_id: str, label: str) -> None:
    try:
        visibility.require(root(), run_id)
        runs.delete_run(root(), run_id)
    except runs.RunStoreError as e:
        flash("error", str(e))
    else:
        st.session_state.pop(DETAIL_OF, None)
        flash("success", f"Deleted run {label}.")


def _delete_popover(run_id: str, label: str, disabled: bool = False) -> None:
    with st.popover("Delete", icon=":material/delete:", disabled=disabled):
        st.markdown(f"Delete run **{label}** and everything saved with it? This cannot be undone.")
        st.button(
            "Delete for good",
            key="rs_delete_confirm",
            type="primary",
            on_click=_delete,
            args=(run_id, label),
        )


def _load(run_id: str) -> tuple[runs.StoredRun | None, str]:
    try:
        return visibility.load_run(root(), run_id), ""
    except runs.RunStoreError as e:
        return None, str(e)


def stored_reading(config: Any, norms: dict[str, Any]) -> str:
    """The gradient reading of a stored run's last-epoch gradient norms, for its own network:
    its activation, and the layers its transfer strategy froze."""
    values = [as_number(v) or 0.0 for v in norms.values()]
    return gradient_reading(values, config_activation(config), frozen_layers(config, len(values)))


def _has_metrics(stored: runs.StoredRun) -> bool:
    return bool(stored.metrics.get("epoch"))


def _pct(v: Any) -> str:
    return f"{v:.1%}" if as_number(v) is not None else "—"


def run_details(row: dict[str, Any]) -> None:
    """One selected run: its numbers, edits, downloads and charts."""
    run_id = str(row["run_id"])
    label = run_labels([row])[0]
    status = row.get("status")
    st.subheader(label)
    st.caption(f"Run `{run_id}` · {status} · {row.get('date') or 'no date'} · `{row.get('path')}`")

    if status == "unreadable":
        st.warning(f"This run cannot be read: {row.get('message')}", icon=":material/warning:")
        _delete_popover(run_id, label)
        return

    if st.session_state.get(DETAIL_OF) != run_id:  # a new run selected: its own name and tags
        st.session_state[DETAIL_OF] = run_id
        st.session_state["rs_name"] = str(row.get("name") or "")
        st.session_state["rs_tags"] = ", ".join(row.get("tags") or [])
    name, tags = layout.columns(2, key="rs_edit", min_width=300, vertical_alignment="bottom")
    n1, n2 = name.columns([2, 1], vertical_alignment="bottom")
    n1.text_input("Name", key="rs_name", max_chars=runs.MAX_NAME)
    n2.button("Rename", key="rs_rename", on_click=_rename, args=(run_id,), width="stretch")
    t1, t2 = tags.columns([2, 1], vertical_alignment="bottom")
    t1.text_input("Tags", key="rs_tags", placeholder="e.g. baseline, deep", help="Comma separated")
    t2.button("Set tags", key="rs_set_tags", on_click=_set_tags, args=(run_id,), width="stretch")

    stored, problem = _load(run_id)
    actions = layout.row("rs_actions")
    with actions:
        _delete_popover(run_id, label, disabled=status == "running")
    actions.download_button(
        "Download ZIP",
        data=lambda: bundle.make(root(), run_id).data,
        file_name=f"{run_id}.zip",
        mime="application/zip",
        key="rs_zip",
        icon=":material/download:",
        on_click="ignore",
        help="The whole run (config, metrics, summary, weights), which another dlviz imports, "
        "and a take-away folder: the model as ONNX, the run as PyTorch and Keras code, the "
        "metrics as CSV and a model card.",
    )
    if stored is not None and _has_metrics(stored):
        actions.download_button(
            "Metrics CSV",
            data=runs.metrics_csv(root(), [run_id]),
            file_name=f"{run_id}-metrics.csv",
            mime="text/csv",
            key="rs_csv",
            icon=":material/table:",
            on_click="ignore",
        )

    if stored is None:
        st.warning(problem, icon=":material/warning:")
        return
    if status in ("running", "interrupted"):
        st.info(row.get("message") or f"This run is {status}.", icon=":material/info:")
    verdict = stored.summary.get("outcome")
    if isinstance(verdict, dict) and verdict.get("kind") not in (None, "ok"):
        st.warning(str(verdict.get("message", "")), icon=":material/warning:")
    if not _has_metrics(stored):
        st.caption("No epoch finished, so there are no curves to show.")
        return
    summary = stored.summary
    final, best = row.get("final_test_accuracy"), row.get("best_test_accuracy")
    if not summary:  # running or interrupted: what its saved curves reached so far
        tests = [v for v in stored.metrics.get("test_accuracy", []) if as_number(v) is not None]
        final, best = (tests[-1], max(tests)) if tests else (None, None)
    m = layout.columns(5, key="rs_numbers", min_width=140)
    mses = [v for v in stored.metrics.get("test_mse", []) if as_number(v) is not None]
    naive = [v for v in stored.metrics.get("baseline_mse", []) if as_number(v) is not None]
    if mses:  # a forecast: its error, and the naive forecast's it must beat
        m[0].metric("Final test MSE" if summary else "Last test MSE", f"{mses[-1]:.3g}")
        m[1].metric("Naive forecast MSE", f"{naive[-1]:.3g}" if naive else "—")
    else:
        m[0].metric("Final test accuracy" if summary else "Last test accuracy", _pct(final))
        m[1].metric("Best test accuracy", _pct(best))
    m[2].metric("Epochs", summary.get("epochs", len(stored.metrics["epoch"])))
    m[3].metric("Parameters", f"{row['params']:,}" if isinstance(row.get("params"), int) else "—")
    seconds = as_number(summary.get("seconds"))
    m[4].metric("Time", f"{seconds:.1f} s" if seconds is not None else "—")
    x = st.segmented_control(
        "x axis",
        ["epoch", "elapsed"],
        format_func={"epoch": "Against epoch", "elapsed": "Against wall time"}.get,
        key="rs_x",
        default="epoch",
        label_visibility="collapsed",
    )
    st.plotly_chart(
        compare_curves_figure([(label, stored.metrics)], x=x or "epoch"),
        key="rs_curves",
        config=CHART_CONFIG,
    )
    st.caption("Solid: test; dashed: train.")
    norms = summary.get("gradient_norms")
    if isinstance(norms, dict) and norms:
        st.markdown("**Gradient norms by layer** (last epoch)")
        st.plotly_chart(grad_profiles_figure([(label, norms)]), key="rs_grads", config=CHART_CONFIG)
        st.caption(stored_reading(stored.config, norms))
    with st.expander("Config"):
        st.json(stored.config)
    if summary and stored.has_weights:
        view_take_away.take_away(run_id)


# --- compare ----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "none"
    if isinstance(value, dict):  # a CNN block: its own settings (empty: the model's)
        return ", ".join(f"{k} {v}" for k, v in value.items() if v not in (None, ""))
    return str(value)


def diff_frame(labels: list[str], configs: list[dict[str, Any]], only_differs: bool):
    """The config table (a pandas Styler): one row a field, one column a run; rows that differ
    highlighted. Also returns the fields that differ."""
    rows = config_diff(configs)
    differing = [r["field"] for r in rows if r["differs"]]
    if only_differs:
        rows = [r for r in rows if r["differs"]]
    frame = pd.DataFrame(
        [[_cell(v) for v in r["values"]] for r in rows],
        index=pd.Index([r["field"] for r in rows], name="field"),
        columns=labels,
    )
    flags = [r["differs"] for r in rows]
    styler = frame.style.apply(
        lambda col: [DIFF_COLOR if f else "" for f in flags], axis=0
    ).map_index(lambda field: DIFF_COLOR if field in differing else "", axis=0)
    return styler, differing


def metrics_frame(labels: list[str], stored: list[runs.StoredRun]) -> pd.DataFrame:
    def final(s: runs.StoredRun, k: str) -> float | None:
        f = s.summary.get("final")
        return as_number(f.get(k)) if isinstance(f, dict) else None

    return pd.DataFrame(
        {
            "run": labels,
            "status": [s.row.get("status") for s in stored],
            "epochs": [s.summary.get("epochs") for s in stored],
            "parameters": [s.row.get("params") for s in stored],
            "device": [s.row.get("device") for s in stored],
            "time (s)": [as_number(s.summary.get("seconds")) for s in stored],
            "samples/s": [as_number(s.summary.get("samples_per_second")) for s in stored],
            "train loss": [final(s, "train_loss") for s in stored],
            "test loss": [final(s, "test_loss") for s in stored],
            "train acc": [final(s, "train_accuracy") for s in stored],
            "test acc": [final(s, "test_accuracy") for s in stored],
            "best test acc": [as_number(s.row.get("best_test_accuracy")) for s in stored],
        }
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def _feature_snapshot(
    store: str, run_id: str, stamp: float, config: str, index: int
) -> tuple[FeatureSnapshot, Any, str]:
    """Feature maps of test image `index` through a stored run's trained model, the image and
    its caption. Cached read-only per (run, weights file time, image)."""
    cfg = RunConfig.from_dict(json.loads(config))
    model, ds = trained_model(store, run_id, cfg, dataset(cfg.data))
    i = min(max(index, 0), len(ds.x_test) - 1)
    snap = ImageProbe(ds.x_test, sample_index=i, max_channels=16)(model)
    caption = f"test image {i}: {ds.class_names[int(ds.y_test[i])]}"
    return snap, ds.x_test[i : i + 1].numpy(), caption


def _why_no_maps(s: runs.StoredRun) -> str:
    data = s.config.get("data") if isinstance(s.config.get("data"), dict) else {}
    name = data.get("name")
    if name == "upload":
        return (
            "It trained on uploaded pictures, which are not kept, so its feature maps cannot be "
            "redrawn here (the Your images page shows them while its session lasts)."
        )
    if name in ("folder", "zip") and not Path(str(data.get("path") or "")).exists():
        return f"Its images came from {data.get('path')!r}, which is not there any more."
    if not s.has_weights:
        return "It has no saved weights (it did not finish)."
    return ""


def feature_maps(labels: list[str], stored: list[runs.StoredRun]) -> None:
    """The same test image through each image run's trained network, side by side."""
    images = [
        (label, s)
        for label, s in zip(labels, stored)
        if isinstance(s.config.get("data"), dict)
        and s.config["data"].get("name") in IMAGE_DATASETS
        # a generative model on digits has no feature maps of a test image to show
        and (s.config.get("model") or {}).get("arch") not in GENERATIVE_ARCHS
    ]
    if not images:
        return
    st.markdown("#### Feature maps of the same test image")
    st.session_state.setdefault("rs_cmp_image", 0)
    fields.number_input(
        layout.columns([1, 3], key="rs_cmp_image_row", min_width=180)[0],
        "rs_cmp_image",
        "Test image",
        persist=False,
        help="Its number in the test split; runs on the same data and split see the same image.",
    )
    refused = fields.problem("rs_cmp_image", 0, MAX_TEST_IMAGE, "Test image")
    if refused:
        st.error(refused, icon=":material/error:")
        return
    index = int(st.session_state["rs_cmp_image"])
    datas = {json.dumps(s.config.get("data"), sort_keys=True) for _, s in images}
    if len(datas) > 1:
        st.caption(
            "These runs were trained on different data (or a different split), so the same "
            "number is a different picture for some of them: each shows its own above its maps."
        )
    per_row = 3 if len(images) > 2 else 2
    tile = 36 if per_row == 3 else 52
    for start in range(0, len(images), per_row):
        cols = layout.columns(per_row, key=f"rs_cmp_fmaps_row{start}", min_width=260)
        for k, (col, (label, s)) in enumerate(zip(cols, images[start : start + per_row]), start):
            with col:
                st.markdown(f"**{label}**")
                why = _why_no_maps(s)
                if why:
                    st.info(why, icon=":material/info:")
                    continue
                try:
                    stamp = (s.path / runs.WEIGHTS).stat().st_mtime
                    snap, image, caption = _feature_snapshot(
                        str(root()), s.run_id, stamp, json.dumps(s.config), int(index)
                    )
                except Exception as e:  # a stored run is data from disk: whatever is wrong
                    # with it (config, data, weights, model) is a message, never a broken page
                    st.warning(f"Its feature maps cannot be drawn: {e}", icon=":material/warning:")
                    continue
                st.plotly_chart(
                    image_grid_figure(image, [caption], cols=1, tile=64),
                    key=f"rs_cmp_sample_{k}",
                    config=CHART_CONFIG,
                )
                st.plotly_chart(
                    feature_maps_figure(snap, cols=8, tile=tile),
                    key=f"rs_cmp_fmaps_{k}",
                    config=CHART_CONFIG,
                )


def compare(rows: list[dict[str, Any]]) -> None:
    """The Compare view of the selected runs (the first MAX_COMPARE of them)."""
    if len(rows) > MAX_COMPARE:
        st.warning(
            f"{len(rows)} runs are selected; Compare takes at most {MAX_COMPARE}, so it shows "
            f"the first {MAX_COMPARE} in the table. Unselect some to choose.",
            icon=":material/warning:",
        )
        rows = rows[:MAX_COMPARE]
    labels = run_labels(rows)
    st.subheader(f"Compare {plural(len(rows), 'run')}")
    loaded: list[tuple[str, runs.StoredRun]] = []
    for label, row in zip(labels, rows):
        stored, problem = _load(str(row["run_id"]))
        if stored is None:
            st.warning(f"**{label}** is left out: {problem}", icon=":material/warning:")
        elif not _has_metrics(stored):
            note = row.get("message") or "no epoch finished"
            st.info(f"**{label}** has no metrics to draw ({row.get('status')}: {note}).")
            loaded.append((label, stored))
        else:
            loaded.append((label, stored))
    st.download_button(
        "Metrics of these runs (CSV)",
        data=runs.metrics_csv(root(), [s.run_id for _, s in loaded if _has_metrics(s)]),
        file_name="dlviz-metrics.csv",
        mime="text/csv",
        key="rs_cmp_csv",
        icon=":material/table:",
        on_click="ignore",
    )
    curves = [(label, s.metrics) for label, s in loaded if _has_metrics(s)]
    if curves:
        by_epoch, by_time = st.tabs(["Against epoch", "Against wall time"])
        with by_epoch:
            st.plotly_chart(
                compare_curves_figure(curves, x="epoch"),
                key="rs_cmp_curves",
                config=CHART_CONFIG,
            )
        with by_time:
            st.plotly_chart(
                compare_curves_figure(curves, x="elapsed"),
                key="rs_cmp_curves_time",
                config=CHART_CONFIG,
            )
        st.caption("Solid: test; dashed: train. Click a run in the legend to hide it.")
    if not loaded:
        return

    labels_ok = [label for label, _ in loaded]
    stored_ok = [s for _, s in loaded]
    st.markdown("#### Final metrics")
    st.dataframe(
        metrics_frame(labels_ok, stored_ok),
        key="rs_cmp_metrics",
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(format="percent")
            for c in ("train acc", "test acc", "best test acc")
        }
        | {
            "parameters": st.column_config.NumberColumn(format="localized"),
            "train loss": st.column_config.NumberColumn(format="%.4f"),
            "test loss": st.column_config.NumberColumn(format="%.4f"),
            "time (s)": st.column_config.NumberColumn(format="%.1f"),
            "samples/s": st.column_config.NumberColumn(format="%.0f"),
        },
    )

    st.markdown("#### Configs")
    only = st.toggle("Only the fields that differ", key="rs_cmp_only_diff")
    styler, differing = diff_frame(labels_ok, [s.config for s in stored_ok], only)
    if differing:
        names = ", ".join(differing[:8]) + (
            f" and {len(differing) - 8} more" if len(differing) > 8 else ""
        )
        st.caption(
            f"{plural(len(differing), 'field')} {counted(len(differing), 'differs', 'differ')}, "
            f"highlighted: {names}."
        )
    else:
        st.caption("Their configs are the same.")
    n_rows = len(styler.data)
    st.dataframe(styler, key="rs_cmp_configs", width="stretch", height=min(38 + 35 * n_rows, 1400))

    with_norms = [
        (label, s)
        for label, s in loaded
        if isinstance(s.summary.get("gradient_norms"), dict) and s.summary["gradient_norms"]
    ]
    if with_norms:
        profiles = [(label, s.summary["gradient_norms"]) for label, s in with_norms]
        st.markdown("#### Gradient norms by layer")
        st.plotly_chart(grad_profiles_figure(profiles), key="rs_cmp_grads", config=CHART_CONFIG)
        for label, s in with_norms:
            reading = stored_reading(s.config, s.summary["gradient_norms"])
            st.caption(f"**{label}**: {reading}")

    feature_maps(labels_ok, stored_ok)
