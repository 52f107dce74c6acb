"""A trained network as ONNX, checked in onnxruntime against PyTorch.

`to_onnx(model, example)` exports, `check(onnx_bytes, model, inputs)` runs the file in
onnxruntime (CPUExecutionProvider) beside the PyTorch model in eval mode, and
`run_to_onnx(root, run_id)` does both for a stored run: its trained weights, up to 256 of its
test inputs (regenerated from its config), and a report of what was checked.

The exporter: ``torch.onnx.export(..., dynamo=True)`` (torch.export's graph, translated by
onnxscript's torch library). On torch 2.13 it exports every family dlviz has, the sound CNN's
STFT front end included, which the TorchScript exporter (``dynamo=False``, deprecated) refuses
("STFT does not currently support complex types"); and a Python branch on a tensor's values is
an error it names, where tracing would silently keep the branch the example took.

Two of our models are changed for the export only, each checked against the unchanged model:

- sequence models find each row's left padding with ``cumprod``, which ONNX does not have: while
  exporting, `_real_positions` finds the first real token with ``argmax`` instead (the same
  positions);
- recurrent models pack padded rows (``pack_padded_sequence``) and skip packing when a batch
  has no padding (a branch on the data): exported, each padded row's real tokens are moved to
  the front, run through torch's fused layer, moved back, and the padding's states zeroed,
  which gives the packed path's states exactly.

Generative models take their own steps, so what is exported is the part that maps an input to
an output: a GAN's generator (z -> sample), a VAE's decoder (z -> sample), a flow's sampler (its
Euler steps from noise to a sample). A diffusion model's sampler draws fresh noise at every
step, so no network maps one input to its sample: it is refused, saying so.

The core: onnx, onnxruntime and onnxscript are imported where they are used.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from dlviz.models import generative
from dlviz.models.sequence import RecurrentLayer, RecurrentNet, SequenceNet

# Opset 18: the lowest that holds every op our models need as one ONNX op (STFT and
# LayerNormalization came in 17, the reductions taking their axes as an input in 18), and the
# one onnxscript's torch library is written against, so nothing is converted between opsets.
# onnxruntime runs it from 1.14 on, as do most other runtimes.
OPSET = 18
EXPORTER = "torch.onnx.export(dynamo=True)"
MAX_CHECK_INPUTS = 256
ATOL = 1e-4
PIP = "pip install onnx onnxruntime onnxscript"
SOURCES = {  # where the inputs an export is checked on came from, in a few words
    "test": "the run's test inputs",
    "random": "random inputs of the right shape: the run's data cannot be regenerated",
    "noise": "latent noise from N(0, 1)",
}


class ExportError(Exception):
    """A model or a run cannot be exported; the message says why and what to do."""


def _need(module: str) -> Any:
    """Import an optional package, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ExportError(
            f"{module} is not installed: `{PIP}` (dlviz's ONNX export needs them)"
        ) from e


# --- what is exported of each model ---------------------------------------------------------


@dataclass
class _View:
    """What the exporter traces (`module`), what onnxruntime is compared with (`reference`:
    the model itself where it has a forward of its own), and a note for the person."""

    module: nn.Module
    reference: nn.Module
    note: str = ""


class _Generator(nn.Module):
    """A GAN's generator: z (B, latent), for a conditional GAN followed by the class's one-hot
    (B, n_classes), -> a sample (B, dim)."""

    def __init__(self, gan: generative.GAN):
        super().__init__()
        self.gan = gan

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.gan.net_g(z)
        return torch.sigmoid(out) if self.gan.output == "sigmoid" else out


class _Decoder(nn.Module):
    """A VAE's decoder: z (B, latent) -> a sample (B, dim)."""

    def __init__(self, vae: generative.VAE):
        super().__init__()
        self.vae = vae

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z)


class _FlowSampler(nn.Module):
    """A flow's sampler: noise x0 (B, dim) -> a sample (B, dim) by its Euler steps."""

    def __init__(self, flow: generative.Flow):
        super().__init__()
        self.flow = flow

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        return self.flow.integrate(x0)[0]


