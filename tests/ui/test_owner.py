"""A person's runs are found again after a reload or in a second tab (a new session of the same
browser, which carries the same dlviz token), never by another browser; after a server restart
the person is told what became of the runs it cut off."""

from __future__ import annotations

import time

import pytest
from support.apptest import texts, wait_until_done

from dlviz import jobs, runs
from dlviz.config import RunConfig
from dlviz.train import Callback, Control
from dlviz.ui import owner

TOKEN = "A" * 22
OTHER = "B" * 22


def playground_run(apptest, token: str):
    """A session of browser `token` that starts an open-ended Playground run."""
    at = apptest("pages/playground.py", token=token)
    at.select_slider(key="pg_samples").set_value(200).run()
    at.button(key="pg_train").click().run()
    assert not at.exception, at.exception
    view = at.session_state["pg_view"]
    assert view.live
    return at, view


def test_a_reload_finds_the_run_with_its_live_view_and_stop(apptest):
    first, view = playground_run(apptest, TOKEN)
    # The reload: a new session, empty session state, the same browser.
    again = apptest("pages/playground.py", token=TOKEN)
    assert again.session_state["pg_view"] is view
    assert again.button(key="pg_view_stop").disabled is False  # the live panel, with Stop
    assert again.button(key="pg_train").disabled  # one run at a time, as before the reload
    sidebar = " ".join(texts(again.sidebar.markdown) + texts(again.sidebar.caption))
    assert "Your runs" in sidebar and "run: running" in sidebar
    again.button(key="sb_stop_pg_view").click().run()  # Stop from the sidebar
    wait_until_done(again, deadline_s=20)
    assert view.handles[0].history.status == "stopped"
    assert not again.exception


def test_another_browser_never_sees_the_run(apptest):
    _, view = playground_run(apptest, TOKEN)
    stranger = apptest("pages/playground.py", token=OTHER)
    assert "pg_view" not in stranger.session_state
    assert not stranger.button(key="pg_train").disabled
    assert owner.views(OTHER) == {}
    assert owner.views(TOKEN) == {"pg_view": view}


def test_the_run_store_keeps_a_hash_of_the_token_not_the_token(apptest):
    playground_run(apptest, TOKEN)
    deadline = time.monotonic() + 20
    while not (rows := runs.list_runs(runs.default_root())):  # in the store from its start
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (row,) = rows
    assert row["owner"] == owner.owner_id(TOKEN) != TOKEN
    assert (
        TOKEN
        not in (runs.run_folder(runs.default_root(), row["run_id"]) / "status.json").read_text()
    )


def _stopped_by_server(root, tok: str) -> str:
    """A finished Playground-like run of browser `tok`, stopped as the server stopped."""
    cfg = RunConfig().with_changes(data={"n_samples": 200}, train={"until_stopped": True})
    control = Control()

    class Stop(Callback):
        def on_epoch_end(self, state):
            if state.epoch == 4:
                control.stop(jobs.SERVER_STOP_REASON)

    end = jobs.execute(
        cfg, emit=lambda e: None, control=control, runs_dir=root, callbacks=(Stop(),),
        owner=owner.owner_id(tok),
    )  # fmt: skip
    return end["run_id"]


def test_after_a_restart_the_browser_is_told_what_became_of_its_run_once(apptest, monkeypatch):
    root = runs.default_root()
    run_id = _stopped_by_server(root, TOKEN)
    monkeypatch.setattr(owner, "_cookie_token", lambda: TOKEN)
    at = apptest("pages/playground.py", token=TOKEN)
    warnings = texts(at.warning)
    assert any("server restarted" in w and "stopped at epoch 4" in w for w in warnings), warnings
    assert any("curves and weights are saved" in w for w in warnings), warnings
    assert runs.run_row(root, run_id)["owner_told"] is True
    # Told once: the next session of that browser hears nothing more.
    again = apptest("pages/playground.py", token=TOKEN)
    assert not any("server restarted" in w for w in texts(again.warning))


def test_a_stranger_is_not_told_of_someone_elses_runs(apptest, monkeypatch):
    _stopped_by_server(runs.default_root(), TOKEN)
    monkeypatch.setattr(owner, "_cookie_token", lambda: OTHER)
    at = apptest("pages/playground.py", token=OTHER)
    assert not any("server restarted" in w for w in texts(at.warning))


@pytest.mark.parametrize(
    "row, told",
    [
        ({"status": "interrupted"}, True),
        ({"status": "stopped", "stop_reason": jobs.SERVER_STOP_REASON}, True),
        ({"status": "stopped"}, False),  # stopped by the person
        ({"status": "finished"}, False),
        ({"status": "interrupted", "owner_told": True}, False),
        ({"status": "interrupted", "owner": "someone else"}, False),
    ],
)
def test_which_runs_a_restart_notice_names(row, told):
    r = {"owner": "me", "run_id": "x", **row}
    assert (owner.cut_off_runs([r], "me") == [r]) is told


def test_an_interrupted_run_is_described_with_what_was_kept():
    r = {"status": "interrupted", "run_id": "x", "dataset": "spiral", "arch": "mlp",
         "epochs": 57, "final_test_accuracy": 0.9}  # fmt: skip
    text = owner.describe_cut_off(r)
    assert "kept up to epoch 57, test accuracy 90.0%" in text and "weights are not" in text


@pytest.mark.parametrize(
    "page, button, view_key",
    [
        ("pages/images.py", "im_train", "im_view"),
        ("pages/depth.py", "dp_run", "dp_view"),
        ("pages/transfer.py", "tl_compare", "tl_view"),
        ("pages/transfer.py", "tl_efficiency", "tl_eff_view"),
        ("pages/devices.py", "dv_race_start", "dv_race"),
    ],
)
def test_every_lab_shows_its_run_again_after_a_reload(apptest, monkeypatch, page, button, view_key):
    from dlviz.labs.devices import view as devices_page

    monkeypatch.setattr(devices_page, "race_devices", lambda: ["cpu", "auto"])  # a race of two
    first = apptest(page, token=TOKEN)
    first.button(key=button).click().run()
    assert not first.exception, first.exception
    view = first.session_state[view_key]
    # The reload: the page draws the adopted run (its panel, with Stop) without failing.
    again = apptest(page, token=TOKEN)
    assert again.session_state[view_key] is view
    assert not again.exception, again.exception
    stop = [b for b in again.button if b.key and b.key.startswith(view_key) and "stop" in b.key]
    assert stop, [b.key for b in again.button]
    view.stop()
    for h in view.handles:
        h.thread.join(30)
    again.run()
    assert not again.exception, again.exception
