"""What a run's code needs to know, read from the run store: the run's config as it ran, its
data (as arrays for an .npz beside the script, or regenerated in the script), the facts a
script states as constants, and the reasons a run cannot be written as code (`CodeError`).

`dlviz.export.code` turns a `Plan` into a PyTorch (`code_torch`) or Keras (`code_keras`)
script. Nothing here imports torch's model code into a script: scripts import nothing of dlviz.
"""

from __future__ import annotations

import io
import os
import textwrap
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlviz.config import ConfigError, RunConfig

FRAMEWORKS = ("pytorch", "keras")
# Models whose code these scripts write, and the data they take
CLASSIFIER_ARCHS = ("mlp", "cnn", "rnn", "lstm", "gru", "cnn1d", "transformer", "bow")


class CodeError(Exception):
    """A run that cannot be written as a standalone script; the message says why."""


@dataclass(frozen=True)
class Plan:
    """One run, as its scripts see it.

    `kind`: points2d (x (N, 2) float32), image (x (N, C, H, W) float32 in [0, 1]) or tokens
    (x (N, T) int64 ids). `arrays`: x_train, y_train, x_test, y_test as the run trained on
    them, for the .npz (None where the script regenerates the data: the 2-D toy sets).
    `pad`: the padding token of left-padded sequences (-1: none padded); `epochs`: the epochs
    the script trains (a stopped run's: the ones it finished); `exact_reason`: why the numbers
    can only be close ("" where a PyTorch script can repeat them exactly).
    """

    run_id: str
    config: RunConfig
    kind: str
    input_shape: tuple[int, ...]
    n_classes: int
    class_names: tuple[str, ...]
    n_train: int
    n_test: int
    epochs: int
    status: str
    device: str
    test_accuracy: float | None
    arrays: dict[str, np.ndarray] | None
    vocab_size: int = 0
    pad: int = -1
    exact_reason: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def data_name(self) -> str:
        """The file the script loads its data from, beside it ("" when it makes its own)."""
        return f"{self.run_id}_data.npz" if self.arrays is not None else ""

    @property
    def padded(self) -> bool:
        return self.pad >= 0

    def data_bytes(self) -> bytes | None:
        """The .npz the script loads (compressed), or None."""
        if self.arrays is None:
            return None
        buf = io.BytesIO()
        np.savez_compressed(buf, **self.arrays)  # type: ignore[arg-type]
        return buf.getvalue()


def load_plan(root: str | os.PathLike[str] | None, run_id: str) -> Plan:
    """The plan of a stored run. Raises CodeError saying why it cannot be written as code."""
    from dlviz import runs

    try:
        run = runs.load_run(root, run_id)
    except runs.RunStoreError as e:
        raise CodeError(str(e)) from e
    try:
        config = RunConfig.from_dict(run.config)
    except ConfigError as e:
        raise CodeError(f"run {run_id}'s config cannot be read: {e}") from e
    summary = dict(run.summary)
    if "device" not in summary and run.row.get("device"):  # a run that did not finish
        summary["device"] = run.row["device"]
    return make_plan(run_id, config, summary, str(run.row.get("status") or ""))


def refusal(config: RunConfig) -> str:
    """Why a run of `config` cannot be written as a script, or "" when it can."""
    data, model = config.data, config.model
    if model.is_generative:
        return (
            f"it is a generative model ({model.arch}): it learns a distribution, with its own "
            "training step of several losses (and for a GAN two networks), not one network's "
            "classification; code export covers the classifiers of the Playground, the Image "
            "lab and the Sequence lab"
        )
    if config.transfer.active:
        return (
            f"it starts from a pretrained backbone ({config.transfer.backbone}), whose weights "
            "a standalone script cannot rebuild"
        )
    if model.arch == "zoo":
        return f"its network is an ImageNet model of a library ({model.zoo}), not plain code"
    if data.is_sound:
        return (
            "it learns sounds: its network's front end (spectrograms, MFCCs) is dlviz's own "
            "code, too long for a short script"
        )
    if data.name == "upload":
        return (
            "it trained on uploaded pictures, which live only in the browser session that "
            "uploaded them: save them as a ZIP and train on that"
        )
    if model.arch not in CLASSIFIER_ARCHS:
        return f"its network ({model.arch}) has no code export"
    if data.task == "tokens":
        return (
            f"{data.name} predicts a token at each position; code export covers the tasks of "
            "one class a sequence (parity, temporal_order, recall, sentiment, own labels)"
        )
    if data.task == "forecast":
        return (
            f"{data.name} is a forecast: it has no test accuracy to print; code export covers "
            "classification"
        )
    return ""


