"""A run as one standalone PyTorch script (`torch_script`): the run's data, its network built
with the same seed in the same order (so the same initial weights), its training loop with the
same optimizer, batch order, dropout masks and augmentations, and its test accuracy printed as
the last line, ``{"test_accuracy": ...}``. It imports numpy and torch only.

Every model is written as dlviz's own modules compute it, operation for operation, so that on
a CPU the script repeats the run's numbers exactly (tests/export check it).
"""

from __future__ import annotations

import textwrap
from string import Template

from dlviz.config import ConvBlock
from dlviz.export.code_plan import (
    Plan,
    comment,
    describe_data,
    describe_training,
    num,
    section,
    settings_lines,
    tidy,
    toy_source,
)

ACTIVATION = {
    "relu": "nn.ReLU()",
    "tanh": "nn.Tanh()",
    "sigmoid": "nn.Sigmoid()",
    "gelu": "nn.GELU()",
}
RNN_MODULE = {
    "rnn": 'nn.RNN(WIDTH, WIDTH, nonlinearity="tanh", batch_first=True)',
    "lstm": "nn.LSTM(WIDTH, WIDTH, batch_first=True)",
    "gru": "nn.GRU(WIDTH, WIDTH, batch_first=True)",
}
EVAL_ROWS = 256


def block(text: str, **values: object) -> str:
    """A dedented piece of script, $NAMEs filled in."""
    text = textwrap.dedent(text).strip("\n")
    return Template(text).substitute({k: str(v) for k, v in values.items()}) if values else text


def describe_model(plan: Plan) -> str:
    """A phrase: the network."""
    m = plan.config.model
    if m.arch == "mlp":
        widths = ", ".join(str(w) for w in m.hidden)
        extras = [m.activation]
        if m.norm != "none":
            extras.append(f"{m.norm} norm")
        if m.residual:
            extras.append("residual")
        if m.dropout:
            extras.append(f"dropout {num(m.dropout)}")
        return f"an MLP of {len(m.hidden)} hidden layers ({widths}; {', '.join(extras)})"
    if m.arch == "cnn":
        pools = sum(b.pool != "none" for b in m.blocks)
        chans = sorted({b.channels for b in m.blocks})
        span = f"{chans[0]}" if len(chans) == 1 else f"{chans[0]}-{chans[-1]}"
        head = "global average pooling" if m.head_pool == "avg" else "flattening"
        return (
            f"a CNN of {len(m.blocks)} convolutional blocks ({span} channels, {m.norm} norm, "
            f"{pools} poolings) and {head}"
        )
    if m.arch in ("rnn", "lstm", "gru"):
        return f"an {m.arch.upper()} of {m.layers} layer{'s' * (m.layers > 1)} of {m.hidden_size}"
    if m.arch == "transformer":
        return (
            f"a transformer of {m.layers} block{'s' * (m.layers > 1)} of width {m.hidden_size} "
            f"with {m.heads} heads ({m.positions} positions)"
        )
    if m.arch == "cnn1d":
        return f"a 1-D CNN of {m.layers} dilated layers of {m.hidden_size} (kernel {m.kernel})"
    return f"a bag of words (embedding {m.hidden_size}, mean, one hidden layer)"


# --- the script, part by part ------------------------------------------------------------------


def torch_script(plan: Plan) -> tuple[str, bool, list[str]]:
    """The PyTorch script of `plan`: (text, exact, notes)."""
    exact = not plan.exact_reason
    notes = list(plan.notes)
    acc = f"{plan.test_accuracy:.4f}" if plan.test_accuracy is not None else "not recorded"
    if exact:
        notes.insert(
            0,
            "Exact: on a CPU with the same PyTorch version and as many CPU threads as the run "
            "had, the script builds the same initial weights and trains on the same batches in "
            f"the same order{_also(plan)}, so it ends with the run's test accuracy ({acc}).",
        )
    else:
        notes.insert(
            0,
            "Close, not exact: the script trains the same network the same way, but "
            f"{plan.exact_reason}; expect a test accuracy near the run's ({acc}).",
        )
    if plan.arrays is None:
        notes.append("The data is made in the script, exactly as dlviz makes it.")
    else:
        notes.append(
            f"The data is loaded from {plan.data_name}, beside the script: the very arrays "
            "the run trained on."
        )
    helpers = _helpers(plan)
    if helpers:
        helpers[0] = section("the network's parts") + "\n" + helpers[0]
    parts = [
        _header(plan, exact),
        _imports(plan),
        _settings(plan),
        _data(plan),
        *helpers,
        _model(plan),
        _training(plan),
        _evaluation(plan),
    ]
    # one blank line after the docstring and after the imports, two between the sections
    text = parts[0] + "\n\n" + parts[1] + "\n\n" + "\n\n\n".join(p for p in parts[2:] if p)
    text += "\n"
    return tidy(text), exact, notes


