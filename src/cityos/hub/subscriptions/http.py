"""``/ngsi-ld/v1/subscriptions``: the context subscription API (ETSI GS CIM 009 §6.10, §6.11),
and the CityOS Server-Sent Events stream of a subscription's notifications."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from cityos.core.errors import BadRequestData
from cityos.hub.http import negotiation as neg
from cityos.hub.http.params import boolean, non_negative_int, options_of
from cityos.hub.http.paths import NgsiRoute
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.subscriptions.service import SubscriptionService, subscriptions_of
from cityos.hub.subscriptions.sse import event_stream

PREFIX = "/ngsi-ld/v1"
_TENANT_RE = re.compile(r"[A-Za-z0-9_\-.]{1,64}")
router = APIRouter(prefix=PREFIX, tags=["Subscriptions"], route_class=NgsiRoute)


def service_of(request: Request) -> SubscriptionService:
    """The subscription service of this application's hub."""
    return subscriptions_of(request.app.state.hub)


def _location(sub_id: str) -> str:
    return f"{PREFIX}/subscriptions/{quote(sub_id, safe=':')}"


async def _body(
    request: Request, service: SubscriptionService, *, merge_patch: bool = False
) -> tuple[dict[str, Any], ActiveContext | None]:
    """The JSON object of a request and the @context it names (None when it names none)."""
    hub = service.hub
    body = await neg.read_json(request, hub.settings.max_body_bytes, merge_patch=merge_patch)
    if not isinstance(body, dict):
        raise BadRequestData("a subscription must be a JSON object")
    value = neg.request_context(request, body, has_body=True)
    ctx = await run_in_threadpool(hub.context, value) if value is not None else None
    return body, ctx


@router.post("/subscriptions", status_code=201, summary="Create a subscription")
async def create_subscription(request: Request) -> Response:
    service = service_of(request)
    body, ctx = await _body(request, service)
    ctx = ctx or service.hub.context()
    sub_id = await run_in_threadpool(service.create, body, ctx, neg.tenant_of(request))
    return Response(status_code=201, headers={"Location": _location(sub_id)})


@router.get("/subscriptions", summary="Query subscriptions")
async def query_subscriptions(request: Request) -> Response:
    service = service_of(request)
    params = request.query_params
    kind = neg.response_kind(request)
    link = neg.context_link(neg.request_context(request))
    sys_attrs = "sysAttrs" in options_of(params)
    count = boolean(params, "count") or "count" in options_of(params)
    limit = non_negative_int(params, "limit")
    offset = non_negative_int(params, "offset") or 0
    if limit == 0 and not count:
        raise BadRequestData("'limit=0' is only allowed together with 'count=true'")
    subs, total = await run_in_threadpool(
        lambda: service.page(neg.tenant_of(request), limit=limit, offset=offset)
    )
    items = []
    for stored in subs:
        item = service.render(stored, sys_attrs=sys_attrs)
        if kind == "ld+json":
            item["@context"] = service.context_of(stored).source
        items.append(item)
    headers = {"NGSILD-Results-Count": str(total)} if count else {}
    if kind == "ld+json":
        response = neg.OrjsonResponse(items, headers=headers)
        response.headers["content-type"] = neg.JSON_LD
        return response
    return neg.ngsi_response(items, kind, link, headers=headers)


@router.get("/subscriptions/{subscription_id}", summary="Retrieve a subscription")
async def retrieve_subscription(subscription_id: str, request: Request) -> Response:
    service = service_of(request)
    kind = neg.response_kind(request)
    sys_attrs = "sysAttrs" in options_of(request.query_params)
    stored = await run_in_threadpool(service.get, subscription_id, neg.tenant_of(request))
    ctx = service.context_of(stored)
    url = await run_in_threadpool(service.hub.resolver.context_url, ctx)
    return neg.ngsi_response(
        service.render(stored, sys_attrs=sys_attrs), kind, neg.ContextLink(ctx.source, url)
    )


@router.patch("/subscriptions/{subscription_id}", status_code=204, summary="Update a subscription")
async def update_subscription(subscription_id: str, request: Request) -> Response:
    service = service_of(request)
    body, ctx = await _body(request, service, merge_patch=True)
    await run_in_threadpool(service.update, subscription_id, body, ctx, neg.tenant_of(request))
    return Response(status_code=204)


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="Delete a subscription")
async def delete_subscription(subscription_id: str, request: Request) -> Response:
    service = service_of(request)
    await run_in_threadpool(service.delete, subscription_id, neg.tenant_of(request))
    return Response(status_code=204)


@router.get(
    "/subscriptions/{subscription_id}/notifications/stream",
    summary="Stream a subscription's notifications (Server-Sent Events, CityOS extension)",
    response_class=StreamingResponse,
)
async def stream_notifications(subscription_id: str, request: Request) -> Response:
    service = service_of(request)
    tenant = neg.tenant_of(request)
    if "tenant" in request.query_params and not request.headers.get(neg.TENANT_HEADER):
        tenant = request.query_params["tenant"]  # EventSource cannot send headers
        if not _TENANT_RE.fullmatch(tenant):
            raise BadRequestData(f"invalid tenant {tenant!r}: use 1-64 letters, digits, '_-.'")
    stored = await run_in_threadpool(service.get, subscription_id, tenant)
    key = (stored.tenant, stored.id)
    keepalive = service.hub.settings.notify_sse_keepalive_s
    return StreamingResponse(
        event_stream(
            service.broadcaster, key, keepalive, lambda: service.exists(stored.id, stored.tenant)
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