def make_plan(run_id: str, config: RunConfig, summary: dict[str, Any], status: str) -> Plan:
    """The plan of `config` (as stored with run `run_id`), its data loaded as the run loads it."""
    why = refusal(config)
    if why:
        raise CodeError(f"run {run_id} cannot be written as code: {why}.")
    from dlviz import jobs

    try:
        data = jobs.load_data(config)
    except (ValueError, RuntimeError, OSError) as e:
        raise CodeError(f"the data of run {run_id} cannot be loaded: {e}") from e
    summary = summary or {}
    notes: list[str] = []
    reasons: list[str] = []
    epochs = config.train.epochs
    done = summary.get("epochs")
    if status == "stopped" or config.train.until_stopped:
        if not isinstance(done, int) or done < 1:
            raise CodeError(
                f"run {run_id} was stopped before it finished an epoch: there is no training "
                "to write down"
            )
        epochs = done
        notes.append(
            f"The run was stopped after {done} epochs; the script trains those {done} epochs."
        )
        reasons.append(
            "the run was stopped, so its last measurement may have been of part of its test set"
        )
    elif status not in ("finished", ""):
        what = {"diverged": "diverged", "error": "ended with an error"}.get(status, f"is {status}")
        reasons.append(f"the run {what}, so it has no final numbers to repeat")
    device = str(summary.get("device") or "")
    if not device:
        reasons.append("the run's device is not recorded")
    elif not device.startswith("cpu"):
        reasons.append(
            f"the run trained on {device}: GPU kernels round differently, and the script "
            "trains on the CPU unless a GPU is there"
        )
    final = summary.get("final") if isinstance(summary.get("final"), dict) else {}
    accuracy = final.get("test_accuracy") if final else None
    seq = data.seq
    pad = seq.pad if seq is not None else -1  # as dlviz's models do: masks wherever it is set
    regenerate = data.kind == "points2d" and not config.data.per_class
    arrays = None
    if not regenerate:
        arrays = {
            "x_train": data.x_train.numpy(),
            "y_train": data.y_train.numpy(),
            "x_test": data.x_test.numpy(),
            "y_test": data.y_test.numpy(),
        }
    return Plan(
        run_id=run_id,
        config=config,
        kind=data.kind,
        input_shape=tuple(data.input_shape),
        n_classes=data.n_classes,
        class_names=tuple(data.class_names),
        n_train=len(data.x_train),
        n_test=len(data.x_test),
        epochs=epochs,
        status=status,
        device=device,
        test_accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
        arrays=arrays,
        vocab_size=seq.vocab_size if seq is not None else 0,
        pad=pad,
        exact_reason="; ".join(reasons),
        notes=notes,
    )


# --- the 2-D toy sets, regenerated in the script -----------------------------------------------
# Each is dlviz.data.toy2d's generator, restated for a script (tests/export check that they give
# the very arrays dlviz gives).

_TOY = {
    "circle": '''
def make_points(n, rng):
    """Class 1 inside radius 0.5, class 0 on a ring from 0.7 to 1.0."""
    n_in, n_out = n // 2, n - n // 2
    r = np.concatenate([rng.uniform(0.0, 0.5, n_in), rng.uniform(0.7, 1.0, n_out)])
    t = rng.uniform(0.0, 2 * np.pi, n)
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    return x, np.concatenate([np.ones(n_in), np.zeros(n_out)])
''',
    "xor": '''
def make_points(n, rng):
    """Four quadrants; class 1 where x1 * x2 > 0 (points keep a gap of 0.05 from the axes)."""
    n1, n0 = n // 2, n - n // 2
    mag = rng.uniform(0.05, 1.0, size=(n, 2))
    s1 = rng.choice([-1.0, 1.0], size=n1)  # class 1: signs (+,+) or (-,-)
    s0 = rng.choice([-1.0, 1.0], size=n0)  # class 0: (+,-) or (-,+)
    signs = np.concatenate([np.stack([s1, s1], 1), np.stack([s0, -s0], 1)])
    return mag * signs, np.concatenate([np.ones(n1), np.zeros(n0)])
''',
    "gauss": '''
def make_points(n, rng):
    """Two Gaussian blobs, at (0.45, 0.45) (class 1) and (-0.45, -0.45) (class 0)."""
    n1, n0 = n // 2, n - n // 2
    centres = np.concatenate([np.full((n1, 2), 0.45), np.full((n0, 2), -0.45)])
    x = centres + rng.normal(0.0, 0.18, size=(n, 2))
    return x, np.concatenate([np.ones(n1), np.zeros(n0)])
''',
    "spiral": '''
def make_points(n, rng):
    """Two interleaved spiral arms of 1.75 turns each, the second rotated by half a turn."""
    n1, n0 = n // 2, n - n // 2
    xs, ys = [], []
    for label, count, phase in ((1, n1, 0.0), (0, n0, np.pi)):
        i = np.arange(count)
        r = i / max(count, 1)
        t = 1.75 * i / max(count, 1) * 2 * np.pi + phase
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(count, label))
    return np.concatenate(xs), np.concatenate(ys).astype(float)
''',
    "moons": '''
def make_points(n, rng):
    """Two interleaving half circles (class 0 on top), scaled into [-1, 1]."""
    n0, n1 = n // 2, n - n // 2
    t0 = rng.uniform(0.0, np.pi, n0)
    t1 = rng.uniform(0.0, np.pi, n1)
    top = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    bottom = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = (np.concatenate([top, bottom]) - np.array([0.5, 0.25])) / 1.5
    return x, np.concatenate([np.zeros(n0), np.ones(n1)])
''',
}

