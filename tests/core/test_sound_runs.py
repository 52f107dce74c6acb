"""Sound data and sound runs end to end: the clips `load_sound` gives (generated, a folder and a
ZIP of WAV files written here with the `wave` module), runs of a spectrogram CNN and a 1-D CNN
through `dlviz.jobs` and `dlviz train --json`, checked against the stored network rebuilt by
`dlviz.trained`, plain confusion counts, and the live snapshots' shapes."""

from __future__ import annotations

import io
import json
import wave
import zipfile

import numpy as np
import pytest
import torch

from dlviz import admission, jobs
from dlviz.audio_features import features
from dlviz.cli import main
from dlviz.config import RunConfig
from dlviz.data import load_dataset
from dlviz.data.audio import load_sound
from dlviz.data.base import SAMPLE_RATE, AudioInfo
from dlviz.data.sounds import generate
from dlviz.events import snapshotter_for
from dlviz.models.audio import WaveCNN
from dlviz.models.cnn import SoundCNN
from dlviz.probes import FeatureSnapshot
from dlviz.trained import trained_model

TONES = {"name": "tones", "n_samples": 100}
TINY_CNN = {"arch": "cnn", "blocks": [{"channels": 4, "pool": "max"}]}
TINY_WAVE = {"arch": "cnn1d", "hidden_size": 8, "layers": 1}
QUICK = {"epochs": 2, "batch_size": 32, "device": "cpu"}


@pytest.fixture(autouse=True)
def fresh_slots(monkeypatch):
    monkeypatch.setattr(admission, "BOARD", admission.Admission())


def config(data=None, model=None, train=None) -> RunConfig:
    return RunConfig.from_dict(
        {
            "data": {**TONES, **(data or {})},
            "model": model or TINY_CNN,
            "train": {**QUICK, **(train or {})},
        }
    )


def run(cfg: RunConfig, runs_dir=None) -> tuple[dict, list[dict]]:
    """The run's summary and every event it sent."""
    events: list[dict] = []
    summary = jobs.execute(cfg, emit=events.append, runs_dir=runs_dir)
    assert summary["status"] == "finished", summary["message"]
    return summary, events


# --- data -----------------------------------------------------------------------------------


def test_tones_are_split_evenly_by_class_and_come_from_the_generator():
    cfg = RunConfig.from_dict({"data": {**TONES, "window": 512, "hop": 128, "mels": 32}}).data
    ds = load_sound(cfg)
    assert ds.kind == "audio" and ds.task == "class" and ds.n_classes == 5
    assert ds.x_train.dtype == torch.float32 and ds.x_train.shape == (70, 1, SAMPLE_RATE)
    assert ds.x_test.shape == (30, 1, SAMPLE_RATE) and ds.input_shape == (1, SAMPLE_RATE)
    assert ds.audio == AudioInfo(features="mel", window=512, hop=128, mels=32)
    # 20 clips a class; 30% of each in the test set
    assert torch.bincount(ds.y_test).tolist() == [6] * 5
    assert torch.bincount(ds.y_train).tolist() == [14] * 5
    # every clip is one the generator made, with its label, and none is lost or doubled
    waves, labels, names = generate("tones", 100, cfg.noise, cfg.seed)
    assert ds.class_names == names
    made = {w.tobytes(): int(y) for w, y in zip(waves, labels)}
    got = torch.cat([ds.x_train, ds.x_test])[:, 0].numpy()
    got_y = torch.cat([ds.y_train, ds.y_test]).tolist()
    assert len({w.tobytes() for w in got}) == 100
    assert all(made[w.tobytes()] == y for w, y in zip(got, got_y))
    assert float(np.abs(got).max()) <= 1.0
    # the same seed, the same clips and split; another seed, others
    again = load_dataset(cfg)
    assert torch.equal(again.x_train, ds.x_train) and torch.equal(again.y_test, ds.y_test)
    other = load_sound(RunConfig.from_dict({"data": {**TONES, "seed": 1}}).data)
    assert not torch.equal(other.x_train, ds.x_train)


