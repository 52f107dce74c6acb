"""The Sweep page's view: start a sweep in a process of its own (it survives a closed tab),
follow it from its manifest (progress by trial, a table of the trials), stop it, and the views
of its results - a metric against an axis as the mean over seeds with a 95% band, parallel
coordinates, each axis's share of the variance, the best value as trials finish, final against
best - with a reading; open a trial in Runs."""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd
import streamlit as st

from dlviz import runs
from dlviz.config import TOY_DATASETS, ConfigError, RunConfig
from dlviz.labs.images import widgets as images_widgets
from dlviz.labs.playground import widgets as playground_widgets
from dlviz.labs.sequences import widgets as sequence_widgets
from dlviz.labs.sweeps import widgets
from dlviz.labs.sweeps.figures import (
    band_figure,
    best_so_far_figure,
    final_vs_best_figure,
    importance_figure,
    parallel_figure,
    trial_curves_figure,
)
from dlviz.sweeps import analysis
from dlviz.sweeps.aggregate import groups
from dlviz.sweeps.driver import launch, list_sweeps, read_manifest, request_stop, running
from dlviz.sweeps.spec import SweepError
from dlviz.text import plural
from dlviz.ui import layout, live, open_settings, owner, visibility
from dlviz.ui.charts import summary

CURRENT = "sw_current"  # the sweep the page shows (its id)
PROBLEM = "_sw_problem"
RUNS_SEARCH, RUNS_SELECTED = "rs_search", "rs_selected"  # the Runs page's search and selection
REFRESH_S = 1.0
METRICS = {
    "test_accuracy": "final test accuracy",
    "best_test_accuracy": "best test accuracy",
    "test_loss": "final test loss",
    "train_accuracy": "final training accuracy",
    "seconds": "seconds a trial",
}


def root():
    return runs.default_root()


def start() -> None:
    """The Start button: the checked sweep file, launched."""
    source, problem, _ = widgets.checked()
    if source is None:
        st.session_state[PROBLEM] = problem
        return
    try:
        sid, _ = launch(
            source, root(), parallel=int(st.session_state["sw_parallel"]), owner=owner.owner_id()
        )
    except (SweepError, RuntimeError, OSError) as e:
        st.session_state[PROBLEM] = str(e)
        return
    st.session_state[CURRENT] = sid
    st.session_state.pop(PROBLEM, None)


def stop(sid: str) -> None:
    request_stop(root(), sid)


def chooser() -> str | None:
    """The sweeps in the store this person may follow (`visibility`), newest first; the one
    shown."""
    sweeps = visibility.visible_sweeps(list_sweeps(root()))
    ids = [m["sweep_id"] for m in sweeps]
    ss = st.session_state
    if not ids:
        return None
    if ss.get(CURRENT) not in ids:
        ss[CURRENT] = ids[0]
    names = {
        m["sweep_id"]: f"{m['sweep_id']} - {m.get('state', '?')}, "
        f"{plural(len(m.get('trials', [])), 'trial')}, "
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(m.get('started', 0)))}"
        for m in sweeps
    }
    st.selectbox("Sweep", ids, key=CURRENT, format_func=names.get)
    return ss[CURRENT]