TOY_NAMES = tuple(_TOY)

_TOY_COMMON = '''

def load_points(n, noise, seed):
    """The points (n, 2) float32 and labels (n,) int64, shuffled, from the seed."""
    rng = np.random.default_rng(seed)
    x, y = make_points(n, rng)
    x = x + rng.normal(0.0, noise * 0.5, size=x.shape)  # noise is in units of half the square
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order].astype(np.int64)


def split(x, y, test_fraction, seed):
    """A stratified split: each class keeps the same share in train and test."""
    rng = np.random.default_rng(seed + 1_000_003)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test[idx[: int(round(len(idx) * test_fraction))]] = True
    return x[~test], y[~test], x[test], y[test]
'''


def toy_source(name: str) -> str:
    """Python source defining `make_points(n, rng)`, `load_points(n, noise, seed)`
    and `split(x, y, test_fraction, seed)` for the 2-D set `name`, as dlviz makes it."""
    if name not in _TOY:
        raise CodeError(f"no generator for the 2-D set {name!r}")
    return _TOY[name].strip("\n") + "\n" + _TOY_COMMON


# --- small helpers for the writers -------------------------------------------------------------


def section(title: str, width: int = 96) -> str:
    """A section's heading line: ``# --- title ------``."""
    return f"# --- {title} ".ljust(width, "-")


def comment(text: str, indent: str = "", width: int = 96) -> str:
    """`text` as # comment lines of at most `width` characters."""
    prefix = indent + "# "
    return "\n".join(textwrap.wrap(text, width, initial_indent=prefix, subsequent_indent=prefix))


def tidy(script: str, width: int = 100) -> str:
    """`script` with every line at most `width` long where a comment made it longer: a trailing
    comment moves to its own lines above the code, a long comment line is wrapped. (Code
    lines themselves are written short enough.)"""
    out: list[str] = []
    for line in script.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        code, sep, note = line.partition("  # ")
        if line.lstrip().startswith("# "):
            out.append(comment(line.lstrip()[2:], indent, width))
        elif sep and code.strip():
            out.append(comment(note, indent, width))
            out.append(code.rstrip())
        else:
            out.append(line)
    return "\n".join(out)


def num(value: float) -> str:
    """A number as a script writes it: 0.01, 0.9, 1e-05, 3."""
    return repr(float(value)) if not float(value).is_integer() else repr(int(value))


def describe_data(plan: Plan) -> str:
    """A phrase: what the run learns from."""
    d = plan.config.data
    if plan.kind == "points2d":
        return f"the 2-D {d.name} points ({d.n_samples} of them, noise {num(d.noise)})"
    if plan.kind == "image":
        c, h, w = plan.input_shape
        return f"{d.name} ({plan.n_train + plan.n_test} images of {c}x{h}x{w})"
    return (
        f"{d.name} ({plan.n_train + plan.n_test} sequences of {plan.input_shape[0]} tokens, "
        f"{plan.n_classes} classes)"
    )


def describe_training(plan: Plan) -> str:
    t = plan.config.train
    parts = [f"{t.optimizer}, learning rate {num(t.lr)}, batches of {t.batch_size}"]
    parts.append(f"{plan.epochs} epochs")
    if t.weight_decay:
        parts.append(f"weight decay {num(t.weight_decay)}")
    if t.clip:
        parts.append(f"gradients clipped to norm {num(t.clip)}")
    return ", ".join(parts)


def settings_lines(plan: Plan, seed_note: str = "", clip_over: str = "parameters") -> list[str]:
    """The opening of a script's settings section: seed, learning rate, batch size, epochs,
    and the weight decay and clipping where the run had them."""
    t = plan.config.train
    lines = [
        section("the run's settings"),
        f"SEED = {t.seed}" + (f"  # {seed_note}" if seed_note else ""),
        f"LR = {num(t.lr)}",
        f"BATCH_SIZE = {t.batch_size}",
        f"EPOCHS = {plan.epochs}",
    ]
    if t.weight_decay:
        lines.append(f"WEIGHT_DECAY = {num(t.weight_decay)}")
    if t.clip:
        lines.append(f"CLIP = {num(t.clip)}  # the gradient's norm, over all {clip_over}, at most")
    return lines
