"""How much memory people's uploads hold, per session and on the whole server, and the refusal
of an upload that would take either past its budget.

Uploads live in the server's memory for as long as a session keeps them: the files as they came
(while they are read, and where a page keeps them, as the Sequence lab keeps a text file) and
what was decoded from them (pictures, clips, a dataset). Each page that keeps uploads says here
what it holds, under a name of its own (a *holder*: ``up_set``, ``sq_own``...):

- `claim(holder, n_bytes, page, what)` before it takes something in: the holder's new size is
  recorded and "" returned when this session stays within ``DLVIZ_SESSION_UPLOAD_MB`` (default
  256) and every session together within ``DLVIZ_SERVER_UPLOAD_MB`` (default 1024, or a quarter
  of the machine's memory where that is less); otherwise nothing changes and the message says
  how much is held, by which page, and how to free it. Growing is checked; shrinking always
  passes.
- `release(holder)` when it lets go (files removed, a class removed, the ZIP imported).

A session's share lives in its own session state (a small ledger), and the process-wide list of
ledgers holds them by weak reference: when Streamlit drops an ended session, its ledger goes
with it and the server's total drops at once. A ledger whose session the server no longer
knows (gone longer than ``server.disconnectedSessionTTL``) is not counted either, even before
its memory is collected.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

SESSION_VAR = "DLVIZ_SESSION_UPLOAD_MB"
SERVER_VAR = "DLVIZ_SERVER_UPLOAD_MB"
DEFAULT_SESSION_MB = 256
DEFAULT_SERVER_MB = 1024
KEY = "_dlviz_upload_ledger"
MB = 2**20


def _megabytes(var: str, default: int) -> int:
    """A setting in whole megabytes (at least 1); the default where unset or not a number."""
    text = os.environ.get(var, "").strip()
    return int(text) * MB if text.isdigit() and int(text) >= 1 else default * MB


def _machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def session_cap() -> int:
    """The most bytes one session's uploads may hold (`DLVIZ_SESSION_UPLOAD_MB`)."""
    return _megabytes(SESSION_VAR, DEFAULT_SESSION_MB)


def server_cap() -> int:
    """The most bytes every session's uploads may hold together (`DLVIZ_SERVER_UPLOAD_MB`;
    by default 1024 MB, or a quarter of the machine's memory where that is less)."""
    if os.environ.get(SERVER_VAR, "").strip():
        return _megabytes(SERVER_VAR, DEFAULT_SERVER_MB)
    quarter = _machine_memory() // 4
    default = DEFAULT_SERVER_MB * MB
    return min(default, quarter) if quarter >= 64 * MB else default


# --- the ledgers --------------------------------------------------------------------------------


