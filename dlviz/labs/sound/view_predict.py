"""The Sound page after training: a new clip (uploaded, recorded or from the test set) through
the trained network — its class probabilities, where it listened (saliency and Grad-CAM over
the spectrogram, or over time for a wave network) and the occlusion check — and, for a network
trained on built-in sounds, the person's own recordings as a test set: distribution shift."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import streamlit as st
import torch

from dlviz import explain
from dlviz.audio_features import axes
from dlviz.data import Dataset
from dlviz.data.audio_files import decode_audio, fit_length
from dlviz.data.base import SAMPLE_RATE
from dlviz.data.uploads import UploadError
from dlviz.figures.classes import confusion_figure, probability_figure
from dlviz.labs.sound import widgets_recordings as recordings
from dlviz.labs.sound.figures import explain_figure, occlusion_figure, wave_explain_figure
from dlviz.labs.sound.view import play
from dlviz.probes import class_report, evaluating
from dlviz.text import plural
from dlviz.ui import fields, layout, live
from dlviz.ui.collection import megabytes

HIDE_SHARE = 0.2  # of the features the occlusion check hides


def _trained(view: live.View | None) -> list[tuple[str, Any, Dataset]]:
    """(label, model, data) of each run of the view that has ended with a trained model."""
    if view is None:
        return []
    return [
        (label, h.history.model, live.view_dataset(h))
        for label, h in zip(view.labels, view.handles)
        if h.history.done and h.history.model is not None
    ]


def _choose_network(trained: list[tuple[str, Any, Dataset]]) -> tuple[str, Any, Dataset]:
    if len(trained) == 1:
        return trained[0]
    names = [label for label, _, _ in trained]
    choice = st.segmented_control(
        "Network", names, key="sd_predict_model", default=names[0], required=True
    )
    return trained[names.index(choice)]


def predict_panel(view: live.View | None) -> None:
    st.subheader("Predict")
    trained = _trained(view)
    if not trained:
        st.caption(
            "Train a network first; then give it a new clip here (upload one, record one, or "
            "pick a test clip) and see what it says, and where in the sound it listened."
        )
        return
    label, model, ds = _choose_network(trained)
    lim, _ = recordings.limits()
    sources = {"test": "A test clip", "upload": "Upload a clip", "record": "Record one"}
    source = st.segmented_control(
        "Clip", list(sources), format_func=sources.get, key="sd_predict_source", required=True
    )
    length = ds.input_shape[-1]
    name, wave = "", None
    if source == "test":
        n = len(ds.x_test)
        st.session_state.setdefault("sd_predict_index", 0)
        fields.number_input(st, "sd_predict_index", f"Test clip (0 to {n - 1})", persist=False)
        refused = fields.problem("sd_predict_index", 0, n - 1, "Test clip")
        if refused:
            st.error(refused, icon=":material/error:")
            return
        i = int(st.session_state["sd_predict_index"])
        name, wave = f"test clip {i} ({ds.class_names[int(ds.y_test[i])]})", ds.x_test[i, 0]
    else:
        f = (
            st.file_uploader(
                "A clip to classify",
                type=recordings.accepted_types(),
                key="sd_predict_file",
                max_upload_size=megabytes(lim.max_file_bytes),
            )
            if source == "upload"
            else st.audio_input(
                "A clip to classify", key="sd_predict_take", sample_rate=SAMPLE_RATE
            )
        )
        if f is None:
            return
        try:
            whole = decode_audio(f.name, f.getvalue(), limits=lim)
        except UploadError as e:
            st.error(f"{e}. Try another file.", icon=":material/error:")
            return
        name = f.name if source == "upload" else "your recording"
        wave = torch.from_numpy(fit_length(whole, length))
    show_prediction(model, ds, wave, name, key=f"sd_pred_{label}")


def _probabilities(model: Any, wave: torch.Tensor) -> np.ndarray:
    """Class probabilities of one clip (1, S)."""
    device = next(model.parameters()).device
    with evaluating(model), torch.no_grad():
        return torch.softmax(model(wave[None].to(device)).float(), dim=1)[0].cpu().numpy()


def show_prediction(model: Any, ds: Dataset, wave: torch.Tensor, name: str, key: str) -> None:
    """Probabilities, where the network listened, and the occlusion check, for clip `wave`."""
    assert ds.audio is not None
    x = wave.reshape(1, -1).float()
    probs = _probabilities(model, x)
    top = int(np.argmax(probs))
    net, feats = explain.on_features(model, x)
    layer = f"conv{len(model.blocks)}"
    sal = explain.saliency(net, feats, target=top)
    cam = explain.grad_cam(net, feats, layer=layer, target=top)
    wave_net = ds.audio.features == "wave"
    check = explain.occlusion(
        net, feats, cam, share=HIDE_SHARE, target=top, fill=0.0 if wave_net else None
    )
    st.markdown(f"**{name}**: the network hears **{ds.class_names[top]}** ({probs[top]:.1%})")
    play(x)
    left, right = layout.columns([2, 3], key=f"{key}_row", min_width=260, gap="medium")
    with left:
        st.plotly_chart(
            probability_figure(ds.class_names, probs), key=f"{key}_probs", config=live.CHART_CONFIG
        )
        st.plotly_chart(
            occlusion_figure(check, ds.class_names[top]),
            key=f"{key}_occl",
            config=live.CHART_CONFIG,
        )
        drop = check["before"] - check["highlighted_hidden"]
        moved = check["before"] - check["random_hidden"]
        where = "samples" if wave_net else "spectrogram"
        st.caption(
            f"The occlusion check: hiding the {check['share']:.0%} of the {where} that "
            f"Grad-CAM rates highest (set to silence) takes P({ds.class_names[top]}) from "
            f"{check['before']:.1%} to {check['highlighted_hidden']:.1%}; hiding the same patch "
            f"moved elsewhere leaves {check['random_hidden']:.1%}. "
            + (
                "The highlighted part mattered more than the rest."
                if drop > moved + 0.02
                else "Here the highlighted part mattered no more than another: the network's "
                "evidence is spread out, or Grad-CAM at this layer misses it."
            )
        )
    with right:
        if wave_net:
            fig = wave_explain_figure(x[0].numpy(), sal, cam, SAMPLE_RATE)
            what = "sample"
        else:
            ax = axes(ds.audio, x.shape[-1])
            fig = explain_figure(
                feats[0].cpu().numpy(), sal, cam, ax["times"], ax["rows"], ax["rows_unit"], layer
            )
            what = "time and frequency"
        st.plotly_chart(fig, key=f"{key}_explain", config=live.CHART_CONFIG)
        st.caption(
            f"Where the network listened for {ds.class_names[top]}. Saliency: how much each "
            f"{what} changes that class's score (its gradient). Grad-CAM: {layer}'s maps "
            "weighted by how much each raises the score: the parts of the sound that made the "
            "decision."
        )


def plain_name(name: str) -> str:
    """A class name as a person would type it: lower case, letters and digits only ("/a/" and
    "A" are "a", "single tone" is "singletone")."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def shift_panel(view: live.View | None) -> None:
    """A network trained on built-in sounds, tested on the person's recordings of the same
    classes (by name): how well what it learned from generated or synthesised clips carries
    over to real ones."""
    trained = [t for t in _trained(view) if t[2].name != "audio_upload"]
    if not trained:
        return
    label, model, ds = trained[0]
    st.subheader("Your recordings as a test set")
    s = recordings.sound_set()
    wanted = {plain_name(n): i for i, n in enumerate(ds.class_names)}
    matched = {c: wanted[plain_name(c)] for c in s.classes if plain_name(c) in wanted}
    if not any(s.classes[c] for c in matched):
        st.caption(
            f"Record or upload clips under **Your recordings**, in classes named as this "
            f"network's ({', '.join(ds.class_names)}; case, spaces and marks such as / do "
            "not count), and they are tested here. A network "
            + (
                "trained on a synthesiser's voice may fail on real voices: the test set drawn "
                "from the synthesiser does not show that, yours does."
                if ds.name == "spoken_digits"
                else "trained on generated sounds meets recorded ones: other microphones, rooms "
                "and noise."
            )
        )
        return
    length = ds.input_shape[-1]
    waves, ys = [], []
    for cls, y in matched.items():
        for clip in s.classes[cls]:
            waves.append(fit_length(clip.wave, length))
            ys.append(y)
    x = torch.from_numpy(np.stack(waves))[:, None, :]
    report = class_report(model, x, torch.tensor(ys), ds.n_classes)
    own = report["accuracy"]
    handle = view.handles[view.labels.index(label)]
    own_test = handle.history.classes.get("accuracy", float("nan"))
    st.markdown(
        f"On **{plural(len(ys), 'recording')} of yours** the "
        + ("" if label == "run" else f"{label} ")
        + "network is right "
        f"**{own:.0%}** of the time; on its own test clips, "
        f"**{own_test:.0%}**."
    )
    st.plotly_chart(
        confusion_figure(report["confusion"], ds.class_names, height=360),
        key="sd_shift_confusion",
        config=live.CHART_CONFIG,
    )
    st.caption(
        "Distribution shift: a network is only as good as the likeness of its training clips to "
        "the ones it meets. Where yours differ (voice, microphone, room, noise), accuracy drops; "
        "augmentation and more varied training clips narrow the gap."
    )
