"""A run as one Keras 3 script (`keras_script`), written the way the primer writes Keras:
``keras.Sequential([...])``, ``model.compile(optimizer=..., loss=..., metrics=["accuracy"])``,
``model.fit(...)``, ``model.evaluate(...)``; the functional API where Sequential cannot say it
(residual connections, a transformer). It runs on any Keras backend (torch, jax, tensorflow)
and prints its test accuracy as the last line, ``{"test_accuracy": ...}``.

Keras draws its own initial weights and batch order, so a Keras script learns what the run
learned, but not to the same digits: `keras_script` says so, and says each other difference.
"""

from __future__ import annotations

import textwrap

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
from dlviz.export.code_torch import describe_model

BATCH_NORM = "layers.BatchNormalization(momentum=0.9, epsilon=1e-5)"
LAYER_NORM = "layers.LayerNormalization(epsilon=1e-5)"
GROUP_NORM = "layers.GroupNormalization(groups=1, epsilon=1e-5)"
RNN_LAYER = {"rnn": "layers.SimpleRNN", "lstm": "layers.LSTM", "gru": "layers.GRU"}


def keras_script(plan: Plan) -> tuple[str, bool, list[str]]:
    """The Keras script of `plan`: (text, exact (always False), notes)."""
    acc = f"{plan.test_accuracy:.4f}" if plan.test_accuracy is not None else "not recorded"
    notes = [
        "Close, not exact: Keras draws its own initial weights (Glorot uniform; PyTorch's "
        "layers start Kaiming uniform) and its own batch order, so expect a test accuracy "
        f"near the run's ({acc}), not the same digits.",
        *plan.notes,
    ]
    writer = _Writer(plan, notes)
    parts = [
        _header(plan),
        _imports(plan),
        _settings(plan),
        _data(plan),
        writer.model(),
        _training(plan, notes),
        _evaluation(plan),
    ]
    # one blank line after the docstring and after the imports, two between the sections
    text = parts[0] + "\n\n" + parts[1] + "\n\n" + "\n\n\n".join(p for p in parts[2:] if p)
    text += "\n"
    return tidy(text), False, notes


def _header(plan: Plan) -> str:
    acc = f"{plan.test_accuracy:.4f}" if plan.test_accuracy is not None else "(not recorded)"
    model = describe_model(plan)
    lines = [
        f"dlviz run {plan.run_id} as a Keras 3 script.",
        "",
        f"{model[0].upper()}{model[1:]} learns {describe_data(plan)}: {describe_training(plan)}.",
        "",
        "Close, not exact: Keras draws its own initial weights and its own batch order, so "
        f"expect a test accuracy near the run's ({acc}), not the same digits. The comments say "
        "where else Keras differs from dlviz's PyTorch.",
        "",
        f"Run it with `python {plan.run_id}_keras.py`"
        + (f" ({plan.data_name} beside it)" if plan.data_name else "")
        + ". Keras 3 runs on PyTorch, JAX or TensorFlow: set KERAS_BACKEND to choose (this "
        "script takes torch when it is not set). Its last line is the test accuracy as JSON.",
    ]
    wrapped = []
    for line in lines:
        wrapped.extend(textwrap.wrap(line, 96) or [""])
    return '"""' + "\n".join(wrapped) + '\n"""'


def _imports(plan: Plan) -> str:
    lines = ["import json", "import os"]
    if plan.data_name:
        lines.append("from pathlib import Path")
    lines += [
        "",
        'os.environ.setdefault("KERAS_BACKEND", "torch")  # or "jax", "tensorflow"',
        "",
        "import keras  # noqa: E402 (the backend is chosen before Keras is imported)",
        "import numpy as np  # noqa: E402",
        "from keras import layers  # noqa: E402",
    ]
    return "\n".join(lines)


def _settings(plan: Plan) -> str:
    m = plan.config.model
    lines = settings_lines(plan, clip_over="weights")
    if plan.kind == "tokens":
        lines += [
            f"VOCAB = {plan.vocab_size}  # token ids 0..{plan.vocab_size - 1}",
            f"LENGTH = {plan.input_shape[0]}  # tokens a sequence",
            f"WIDTH = {m.hidden_size}",
            f"CLASSES = {plan.n_classes}",
        ]
        if m.arch in ("cnn1d", "transformer"):
            lines.append(f"LAYERS = {m.layers}")
        if m.arch == "transformer":
            lines.append(f"HEADS = {m.heads}")
        if m.arch == "cnn1d":
            lines.append(f"KERNEL = {m.kernel}")
        if plan.padded:
            lines.append(f"PAD = {plan.pad}  # sequences are left-padded with this token id")
    lines += [
        "",
        "# Keras's own initial weights, shuffling and dropout repeat from run to run with this",
        "# seed (they are not the dlviz run's: PyTorch draws other numbers).",
        "keras.utils.set_random_seed(SEED)",
    ]
    return "\n".join(lines)


