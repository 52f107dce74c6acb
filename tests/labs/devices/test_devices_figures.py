"""The Devices page's figures: what each draws, checked in fig.data and fig.layout."""

import math

import pytest

from dlviz.labs.devices.figures import matmul_figure, step_parts_figure, train_step_figure


def test_device_charts_label_their_value_axes_inside_one_decade():
    rows = [
        {"bench": "matmul", "device": "cpu", "dtype": "float32", "size": n, "tflops": t}
        for n, t in ((128, 0.12), (256, 0.19))
    ] + [
        {"bench": "train_step", "device": "cpu", "batch": b, "samples_per_s": v,
         "forward_s": 0.01, "backward_s": 0.01, "step_s": 0.001}
        for b, v in ((16, 1100.0), (64, 1500.0))
    ]  # fmt: skip
    y = matmul_figure(rows).layout.yaxis
    assert list(y.ticktext) == ["0.1", "0.2"]  # 0.12 to 0.19: the range runs from 0.1 to 0.2
    assert y.range[0] < math.log10(0.1) and y.range[1] > math.log10(0.2)
    y = train_step_figure(rows).layout.yaxis
    assert list(y.ticktext) == ["1,000", "2,000"]


def test_step_parts_are_microseconds_per_sample_with_the_step_in_the_hover():
    rows = [
        {"bench": "train_step", "device": "cpu", "batch": b, "samples_per_s": 1.0,
         "forward_s": f, "backward_s": 2 * f, "step_s": 0.002}
        for b, f in ((16, 0.008), (1024, 0.512))
    ]  # fmt: skip
    fig = step_parts_figure(rows)
    forward, backward, step = fig.data
    assert list(forward.x) == ["cpu b16", "cpu b1024"]
    assert list(forward.y) == pytest.approx([500.0, 500.0])  # 8 ms / 16, 512 ms / 1024
    assert list(backward.y) == pytest.approx([1000.0, 1000.0])
    assert list(step.y) == pytest.approx([125.0, 2000 / 1024])  # a fixed cost, spread thinner
    assert list(step.customdata) == pytest.approx([2.0, 2.0])
    assert fig.layout.yaxis.title.text == "µs per training sample"
