"""ASGI middleware: runs the :class:`~cityos.privacy.gate.Gate` on every request, binds the
resulting access for the hub's hooks, and adds security headers to responses.

Refusals are RFC 7807 problem details, with ``WWW-Authenticate`` on 401 (RFC 6750 §3) and
``Retry-After`` on 429 (RFC 6585 §4).
"""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cityos.core.errors import CityOSError
from cityos.privacy.access import _current
from cityos.privacy.errors import TooManyRequests, Unauthenticated
from cityos.privacy.gate import Gate, Request

#: Content-Security-Policy of the CityOS pages (MapLibre needs blob: workers and data: images).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; child-src blob:; connect-src 'self'; "
    "font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: The interactive API docs load Swagger UI / ReDoc from their CDN with inline bootstrapping.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; worker-src 'self' blob:; "
    "object-src 'none'; frame-ancestors 'none'"
)
HTML_HEADERS = {
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
}
REALM = "cityos"


class AccessControlMiddleware:
    """Gate every HTTP request; see the module docstring."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        client = scope.get("client")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        request = Request(
            method=scope["method"],
            path=path,
            headers=headers,
            entity_type=(query.get("type") or [None])[0],
            client=client[0] if client else None,
        )
        try:
            access = self.gate.admit(request)
        except CityOSError as exc:
            await _refuse(exc, path, send)
            return
        docs = path in ("/docs", "/redoc", "/docs/oauth2-redirect")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=_secured(message.get("headers", []), docs))
            await send(message)

        token = _current.set(access)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            _current.reset(token)


def _secured(raw: list[tuple[bytes, bytes]], docs: bool) -> list[tuple[bytes, bytes]]:
    """Response headers plus ``nosniff`` everywhere and the page headers on HTML."""
    headers = list(raw)
    present = {k.lower() for k, _ in headers}
    if b"x-content-type-options" not in present:
        headers.append((b"x-content-type-options", b"nosniff"))
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if content_type.startswith(b"text/html"):
        if b"content-security-policy" not in present:
            csp = DOCS_CSP if docs else PAGE_CSP
            headers.append((b"content-security-policy", csp.encode()))
        headers += [(k, v) for k, v in HTML_HEADERS.items() if k not in present]
    return headers


async def _refuse(exc: CityOSError, path: str, send: Send) -> None:
    body = orjson.dumps(exc.to_problem())
    media = b"application/json" if path.startswith("/ngsi-ld/") else b"application/problem+json"
    headers = [
        (b"content-type", media),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
    ]
    if isinstance(exc, Unauthenticated):
        challenge = f'Bearer realm="{REALM}"'
        if exc.error:
            detail = exc.detail.replace('"', "'")
            challenge += f', error="{exc.error}", error_description="{detail}"'
        headers.append((b"www-authenticate", challenge.encode()))
    if isinstance(exc, TooManyRequests):
        headers.append((b"retry-after", str(exc.retry_after_s).encode()))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
