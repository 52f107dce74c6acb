"""One temporary folder per browser session, removed when the session ends.

Streamlit has no "session ended" callback. A session ends when its browser tab has been gone
longer than ``server.disconnectedSessionTTL`` (after that it cannot reconnect), so a janitor
thread looks every few seconds at which sessions are still connected and removes the folder of
one that has not been for longer than that. Folders left when the server stops are removed at
exit. Everything dlviz writes for a session goes in its folder; nothing goes anywhere else.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

PREFIX = "dlviz-session-"
KEY = "_dlviz_session_folder"
SWEEP_EVERY_S = 2.0


class FolderJanitor:
    """Folders by session id; `sweep()` removes those whose session has been gone (not alive)
    for longer than `grace_s`."""

    def __init__(
        self,
        is_alive: Callable[[str], bool],
        grace_s: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.is_alive = is_alive
        self.grace_s = grace_s
        self.clock = clock
        self._lock = threading.Lock()
        self._folders: dict[str, Path] = {}
        self._last_alive: dict[str, float] = {}

    def register(self, session_id: str, folder: Path) -> None:
        with self._lock:
            self._folders[session_id] = folder
            self._last_alive[session_id] = self.clock()

    def folders(self) -> dict[str, Path]:
        with self._lock:
            return dict(self._folders)

    def sweep(self) -> list[Path]:
        """Remove the folders of ended sessions; returns them."""
        now = self.clock()
        removed = []
        for sid, folder in self.folders().items():
            try:
                alive = self.is_alive(sid)
            except Exception:  # unsure: keep it, and look again next time
                alive = True
            with self._lock:
                if alive:
                    self._last_alive[sid] = now
                    continue
                if now - self._last_alive.get(sid, now) <= self.grace_s:
                    continue
                self._folders.pop(sid, None)
                self._last_alive.pop(sid, None)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        return removed

    def remove_all(self) -> None:
        for sid, folder in self.folders().items():
            shutil.rmtree(folder, ignore_errors=True)
            with self._lock:
                self._folders.pop(sid, None)


def _session_alive(session_id: str) -> bool:
    from streamlit.runtime import Runtime

    if not Runtime.exists():  # AppTest: no server, the session lives as long as the test
        return True
    return Runtime.instance().is_active_session(session_id)


_janitor: FolderJanitor | None = None
_janitor_lock = threading.Lock()


def janitor() -> FolderJanitor:
    """The process's janitor, with its sweeping thread started on first use."""
    global _janitor
    with _janitor_lock:
        if _janitor is None:
            ttl = float(st.get_option("server.disconnectedSessionTTL") or 120)
            _janitor = FolderJanitor(_session_alive, grace_s=ttl)
            atexit.register(_janitor.remove_all)
            threading.Thread(target=_sweep_forever, args=(_janitor,), daemon=True).start()
        return _janitor


def _sweep_forever(j: FolderJanitor) -> None:
    while True:
        time.sleep(SWEEP_EVERY_S)
        j.sweep()


def session_folder() -> Path:
    """This session's temporary folder (made on first use)."""
    folder = st.session_state.get(KEY)
    if folder is not None and Path(folder).is_dir():
        return Path(folder)
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    janitor().register(ctx.session_id if ctx else folder.name, folder)
    st.session_state[KEY] = str(folder)
    return folder
