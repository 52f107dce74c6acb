"""The Generative lab's settings: the data (a 2-D distribution, digits or shapes), the family
(GAN, VAE, diffusion, flow) and its settings, training; what they make (RunConfigs) and the
Train, twin and race callbacks. Every widget key starts with ``gn_``; the live view is in
`dlviz.labs.generative.view`."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dlviz.config import (
    GAN_LOSSES,
    GENERATIVE_ARCHS,
    OPTIMIZERS,
    SCHEDULES,
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
)
from dlviz.labs.generative import widgets_draw as draw
from dlviz.text import plural
from dlviz.ui import fields, layout, live, state, url_state
from dlviz.ui import widgets as shared_widgets

KEEP = "session"  # widget values survive a page switch
VIEW = "gn_view"
PROBLEM = "gn_problem"
NUMBER_KEYS = ("gn_data_seed", "gn_epochs", "gn_seed")

DATA_NAMES = {
    "ring": "the ring of 8 Gaussians",
    "grid": "the grid of 25 Gaussians",
    "moons": "two moons",
    "spiral": "the spiral",
    "swiss": "the swiss roll",
    "drawn": "your drawing",
    "digits": "8x8 digits",
    "shapes": "16x16 shapes",
}
DATA_LABELS = {
    "ring": "Ring: 8 Gaussians",
    "grid": "Grid: 25 Gaussians",
    "moons": "Two moons",
    "spiral": "Spiral",
    "swiss": "Swiss roll",
    "drawn": "Your drawing",
    "digits": "Digits (8x8 images)",
    "shapes": "Shapes (16x16 images)",
}
IMAGE_DATA = ("digits", "shapes")  # images with classes: what a conditional GAN can learn
SHAPES_SIZE = 16  # the shapes' side: the smallest they are drawn at, 256 values an image
OPTIMIZER_LABELS = {
    "": "as the generator's",
    "sgd": "SGD",
    "momentum": "SGD with momentum",
    "adam": "Adam",
    "adamw": "AdamW",
}
FAMILY_LABELS = {"gan": "GAN", "vae": "VAE", "diffusion": "Diffusion", "flow": "Flow matching"}
LOSS_LABELS = {
    "minimax": "minimax (the original)",
    "nonsaturating": "non-saturating",
    "lsq": "least squares",
    "wgan_gp": "Wasserstein + gradient penalty",
    "hinge": "hinge",
}
SAMPLES = (1000, 2000, 4000, 8000)
WIDTHS = (32, 64, 128, 256)
DEPTHS = (1, 2, 3, 4)
D_STEPS = (1, 2, 3, 5)
LR_D_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
OPTIMIZERS_D = ("", *OPTIMIZERS)  # "": as the generator's
WIDTHS_D = (0, *WIDTHS)  # 0: as the generator's
DEPTHS_D = (0, *DEPTHS)
LATENTS = (1, 2, 4, 8, 16)
BETAS = (0.01, 0.1, 0.3, 0.5, 1.0, 2.0, 4.0)  # 0.3: the default, and the race's
NOISE_STEPS = (20, 50, 100, 200)
# The twins: the same data, seed and training, one setting apart.
# On the ring, on the defaults, the first covers the 8 modes and the second collapses onto one
# to four (data and training seeds 0 to 2; docs/benchmarks.md): the minimax generator's
# gradient fades where a discriminator trained 5 steps to its 1 is sure of itself.
TWINS: tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]] = (
    ("non-saturating", {"loss": "nonsaturating", "d_steps": 1}),
    ("minimax, 5 D steps", {"loss": "minimax", "d_steps": 5}),
)
# The race: each family with the settings it does well with on the 2-D sets in about as many
# seconds (a VAE's β of 0.3, diffusion and flow at a learning rate of 0.003; diffusion for
# twice the epochs).
RACE: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "gan": ({}, {}),
    "vae": ({"beta": 0.3}, {}),
    "diffusion": ({}, {"lr": 0.003, "epochs_factor": 2}),
    "flow": ({}, {"lr": 0.003}),
}

DEFAULTS: dict[str, Any] = {
    "gn_data": "ring",
    "gn_samples": 4000,
    "gn_noise": 0.0,
    "gn_data_seed": 0,
    "gn_arch": "gan",
    "gn_loss": "nonsaturating",
    "gn_d_steps": 1,
    "gn_latent": 2,
    "gn_width": 128,
    "gn_depth": 3,
    "gn_beta": 0.3,
    "gn_steps": 100,
    "gn_schedule": "linear",
    "gn_lr_d_factor": 1.0,
    "gn_opt_d": "",
    "gn_width_d": 0,
    "gn_depth_d": 0,
    "gn_conditional": False,
    "gn_optimizer": "adam",
    "gn_lr": 0.001,
    "gn_batch": 128,
    "gn_epochs": 100,
    "gn_wd": 0.0,
    "gn_seed": 0,
    "gn_device": "auto",
}
fields.RANGES.update(
    {
        "gn_data_seed": ("Data seed", 0, fields.SEED_MAX),
        "gn_epochs": ("Epochs", 1, 5000),
        "gn_seed": ("Seed", 0, fields.SEED_MAX),
    }
)


def init() -> None:
    shared_widgets.init(DEFAULTS, prefix="gn")
    url_state.sync("gn", url_fields(), DEFAULTS)


def url_fields() -> dict[str, url_state.Field]:
    """The settings a link carries: the data, the family and its settings, training. Left
    out: a drawing (its points are a person's own, in this session only: a link to *Your
    drawing* opens the canvas with its starter face, to paint over) and the canvas's tools."""
    return {
        **url_state.numbers(DEFAULTS),
        "gn_data": url_state.choice(tuple(DATA_LABELS)),
        "gn_samples": url_state.choice(SAMPLES),
        "gn_noise": url_state.real(0.0, 1.0, 0.1),
        "gn_arch": url_state.choice(tuple(FAMILY_LABELS)),
        "gn_loss": url_state.choice(GAN_LOSSES),
        "gn_d_steps": url_state.choice(D_STEPS),
        "gn_lr_d_factor": url_state.choice(LR_D_FACTORS),
        "gn_opt_d": url_state.choice(OPTIMIZERS_D),
        "gn_width_d": url_state.choice(WIDTHS_D),
        "gn_depth_d": url_state.choice(DEPTHS_D),
        "gn_latent": url_state.choice(LATENTS),
        "gn_beta": url_state.choice(BETAS),
        "gn_steps": url_state.choice(NOISE_STEPS),
        "gn_schedule": url_state.choice(SCHEDULES),
        "gn_width": url_state.choice(WIDTHS),
        "gn_depth": url_state.choice(DEPTHS),
        **shared_widgets.training_fields("gn"),
    }