def _data(plan: Plan) -> str:
    d = plan.config.data
    if plan.arrays is None:
        return (
            section("data")
            + "\n"
            + comment(
                f"The 2-D {d.name} set, made exactly as dlviz makes it (dlviz/data/toy2d.py)."
            )
            + "\n"
            + toy_source(d.name).strip()
            + "\n\n\n"
            + f"x, y = load_points({d.n_samples}, {num(d.noise)}, seed={d.seed})\n"
            + f"x_train, y_train, x_test, y_test = split(x, y, {num(d.test_fraction)}, "
            f"seed={d.seed})\n"
            + f"# x: {plan.n_train} training and {plan.n_test} test points (N, 2) float32; "
            "y: class ids 0..1"
        )
    what = {
        "image": f"the {d.name} images",
        "tokens": f"the {d.name} sequences (token ids)",
        "points2d": f"the {d.name} points",
    }[plan.kind]
    lines = [
        section("data"),
        comment(
            f"{what[0].upper()}{what[1:]}, loaded from the .npz beside this script: the exact "
            "arrays the run trained on (making them again would take many lines of dlviz's code)."
        ),
        f'data = np.load(Path(__file__).with_name("{plan.data_name}"))',
        'x_train, y_train = data["x_train"], data["y_train"]',
        'x_test, y_test = data["x_test"], data["y_test"]',
    ]
    if plan.kind == "image":
        c, h, w = plan.input_shape
        lines += [
            "# dlviz's images are (N, channels, height, width), PyTorch's layout; Keras's",
            "# convolutions want channels last by default (and TensorFlow's CPU kernels only",
            "# take that), so the images are transposed to (N, height, width, channels).",
            "x_train, x_test = x_train.transpose(0, 2, 3, 1), x_test.transpose(0, 2, 3, 1)",
            f"# x: {plan.n_train} training and {plan.n_test} test images ({h}, {w}, {c}) in "
            f"[0, 1]; y: class ids 0..{plan.n_classes - 1}",
        ]
    elif plan.kind == "tokens":
        lines.append(
            f"# x: {plan.n_train} training and {plan.n_test} test rows of {plan.input_shape[0]} "
            f"token ids; y: class ids 0..{plan.n_classes - 1}"
        )
    return "\n".join(lines)


