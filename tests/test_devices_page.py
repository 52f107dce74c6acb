"""AppTest of the Devices page: the machine table, a quick CPU measurement drawn as charts,
kept in the benchmark store and shown again, and the downloads."""

from __future__ import annotations

import json

from test_pages import charts


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
    assert [t["name"] for t in figs["dv_parts"]["data"]] == ["forward", "backward", "step"]

    kept = list((tmp_path / "bench").glob("devices-*.json"))
    assert len(kept) == 1
    saved = json.loads(kept[0].read_text())
    assert saved["rows"] == at.session_state["dv_result"]["rows"]

    # a damaged earlier report is named, not a crash
    (tmp_path / "bench" / "devices-00000000-000000.json").write_text("{not json")
    at.run()
    at.selectbox(key="dv_past").set_value("devices-00000000-000000.json").run()
    at.button(key="dv_show_past").click().run()
    assert not at.exception, at.exception
    assert "cannot be read" in " ".join(e.value for e in at.error)