def tone(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return np.round(amp * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)


def wav_bytes(samples: np.ndarray) -> bytes:
    """A 16-bit mono WAV at 16 kHz, written with the standard library."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


CLIPS = {"high": [tone(2000 + 100 * i, 0.5, 0.3 + 0.1 * i) for i in range(4)],
         "low": [tone(300 + 20 * i, 0.5, 0.3 + 0.1 * i) for i in range(4)]}  # fmt: skip


def check_recordings(ds) -> None:
    """The dataset holds the written clips, int16 / 32768, each with its folder's class."""
    assert ds.kind == "audio" and ds.class_names == ("high", "low")
    assert ds.x_train.shape == (6, 1, 8000) and ds.x_test.shape == (2, 1, 8000)
    assert torch.bincount(ds.y_test).tolist() == [1, 1]
    x = torch.cat([ds.x_train, ds.x_test])[:, 0].numpy()
    y = torch.cat([ds.y_train, ds.y_test]).tolist()
    for clip, label in zip(x, y):
        written = [c / 32768 for c in CLIPS[ds.class_names[label]]]
        assert any(np.allclose(clip, w, atol=1e-6) for w in written)


def test_a_folder_and_a_zip_of_wav_files_load_as_sound_data(tmp_path):
    root = tmp_path / "rec"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for cls, clips in CLIPS.items():
            (root / cls).mkdir(parents=True)
            for i, clip in enumerate(clips):
                (root / cls / f"{i}.wav").write_bytes(wav_bytes(clip))
                z.writestr(f"{cls}/{i}.wav", wav_bytes(clip))
    (tmp_path / "rec.zip").write_bytes(buf.getvalue())
    for name, path in (("audio_folder", root), ("audio_zip", tmp_path / "rec.zip")):
        d = {"name": name, "path": str(path), "seconds": 0.5, "test_fraction": 0.25}
        ds = load_dataset(RunConfig.from_dict({"data": d}).data)
        check_recordings(ds)
        assert ds.name == name and ds.audio == AudioInfo()


def test_sound_data_that_cannot_load_says_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="Save them there as a ZIP"):
        load_sound(RunConfig.from_dict({"data": {"name": "audio_upload"}}).data)
    (tmp_path / "only" / "a").mkdir(parents=True)
    (tmp_path / "only" / "a" / "x.wav").write_bytes(wav_bytes(tone(440, 0.5)))
    d = {"name": "audio_folder", "path": str(tmp_path / "only")}
    with pytest.raises(ValueError, match="training needs at least two"):
        load_sound(RunConfig.from_dict({"data": d}).data)


# --- runs -----------------------------------------------------------------------------------


def logits(model, x):
    with torch.no_grad():
        return model.eval()(x)