def _header(plan: Plan, exact: bool) -> str:
    acc = f"{plan.test_accuracy:.4f}" if plan.test_accuracy is not None else "(not recorded)"
    if exact:
        repeat = (
            "Exact: on a CPU with the same PyTorch version and as many CPU threads as the run "
            "had, this script builds the same initial weights, trains on the same batches in the "
            f"same order{_also(plan)} and ends with the run's test accuracy, {acc}."
        )
    else:
        repeat = (
            f"Close, not exact: {plan.exact_reason}. Expect a test accuracy near the run's, {acc}."
        )
    lines = [
        f"dlviz run {plan.run_id} as a plain PyTorch script.",
        "",
        f"{describe_model(plan)[0].upper()}{describe_model(plan)[1:]} learns "
        f"{describe_data(plan)}: {describe_training(plan)}.",
        "",
        repeat,
        "",
        "Run it with `python "
        + f"{plan.run_id}_pytorch.py`"
        + " (it needs numpy and torch"
        + (f", and {plan.data_name} beside it" if plan.data_name else "")
        + "). Its last line is the test accuracy as JSON.",
    ]
    wrapped = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, 96) or [""])
    return '"""' + "\n".join(wrapped) + '\n"""'


def _also(plan: Plan) -> str:
    """The phrase ", with the same dropout masks and augmentations", as far as the run has
    them."""
    same = []
    if _uses_dropout(plan):
        same.append("dropout masks")
    if plan.kind == "image" and plan.config.train.augment.active:
        same.append("augmentations")
    return f", with the same {' and '.join(same)}" if same else ""


def _imports(plan: Plan) -> str:
    lines = ["import json"]
    if _needs_math(plan):
        lines.append("import math")
    if plan.data_name:
        lines.append("from pathlib import Path")
    lines += ["", "import numpy as np", "import torch", "import torch.nn.functional as F"]
    lines.append("from torch import nn")
    if plan.config.model.arch in ("rnn", "lstm", "gru") and plan.padded:
        lines.append("from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence")
    return "\n".join(lines)


def _needs_math(plan: Plan) -> bool:
    aug = plan.config.train.augment
    return plan.config.model.arch == "transformer" or (plan.kind == "image" and aug.rotate > 0)


def _settings(plan: Plan) -> str:
    m = plan.config.model
    lines = settings_lines(
        plan,
        "the initial weights, the batch order, dropout and augmentation",
        clip_over="parameters",
    )
    if plan.device.startswith("cpu"):
        lines.append('DEVICE = "cpu"  # the run trained on the CPU: so does this script')
        lines.append(
            comment(
                "torch splits big sums among its CPU threads, and another split rounds the last "
                "digits differently: for the run's very numbers, give torch as many threads as "
                "the run had (the dashboard gives it half the cores, `dlviz train` all of them), "
                "e.g. torch.set_num_threads(1)."
            )
        )
    else:
        lines.append(
            'DEVICE = "cuda" if torch.cuda.is_available() else "cpu"'
            f"  # the run trained on {plan.device or 'a device not recorded'}"
        )
    if plan.kind == "tokens":
        lines += [
            f"VOCAB = {plan.vocab_size}  # token ids 0..{plan.vocab_size - 1}",
            f"WIDTH = {m.hidden_size}",
            f"CLASSES = {plan.n_classes}  # {', '.join(plan.class_names[:8])}"
            + (", ..." if plan.n_classes > 8 else ""),
        ]
        if m.arch != "bow":
            lines.append(f"LAYERS = {m.layers}")
        if m.arch == "transformer":
            lines.append(f"HEADS = {m.heads}")
            lines.append(f"LENGTH = {plan.input_shape[0]}  # tokens a sequence")
        if m.arch == "cnn1d":
            lines.append(f"KERNEL = {m.kernel}")
        if plan.padded:
            lines.append(f"PAD = {plan.pad}  # sequences are left-padded with this token id")
    return "\n".join(lines)


def _data(plan: Plan) -> str:
    d = plan.config.data
    if plan.arrays is None:
        head = (
            section("data")
            + "\n"
            + comment(
                f"The 2-D {d.name} set, made exactly as dlviz makes it (dlviz/data/toy2d.py)."
            )
        )
        make = block(
            """
            x, y = load_points($N, $NOISE, seed=$SEED)
            x_train, y_train, x_test, y_test = split(x, y, $FRACTION, seed=$SEED)
            x_train, y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
            x_test, y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
            """,
            N=d.n_samples,
            NOISE=num(d.noise),
            SEED=d.seed,
            FRACTION=num(d.test_fraction),
        )
        return f"{head}\n{toy_source(d.name).strip()}\n\n\n{make}\n" + _shapes_comment(plan)
    why = {
        "image": f"the {d.name} images as dlviz made them",
        "tokens": f"the {d.name} sequences as dlviz made them (token ids)",
        "points2d": f"the {d.name} points as dlviz made them",
    }[plan.kind]
    head = (
        section("data")
        + "\n"
        + comment(
            f"{why[0].upper()}{why[1:]}, loaded from the .npz beside this script: the exact arrays "
            "the run trained on (making them again would take many lines of dlviz's code)."
        )
    )
    load = block(
        """
        data = np.load(Path(__file__).with_name("$FILE"))
        x_train, y_train = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
        x_test, y_test = torch.from_numpy(data["x_test"]), torch.from_numpy(data["y_test"])
        """,
        FILE=plan.data_name,
    )
    return f"{head}\n{load}\n{_shapes_comment(plan)}"


def _shapes_comment(plan: Plan) -> str:
    size = "x".join(str(s) for s in plan.input_shape)
    each = {
        "points2d": "points, each (x1, x2), float32",
        "image": f"images, each {size} (channels, height, width) in [0, 1], float32",
        "tokens": f"sequences, each {size} token ids, int64",
    }[plan.kind]
    return (
        f"# x: {plan.n_train} training and {plan.n_test} test {each}\n"
        f"# y: their classes, 0..{plan.n_classes - 1}\n"
        "x_train, y_train = x_train.to(DEVICE), y_train.to(DEVICE)\n"
        "x_test, y_test = x_test.to(DEVICE), y_test.to(DEVICE)"
    )