def _table(m: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for t in m["trials"]:
        acc = (t.get("metrics") or {}).get("test_accuracy")
        last = (t.get("last") or {}).get("test_accuracy")
        value = acc if acc is not None else last
        rows.append(
            {
                "trial": t["index"],
                "settings": t["label"],
                "status": t["status"],
                "epoch": f"{t['epoch']} / {t['epochs']}",
                "test accuracy": f"{value:.1%}" if isinstance(value, (int, float)) else "-",
                "run": t.get("run_id") or "",
            }
        )
    return pd.DataFrame(rows)


def progress(m: dict[str, Any]) -> None:
    trials = m["trials"]
    n = len(trials)
    done = sum(t["status"] not in ("pending", "running") for t in trials)
    now = sum(t["status"] == "running" for t in trials)
    alive = running(m)
    state = m.get("state", "?")
    if state == "starting" and alive:
        st.caption("The sweep is starting: its process loads torch and checks every trial.")
        return
    if state in ("starting", "running", "stopping") and not alive:
        state = "ended without finishing (its process is gone)"
    st.progress(done / n if n else 0.0, text=f"{done} of {plural(n, 'trial')} done, {now} running")
    st.caption(f"{state.capitalize()}, on {m.get('where', '?')}. Sweep {m['sweep_id']}.")
    if alive:
        st.button(
            "Stop the sweep",
            key="sw_stop",
            icon=":material/stop:",
            on_click=stop,
            args=(m["sweep_id"],),
            help="Every running trial stops within seconds and is saved as stopped; the rest "
            "are not started. Start the same sweep again to resume: finished trials are kept.",
        )
    st.dataframe(_table(m), hide_index=True, key="sw_trials", height=260)
    curves = trial_curves(m)
    if curves:
        st.markdown("**The trials' curves**: test accuracy, one colour a combination")
        st.plotly_chart(trial_curves_figure(curves), key="sw_curves", config=live.CHART_CONFIG)


MAX_CURVES = 60  # trials whose curves the chart draws at most (the running ones, then the latest)


def _stored_curve(run_id: str) -> tuple[list[int], list[float]]:
    """A stored run's epochs and test accuracies, read once per run."""
    cache = st.session_state.setdefault("_sw_curves", {})
    if run_id not in cache:
        try:
            metrics = visibility.load_run(root(), run_id).metrics
        except runs.RunStoreError:
            metrics = {}
        cache[run_id] = (list(metrics.get("epoch") or []), list(metrics.get("test_accuracy") or []))
    return cache[run_id]


def trial_curves(m: dict[str, Any]) -> list[tuple[str, str, list, list, bool]]:
    """(label, combination, epochs, test accuracies, running) of the trials to draw."""
    trials = sorted(
        m["trials"],
        key=lambda t: (t["status"] != "running", -(t.get("finished") or 0)),
    )[:MAX_CURVES]
    out = []
    for t in trials:
        combo = ", ".join(f"{k}={json.dumps(v)}" for k, v in t["params"].items())
        if t["status"] == "running" and t.get("curve"):
            epochs, ys = [p[0] for p in t["curve"]], [p[1] for p in t["curve"]]
            out.append((t["label"], combo, epochs, ys, True))
        elif t.get("run_id"):
            epochs, ys = _stored_curve(t["run_id"])
            if epochs:
                out.append((t["label"], combo, epochs, ys, False))
    return out


def results(m: dict[str, Any]) -> None:
    trials, axes = m["trials"], m.get("axes") or []
    finished = [t for t in trials if t["status"] == "finished"]
    if not finished:
        st.caption("The charts appear as trials finish.")
        return
    ss = st.session_state
    top = layout.columns(2, key="sw_pick", min_width=220, vertical_alignment="bottom")
    metric = top[0].selectbox("Metric", list(METRICS), format_func=METRICS.get, key="sw_metric")
    goal = "min" if metric in ("test_loss", "seconds") else "max"
    gs = groups(trials)
    for sentence in analysis.reading(trials, axes, metric, goal):
        st.markdown(f"- {sentence}")
    if axes:
        if ss.get("sw_axis") not in axes:
            ss["sw_axis"] = axes[0]
        axis = top[1].selectbox("Across", axes, key="sw_axis")
        values = m.get("source", {}).get("grid", {}).get(axis) or sorted(
            {t["params"][axis] for t in trials}, key=str
        )
        st.markdown(f"**{METRICS[metric].capitalize()} against {axis}**: mean over seeds, 95% band")
        st.plotly_chart(
            band_figure(gs, axis, values, metric), key="sw_band", config=live.CHART_CONFIG
        )
        seeds = len(m.get("seeds") or [])
        st.caption(
            "Each line is a combination of the other axes; the band is the 95% confidence "
            "interval of the mean over seeds (Student's t), from the trials that finished"
            + (", cut at 0% and 100%." if "accuracy" in metric else ".")
            + (" With one seed there is no band." if seeds == 1 else "")
        )
    left, right = layout.columns(2, key="sw_views", min_width=360, gap="medium")
    with left:
        st.markdown("**Parallel coordinates**: one line a trial")
        st.plotly_chart(
            parallel_figure(trials, axes, metric), key="sw_parallel_chart",
            config=live.CHART_CONFIG,
        )  # fmt: skip
        if axes:
            shares = analysis.importance(trials, axes, metric)
            if any(v is not None for v in shares.values()):
                st.markdown("**What each axis explains**")
                st.plotly_chart(
                    importance_figure(shares, metric), key="sw_importance",
                    config=live.CHART_CONFIG,
                )  # fmt: skip
                summary(
                    "The share of the spread of the metric over finished trials that each "
                    "axis's value accounts for alone (eta squared)."
                )
    with right:
        st.markdown("**Best so far**")
        points = analysis.best_so_far(trials, metric, goal)
        st.plotly_chart(best_so_far_figure(points, metric), key="sw_best", config=live.CHART_CONFIG)
        st.markdown("**Final against best**: a dot below the line fell from its best")
        st.plotly_chart(final_vs_best_figure(trials), key="sw_final_best", config=live.CHART_CONFIG)
    open_in_runs(finished)


def lab_of(config: RunConfig) -> tuple[str, str, Any, str] | None:
    """(page, widget prefix, from_config, name) of the lab that trains `config` live; None
    when no lab takes it."""
    name = config.data.name
    if name in TOY_DATASETS:
        return "pages/playground.py", "pg", playground_widgets.from_config, "Playground"
    if name in ("shapes", "digits") and config.model.arch == "cnn":
        return "pages/images.py", "im", images_widgets.from_config, "Image lab"
    if any(name in names for names in sequence_widgets.FAMILY_DATASETS.values()):
        return "pages/sequences.py", "sq", sequence_widgets.from_config, "Sequence lab"
    return None


@st.cache_data(max_entries=512, show_spinner=False)
def _trial_config(store: str, run_id: str) -> RunConfig | None:
    """A finished trial's config (runs do not change once finished); None when unreadable."""
    try:
        return RunConfig.from_dict(runs.load_run(store, run_id).config)
    except (runs.RunStoreError, ConfigError, OSError):
        return None


def _open_in_lab(run_id: str, label: str) -> None:
    """Button callback: the trial's settings into its lab's widgets; the lab opens."""
    config = _trial_config(str(root()), run_id)
    if config is None:
        st.session_state[PROBLEM] = "That trial's run can no longer be read from the store."
        return
    lab = lab_of(config)
    if lab is None:
        return
    page, prefix, from_config, _ = lab
    setter = open_settings.Setter()
    from_config(config, setter)
    open_settings.send(page, prefix, setter, f"the sweep's {label}")


def open_in_runs(finished: list[dict[str, Any]]) -> None:
    """A trial's run: open it in Runs, or its settings in its lab to train it live there."""
    labels = {t["run_id"]: f"trial {t['index']}: {t['label']}" for t in finished if t["run_id"]}
    if not labels:
        return
    c1, c2, c3 = layout.columns(
        [3, 1, 1], key="sw_open", min_width=220, vertical_alignment="bottom"
    )
    pick = c1.selectbox("A trial's run", list(labels), format_func=labels.get, key="sw_open_run")
    if c2.button("Open in Runs", key="sw_open_btn", icon=":material/history:"):
        st.session_state[RUNS_SEARCH] = pick  # the Runs page shows that run, selected
        st.session_state[RUNS_SELECTED] = [pick]
        st.switch_page("pages/runs.py")
    config = _trial_config(str(root()), pick)
    lab = lab_of(config) if config is not None else None
    c3.button(
        f"Train it in the {lab[3]}" if lab else "Train it in its lab",
        key="sw_open_lab",
        icon=":material/play_arrow:",
        disabled=lab is None,
        on_click=_open_in_lab,
        args=(pick, labels[pick]),
        help="Open its lab with this trial's settings, to train it live and look inside."
        if lab
        else "Only runs of the Playground, the Image lab and the Sequence lab open in a lab.",
    )
    open_settings.go()


@st.fragment(run_every=REFRESH_S)
def live_sweep() -> None:
    """The sweeps in the store to choose from, and the chosen one, read again every second."""
    sid = chooser()
    if sid is None:
        st.caption(
            "No sweep yet: the trials and charts appear here once one starts."
            + (" (On this shared server you see the sweeps you started.)"
               if visibility.shared() else "")
        )  # fmt: skip
        return
    m = read_manifest(root(), sid)
    if m is not None and not visibility.may_see_sweep(m):
        m = None
    if m is None:
        st.caption("The sweep is starting...")
        return
    progress(m)
    results(m)