def data_controls() -> None:
    st.selectbox(
        "Data",
        list(DATA_LABELS),
        format_func=DATA_LABELS.get,
        key="gn_data",
        help="The ring and the grid are mixtures of Gaussians with known centres, so the page "
        "can count the modes a generator covers; the others are shapes to match. Your drawing: "
        "paint any distribution on a canvas (or give a CSV of points).",
        persist_state=KEEP,
    )
    images = st.session_state["gn_data"] in IMAGE_DATA
    digits = st.session_state["gn_data"] == "digits"  # all 1,797 of them
    st.select_slider("Samples", SAMPLES, key="gn_samples", disabled=digits, persist_state=KEEP)
    st.slider(
        "Extra noise", 0.0, 1.0, step=0.1, key="gn_noise", disabled=images, persist_state=KEEP
    )
    fields.number_input(st, "gn_data_seed")


def network_controls() -> None:
    st.segmented_control(
        "Family",
        list(FAMILY_LABELS),
        format_func=FAMILY_LABELS.get,
        key="gn_arch",
        required=True,
        persist_state=KEEP,
    )
    arch = st.session_state["gn_arch"]
    if arch == "gan":
        st.selectbox(
            "Loss", GAN_LOSSES, format_func=LOSS_LABELS.get, key="gn_loss", persist_state=KEEP
        )
        c1, c2 = st.columns(2)
        c1.select_slider(
            "Discriminator steps",
            D_STEPS,
            key="gn_d_steps",
            help="Discriminator updates for each generator update (5 is usual for WGAN-GP).",
            persist_state=KEEP,
        )
        c2.select_slider(
            "Discriminator's learning rate",
            LR_D_FACTORS,
            format_func=lambda f: f"{f:g}x",
            key="gn_lr_d_factor",
            help="As a multiple of the learning rate under Training (the generator's).",
            persist_state=KEEP,
        )
        with st.expander("The discriminator's own settings"):
            st.selectbox(
                "Its optimizer",
                OPTIMIZERS_D,
                format_func=lambda o: OPTIMIZER_LABELS.get(o, o),
                key="gn_opt_d",
                help="The discriminator trains with its own optimizer (and state); by default "
                "the same kind as the generator's, under Training.",
                persist_state=KEEP,
            )
            d1, d2 = st.columns(2)
            d1.select_slider(
                "Its width",
                WIDTHS_D,
                format_func=lambda w: "as G" if w == 0 else str(w),
                key="gn_width_d",
                persist_state=KEEP,
            )
            d2.select_slider(
                "Its layers",
                DEPTHS_D,
                format_func=lambda n: "as G" if n == 0 else str(n),
                key="gn_depth_d",
                persist_state=KEEP,
            )
        images = st.session_state["gn_data"] in IMAGE_DATA
        st.checkbox(
            "Conditional on the class",
            key="gn_conditional",
            disabled=not images,
            help="The generator is told which class to draw and the discriminator which class "
            "it judges; the samples then show one row a class, the same noise in every row. "
            "On digits it takes about 300 epochs to use the class (at 100 the rows look alike)."
            if images
            else "Only for images with classes (digits, shapes): 2-D points have none.",
            persist_state=KEEP,
        )
    if arch in ("gan", "vae"):
        st.select_slider("Latent size", LATENTS, key="gn_latent", persist_state=KEEP)
    if arch == "vae":
        st.select_slider(
            "β (weight of the KL term)",
            BETAS,
            key="gn_beta",
            help="Small β: sharper samples, a less regular latent space; large β: the reverse.",
            persist_state=KEEP,
        )
    if arch == "diffusion":
        st.select_slider("Noise steps", NOISE_STEPS, key="gn_steps", persist_state=KEEP)
        st.segmented_control(
            "Schedule", SCHEDULES, key="gn_schedule", required=True, persist_state=KEEP
        )
    c1, c2 = st.columns(2)
    gan = arch == "gan"
    c1.select_slider(
        "Width",
        WIDTHS,
        key="gn_width",
        help="Units in each hidden layer" + (" of the generator (G)." if gan else "."),
        persist_state=KEEP,
    )
    c2.select_slider("Layers", DEPTHS, key="gn_depth", persist_state=KEEP)


