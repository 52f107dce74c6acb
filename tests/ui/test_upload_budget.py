"""The upload budget (`dlviz.ui.upload_budget`): a session's uploads and everyone's together
hold at most what the settings allow; an upload past either is refused with a message that says
how much is held and how to free it, what was uploaded before is kept, and removing files frees
their share. A session that ends takes its share with it."""

from __future__ import annotations

import gc
import io
import zipfile

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from support.uploads import add_class, class_uploader, picture

from dlviz.ui import upload_budget

PICTURE = 256 * 256 * 3  # bytes of one picture as kept (at most 256 px a side, RGB)


def pictures(kind: str, n: int, start: int = 0) -> list[tuple[str, bytes, str]]:
    return [
        (f"{kind}{k}.png", picture(kind, k, "PNG", size=(256, 256)), "image/png")
        for k in range(start, start + n)
    ]


def report(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("success", "warning", "info") for e in at.get(kind))


def count(at: AppTest) -> list[int]:
    return [len(p) for p in at.session_state["up_set"].classes.values()]


def upload(at: AppTest, cls: str, items) -> None:
    class_uploader(at, cls).set_value(items).run()
    assert not at.exception, at.exception


def test_a_session_over_its_budget_is_refused_and_keeps_what_it_had(apptest, monkeypatch):
    monkeypatch.setenv("DLVIZ_SESSION_UPLOAD_MB", "1")  # five pictures of 192 KB fit, not six
    at = apptest("pages/uploads.py")
    add_class(at, "disc")
    upload(at, "disc", pictures("disc", 4))
    assert count(at) == [4]
    upload(at, "disc", pictures("disc", 3, start=4))
    text = report(at)
    assert "Added 1 image to disc. 2 files could not be used:" in text, text
    assert "disc5.png: was not taken in: it needs" in text
    assert "your uploads already hold 0.9 MB" in text
    assert "of the 1.0 MB one session may hold (DLVIZ_SESSION_UPLOAD_MB)" in text
    assert "(Your images 0.9 MB)" in text and "Remove files or classes" in text
    assert "Nothing you uploaded before is lost." in text
    # two files refused for the same budget: each with its reason, the advice once
    assert text.count("disc5.png: was not taken in") + text.count("disc6.png: was not") == 2
    assert text.count("Remove files or classes") == 1, text
    assert text.count("Nothing you uploaded before is lost.") == 1, text
    assert "\n\nRemove files or classes" in text, text  # after the list, not in a line of it
    assert count(at) == [5]  # the earlier ones kept
    captions = "\n".join(c.value for c in at.caption)
    assert "Your uploads hold 0.9 MB of the 1.0 MB one session may hold" in captions

    # removing the class frees its share: the same pictures fit again
    at.button(key=next(b.key for b in at.button if b.key.startswith("up_remove_"))).click().run()
    add_class(at, "square")
    upload(at, "square", pictures("square", 5))
    assert count(at) == [5], report(at)


def test_a_zip_that_does_not_fit_is_refused_whole(apptest, monkeypatch):
    monkeypatch.setenv("DLVIZ_SESSION_UPLOAD_MB", "1")
    at = apptest("pages/uploads.py")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, _ in pictures("disc", 4) + pictures("square", 4):
            z.writestr(f"{name.rstrip('0123456789.png')}/{name}", data)
    from support.uploads import uploader

    uploader(at, "up_zip_").set_value(("set.zip", buf.getvalue(), "application/zip")).run()
    assert not at.exception, at.exception
    text = report(at)
    assert "Nothing was added." in text and "set.zip: was not taken in" in text, text
    assert at.session_state["up_set"].classes == {}


def test_everyones_uploads_share_the_servers_budget(apptest, monkeypatch):
    monkeypatch.setenv("DLVIZ_SERVER_UPLOAD_MB", "1")
    first = apptest("pages/uploads.py")
    add_class(first, "disc")
    upload(first, "disc", pictures("disc", 5))
    assert count(first) == [5]
    second = apptest("pages/uploads.py")
    add_class(second, "square")
    upload(second, "square", pictures("square", 1))
    text = report(second)
    assert "square0.png: was not taken in" in text, text
    assert "everyone's uploads on this server already hold 0.9 MB of the 1.0 MB" in text
    assert "(DLVIZ_SERVER_UPLOAD_MB)" in text and count(second) == [0]
    # the first person removes their pictures: the second's now fit
    first.button(key=next(b.key for b in first.button if b.key.startswith("up_remove_"))).click()
    first.run()
    upload(second, "square", pictures("square", 1))
    assert count(second) == [1], report(second)


