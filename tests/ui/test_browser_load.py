"""A class on one server, short: 4 browser sessions (separate contexts: separate cookies and
Streamlit sessions) train at once against one real `dlviz ui` for about a minute - Playground,
Images and Sequence lab runs, each session a number of epochs no other uses - while some reload
their page or switch to the Runs page and back mid-run (`dlviz.bench.load`, which
`dlviz bench load --sessions 10 --seconds 180` runs long).

Checked: no exception box or error message on any page and no traceback in the server's log;
each page's live view and sidebar name only its own run; every run finished, or was still
waiting for a place at the end with the page saying why; the server's memory stays within a
bound of where it started. The refresh latency is printed (`-s`), with only a sanity bound:
speed is never asserted here.

The sessions are driven by Playwright's async API inside `load.load` (one event loop, one
Chromium): this test uses no `browser` or `new_page` fixture, whose sync Playwright would hold
an event loop in this thread.
"""

from __future__ import annotations

import pytest
from support.browser import report_failure

from dlviz.bench import browser, load

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSIONS = 4
SECONDS = 60
# The server after its warm-up (a run in each lab) holds about 470 MB on a 2-core machine; 4
# sessions with their live views and runs added 40-60 MB in our runs (docs/load.md). A bound
# ten times that catches a leak of sessions, runs or histories, not the allocator's noise.
MEMORY_GROWTH_MB = 600


@report_failure
def test_four_sessions_train_at_once_each_sees_only_its_own_run(streamlit_server):
    server = browser.Server(
        url=streamlit_server.url,
        pid=streamlit_server.proc.pid,
        home=streamlit_server.home,
        log_path=streamlit_server.log_path,
    )
    r = load.load(sessions=SESSIONS, seconds=SECONDS, grace_s=150, server=server)
    print(load.format_load(r))

    assert not r["problems"], r["problems"]
    assert not r["log_problems"], r["log_problems"]
    runs = r["runs"]
    assert runs["unfinished"] == 0, r["per_session"]
    assert runs["finished"] + runs["queued_at_end"] == runs["started"], runs
    for s in r["per_session"]:
        assert s["finished"] >= 1, s
        for message in s["waiting_messages"]:  # a waiting run says why
            assert message.startswith("Waiting") and len(message) > len("Waiting for cpu: "), s
    assert runs["reloads"] >= 1 and runs["switches"] >= 1, runs

    mem = r["memory_mb"]
    assert mem["peak_rss"] < mem["start_rss"] + MEMORY_GROWTH_MB, mem
    assert mem["end_rss"] < mem["start_rss"] + MEMORY_GROWTH_MB, mem
    # with the runs' processes (at most two train at once on the CPU): they end with their runs
    assert mem["peak_tree"] < mem["start_tree"] + 2 * MEMORY_GROWTH_MB, mem
    assert mem["end_tree"] < mem["start_tree"] + MEMORY_GROWTH_MB, mem

    # Streamlit's message cache is off (.streamlit/config.toml): under load it sent references
    # to elements the browser had just dropped, and its "Cached ForwardMsg MISS" dialog froze
    # the page (docs/load.md). The sessions' websockets carried no reference and nothing cacheable.
    wire = r["wire"]
    assert wire["messages"] > 0 and wire["refs"] == 0 and wire["cacheable"] == 0, wire

    panel = r["latency_live_panel"]
    assert panel["n"] > 0, "no live refresh was measured"
    # a sanity bound, not a speed budget: a live view that takes minutes to refresh is broken
    assert panel["p95_ms"] < 120_000, panel
