"""The owner cookie given with the first page (`dlviz.ui.owner_cookie`): the middleware, driven
as an ASGI server drives it, and its place in Streamlit's own middleware."""

from __future__ import annotations

import asyncio
from http.cookies import SimpleCookie

import pytest

from dlviz.ui import owner_cookie
from dlviz.ui.owner_cookie import COOKIE, OwnerCookie

TOKEN = "A" * 22


def _page(content_type: bytes):
    async def app(scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type), (b"content-length", b"2")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def _serve(
    app, method="GET", cookie: str | None = None, scheme="http", extra=(), kind="http"
) -> list:
    given = [k for k, _ in extra]
    headers = list(extra) + ([] if b"host" in given else [(b"host", b"127.0.0.1")])
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    scope = {"type": kind, "method": method, "scheme": scheme, "path": "/", "headers": headers}
    sent: list = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _set_cookie(sent: list) -> list[str]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    return [v.decode() for k, v in start["headers"] if k == b"set-cookie"]


def test_a_page_asked_for_without_the_cookie_comes_with_a_new_token():
    sent = _serve(OwnerCookie(_page(b"text/html; charset=utf-8")))
    (header,) = _set_cookie(sent)
    morsel = SimpleCookie(header)[COOKIE]
    assert owner_cookie.TOKEN.fullmatch(morsel.value)
    assert morsel["path"] == "/" and morsel["samesite"] == "Strict"
    assert morsel["max-age"] == str(365 * 24 * 3600) and not morsel["secure"]
    assert sent[-1] == {"type": "http.response.body", "body": b"ok"}  # the page itself as it was
    # every browser its own token
    assert SimpleCookie(_set_cookie(_serve(OwnerCookie(_page(b"text/html"))))[0])[COOKIE].value != (
        morsel.value
    )


def test_a_browser_with_a_token_keeps_it_and_other_files_get_none():
    assert _set_cookie(_serve(OwnerCookie(_page(b"text/html")), cookie=f"{COOKIE}={TOKEN}")) == []
    assert _set_cookie(_serve(OwnerCookie(_page(b"application/javascript")))) == []
    assert _set_cookie(_serve(OwnerCookie(_page(b"text/html")), method="POST")) == []
    # a token of the wrong shape, or a cookie header that does not parse, is replaced
    for bad in (f"{COOKIE}=short", f'{COOKIE}="<script>"; other=1', "=;;=="):
        assert len(_set_cookie(_serve(OwnerCookie(_page(b"text/html")), cookie=bad))) == 1, bad
    # among other cookies
    assert (
        _set_cookie(_serve(OwnerCookie(_page(b"text/html")), cookie=f"a=1; {COOKIE}={TOKEN}; b=2"))
        == []
    )


def _secure(sent: list) -> bool:
    return bool(SimpleCookie(_set_cookie(sent)[0])[COOKIE]["secure"])


def test_secure_except_on_a_loopback_address_over_plain_http():
    app = OwnerCookie(_page(b"text/html"), path="/class")
    host = lambda h: [(b"host", h)]  # noqa: E731
    assert not _secure(_serve(app))  # 127.0.0.1, the default in _serve
    for h in (b"localhost:8501", b"127.0.0.1:8501", b"[::1]:8501", b"LOCALHOST"):
        assert not _secure(_serve(app, extra=host(h))), h
    assert _secure(_serve(app, scheme="https"))
    assert _secure(_serve(app, extra=[(b"x-forwarded-proto", b"https")]))
    # a class's server reached by its name or address, or a proxy that passes the public name
    assert _secure(_serve(app, extra=host(b"dlviz.school.example")))
    assert _secure(_serve(app, extra=host(b"192.168.1.20:8501")))
    assert _secure(_serve(app, extra=[(b"x-forwarded-host", b"dlviz.school.example")]))
    morsel = SimpleCookie(_set_cookie(_serve(app, scheme="https"))[0])[COOKIE]
    assert morsel["path"] == "/class"


def test_a_websocket_passes_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    asyncio.run(OwnerCookie(app)({"type": "websocket", "headers": []}, None, None))
    assert seen == ["websocket"]


def test_install_puts_it_first_in_streamlits_middleware_once(monkeypatch):
    starlette_app = pytest.importorskip("streamlit.web.server.starlette.starlette_app")
    original = starlette_app.create_streamlit_middleware
    monkeypatch.setattr(starlette_app, "create_streamlit_middleware", original)
    assert owner_cookie.install() and owner_cookie.install()
    stack = starlette_app.create_streamlit_middleware()
    assert stack[0].cls is OwnerCookie and stack[0].kwargs == {"path": "/"}
    assert [m.cls for m in stack[1:]] == [m.cls for m in original()]
