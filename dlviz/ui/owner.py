"""Who started a run, so a person finds their runs again after a reload, in a second tab, or
after the server restarted.

A browser carries one random token in a cookie (`dlviz_owner`: `dlviz ui`'s server sets it on
the first page a browser asks for, `dlviz.ui.owner_cookie`; a small script in the page sets it
where the server did not). Streamlit gives every page load a new session with an empty `st.session_state`,
so the Views a session started are also kept here, in a process-wide registry keyed by that
token: a new session of the same browser adopts them into its own session state, and the live
view, Pause and Stop work again. Nobody else sees them: the registry is only ever read with the
token of the browser asking, and the token never leaves that browser and this process (the run
store keeps only `owner_id`, a hash of it). Where `st.login` is set up and the person logged in,
`owner_id` is a hash of their identity instead, so their runs are theirs from any browser.
Whose stored runs a session may see is decided in `dlviz.ui.visibility`.

After a restart the registry is empty: `restart_notice` tells the person what happened to the
runs that their browser started and that the server's end cut off, from the run store.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import streamlit as st

from dlviz import jobs, runs
from dlviz.ui.owner_cookie import COOKIE, new_token
from dlviz.ui.owner_cookie import TOKEN as _TOKEN

TOKEN_KEY = "_dlviz_owner_token"
NOTICE_KEY = "_dlviz_restart_notice"
KEEP_ENDED_S = 15 * 60.0  # an ended View stays findable this long after it ended
MAX_OWNERS = 2_000  # browsers remembered at once (the least recently seen are forgotten)


# --- the browser's token --------------------------------------------------------------------

_COOKIE_JS = """
export default function (component) {
  const { data } = component;
  const path = data.path || "/";
  // served over HTTPS (behind a proxy): never sent over plain HTTP
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie =
    `${data.name}=${data.token}; path=${path}; max-age=31536000; SameSite=Strict${secure}`;
}
"""


@st.cache_resource(show_spinner=False)
def _cookie_component():
    return st.components.v2.component("dlviz_owner_cookie", js=_COOKIE_JS)


def _cookie_token() -> str:
    try:
        value = st.context.cookies.get(COOKIE, "")
    except Exception:  # no browser behind this session (AppTest, bare mode)
        return ""
    return value if isinstance(value, str) and _TOKEN.fullmatch(value) else ""


def token() -> str:
    """This browser's token: from its cookie, else made now (and given to the browser by
    `remember_browser`, which the app calls on every page)."""
    ss = st.session_state
    if not ss.get(TOKEN_KEY):
        ss[TOKEN_KEY] = _cookie_token() or new_token()
    return ss[TOKEN_KEY]


def login_available() -> bool:
    """True where `st.login` is set up: secrets.toml has an [auth] section (Streamlit then gives
    `st.user` an ``is_logged_in`` field, signed in or not)."""
    try:
        return "is_logged_in" in st.user.to_dict()
    except Exception:  # no script run (a download's callable), or an older Streamlit
        return False


def signed_in() -> str:
    """The signed-in person's stable identity (their identity provider and its subject, or
    their email), where `st.login` is set up and they logged in; "" otherwise."""
    try:
        user = st.user.to_dict()
    except Exception:
        return ""
    if user.get("is_logged_in") is not True:
        return ""
    who = user.get("sub") or user.get("email")
    if not isinstance(who, str) or not who:
        return ""
    return f"{user.get('iss') or ''}|{who}"


def owner_id(tok: str | None = None) -> str:
    """The run store's name for the person: a hash of their signed-in identity (the same from
    any browser) where they logged in with `st.login`, else of the browser's token; never the
    identity or the token itself. With `tok`: that browser token's."""
    if tok is None and (who := signed_in()):
        return hashlib.sha256(f"user:{who}".encode()).hexdigest()[:16]
    return hashlib.sha256((tok or token()).encode()).hexdigest()[:16]


def remember_browser() -> None:
    """Give the browser its token as a cookie, where it has none yet (an empty element)."""
    tok = token()
    if _cookie_token() == tok:
        return
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    _cookie_component()(
        data={"name": COOKIE, "token": tok, "path": f"/{base}" if base else "/"},
        key="dlviz_owner_cookie",
    )


# --- the registry of each browser's Views -----------------------------------------------------

_lock = threading.Lock()
# token -> {session-state key: (View, when it was last seen live or registered)}
_views: dict[str, dict[str, tuple[Any, float]]] = {}
_seen: dict[str, float] = {}


def _is_live(view: Any) -> bool:
    return any(h.alive for h in view.handles)


