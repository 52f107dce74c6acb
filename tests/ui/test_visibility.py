"""Whose runs a browser sees (`dlviz.ui.visibility`): in shared-server mode only its own, on
every page that reads the run store (Runs, Transfer's backbone picker, Sweeps), with another's
run indistinguishable from a missing one; in single-user mode all of them. Imported runs become
the importer's, and a run ZIP over the import cap is refused before it is read."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from dlviz import runs
from dlviz.cli import main
from dlviz.sweeps.driver import MANIFEST, sweep_folder
from dlviz.ui import owner, sidebar, visibility

A, B = "A" * 22, "B" * 22
PAGE = "pages/runs.py"


def stored(run_id: str, who: str, arch: str = "mlp", dataset: str = "xor") -> str:
    """A finished run of owner `who` ("" for none) in this test's store, written directly."""
    model = {"arch": "cnn", "blocks": [{"channels": 4}]} if arch == "cnn" else {"hidden": [4]}
    config = {"data": {"name": dataset}, "model": model, "train": {"epochs": 1}}
    summary = {"status": "finished", "epochs": 1, **({"owner": who} if who else {})}
    metrics = {"epoch": [1], "train_loss": [0.7], "test_loss": [0.7], "test_accuracy": [0.5]}
    runs.save_run(runs.default_root(), run_id, config, summary, metrics)
    return run_id


@pytest.fixture
def two_people():
    """A's run, B's run and a run of the command line (no owner)."""
    return (
        stored("run-of-a", owner.owner_id(A)),
        stored("run-of-b", owner.owner_id(B)),
        stored("run-of-cli", ""),
    )


@pytest.fixture
def shared(monkeypatch):
    monkeypatch.setenv("DLVIZ_SHARED", "1")


def table_ids(at: AppTest) -> list[str]:
    found = [d for d in at.dataframe if (d.key or "").startswith("rs_table_")]
    return list(found[0].value["run id"]) if found else []


