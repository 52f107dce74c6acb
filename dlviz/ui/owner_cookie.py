"""The browser's owner token, given with the first page: a cookie the server sets on the page's
HTML, so that the very first session of a browser already has it.

Streamlit runs a page's script only once the page's HTML and scripts have loaded and its
websocket is open; a cookie set from a script in the page (`owner.remember_browser`) therefore
came seconds after the first visit on a busy server, and a reload in those seconds gave the
browser a new token and lost sight of a run it had just started (docs/load.md). `dlviz ui`
adds `OwnerCookie` to Streamlit's web server (`install`), which sets the cookie on the HTML
response of any page the browser asks for without one. The script in the page stays, for a
plain `streamlit run app.py`.

No streamlit import at module level: the server launcher installs this before Streamlit starts.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any

COOKIE = "dlviz_owner"
TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")
MAX_AGE_S = 365 * 24 * 3600

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def new_token() -> str:
    return secrets.token_urlsafe(16)


def request_token(scope: Scope) -> str:
    """The valid owner token the request's cookies carry, else ""."""
    for name, value in scope.get("headers", []):
        if name.lower() != b"cookie":
            continue
        try:
            jar = SimpleCookie(value.decode("latin-1"))
        except CookieError:
            continue
        morsel = jar.get(COOKIE)
        if morsel is not None and TOKEN.fullmatch(morsel.value):
            return morsel.value
    return ""


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.split(b",")[0].strip()
    return b""


LOOPBACK = re.compile(rb"(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?", re.IGNORECASE)


def secure(scope: Scope) -> bool:
    """Whether the cookie is marked Secure (sent over HTTPS only): always, unless the browser
    reached the server on a loopback address over plain HTTP (a laptop). Behind a reverse
    proxy that ends TLS the browser's address is the proxy's public name (the Host, or the
    X-Forwarded-Host the proxy sets). A browser refuses a Secure cookie from a page it got over
    plain HTTP from another machine; the page's own script then sets the cookie, without
    Secure, as before (and docs/threat-model.md says to serve a class over HTTPS)."""
    if scope.get("scheme") == "https" or _header(scope, b"x-forwarded-proto") == b"https":
        return True
    host = _header(scope, b"x-forwarded-host") or _header(scope, b"host")
    return not LOOPBACK.fullmatch(host)


def cookie_header(token: str, path: str, secure: bool) -> bytes:
    """The Set-Cookie value: the same attributes the page's script uses."""
    flag = "; Secure" if secure else ""
    return f"{COOKIE}={token}; Path={path}; Max-Age={MAX_AGE_S}; SameSite=Strict{flag}".encode()


class OwnerCookie:
    """ASGI middleware: an HTML page asked for (GET or HEAD) without a valid owner cookie gets
    one, a new random token. Everything else passes untouched."""

    def __init__(self, app: Callable[..., Awaitable[None]], path: str = "/") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope.get("type") != "http"
            or scope.get("method") not in ("GET", "HEAD")
            or request_token(scope)
        ):
            await self.app(scope, receive, send)
            return
        flag = secure(scope)

        async def send_with_cookie(message: Message) -> None:
            if message.get("type") == "http.response.start":
                headers = list(message.get("headers", []))
                kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if kind.startswith(b"text/html"):
                    headers.append((b"set-cookie", cookie_header(new_token(), self.path, flag)))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def install() -> bool:
    """Put `OwnerCookie` first in the middleware of the Streamlit server this process is about
    to start (Streamlit's Starlette server); False where this Streamlit has no such hook (the
    page's script still sets the cookie then). Installing twice changes nothing."""
    try:
        from streamlit.web.server.starlette import starlette_app
    except ImportError:
        return False
    make = getattr(starlette_app, "create_streamlit_middleware", None)
    if make is None:
        return False
    if getattr(make, "dlviz_owner_cookie", False):
        return True

    def with_owner_cookie() -> list[Any]:
        from streamlit import config

        base = (config.get_option("server.baseUrlPath") or "").strip("/")
        stack = list(make())
        if not stack:  # nothing to take the entries' kind from: the page's script sets it
            return stack
        entry = type(stack[0])  # Starlette's Middleware, as Streamlit's own entries are
        return [entry(OwnerCookie, path=f"/{base}" if base else "/"), *stack]

    with_owner_cookie.dlviz_owner_cookie = True  # type: ignore[attr-defined]
    starlette_app.create_streamlit_middleware = with_owner_cookie
    return True