def _prune(now: float) -> None:
    for tok in list(_views):
        kept = {}
        for key, (view, stamp) in _views[tok].items():
            if _is_live(view):
                kept[key] = (view, now)
            elif now - stamp < KEEP_ENDED_S:
                kept[key] = (view, stamp)
        if kept:
            _views[tok] = kept
        else:
            del _views[tok]
            _seen.pop(tok, None)
    if len(_seen) > MAX_OWNERS:
        for tok in sorted(_seen, key=_seen.get)[: len(_seen) - MAX_OWNERS]:
            if not any(_is_live(v) for v, _ in _views.get(tok, {}).values()):
                _views.pop(tok, None)
                _seen.pop(tok, None)


def register(key: str, view: Any) -> None:
    """Keep `view` (stored by the page under `key`) findable for this browser."""
    tok = token()
    now = time.monotonic()
    with _lock:
        _views.setdefault(tok, {})[key] = (view, now)
        _seen[tok] = now
        _prune(now)


def views(tok: str | None = None) -> dict[str, Any]:
    """This browser's Views still kept, by session-state key."""
    tok = tok or token()
    now = time.monotonic()
    with _lock:
        _prune(now)
        _seen[tok] = now
        return {k: v for k, (v, _) in _views.get(tok, {}).items()}


def adopt() -> list[str]:
    """Put this browser's Views that this session does not hold yet into its session state
    (a reload, a second tab); returns their keys."""
    ss = st.session_state
    adopted = []
    for key, view in views().items():
        if ss.get(key) is not view and (key not in ss or not _is_live(ss[key])):
            ss[key] = view
            adopted.append(key)
    return adopted


def forget_all() -> None:
    """Forget every browser's Views (tests)."""
    with _lock:
        _views.clear()
        _seen.clear()


# --- after a restart ----------------------------------------------------------------------------


def cut_off_runs(rows: list[dict[str, Any]], owner: str) -> list[dict[str, Any]]:
    """The runs of `owner` that the end of a server cut off and that nobody told them of yet:
    stopped as the server stopped, or interrupted (their process ended without a word)."""
    found = []
    for r in rows:
        if r.get("owner") != owner or r.get("owner_told"):
            continue
        if r.get("status") == "interrupted" or (
            r.get("status") == "stopped" and r.get("stop_reason") == jobs.SERVER_STOP_REASON
        ):
            found.append(r)
    return found


def describe_cut_off(r: dict[str, Any]) -> str:
    """One line on what a server's end did to run `r` (a listing row) and what it kept."""
    what = f"{r.get('dataset')}, {r.get('arch')}"
    when = f", started {r['date']}" if r.get("date") else ""
    name = f"**{r['name']}** ({what}{when})" if r.get("name") else f"Your **{what}** run{when}"
    epochs = r.get("epochs")
    acc = r.get("final_test_accuracy")
    reached = f", test accuracy {acc:.1%}" if isinstance(acc, (int, float)) else ""
    if r.get("status") == "stopped":
        return (
            f"{name} was stopped at epoch {epochs}{reached} when the server stopped; its "
            "curves and weights are saved."
        )
    if epochs:
        return (
            f"{name} was cut off: the server's process ended without warning. Its curves are "
            f"kept up to epoch {epochs}{reached}, the last save; its weights are not."
        )
    return f"{name} was cut off before its first save: only its settings are kept."


def _find_cut_off() -> str:
    """The notice's text for this browser ("" when there is nothing to tell); the runs it names
    are marked as told, so the next session does not tell it again."""
    tok = _cookie_token()
    if not tok or views(tok):  # a new browser, or this server already knows its runs
        return ""
    root = runs.default_root()
    try:
        cut = cut_off_runs(runs.list_runs(root), owner_id(None if signed_in() else tok))
    except OSError:
        return ""
    if not cut:
        return ""
    for r in cut:
        try:
            runs.mark_owner_told(root, r["run_id"])
        except (OSError, runs.RunStoreError):
            pass
    lines = "\n".join(f"- {describe_cut_off(r)}" for r in cut[:5])
    more = f"\n- and {len(cut) - 5} more" if len(cut) > 5 else ""
    return (
        "**The dlviz server restarted since you last used it**, so the pages start again from "
        f"their default settings.\n{lines}{more}\n\nYour runs are on the **Runs** page."
    )


def _dismiss() -> None:
    st.session_state[NOTICE_KEY] = ""


def restart_notice() -> None:
    """If this browser's runs were cut off by the end of a server (a restart, an update, a
    crash): say so at the top of every page of this session, what was kept and where to find
    it, until the person closes the notice."""
    ss = st.session_state
    if NOTICE_KEY not in ss:
        ss[NOTICE_KEY] = _find_cut_off()
    if not ss[NOTICE_KEY]:
        return
    with st.container(border=False):
        st.warning(ss[NOTICE_KEY], icon=":material/restart_alt:")
        c1, c2, _ = st.columns([1, 1, 3])
        c1.page_link("pages/runs.py", label="Open Runs", icon=":material/history:")
        c2.button("Got it", key="owner_notice_close", on_click=_dismiss, icon=":material/close:")