# --- widget values -> config ---------------------------------------------------------------------


def data_config() -> DataConfig:
    ss = st.session_state
    name = ss["gn_data"]
    if name == "drawn":
        if draw.is_empty():
            raise ConfigError("data.path", "the drawing is empty: paint a region on the canvas")
        return DataConfig(
            name="drawn",
            path=draw.saved_path(),
            n_samples=int(ss["gn_samples"]),
            noise=float(ss["gn_noise"]),
            seed=fields.value("gn_data_seed"),
        )
    if name == "digits":
        return DataConfig(name="digits", n_samples=1797, seed=fields.value("gn_data_seed"))
    if name == "shapes":  # grey, without pixel noise
        return DataConfig(
            name="shapes",
            n_samples=int(ss["gn_samples"]),
            noise=0.0,
            image_size=SHAPES_SIZE,
            seed=fields.value("gn_data_seed"),
        )
    return DataConfig(
        name=name,
        n_samples=int(ss["gn_samples"]),
        noise=float(ss["gn_noise"]),
        seed=fields.value("gn_data_seed"),
    )


def model_config(arch: str | None = None, **changes: Any) -> ModelConfig:
    ss = st.session_state
    arch = arch or ss["gn_arch"]
    values: dict[str, Any] = {
        "arch": arch,
        "hidden": (int(ss["gn_width"]),) * int(ss["gn_depth"]),
        "loss": ss["gn_loss"],
        "d_steps": int(ss["gn_d_steps"]),
        "latent": int(ss["gn_latent"]),
        "beta": float(ss["gn_beta"]),
        "steps": int(ss["gn_steps"]) if arch == "diffusion" else 0,
        "schedule": ss["gn_schedule"],
        "conditional": conditional(arch),
    }
    if arch == "gan" and (ss["gn_width_d"] or ss["gn_depth_d"]):
        values["hidden_d"] = (int(ss["gn_width_d"] or ss["gn_width"]),) * int(
            ss["gn_depth_d"] or ss["gn_depth"]
        )
    if ss["gn_data"] in IMAGE_DATA and arch in ("gan", "vae"):
        values["latent"] = max(values["latent"], 8)  # an image needs more than 2 numbers
    values.update(changes)
    return ModelConfig(**values)


def conditional(arch: str | None = None) -> bool:
    """Whether the checkbox asks for a conditional GAN, and it can be one: a GAN on images
    with classes (the race's other families, and 2-D data, ignore the box)."""
    ss = st.session_state
    arch = arch or ss["gn_arch"]
    return bool(ss["gn_conditional"]) and arch == "gan" and ss["gn_data"] in IMAGE_DATA


def run_config(arch: str | None = None, name: str = "", **changes: Any) -> RunConfig:
    train = shared_widgets.train_config("gn")
    factor = float(st.session_state["gn_lr_d_factor"])
    from dataclasses import replace

    if (arch or st.session_state["gn_arch"]) == "gan":  # the others have no discriminator
        train = replace(
            train,
            lr_d=train.lr * factor if factor != 1.0 else 0.0,
            optimizer_d=str(st.session_state["gn_opt_d"]),
        )
    return RunConfig(
        data=data_config(), model=model_config(arch, **changes), train=train, name=name
    )