# --- helper modules, only those the network uses ----------------------------------------------

DROPOUT = '''
# dlviz draws dropout masks from a generator of its own, seeded by the run (nn.Dropout would draw
# other masks from torch's global one): this Dropout does the same, so the run repeats exactly.
DROPOUT_GEN = torch.Generator(device=DEVICE).manual_seed(SEED + 1)


class Dropout(nn.Module):
    """nn.Dropout(p): in training, zero each value with chance p and scale the rest by 1/(1-p)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=DROPOUT_GEN)
        return x * keep / (1.0 - self.p)
'''

RESIDUAL = '''
class Residual(nn.Module):
    """layers(x) + shortcut(x): the shortcut (the identity, or a bias-free projection where the
    shape changes) gives the gradient a short path around the layers."""

    def __init__(self, layers, shortcut=None):
        super().__init__()
        self.layers = layers
        self.shortcut = shortcut if shortcut is not None else nn.Identity()

    def forward(self, x):
        return self.layers(x) + self.shortcut(x)
'''

GLOBAL_AVERAGE = """
class GlobalAveragePool(nn.Module):
    def forward(self, x):  # (B, C, H, W) -> (B, C): the mean of each feature map
        return x.mean(dim=(2, 3))
"""

REAL_POSITIONS = '''
def real_positions(x):
    """(B, T) True from each row's first real token on (rows are left-padded with PAD)."""
    T = x.size(1)
    leading = (x == PAD).long().cumprod(dim=1).sum(dim=1).clamp(max=T - 1)  # pads before it
    return torch.arange(T, device=x.device)[None] >= leading[:, None]


def masked_mean(h, real):
    """(B, T, H) -> (B, H): the mean over the real positions only."""
    w = real.to(h.dtype)[..., None]
    return (h * w).sum(dim=1) / w.sum(dim=1)
'''

SKIP_PADS = '''
def run_skipping_pads(rnn, x, real):
    """A recurrent layer over each row's real tokens only, so the state starts at zero at the
    first real token: move them to the front, pack, run, move the states back."""
    B, T, W = x.shape
    n_pad = T - real.sum(dim=1)  # (B,) leading pads
    t = torch.arange(T, device=x.device)
    ahead = (t[None] + n_pad[:, None]) % T
    xs = x.gather(1, ahead[..., None].expand(B, T, W))
    packed = pack_padded_sequence(xs, (T - n_pad).cpu(), batch_first=True, enforce_sorted=False)
    out, _ = pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=T)
    back = (t[None] - n_pad[:, None]) % T
    return out.gather(1, back[..., None].expand(B, T, out.size(2)))
'''

SINUSOIDAL = '''
def sinusoidal_table(length, width):
    """(length, width) fixed positions of "Attention is all you need": sin on even columns,
    cos on odd ones."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : width // 2]
    return table
'''


def _uses_dropout(plan: Plan) -> bool:
    m = plan.config.model
    if m.arch == "cnn":
        return any((b.dropout if b.dropout is not None else m.dropout) > 0 for b in m.blocks)
    return m.dropout > 0


def _uses_residual(plan: Plan) -> bool:
    m = plan.config.model
    if m.arch == "mlp":
        return m.residual and len(m.hidden) > 1
    if m.arch == "cnn":
        return any(_block_residual(m.blocks, i, m.residual) for i in range(len(m.blocks)))
    return False


def _block_residual(blocks: tuple[ConvBlock, ...], i: int, residual: bool) -> bool:
    spec = blocks[i]
    return spec.residual if spec.residual is not None else (residual and i > 0)


def _helpers(plan: Plan) -> list[str]:
    m = plan.config.model
    out = []
    if _uses_dropout(plan):
        out.append(DROPOUT.strip())
    if _uses_residual(plan):
        out.append(RESIDUAL.strip())
    if m.arch == "cnn" and m.head_pool == "avg":
        out.append(GLOBAL_AVERAGE.strip())
    if plan.kind == "image" and plan.config.train.augment.active:
        out.append(_augment(plan))
    if plan.padded:
        out.append(REAL_POSITIONS.strip())
        if m.arch in ("rnn", "lstm", "gru"):
            out.append(SKIP_PADS.strip())
    if m.arch == "transformer" and m.positions == "sinusoidal":
        out.append(SINUSOIDAL.strip())
    return out


