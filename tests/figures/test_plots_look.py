"""How the charts look (issue 12): palettes that people with colour-vision deficiencies can tell
apart, legends that stay off the axes, axis titles off their ticks, titles from the left edge,
log axes labelled at powers of ten only, transparent backgrounds, and `themed` for a light or a
dark page. Checked on the figures' layouts; the browser tests check the drawn charts."""

import itertools
import math

import numpy as np
import pytest
from support.histories import long_history, snapshot

from dlviz.figures.axes import log_decade_axis
from dlviz.figures.curves import curves_figure
from dlviz.figures.gradients import grad_norm_figure
from dlviz.figures.theme import (
    BOUNDARY_SCALE,
    CLASS_COLORS,
    COMPARE_COLORS,
    DIVERGING,
    MIN_CONTRAST,
    RUN_COLORS,
    THEMES,
    TRANSPARENT,
    contrast,
    luminance,
    parse_rgb,
    readable,
    themed,
)
from dlviz.labs.depth.experiment import DepthResult
from dlviz.labs.depth.figures import (
    VARIANT_COLORS,
    depth_accuracy_figure,
    depth_gradient_figure,
    depth_profile_figure,
)
from dlviz.labs.devices.figures import matmul_figure, step_parts_figure, train_step_figure
from dlviz.labs.playground.figures import boundary_figure, network_figure, points_figure
from dlviz.labs.runs.figures import compare_curves_figure, grad_profiles_figure
from dlviz.labs.transfer.figures import ROLE_COLORS, efficiency_figure, weight_change_figure

# --- colour vision ----------------------------------------------------------------------------
# Machado, Oliveira and Fernandes (2009): full-severity protanopia, deuteranopia and
# tritanopia as matrices on linear RGB; distances in CIELAB (ΔE 1976).
CVD = {
    "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
               [-0.003882, -0.048116, 1.051998]],
    "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
               [-0.011820, 0.042940, 0.968881]],
    "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
               [0.004733, 0.691367, 0.303900]],
}  # fmt: skip
DISTINCT = 12.0  # ΔE: apart at a glance as lines and dots


def _linear(rgb):
    c = np.asarray(rgb, float) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear):
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ np.clip(linear, 0, 1)  # fmt: skip
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen_apart(colors, vision: str) -> float:
    """The smallest ΔE between two of `colors` as a person with `vision` sees them."""
    m = np.array(CVD[vision])
    labs = [_lab(m @ _linear(parse_rgb(c))) for c in colors]
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(labs, 2))


PALETTES = {
    "classes": CLASS_COLORS,
    "runs": RUN_COLORS,
    "compared runs (the first seven)": COMPARE_COLORS[:7],
    "transfer roles": tuple(ROLE_COLORS.values()),
    "depth variants": tuple(VARIANT_COLORS.values()),
}


@pytest.mark.parametrize("vision", list(CVD))
@pytest.mark.parametrize("name", list(PALETTES))
def test_every_palette_stays_apart_with_each_colour_vision_deficiency(name, vision):
    assert seen_apart(PALETTES[name], vision) >= DISTINCT, name


