"""Browser journey of a shared server (DLVIZ_SHARED=1): two people, each in a browser of their
own (two browser contexts: two cookies). A trains on the Playground and finds the run on the
Runs page, again after a reload; B's Runs page does not show it. B trains a run of its own:
each sees only their own."""

from __future__ import annotations

import json
import re

import pytest
from support.browser import (
    SLOW_MS,
    Steps,
    open_playground,
    report_failure,
    set_epochs,
    wait_for_main_text,
    wait_idle,
)

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")

ROW_PX = 35  # st.dataframe's row (and header) height


@pytest.fixture(scope="module")
def streamlit_env() -> dict[str, str | None]:
    return {"DLVIZ_SHARED": "1"}


def train_xor(page, base_url: str) -> None:
    open_playground(page, base_url, via_home=False)
    page.get_by_role("tab", name="Data").click()
    page.locator(".st-key-pg_dataset").get_by_role("radio", name="XOR").click()
    wait_idle(page)
    set_epochs(page, 3)
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for_main_text(page, r"finished 3 epochs in [\d.]+ s", timeout=SLOW_MS)


def runs_page(page, base_url: str) -> str:
    """Open the Runs page (a new session of this browser); returns its count line or its
    empty message."""
    page.goto(base_url + "/runs")
    return wait_for_main_text(page, r"\d+ of \d+ runs? shown|No runs of yours yet", SLOW_MS)


def open_first_run(page) -> str:
    """Tick the table's first row; returns the run id its details show."""
    grid = page.get_by_test_id("stDataFrame").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + ROW_PX * 1.5)
    line = wait_for_main_text(page, r"Run \S+ · finished", SLOW_MS)
    return re.match(r"Run (\S+) ·", line).group(1)


def owners(home) -> dict[str, str]:
    """Run id -> the owner its summary names, read from the server's run store."""
    return {
        p.parent.name: json.loads(p.read_text()).get("owner", "")
        for p in (home / "runs").glob("*/summary.json")
    }


@report_failure
def test_two_people_on_a_shared_server_each_see_only_their_own_runs(streamlit_server, new_page):
    step = Steps()
    url = streamlit_server.url
    a, b = new_page(), new_page()  # two browser contexts: two cookies, two people

    step("A trains a short Playground run")
    train_xor(a, url)

    step("A's Runs page, after a reload, shows it")
    assert runs_page(a, url) == "1 of 1 run shown"
    assert "This server is shared" in a.get_by_test_id("stMain").inner_text()
    run_of_a = open_first_run(a)

    step("B's Runs page does not")
    assert runs_page(b, url) == "No runs of yours yet"

    step("B trains its own; each sees only their own")
    train_xor(b, url)
    assert runs_page(b, url) == "1 of 1 run shown"
    run_of_b = open_first_run(b)
    assert run_of_b != run_of_a
    assert runs_page(a, url) == "1 of 1 run shown"
    assert open_first_run(a) == run_of_a

    found = owners(streamlit_server.home)
    assert set(found) == {run_of_a, run_of_b}
    assert found[run_of_a] and found[run_of_b] and found[run_of_a] != found[run_of_b]