def _augment(plan: Plan) -> str:
    a = plan.config.train.augment
    what = []
    if a.crop > 0:
        what.append(f"shifted by up to {num(a.crop)} of the side")
    if a.rotate > 0:
        what.append(f"rotated by up to {num(a.rotate)} degrees")
    if a.flip:
        what.append("mirrored left-right half of the time")
    if a.jitter > 0:
        what.append(f"brightness and contrast changed by up to {num(a.jitter)}")
    lines = [
        comment(
            "Augmentation (train.augment): every training image is "
            + ", ".join(what)
            + ", afresh each time it is used. dlviz's own seeded generator draws the changes, "
            "so they repeat too."
        ),
        "AUGMENT_GEN = torch.Generator().manual_seed(SEED + 3)",
        "",
        "",
        "def augment(x):  # (B, C, H, W) in [0, 1] -> the same, changed",
        "    b = len(x)",
        "",
        "    def uniform(*shape):  # in [-1, 1), drawn on the CPU",
        "        return (torch.rand(*shape, generator=AUGMENT_GEN) * 2 - 1).to(x.device)",
        "",
    ]
    if a.crop > 0 or a.rotate > 0:
        angle = f"math.radians({num(a.rotate)})" if a.rotate > 0 else "0.0  # no rotation"
        lines += [
            f"    angle = uniform(b) * {angle}",
            f"    shift = uniform(b, 2) * {num(a.crop)} * 2  # in grid units: the side is 2 long",
            "    cos, sin = torch.cos(angle), torch.sin(angle)",
            "    theta = torch.stack(  # (B, 2, 3): one affine map each",
            "        [torch.stack([cos, -sin, shift[:, 0]], 1), "
            "torch.stack([sin, cos, shift[:, 1]], 1)], 1",
            "    )",
            "    grid = F.affine_grid(theta, list(x.shape), align_corners=False)",
            '    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", '
            "align_corners=False)",
        ]
    if a.flip:
        lines += [
            "    flip = (torch.rand(b, generator=AUGMENT_GEN) < 0.5).to(x.device)",
            "    x = torch.where(flip[:, None, None, None], x.flip(-1), x)",
        ]
    if a.jitter > 0:
        lines += [
            f"    bright = 1 + uniform(b, 1, 1, 1) * {num(a.jitter)}",
            f"    contrast = 1 + uniform(b, 1, 1, 1) * {num(a.jitter)}",
            "    mean = x.mean(dim=(1, 2, 3), keepdim=True)",
            "    x = ((x - mean) * contrast + mean) * bright",
        ]
    lines.append("    return x.clamp(0, 1)")
    return "\n".join(lines)


# --- the network -------------------------------------------------------------------------------


def _model(plan: Plan) -> str:
    arch = plan.config.model.arch
    if arch == "mlp":
        body = _mlp(plan)
    elif arch == "cnn":
        body = _cnn(plan)
    else:
        body = _sequence(plan)
    # the seed right before the network is made: its layers draw their initial weights then
    seed = "torch.manual_seed(SEED)  # the seed dlviz built the network with: the same weights"
    body = (
        seed + "\n" + body
        if body.startswith("model = ")
        else body.replace("\nmodel = ", f"\n{seed}\nmodel = ", 1)
    )
    count = 'print(f"{sum(p.numel() for p in model.parameters()):,} parameters")'
    return f"{section('the network')}\n{body}\nprint(model)\n{count}"


def _mlp(plan: Plan) -> str:
    m = plan.config.model
    d_in = 1
    for s in plan.input_shape:
        d_in *= s
    act = ACTIVATION[m.activation]
    plain = m.norm == "none" and not m.dropout and not (m.residual and len(m.hidden) > 1)
    lines = []
    if not plain:
        norm = {"batch": "nn.BatchNorm1d(d_out)", "layer": "nn.LayerNorm(d_out)"}.get(m.norm)
        parts = ["nn.Linear(d_in, d_out)", *([norm] if norm else []), act]
        if m.dropout:
            parts.append(f"Dropout({num(m.dropout)})")
        kinds = ["linear", *([f"{m.norm} norm"] if norm else []), m.activation]
        kinds += ["dropout"] if m.dropout else []
        lines += [
            "def hidden(d_in, d_out):",
            f'    """A hidden layer: {" -> ".join(kinds)}."""',
            f"    return nn.Sequential({', '.join(parts)})",
            "",
            "",
        ]
    lines.append("model = nn.Sequential(")
    if plan.kind == "image":
        shape = ", ".join(map(str, plan.input_shape))
        lines.append(f"    nn.Flatten(),  # (B, {shape}) -> (B, {d_in})")
    for i, width in enumerate(m.hidden):
        if plain:
            lines.append(f"    nn.Linear({d_in}, {width}),  # hidden layer {i + 1}")
            lines.append(f"    {act},")
        elif m.residual and i > 0:
            if d_in == width:
                lines.append(f"    Residual(hidden({d_in}, {width})),  # hidden layer {i + 1}")
            else:
                lines.append(
                    f"    Residual(hidden({d_in}, {width}), nn.Linear({d_in}, {width}, bias=False)),"
                    f"  # hidden layer {i + 1}"
                )
        else:
            stem = "  (no shortcut: it maps the input to the width)" if m.residual else ""
            lines.append(f"    hidden({d_in}, {width}),  # hidden layer {i + 1}{stem}")
        d_in = width
    lines.append(f"    nn.Linear({d_in}, {plan.n_classes}),  # the output: a logit for each class")
    lines.append(").to(DEVICE)")
    return "\n".join(lines)


NORM2D = {"batch": "nn.BatchNorm2d(c_out)", "layer": "nn.GroupNorm(1, c_out)"}