def configs(kind: str) -> tuple[list[RunConfig], list[str]]:
    """What Train ("single"), the twins ("pair") or the race ("race") would start, and their
    labels."""
    if kind == "single":
        return [run_config()], ["run"]
    if kind == "pair":
        return (
            [run_config("gan", label, **change) for label, change in TWINS],
            [label for label, _ in TWINS],
        )
    from dataclasses import replace

    race = []
    for arch in GENERATIVE_ARCHS:
        model_changes, train_changes = RACE[arch]
        cfg = run_config(arch, FAMILY_LABELS[arch], **model_changes)
        factor = train_changes.get("epochs_factor", 1)
        train = replace(
            cfg.train,
            lr=train_changes.get("lr", cfg.train.lr),
            epochs=min(cfg.train.epochs * factor, 5000),
        )
        race.append(replace(cfg, train=train))
    return race, [FAMILY_LABELS[arch] for arch in GENERATIVE_ARCHS]


def problem(kind: str) -> str:
    """Why `kind` cannot start ("" when it can)."""
    typed = fields.first_problem(NUMBER_KEYS)
    if typed:
        return typed
    try:
        configs(kind)
    except ConfigError as e:
        field, _, message = str(e).partition(": ")
        if st.session_state["gn_data"] == "drawn" and field == "data.path":
            return message[0].upper() + message[1:] + "."
        return f"{field}: {message}."
    return ""


def start(kind: str) -> None:
    why = problem(kind)
    if why:
        st.session_state[PROBLEM] = f"These settings cannot train: {why}"
        return
    cfgs, labels = configs(kind)
    # the race runs its four families at once, sharing the cores; the twins one after the other
    live.start_view(VIEW, cfgs, labels, kind=kind, parallel=kind == "race")
    live.wait_first_point(live.current_view(VIEW))  # type: ignore[arg-type]


def data_panel(view_open: bool, busy: bool, problem: str) -> None:
    """Above the live view: the data's preview before any run; for a drawing, its canvas
    beside the points sampled from it (folded away under a run's view)."""
    if st.session_state["gn_data"] != "drawn":
        if not view_open and not problem:
            preview(state.generative_dataset(data_config()))
        return
    if view_open:
        with st.expander("Your drawing", icon=":material/draw:"):
            draw.controls(disabled=busy)
        return
    left, right = layout.columns(2, key="gn_draw_cols", min_width=360, gap="medium")
    with left:
        draw.controls()
    with right:
        if not draw.is_empty():
            preview(state.generative_dataset(data_config()))


def preview(ds) -> None:
    """The data before any training: the points (or a few digits) a model will learn."""
    import numpy as np

    from dlviz.generative_probe import GenerativeSnapshot
    from dlviz.labs.generative.figures import plane_figure, samples_grid_figure

    x = ds.x_train.numpy()
    if x.ndim == 2 and x.shape[1] == 2:
        empty = GenerativeSnapshot(0, 0, np.zeros((0, 2), np.float32), ds.extent)
        centres = ds.modes[0] if ds.modes is not None else None
        fig = plane_figure(empty, x, centres, show=("real",), height=360)
        caption = f"{plural(len(x), 'training point')} to learn" + (
            f", around {plural(len(centres), 'mode')} (crosses)" if centres is not None else ""
        )
    else:
        fig = samples_grid_figure(x.reshape(len(x), -1)[:32], side=x.shape[-1], cols=8)
        caption = f"{plural(len(x), 'training image')} to learn; the first 32"
    st.plotly_chart(fig, key="gn_preview", config=live.CHART_CONFIG)
    st.caption(caption + ".")


def summary_line() -> str:
    ss = st.session_state
    arch = ss["gn_arch"]
    what = FAMILY_LABELS[arch]
    if arch == "gan":
        what += f" ({LOSS_LABELS[ss['gn_loss']]} loss)"
        if conditional(arch):
            what += ", conditional on the class"
    net = f"{plural(int(ss['gn_depth']), 'layer')} of {ss['gn_width']}"
    if arch == "gan":
        model = model_config(arch)
        if model.hidden_d and model.hidden_d != model.hidden:
            d = model.hidden_d
            net += f" (the discriminator: {plural(len(d), 'layer')} of {d[0]})"
        if ss["gn_opt_d"]:
            net += f"; the discriminator trains with {OPTIMIZER_LABELS[ss['gn_opt_d']]}"
    return f"**{what}** on {DATA_NAMES[ss['gn_data']]}, {net}"
