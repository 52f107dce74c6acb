"""The load bench's summary of what the browsers received (`dlviz.bench.load.summarize_load`):
the sessions' websocket counts added up, and the bytes a session a second worked out by hand."""

from __future__ import annotations

from dataclasses import asdict

from dlviz.bench.load import SessionReport, format_load, summarize_load

MEMORY = {"rss_mb": 400.0, "hwm_mb": 410.0, "tree_mb": 600.0}


def _raw(*wires: dict[str, int], driven_s: float) -> dict:
    reports = []
    for i, wire in enumerate(wires):
        r = SessionReport(index=i, lab="Playground", epochs=200 + i, started=1, finished=1)
        r.wire = wire
        reports.append(asdict(r))
    return {
        "warm_up_s": 1.0,
        "driven_s": driven_s,
        "server_cores": 0.5,
        "start": MEMORY,
        "during": MEMORY,
        "end": MEMORY,
        "memory": [MEMORY],
        "sessions": reports,
        "log_problems": [],
    }


def test_the_wire_counts_of_the_sessions_add_up():
    raw = _raw(
        {"bytes": 3_000_000, "messages": 100, "cacheable": 4, "refs": 1},
        {"bytes": 1_000_000, "messages": 50},  # a page that met no cacheable message
        driven_s=20.0,
    )
    r = summarize_load(raw, sessions=2, seconds=15.0, load_before=0.0)
    # 4 MB over 2 sessions of 20 s: 100 kB a session a second
    assert r["wire"] == {
        "bytes": 4_000_000,
        "messages": 150,
        "cacheable": 4,
        "refs": 1,
        "kb_per_session_s": 100.0,
    }
    text = format_load(r)
    assert "received 4.0 MB in 150 websocket messages (100 kB a session a second)" in text
    assert "4 large ones Streamlit let the browser cache, 1 reference to one cached" in text
