"""Entity ids and names in URL paths (ETSI GS CIM 009 §6.3.2).

Ids are URIs, and some contain ``/`` (``http://example.org/bus/1``); clients send them
percent-encoded (``%2F``). ASGI servers decode the path before routing, which would split such an
id into segments. :class:`EncodedSlashMiddleware` keeps an encoded slash as a private placeholder
while routing, and :class:`NgsiRoute` turns it back into ``/`` in the path parameters.

Clients also address collections with a trailing slash (``/ngsi-ld/v1/entities/``,
``/entities/{id}/attrs/``); the middleware routes such a path as if the slash were absent, rather
than redirecting (a redirect would turn a ``POST`` into a second round trip, and ``attrs/`` would
otherwise name an attribute with an empty name).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

#: A private-use character standing for an encoded ``/`` during routing.
SLASH_PLACEHOLDER = "\ue000"
_ENCODED_SLASH = re.compile(r"%2[fF]")


class EncodedSlashMiddleware:
    """Route ``%2F`` in NGSI-LD paths as part of a segment, not as a separator."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or b""
            path = scope.get("path", "")
            if b"%2f" in raw.lower() and raw.startswith(b"/ngsi-ld/"):
                pieces = _ENCODED_SLASH.split(raw.decode("latin-1"))
                path = SLASH_PLACEHOLDER.join(unquote(p) for p in pieces)
            if path.startswith("/ngsi-ld/") and path.endswith("/") and path.count("/") > 3:
                path = path[:-1]
            if path != scope.get("path"):
                scope = dict(scope, path=path)
        await self.app(scope, receive, send)


class NgsiRoute(APIRoute):
    """A route whose path parameters get their encoded slashes back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_slashes(request: Request) -> Response:
            params = request.scope.get("path_params")
            if params:
                request.scope["path_params"] = {
                    key: value.replace(SLASH_PLACEHOLDER, "/") if isinstance(value, str) else value
                    for key, value in params.items()
                }
            return await handler(request)

        return with_slashes
