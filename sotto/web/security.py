"""Security headers, request size limits and CSRF protection for every response and form.

CSRF uses a signed double-submit token: a random cookie, and in each form an HMAC of
that cookie under a key from the key store. A cross-site page can neither read the
cookie nor compute the HMAC, and the cookie is SameSite=Strict besides.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from sotto.crypto.keystore import KeyStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE = "sotto_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class CsrfError(Exception):
    """A state-changing request without a valid CSRF token."""


def csrf_token_for(keystore: KeyStore, cookie_value: str) -> str:
    return hmac.new(keystore.mac_key("csrf"), cookie_value.encode(), hashlib.sha256).hexdigest()


class SecurityMiddleware:
    """Adds security headers, caps request bodies, and issues the CSRF cookie."""

    def __init__(
        self, app: ASGIApp, *, secure_cookies: bool, max_body_bytes: int, large_body_paths: dict[str, int]
    ) -> None:
        """``large_body_paths`` maps a path, or a prefix ending in "/", to its own body limit."""
        self.app = app
        self.secure_cookies = secure_cookies
        self.max_body_bytes = max_body_bytes
        self.large_body_paths = large_body_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        csrf_cookie = cookies.get(CSRF_COOKIE)
        new_cookie = None
        if not csrf_cookie or len(csrf_cookie) != 43:
            csrf_cookie = new_cookie = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_cookie"] = csrf_cookie

        limit = self._limit(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Remembered, because a form parser may swallow the exception.
                    too_large = True
                    raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += _security_headers(self.secure_cookies)
                if new_cookie:
                    attrs = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if self.secure_cookies else "")
                    headers.append((b"set-cookie", f"{CSRF_COOKIE}={new_cookie}{attrs}".encode()))
                message["headers"] = headers
            await send(message)

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return  # the 413 below answers instead of whatever the app made of it
            started = started or message["type"] == "http.response.start"
            await send_with_headers(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, limited_receive, tracking_send)
        if too_large and not started:
            await _too_large(send)

    def _limit(self, path: str) -> int:
        for prefix, limit in self.large_body_paths.items():
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                return limit
        return self.max_body_bytes


class BodyTooLarge(Exception):
    pass


def _security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        # Not "no-referrer": Chromium then sends "Origin: null" on our own forms. Same-origin
        # still tells other sites nothing (pages carry link tokens in their paths).
        (b"referrer-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), geolocation=(), microphone=(self)"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cache-control", b"no-store"),
    ]
    # HSTS is sent always; browsers ignore it over plain http on loopback.
    headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return headers


async def _too_large(send: Send) -> None:
    body = b"The upload is too large."
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *_security_headers(False),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cookies(scope: Scope) -> dict[str, str]:
    raw = _header(scope, b"cookie") or ""
    out: dict[str, str] = {}
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out[name] = value
    return out


def check_origin(request: Request, public_url: str) -> None:
    """Refuse a state-changing request whose Origin is another site (belt and braces with CSRF)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    allowed = {_origin(public_url), f"{request.url.scheme}://{request.headers.get('host', '')}"}
    if origin not in allowed:
        raise CsrfError("cross-origin request")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def verify_csrf(request: Request, keystore: KeyStore, submitted: str | None) -> None:
    cookie = request.scope.get("state", {}).get("csrf_cookie", "")
    if not submitted or not cookie or request.cookies.get(CSRF_COOKIE) != cookie:
        raise CsrfError("missing token")
    if not hmac.compare_digest(submitted, csrf_token_for(keystore, cookie)):
        raise CsrfError("bad token")