def _conv_helper(plan: Plan) -> tuple[str, dict[str, str]]:
    """The script's `conv_block(c_in, c_out, kernel, stride=1, ...)` and the defaults of the
    parameters it takes beyond those (norm, activation, dropout: only where blocks differ)."""
    m = plan.config.model
    norms = {b.norm or m.norm for b in m.blocks}
    acts = {b.activation or m.activation for b in m.blocks}
    drops = {b.dropout if b.dropout is not None else m.dropout for b in m.blocks}
    defaults: dict[str, str] = {}
    if len(norms) > 1:
        defaults["norm"] = f'"{m.norm}"'
    if len(acts) > 1:
        defaults["activation"] = f'"{m.activation}"'
    if len(drops) > 1:
        defaults["dropout"] = "0.0"
    params = ["c_in", "c_out", "kernel", "stride=1", *(f"{k}={v}" for k, v in defaults.items())]
    steps: list[tuple[str, str]] = [
        ("", "nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2)")
    ]
    if len(norms) > 1:
        steps += [(f'norm == "{n}"', NORM2D[n]) for n in sorted(norms - {"none"})]
    elif next(iter(norms)) in NORM2D:
        steps.append(("", NORM2D[next(iter(norms))]))
    if len(acts) > 1:
        steps.append(("", "ACTIVATIONS[activation]()"))
    else:
        steps.append(("", ACTIVATION[next(iter(acts))]))
    if len(drops) > 1:
        steps.append(("dropout", "Dropout(dropout)"))
    elif next(iter(drops)):
        steps.append(("", f"Dropout({num(next(iter(drops)))})"))
    norm_name = next(iter(norms)) if len(norms) == 1 else "norm"
    kinds = ["conv ('same' padding)"]
    if norms - {"none"}:
        kinds.append(f"{norm_name} norm" if len(norms) == 1 else "norm")
    kinds.append(next(iter(acts)) if len(acts) == 1 else "activation")
    if drops - {0.0}:
        kinds.append("dropout")
    out = []
    if len(acts) > 1:
        table = ", ".join(f'"{a}": {ACTIVATION[a][:-2]}' for a in sorted(acts))
        out += [f"ACTIVATIONS = {{{table}}}", "", ""]
    out += [f"def conv_block({', '.join(params)}):", f'    """{" -> ".join(kinds)}."""']
    if not any(cond for cond, _ in steps):
        out.append("    return nn.Sequential(")
        out += [f"        {layer}," for _, layer in steps]
        out.append("    )")
    else:
        out.append(f"    layers = [{steps[0][1]}]")
        for cond, layer in steps[1:]:
            if cond:
                out += [f"    if {cond}:", f"        layers.append({layer})"]
            else:
                out.append(f"    layers.append({layer})")
        out.append("    return nn.Sequential(*layers)")
    return "\n".join(out), defaults


def _cnn(plan: Plan) -> str:
    m = plan.config.model
    c, h, w = plan.input_shape
    helper, defaults = _conv_helper(plan)
    lines = [helper, "", "", "model = nn.Sequential("]
    for i, spec in enumerate(m.blocks):
        args = [str(c), str(spec.channels), str(spec.kernel)]
        if spec.stride > 1:
            args.append(f"stride={spec.stride}")
        if "norm" in defaults and (spec.norm or m.norm) != m.norm:
            args.append(f'norm="{spec.norm}"')
        if "activation" in defaults and (spec.activation or m.activation) != m.activation:
            args.append(f'activation="{spec.activation}"')
        drop = spec.dropout if spec.dropout is not None else m.dropout
        if "dropout" in defaults and drop:
            args.append(f"dropout={num(drop)}")
        call = f"conv_block({', '.join(args)})"
        h, w = (h - 1) // spec.stride + 1, (w - 1) // spec.stride + 1
        if _block_residual(m.blocks, i, m.residual):
            if c == spec.channels and spec.stride == 1:
                call = f"Residual({call})"
                what = "a shortcut"
            else:
                stride = f", {spec.stride}" if spec.stride > 1 else ""
                call = f"Residual({call}, nn.Conv2d({c}, {spec.channels}, 1{stride}, bias=False))"
                what = "a 1x1 projection shortcut"
            lines.append(f"    {call},  # block {i + 1}, {what} -> {spec.channels}x{h}x{w}")
        else:
            lines.append(f"    {call},  # block {i + 1} -> {spec.channels}x{h}x{w}")
        pool = {"max": "nn.MaxPool2d(2)", "avg": "nn.AvgPool2d(2)"}.get(spec.pool, "")
        if pool:
            h, w = h // 2, w // 2
            lines.append(f"    {pool},  # -> {spec.channels}x{h}x{w}")
        c = spec.channels
    if m.head_pool == "avg":
        lines.append(f"    GlobalAveragePool(),  # (B, {c}, {h}, {w}) -> (B, {c})")
        d = c
    else:
        d = c * h * w
        lines.append(f"    nn.Flatten(),  # (B, {c}, {h}, {w}) -> (B, {d})")
    for width in m.head:
        lines.append(f"    nn.Linear({d}, {width}),  # a hidden layer")
        lines.append(f"    {ACTIVATION[m.activation]},")
        d = width
    lines.append(f"    nn.Linear({d}, {plan.n_classes}),  # the output: a logit for each class")
    lines.append(").to(DEVICE)")
    return "\n".join(lines)


def _sequence(plan: Plan) -> str:
    arch = plan.config.model.arch
    if arch in ("rnn", "lstm", "gru"):
        return _recurrent(plan)
    if arch == "cnn1d":
        return _conv1d(plan)
    if arch == "bow":
        return _bow(plan)
    return _transformer(plan)


