"""The control-centre page and its static assets, served from the package (no node at run time).

Assets are answered with a strong ``ETag`` (a content hash) and ``Cache-Control: no-cache``, so a
browser revalidates cheaply and always sees a rebuilt bundle; text assets are gzip-compressed when
the client accepts it (the MapLibre bundle shrinks from about 1.6 MB to about 440 kB).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

import cityos
from cityos.core.errors import BadRequestData, ResourceNotFound
from cityos.web.live import (
    RECEIVER_PATH,
    check_notification,
    ensure_live_subscription,
    receiver_uri,
)
from cityos.web.terrain import terrain_available

#: Where ``make web`` writes the bundle.
STATIC_DIR = Path(__file__).with_name("static")

#: Seconds between two refreshes of live layers (air quality, parking) in the page [s].
LIVE_INTERVAL_S = 5

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".pbf": "application/x-protobuf",
}
COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".json", ".txt", ".svg", ".pbf"}
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Asset:
    """One file of the bundle, read once: its bytes, gzip form and entity tag."""

    body: bytes
    gzipped: bytes | None
    etag: str
    media_type: str
    mtime_ns: int


@dataclass
class AssetStore:
    """Files under ``root`` by relative path, re-read when a file changes on disk."""

    root: Path
    _cache: dict[str, Asset] = field(default_factory=dict)

    def get(self, relative: str) -> Asset:
        """The asset at ``relative`` (e.g. ``app.js``); ``ResourceNotFound`` outside the bundle."""
        path = (self.root / relative).resolve()
        root = self.root.resolve()
        if root not in path.parents or not path.is_file() or path.suffix not in MEDIA_TYPES:
            raise ResourceNotFound(f"no static asset {relative!r}")
        mtime = path.stat().st_mtime_ns
        cached = self._cache.get(relative)
        if cached is not None and cached.mtime_ns == mtime:
            return cached
        body = path.read_bytes()
        zipped = gzip.compress(body, 6, mtime=0) if path.suffix in COMPRESSIBLE else None
        asset = Asset(
            body=body,
            gzipped=zipped if zipped is not None and len(zipped) < len(body) else None,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            media_type=MEDIA_TYPES[path.suffix],
            mtime_ns=mtime,
        )
        self._cache[relative] = asset
        return asset


def asset_response(asset: Asset, request: Request) -> Response:
    """Answer with ``asset``: 304 when the client's ``If-None-Match`` matches, gzip if accepted."""
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    headers.update(SECURITY_HEADERS)
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "")
    if asset.gzipped is not None and accepts_gzip:
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def page_config(live_stream: str | None = None) -> dict[str, Any]:
    """What the page may use on this server: the twin's terrain, the SSE stream of live updates
    (None: poll every ``liveIntervalS`` instead)."""
    return {
        "version": cityos.__version__,
        "terrain": terrain_available(),
        "liveStream": live_stream,
        "liveIntervalS": LIVE_INTERVAL_S,
    }


def pages_router(static_dir: Path = STATIC_DIR) -> APIRouter:
    """``GET /`` (the map), ``GET /scenarios`` (the mobility scenario comparison), ``GET /portal``
    (the citizen portal),
    ``GET /static/{path}`` (the bundle), ``GET /web/config.json`` and the
    receiver of the map's subscription, ``POST /web/notifications``."""
    router = APIRouter(tags=["Web"])
    store = AssetStore(static_dir)

    @router.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        return asset_response(store.get("index.html"), request)

    @router.get("/scenarios", include_in_schema=False)
    def scenarios(request: Request) -> Response:
        return asset_response(store.get("scenarios.html"), request)

    @router.get("/portal", include_in_schema=False)
    def portal(request: Request) -> Response:
        return asset_response(store.get("portal.html"), request)

    @router.get("/static/{path:path}", include_in_schema=False)
    def static(path: str, request: Request) -> Response:
        return asset_response(store.get(path), request)

    @router.get("/web/config.json", summary="What the control-centre page may use on this server")
    def config(request: Request) -> dict[str, Any]:
        server = request.scope.get("server") or ("127.0.0.1", 80)
        hub = request.app.state.hub
        return page_config(ensure_live_subscription(hub, receiver_uri(server[0], server[1])))

    @router.post(
        RECEIVER_PATH,
        status_code=204,
        summary="Receiver of the map's subscription (acknowledges and drops notifications)",
    )
    async def notifications(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            raise BadRequestData("the body must be JSON") from None
        check_notification(body)
        return Response(status_code=204)

    return router