def select(at: AppTest, run_id: str) -> None:
    frame = next(d for d in at.dataframe if (d.key or "").startswith("rs_table_"))
    rows = [table_ids(at).index(run_id)]
    at.session_state[frame.key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception


def texts(at: AppTest) -> str:
    kinds = ("error", "warning", "info", "success", "caption", "markdown")
    return "\n".join(str(e.value) for kind in kinds for e in at.get(kind))


# --- the rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, on", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_mode_is_the_setting(monkeypatch, value, on):
    monkeypatch.setenv("DLVIZ_SHARED", value)
    assert visibility.shared() is on


def test_another_persons_run_reads_as_a_missing_one(monkeypatch, shared, two_people):
    a_id = owner.owner_id(A)
    monkeypatch.setattr(owner, "owner_id", lambda tok=None: a_id)
    root = runs.default_root()
    rows = runs.list_runs(root)
    assert [r["run_id"] for r in visibility.visible_runs(rows)] == ["run-of-a"]
    assert visibility.run_row(root, "run-of-a")["run_id"] == "run-of-a"
    with pytest.raises(runs.RunNotFound) as theirs:
        visibility.load_run(root, "run-of-b")
    with pytest.raises(runs.RunNotFound) as nobodys:
        visibility.require(root, "run-of-nobody")
    with pytest.raises(runs.RunNotFound) as missing:
        runs.run_row(root, "run-of-nobody")
    assert str(theirs.value).replace("run-of-b", "X") == str(missing.value).replace(
        "run-of-nobody", "X"
    )
    assert str(nobodys.value) == str(missing.value)
    with pytest.raises(runs.RunNotFound):  # the command line's runs are the operator's
        visibility.require(root, "run-of-cli")
    assert visibility.may_touch(rows[0]) is (rows[0]["run_id"] == "run-of-a")


def test_single_user_mode_sees_every_run(monkeypatch, two_people):
    monkeypatch.delenv("DLVIZ_SHARED", raising=False)
    rows = runs.list_runs(runs.default_root())
    assert visibility.visible_runs(rows) == rows and len(rows) == 3
    visibility.require(runs.default_root(), "run-of-b")  # nothing to refuse


def test_sweeps_follow_the_same_rule(monkeypatch, shared):
    monkeypatch.setattr(owner, "owner_id", lambda tok=None: "me")
    sweeps = [{"sweep_id": "1", "owner": "me"}, {"sweep_id": "2", "owner": "other"},
              {"sweep_id": "3", "owner": ""}]  # fmt: skip
    assert [m["sweep_id"] for m in visibility.visible_sweeps(sweeps)] == ["1"]
    monkeypatch.setenv("DLVIZ_SHARED", "0")
    assert len(visibility.visible_sweeps(sweeps)) == 3


def test_a_signed_in_person_is_the_owner_from_any_browser(monkeypatch):
    monkeypatch.setattr(owner, "signed_in", lambda: "https://id.example|42")
    monkeypatch.setattr(owner, "token", lambda: A)
    as_a = owner.owner_id()
    monkeypatch.setattr(owner, "token", lambda: B)
    assert owner.owner_id() == as_a != owner.owner_id(B)
    assert "42" not in as_a and len(as_a) == 16


# --- the Runs page ------------------------------------------------------------------------------


def test_shared_the_runs_page_lists_changes_and_compares_only_ones_own(apptest, shared, two_people):
    mine = apptest(PAGE, token=A)
    assert table_ids(mine) == ["run-of-a"]
    assert "This server is shared" in texts(mine)
    select(mine, "run-of-a")
    mine.text_input(key="rs_name").input("mine").run()
    mine.button(key="rs_rename").click().run()
    assert runs.run_row(None, "run-of-a")["name"] == "mine"
    assert mine.get("download_button")  # its ZIP and CSV, offered for its own run

    theirs = apptest(PAGE, token=B)
    assert table_ids(theirs) == ["run-of-b"]
    assert runs.run_row(None, "run-of-b")["name"] == ""  # nobody renamed it
    # B deletes its own run; A's is untouched
    select(theirs, "run-of-b")
    theirs.button(key="rs_delete_confirm").click().run()
    assert not theirs.exception, theirs.exception
    assert {r["run_id"] for r in runs.list_runs(None)} == {"run-of-cli", "run-of-a"}
    assert table_ids(theirs) == []
    assert "No runs of yours yet" in texts(theirs)


def test_shared_a_link_to_anothers_run_finds_nothing_as_for_a_missing_one(
    apptest, shared, two_people
):
    theirs = apptest(PAGE, token=A, query={"search": "run-of-b"})
    missing = apptest(PAGE, token=A, query={"search": "run-of-nobody"})
    assert table_ids(theirs) == table_ids(missing) == []
    assert "0 of 1 run shown" in texts(theirs) and "0 of 1 run shown" in texts(missing)


def test_single_user_the_runs_page_lists_every_run(apptest, monkeypatch, two_people):
    monkeypatch.delenv("DLVIZ_SHARED", raising=False)
    at = apptest(PAGE, token=A)
    assert sorted(table_ids(at)) == ["run-of-a", "run-of-b", "run-of-cli"]
    select(at, "run-of-b")
    at.text_input(key="rs_name").input("renamed by A").run()
    at.button(key="rs_rename").click().run()
    assert runs.run_row(None, "run-of-b")["name"] == "renamed by A"


def test_shared_transfer_offers_only_ones_own_cnn_runs_as_backbones(apptest, shared):
    from dlviz.labs.transfer import widgets as transfer_widgets

    stored("cnn-of-a", owner.owner_id(A), arch="cnn", dataset="digits")
    stored("cnn-of-b", owner.owner_id(B), arch="cnn", dataset="digits")
    at = apptest("pages/transfer.py", token=A)
    at.selectbox(key="tl_backbone").set_value(transfer_widgets.FROM_RUN).run()
    assert not at.exception, at.exception
    options = at.selectbox(key="tl_run").options
    assert len(options) == 1 and "cnn-of-a" in options[0], options


def test_shared_the_sweeps_page_follows_only_ones_own_sweeps(apptest, shared):
    root = runs.default_root()
    for sid, who in (("sweep-of-a", owner.owner_id(A)), ("sweep-of-b", owner.owner_id(B))):
        folder = sweep_folder(root, sid)
        folder.mkdir(parents=True)
        manifest = {"sweep_id": sid, "owner": who, "state": "finished", "trials": [],
                    "started": time.time(), "axes": [], "where": "this machine"}  # fmt: skip
        (folder / MANIFEST).write_text(json.dumps(manifest))
    at = apptest("pages/sweeps.py", token=A)
    assert at.session_state["sw_current"] == "sweep-of-a"
    options = at.selectbox(key="sw_current").options
    assert len(options) == 1 and "sweep-of-a" in options[0], options


# --- import -------------------------------------------------------------------------------------


def run_zip(run_id: str) -> bytes:
    return runs.export_run(None, run_id)


def test_shared_an_imported_run_is_the_importers(apptest, shared):
    data = run_zip(stored("travelling", owner.owner_id(B)))
    runs.delete_run(None, "travelling")
    at = apptest(PAGE, token=A)
    at.get("file_uploader")[0].set_value([("travelling.zip", data, "application/zip")]).run()
    assert not at.exception, at.exception
    assert "Imported travelling.zip as run travelling." in texts(at)
    assert table_ids(at) == ["travelling"]
    row = runs.run_row(None, "travelling")
    assert row["owner"] == owner.owner_id(A) and row["owner_told"] is True
    assert table_ids(apptest(PAGE, token=B)) == []  # B exported it, A imported it here: A's


def test_the_import_cap_refuses_a_big_zip_before_reading_it(apptest, monkeypatch):
    monkeypatch.setenv("DLVIZ_MAX_IMPORT_MB", "1")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("big/config.json", "{}")
        zf.writestr("big/weights.safetensors", b"\0" * (2 << 20))
    at = apptest(PAGE)
    at.get("file_uploader")[0].set_value([("big.zip", buf.getvalue(), "application/zip")]).run()
    assert not at.exception, at.exception
    text = texts(at)
    assert "big.zip: it is 2 MB, over the 1 MB a run ZIP may be here (DLVIZ_MAX_IMPORT_MB" in text
    assert runs.list_runs(None) == []
    assert "at most 1 MB" in at.get("file_uploader")[0].help


def test_the_command_line_import_refuses_a_big_zip_and_keeps_no_owner(
    tmp_path, monkeypatch, capsys
):
    data = run_zip(stored("travelling", "some-browser"))
    path = tmp_path / "travelling.zip"
    path.write_bytes(data)
    store = tmp_path / "store"
    assert main(["runs", "import", str(path), "--runs-dir", str(store)]) == 0
    assert runs.run_row(store, "travelling")["owner"] is None  # the operator's
    monkeypatch.setenv("DLVIZ_MAX_IMPORT_MB", "1")
    big = tmp_path / "big.zip"
    big.write_bytes(b"PK" + b"\0" * (3 << 20))
    monkeypatch.setattr(type(big), "read_bytes", lambda self: pytest.fail("it was read"))
    assert main(["runs", "import", str(big), "--runs-dir", str(store)]) == 1
    assert "it is 3 MB, over the 1 MB a run ZIP may be here" in capsys.readouterr().err


def test_import_run_gives_the_run_its_owner(tmp_path):
    data = run_zip(stored("travelling", "exporter"))
    assert runs.run_row(tmp_path, runs.import_run(tmp_path, data))["owner"] == "exporter"
    again = runs.import_run(tmp_path, data, owner="importer")
    assert runs.run_row(tmp_path, again)["owner"] == "importer"
    # a ZIP of a config alone still gets its owner (in a status.json of its own)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("bare/config.json", json.dumps({"data": {"name": "xor"}}))
    bare = runs.import_run(tmp_path, buf.getvalue(), owner="importer")
    row = runs.run_row(tmp_path, bare)
    assert row["owner"] == "importer" and row["dataset"] == "xor"
    assert row["status"] == "interrupted"


def test_dlviz_ui_shared_sets_the_mode(monkeypatch):
    from dlviz.ui import server

    monkeypatch.setenv("DLVIZ_SHARED", "0")
    seen = {}
    monkeypatch.setattr(server, "serve", lambda args: seen.update(
        args=list(args), shared=visibility.shared()) or 0)  # fmt: skip
    assert main(["ui", "--shared", "--server.port", "8599"]) == 0
    assert seen == {"args": ["--server.port", "8599"], "shared": True}


def test_the_sidebar_offers_log_in_and_log_out_where_st_login_is_set_up(apptest, monkeypatch):
    plain = apptest()
    assert not [b for b in plain.sidebar.button if b.key in ("sb_login", "sb_logout")]
    monkeypatch.setattr(owner, "login_available", lambda: True)
    out = apptest()
    assert out.sidebar.button(key="sb_login").label == "Log in"
    monkeypatch.setattr(owner, "signed_in", lambda: "https://id.example|42")
    signed = apptest()
    assert signed.sidebar.button(key="sb_logout").label == "Log out"
    assert any("Signed in as" in c.value for c in signed.sidebar.caption)


def test_the_sidebar_says_whose_runs_a_shared_server_shows(apptest, monkeypatch):
    plain = apptest()
    assert not any(sidebar.SHARED_NOTE in c.value for c in plain.sidebar.caption)
    monkeypatch.setenv("DLVIZ_SHARED", "1")
    shared_ = apptest()
    assert any(sidebar.SHARED_NOTE in c.value for c in shared_.sidebar.caption)