def _init_head(plan: Plan, order: str) -> list[str]:
    lines = [
        "    def __init__(self):",
        "        super().__init__()",
        f"        # made in dlviz's order ({order}), so the seed gives the same weights",
        "        self.embed = nn.Embedding(VOCAB, WIDTH)  # a vector for each token id",
    ]
    if plan.config.model.dropout > 0:
        lines.append(f"        self.drop = Dropout({num(plan.config.model.dropout)})")
    lines.append(
        "        self.head = nn.Linear(WIDTH, CLASSES)  # the output: a logit for each class"
    )
    return lines


def _recurrent(plan: Plan) -> str:
    m = plan.config.model
    kind = m.arch
    name = kind.upper()
    drop = m.dropout > 0
    lines = [
        "class Net(nn.Module):",
        f'    """token ids -> embedding -> {m.layers} {name} layer{"s" * (m.layers > 1)} -> the '
        "last state ->",
        '    a linear layer to the classes."""',
        "",
        *_init_head(plan, f"embedding, output layer, then the {name}"),
        *_fit(f"        self.rnns = nn.ModuleList({RNN_MODULE[kind]} for _ in range(LAYERS))"),
    ]
    if kind in ("lstm", "gru"):
        gate = (
            "the forget gate" if kind == "lstm" else "the update gate (which keeps the old state)"
        )
        lines += [
            comment(
                f"{gate} starts with a bias of {num(m.forget_bias)}: open, so memory (and the "
                "gradient) lasts across long gaps from the start. Its rows are the second block "
                "of the gate rows in both torch modules.",
                indent="        ",
            ),
            "        with torch.no_grad():",
            "            for rnn in self.rnns:",
            f"                rnn.bias_ih_l0[WIDTH : 2 * WIDTH].fill_({num(m.forget_bias)})",
            "                rnn.bias_hh_l0[WIDTH : 2 * WIDTH].zero_()",
        ]
    lines += ["", "    def forward(self, x):  # (B, T) token ids -> (B, CLASSES) logits"]
    if plan.padded:
        lines += [
            "        real = real_positions(x)",
            "        if bool(real.all()):",
            "            real = None  # nothing padded in this batch: the plain kernel",
        ]
    lines.append("        h = self.embed(x)  # (B, T, WIDTH)")
    lines.append(
        "        for i, rnn in enumerate(self.rnns):" if drop else "        for rnn in self.rnns:"
    )
    if plan.padded:
        lines.append(
            "            h = rnn(h)[0] if real is None else run_skipping_pads(rnn, h, real)"
            "  # (B, T, WIDTH)"
        )
    else:
        lines.append("            h = rnn(h)[0]  # (B, T, WIDTH): the state after each step")
    if drop:
        lines += ["            if i < LAYERS - 1:", "                h = self.drop(h)"]
        lines.append("        h = self.drop(h)")
    lines.append("        return self.head(h[:, -1])  # the last state has read the whole sequence")
    lines += ["", "", "model = Net().to(DEVICE)"]
    return "\n".join(lines)


def _fit(line: str, width: int = 100) -> list[str]:
    """`name(args)` on one line, or its arguments on a line of their own when too long."""
    if len(line) <= width:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    head, _, args = line.partition("(")
    return [f"{head}(", f"{indent}    {args[:-1]}", f"{indent})"]


def _conv1d(plan: Plan) -> str:
    m = plan.config.model
    padding = m.padding or "same"  # class tasks: "same" unless the config says causal
    pads = (
        "(span, 0)  # causal: position t sees t and before"
        if padding == "causal"
        else "(span // 2, span - span // 2)  # both sides: the length stays"
    )
    drop = m.dropout > 0
    lines = [
        "class ConvLayer(nn.Module):",
        f'    """h + {"dropout(" if drop else ""}{m.activation}(conv(h)){")" if drop else ""}: '
        'a dilated 1-D convolution over the positions."""',
        "",
        "    def __init__(self, dilation):",
        "        super().__init__()",
        "        self.conv = nn.Conv1d(WIDTH, WIDTH, KERNEL, dilation=dilation)",
        "        span = (KERNEL - 1) * dilation",
        f"        self.pads = {pads}",
        f"        self.act = {ACTIVATION[m.activation]}",
    ]
    if drop:
        lines.append(f"        self.drop = Dropout({num(m.dropout)})")
    lines += ["", "    def forward(self, h, real):  # (B, T, WIDTH) -> (B, T, WIDTH)"]
    if plan.padded:
        lines.append("        h = h * real[..., None].to(h.dtype)  # pads read as zeros")
    lines += [
        "        y = self.conv(F.pad(h.transpose(1, 2), self.pads)).transpose(1, 2)",
        "        return h + " + ("self.drop(self.act(y))" if drop else "self.act(y)"),
        "",
        "",
        "class Net(nn.Module):",
        '    """token ids -> embedding -> conv layers of dilation 1, 2, 4, ... (the receptive field',
        '    doubles a layer) -> the mean over positions -> a linear layer to the classes."""',
        "",
        *_init_head(plan, "embedding, output layer, then the convolutions"),
        "        self.layers = nn.ModuleList(ConvLayer(2**i) for i in range(LAYERS))",
        "",
        "    def forward(self, x):  # (B, T) token ids -> (B, CLASSES) logits",
    ]
    if plan.padded:
        lines.append("        real = real_positions(x)")
    lines.append("        h = self.embed(x)  # (B, T, WIDTH)")
    lines.append("        for layer in self.layers:")
    lines.append("            h = layer(h, " + ("real" if plan.padded else "None") + ")")
    if drop:
        lines.append("        h = self.drop(h)")
    if plan.padded:
        lines.append("        return self.head(masked_mean(h, real))  # the real positions' mean")
    else:
        lines.append("        return self.head(h.mean(dim=1))  # the mean over positions")
    lines += ["", "", "model = Net().to(DEVICE)"]
    return "\n".join(lines).replace(
        "            h = layer(h, None)", "            h = layer(h, None)  # nothing is padded"
    )


