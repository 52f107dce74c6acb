"""AppTest of the Devices page: the machine table, a quick CPU measurement drawn as charts,
kept in the benchmark store and shown again, and the downloads."""

from __future__ import annotations

import json

from support.apptest import charts, wait_until_done


def test_devices_page_measures_the_cpu_and_keeps_the_result(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/devices.py")
    table = at.dataframe[0].value
    assert table["device"].tolist()[0] == "cpu"
    assert "No GPU found" in " ".join(i.value for i in at.info) or len(table) > 1
    assert at.toggle(key="dv_quick").value is True

    at.selectbox(key="dv_which").set_value("cpu").run()
    at.button(key="dv_measure").click().run()
    assert not at.exception, at.exception
    figs = charts(at)
    assert {"dv_matmul", "dv_train", "dv_conv", "dv_parts"} <= set(figs)
    matmul = figs["dv_matmul"]["data"]
    assert [t["name"] for t in matmul] == ["cpu float32", "cpu bfloat16"]
    assert all(y > 0 for t in matmul for y in t["y"])
    notes = [c.value for c in at.caption if c.value.startswith("**cpu float32**: best ")]
    assert len(notes) == 1 and "No data-sheet peak is known for a CPU" in notes[0]
    assert f"best {max(matmul[0]['y']):.3g} TFLOP/s" in notes[0]  # matmul[0]: cpu float32
    assert [t["name"] for t in figs["dv_parts"]["data"]] == ["forward", "backward", "step"]
    # the training step is the Image lab's network as set (its default: the 8-block Deep CNN
    # on 32x32 grey shapes)
    assert at.session_state["dv_result"]["network"] == (
        "cnn with 8 conv blocks on inputs of 1x32x32, 6 classes"
    )

    kept = list((tmp_path / "bench").glob("devices-*.json"))
    assert len(kept) == 1
    saved = json.loads(kept[0].read_text())
    assert saved["rows"] == at.session_state["dv_result"]["rows"]

    # two kept reports on one chart
    (tmp_path / "bench" / "devices-20260101-120000.json").write_text(kept[0].read_text())
    at.run()
    names = [p.name for p in sorted((tmp_path / "bench").glob("devices-*.json"), reverse=True)]
    at.multiselect(key="dv_compare").set_value(names[:2]).run()
    assert not at.exception, at.exception
    traces = [t["name"] for t in charts(at)["dv_cmp_matmul"]["data"]]
    assert len(traces) == 4 and any("(01-01 12:00) cpu float32" in t for t in traces)

    # a damaged earlier report is named, not a crash
    (tmp_path / "bench" / "devices-00000000-000000.json").write_text("{not json")
    at.run()
    at.selectbox(key="dv_past").set_value("devices-00000000-000000.json").run()
    at.button(key="dv_show_past").click().run()
    assert not at.exception, at.exception
    assert "cannot be read" in " ".join(e.value for e in at.error)


def test_without_a_gpu_the_race_says_it_needs_two_devices(apptest, monkeypatch, tmp_path):
    import torch

    if torch.cuda.is_available():
        import pytest

        pytest.skip("this machine has a GPU")
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/devices.py")
    assert at.button(key="dv_race_start").disabled
    assert any("A race needs two devices" in i.value for i in at.info)


def test_a_race_trains_the_playground_run_on_two_devices_at_once(apptest, monkeypatch, tmp_path):
    from dlviz.labs.devices import view as devices_page

    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    monkeypatch.setattr(devices_page, "race_devices", lambda: ["cpu", "auto"])
    at = apptest("pages/playground.py")  # the Playground's settings: a short run
    at.number_input(key="pg_epochs").set_value(5).run()
    at.switch_page("pages/devices.py").run()
    at.selectbox(key="dv_source").set_value("playground").run()
    assert at.multiselect(key="dv_racers").value == ["cpu", "auto"]
    at.button(key="dv_race_start").click().run()
    assert not at.exception, at.exception
    view = at.session_state["dv_race"]
    assert view.kind == "race" and [h.after for h in view.handles] == [None, None]
    assert [h.config.train.device for h in view.handles] == ["cpu", "auto"]
    assert all(h.config.train.epochs == 5 for h in view.handles)
    wait_until_done(at, key="dv_race")
    at.run()
    text = "\n".join(m.value for m in at.markdown)
    assert "finished 5 epochs in" in text and "x faster" in text
    curves = charts(at)["dv_race_curves"]
    names = {t["name"] for t in curves["data"]}
    assert any(n.startswith("on cpu") for n in names) and any(
        n.startswith("on auto") for n in names
    )


def test_peak_lines_give_the_best_rate_and_its_share_of_the_data_sheet_peak():
    from dlviz.labs.devices.view import peak_lines

    def row(dev, dtype, n, tflops, **peak):
        return {"bench": "matmul", "device": dev, "dtype": dtype, "size": n, "tflops": tflops,
                **peak}  # fmt: skip

    rows = [
        row("cuda:0", "bfloat16", 4096, 600.0, peak_tflops=989.4, percent_of_peak=60.6,
            peak_source="data sheet"),
        row("cuda:0", "bfloat16", 8192, 791.5, peak_tflops=989.4, percent_of_peak=80.0,
            peak_source="data sheet"),
        row("cpu", "float32", 1024, 0.25, peak_tflops=0.25, percent_of_peak=100.0,
            peak_source="best measured"),
        {"bench": "matmul", "device": "cpu", "dtype": "float32", "size": 8192,
         "skipped": "one call would take about 4 s"},
        row("cuda:1", "float16", 2048, 50.0),  # a GPU the table does not know
    ]  # fmt: skip
    assert peak_lines(rows) == [
        "**cuda:0 bfloat16**: best 792 TFLOP/s, at n = 8,192: 80% of the data sheet's dense "
        "peak (989.4 TFLOP/s).",
        "**cpu float32**: best 0.25 TFLOP/s, at n = 1,024. No data-sheet peak is known for a "
        "CPU: the chart's hover gives each size as a share of this best.",
        "**cuda:1 float16**: best 50 TFLOP/s, at n = 2,048. No data-sheet peak is known for "
        "this GPU: the chart's hover gives each size as a share of this best.",
    ]
