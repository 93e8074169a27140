"""``/ngsi-ld/v1/jsonldContexts``: @context Management (ETSI GS CIM 009 §5.13, §6.3.x).

* ``POST /jsonldContexts`` — host a client's ``{"@context": ...}`` document (``Hosted``);
  ``201 Created`` with ``Location: /ngsi-ld/v1/jsonldContexts/<id>``.
* ``GET /jsonldContexts`` — the URLs of the stored @contexts, or with ``details=true`` one
  object per @context (``URL``, ``localId``, ``kind``, ``createdAt``, ``lastUsage``,
  ``numberOfHits``, ``extraInfo``); ``kind=Hosted|Cached|ImplicitlyCreated`` filters.
* ``GET /jsonldContexts/{contextId}`` — the document itself (``application/json``, or
  ``application/ld+json`` if asked for), or its details with ``details=true`` (reading the details
  is not a use: it does not count in ``numberOfHits``). A ``Cached`` context's id is its URL,
  percent-encoded.
* ``DELETE /jsonldContexts/{contextId}`` — forget a @context (``204``); ``reload=true``
  refetches a ``Cached`` one instead. The core context cannot be deleted.

Errors are raised as :mod:`cityos.core.errors` exceptions and rendered by the application.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cityos.core.timeutil import isoformat
from cityos.hub.context_store import CONTEXTS_PATH, StoredContext, as_datetime
from cityos.hub.http.negotiation import OrjsonResponse, read_json, response_kind
from cityos.hub.http.params import boolean
from cityos.hub.jsonld_context import ContextResolver

JSON_LD = "application/ld+json"


def context_details(
    stored: StoredContext, resolver: ContextResolver, base_url: str = ""
) -> dict[str, Any]:
    """The details of a stored @context, as listed with ``details=true`` (§5.13.3)."""
    created_at = as_datetime(stored.created_at)
    last_usage = as_datetime(stored.last_usage)
    details: dict[str, Any] = {
        "URL": _absolute(stored.url, base_url),
        "localId": stored.id,
        "kind": stored.kind,
        "createdAt": isoformat(created_at) if created_at else None,
    }
    if last_usage is not None:
        details["lastUsage"] = isoformat(last_usage)
    details["numberOfHits"] = stored.number_of_hits
    extra: dict[str, Any] = {"contentLength": stored.content_length, **stored.extra}
    expires_at = resolver.expires_at(stored)
    if expires_at is not None:
        extra["expiresAt"] = isoformat(expires_at)
    details["extraInfo"] = extra
    return details


def contexts_router(get_resolver: Callable[[], ContextResolver]) -> APIRouter:
    """Build the @context Management router over the resolver ``get_resolver`` returns.

    Parameters
    ----------
    get_resolver
        A FastAPI dependency (no parameters) returning the application's resolver.
    """
    router = APIRouter(prefix=CONTEXTS_PATH, tags=["@context Management"])

    @router.post("", status_code=201, response_class=Response)
    async def add_context(
        request: Request, resolver: ContextResolver = Depends(get_resolver)
    ) -> Response:
        """Host a @context (§5.13.2, §6.3.x POST)."""
        body = await read_json(request, resolver.settings.context_max_bytes)
        stored = await run_in_threadpool(resolver.host, body)
        return Response(status_code=201, headers={"Location": stored.url})

    @router.get("", response_class=OrjsonResponse)
    def list_contexts(
        request: Request, resolver: ContextResolver = Depends(get_resolver)
    ) -> Response:
        """List the stored @contexts (§5.13.3)."""
        details = boolean(request.query_params, "details")
        contexts = resolver.list_contexts(request.query_params.get("kind"))
        base_url = str(request.base_url)
        if details:
            payload: list[Any] = [context_details(c, resolver, base_url) for c in contexts]
        else:
            payload = [_absolute(c.url, base_url) for c in contexts]
        return OrjsonResponse(payload)

    @router.get("/{context_id:path}", response_class=Response)
    def serve_context(
        context_id: str, request: Request, resolver: ContextResolver = Depends(get_resolver)
    ) -> Response:
        """Serve one stored @context, or its details (§5.13.4).

        The document is served as ``application/json`` unless the client asks for
        ``application/ld+json`` (§6.3.4).
        """
        details = boolean(request.query_params, "details")
        stored = resolver.get_context(context_id, record_use=not details)
        if details:
            return OrjsonResponse(context_details(stored, resolver, str(request.base_url)))
        media_type = JSON_LD if response_kind(request) == "ld+json" else "application/json"
        return Response(orjson.dumps(stored.body), media_type=media_type)

    @router.delete("/{context_id:path}", status_code=204, response_class=Response)
    def delete_context(
        context_id: str, request: Request, resolver: ContextResolver = Depends(get_resolver)
    ) -> Response:
        """Delete a stored @context, or reload a Cached one (§5.13.5)."""
        reload = boolean(request.query_params, "reload")
        resolver.delete_context(context_id, reload=reload)
        return Response(status_code=204)

    return router


def _absolute(url: str, base_url: str) -> str:
    """Broker-relative URLs (Hosted, ImplicitlyCreated) made absolute against ``base_url``."""
    if url.startswith("/") and base_url:
        return base_url.rstrip("/") + url
    return url