def _bow(plan: Plan) -> str:
    drop = plan.config.model.dropout > 0
    lines = [
        "class Net(nn.Module):",
        '    """A bag of words: the mean of the tokens\' embeddings -> a hidden layer (ReLU) -> a',
        '    linear layer to the classes. Blind to order on purpose."""',
        "",
        *_init_head(plan, "embedding, output layer, then the hidden layer"),
        "        self.hidden = nn.Linear(WIDTH, WIDTH)",
        "",
        "    def forward(self, x):  # (B, T) token ids -> (B, CLASSES) logits",
    ]
    if plan.padded:
        lines.append("        pooled = masked_mean(self.embed(x), real_positions(x))  # (B, WIDTH)")
    else:
        lines.append("        pooled = self.embed(x).mean(dim=1)  # (B, WIDTH)")
    lines.append("        h = torch.relu(self.hidden(pooled))")
    lines.append("        return self.head(" + ("self.drop(h))" if drop else "h)"))
    lines += ["", "", "model = Net().to(DEVICE)"]
    return "\n".join(lines)


def _transformer(plan: Plan) -> str:
    m = plan.config.model
    drop = m.dropout > 0
    d = "self.drop(" if drop else "("
    learned = m.positions == "learned"
    lines = [
        "class SelfAttention(nn.Module):",
        '    """HEADS heads of attention, WIDTH / HEADS wide each: one linear map makes queries,',
        '    keys and values, another mixes the heads\' outputs."""',
        "",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)",
        "        self.proj = nn.Linear(WIDTH, WIDTH)",
        "",
        "    def forward(self, x, allowed):  # (B, T, C); allowed: (B, 1, T, T) or None (all)",
        "        B, T, C = x.shape",
        "        q, k, v = self.qkv(x).split(C, dim=2)",
        "        q, k, v = (t.view(B, T, HEADS, C // HEADS).transpose(1, 2) for t in (q, k, v))",
        "        y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)  # (B, HEADS, T, C/HEADS)",
        "        return self.proj(y.transpose(1, 2).reshape(B, T, C))",
        "",
        "",
        "class Block(nn.Module):",
        '    """Pre-norm: x + attention(norm(x)), then x + mlp(norm(x)); the MLP is 4x wide."""',
        "",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.ln1 = nn.LayerNorm(WIDTH)",
        "        self.attn = SelfAttention()",
        "        self.ln2 = nn.LayerNorm(WIDTH)",
        "        self.mlp = nn.Sequential(",
        "            nn.Linear(WIDTH, 4 * WIDTH), nn.GELU(), nn.Linear(4 * WIDTH, WIDTH)",
        "        )",
    ]
    if drop:
        lines.append(f"        self.drop = Dropout({num(m.dropout)})")
    lines += [
        "",
        "    def forward(self, x, allowed):",
        f"        x = x + {d}self.attn(self.ln1(x), allowed))",
        f"        return x + {d}self.mlp(self.ln2(x)))",
        "",
        "",
        "def init_weights(module):  # nanoGPT's: small normal weights, zero biases",
        "    if isinstance(module, (nn.Linear, nn.Embedding)):",
        "        nn.init.normal_(module.weight, mean=0.0, std=0.02)",
        "    if isinstance(module, nn.Linear) and module.bias is not None:",
        "        nn.init.zeros_(module.bias)",
        "",
        "",
        "class Net(nn.Module):",
        '    """token ids -> embedding + positions -> LAYERS blocks -> LayerNorm -> the mean over',
        '    positions -> a linear layer to the classes."""',
        "",
        *_init_head(plan, "embedding, output layer, positions, blocks"),
    ]
    if learned:
        lines.append(
            "        self.pos = nn.Embedding(LENGTH, WIDTH)  # a learned vector a position"
        )
    else:
        lines.append(
            '        self.register_buffer("pos_table", sinusoidal_table(LENGTH, WIDTH), '
            "persistent=False)"
        )
    table = "self.pos.weight" if learned else "self.pos_table"
    lines += [
        "        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))",
        "        self.ln_f = nn.LayerNorm(WIDTH)",
        "        self.apply(init_weights)",
        "        for block in self.blocks:  # GPT-2: the residual branches' last layers scaled by depth",
        "            for lin in (block.attn.proj, block.mlp[2]):",
        "                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * LAYERS))",
        "",
        "    def forward(self, x):  # (B, T) token ids -> (B, CLASSES) logits",
        "        T = x.size(1)",
    ]
    if plan.padded:
        lines += [
            "        real = real_positions(x)",
            "        # positions count from each row's first real token, so padding moves nothing",
            "        n_pad = T - real.sum(dim=1, keepdim=True)  # (B, 1)",
            "        ids = (torch.arange(T, device=x.device)[None] - n_pad).clamp(min=0)",
            f"        h = self.embed(x) + {table}[ids]  # (B, T, WIDTH)",
            "        # a query never reads a key at the padding (a pad query reads itself alone)",
            "        allowed = real[:, None, None, :] | torch.eye(T, dtype=torch.bool, device=x.device)",
        ]
    else:
        lines += [
            f"        h = self.embed(x) + {table}[:T]  # (B, T, WIDTH)",
            "        allowed = None  # every position reads every other",
        ]
    lines += [
        "        for block in self.blocks:",
        "            h = block(h, allowed)",
        "        h = self.ln_f(h)",
    ]
    if drop:
        lines.append("        h = self.drop(h)")
    if plan.padded:
        lines.append("        return self.head(masked_mean(h, real))  # the real positions' mean")
    else:
        lines.append("        return self.head(h.mean(dim=1))  # the mean over positions")
    lines += ["", "", "model = Net().to(DEVICE)"]
    return "\n".join(lines)