def test_a_spectrogram_cnn_run_is_stored_and_rebuilds_to_the_same_network(tmp_path):
    cfg = config()
    summary, events = run(cfg, tmp_path)
    assert set(summary["final"]) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}
    # conv 1 -> 4 (3x3), no norm (blocks given), global average, output 4 -> 5 tones
    assert summary["params"] == (9 * 4 + 4) + (4 * 5 + 5)
    start = events[0]
    assert start["type"] == "start" and start["layers"] == ["conv1", "output"]
    assert (tmp_path / summary["run_id"] / "weights.safetensors").stat().st_size > 0
    trained = events[-1]["model"]
    assert isinstance(trained, SoundCNN)
    data = load_dataset(cfg.data)
    rebuilt, same = trained_model(tmp_path, summary["run_id"], cfg, data)
    assert isinstance(rebuilt, SoundCNN) and same is data
    assert not rebuilt.training
    assert torch.allclose(logits(rebuilt, data.x_test), logits(trained, data.x_test), atol=1e-6)
    # the summary's test figures are the stored network's on the whole test set
    out = logits(rebuilt, data.x_test)
    accuracy = (out.argmax(1) == data.y_test).float().mean().item()
    assert summary["final"]["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    loss = torch.nn.functional.cross_entropy(out, data.y_test).item()
    assert summary["final"]["test_loss"] == pytest.approx(loss, rel=1e-4)

    # its confusion counts are the trained network's predictions, counted here
    (classes,) = [e for e in events if e["type"] == "classes"]
    pred = out.argmax(1)
    hand = np.zeros((5, 5), int)
    for t, p in zip(data.y_test.tolist(), pred.tolist()):
        hand[t, p] += 1
    assert (classes["confusion"] == hand).all() and classes["accuracy"] == pytest.approx(accuracy)
    wrong = {m["index"] for m in classes["misclassified"]}
    assert wrong == set(torch.nonzero(pred != data.y_test).flatten().tolist())


def test_a_wave_cnn_run_is_stored_and_rebuilds_to_the_same_network(tmp_path):
    cfg = config({"features": "wave"}, TINY_WAVE)
    summary, events = run(cfg, tmp_path)
    assert "test_accuracy" in summary["final"]
    # stem conv 1 -> 4 (80) + bn, block conv 4 -> 4 (3) + bn, output 4 -> 5
    assert summary["params"] == (80 * 4 + 4) + 8 + (4 * 4 * 3 + 4) + 8 + (4 * 5 + 5)
    assert events[0]["layers"] == ["conv1", "conv2", "output"]
    assert any(e["type"] == "classes" for e in events)
    trained = events[-1]["model"]
    assert isinstance(trained, WaveCNN)
    data = load_dataset(cfg.data)
    rebuilt, _ = trained_model(tmp_path, summary["run_id"], cfg, data)
    assert isinstance(rebuilt, WaveCNN)
    # batch norm's running statistics were stored and loaded, not only the weights
    assert not torch.equal(rebuilt.blocks[0].norm.running_var, torch.ones(4))
    assert torch.allclose(logits(rebuilt, data.x_test), logits(trained, data.x_test), atol=1e-6)


def test_the_cli_trains_a_sound_network_and_prints_its_summary(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(
        json.dumps({"data": {**TONES, "seconds": 0.5}, "model": TINY_CNN, "train": QUICK})
    )
    code = main(["train", str(path), "--runs-dir", str(tmp_path / "s"), "--json", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["epochs"] == 2
    assert 0.0 <= summary["final"]["test_accuracy"] <= 1.0
    stored = json.loads((tmp_path / "s" / summary["run_id"] / "config.json").read_text())
    assert stored["data"]["seconds"] == 0.5 and stored["data"]["features"] == "mel"


def test_specaugment_masks_are_set_from_the_config_and_seeded():
    cfg = config(model=TINY_CNN, train={"augment": {"time_mask": 9, "freq_mask": 5}})
    data = load_dataset(cfg.data)
    a = jobs.build_network(cfg, data).model
    b = jobs.build_network(cfg, data).model
    assert (a.frontend.mask_time, a.frontend.mask_freq) == (9, 5)
    x = data.x_train[:8]
    spec = features(x, data.audio)
    masked = a.frontend.train()(x)
    assert torch.equal(masked, b.frontend.train()(x))  # the same seed, the same masks
    hidden = masked != spec
    assert hidden.any() and (masked[hidden] == 0).all()
    # each clip loses whole frames (at most 9) and whole rows (at most 5), nothing else
    for cut in hidden[:, 0]:  # (H, T)
        cols, rows = cut.all(dim=0), cut.all(dim=1)
        assert torch.equal(cut, cols[None, :] | rows[:, None])
        assert cols.sum() <= 9 and rows.sum() <= 5
    assert torch.allclose(a.frontend.eval()(x), spec, atol=1e-6)  # eval never masks
    plain = jobs.build_network(config(), data).model
    assert (plain.frontend.mask_time, plain.frontend.mask_freq) == (0, 0)


def test_a_run_with_sound_augmentation_is_reproducible_and_augmented():
    aug = {"shift": 0.2, "noise": 0.2, "gain": 6.0, "time_mask": 10, "freq_mask": 4}
    epochs = {"epochs": 1}
    first, _ = run(config(train={**epochs, "augment": aug}))
    second, _ = run(config(train={**epochs, "augment": aug}))
    assert first["final"] == second["final"]
    plain, _ = run(config(train=epochs))
    assert plain["final"]["train_loss"] != first["final"]["train_loss"]
    masks_only, _ = run(config(train={**epochs, "augment": {"time_mask": 10}}))
    assert masks_only["final"]["train_loss"] != plain["final"]["train_loss"]
    on_wave = {"shift": 0.2, "noise": 0.2, "gain": 6.0}  # the wave has no spectrogram to mask
    wave_aug, _ = run(config({"features": "wave"}, TINY_WAVE, {**epochs, "augment": on_wave}))
    wave_again, _ = run(config({"features": "wave"}, TINY_WAVE, {**epochs, "augment": on_wave}))
    assert wave_aug["final"] == wave_again["final"]


def test_live_snapshots_of_a_spectrogram_cnn_and_a_wave_cnn():
    cnn_cfg = config({"seconds": 0.5})
    data = load_dataset(cnn_cfg.data)
    snap = snapshotter_for(data)
    model = jobs.build_network(cnn_cfg, data).model
    event = snap(model, 3, 1)
    assert event["type"] == "fmaps"
    s = event["snapshot"]
    assert isinstance(s, FeatureSnapshot) and (s.step, s.epoch) == (3, 1)
    # 40 mel bands x (8000 // 160 + 1) frames, pooled 2x2 by the block: 20 x 25, kept whole
    assert s.channels == {"conv1": 4} and s.maps["conv1"].shape == (4, 20, 25)
    assert s.filters.shape == (4, 1, 3, 3)
    with torch.no_grad():
        h = model.eval().blocks[0](features(data.x_test[:1], data.audio))[0]
    np.testing.assert_allclose(s.maps["conv1"].astype(np.float32), h.numpy(), rtol=1e-2, atol=1e-2)

    wave_cfg = config({"features": "wave", "seconds": 0.5}, {**TINY_WAVE, "layers": 2})
    data = load_dataset(wave_cfg.data)
    model = jobs.build_network(wave_cfg, data).model
    s = snapshotter_for(data)(model, 0, 0)["snapshot"]
    # 8000 samples: stem 2001 -> 500 (pooled to 256 for the chart), then 125, then 31
    assert {k: v.shape for k, v in s.maps.items()} == {
        "conv1": (4, 256),
        "conv2": (4, 125),
        "conv3": (8, 31),
    }
    assert s.channels == {"conv1": 4, "conv2": 4, "conv3": 8}
    assert s.filters.shape == (4, 1, 80)
    assert torch.allclose(torch.from_numpy(s.filters), model.blocks[0].conv.weight.detach())
    assert set(s.dead) == {"conv1", "conv2", "conv3"}
    # the chosen clip's maps: the first block's output, averaged down to 256 steps
    with torch.no_grad():
        h = model.eval().blocks[0](model.frontend(data.x_test[:1]))[0]  # (4, 500)
    ref = torch.nn.functional.adaptive_avg_pool1d(h[None], 256)[0]
    np.testing.assert_allclose(
        s.maps["conv1"].astype(np.float32), ref.numpy(), rtol=1e-2, atol=1e-2
    )


def test_a_spectrogram_cnns_maps_are_pooled_down_never_stretched():
    cfg = config()  # 40 mels x 101 frames -> 20 x 50 after the block's 2x2 pool
    data = load_dataset(cfg.data)
    model = jobs.build_network(cfg, data).model
    assert model.block_shapes == [(4, 20, 50)]
    s = snapshotter_for(data)(model, 0, 0)["snapshot"]
    assert s.maps["conv1"].shape == (4, 20, 32)
