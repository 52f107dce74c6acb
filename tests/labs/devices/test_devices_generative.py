"""AppTest of the Devices page's Generative families section: the button measures the four
families' training step on each device, draws the chart and the table; without a GPU the page
says so and shows the CPU alone; with one, the speed-up column and the sentences."""

from __future__ import annotations

import pytest
import torch
from support.apptest import charts

FAMILIES = ["gan", "vae", "diffusion", "flow"]


def test_the_button_measures_the_four_families_and_draws_the_chart_and_table(
    apptest, monkeypatch, tmp_path
):
    from dlviz.labs.devices import view as devices_page

    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    monkeypatch.setattr(devices_page, "GEN_SIZES", {"default": ((8,), 16), "wide": ((16,), 64)})
    monkeypatch.setattr(devices_page, "GEN_REPEATS", 1)
    monkeypatch.setattr(devices_page, "GEN_STEPS", 1)
    at = apptest("pages/devices.py")
    assert "dv_gen_steps" not in charts(at)
    at.button(key="dv_gen_measure").click().run()
    assert not at.exception, at.exception

    result = at.session_state["dv_gen_result"]
    devices = result["devices"]
    assert devices[0] == "cpu"
    fig = charts(at)["dv_gen_steps"]
    # one bar series a device and size, each with the four families
    assert [t["name"] for t in fig["data"]] == [
        f"{d}, {s}" for d in devices for s in ("1x8, batch 16", "1x16, batch 64")
    ]
    assert all(t["x"] == FAMILIES and all(y > 0 for y in t["y"]) for t in fig["data"])
    assert fig["layout"]["yaxis"]["title"]["text"] == "ms per training step"

    table = next(d.value for d in at.dataframe if "ms a step" in d.value.columns)
    assert len(table) == 8 * len(devices)
    assert table["family"].tolist()[:4] == ["GAN", "VAE", "Diffusion", "Flow matching"]
    assert (table["ms a step"] > 0).all() and (table["samples/s"] > 0).all()
    caption = next(c.value for c in at.caption if c.value.startswith("Milliseconds per"))
    assert "1x8, batch 16 (the lab's) and at 1x16, batch 64" in caption
    assert "up to 1 timed call of 1 step each, after 2 untimed calls" in caption
    infos = " ".join(i.value for i in at.info)
    if torch.cuda.is_available():
        assert "speed-up over the CPU" in table.columns
        assert "No GPU is present here" not in infos
    else:
        assert devices == ["cpu"]
        assert "No GPU is present here: these are the CPU's figures alone" in infos
        assert "speed-up over the CPU" not in table.columns
        assert not at.success  # no speed-up to read out

    at.run()  # the result stays on the page
    assert "dv_gen_steps" in charts(at)


def test_a_measurement_with_a_gpu_shows_the_speedup_column_and_says_when_the_gpu_wins(
    apptest, monkeypatch, tmp_path
):
    """A result as a GPU machine gives it (made by hand: no GPU is needed to draw one)."""
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))

    def row(device, family, size, hidden, batch, s):
        return {"device": device, "family": family, "size": size, "hidden": hidden,
                "batch": batch, "seconds_per_step": s, "samples_per_second": batch / s}  # fmt: skip

    rows = []
    for family, cpu_s in zip(FAMILIES, (0.004, 0.0025, 0.0015, 0.0015)):
        rows += [row("cpu", family, "default", [128] * 3, 128, cpu_s),
                 row("cpu", family, "wide", [512] * 3, 1024, cpu_s * 20)]  # fmt: skip
    for family in FAMILIES:
        rows += [row("cuda:0", family, "default", [128] * 3, 128, 0.002),
                 row("cuda:0", family, "wide", [512] * 3, 1024, 0.001)]  # fmt: skip
    from dlviz.bench.generative import speedups

    result = {
        "benchmark": "generative",
        "machine": {"cpu_model": "Some CPU", "torch_threads": 2},
        "gpus": ["cuda:0 NVIDIA H200"],
        "devices": ["cpu", "cuda:0"],
        "steps_per_call": 10,
        "warmup_calls": 2,
        "repeats": 21,
        "rows": rows,
        "speedups": speedups(rows),
    }
    at = apptest("pages/devices.py")
    at.session_state["dv_gen_result"] = result
    at.run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "ms a step" in d.value.columns)
    ups = dict(zip(zip(table["family"], table["size"], table["device"]),
                   table["speed-up over the CPU"]))  # fmt: skip
    assert ups[("GAN", "3x512, batch 1,024", "cuda:0")] == "80.0x"
    assert ups[("GAN", "3x128, batch 128", "cuda:0")] == "2.0x"
    assert ups[("GAN", "3x128, batch 128", "cpu")] == ""
    assert "No GPU is present here" not in " ".join(i.value for i in at.info)
    lines = [s.value for s in at.success]
    assert (
        "At 3x128, batch 128: cuda:0 is from 1.3x slower to 2.0x faster than the CPU " in (lines[0])
    )
    assert lines[1] == (
        "At 3x512, batch 1,024: cuda:0 is 30.0x to 80.0x faster than the CPU (most for GAN)."
    )
    caption = next(c.value for c in at.caption if c.value.startswith("Milliseconds per"))
    assert caption.endswith("Measured on Some CPU, torch using 2 threads; cuda:0 NVIDIA H200.")


@pytest.mark.parametrize("ups, expected", [
    ((0.5, 0.25), "At 3x128, batch 128: the CPU wins: cuda:0 is 2.0x to 4.0x slower."),
])  # fmt: skip
def test_the_reading_says_when_the_cpu_wins(ups, expected):
    from dlviz.labs.devices.view import generative_reading

    rows = [{"family": f, "size": "default", "hidden": [128] * 3, "batch": 128}
            for f in ("gan", "vae")]  # fmt: skip
    result = {
        "rows": rows,
        "speedups": [
            {"device": "cuda:0", "family": f, "size": "default", "speedup": u}
            for f, u in zip(("gan", "vae"), ups)
        ],
    }
    assert generative_reading(result) == [expected]
