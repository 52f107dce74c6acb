"""The Generative lab's live view: the plane with real and generated points (and for a GAN
the discriminator's heatmap under them, the generator's warp of a latent grid, each generated
point's gradient), the paths from noise to data (diffusion, flow), images (digits, shapes) as
a sample grid, a conditional GAN's one row a class;
the losses, the divergence and the modes covered over training, with an alert when a GAN
collapses; Step to advance one update at a time. The twins side by side; the four-family
race against wall time.

Everything is drawn inside the live fragment (`live.live_panel`): the number and order of
elements stay the same from one refresh to the next, so the live charts update in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from dlviz.data import Dataset
from dlviz.generative_metrics import collapsed
from dlviz.generative_probe import GenerativeSnapshot, interpolation, walk_class
from dlviz.history import RunHistory
from dlviz.labs.generative.figures import (
    losses_figure,
    metrics_figure,
    paths_figure,
    plane_figure,
    race_figure,
    samples_grid_figure,
)
from dlviz.text import plural
from dlviz.ui import layout, live
from dlviz.ui.charts import live_chart, summary
from dlviz.ui.state import remembered
from dlviz.ui.widgets import snapshot_slider

LAYERS = {"heat": "discriminator", "mesh": "latent mesh", "arrows": "gradients"}
PLANE_HEIGHT = 520  # a single run's plane: about 420 px of square above its legend


def _cached(name: str, source: Any, build):
    return remembered("_gn_cache", name, source, build)


def _real(ds: Dataset) -> np.ndarray:
    return ds.x_train.numpy()


def _column(h: RunHistory, name: str) -> list[float]:
    return [v for v in h.epochs.column(name) if v is not None]


def _alert(h: RunHistory) -> None:
    coverage = [int(v) for v in _column(h, "modes_covered")]
    n = int(_column(h, "n_modes")[-1]) if _column(h, "n_modes") else 0
    if not coverage or not n:
        return
    model = h.config.get("model", {})
    text = collapsed(
        coverage,
        n,
        _column(h, "loss_d"),
        _column(h, "loss_g"),
        loss=str(model.get("loss", "")),
        d_steps=int(model.get("d_steps", 1)),
    )
    if text:
        st.warning(text, icon=":material/warning:")


def _plane(
    snap: GenerativeSnapshot, ds: Dataset, key: str, layers: tuple[str, ...], height: int = 420
) -> None:
    centres = ds.modes[0] if ds.modes is not None else None
    if snap.samples.shape[1] != 2:  # images, grey or colour, at the data's side
        side, per_class = int(ds.x_train.shape[-1]), snap.per_class
        if per_class:  # a conditional GAN: one row a class, named on the left

            def build():
                n = len(snap.samples)
                return samples_grid_figure(
                    snap.samples, side, per_class, count=n, row_labels=ds.class_names
                )

        else:

            def build():
                return samples_grid_figure(snap.samples[:64], side=side)

        live_chart(_cached(key, snap, build), key=key)
        return
    show = ("real", "fake", *layers)
    live_chart(
        _cached(
            key,
            (id(snap), show),
            lambda: plane_figure(snap, _real(ds), centres, show=show, height=height),
        ),
        key=key,
    )


def _item(ds: Dataset) -> str:
    """What one image of the data is, in words."""
    return {"digits": "digit", "shapes": "shape"}.get(ds.name, "image")


def _samples_caption(h: RunHistory, snap: GenerativeSnapshot, ds: Dataset, gan: bool) -> str:
    """The sentence under the samples: points on the plane, or a grid of images."""
    when = _when(h, snap)
    if snap.samples.shape[1] != 2 and snap.per_class:
        return (
            f"Generated {_item(ds)}s, {when}: one row a class, named on the left; each column "
            "is one noise, the same in every row, so the row sets the class and the column the "
            "style. The same noises at every snapshot."
        )
    if snap.samples.shape[1] != 2:
        return f"Generated {_item(ds)}s, {when}, from the same noise at every snapshot."
    return f"Real points (grey) and generated ones (colour), {when}. " + (
        "Under them, the discriminator's verdict (blue: real, orange: fake); "
        "the lines are a grid of latent points as the generator maps them; "
        "each arrow shows where the generator's loss pushes a generated point."
        if gan
        else ""
    )


def _when(h: RunHistory, snap: GenerativeSnapshot) -> str:
    return (
        "the trained model"
        if h.done and snap.step == h.step
        else (f"epoch {snap.epoch}, step {snap.step:,}")
    )


def _readings(h: RunHistory) -> str:
    """The latest metrics in words."""
    if not h.epochs.seen:
        return "The metrics appear after the first epoch."
    parts = []
    cov = _column(h, "modes_covered")
    n = _column(h, "n_modes")
    if cov and n:
        parts.append(f"{int(cov[-1])} of {int(n[-1])} modes covered")
    hq = _column(h, "high_quality")
    if hq:
        parts.append(f"{hq[-1]:.0%} of samples within 3 std of a mode")
    div = _column(h, "divergence")
    if div:
        parts.append(
            f"divergence {div[-1]:.3f} (0: the same histogram as the data, 1: none shared)"
        )
    return f"Epoch {h.epoch}: " + "; ".join(parts) + "." if parts else ""


def metrics_row(h: RunHistory, key: str) -> None:
    """Epoch, time, speed, and how close the samples are: modes covered (where known) and
    the divergence."""
    c = layout.columns(5, key=key, min_width=120)
    cov, n, div = _column(h, "modes_covered"), _column(h, "n_modes"), _column(h, "divergence")
    c[0].metric(f"Epoch (of {h.total_epochs})" if h.total_epochs else "Epoch", f"{h.epoch}")
    c[1].metric("Elapsed", f"{h.elapsed:.1f} s")
    c[2].metric("Steps", f"{h.step:,}")
    c[3].metric("Modes covered", f"{int(cov[-1])} of {int(n[-1])}" if cov and n else "-")
    c[4].metric("Divergence", f"{div[-1]:.3f}" if div else "-")


def draw_single(view: live.View, key: str) -> None:
    if view.kind == "race":
        draw_race(view, key)
        return
    handle = view.handles[0]
    h = handle.history
    ds = live.view_dataset(handle)
    live.status_line("", h)
    metrics_row(h, f"{key}_metrics_row")
    _alert(h)
    left, right = layout.columns([3, 2], key=f"{key}_main", min_width=360, gap="medium")
    with left:
        gan = handle.config.model.arch == "gan" and ds.x_train.shape[1] == 2
        layers: tuple[str, ...] = ()
        if gan:
            chosen = st.pills(
                "Show",
                list(LAYERS),
                format_func=LAYERS.get,
                selection_mode="multi",
                default=list(LAYERS),
                key=f"{key}_layers",
            )
            layers = tuple(chosen or ())
        snap = None
        if h.gen:
            pos = snapshot_slider(f"{key}_gen", h, h.gen)
            snap = h.gen[pos]
        with st.container():
            if snap is None:
                st.caption(
                    "Samples appear with the first snapshot, a moment after training starts."
                )
            else:
                _plane(snap, ds, f"{key}_plane", layers, height=PLANE_HEIGHT)
                st.caption(_samples_caption(h, snap, ds, gan))
        with st.container():
            if snap is not None and snap.path is not None:
                live_chart(
                    _cached(f"{key}_paths", snap, lambda: paths_figure(snap, _real(ds))),
                    key=f"{key}_paths",
                )
                st.caption(
                    "Each line is one point's way from noise (grey) to a sample (colour), as "
                    "the model turns noise into data step by step."
                )
        with st.container():
            if h.done and h.model is not None and ds.x_train.dim() > 2:
                _interpolation(h, ds)
    with right:
        st.markdown("**Losses**")
        live_chart(losses_figure([("", h)]), key=f"{key}_losses")
        if ds.x_train.dim() > 2:  # images: no histogram or modes to measure them by
            st.caption(
                "The divergence and the modes covered are measured on 2-D data, where the "
                "plane can be binned and the modes are known; for images, scrub the snapshots "
                "and judge the samples by eye."
            )
        else:
            st.markdown("**How close the samples are**")
            live_chart(metrics_figure([("", h)]), key=f"{key}_metrics")
            summary(_readings(h))


def _interpolation(h: RunHistory, ds: Dataset) -> None:
    """After a GAN or a VAE trained on images: samples along a line in its latent space."""
    ss = st.session_state
    ss.setdefault("gn_interp_seed", 0)
    line = _cached("interp", (id(h.model), ss["gn_interp_seed"]),
                   lambda: interpolation(h.model, 10, int(ss["gn_interp_seed"])))  # fmt: skip
    if line is None:
        return
    head = layout.row("gn_interp_head", spread=True)
    head.markdown("**A walk through the latent space**")
    head.button(
        "Another walk",
        key="gn_interp_new",
        icon=":material/shuffle:",
        on_click=lambda: ss.update(gn_interp_seed=ss["gn_interp_seed"] + 1),
    )
    side = int(ds.x_train.shape[-1])
    st.plotly_chart(
        samples_grid_figure(line, side=side, cols=10, tile=48, count=10),
        key="gn_interp",
        config=live.CHART_CONFIG,
    )
    held = walk_class(h.model, int(ss["gn_interp_seed"]))
    if held is not None:  # a conditional GAN: the walk keeps one class
        st.caption(
            f"Ten samples of the class {ds.class_names[held]}, from evenly spaced points on a "
            "straight line between two random latent points, the class held fixed: the class "
            f"sets which {_item(ds)} is drawn, the latent point its style. Another walk takes "
            "the next class."
        )
        return
    st.caption(
        "Ten samples from evenly spaced points on a straight line between two random latent "
        f"points: where the network has learned a smooth latent space, one {_item(ds)} turns "
        "into another gradually."
    )


def draw_pair(view: live.View, key: str) -> None:
    """The twins: their planes side by side, their metrics on one chart."""
    hs = [handle.history for handle in view.handles]
    for label, h in zip(view.labels, hs):
        live.status_line(label, h)
    cols = layout.columns(2, key=f"{key}_twins", min_width=360, gap="medium")
    for i, (col, label, handle) in enumerate(zip(cols, view.labels, view.handles)):
        h = handle.history
        with col:
            st.markdown(f"**{label.capitalize()}**")
            _alert(h)
            snap = h.gen[-1] if h.gen else None
            if snap is None:
                st.caption("Its samples appear once it starts training.")
                continue
            _plane(snap, live.view_dataset(handle), f"{key}_plane_{i}", ("heat",))
            st.caption(f"{_when(h, snap).capitalize()}. {_readings(h)}")
    live_chart(metrics_figure(list(zip(view.labels, hs))), key=f"{key}_metrics")


def draw_race(view: live.View, key: str) -> None:
    """The four families at once: each one's samples, and the divergence against time."""
    hs = [handle.history for handle in view.handles]
    for label, h in zip(view.labels, hs):
        live.status_line(label, h)
    for row in range(0, len(view.handles), 2):
        cols = layout.columns(2, key=f"{key}_race_{row}", min_width=300, gap="medium")
        for i, col in enumerate(cols):
            k = row + i
            if k >= len(view.handles):
                break
            handle, h = view.handles[k], hs[k]
            with col:
                per_step = h.elapsed / h.step * 1000 if h.step else 0.0
                st.markdown(
                    f"**{view.labels[k]}** - {plural(h.step, 'step')}"
                    + (f", {per_step:.1f} ms a step" if per_step else "")
                )
                snap = h.gen[-1] if h.gen else None
                if snap is not None:
                    _plane(snap, live.view_dataset(handle), f"{key}_plane_{k}", ())
    st.markdown("**The race**: divergence from the data against wall-clock time")
    live_chart(race_figure(list(zip(view.labels, hs))), key=f"{key}_race")
    st.caption(
        "All four train at once on this machine's cores, each on the same data and seed; the "
        "one whose line falls fastest matches the data soonest. The GPU's speed-up shows on "
        "the Devices page."
    )


def live_view(key: str) -> None:
    """The session's generative run(s) under `key`, live while any of them trains; Step
    advances a paused run one update at a time."""
    live.live_panel(key, single=draw_single, pair=draw_pair, stepping=True)
