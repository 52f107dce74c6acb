"""Browser test: a person's run survives a reload and a second tab, and a server restart is
explained to the tab that was open.

1. Train on the Playground (until stopped), reload the page: the same run, still training, with
   its live view, Pause and Stop; a second tab lists it in the sidebar with Stop.
2. SIGTERM the server while the run trains: the run is saved with every epoch it trained and the
   server exits cleanly (no C++ abort in its log).
3. Start the server again on the same port: the tab that stayed open reconnects and says the
   server restarted and what became of the run.
"""

from __future__ import annotations

import re

import pytest
from support.browser import (
    SLOW_MS,
    UI_MS,
    Steps,
    StreamlitServer,
    free_port,
    main_text,
    report_failure,
    screenshot,
    wait_for_main_text,
    wait_for_progress,
)

from dlviz import jobs, runs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def main_stop(page):
    return page.get_by_test_id("stMain").get_by_role("button", name="Stop", exact=True)


@report_failure
def test_reload_second_tab_sigterm_and_restart(chromium_path, browser, new_page, tmp_path):
    step = Steps()
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    server = StreamlitServer(home, tmp_path / "first.log", port).start()
    try:
        server.wait_healthy()
        page = new_page()
        step("the Playground; Train (until stopped, the default)")
        page.goto(server.url + "/playground")
        train = page.get_by_role("button", name="Train", exact=True)
        expect(train).to_be_enabled(timeout=SLOW_MS)
        train.click()
        first = wait_for_progress(page, total=0)

        step("reload: the same run, still training, with its live view and Stop")
        page.reload()
        expect(main_stop(page)).to_be_enabled(timeout=SLOW_MS)
        later = wait_for_progress(page, total=0, past_epoch=first)
        expect(page.get_by_role("button", name="Train", exact=True)).to_be_disabled()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_contain_text("Your runs")
        expect(sidebar.get_by_role("button", name="Stop")).to_be_enabled()
        screenshot(page, "browser-restart-01-after-reload")

        step("a second tab of the same browser lists the run, with Stop, from Home")
        tab = page.context.new_page()
        tab.goto(server.url + "/")
        tab_sidebar = tab.get_by_test_id("stSidebar")
        expect(tab_sidebar).to_contain_text(re.compile(r"run: running, epoch \d+"), timeout=SLOW_MS)
        expect(tab_sidebar.get_by_role("link", name="Playground").last).to_be_visible()
        tab.close()
        wait_for_progress(page, total=0, past_epoch=later)  # the first tab still draws it live

        step("SIGTERM: the run saves every epoch it trained; the server exits cleanly")
        server.stop(timeout=60)
        assert server.proc.returncode == 0, server.log()
        log = server.log()
        assert "terminate called" not in log, log
        (row,) = runs.list_runs(home / "runs")
        assert row["status"] == "stopped" and row["stop_reason"] == jobs.SERVER_STOP_REASON, row
        stored = runs.load_run(home / "runs", row["run_id"])
        # every epoch, or, once a long run's curve holds its 1,000 points, every stride-th
        # epoch (history.Series) and the last
        epochs, last = stored.metrics["epoch"], stored.summary["epochs"]
        stride = epochs[1] - epochs[0]
        assert stride in (1, 2, 4) and epochs[-1] == last, epochs
        even = epochs if (last - 1) % stride == 0 else epochs[:-1]
        assert even == list(range(1, even[-1] + 1, stride)), epochs
        assert stored.summary["epochs"] >= later and stored.has_weights

        step("the server starts again on the same port: the open tab says what happened")
        server = StreamlitServer(home, tmp_path / "second.log", port).start()
        server.wait_healthy()
        text = wait_for_main_text(page, r"The dlviz server restarted", timeout=SLOW_MS)
        assert text
        body = main_text(page)
        assert re.search(rf"was stopped at epoch {stored.summary['epochs']}\b", body), body
        assert "curves and weights are saved" in body
        expect(page.get_by_role("link", name="Open Runs")).to_be_visible()
        screenshot(page, "browser-restart-02-told")
        page.get_by_role("button", name="Got it").click()
        expect(page.get_by_text("The dlviz server restarted")).to_have_count(0, timeout=UI_MS)
        step("done")
    finally:
        server.stop()