class _Writer:
    """The model section of a Keras script; adds a note for every difference it writes."""

    def __init__(self, plan: Plan, notes: list[str]):
        self.plan = plan
        self.notes = notes

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def model(self) -> str:
        arch = self.plan.config.model.arch
        head = section("the network")
        if arch == "mlp":
            body = self._mlp()
        elif arch == "cnn":
            body = self._cnn()
        elif arch in ("rnn", "lstm", "gru"):
            body = self._recurrent()
        elif arch == "bow":
            body = self._bow()
        elif arch == "cnn1d":
            body = self._conv1d()
        else:
            body = self._transformer()
        return f"{head}\n{body}\nmodel.summary()"

    # --- pieces ----------------------------------------------------------------------------

    def _norm(self, norm: str, image: bool) -> str:
        if norm == "batch":
            self.note(
                "Batch norm is layers.BatchNormalization(momentum=0.9, epsilon=1e-5): "
                "PyTorch's defaults, which dlviz uses (Keras's own are 0.99 and 1e-3)."
            )
            return BATCH_NORM
        if norm == "layer":
            if image:
                self.note(
                    "Layer norm of images is layers.GroupNormalization(groups=1): one mean and "
                    "variance over the channels and positions of each image, as dlviz's "
                    "nn.GroupNorm(1, C)."
                )
                return GROUP_NORM
            return LAYER_NORM
        return ""

    def _functional_note(self, why: str) -> str:
        self.note(
            f"{why}: keras.Sequential cannot say that (each of its layers sees only the one "
            "before), so this network is written with the functional API, "
            "keras.Model(inputs, outputs)."
        )
        return comment(
            f"{why}: keras.Sequential cannot say that (each of its layers sees only the one "
            "before), so this network uses the functional API: call each layer on a tensor, "
            "then keras.Model(inputs, outputs)."
        )

    def _input(self) -> str:
        p = self.plan
        if p.kind == "image":
            c, h, w = p.input_shape
            return f"keras.Input(shape=({h}, {w}, {c}))"
        if p.kind == "tokens":
            return 'keras.Input(shape=(LENGTH,), dtype="int64")'
        return "keras.Input(shape=(2,))"

    def _dense_block(self) -> tuple[str, bool]:
        """(the hidden layer's helper, whether it needs one): plain Dense when no norm and no
        dropout."""
        m = self.plan.config.model
        if m.norm == "none" and not m.dropout:
            return "", False
        lines = [
            "def dense_block(width):",
            f'    """A hidden layer: linear -> {m.norm + " norm -> " if m.norm != "none" else ""}'
            f'{m.activation}{" -> dropout" if m.dropout else ""}."""',
            "    return [",
            "        layers.Dense(width),",
        ]
        norm = self._norm(m.norm, image=False)
        if norm:
            lines.append(f"        {norm},")
        lines.append(f'        layers.Activation("{m.activation}"),')
        if m.dropout:
            lines.append(f"        layers.Dropout({num(m.dropout)}),")
        lines.append("    ]")
        return "\n".join(lines), True

    def _mlp(self) -> str:
        p, m = self.plan, self.plan.config.model
        helper, needs = self._dense_block()
        flatten = p.kind == "image"
        if not (m.residual and len(m.hidden) > 1):
            lines = [helper, "", ""] if needs else []
            lines += ["model = keras.Sequential(", "    [", f"        {self._input()},"]
            if flatten:
                lines.append("        layers.Flatten(),  # each image as one vector")
            for i, width in enumerate(m.hidden):
                if needs:
                    lines.append(f"        *dense_block({width}),  # hidden layer {i + 1}")
                else:
                    lines.append(
                        f'        layers.Dense({width}, activation="{m.activation}"),'
                        f"  # hidden layer {i + 1}"
                    )
            lines.append(
                f"        layers.Dense({p.n_classes}),  # a logit for each class (the loss "
                "applies the softmax)"
            )
            lines += ["    ]", ")"]
            return "\n".join(lines)
        lines = [self._functional_note("Residual connections add a layer's input to its output")]
        lines += ["", "", "def hidden(x, width):"]
        if needs:
            norm = self._norm(m.norm, image=False)
            kinds = ["linear", *([f"{m.norm} norm"] if norm else []), m.activation]
            kinds += ["dropout"] if m.dropout else []
            lines.append(f'    """A hidden layer: {" -> ".join(kinds)}."""')
            lines.append("    x = layers.Dense(width)(x)")
            if norm:
                lines.append(f"    x = {norm}(x)")
            if m.dropout:
                lines.append(f'    x = layers.Activation("{m.activation}")(x)')
                lines.append(f"    return layers.Dropout({num(m.dropout)})(x)")
            else:
                lines.append(f'    return layers.Activation("{m.activation}")(x)')
        else:
            lines.append(f'    return layers.Dense(width, activation="{m.activation}")(x)')
        lines += ["", "", f"inputs = {self._input()}"]
        x = "inputs"
        if flatten:
            lines.append("x = layers.Flatten()(inputs)")
            x = "x"
        d_in = 2 if p.kind == "points2d" else p.input_shape[0] * p.input_shape[1] * p.input_shape[2]
        for i, width in enumerate(m.hidden):
            if i == 0:
                lines.append(f"x = hidden({x}, {width})  # hidden layer 1: no shortcut (the stem)")
            elif d_in == width:
                lines.append(f"x = layers.Add()([hidden(x, {width}), x])  # hidden layer {i + 1}")
            else:
                lines.append(
                    f"# hidden layer {i + 1}: the width changes, so the shortcut is a projection"
                )
                lines.append(
                    f"x = layers.Add()([hidden(x, {width}), layers.Dense({width}, use_bias=False)(x)])"
                )
            d_in = width
        lines += [
            f"outputs = layers.Dense({p.n_classes})(x)  # a logit for each class",
            "model = keras.Model(inputs, outputs)",
        ]
        return "\n".join(lines)

    def _augmentation(self) -> str:
        a = self.plan.config.train.augment
        if not a.active:
            return ""
        lines = [
            "# Augmentation (train.augment), in layers that act in training only: every training",
            "# image changed afresh each time it is used, filling with zeros as dlviz does.",
            "augmentation = keras.Sequential(",
            "    [",
        ]
        if a.rotate > 0:
            lines.append(
                f'        layers.RandomRotation({num(a.rotate)} / 360, fill_mode="constant"),'
                f"  # up to {num(a.rotate)} degrees"
            )
        if a.crop > 0:
            lines.append(
                f'        layers.RandomTranslation({num(a.crop)}, {num(a.crop)}, fill_mode="constant"),'
            )
        if a.flip:
            lines.append('        layers.RandomFlip("horizontal"),')
        if a.jitter > 0:
            lines.append(f"        layers.RandomContrast({num(a.jitter)}),")
            lines.append(f"        layers.RandomBrightness({num(a.jitter)}, value_range=(0, 1)),")
            self.note(
                "Keras's RandomBrightness adds to the pixel values; dlviz's jitter multiplies "
                "them: a close, not an identical, augmentation."
            )
        lines += ["    ],", '    name="augmentation",', ")"]
        return "\n".join(lines)

    def _cnn(self) -> str:
        p, m = self.plan, self.plan.config.model
        residual = [_block_residual(m.blocks, i, m.residual) for i in range(len(m.blocks))]
        if any(b.stride > 1 for b in m.blocks):
            self.note(
                "With a stride, Keras's 'same' padding puts the extra row and column at the "
                "bottom and right; PyTorch pads both sides alike: the same sizes, shifted by "
                "a pixel."
            )
        norms = {b.norm or m.norm for b in m.blocks}
        acts = {b.activation or m.activation for b in m.blocks}
        drops = {b.dropout if b.dropout is not None else m.dropout for b in m.blocks}
        norm = next(iter(norms)) if len(norms) == 1 else m.norm
        act = next(iter(acts)) if len(acts) == 1 else m.activation
        functional = any(residual)
        aug = self._augmentation()
        helper = self._conv_helper(norms, norm, act, drops, functional)

        def call(spec: ConvBlock, x: str = "") -> str:
            args = [x] if x else []
            args += [str(spec.channels), str(spec.kernel)]
            if spec.stride > 1:
                args.append(f"stride={spec.stride}")
            if (spec.norm or m.norm) != norm:
                args.append(f'norm="{spec.norm or m.norm}"')
            if (spec.activation or m.activation) != act:
                args.append(f'activation="{spec.activation or m.activation}"')
            d = spec.dropout if spec.dropout is not None else m.dropout
            if len(drops) > 1 and d:
                args.append(f"dropout={num(d)}")
            return f"conv_block({', '.join(args)})"

        pool_layer = {"max": "layers.MaxPooling2D(2)", "avg": "layers.AveragePooling2D(2)"}
        lines: list[str] = []
        if aug:
            lines += [aug, "", ""]
        lines += [helper, "", ""]
        if not functional:
            lines += ["model = keras.Sequential(", "    [", f"        {self._input()},"]
            if aug:
                lines.append("        augmentation,")
            for i, spec in enumerate(m.blocks):
                pool = pool_layer.get(spec.pool, "")
                lines.append(
                    f"        *{call(spec)},  # block {i + 1}"
                    + (f"\n        {pool}," if pool else "")
                )
            lines += self._cnn_head("        ", sequential=True)
            lines += ["    ]", ")"]
            return "\n".join(lines)
        lines.insert(0, self._functional_note("A shortcut adds a block's input to its output"))
        lines[1:1] = ["", ""] if not aug else [""]
        lines.append(f"inputs = {self._input()}")
        lines.append("x = augmentation(inputs)" if aug else "x = inputs")
        c = p.input_shape[0]
        for i, spec in enumerate(m.blocks):
            out = call(spec, "x")
            if residual[i]:
                if c == spec.channels and spec.stride == 1:
                    lines.append(f"x = layers.Add()([{out}, x])  # block {i + 1}, a shortcut")
                else:
                    stride = f", strides={spec.stride}" if spec.stride > 1 else ""
                    lines.append(
                        f"x = layers.Add()([{out}, layers.Conv2D({spec.channels}, 1{stride}, "
                        f"use_bias=False)(x)])  # block {i + 1}, a 1x1 projection shortcut"
                    )
            else:
                lines.append(f"x = {out}  # block {i + 1}")
            if spec.pool in pool_layer:
                lines.append(f"x = {pool_layer[spec.pool]}(x)")
            c = spec.channels
        lines += self._cnn_head("", sequential=False)
        lines.append("model = keras.Model(inputs, outputs)")
        return "\n".join(lines)

    def _conv_helper(
        self, norms: set[str], norm: str, act: str, drops: set[float], functional: bool
    ) -> str:
        """`conv_block(...)`: the layers of one block, applied to x (functional) or as a list
        (Sequential). Parameters only for what differs between blocks."""
        m = self.plan.config.model
        many_acts = len({b.activation or m.activation for b in m.blocks}) > 1
        params = ["channels", "kernel", "stride=1"]
        if len(norms) > 1:
            params.append(f'norm="{norm}"')
        params.append(f'activation="{act}"')
        drop = next(iter(drops)) if len(drops) == 1 else 0.0
        if len(drops) > 1:
            params.append("dropout=0.0")
        conv = 'layers.Conv2D(channels, kernel, strides=stride, padding="same")'
        steps: list[tuple[str, str]] = [("", conv)]  # (condition, layer)
        if len(norms) > 1:
            steps += [
                (f'norm == "{n}"', self._norm(n, image=True)) for n in sorted(norms - {"none"})
            ]
        elif self._norm(norm, image=True):
            steps.append(("", self._norm(norm, image=True)))
        steps.append(("", "layers.Activation(activation)"))
        if len(drops) > 1:
            steps.append(("dropout", "layers.Dropout(dropout)"))
        elif drop:
            steps.append(("", f"layers.Dropout({num(drop)})"))
        kinds = " -> ".join(
            ["conv ('same' padding)"]
            + ([f"{norm} norm" if len(norms) == 1 else "norm"] if norms - {"none"} else [])
            + ["activation" if many_acts else act]
            + (["dropout"] if len(drops) > 1 or drop else [])
        )
        signature = f"def conv_block({'x, ' if functional else ''}{', '.join(params)}):"
        out = [signature, f'    """{kinds}"""']
        conditional = any(cond for cond, _ in steps)
        if not functional and not conditional:
            out.append("    return [")
            out += [f"        {layer}," for _, layer in steps]
            out.append("    ]")
            return "\n".join(out)
        if not functional:
            out.append("    block = []")
        for cond, layer in steps:
            step = f"x = {layer}(x)" if functional else f"block.append({layer})"
            if cond:
                out += [f"    if {cond}:", f"        {step}"]
            else:
                out.append(f"    {step}")
        out.append("    return x" if functional else "    return block")
        return "\n".join(out)

    def _cnn_head(self, indent: str, sequential: bool) -> list[str]:
        p, m = self.plan, self.plan.config.model
        parts = [
            "layers.GlobalAveragePooling2D()  # the mean of each feature map"
            if m.head_pool == "avg"
            else "layers.Flatten()"
        ]
        parts += [f'layers.Dense({w}, activation="{m.activation}")' for w in m.head]
        parts.append(f"layers.Dense({p.n_classes})  # a logit for each class")
        if m.head_pool == "flatten":
            self.note(
                "Flatten reads the last feature maps in Keras's order (height, width, "
                "channels), not PyTorch's (channels, height, width): the same numbers, "
                "another order of the head's weights."
            )
        if sequential:
            out = []
            for part in parts:
                code, _, comment = part.partition("  #")
                out.append(f"{indent}{code}," + (f"  #{comment}" if comment else ""))
            return out
        out = []
        for i, part in enumerate(parts):
            code, _, comment = part.partition("  #")
            target = "outputs" if i == len(parts) - 1 else "x"
            out.append(f"{target} = {code}(x)" + (f"  #{comment}" if comment else ""))
        return out

    # --- sequences -------------------------------------------------------------------------

    def _embedding(self, mask: bool) -> str:
        if mask and self.plan.padded:
            self.note(
                "The padding (token id 0) is masked with Embedding(mask_zero=True): the "
                "layers after it skip the padding, as dlviz's models do."
            )
            return "layers.Embedding(VOCAB, WIDTH, mask_zero=True),  # id 0 pads: masked, skipped"
        return "layers.Embedding(VOCAB, WIDTH),  # a vector for each token id"

    def _recurrent(self) -> str:
        m = self.plan.config.model
        layer = RNN_LAYER[m.arch]
        lines: list[str] = []
        args = ""
        if m.arch == "lstm" and m.forget_bias == 1.0:
            lines.append(
                comment(
                    "Keras's LSTM starts its forget gate's bias at 1 (unit_forget_bias=True, its "
                    "default), as dlviz does: open at first, memory lasts across long gaps."
                )
            )
        elif m.arch == "lstm":
            lines += _gate_bias_helper("lstm", m.forget_bias)
            args = ", unit_forget_bias=False, bias_initializer=forget_gate_bias"
        elif m.arch == "gru":
            lines += _gate_bias_helper("gru", m.forget_bias)
            args = ", bias_initializer=update_gate_bias"
            self.note(
                "Keras's GRU (reset_after=True, its default) computes what PyTorch's does; its "
                "gates are ordered update, reset, new (PyTorch: reset, update, new), so the "
                "update gate's starting bias is set by a small initializer."
            )
        body = ["model = keras.Sequential(", "    [", f"        {self._input()},"]
        body.append(f"        {self._embedding(mask=True)}")
        for i in range(m.layers):
            last = i == m.layers - 1
            seq = "" if last else ", return_sequences=True"
            what = "its last state" if last else "every step's state, for the next layer"
            body.append(f"        {layer}(WIDTH{seq}{args}),  # layer {i + 1}: {what}")
            if m.dropout:
                body.append(f"        layers.Dropout({num(m.dropout)}),")
        body.append("        layers.Dense(CLASSES),  # a logit for each class")
        body += ["    ]", ")"]
        return "\n".join([*lines, *body])

    def _bow(self) -> str:
        m = self.plan.config.model
        lines = [
            "# A bag of words: the mean of the tokens' vectors, blind to their order on purpose.",
            "model = keras.Sequential(",
            "    [",
            f"        {self._input()},",
            f"        {self._embedding(mask=True)}",
            "        layers.GlobalAveragePooling1D(),  # the mean over the (real) tokens",
            '        layers.Dense(WIDTH, activation="relu"),',
        ]
        if m.dropout:
            lines.append(f"        layers.Dropout({num(m.dropout)}),")
        lines += ["        layers.Dense(CLASSES),  # a logit for each class", "    ]", ")"]
        return "\n".join(lines)

    def _conv1d(self) -> str:
        m, p = self.plan.config.model, self.plan
        padding = "causal" if m.padding == "causal" else "same"
        drop = f"layers.Dropout({num(m.dropout)})(y)" if m.dropout else "y"
        lines = [self._functional_note("Each layer adds its input to its output (residual)")]
        lines += ["", "tokens = " + self._input()]
        if p.padded:
            lines.append("real = keras.ops.not_equal(tokens, PAD)  # (B, T): False at the padding")
        lines.append("h = " + self._embedding(mask=False).replace(",  #", "(tokens)  #", 1))
        lines.append(
            "for i in range(LAYERS):  # dilation 1, 2, 4, ...: the receptive field doubles"
        )
        if p.padded:
            lines.append(
                '    h = h * keras.ops.expand_dims(keras.ops.cast(real, "float32"), -1)'
                "  # pads read as zeros"
            )
        lines += [
            f'    y = layers.Conv1D(WIDTH, KERNEL, dilation_rate=2**i, padding="{padding}", '
            f'activation="{m.activation}")(h)',
            f"    h = layers.Add()([h, {drop}])",
        ]
        if m.dropout:
            lines.append(f"h = layers.Dropout({num(m.dropout)})(h)")
        mask = ", mask=real" if p.padded else ""
        lines += [
            f"h = layers.GlobalAveragePooling1D()(h{mask})  # the mean over the (real) positions",
            "outputs = layers.Dense(CLASSES)(h)  # a logit for each class",
            "model = keras.Model(tokens, outputs)",
        ]
        return "\n".join(lines)

    def _transformer(self) -> str:
        m, p = self.plan.config.model, self.plan
        learned = m.positions == "learned"
        self.note(
            "Keras's MultiHeadAttention projects queries, keys and values with three layers "
            "(dlviz: one qkv layer of the same size): the same function and parameter count."
        )
        self.note(
            "The positions are a small custom layer (Keras's core has no position embedding); "
            "dlviz starts its transformer's weights as N(0, 0.02), Keras with its defaults."
        )
        drop = (lambda x: f"layers.Dropout({num(m.dropout)})({x})") if m.dropout else (lambda x: x)
        lines = [self._functional_note("Every block adds its input to its output (residual)"), ""]
        if not learned:
            lines += [
                "",
                "def sinusoidal_table(length, width):",
                '    """(length, width) fixed positions of "Attention is all you need"."""',
                "    pos = np.arange(length)[:, None]",
                "    freq = np.exp(np.arange(0, width, 2) * (-np.log(10000.0) / width))",
                '    table = np.zeros((length, width), dtype="float32")',
                "    table[:, 0::2] = np.sin(pos * freq)",
                "    table[:, 1::2] = np.cos(pos * freq)[:, : width // 2]",
                "    return table",
                "",
            ]
        weight = (
            '        self.table = self.add_weight(shape=(LENGTH, WIDTH), initializer="random_normal")'
            if learned
            else "        self.table = self.add_weight(\n"
            "            shape=(LENGTH, WIDTH),\n"
            "            initializer=lambda shape, dtype=None: sinusoidal_table(*shape),\n"
            "            trainable=False,\n"
            "        )"
        )
        lines += [
            "",
            "class Positions(layers.Layer):",
            f'    """Adds a {"learned" if learned else "fixed (sinusoidal)"} vector for each '
            'position to the token vectors."""',
            "",
            "    def __init__(self, **kwargs):",
            "        super().__init__(**kwargs)",
            weight,
            "",
        ]
        if p.padded:
            lines += [
                "    def call(self, h, tokens):",
                "        # positions count from each row's first real token, so padding moves nothing",
                '        n_pad = keras.ops.sum(keras.ops.cast(keras.ops.equal(tokens, PAD), "int32"), axis=1)',
                "        ids = keras.ops.maximum(keras.ops.arange(LENGTH)[None, :] - n_pad[:, None], 0)",
                "        return h + keras.ops.take(self.table, ids, axis=0)",
            ]
        else:
            lines += ["    def call(self, h):", "        return h + self.table"]
        attn_mask = ", attention_mask=mask" if p.padded else ""
        lines += [
            "",
            "",
            "def block(h" + (", mask" if p.padded else "") + "):",
            '    """Pre-norm: h + attention(norm(h)), then h + mlp(norm(h)); the MLP is 4x wide."""',
            f"    a = {LAYER_NORM}(h)",
            f"    a = layers.MultiHeadAttention(HEADS, WIDTH // HEADS)(a, a{attn_mask})",
            f"    h = layers.Add()([h, {drop('a')}])",
            f"    f = {LAYER_NORM}(h)",
            '    f = layers.Dense(4 * WIDTH, activation="gelu")(f)',
            "    f = layers.Dense(WIDTH)(f)",
            f"    return layers.Add()([h, {drop('f')}])",
            "",
            "",
            f"tokens = {self._input()}",
        ]
        if p.padded:
            lines += [
                "real = keras.ops.not_equal(tokens, PAD)  # (B, T): False at the padding",
                "mask = keras.ops.expand_dims(real, 1)  # (B, 1, T): no query reads a pad",
            ]
        emb = self._embedding(mask=False).replace(",  #", "(tokens)  #", 1)
        lines.append(f"h = {emb}")
        lines.append("h = Positions()(h, tokens)" if p.padded else "h = Positions()(h)")
        lines += [
            "for _ in range(LAYERS):",
            "    h = block(h, mask)" if p.padded else "    h = block(h)",
            f"h = {LAYER_NORM}(h)",
        ]
        if m.dropout:
            lines.append(f"h = layers.Dropout({num(m.dropout)})(h)")
        mask = ", mask=real" if p.padded else ""
        lines += [
            f"h = layers.GlobalAveragePooling1D()(h{mask})  # the mean over the (real) positions",
            "outputs = layers.Dense(CLASSES)(h)  # a logit for each class",
            "model = keras.Model(tokens, outputs)",
        ]
        return "\n".join(lines)