# --- training and the test ---------------------------------------------------------------------


def _optimizer(plan: Plan) -> str:
    t = plan.config.train
    wd = ", weight_decay=WEIGHT_DECAY" if t.weight_decay else ""
    if t.optimizer == "sgd":
        line = f"optimizer = torch.optim.SGD(model.parameters(), lr=LR{wd}, fused=True)"
        why = "plain SGD"
    elif t.optimizer == "momentum":
        line = (
            f"optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9{wd}, fused=True)"
        )
        why = "SGD with momentum 0.9"
    elif t.optimizer == "adam":
        line = f"optimizer = torch.optim.Adam(model.parameters(), lr=LR{wd}, fused=True)"
        why = "Adam: betas (0.9, 0.999), eps 1e-8"
    else:
        wd = f", weight_decay={'WEIGHT_DECAY' if t.weight_decay else '0.0'}"
        line = f"optimizer = torch.optim.AdamW(model.parameters(), lr=LR{wd}, fused=True)"
        why = "AdamW: betas (0.9, 0.999), eps 1e-8"
    if t.weight_decay and t.optimizer != "adamw":
        why += "; the weight decay is added to the gradient (L2)"
    elif t.optimizer == "adamw":
        why += "; the weight decay shrinks the weights apart from the gradient"
    # fused: one kernel updates every weight, as dlviz's runs do (the same arithmetic as the
    # default implementation to within rounding; torch 2.4 or later on a CPU)
    return f"{line}  # {why}; fused, as the run was"


def _training(plan: Plan) -> str:
    t = plan.config.train
    n = plan.n_train
    augmenting = plan.kind == "image" and t.augment.active
    lines = [
        section("training"),
        _optimizer(plan),
        "shuffle = torch.Generator().manual_seed(SEED)  # a new order of the training set each epoch",
        "n = len(x_train)",
        "batches = [(i, min(i + BATCH_SIZE, n)) for i in range(0, n, BATCH_SIZE)]",
    ]
    if n > t.batch_size and n % t.batch_size == 1:
        lines.append(
            "batches.pop()  # a last batch of one sample is dropped, as dlviz does (batch norm "
            "cannot learn from one)"
        )
    lines.append("seen = batches[-1][1]  # samples an epoch trains on")
    every = max(1, plan.epochs // 10)
    lines += [
        "",
        "model.train()",
        "for epoch in range(1, EPOCHS + 1):",
        "    perm = torch.randperm(n, generator=shuffle).to(DEVICE)",
        "    total = 0.0",
        "    for lo, hi in batches:",
        "        idx = perm[lo:hi]",
        "        xb = augment(x_train[idx])" if augmenting else "        xb = x_train[idx]",
        "        loss = F.cross_entropy(model(xb), y_train[idx])",
        "        optimizer.zero_grad(set_to_none=True)",
        "        loss.backward()",
    ]
    if t.clip:
        lines.append("        nn.utils.clip_grad_norm_(model.parameters(), CLIP, foreach=True)")
    lines += [
        "        optimizer.step()",
        "        total += loss.item() * (hi - lo)",
    ]
    report = '    print(f"epoch {epoch:4d}  train loss {total / seen:.4f}")'
    if every > 1:
        lines.append(f"    if epoch % {every} == 0 or epoch == EPOCHS:")
        report = "    " + report
    lines.append(report)
    return "\n".join(lines)


def _evaluation(plan: Plan) -> str:
    acc = f"{plan.test_accuracy:.4f}" if plan.test_accuracy is not None else "not recorded"
    return block(
        '''
        $SECTION
        def evaluate(x, y):
            """Mean cross-entropy and accuracy on (x, y), in eval mode (no dropout; batch norm
            uses its running statistics), $ROWS rows at a time."""
            model.eval()
            with torch.no_grad():
                logits = torch.cat([model(x[i : i + $ROWS]) for i in range(0, len(x), $ROWS)])
            model.train()
            loss = F.cross_entropy(logits, y).item()
            accuracy = (logits.argmax(dim=1) == y).sum().item() / len(y)
            return loss, accuracy


        test_loss, test_accuracy = evaluate(x_test, y_test)
        print(f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.4f} (the run: $ACC)")
        print(json.dumps({"test_accuracy": test_accuracy, "test_loss": test_loss}))
        ''',
        ROWS=EVAL_ROWS,
        ACC=acc,
        SECTION=section("the test"),
    )