def test_the_old_red_and_green_palettes_would_not():
    tableau = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f")  # the Runs page's, before
    old_classes = ("#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    assert seen_apart(tableau, "deutan") < DISTINCT
    assert seen_apart(old_classes, "protan") < DISTINCT


@pytest.mark.parametrize("vision", list(CVD))
def test_the_diverging_maps_ends_are_far_apart_for_everyone(vision):
    for scale in (DIVERGING, BOUNDARY_SCALE):
        assert seen_apart([scale[0][1], scale[-1][1]], vision) > 40


def test_palette_colours_read_on_a_light_and_on_a_dark_page():
    white, dark = (255, 255, 255), parse_rgb(THEMES["dark"]["background"])
    for name, colors in PALETTES.items():
        if name == "transfer roles":  # bar fills with dark text on them
            continue
        for c in colors:
            rgb = parse_rgb(c)
            assert contrast(rgb, white) >= 2.2 and contrast(rgb, dark) >= 2.2, c


# --- layouts ----------------------------------------------------------------------------------


def depth_results():
    return [
        DepthResult(v, d, "finished", 0.9, 0.8, 10.0**-d, 0.1, 1.0, (10.0**-d, 0.1))
        for v in ("plain", "residual", "sigmoid")
        for d in (1, 2, 4, 8, 16)
    ]


def figures():
    """Every figure that has a legend, on representative data."""
    h = long_history(epochs=50)
    rows = [
        {"bench": "matmul", "device": "cpu", "dtype": "float32", "size": n, "tflops": 0.1 * n}
        for n in (128, 256)
    ] + [
        {"bench": "train_step", "device": "cpu", "batch": b, "samples_per_s": 100.0 * b,
         "forward_s": 0.01, "backward_s": 0.02, "step_s": 0.001}
        for b in (16, 64)
    ]  # fmt: skip
    x = np.zeros((4, 2), np.float32)
    y = np.array([0, 1, 0, 1])
    return {
        "points": points_figure(x, y, x, y, 1.0, title="Spiral: 3 train, 1 test"),
        "curves": curves_figure([("a", h), ("b", h)]),
        "grads": grad_norm_figure(h),
        "compare": compare_curves_figure([("a", h.epochs.to_dict())]),
        "profiles": grad_profiles_figure([("a", {"h1": 1e-3, "out": 1.0})]),
        "depth accuracy": depth_accuracy_figure(depth_results()),
        "depth gradient": depth_gradient_figure(depth_results()),
        "depth profile": depth_profile_figure(depth_results()),
        "matmul": matmul_figure(rows),
        "train step": train_step_figure(rows),
        "step parts": step_parts_figure(rows),
        "weights moved": weight_change_figure([("a", "frozen", {"conv1": 0.1})]),
        "efficiency": efficiency_figure(
            [{"strategy": "scratch", "label": "From scratch", "per_class": 1, "test_accuracy": 0.2}]
        ),
    }


@pytest.mark.parametrize("name", list(figures()))
def test_legends_sit_at_the_foot_of_the_figure_under_the_axis_titles(name):
    legend = figures()[name].layout.legend
    assert legend.orientation == "h"
    assert (legend.yref, legend.y, legend.yanchor) == ("container", 0, "bottom"), name


def test_the_accuracy_axis_has_its_ticks_and_title_outside_its_plot():
    for fig in (figures()["curves"], figures()["compare"]):
        assert fig.layout.yaxis2.side == "right"
        assert fig.layout.yaxis2.title.text == "accuracy"
        assert fig.layout.xaxis.domain[1] < fig.layout.xaxis2.domain[0]


def test_titles_start_at_the_figures_left_edge():
    ds = np.zeros((2, 2), np.float32)
    fig = boundary_figure(snapshot(), ds, np.array([0, 1]))
    title = fig.layout.title
    assert title.text.startswith("Decision boundary")
    assert (title.x, title.xref, title.xanchor) == (0, "container", "left")


def test_no_figure_paints_a_white_background():
    for name, fig in figures().items():
        assert fig.layout.paper_bgcolor == fig.layout.plot_bgcolor == TRANSPARENT, name


@pytest.mark.parametrize("name", ["grads", "depth gradient", "depth profile", "profiles"])
def test_gradient_log_axes_are_labelled_at_powers_of_ten_only(name):
    fig = figures()[name]
    for axis in [fig.layout.yaxis] + ([fig.layout.yaxis2] if name == "grads" else []):
        assert axis.type == "log"
        exponents = [math.log10(v) for v in axis.tickvals]
        assert all(abs(e - round(e)) < 1e-9 for e in exponents), axis.tickvals
        assert 2 <= len(exponents) <= 6
        assert axis.dtick is None  # no 2 and 5 between the decades
        assert all(t in ("1", "10") or t.startswith("10") for t in axis.ticktext)


def test_log_decade_axis_picks_a_step_that_keeps_labels_few():
    axis = log_decade_axis([3e-21, 0.5, 2.0])
    assert axis["ticktext"] == ["10⁻²⁰", "10⁻¹⁵", "10⁻¹⁰", "10⁻⁵", "1"]
    assert axis["range"][0] < -20.4 and axis["range"][1] > 0.3
    assert log_decade_axis([0.02, 0.05])["ticktext"] == ["10⁻²", "10⁻¹"]
    assert log_decade_axis([0, math.nan, None]) == {"type": "log"}


def test_the_network_diagram_says_what_every_hidden_layer_shares_once():
    fig = network_figure(2, (8,) * 12, 2, activation="tanh", norm="batch", dropout=0.1)
    widths = [a.text for a in fig.layout.annotations[:-1]]
    assert all(t.isdigit() for t in widths), widths  # only the widths under the columns
    assert fig.layout.annotations[-1].text == "each hidden layer: tanh, batch norm, dropout 0.1"


# --- light and dark ---------------------------------------------------------------------------


def test_themed_gives_a_live_chart_the_themes_text_and_grid_colours():
    dark = themed(figures()["curves"], "dark")
    assert dark.layout.font.color == THEMES["dark"]["text"]
    assert dark.layout.xaxis2.gridcolor == THEMES["dark"]["grid"]
    assert dark.layout.hoverlabel.bgcolor != "#ffffff"
    light = themed(figures()["curves"], "light")
    assert light.layout.font.color == THEMES["light"]["text"]
    unknown = themed(figures()["curves"], None)
    assert unknown.layout.font.color == THEMES[None]["text"]


def test_themed_makes_faint_lines_stand_out_from_the_page():
    h = long_history(epochs=5, layers=6)  # viridis: dark purple input layer, yellow output
    for scheme in ("light", "dark"):
        fig = themed(grad_norm_figure(h), scheme)
        page = parse_rgb(THEMES[scheme]["background"])
        for trace in fig.data:
            colors = trace.marker.color if trace.type == "bar" else [trace.line.color]
            for c in colors:
                assert contrast(parse_rgb(c), page) >= MIN_CONTRAST - 0.05, c


def test_readable_keeps_colours_that_already_read_and_fixes_those_that_do_not():
    assert readable("#0072B2", "#ffffff") == "#0072B2"
    yellow = readable("#F0E442", "#ffffff")
    assert yellow != "#F0E442"
    assert contrast(parse_rgb(yellow), (255, 255, 255)) >= MIN_CONTRAST
    purple = readable("#440154", "#171614")
    assert luminance(parse_rgb(purple)) > luminance((68, 1, 84))
    assert readable("white", "#ffffff") == "white"  # a name it cannot read: as it is