def _gate_bias_helper(kind: str, value: float) -> list[str]:
    if kind == "lstm":
        return [
            "def forget_gate_bias(shape, dtype=None):",
            f'    """The LSTM\'s bias: {num(value)} for the forget gate (Keras orders the gates i, '
            'f, c, o), 0 elsewhere."""',
            '    bias = np.zeros(shape, dtype="float32")',
            f"    bias[WIDTH : 2 * WIDTH] = {num(value)}",
            "    return bias",
            "",
            "",
        ]
    return [
        "def update_gate_bias(shape, dtype=None):",
        f'    """The GRU\'s input bias: {num(value)} for the update gate, which keeps the old '
        "state (Keras",
        '    orders the gates z, r, h): open at first, memory lasts across long gaps."""',
        '    bias = np.zeros(shape, dtype="float32")  # (2, 3 * WIDTH): input and recurrent biases',
        f"    bias[0, :WIDTH] = {num(value)}",
        "    return bias",
        "",
        "",
    ]


def _block_residual(blocks: tuple[ConvBlock, ...], i: int, residual: bool) -> bool:
    spec = blocks[i]
    return spec.residual if spec.residual is not None else (residual and i > 0)


# --- training and the test ---------------------------------------------------------------------


def _optimizer(plan: Plan, notes: list[str]) -> str:
    t = plan.config.train
    clip = ", global_clipnorm=CLIP" if t.clip else ""
    wd = ", weight_decay=WEIGHT_DECAY" if t.weight_decay else ""
    if t.optimizer in ("sgd", "momentum"):
        momentum = ", momentum=0.9" if t.optimizer == "momentum" else ""
        line = f"keras.optimizers.SGD(learning_rate=LR{momentum}{wd}{clip})"
    elif t.optimizer == "adam":
        line = f"keras.optimizers.Adam(learning_rate=LR, epsilon=1e-8{wd}{clip})"
        notes.append("Adam takes epsilon=1e-8, PyTorch's (Keras's default is 1e-7).")
    else:
        wd = ", weight_decay=WEIGHT_DECAY" if t.weight_decay else ", weight_decay=0.0"
        line = f"keras.optimizers.AdamW(learning_rate=LR{wd}, epsilon=1e-8{clip})"
        notes.append(
            "AdamW takes the run's weight decay and epsilon=1e-8, PyTorch's (Keras's defaults "
            "are 0.004 and 1e-7)."
        )
    if t.weight_decay and t.optimizer in ("momentum", "adam"):
        notes.append(
            f"Keras's weight_decay shrinks the weights apart from the gradient (as AdamW does); "
            f"PyTorch's {t.optimizer} adds it to the gradient (L2): close, not the same."
        )
    if t.clip:
        notes.append(
            "global_clipnorm clips the gradient's norm over all weights together, as dlviz's "
            "clip_grad_norm_ does (clipnorm would clip each weight on its own)."
        )
    return line


