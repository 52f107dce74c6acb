"""The very first page a brand-new server shows: the app's own navigation from its first paint.

Streamlit takes a `pages/` folder beside the entry script for old-style multipage pages until
app.py has reached `st.navigation` once in the server process; on a fresh `streamlit run
app.py` the first visitor saw the raw file names (app, depth, ... uploads) as the menu for about
a second. `dlviz ui` (and `./dev.sh dashboard`, which runs it) tells Streamlit before the
server starts; this test watches every menu the sidebar ever shows on a fresh server.
"""

from __future__ import annotations

import time

import pytest
from support.browser import UI_MS, app_titles, report_failure, running_streamlit, screenshot

pytestmark = pytest.mark.browser


# Installed before the page's own scripts: records each distinct list of menu labels the sidebar
# shows, from the first one on (a link's text is its icon's name, then its label).
RECORD_MENUS = """
window.__dlvizMenus = [];
new MutationObserver(() => {
  const labels = Array.from(document.querySelectorAll('[data-testid="stSidebarNavLink"]'))
    .map(a => a.innerText.trim().split('\\n').filter(Boolean).pop() || '');
  const seen = window.__dlvizMenus;
  if (labels.length && JSON.stringify(labels) !== JSON.stringify(seen[seen.length - 1]))
    seen.push(labels);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@report_failure
def test_a_fresh_server_shows_only_the_apps_navigation(tmp_path, new_page):
    titles = app_titles()
    assert len(titles) >= 8, titles
    with running_streamlit(tmp_path) as server:  # brand-new: no session has run app.py yet
        page = new_page()
        page.add_init_script(RECORD_MENUS)
        start = time.monotonic()
        response = page.goto(server.url)
        # the browser's owner token comes with the page itself, before any script of it runs
        # (dlviz.ui.owner_cookie): a reload at once keeps the runs it started
        given = response.header_value("set-cookie") or ""
        assert given.startswith("dlviz_owner=") and "SameSite=Strict" in given, given
        token = given.split(";")[0].split("=", 1)[1]
        # What a person sees in the first two seconds (test-artifacts/first-load-*.png).
        for i in range(5):
            screenshot(page, f"first-load-{i}")
            time.sleep(max(0.0, start + 0.5 * (i + 1) - time.monotonic()))
        page.wait_for_function(
            "(n) => window.__dlvizMenus.some(m => m.length === n)", arg=len(titles), timeout=UI_MS
        )
        page.locator('[data-testid="stMain"] h1').first.wait_for()  # Home has drawn
        menus = page.evaluate("window.__dlvizMenus")
        kept = {c["name"]: c["value"] for c in page.context.cookies()}.get("dlviz_owner")
    assert kept == token, "the page replaced the token its server gave"
    assert menus, "the sidebar never showed a menu"
    assert all(m == titles for m in menus), f"menus shown, in order: {menus}"
