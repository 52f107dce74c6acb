"""Run configuration: one frozen `RunConfig` = data + model + train, with a JSON round trip.

Every field is declared once here with its default; a bad value raises one `ConfigError` that
names the field (``train.lr``) and says what would be accepted.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from dlviz import jsonread

TOY_DATASETS = ("circle", "xor", "gauss", "spiral", "moons")
# folder, zip: a person's own images on disk; upload: images uploaded in a browser session (they
# live in that session only, so a run store's copy of such a config cannot be loaded again)
IMAGE_DATASETS = ("digits", "shapes", "folder", "zip", "upload")
# Sequences (the Sequence lab). Symbol tasks (dlviz.data.symbols): generation tasks predict their
# answer token by token, the others one class a sequence (parens: one depth a token).
SYMBOL_DATASETS = (
    "copy", "reverse", "sort", "addition", "parity", "parens", "temporal_order", "recall",
)  # fmt: skip
# own_text: a person's text for character-level modelling; own_labels: a CSV of text,label rows.
# With `path` they are read from that file; without, they are given to the run in memory (text
# pasted or uploaded in a browser session, which a run store's copy cannot load again).
TEXT_DATASETS = ("sentiment", "chars", "own_text", "own_labels")
# Time series to forecast `horizon` steps ahead from the last `length` values; own_series: a
# CSV of one numeric column, from `path` or given in memory as the own_* text sets are.
SERIES_DATASETS = ("sines", "arma", "seasonal", "mackey_glass", "own_series")
SEQUENCE_DATASETS = SYMBOL_DATASETS + TEXT_DATASETS + SERIES_DATASETS
# Sounds (the Sound lab): generated class sets (dlviz.data.sounds), spoken digits synthesised by
# espeak-ng (dlviz.data.spoken), and a person's recordings: a folder of class folders or a ZIP
# of them at `path` (audio_folder, audio_zip), or clips given to the run in memory
# (audio_upload: uploaded or recorded in a browser session, which a stored config cannot load
# again).
SOUND_DATASETS = (
    "tones", "chirps", "vowels", "noises", "spoken_digits", "audio_folder", "audio_zip",
    "audio_upload",
)  # fmt: skip
GENERATED_SOUNDS = ("tones", "chirps", "vowels", "noises", "spoken_digits")
# The Generative lab's 2-D distributions (dlviz.data.gen2d): ring (8 Gaussians) and grid (25)
# have known modes; moons and spiral are the Playground's sets taken as one distribution.
# drawn: a distribution a person draws on the page, or gives as a CSV of points (data.path).
GEN2D_DATASETS = ("ring", "grid", "moons", "spiral", "swiss", "drawn")
GENERATIVE_DATA = GEN2D_DATASETS + ("digits", "shapes")
CLASSED_IMAGES = ("digits", "shapes")  # what a conditional GAN learns: images with classes
UNLABELLED_2D = ("ring", "grid", "swiss", "drawn")  # 2-D sets the Playground does not have
DATASETS = TOY_DATASETS + IMAGE_DATASETS + SEQUENCE_DATASETS + SOUND_DATASETS + UNLABELLED_2D
# What a sound network reads: a log-mel spectrogram, a log power spectrogram (the STFT), MFCCs
# (dlviz.audio_features) or the raw wave (a cnn1d).
SOUND_FEATURES = ("mel", "stft", "mfcc", "wave")
MAX_CLIP_SECONDS = 4.0
# What a sequence dataset asks of its network: one class a sequence, a token at each position
# (generation and character models predict the next token from the ones before), or the next
# `horizon` values of a series.
GENERATION_DATASETS = ("copy", "reverse", "sort", "addition", "chars", "own_text")
TAGGING_DATASETS = ("parens",)
MAX_SEQUENCE_LENGTH = 256
# data.length 0 takes these: symbols a sequence (addition: digits a number), characters of
# context, or past values a forecast sees. sentiment, own_labels: 0 is the longest sentence.
LENGTH_DEFAULT = {
    "copy": 8, "reverse": 8, "sort": 8, "addition": 3, "parity": 8, "parens": 12,
    "temporal_order": 20, "recall": 8, "chars": 32, "own_text": 32,
    "sines": 32, "arma": 32, "seasonal": 32, "mackey_glass": 32, "own_series": 32,
}  # fmt: skip
HORIZON_DEFAULT = 8
IMAGE_SIZE_DEFAULT = {"digits": 8, "shapes": 32, "folder": 32, "zip": 32, "upload": 32}
DIGITS_COUNT = 1797
MAX_IMAGE_VALUES = 60_000_000  # n_samples * channels * size^2: about 240 MB as float32
SEQUENCE_ARCHS = ("rnn", "lstm", "gru", "cnn1d", "transformer", "bow")
RECURRENT_ARCHS = ("rnn", "lstm", "gru")
# Generative models (dlviz.models.generative): they learn the data's distribution, not a label.
GENERATIVE_ARCHS = ("gan", "vae", "diffusion", "flow")
GAN_LOSSES = ("minimax", "nonsaturating", "lsq", "wgan_gp", "hinge")
SCHEDULES = ("linear", "cosine")
ARCHS = ("mlp", "cnn", "zoo") + SEQUENCE_ARCHS + GENERATIVE_ARCHS
POSITIONS = ("learned", "sinusoidal")
CONV_PADDINGS = ("", "causal", "same")
MAX_SEQUENCE_LAYERS = 4
MAX_HEADS = 8
# zoo: ImageNet models of torchvision and timm, used as Transfer backbones where the library and
# the model's weights are installed (dlviz.models.zoo)
ZOO_MODELS = (
    "torchvision:resnet18",
    "torchvision:mobilenet_v3_small",
    "timm:resnet18",
    "timm:mobilenetv3_small_100",
)
POOLS = ("none", "max", "avg")
HEAD_POOLS = ("avg", "flatten")
MAX_BLOCKS = 32
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
NORMS = ("none", "batch", "layer")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
MAX_HIDDEN_LAYERS = 32
MAX_WIDTH = 1024
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


class ConfigError(ValueError):
    """A configuration value is wrong. `field` is the dotted name, e.g. ``train.lr``."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def _check_number(
    name: str,
    value: Any,
    *,
    kind: type,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(name, f"must be a number, got {value!r}")
    if kind is int and not isinstance(value, int):
        raise ConfigError(name, f"must be a whole number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):  # a whole number is finite
        raise ConfigError(name, f"must be a finite number, got {value!r}")
    if lo is not None and (value <= lo if lo_open else value < lo):
        bound = f"greater than {lo}" if lo_open else f"at least {lo}"
        raise ConfigError(name, f"must be {bound}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(name, f"must be at most {hi}, got {value!r}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}; got {value!r}")


@dataclass(frozen=True)
class DataConfig:
    """Which dataset, how many samples, how noisy, how it is split.

    Image datasets also use `image_size` (0: the dataset's own, 8 for digits and 32 for
    shapes), `channels` (1 grey or 3 RGB; shapes only) and `clutter` (faint distractor strokes
    per shapes image). 2-D datasets ignore those three.
    """

    name: str = "spiral"
    n_samples: int = 1000
    noise: float = 0.1
    test_fraction: float = 0.3
    seed: int = 0
    image_size: int = 0
    channels: int = 1
    clutter: int = 0
    path: str = ""  # folder / zip: a folder of class folders, or a ZIP of them
    # keep at most this many training samples per class (0: all); the test set stays whole.
    # Which ones is fixed by `seed`: the data-efficiency experiment of the Transfer page.
    per_class: int = 0
    # sequences: symbols a sequence, characters of context or past values seen (0: the
    # dataset's own, LENGTH_DEFAULT), and for series the steps ahead to forecast
    length: int = 0
    horizon: int = 0
    # sounds: what the network reads (SOUND_FEATURES), the STFT's window and hop in samples at
    # 16 kHz (400 and 160: 25 ms windows every 10 ms), mel bands, and each clip's length
    features: str = "mel"
    window: int = 400
    hop: int = 160
    mels: int = 40
    seconds: float = 1.0

    def __post_init__(self) -> None:
        _check_choice("data.name", self.name, DATASETS)
        # An upload may be tiny (a few photos of two classes); generated sets have at least 10.
        low = 2 if self.name == "upload" else 10
        _check_number("data.n_samples", self.n_samples, kind=int, lo=low, hi=200_000)
        _check_number("data.noise", self.noise, kind=float, lo=0.0, hi=1.0)
        _check_number("data.test_fraction", self.test_fraction, kind=float, lo=0.05, hi=0.95)
        _check_number("data.seed", self.seed, kind=int, lo=0, hi=2**31 - 1)
        _check_number("data.image_size", self.image_size, kind=int, lo=0, hi=64)
        _check_number("data.clutter", self.clutter, kind=int, lo=0, hi=20)
        _check_number("data.per_class", self.per_class, kind=int, lo=0, hi=200_000)
        if self.channels not in (1, 3) or isinstance(self.channels, bool):
            raise ConfigError(
                "data.channels", f"must be 1 (grey) or 3 (RGB), got {self.channels!r}"
            )
        if self.name == "digits":
            if self.n_samples > DIGITS_COUNT:
                raise ConfigError(
                    "data.n_samples",
                    f"digits has {DIGITS_COUNT} images; choose at most {DIGITS_COUNT}",
                )
            if self.channels != 1:
                raise ConfigError("data.channels", "digits are grey: channels must be 1")
            if self.image_size and self.image_size < 8:
                raise ConfigError("data.image_size", "digits are 8x8: choose 8 to 64 (0: 8)")
        if self.name in ("folder", "zip", "upload") and self.image_size and self.image_size < 8:
            raise ConfigError("data.image_size", "choose 8 to 64 pixels (0: 32)")
        _check_number("data.length", self.length, kind=int, lo=0, hi=MAX_SEQUENCE_LENGTH)
        _check_number("data.horizon", self.horizon, kind=int, lo=0, hi=64)
        if self.horizon and self.name not in SERIES_DATASETS:
            raise ConfigError(
                "data.horizon", f"only time series are forecast; {self.name} takes no horizon"
            )
        if self.is_sequence:
            self._check_sequence()
            if self.per_class:
                raise ConfigError(
                    "data.per_class",
                    "keeps k images of each class; sequences take data.n_samples instead",
                )
        if not isinstance(self.path, str) or len(self.path) > 4096:
            raise ConfigError("data.path", "must be a file or folder path (text)")
        self._check_sound()
        if self.name in ("folder", "zip"):
            if not isinstance(self.path, str) or not self.path:
                raise ConfigError(
                    "data.path",
                    f"{self.name} needs a path: "
                    + ("a folder with one sub-folder of images per class" if self.name == "folder"
                       else "a ZIP file whose top-level folders are the classes"),
                )  # fmt: skip
        if self.name == "drawn" and not self.path:
            raise ConfigError(
                "data.path",
                "drawn needs a path: a CSV of points x,y (and optionally a weight), as the "
                "Generative page's drawing downloads",
            )
        if self.name == "shapes":
            if self.image_size and self.image_size < 16:
                raise ConfigError("data.image_size", "shapes need 16 to 64 pixels (0: 32)")
            values = self.n_samples * self.channels * self.size**2
            if values > MAX_IMAGE_VALUES:
                raise ConfigError(
                    "data.n_samples",
                    f"{self.n_samples:,} images of {self.channels}x{self.size}x{self.size} would "
                    f"take {values * 4 / 1e9:.1f} GB; choose fewer or smaller images",
                )

    def _check_sound(self) -> None:
        _check_choice("data.features", self.features, SOUND_FEATURES)
        _check_number("data.window", self.window, kind=int, lo=64, hi=2048)
        _check_number("data.hop", self.hop, kind=int, lo=16, hi=2048)
        if self.hop > self.window:
            raise ConfigError(
                "data.hop",
                f"must be at most the window ({self.window} samples), or samples would be "
                f"skipped; got {self.hop}",
            )
        bins = self.window // 2 + 1
        _check_number("data.mels", self.mels, kind=int, lo=8, hi=128)
        if self.mels > bins:
            raise ConfigError(
                "data.mels",
                f"a window of {self.window} samples has {bins} frequency bins: choose at most "
                f"{bins} mel bands, or a longer window",
            )
        _check_number("data.seconds", self.seconds, kind=float, lo=0.25, hi=MAX_CLIP_SECONDS)
        if self.is_sound:
            frames = int(self.seconds * 16_000) // self.hop + 1
            if frames < 8:
                raise ConfigError(
                    "data.hop",
                    f"{self.seconds:g} s clips with a hop of {self.hop} samples give {frames} "
                    "frames; choose a shorter hop (at least 8 frames a clip)",
                )
            if self.per_class:
                raise ConfigError(
                    "data.per_class", "keeps k images of each class; sounds take data.n_samples"
                )
            if self.name in ("audio_folder", "audio_zip") and not self.path:
                raise ConfigError(
                    "data.path",
                    f"{self.name} needs a path: "
                    + ("a folder with one sub-folder of recordings per class"
                       if self.name == "audio_folder"
                       else "a ZIP file whose top-level folders are the classes"),
                )  # fmt: skip

    def _check_sequence(self) -> None:
        from dlviz.data.symbols import min_length  # numpy only; no cycle

        n = self.seq_length
        if self.name in SYMBOL_DATASETS:
            if n < min_length(self.name):
                raise ConfigError(
                    "data.length", f"{self.name} needs a length of at least {min_length(self.name)}"
                )
            if self.name == "parens" and n % 2:
                raise ConfigError("data.length", "parens needs an even length (balanced brackets)")
            if self.name == "recall" and n > 54:
                raise ConfigError(
                    "data.length", "recall has 26 keys: choose a length of 54 or less"
                )
            if self.name == "addition" and n > 60:
                raise ConfigError("data.length", "addition takes numbers of at most 60 digits")
        elif self.name in ("chars", "own_text") and n < 2:
            raise ConfigError(
                "data.length", "a character model needs at least 2 characters of context"
            )
        elif self.is_series and n < 2:
            raise ConfigError("data.length", "a forecast needs at least 2 past values")

    @property
    def is_image(self) -> bool:
        return self.name in IMAGE_DATASETS

    @property
    def is_sequence(self) -> bool:
        return self.name in SEQUENCE_DATASETS

    @property
    def is_sound(self) -> bool:
        return self.name in SOUND_DATASETS

    @property
    def is_series(self) -> bool:
        return self.name in SERIES_DATASETS

    @property
    def task(self) -> str:
        """What a network predicts of this data: ``class`` (one class a sample: points,
        images, most sequence tasks), ``tokens`` (a token at each position) or ``forecast``."""
        if self.name in GENERATION_DATASETS or self.name in TAGGING_DATASETS:
            return "tokens"
        if self.is_series:
            return "forecast"
        return "class"

    @property
    def seq_length(self) -> int:
        """data.length, or the dataset's default when 0 (sequences only)."""
        return self.length or LENGTH_DEFAULT.get(self.name, 0)

    @property
    def seq_horizon(self) -> int:
        """data.horizon, or HORIZON_DEFAULT when 0 (series only)."""
        return (self.horizon or HORIZON_DEFAULT) if self.is_series else 0

    @property
    def size(self) -> int:
        """The image side in pixels (image datasets only)."""
        return self.image_size or IMAGE_SIZE_DEFAULT.get(self.name, 0)


@dataclass(frozen=True)
class ConvBlock:
    """One convolutional block: conv (kernel, stride, 'same' padding) -> norm -> activation ->
    dropout, plus its input when `residual`, then optional 2x2 pooling. Empty `norm` and
    `activation`, and None `residual` and `dropout`, take the model's own setting."""

    channels: int = 16
    kernel: int = 3
    stride: int = 1
    pool: str = "none"
    norm: str = ""
    activation: str = ""
    residual: bool | None = None
    dropout: float | None = None

    def validate(self, where: str) -> None:
        _check_number(f"{where}.channels", self.channels, kind=int, lo=1, hi=512)
        _check_number(f"{where}.kernel", self.kernel, kind=int, lo=1, hi=9)
        if self.kernel % 2 == 0:
            raise ConfigError(
                f"{where}.kernel", f"must be odd (1, 3, 5, 7 or 9), got {self.kernel}"
            )
        _check_number(f"{where}.stride", self.stride, kind=int, lo=1, hi=4)
        _check_choice(f"{where}.pool", self.pool, POOLS)
        if self.norm:
            _check_choice(f"{where}.norm", self.norm, NORMS)
        if self.activation:
            _check_choice(f"{where}.activation", self.activation, ACTIVATIONS)
        if self.residual is not None and not isinstance(self.residual, bool):
            raise ConfigError(
                f"{where}.residual", f"must be true, false or null, got {self.residual!r}"
            )
        if self.dropout is not None:
            _check_number(f"{where}.dropout", self.dropout, kind=float, lo=0.0, hi=0.9)


# The Image lab's CNN presets: one 5x5 conv (Shallow); eight 3x3 convs with three poolings (Deep).
SHALLOW_BLOCKS = (ConvBlock(channels=16, kernel=5),)
DEEP_BLOCKS = tuple(
    ConvBlock(channels=c, kernel=3, pool=p)
    for c, p in (
        (16, "none"), (16, "max"), (32, "none"), (32, "max"),
        (64, "none"), (64, "max"), (64, "none"), (64, "none"),
    )
)  # fmt: skip


@dataclass(frozen=True)
class ModelConfig:
    """The network.

    mlp: `hidden` is one width per hidden layer, input to output.
    cnn: `blocks` are the convolutional blocks, input to output; then the feature maps are
    averaged per channel (`head_pool` "avg") or flattened ("flatten"), go through the `head`
    hidden layers (may be empty) and a linear layer to the classes. `activation`, `norm`,
    `residual` and `dropout` apply to every layer, unless a block sets its own.
    """

    arch: str = "mlp"
    hidden: tuple[int, ...] = (8, 8, 8)
    activation: str = "relu"
    residual: bool = False
    norm: str = ""  # not given: none, except batch for a cnn on the Deep preset (below)
    dropout: float = 0.0
    # None: not given. A cnn then takes the Image lab's Deep preset (DEEP_BLOCKS); an empty
    # list given on purpose is an error.
    # After __post_init__ always a tuple, so that is its type; None is only the default.
    blocks: tuple[ConvBlock, ...] = None  # type: ignore[assignment]
    head: tuple[int, ...] = ()
    head_pool: str = "avg"
    zoo: str = ""  # arch "zoo": which ImageNet model (ZOO_MODELS)
    # Sequence models: `hidden_size` units a layer (the width of a transformer), `layers`
    # stacked, `heads` of attention (transformer), `positions` learned or sinusoidal
    # (transformer), the bias at initialisation of the gate that keeps the memory (the LSTM's
    # forget gate, the GRU's update gate), and a cnn1d's `kernel` and
    # `padding` ("causal": each output sees only the past; "same": both sides; "": causal for
    # per-token tasks and forecasts, same for one class a sequence).
    hidden_size: int = 64
    layers: int = 1
    heads: int = 2
    positions: str = "learned"
    forget_bias: float = 1.0
    kernel: int = 3
    padding: str = ""
    # Generative models: `hidden` is the generator's (or the VAE's, the noise or velocity
    # network's) widths, `hidden_d` the discriminator's (empty: the same); a GAN's `loss` and
    # discriminator steps per generator step (`d_steps`); the `latent` size (GAN, VAE); the
    # VAE's `beta`; diffusion's `steps` and noise `schedule`, and a flow's sampling `steps`
    # (0: 100 for diffusion, 50 for a flow). A `conditional` GAN learns images with classes
    # (digits, shapes) and draws the class it is asked for.
    hidden_d: tuple[int, ...] = ()
    loss: str = "nonsaturating"
    d_steps: int = 1
    latent: int = 2
    beta: float = 1.0
    steps: int = 0
    schedule: str = "linear"
    conditional: bool = False

    def __post_init__(self) -> None:
        _check_choice("model.arch", self.arch, ARCHS)
        _check_choice("model.loss", self.loss, GAN_LOSSES)
        _check_number("model.d_steps", self.d_steps, kind=int, lo=1, hi=10)
        _check_number("model.latent", self.latent, kind=int, lo=1, hi=256)
        _check_number("model.beta", self.beta, kind=float, lo=0.0, hi=100.0)
        _check_number("model.steps", self.steps, kind=int, lo=0, hi=2000)
        _check_choice("model.schedule", self.schedule, SCHEDULES)
        if not isinstance(self.conditional, bool):
            raise ConfigError(
                "model.conditional", f"must be true or false, got {self.conditional!r}"
            )
        if self.conditional and self.arch != "gan":
            raise ConfigError(
                "model.conditional",
                f"conditions a GAN on the class; a {self.arch} takes no class: set it to false, "
                "or choose model.arch gan",
            )
        object.__setattr__(
            self, "hidden_d", _widths("model.hidden_d", self.hidden_d, 0, MAX_HIDDEN_LAYERS)
        )
        _check_number("model.hidden_size", self.hidden_size, kind=int, lo=1, hi=MAX_WIDTH)
        _check_number("model.layers", self.layers, kind=int, lo=1, hi=MAX_SEQUENCE_LAYERS)
        _check_number("model.heads", self.heads, kind=int, lo=1, hi=MAX_HEADS)
        _check_choice("model.positions", self.positions, POSITIONS)
        _check_number("model.forget_bias", self.forget_bias, kind=float, lo=-10.0, hi=10.0)
        _check_number("model.kernel", self.kernel, kind=int, lo=1, hi=15)
        _check_choice("model.padding", self.padding, CONV_PADDINGS)
        if self.arch == "transformer" and self.hidden_size % self.heads:
            raise ConfigError(
                "model.heads",
                f"must divide the width (model.hidden_size {self.hidden_size}): each head "
                f"takes an equal share; try {_divisor_near(self.hidden_size, self.heads)}",
            )
        if self.arch == "zoo":
            _check_choice("model.zoo", self.zoo, ZOO_MODELS)
        object.__setattr__(
            self, "hidden", _widths("model.hidden", self.hidden, 1, MAX_HIDDEN_LAYERS)
        )
        _check_choice("model.activation", self.activation, ACTIVATIONS)
        if not isinstance(self.residual, bool):
            raise ConfigError("model.residual", f"must be true or false, got {self.residual!r}")
        _check_number("model.dropout", self.dropout, kind=float, lo=0.0, hi=0.9)
        if self.blocks is None:  # a cnn without blocks is the Deep preset, batch norm and all
            deep = self.arch == "cnn"
            object.__setattr__(self, "blocks", DEEP_BLOCKS if deep else ())
            if deep and self.norm == "":
                object.__setattr__(self, "norm", "batch")
        if self.norm == "":
            object.__setattr__(self, "norm", "none")
        _check_choice("model.norm", self.norm, NORMS)
        if isinstance(self.blocks, (str, bytes)) or not hasattr(self.blocks, "__iter__"):
            raise ConfigError("model.blocks", f"must be a list of blocks, got {self.blocks!r}")
        blocks = []
        for i, b in enumerate(self.blocks):
            if isinstance(b, dict):
                known = {f.name for f in fields(ConvBlock)}
                extra = set(b) - known
                if extra:
                    raise ConfigError(
                        f"model.blocks[{i}].{_shown(sorted(extra)[0])}",
                        f"is not a known field (known: {', '.join(sorted(known))})",
                    )
                b = ConvBlock(**b)
            if not isinstance(b, ConvBlock):
                raise ConfigError(f"model.blocks[{i}]", f"must be a block object, got {b!r}")
            b.validate(f"model.blocks[{i}]")
            blocks.append(b)
        object.__setattr__(self, "blocks", tuple(blocks))
        if self.arch == "cnn" and not 1 <= len(blocks) <= MAX_BLOCKS:
            raise ConfigError(
                "model.blocks", f"a cnn needs 1 to {MAX_BLOCKS} blocks, got {len(blocks)}"
            )
        object.__setattr__(self, "head", _widths("model.head", self.head, 0, 4, hi=4096))
        _check_choice("model.head_pool", self.head_pool, HEAD_POOLS)

    @property
    def depth(self) -> int:
        if self.is_generative:
            return len(self.hidden)
        if self.is_sequence:
            return self.layers
        return len(self.blocks) if self.arch == "cnn" else len(self.hidden)

    @property
    def is_sequence(self) -> bool:
        return self.arch in SEQUENCE_ARCHS

    @property
    def is_generative(self) -> bool:
        return self.arch in GENERATIVE_ARCHS


def _divisor_near(n: int, k: int) -> int:
    """The divisor of `n` nearest `k` (heads that fit a width)."""
    return min((d for d in range(1, MAX_HEADS + 1) if n % d == 0), key=lambda d: (abs(d - k), d))


def _widths(
    name: str, value: Any, lo_count: int, hi_count: int, hi: int = MAX_WIDTH
) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(name, f"must be a list of layer widths, got {value!r}")
    widths = tuple(value)
    if not lo_count <= len(widths) <= hi_count:
        raise ConfigError(name, f"must have {lo_count} to {hi_count} layers, got {len(widths)}")
    for i, width in enumerate(widths):
        _check_number(f"{name}[{i}]", width, kind=int, lo=1, hi=hi)
    return widths


@dataclass(frozen=True)
class AugmentConfig:
    """Random changes to each training image, drawn afresh every time it is used (images only;
    test images are never changed). All off by default."""

    flip: bool = False  # mirror left-right, half of the images
    crop: float = 0.0  # shift by up to this share of the side, e.g. 0.1 (a random crop)
    rotate: float = 0.0  # rotate by up to this many degrees either way, e.g. 15
    jitter: float = 0.0  # brightness and contrast change by up to this share, e.g. 0.2
    # Sounds: each training clip shifted in time by up to this share of its length (wrapping
    # round), white noise added at up to this share of the clip's own level, its gain changed
    # by up to this many dB either way; then one band of up to `time_mask` frames and one of
    # up to `freq_mask` spectrogram rows blanked (SpecAugment)
    shift: float = 0.0
    noise: float = 0.0
    gain: float = 0.0
    time_mask: int = 0
    freq_mask: int = 0

    def validate(self) -> None:
        if not isinstance(self.flip, bool):
            raise ConfigError("train.augment.flip", f"must be true or false, got {self.flip!r}")
        _check_number("train.augment.crop", self.crop, kind=float, lo=0.0, hi=0.5)
        _check_number("train.augment.rotate", self.rotate, kind=float, lo=0.0, hi=180.0)
        _check_number("train.augment.jitter", self.jitter, kind=float, lo=0.0, hi=1.0)
        _check_number("train.augment.shift", self.shift, kind=float, lo=0.0, hi=0.5)
        _check_number("train.augment.noise", self.noise, kind=float, lo=0.0, hi=1.0)
        _check_number("train.augment.gain", self.gain, kind=float, lo=0.0, hi=24.0)
        _check_number("train.augment.time_mask", self.time_mask, kind=int, lo=0, hi=200)
        _check_number("train.augment.freq_mask", self.freq_mask, kind=int, lo=0, hi=64)

    @property
    def active(self) -> bool:
        """Any image augmentation on."""
        return self.flip or self.crop > 0 or self.rotate > 0 or self.jitter > 0

    @property
    def sound_active(self) -> bool:
        """Any sound augmentation on."""
        return (
            self.shift > 0 or self.noise > 0 or self.gain > 0 or self.time_mask > 0
            or self.freq_mask > 0
        )  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimizer, learning rate, batches, epochs, seed, device, and (for images)
    augmentation."""

    optimizer: str = "adam"
    lr: float = 0.01
    batch_size: int = 32
    epochs: int = 50
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # evaluate (and report an epoch's metrics) every this many epochs, and after the last: a
    # run of many one-step epochs (a few images) would otherwise spend its time evaluating
    eval_every: int = 1
    # train until stopped (the Playground's default, as TensorFlow Playground does); `epochs` is
    # then not a limit
    until_stopped: bool = False
    # clip the gradient's norm (over all parameters) to this before each step; 0: no clipping.
    # Recurrent networks' gradients can explode through time: sequence models default to 1.
    clip: float = 0.0
    # a GAN's discriminator's learning rate (0: the generator's, `lr`) and optimizer ("": the
    # generator's, `optimizer`)
    lr_d: float = 0.0
    optimizer_d: str = ""
    # fit a linear probe on every layer (dlviz.representations) at most every this many
    # epochs, while the probes cost at most 3% of the training time, and once at the end;
    # 0: no probes. Classification runs only (a forecast or a generative run has no classes).
    probe_every: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.augment, dict):
            known = {f.name for f in fields(AugmentConfig)}
            extra = set(self.augment) - known
            if extra:
                raise ConfigError(
                    f"train.augment.{_shown(sorted(extra)[0])}",
                    f"is not a known field (known: {', '.join(sorted(known))})",
                )
            object.__setattr__(self, "augment", AugmentConfig(**self.augment))
        if not isinstance(self.augment, AugmentConfig):
            raise ConfigError("train.augment", f"must be an object, got {self.augment!r}")
        self.augment.validate()
        _check_choice("train.optimizer", self.optimizer, OPTIMIZERS)
        _check_number("train.lr", self.lr, kind=float, lo=0.0, hi=100.0, lo_open=True)
        _check_number("train.batch_size", self.batch_size, kind=int, lo=1, hi=65_536)
        _check_number("train.epochs", self.epochs, kind=int, lo=1, hi=100_000)
        _check_number("train.weight_decay", self.weight_decay, kind=float, lo=0.0, hi=1.0)
        _check_number("train.seed", self.seed, kind=int, lo=0, hi=2**31 - 1)
        _check_number("train.eval_every", self.eval_every, kind=int, lo=1, hi=100_000)
        _check_number("train.clip", self.clip, kind=float, lo=0.0, hi=1000.0)
        _check_number("train.lr_d", self.lr_d, kind=float, lo=0.0, hi=100.0)
        _check_number("train.probe_every", self.probe_every, kind=int, lo=0, hi=100_000)
        if self.optimizer_d != "":
            _check_choice("train.optimizer_d", self.optimizer_d, OPTIMIZERS)
        if not isinstance(self.until_stopped, bool):
            raise ConfigError(
                "train.until_stopped", f"must be true or false, got {self.until_stopped!r}"
            )
        if not isinstance(self.device, str) or not _DEVICE_RE.match(self.device):
            raise ConfigError(
                "train.device",
                f"must be auto, cpu, cuda, cuda:N or mps; got {self.device!r}",
            )


STRATEGIES = ("scratch", "frozen", "finetune_top", "finetune_all")


@dataclass(frozen=True)
class TransferConfig:
    """Start from a pretrained backbone (dlviz.transfer). With `backbone` set, the network is
    the backbone's convolutional blocks with a new output layer for the run's classes, and the
    run config's `model` section is replaced by the backbone's.

    `backbone`: the name of one of dlviz's own backbones (``dlviz pretrain --list``) or the path
    of a checkpoint (safetensors, or a PyTorch state dict). `strategy`: ``scratch`` (the same
    network, randomly initialised), ``frozen`` (feature extraction: only the new output layer
    trains), ``finetune_top`` (the last `top_blocks` blocks train too) or ``finetune_all``.
    Fine-tuned blocks learn at `backbone_lr_factor` times the learning rate.
    """

    backbone: str = ""
    strategy: str = "frozen"
    top_blocks: int = 2
    backbone_lr_factor: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.backbone, str) or len(self.backbone) > 1000:
            raise ConfigError(
                "transfer.backbone", "must be a backbone's name or a checkpoint's path"
            )
        _check_choice("transfer.strategy", self.strategy, STRATEGIES)
        _check_number("transfer.top_blocks", self.top_blocks, kind=int, lo=1, hi=MAX_BLOCKS)
        _check_number(
            "transfer.backbone_lr_factor",
            self.backbone_lr_factor,
            kind=float,
            lo=0.0,
            hi=1.0,
            lo_open=True,
        )

    @property
    def active(self) -> bool:
        return bool(self.backbone)


def _names_cnn(model: Any) -> bool:
    return isinstance(model, dict) and model.get("arch") == "cnn"


def _names_sequence_model(model: Any) -> bool:
    return isinstance(model, dict) and model.get("arch") in SEQUENCE_ARCHS


# Sequence data, when a config does not say how much: generated sets are cheap and small
# networks need thousands of sequences to generalise rather than memorise.
SEQUENCE_SAMPLES_DEFAULT = 4000
# A sequence model's training, when a config does not say: a gentler learning rate than the
# Playground's (a transformer or an LSTM at 0.01 often blows up) and fewer epochs of more data.
SEQUENCE_TRAIN_DEFAULTS = {"lr": 0.003, "epochs": 30, "batch_size": 64, "clip": 1.0}


# Sounds, when a config does not say: 200 clips a class of the generated sets (spoken digits:
# 10 classes, so 100 each), the Image lab's CNN (or, for the raw wave, a 1-D CNN of three
# blocks), and a short training: a spectrogram network learns these sets in a few epochs.
SOUND_SAMPLES_DEFAULT = {"tones": 800, "chirps": 800, "vowels": 600, "noises": 800,
                         "spoken_digits": 1000}  # fmt: skip
SOUND_TRAIN_DEFAULTS = {"lr": 0.003, "epochs": 12, "batch_size": 32}


def _sound_model(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("features") == "wave":
        return {"arch": "cnn1d", "layers": 3, "hidden_size": 64, "kernel": 3}
    return {"arch": "cnn"}


# Generative models, when a config does not say: 2-D data without extra noise (the modes'
# own spread is the data's), a generator and a discriminator of 3 layers of 128, and enough
# Adam steps (about 4,000) for a GAN to find the ring's modes.
GENERATIVE_DATA_DEFAULTS = {"n_samples": 4000, "noise": 0.0}
GENERATIVE_MODEL_DEFAULTS = {"hidden": [128, 128, 128]}
GENERATIVE_TRAIN_DEFAULTS = {"lr": 0.001, "epochs": 100, "batch_size": 128}
# ... and what each family does well with on the ring in seconds (docs/benchmarks.md): a VAE's
# β of 0.3 (at 1 its samples blur between the modes), a faster learning rate for diffusion
# and a flow, and twice the epochs for diffusion. (model changes, train changes)
GENERATIVE_FAMILY_DEFAULTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "vae": ({"beta": 0.3}, {}),
    "diffusion": ({}, {"lr": 0.003, "epochs": 200}),
    "flow": ({}, {"lr": 0.003}),
}


def _sequence_samples(name: Any) -> dict[str, int]:
    generated = SYMBOL_DATASETS + ("sentiment", "chars", "own_text") + SERIES_DATASETS
    return {"n_samples": SEQUENCE_SAMPLES_DEFAULT} if name in generated else {}


_SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "transfer": TransferConfig,
}


def _shown(key: str) -> str:
    """An unknown key as a message names it: in quotes when it would not show (empty, blank
    or unprintable)."""
    return key if key.strip() and key.isprintable() else json.dumps(key)


def _section(key: str, cls: type, values: dict[str, Any]) -> Any:
    """A config section from a dict; an unknown field is a ConfigError naming it."""
    known = {f.name for f in fields(cls)}
    extra = set(values) - known
    if extra:
        raise ConfigError(
            f"{key}.{_shown(sorted(extra)[0])}",
            f"is not a known field (known: {', '.join(sorted(known))})",
        )
    return cls(**values)


@dataclass(frozen=True)
class RunConfig:
    """A whole run. `name` is an optional label shown in charts and the run store."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    name: str = ""
    transfer: TransferConfig = field(default_factory=TransferConfig)

    def __post_init__(self) -> None:
        for key, cls in _SECTIONS.items():
            if isinstance(getattr(self, key), dict):  # e.g. RunConfig(transfer={...})
                object.__setattr__(self, key, _section(key, cls, getattr(self, key)))
            if not isinstance(getattr(self, key), cls):
                raise ConfigError(key, f"must be a {cls.__name__}")
        if not isinstance(self.name, str) or len(self.name) > 200:
            raise ConfigError("name", "must be text of at most 200 characters")
        if self.model.is_generative or self.data.name in UNLABELLED_2D:
            self._check_generative_pairing()
        elif self.data.is_sound or self.model.arch == "cnn1d" and not self.data.is_sequence:
            self._check_sound_pairing()
        elif self.model.arch == "cnn" and not self.data.is_image and not self.transfer.active:
            raise ConfigError(
                "model.arch",
                f"a cnn needs images, and {self.data.name} is 2-D points: choose data.name "
                "shapes, digits, folder or zip, or the mlp",
            )
        if not self.data.is_sound and not self.model.is_generative:
            self._check_sequence_pairing()
        self._check_augment()
        for name in ("lr_d", "optimizer_d"):
            if getattr(self.train, name) and self.model.arch != "gan":
                raise ConfigError(
                    f"train.{name}",
                    f"is a GAN's discriminator's; a {self.model.arch} has no discriminator: "
                    "leave it out",
                )
        if self.model.norm == "batch" and self.train.batch_size < 2:
            raise ConfigError(
                "train.batch_size",
                "batch norm needs at least 2 samples per batch; choose a batch size of 2 or "
                "more, or layer norm",
            )

    def _check_generative_pairing(self) -> None:
        data, model = self.data, self.model
        if not model.is_generative:
            raise ConfigError(
                "model.arch",
                f"{data.name} is a distribution to learn, with no labels: choose gan, vae, "
                f"diffusion or flow (not {model.arch})",
            )
        if data.name not in GENERATIVE_DATA:
            raise ConfigError(
                "data.name",
                f"a {model.arch} learns 2-D points ({', '.join(GEN2D_DATASETS)}) or images "
                f"(digits, shapes); {data.name} is neither",
            )
        if model.conditional and data.name not in CLASSED_IMAGES:
            raise ConfigError(
                "model.conditional",
                f"a conditional GAN draws the class it is asked for, and {data.name} has no "
                f"classes: choose data.name {' or '.join(CLASSED_IMAGES)}, or set it to false",
            )
        if self.transfer.active:
            raise ConfigError("transfer.backbone", "transfer learning takes classifiers")

    def _check_augment(self) -> None:
        """Augmentation that would do nothing on this data is refused, not silently ignored."""
        aug, data = self.train.augment, self.data
        if data.is_sound:
            if aug.active:
                name = next(n for n in ("flip", "crop", "rotate", "jitter") if getattr(aug, n))
                raise ConfigError(
                    f"train.augment.{name}",
                    "is an image augmentation; sounds take shift, noise, gain, time_mask and "
                    "freq_mask",
                )
            if data.features == "wave" and (aug.time_mask or aug.freq_mask):
                name = "time_mask" if aug.time_mask else "freq_mask"
                raise ConfigError(
                    f"train.augment.{name}",
                    "masks a spectrogram, and data.features wave has none (the network reads "
                    "the raw wave): set it to 0, or choose mel, stft or mfcc",
                )
        elif aug.sound_active:
            name = next(
                n for n in ("shift", "noise", "gain", "time_mask", "freq_mask") if getattr(aug, n)
            )
            raise ConfigError(
                f"train.augment.{name}",
                f"is a sound augmentation, and {data.name} is not a sound set",
            )

    def _check_sound_pairing(self) -> None:
        data, model = self.data, self.model
        if self.transfer.active:
            raise ConfigError("transfer.backbone", "transfer learning takes images, not sounds")
        if not data.is_sound:  # a cnn1d on neither a sequence nor a sound
            return
        if data.features == "wave" and model.arch != "cnn1d":
            raise ConfigError(
                "model.arch",
                f"the raw wave (data.features wave) is read by a 1-D CNN: choose cnn1d (not "
                f"{model.arch}), or a spectrogram (data.features mel, stft or mfcc) for a cnn",
            )
        if data.features != "wave" and model.arch != "cnn":
            raise ConfigError(
                "model.arch",
                f"a {data.features} spectrogram is read by a 2-D CNN: choose cnn (not "
                f"{model.arch}), or data.features wave for a cnn1d",
            )

    def _check_sequence_pairing(self) -> None:
        data, model = self.data, self.model
        if self.transfer.active:
            if data.is_sequence:
                raise ConfigError(
                    "transfer.backbone", "transfer learning takes images, not sequences"
                )
            return
        if data.is_sequence and not model.is_sequence:
            raise ConfigError(
                "model.arch",
                f"{data.name} is a sequence: choose rnn, lstm, gru, cnn1d, transformer or bow "
                f"(not {model.arch})",
            )
        if model.is_sequence and not data.is_sequence:
            raise ConfigError(
                "model.arch",
                f"{model.arch} reads sequences, and {data.name} is not one: choose a symbol task, "
                "text or a time series (e.g. data.name temporal_order, sentiment or sines)",
            )
        if model.arch == "bow" and data.task != "class":
            raise ConfigError(
                "model.arch",
                "bow (a bag of words) gives one class a sequence from its words, ignoring "
                f"their order; {data.name} asks for "
                + ("a forecast" if data.is_series else "a token at each position")
                + ": choose rnn, lstm, gru, cnn1d or transformer",
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model"]["hidden"] = list(self.model.hidden)
        d["model"]["head"] = list(self.model.head)
        d["model"]["hidden_d"] = list(self.model.hidden_d)
        d["model"]["blocks"] = [asdict(b) for b in self.model.blocks]
        if not self.name:
            del d["name"]
        if self.transfer == TransferConfig():  # most runs: keep their config as it always was
            del d["transfer"]
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: Any) -> RunConfig:
        """Build from a dict; missing fields take their defaults, unknown ones are an error."""
        if not isinstance(d, dict):
            raise ConfigError("config", f"must be a JSON object, got {type(d).__name__}")
        unknown = set(d) - set(_SECTIONS) - {"name"}
        if unknown:
            raise ConfigError(
                _shown(sorted(unknown)[0]),
                "is not a config section (expected data, model, train, transfer, name)",
            )
        parts: dict[str, Any] = {}
        data_section = d.get("data", {})
        sound = isinstance(data_section, dict) and data_section.get("name") in SOUND_DATASETS
        model_section = d.get("model", {})
        data_name = data_section.get("name") if isinstance(data_section, dict) else None
        generative = (
            isinstance(model_section, dict) and model_section.get("arch") in GENERATIVE_ARCHS
        ) or (  # a distribution with no labels: a generative model's data, and its default
            data_name in UNLABELLED_2D
            and not (isinstance(model_section, dict) and "arch" in model_section)
        )
        for key, section_cls in _SECTIONS.items():
            section = d.get(key, {})
            if not isinstance(section, dict):
                raise ConfigError(key, f"must be a JSON object, got {section!r}")
            if generative and key == "data":
                section = {"name": "ring", **GENERATIVE_DATA_DEFAULTS, **section}
                if section["name"] == "digits" and "n_samples" not in d.get("data", {}):
                    section["n_samples"] = DIGITS_COUNT  # all of them: fewer than 4,000
            if generative and key == "model":
                arch = section.get("arch", "gan")
                family = GENERATIVE_FAMILY_DEFAULTS.get(arch, ({}, {}))[0]
                section = {"arch": "gan", **GENERATIVE_MODEL_DEFAULTS, **family, **section}
                if section.get("loss") == "wgan_gp" and "d_steps" not in section:
                    section["d_steps"] = 5  # a critic trained 5 steps to each (Gulrajani et al.)
            if generative and key == "train":
                arch = (
                    model_section.get("arch", "gan") if isinstance(model_section, dict) else "gan"
                )
                family = GENERATIVE_FAMILY_DEFAULTS.get(arch, ({}, {}))[1]
                section = {**GENERATIVE_TRAIN_DEFAULTS, **family, **section}
            if key == "data" and "name" not in section and _names_cnn(d.get("model")):
                section = {**section, "name": "shapes"}  # a cnn's default data: images
            if key == "data" and "name" not in section and _names_sequence_model(d.get("model")):
                section = {**section, "name": "temporal_order"}  # a sequence model's default
            if key == "data" and "n_samples" not in section:
                section = {**section, **_sequence_samples(section.get("name"))}
                if (
                    isinstance(section.get("name"), str)
                    and section["name"] in SOUND_SAMPLES_DEFAULT
                ):
                    section["n_samples"] = SOUND_SAMPLES_DEFAULT[section["name"]]
            if key == "model" and sound and "arch" not in section:
                section = {**_sound_model(d.get("data", {})), **section}
            if key == "train" and sound:
                section = {**SOUND_TRAIN_DEFAULTS, **section}
            elif key == "train" and _names_sequence_model(d.get("model")):
                section = {**SEQUENCE_TRAIN_DEFAULTS, **section}
            parts[key] = _section(key, section_cls, section)
        return cls(**parts, name=d.get("name", ""))

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        try:
            d = jsonread.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError("config", f"is not valid JSON ({e.msg} at line {e.lineno})") from e
        except jsonread.NestedTooDeep as e:
            raise ConfigError("config", "nests lists or objects too deeply to read") from e
        except ValueError as e:  # a number of more digits than Python reads (4,300)
            raise ConfigError("config", "holds a number with too many digits to read") from e
        return cls.from_dict(d)

    def with_changes(self, **sections: Any) -> RunConfig:
        """Copy with some fields changed, e.g. ``cfg.with_changes(train={"lr": 0.1})``."""
        parts = {k: replace(getattr(self, k), **v) for k, v in sections.items() if k in _SECTIONS}
        if "name" in sections:
            parts["name"] = sections["name"]
        return replace(self, **parts)


SHALLOW_HIDDEN = (8,)
DEEP_HIDDEN = (8, 8, 8, 8, 8, 8)


def preset(kind: str, base: RunConfig | None = None) -> RunConfig:
    """The Shallow (1 hidden layer) or Deep (6 hidden layers) preset, on `base`'s data and training."""
    base = base or RunConfig()
    if kind == "shallow":
        return base.with_changes(model={"hidden": SHALLOW_HIDDEN}, name="shallow")
    if kind == "deep":
        return base.with_changes(model={"hidden": DEEP_HIDDEN}, name="deep")
    raise ConfigError("preset", f"must be shallow or deep, got {kind!r}")