def _wrap_call(prefix: str, call: str, suffix: str, width: int = 96) -> list[str]:
    """`prefix + call + suffix` on one line, or with the call's arguments on a line of their
    own when that is too long."""
    if len(prefix + call + suffix) <= width:
        return [prefix + call + suffix]
    name, _, args = call.partition("(")
    indent = " " * (len(prefix) - len(prefix.lstrip()))
    return [f"{prefix}{name}(", f"{indent}    {args[:-1]}", f"{indent}){suffix}"]


def _training(plan: Plan, notes: list[str]) -> str:
    n, bs = plan.n_train, plan.config.train.batch_size
    if n > bs and n % bs == 1:
        notes.append(
            "dlviz drops a last batch of one sample each epoch (batch norm cannot learn from "
            "one); Keras trains on it."
        )
    verbose = 2 if plan.epochs <= 50 else 0
    lines = [
        section("training"),
        "model.compile(",
        *_wrap_call("    optimizer=", _optimizer(plan, notes), ","),
        "    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),",
        '    metrics=["accuracy"],',
        ")",
        "model.fit(",
        "    x_train,",
        "    y_train,",
        "    batch_size=BATCH_SIZE,",
        "    epochs=EPOCHS,",
        "    validation_data=(x_test, y_test),",
        f"    verbose={verbose},  # " + ("a line an epoch" if verbose else "quiet: many epochs"),
        ")",
    ]
    return "\n".join(lines)


def _evaluation(plan: Plan) -> str:
    acc = f"{plan.test_accuracy:.4f}" if plan.test_accuracy is not None else "not recorded"
    return "\n".join(
        [
            section("the test"),
            "test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)",
            'print(f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.4f} '
            f'(the dlviz run: {acc})")',
            'print(json.dumps({"test_accuracy": float(test_accuracy), "test_loss": '
            "float(test_loss)}))",
        ]
    )
