"""The per-session temporary folder's janitor: a folder goes when its session has been gone for
longer than the time Streamlit keeps a disconnected session for reconnecting."""

from __future__ import annotations

from dlviz.ui.session_folder import FolderJanitor


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_a_folder_outlives_a_short_disconnect_and_goes_after_the_grace_time(tmp_path):
    alive = {"a": True, "b": True}
    clock = Clock()
    j = FolderJanitor(lambda sid: alive[sid], grace_s=120, clock=clock)
    fa, fb = tmp_path / "a", tmp_path / "b"
    for sid, f in (("a", fa), ("b", fb)):
        f.mkdir()
        (f / "set.zip").write_bytes(b"x")
        j.register(sid, f)
    clock.t = 100
    assert j.sweep() == []  # both seen at t=100 (the janitor sweeps every few seconds)
    alive["a"] = False  # then tab a closes
    clock.t = 102
    assert j.sweep() == [] and fa.exists()
    clock.t = 200  # 100 s later: it could still reconnect
    assert j.sweep() == [] and fa.exists()
    clock.t = 221  # more than 120 s after it was last seen, at t=100
    assert j.sweep() == [fa]
    assert not fa.exists() and fb.exists() and set(j.folders()) == {"b"}


def test_a_session_that_reconnects_keeps_its_folder(tmp_path):
    alive = {"a": True}
    clock = Clock()
    j = FolderJanitor(lambda sid: alive[sid], grace_s=10, clock=clock)
    (tmp_path / "a").mkdir()
    j.register("a", tmp_path / "a")
    alive["a"] = False
    clock.t = 5
    j.sweep()
    alive["a"] = True  # back within the grace time
    clock.t = 9
    j.sweep()
    alive["a"] = False
    clock.t = 18  # 9 s since last seen: kept
    assert j.sweep() == [] and (tmp_path / "a").exists()


def test_when_unsure_a_folder_is_kept_and_at_exit_all_go(tmp_path):
    def broken(_sid):
        raise RuntimeError("no runtime")

    clock = Clock()
    j = FolderJanitor(broken, grace_s=0, clock=clock)
    (tmp_path / "a").mkdir()
    j.register("a", tmp_path / "a")
    clock.t = 1000
    assert j.sweep() == [] and (tmp_path / "a").exists()
    j.remove_all()
    assert not (tmp_path / "a").exists() and j.folders() == {}