@dataclass(eq=False)
class Ledger:
    """What one session's uploads hold: holder -> (page, bytes)."""

    session_id: str
    held: dict[str, tuple[str, int]] = field(default_factory=dict)
    last_alive: float = field(default_factory=time.monotonic)

    def total(self) -> int:
        return sum(n for _, n in self.held.values())

    def by_page(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for page, n in self.held.values():
            out[page] = out.get(page, 0) + n
        return out


_lock = threading.Lock()
_ledgers: weakref.WeakSet[Ledger] = weakref.WeakSet()


def _session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else ""


def _known(ledger: Ledger, now: float) -> bool:
    """Is the ledger's session still one the server keeps (connected, or disconnected for less
    than `server.disconnectedSessionTTL`)? Always, where there is no server (AppTest)."""
    try:
        from streamlit.runtime import Runtime

        if not ledger.session_id or not Runtime.exists():
            return True
        if Runtime.instance().is_active_session(ledger.session_id):
            ledger.last_alive = now
            return True
        ttl = float(st.get_option("server.disconnectedSessionTTL") or 120)
    except Exception:  # unsure: count it
        return True
    return now - ledger.last_alive <= ttl


def _ledger() -> Ledger:
    """This session's ledger (made on first use and listed process-wide)."""
    ss = st.session_state
    ledger = ss.get(KEY)
    if not isinstance(ledger, Ledger):
        ledger = Ledger(_session_id())
        ss[KEY] = ledger
        with _lock:
            _ledgers.add(ledger)
    return ledger


def _server_total(now: float) -> int:
    return sum(led.total() for led in list(_ledgers) if _known(led, now))


def held() -> int:
    """The bytes this session's uploads hold."""
    return _ledger().total()


def server_held() -> int:
    """The bytes every session's uploads hold together."""
    with _lock:
        return _server_total(time.monotonic())


def forget_all() -> None:
    """Forget every session's ledger (tests)."""
    with _lock:
        for led in list(_ledgers):
            led.held.clear()
        _ledgers.clear()


# --- claims -------------------------------------------------------------------------------------


def size(n_bytes: float) -> str:
    """Bytes as a person reads them: 0 MB, 40 KB, 3.2 MB, 240 MB, 1.5 GB."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.1f} GB"
    if n_bytes <= 0:
        return "0 MB"
    if n_bytes < MB / 10:
        return f"{max(1, round(n_bytes / 1024))} KB"
    mb = n_bytes / MB
    return f"{mb:.1f} MB" if mb < 10 else f"{mb:.0f} MB"


def describe() -> str:
    """This session's share of its budget, in one sentence for a page's caption."""
    return (
        f"Your uploads hold {size(held())} of the {size(session_cap())} one session may hold "
        "(on every page together)."
    )


def _where(pages: Mapping[str, int]) -> str:
    parts = [f"{page} {size(n)}" for page, n in sorted(pages.items(), key=lambda kv: -kv[1]) if n]
    return f" ({', '.join(parts)})" if parts else ""


def claim(holder: str, n_bytes: int, page: str, what: str = "") -> str:
    """Let `holder` (a page's name for what it keeps, shown as `page`) hold `n_bytes` from now
    on: "" when this session and the server stay within their budgets (recorded), else the
    reason it may not (and nothing changes). `what` names the upload the message begins with
    (without it, the message begins "was not taken in", to follow a file's name)."""
    ledger = _ledger()
    n_bytes = max(0, int(n_bytes))
    now = time.monotonic()
    with _lock:
        old = ledger.held.get(holder, (page, 0))[1]
        if n_bytes <= old:
            ledger.held[holder] = (page, n_bytes)
            return ""
        mine = ledger.total()
        server = _server_total(now) + (0 if ledger in _ledgers else mine)
        more = n_bytes - old
        cap, everyone = session_cap(), server_cap()
        if mine + more <= cap and server + more <= everyone:
            ledger.held[holder] = (page, n_bytes)
            return ""
        pages = ledger.by_page()
    name = f"{what} was not taken in" if what else "was not taken in"
    if mine + more > cap:
        return (
            f"{name}: it needs {size(more)}, and your uploads already hold {size(mine)}"
            f"{_where(pages)} of the {size(cap)} one session may hold ({SESSION_VAR}). "
            + SESSION_ADVICE
        )
    return (
        f"{name}: it needs {size(more)}, and everyone's uploads on this server already hold "
        f"{size(server)} of the {size(everyone)} it keeps for uploads ({SERVER_VAR}); yours "
        f"hold {size(mine)}{_where(pages)}. " + SERVER_ADVICE
    )


# What a refusal (`claim`) ends with: what to do about it.
_KEPT = "Nothing you uploaded before is lost."
SESSION_ADVICE = (
    "Remove files or classes you no longer need (their Remove buttons, or the x beside a file "
    f"in its uploader), then add it again. {_KEPT}"
)
SERVER_ADVICE = f"Remove files you no longer need, or try again when others have finished. {_KEPT}"


def split_advice(message: str) -> tuple[str, str]:
    """A refusal of `claim` as (its reason, its advice); ("message", "") for any other
    message. Several files refused at once list their reasons, and the advice once."""
    for advice in (SESSION_ADVICE, SERVER_ADVICE):
        if message.endswith(" " + advice):
            return message[: -len(advice) - 1], advice
    return message, ""


def record(holder: str, n_bytes: int, page: str) -> None:
    """`holder` holds `n_bytes` now, whatever the budgets say: what is already held (after a
    removal, or a set kept from before), never something new."""
    ledger = _ledger()
    with _lock:
        ledger.held[holder] = (page, max(0, int(n_bytes)))


def release(holder: str) -> None:
    """`holder` holds nothing any more."""
    ledger = _ledger()
    with _lock:
        ledger.held.pop(holder, None)


# --- what an object holds ------------------------------------------------------------------------


def nbytes(obj: Any, depth: int = 6) -> int:
    """The bytes of the arrays, tensors, bytes and strings `obj` holds: a labelled set's
    pictures or clips, a dataset's tensors (fields, lists and dicts followed `depth` deep)."""
    if obj is None or isinstance(obj, (bool, int, float)):
        return 0
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return len(obj)
    if isinstance(obj, str):
        return len(obj)
    n = getattr(obj, "nbytes", None)  # a numpy array
    if isinstance(n, int) and not callable(n):
        return n
    if callable(getattr(obj, "element_size", None)) and callable(getattr(obj, "nelement", None)):
        return int(obj.element_size() * obj.nelement())  # a torch tensor
    if depth <= 0:
        return 0
    if isinstance(obj, Mapping):
        return sum(nbytes(v, depth - 1) for v in obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sum(nbytes(v, depth - 1) for v in obj)
    fields = getattr(obj, "__dict__", None)
    if isinstance(fields, dict):
        return sum(nbytes(v, depth - 1) for v in fields.values())
    return 0
