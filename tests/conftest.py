"""Shared test setup.

- Every test gets its own empty run store (DLVIZ_HOME), and runs use one torch thread (tiny
  models are fastest that way, and timings do not matter in tests).
- Runs train in threads of the test process; `run_path` runs a test both that way and with each
  run in a process of its own (`dlviz.run_process`), as the dashboard trains them.
- `apptest`: AppTest sessions of app.py, on Home or on any page (tests/ui/test_pages.py,
  tests/labs/images/test_images_page.py).
- `streamlit_server`, `browser`, `new_page`: a real dashboard server (`dlviz ui`, as
  `./dev.sh dashboard` starts it) and Debian's Chromium driven by Playwright (test_browser*.py; the helpers are in tests/support/browser.py).
  A test module chooses extra `streamlit run` options and environment variables for its server
  by defining its own `streamlit_args` / `streamlit_env` fixtures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from support.browser import (
    CHROMIUM_ARGS,
    UI_MS,
    VIEWPORT,
    PageFactory,
    require_chromium,
    running_streamlit,
)

try:  # the core's tests also run where streamlit is not installed (a GPU machine, say)
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest
except ImportError:
    app_test_module = None
    PagesManager = object

torch.set_num_threads(1)

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture(autouse=True)
def _isolated_run_store(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("dlviz-home")
    monkeypatch.setenv("DLVIZ_HOME", str(home))
    yield home


@pytest.fixture(autouse=True)
def _runs_in_threads(monkeypatch):
    """Runs train in threads of the test's process unless a test asks for processes of their
    own (`dlviz.run_process`; tests/core/test_run_process.py): a test that patches the loop
    patches it here only. The dashboards the browser journeys start train as a dashboard does
    (tests/support/browser.py)."""
    monkeypatch.setenv("DLVIZ_RUN_PROCESSES", "0")


@pytest.fixture(params=["thread", "process"])
def run_path(request, monkeypatch):
    """Each test using it runs twice: its runs in threads of this process, then each in a
    process of its own (the dashboard's way, `dlviz.run_process`)."""
    monkeypatch.setenv("DLVIZ_RUN_PROCESSES", "1" if request.param == "process" else "0")
    return request.param


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Every test starts on one torch thread, with no thread budget or share set: the CLI's
    `main` sets the process's count (`devices.configure_threads`) and a benchmark the one it
    timed best, and a later test's arithmetic (so a seeded result) depends on the count."""
    from dlviz import devices

    yield
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    devices._budget = None
    devices._share = None


# --- AppTest ----------------------------------------------------------------------------------


class _NavigationPagesManager(PagesManager):
    """AppTest resets `PagesManager.uses_pages_directory` before every run, and a fresh
    PagesManager then sets it to True because a `pages/` folder sits next to app.py. From the
    second run on, AppTest would then run the page file alone (Streamlit's old multipage mode):
    no app.py, no shared sidebar. A real server runs app.py on every rerun once `st.navigation`
    has been called, so this keeps AppTest doing the same."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets


def _is_view(value) -> bool:
    """A live-run view of dlviz.ui.live (`pg_view`, `im_view`, ...): it has run handles and stops."""
    return isinstance(getattr(value, "handles", None), list) and callable(
        getattr(value, "stop", None)
    )


@pytest.fixture
def apptest(monkeypatch):
    """A factory of AppTest sessions of app.py: `apptest()` opens Home, `apptest("pages/x.py")`
    opens that page (through `st.switch_page`, as a click in the navigation does). Each first run
    must end without an exception. At the end, every live run a session holds in its session
    state (any dlviz View, whatever its key) is stopped and its threads joined: no run thread
    outlives its test."""
    if app_test_module is None:
        pytest.skip("streamlit is not installed")
    monkeypatch.setattr(app_test_module, "PagesManager", _NavigationPagesManager)
    monkeypatch.setattr(PagesManager, "uses_pages_directory", False)
    sessions: list[AppTest] = []

    def make(
        page: str | None = None,
        *,
        timeout: float = 60,
        token: str = "",
        query: dict[str, str] | None = None,
    ) -> AppTest:
        """`token`: the browser's dlviz token (its cookie), for a second session of one browser;
        `query`: the page's URL query (a link's settings)."""
        at = AppTest.from_file(str(APP), default_timeout=timeout)
        sessions.append(at)
        if token:
            from dlviz.ui import owner

            at.session_state[owner.TOKEN_KEY] = token
        at.run()
        assert not at.exception, at.exception
        if page:
            at.switch_page(page)
            if query:
                at.query_params.update(query)
            at.run()
            assert not at.exception, at.exception
        return at

    yield make

    for at in sessions:
        views = [v for _, v in at.session_state.items() if _is_view(v)]
        for view in views:
            view.stop()
        for view in views:
            for h in view.handles:
                h.thread.join(timeout=20)
                assert not h.thread.is_alive(), "a run thread outlived its test"
    from dlviz.ui import owner, upload_budget

    owner.forget_all()  # the browsers' registry of Views is process-wide
    upload_budget.forget_all()  # and so is the list of the sessions' upload ledgers


# --- browser: a real server, Debian's Chromium ---------------------------------------------------

BROWSER_FIXTURES = {"streamlit_server", "browser", "new_page"}


def pytest_collection_modifyitems(items):
    """A test that uses a browser fixture is a `browser` test (`-m browser` / `-m "not browser"`)
    even where its module forgot `pytestmark = pytest.mark.browser`."""
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            if item.get_closest_marker("browser") is None:
                item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; fails when it is missing (skips with DLVIZ_SKIP_BROWSER=1)."""
    return require_chromium()


@pytest.fixture(scope="module")
def streamlit_args() -> list[str]:
    """Extra `streamlit run` options for this module's server, e.g.
    `["--server.disconnectedSessionTTL", "2"]`: override this fixture in a test module."""
    return []


@pytest.fixture(scope="module")
def streamlit_env() -> dict[str, str | None]:
    """Extra environment variables for this module's server (None removes one): override this
    fixture in a test module. They are applied last, so they win over DLVIZ_HOME and TMPDIR."""
    return {}


@pytest.fixture(scope="module")
def streamlit_server(chromium_path, streamlit_args, streamlit_env, tmp_path_factory, request):
    """The dashboard (`dlviz ui`) on a free port of 127.0.0.1, one per test module, with its own
    empty run store (DLVIZ_HOME = `server.home`) and temporary folder (TMPDIR = `server.tmpdir`);
    its log is `server.log_path`. Open a page with `page.goto(streamlit_server.url + "/images")`."""
    tmp = tmp_path_factory.mktemp(f"browser-{request.module.__name__}")
    with running_streamlit(tmp, extra_args=streamlit_args, env=streamlit_env) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Debian's Chromium through Playwright, one per test module (each page gets its own
    context: see `new_page`)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser):
    """`new_page()` opens a page in a fresh browser context: each is its own Streamlit session."""
    factory = PageFactory(browser, VIEWPORT, UI_MS)
    yield factory
    factory.close()
