"""AppTest of the Devices page's board: who trains on this server now and who waits, with the
reason, naming nobody but "you"."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from dlviz import admission
from dlviz.ui import owner

TOKEN = "t" * 30


@pytest.fixture
def board(monkeypatch):
    monkeypatch.setenv("DLVIZ_RUNS_PER_DEVICE", "1")
    monkeypatch.setenv("DLVIZ_RUNS_PER_SESSION", "2")
    fresh = admission.Admission(budget=lambda _d: None, free=lambda _d: None)
    monkeypatch.setattr(admission, "BOARD", fresh)
    holders: list[tuple[threading.Thread, threading.Event]] = []

    def hold(who: str, label: str) -> None:
        release = threading.Event()

        def main():
            with fresh.admit(
                torch.device("cpu"),
                need=3 * 1024**2,
                should_stop=release.is_set,
                emit=lambda e: None,
                owner=who,
                label=label,
            ) as ok:
                if ok:
                    release.wait(30)

        t = threading.Thread(target=main, daemon=True)
        t.start()
        holders.append((t, release))
        deadline = time.monotonic() + 5
        while label not in [r["run"] for r in fresh.board()]:
            assert time.monotonic() < deadline
            time.sleep(0.01)

    yield hold
    for t, release in holders:
        release.set()
        t.join(5)


def test_the_board_shows_who_trains_and_who_waits_and_why(apptest, board, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    me = owner.owner_id(TOKEN)
    board("someone-elses-hash", "their spiral")
    board(me, "my xor")
    at = apptest("pages/devices.py", token=TOKEN)
    frame = next(d.value for d in at.dataframe if "whose" in d.value.columns)
    rows = frame.to_dict("records")
    assert [(r["state"], r["whose"], r["run"]) for r in rows] == [
        ("running", "someone else", "their spiral"),
        ("waiting", "you", "my xor"),
    ]
    assert "1 run is already training on it" in rows[1]["why it waits"]
    assert rows[0]["memory (about)"] == "3 MB"
    assert "someone-elses-hash" not in frame.to_string() and me not in frame.to_string()
    captions = " ".join(c.value for c in at.caption)
    assert "each device trains at most 1 run at once, one person at most 2 runs and" in captions
    assert "1 run training, 1 waiting." in captions


def test_an_idle_server_says_nothing_trains(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    monkeypatch.setattr(admission, "BOARD", admission.Admission())
    at = apptest("pages/devices.py")
    captions = " ".join(c.value for c in at.caption)
    assert "Nothing trains in the dashboard right now, and nothing waits." in captions