def test_an_import_counts_while_it_is_read(apptest, monkeypatch):
    monkeypatch.setenv("DLVIZ_SESSION_UPLOAD_MB", "1")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("big/config.json", "{}")
        zf.writestr("big/weights.safetensors", b"\0" * (2 << 20))
    at = apptest("pages/runs.py")
    at.get("file_uploader")[0].set_value([("big.zip", buf.getvalue(), "application/zip")]).run()
    assert not at.exception, at.exception
    errors = "\n".join(str(e.value) for e in at.error)
    assert "big.zip was not taken in: it needs 2.0 MB" in errors, errors


def test_a_text_over_the_budget_is_refused_on_the_sequence_page(apptest, monkeypatch):
    monkeypatch.setenv("DLVIZ_SESSION_UPLOAD_MB", "1")
    at = apptest("pages/sequences.py")
    at.segmented_control(key="sq_family").set_value("text").run()
    at.selectbox(key="sq_data_text").set_value("own_text").run()
    big = ("the cat sat on the mat. " * 60_000).encode()  # 1.4 MB
    found = [u for u in at.file_uploader if u.proto.id.endswith("sq_file_own_text")]
    found[0].set_value(("book.txt", big, "text/plain")).run()
    assert not at.exception, at.exception
    errors = "\n".join(str(e.value) for e in at.error)
    assert "The file book.txt was not taken in: it needs 1.4 MB" in errors, errors
    assert "one session may hold (DLVIZ_SESSION_UPLOAD_MB)" in errors
    assert at.button(key="sq_train").disabled


# --- the accounting ---------------------------------------------------------------------------


def test_an_ended_sessions_share_is_released(monkeypatch):
    upload_budget.forget_all()
    ledger = upload_budget.Ledger("gone")
    ledger.held["up_set"] = ("Your images", 5 << 20)
    upload_budget._ledgers.add(ledger)
    assert upload_budget.server_held() == 5 << 20
    del ledger  # Streamlit dropped the session, and its session state with it
    gc.collect()
    assert upload_budget.server_held() == 0


def test_a_session_the_server_forgot_is_not_counted(monkeypatch):
    from streamlit import runtime

    upload_budget.forget_all()
    ledger = upload_budget.Ledger("disconnected")
    ledger.held["sd_recordings"] = ("Sound", 3 << 20)
    upload_budget._ledgers.add(ledger)

    class Server:
        def is_active_session(self, session_id: str) -> bool:
            return False

    monkeypatch.setattr(runtime.Runtime, "exists", staticmethod(lambda: True))
    monkeypatch.setattr(runtime.Runtime, "instance", staticmethod(lambda: Server()))
    assert upload_budget.server_held() == 3 << 20  # disconnected, but it may come back
    ledger.last_alive -= 10_000  # longer than server.disconnectedSessionTTL
    assert upload_budget.server_held() == 0
    upload_budget.forget_all()


@pytest.mark.parametrize(
    "env, session_mb",
    [({}, 256), ({"DLVIZ_SESSION_UPLOAD_MB": "64"}, 64), ({"DLVIZ_SESSION_UPLOAD_MB": "x"}, 256)],
)
def test_the_caps_are_settings(monkeypatch, env, session_mb):
    monkeypatch.delenv("DLVIZ_SESSION_UPLOAD_MB", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert upload_budget.session_cap() == session_mb << 20
    monkeypatch.setenv("DLVIZ_SERVER_UPLOAD_MB", "2048")
    assert upload_budget.server_cap() == 2048 << 20
    monkeypatch.delenv("DLVIZ_SERVER_UPLOAD_MB")
    assert 64 << 20 <= upload_budget.server_cap() <= 1024 << 20


def test_nbytes_counts_arrays_tensors_and_bytes_inside_a_set():
    import torch

    from dlviz.data.uploads import ImageSet, Picture

    s = ImageSet()
    s.classes["a"] = [Picture("x", np.zeros((10, 10, 3), np.uint8), "d")]
    assert upload_budget.nbytes(s) >= 300
    assert upload_budget.nbytes({"t": torch.zeros(4, dtype=torch.float32), "b": b"12"}) == 18