def _real_positions(net: SequenceNet, x: torch.Tensor) -> torch.Tensor | None:
    """`SequenceNet.real` without cumprod: (B, T) True from each row's first real token on
    (the last position always counts), or None for a task without padding."""
    if net.pad < 0:
        return None
    tokens = x if x.dim() == 2 else x[..., 0]
    real = torch.ne(tokens, net.pad)
    real = torch.cat([real[:, :-1], torch.ones_like(real[:, -1:])], dim=1)
    first = real.to(torch.int32).argmax(dim=1)  # (B,) the first True: leading pads
    return torch.arange(tokens.size(1), device=x.device)[None] >= first[:, None]


def _shifted(layer: RecurrentLayer, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """A recurrent layer over left-padded rows x (B, T, I) as its packed path computes it: real
    tokens moved to the front, the fused layer, moved back; zeros at the padding."""
    B, T, width_in = x.shape
    n_pad = T - real.sum(dim=1)  # (B,)
    t = torch.arange(T, device=x.device)
    ahead = (t[None] + n_pad[:, None]) % T  # (B, T)
    out = layer.rnn(x.gather(1, ahead[..., None].expand(B, T, width_in)))[0]
    back = (t[None] - n_pad[:, None]) % T
    out = out.gather(1, back[..., None].expand(B, T, out.size(2)))
    return out * real[..., None].to(out.dtype)


class _Recurrent(nn.Module):
    """`RecurrentNet.forward` in eval mode, without packing or a branch on the data."""

    def __init__(self, net: RecurrentNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        net = self.net
        real = _real_positions(net, x)
        h = net.embed(x)  # (B, T, H)
        for layer in cast("list[RecurrentLayer]", net.layers):  # no dropout: eval mode
            h = layer.rnn(h)[0] if real is None else _shifted(layer, h, real)
        return net.read_out(h, real, pool="last")


def _view(model: nn.Module) -> _View:
    if isinstance(model, generative.Diffusion):
        raise ExportError(
            f"a diffusion model makes a sample in {model.steps} denoising steps, each adding "
            "fresh random noise, so no single network maps an input to its sample; its noise "
            "network alone (a noisy sample and a step in, the noise out) is not a sampler. "
            "Export a GAN's generator, a VAE's decoder or a flow's sampler instead"
        )
    if isinstance(model, generative.GAN):
        z = f"z ({model.latent} values from N(0, 1))"
        if model.conditional:
            z += f" followed by the class as a one-hot of {model.n_classes}"
        gan = _Generator(model)
        return _View(gan, gan, f"the GAN's generator: {z} -> a sample of {model.dim} values")
    if isinstance(model, generative.VAE):
        vae = _Decoder(model)
        return _View(
            vae,
            vae,
            f"the VAE's decoder: z ({model.latent} values from N(0, 1)) -> a sample of "
            f"{model.dim} values",
        )
    if isinstance(model, generative.Flow):
        flow = _FlowSampler(model)
        return _View(
            flow,
            flow,
            f"the flow's sampler: noise ({model.dim} values from N(0, 1)) -> a sample, by "
            f"{model.steps} Euler steps of its velocity network",
        )
    if isinstance(model, generative.Generative):
        raise ExportError(
            f"a {type(model).__name__} takes its own training steps and has no forward pass "
            "to export"
        )
    if isinstance(model, RecurrentNet):
        return _View(_Recurrent(model), model)
    return _View(model, model)


@contextlib.contextmanager
def _exportable(model: nn.Module) -> Iterator[None]:
    """While exporting: eval mode, sequence models' padding found without cumprod, and the
    exporter's chatter (its warnings, torchvision's missing ops) kept quiet. All restored."""
    was_training = model.training
    nets = [m for m in model.modules() if isinstance(m, SequenceNet)]
    registry = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registry.level
    model.eval()
    for net in nets:  # an instance attribute: shadows the method, deleted after
        net.__dict__["real"] = lambda x, net=net: _real_positions(net, x)
    registry.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        registry.setLevel(level)
        for net in nets:
            net.__dict__.pop("real", None)
        model.train(was_training)


def _reason(e: BaseException) -> str:
    """The line of an exporter error that says what went wrong (its messages are pages)."""
    text = str(e)
    lines = [line.strip() for line in text.splitlines()]
    if "## Exception summary" in lines:
        rest = [line for line in lines[lines.index("## Exception summary") + 1 :] if line]
        if rest:
            text = rest[0]
    elif e.__cause__ is not None:
        text = str(e.__cause__)
    text = " ".join(text.split())
    if text.startswith("<class '"):  # "<class 'torch...Error'>: message" -> "Error: message"
        name, _, message = text.partition(">: ")
        text = f"{name.split('.')[-1].rstrip(chr(39))}: {message}"
    return text[:400] + ("..." if len(text) > 400 else "")


def to_onnx(
    model: nn.Module,
    example: torch.Tensor,
    *,
    input_name: str = "input",
    output_name: str = "output",
) -> bytes:
    """`model` (in eval mode) as an ONNX model of opset OPSET: one input `input_name` shaped
    like `example` with a dynamic first (batch) dimension, one output `output_name`. Generative
    models export their sampler's network (see the module's docstring). ExportError says why a
    model cannot be exported."""
    _need("onnxscript")  # the exporter's translator
    onnx = _need("onnx")
    if "dynamo" not in inspect.signature(torch.onnx.export).parameters:  # torch < 2.5
        raise ExportError(
            f"torch {torch.__version__} has no dynamo ONNX exporter: upgrade torch to 2.5 or newer"
        )
    view = _view(model)
    if example.dim() == 0:
        raise ExportError("the example input needs a batch dimension first")
    example = example.detach()
    while len(example) < 2:  # torch.export treats a batch of 1 as a constant: trace 2 rows
        example = torch.cat([example, example])
    example = example[:2].to(_device(model))
    batch = torch.export.Dim("batch", min=1)
    try:
        with _exportable(model), torch.no_grad():
            program = torch.onnx.export(
                view.module,
                (example,),
                dynamo=True,
                dynamic_shapes=({0: batch},),
                input_names=[input_name],
                output_names=[output_name],
                opset_version=OPSET,
                verbose=False,
            )
    except Exception as e:  # the exporter raises many kinds; each is a reason to give
        raise ExportError(
            f"PyTorch's ONNX exporter cannot convert this {type(model).__name__}: {_reason(e)}"
        ) from e
    if program is None:
        raise ExportError("PyTorch's ONNX exporter returned no model")
    proto = program.model_proto
    try:
        onnx.checker.check_model(proto)
    except Exception as e:  # onnx's ValidationError and friends
        raise ExportError(f"the exported model is not valid ONNX: {_reason(e)}") from e
    return proto.SerializeToString()


def _device(model: nn.Module) -> torch.device:
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")


def _batches(n: int) -> list[tuple[int, int]]:
    """Row ranges run through onnxruntime: all `n` at once, then 1 and 3 rows (the batch is
    dynamic: sizes other than the traced example's must work)."""
    out = [(0, n)]
    if n > 1:
        out.append((0, 1))
    if n > 4:
        out.append((1, 4))
    return out


def check(
    onnx_bytes: bytes, model: nn.Module, inputs: torch.Tensor, atol: float = ATOL
) -> dict[str, Any]:
    """Run `onnx_bytes` in onnxruntime (CPU) and `model` in eval mode (its training mode is
    restored) on `inputs`, whole and in batches of other sizes: ``{"inputs": n,
    "max_abs_diff", "ok": max_abs_diff <= atol, "batch_sizes", "atol", "output_shape"}``."""
    ort = _need("onnxruntime")
    if len(inputs) == 0:
        raise ExportError("no inputs to check the exported model on")
    reference = _view(model).reference
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    try:
        session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own error types
        raise ExportError(f"onnxruntime cannot load the exported model: {_reason(e)}") from e
    name = session.get_inputs()[0].name
    device = _device(model)
    worst, sizes = 0.0, []
    shape: list[int] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for lo, hi in _batches(len(inputs)):
                x = inputs[lo:hi]
                try:
                    got = session.run(None, {name: x.detach().cpu().numpy()})[0]
                except Exception as e:  # onnxruntime's own error types
                    raise ExportError(
                        f"onnxruntime cannot run the exported model on a batch of {hi - lo}: "
                        f"{_reason(e)}"
                    ) from e
                want = reference(x.to(device)).float().cpu().numpy()
                if got.shape != want.shape:
                    raise ExportError(
                        f"onnxruntime gives an output of shape {list(got.shape)} where PyTorch "
                        f"gives {list(want.shape)}"
                    )
                worst = max(worst, _max_diff(got, want))
                sizes.append(hi - lo)
                shape = list(want.shape[1:])
    finally:
        model.train(was_training)
    return {
        "inputs": len(inputs),
        "max_abs_diff": worst,
        "ok": worst <= atol,
        "batch_sizes": sizes,
        "atol": atol,
        "output_shape": shape,
    }


def _max_diff(got: np.ndarray, want: np.ndarray) -> float:
    """The largest |got - want|; NaN on both sides agrees, NaN on one side is inf."""
    got, want = got.astype(np.float64), want.astype(np.float64)
    both = np.isnan(got) & np.isnan(want)
    diff = np.where(both, 0.0, np.abs(got - want))
    diff = np.where(np.isnan(diff), math.inf, diff)
    return float(diff.max()) if diff.size else 0.0


# --- a stored run -----------------------------------------------------------------------------


def run_to_onnx(root: str | os.PathLike[str] | None, run_id: str) -> tuple[bytes, dict[str, Any]]:
    """A stored run's trained network as ONNX, checked in onnxruntime against PyTorch on up
    to MAX_CHECK_INPUTS of its test inputs (its data regenerated from its config; where that
    cannot be done, a person's uploads or files that are gone, seeded random inputs of the
    right shape, and the report says so). Returns the bytes and the report: ``run_id``,
    ``arch``, ``model``, ``opset``, ``exporter``, ``input_name``, ``input_shape``,
    ``input_dtype``, ``output_name``, ``output_shape`` (``"batch"`` first), ``inputs``,
    ``inputs_from`` (``test``, ``random`` or ``noise``), ``source`` (that in a few words),
    ``inputs_note`` (that in a sentence), ``max_abs_diff``,
    ``atol``, ``ok``, ``batch_sizes``, ``bytes`` and ``note`` (what a generative run's file
    is). RunStoreError: no such run; ExportError: anything else that stops it."""
    from dlviz import jobs, runs
    from dlviz.config import ConfigError, RunConfig
    from dlviz.trained import trained_model

    run = runs.load_run(root, run_id)
    status = run.row["status"]
    if not run.has_weights:
        raise ExportError(
            f"run {run_id} is {status}: it did not finish, so it has no trained weights to "
            "export; train it again (or let it end) and export that run"
        )
    if status == "diverged":
        raise ExportError(
            f"run {run_id} diverged (its loss became NaN or infinite): its weights are not "
            "worth exporting; train it again with a lower learning rate"
        )
    try:
        config = RunConfig.from_dict(run.config)
    except ConfigError as e:
        raise ExportError(f"run {run_id}'s config cannot be read: {e}") from e
    why_random = ""
    try:
        data = jobs.load_data(config)
    except (ValueError, RuntimeError, OSError) as e:  # uploads, files that are gone
        why_random = str(e)
        data = _stand_in(config, runs.run_folder(root, run_id) / runs.WEIGHTS, why_random)
    try:
        model, data = trained_model(root, run_id, config, data)
    except runs.RunStoreError as e:
        raise ExportError(str(e)) from e
    except ValueError as e:  # a zoo model whose library is missing, a shape that cannot be
        raise ExportError(f"run {run_id}'s network cannot be built: {e}") from e
    model.to("cpu")
    inputs, source, note = _inputs(model, data, why_random)
    onnx_bytes = to_onnx(model, inputs[:2])
    result = check(onnx_bytes, model, inputs)
    report = {
        "run_id": run_id,
        "arch": config.model.arch,
        "model": type(model).__name__,
        "opset": OPSET,
        "exporter": EXPORTER,
        "input_name": "input",
        "input_shape": ["batch", *inputs.shape[1:]],
        "input_dtype": str(inputs.dtype).removeprefix("torch."),
        "output_name": "output",
        "output_shape": ["batch", *result["output_shape"]],
        "inputs": result["inputs"],
        "inputs_from": source,
        "source": SOURCES[source],
        "inputs_note": note,
        "max_abs_diff": result["max_abs_diff"],
        "atol": result["atol"],
        "ok": result["ok"],
        "batch_sizes": result["batch_sizes"],
        "bytes": len(onnx_bytes),
        "note": _view(model).note,
    }
    return onnx_bytes, report


def _inputs(model: nn.Module, data: Any, why_random: str) -> tuple[torch.Tensor, str, str]:
    """Up to MAX_CHECK_INPUTS inputs to check the export on, where they came from (``test``,
    ``random``, ``noise``), and that said in words."""
    n = MAX_CHECK_INPUTS
    gen = torch.Generator().manual_seed(0)
    if isinstance(model, (generative.GAN, generative.VAE)):
        z = torch.randn(n, model.latent, generator=gen)
        if isinstance(model, generative.GAN) and model.conditional:
            classes = torch.randint(0, model.n_classes, (n,), generator=gen)
            z = torch.cat([z, nn.functional.one_hot(classes, model.n_classes).float()], dim=1)
        return z, "noise", "latent noise z from N(0, 1), seed 0: what the generator reads"
    if isinstance(model, generative.Flow):
        x0 = torch.randn(n, model.dim, generator=gen)
        return x0, "noise", "noise from N(0, 1), seed 0: what the sampler starts from"
    if not why_random:
        x = data.x_test if len(data.x_test) else data.x_train
        return x[:n], "test", "the run's test set, regenerated from its config"
    shape = tuple(data.input_shape)
    if data.x_train.dtype.is_floating_point:
        x = torch.randn(n, *shape, generator=gen)
        what = "values from N(0, 1)"
    else:  # token ids
        vocab = len(data.seq.vocab) if data.seq is not None else 2
        x = torch.randint(0, vocab, (n, *shape), generator=gen)
        what = f"token ids drawn uniformly from the {vocab} of its vocabulary"
    return (
        x,
        "random",
        f"random inputs of the right shape ({what}, seed 0): the run's data cannot be "
        f"regenerated ({why_random})",
    )


def _stand_in(config: Any, weights: os.PathLike[str], why: str) -> Any:
    """A Dataset standing in for data that cannot be regenerated: no samples worth the name,
    but the shape, the outputs and the sequence or sound settings the network was built with,
    read from the config and the shapes of the trained weights."""
    from dataclasses import replace

    from safetensors import safe_open

    from dlviz.data.base import SAMPLE_RATE, AudioInfo, Dataset, SequenceInfo

    with safe_open(os.fspath(weights), "pt") as f:
        shapes = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}
    d, m = config.data, config.model
    rows = shapes.get("out.weight") or shapes.get("head.weight") or [2]
    n_out = int(rows[0])
    seq = audio = None
    dtype = torch.float32
    if m.is_generative:
        shape: tuple[int, ...] = (2,) if not d.is_image else (d.channels, d.size, d.size)
        kind = "points2d" if not d.is_image else "image"
    elif d.is_image:
        shape, kind = (d.channels, d.size, d.size), "image"
    elif d.is_sound:
        audio = AudioInfo(d.features, d.window, d.hop, d.mels, SAMPLE_RATE)
        shape, kind = (1, max(1, round(d.seconds * SAMPLE_RATE))), "audio"
    elif d.is_sequence and d.task == "forecast":
        seq = SequenceInfo(task="forecast", horizon=d.seq_horizon)
        shape, kind, n_out = (d.seq_length, 1), "series", d.seq_horizon
    elif d.is_sequence and "embed.weight" in shapes:
        vocab = tuple(str(i) for i in range(shapes["embed.weight"][0]))
        length = d.seq_length or (shapes.get("pos.weight") or [32])[0]
        if d.task == "class":
            seq = SequenceInfo(task="class", vocab=vocab, pad=0)
        else:
            seq = SequenceInfo(task="tokens", vocab=vocab, causal=True)
        shape, kind, dtype = (length,), "tokens", torch.int64
    else:
        raise ExportError(f"run's data cannot be regenerated ({why}), nor its shape told")
    x = torch.zeros(2, *shape, dtype=dtype)
    y = torch.zeros(2, dtype=torch.int64)
    data = Dataset(
        name=d.name,
        kind=kind,
        x_train=x,
        y_train=y,
        x_test=x,
        y_test=y,
        class_names=tuple(f"class {i}" for i in range(n_out)),
        seq=seq,
        audio=audio,
    )
    return replace(data, generative=True) if m.is_generative else data
