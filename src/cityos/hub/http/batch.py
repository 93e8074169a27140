"""``/ngsi-ld/v1/entityOperations``: batch create, upsert, update, delete and query (§6.14+)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cityos.core.errors import BadRequestData, CityOSError, InvalidRequest
from cityos.hub.broker import BatchResult, EntityQuery
from cityos.hub.geo import parse_geoquery_object
from cityos.hub.http import negotiation as neg
from cityos.hub.http.entities import PREFIX, geometry_property, hub_of, render_page
from cityos.hub.http.params import (
    BATCH_PARAMS,
    POST_QUERY_PARAMS,
    boolean,
    check_params,
    non_negative_int,
    options_of,
    render_options,
)
from cityos.hub.representation import RenderOptions, select_attrs

router = APIRouter(prefix=f"{PREFIX}/entityOperations", tags=["Batch operations"])


Rejected = list[tuple[str, CityOSError]]


async def _read_batch(request: Request) -> Any:
    """The decoded body of a batch request: a non-empty JSON array (BadRequestData otherwise)."""
    hub = hub_of(request)
    check_params(request.query_params, BATCH_PARAMS)
    try:
        body = await neg.read_json(request, hub.settings.max_body_bytes)
    except InvalidRequest as exc:
        if exc.detail == neg.EMPTY_BODY:
            raise BadRequestData("the batch is empty") from None
        raise
    if not isinstance(body, list):
        raise BadRequestData("the payload of a batch operation must be a JSON array")
    if not body:
        raise BadRequestData("the batch is empty")
    return body


async def _batch_body(request: Request) -> tuple[Any, Any, Rejected]:
    """The entities of a batch request, the context for those without their own, and the
    entities rejected up front.

    With ``application/ld+json`` every entity carries its own ``@context`` (§6.3.5), left in place
    for the hub to resolve per entity, and no Link header is allowed; with ``application/json``
    no entity may carry one, and the Link header (or the core context) applies to all. An entity
    that breaks the rule fails on its own with BadRequestData (§5.6.7).
    """
    hub = hub_of(request)
    body = await _read_batch(request)
    ld = neg.media_type(request) == neg.JSON_LD
    if ld and neg.link_context(request) is not None:
        raise BadRequestData("a JSON-LD body must not come with a Link @context header")
    accepted: list[Any] = []
    rejected: Rejected = []
    for item in body:
        has_context = isinstance(item, dict) and item.get("@context") is not None
        if isinstance(item, dict) and has_context != ld:
            eid = item.get("id")
            reason = (
                "an entity of an application/ld+json batch must contain '@context'"
                if ld
                else "an entity of an application/json batch must not contain '@context'; use "
                "a Link header or Content-Type application/ld+json"
            )
            rejected.append((eid if isinstance(eid, str) else "", BadRequestData(reason)))
        else:
            accepted.append(item)
    context_value = None if ld else neg.request_context(request, accepted, has_body=True)
    ctx = await run_in_threadpool(hub.context, context_value)
    return accepted, ctx, rejected


def _with_rejected(result: BatchResult, rejected: Rejected) -> BatchResult:
    result.errors[:0] = rejected
    return result


def batch_response(result: BatchResult, *, ok_status: int, ok_body: Any = None) -> Response:
    """204/201 when every entity succeeded, else 207 with success and error lists (§5.2.16)."""
    if not result.errors:
        if ok_status == 204:
            return Response(status_code=204)
        return neg.OrjsonResponse(ok_body, status_code=ok_status)
    errors = [
        {"entityId": entity_id, "error": exc.to_problem()} for entity_id, exc in result.errors
    ]
    return neg.OrjsonResponse({"success": result.success, "errors": errors}, status_code=207)


@router.post("/create", summary="Batch entity creation")
async def batch_create(request: Request) -> Response:
    hub = hub_of(request)
    body, ctx, rejected = await _batch_body(request)
    result = BatchResult()
    if body:
        result = await run_in_threadpool(hub.batch_create, body, ctx, neg.tenant_of(request))
    result = _with_rejected(result, rejected)
    return batch_response(result, ok_status=201, ok_body=result.success)


@router.post("/upsert", summary="Batch entity create or update (upsert)")
async def batch_upsert(request: Request) -> Response:
    hub = hub_of(request)
    options = options_of(request.query_params)
    if {"update", "replace"} <= options:
        raise BadRequestData("'options' cannot be both 'update' and 'replace'")
    mode = "update" if "update" in options else "replace"
    body, ctx, rejected = await _batch_body(request)
    result = BatchResult()
    if body:
        result = await run_in_threadpool(
            lambda: hub.batch_upsert(body, ctx, neg.tenant_of(request), mode=mode)  # type: ignore[arg-type]
        )
    result = _with_rejected(result, rejected)
    if result.created:
        return batch_response(result, ok_status=201, ok_body=result.created)
    return batch_response(result, ok_status=204)


@router.post("/update", summary="Batch entity update")
async def batch_update(request: Request) -> Response:
    hub = hub_of(request)
    no_overwrite = "noOverwrite" in options_of(request.query_params)
    body, ctx, rejected = await _batch_body(request)
    result = BatchResult()
    if body:
        result = await run_in_threadpool(
            lambda: hub.batch_update(body, ctx, neg.tenant_of(request), no_overwrite=no_overwrite)
        )
    return batch_response(_with_rejected(result, rejected), ok_status=204)


@router.post("/merge", summary="Batch entity merge")
async def batch_merge(request: Request) -> Response:
    hub = hub_of(request)
    body, ctx, rejected = await _batch_body(request)
    result = BatchResult()
    if body:
        result = await run_in_threadpool(hub.batch_merge, body, ctx, neg.tenant_of(request))
    return batch_response(_with_rejected(result, rejected), ok_status=204)


@router.post("/delete", summary="Batch entity delete")
async def batch_delete(request: Request) -> Response:
    hub = hub_of(request)
    body = await _read_batch(request)
    result = await run_in_threadpool(hub.batch_delete, body, neg.tenant_of(request))
    return batch_response(result, ok_status=204)


@router.post("/query", summary="Query entities with a POSTed Query object")
async def batch_query(request: Request) -> Response:
    hub = hub_of(request)
    check_params(request.query_params, POST_QUERY_PARAMS)
    body = await neg.read_json(request, hub.settings.max_body_bytes)
    if not isinstance(body, dict):
        raise BadRequestData("the payload must be a Query object")
    if body.get("type", "Query") != "Query":
        raise BadRequestData("the payload's 'type' must be 'Query'")
    context_value = neg.request_context(request, body, has_body=True)
    kind = neg.response_kind(request, geo=True)
    params = request.query_params
    geometry = geometry_property(params, kind, body.get("geometryProperty"))
    scope_q = body.get("scopeQ")
    if scope_q is not None and not isinstance(scope_q, str):
        raise BadRequestData("'scopeQ' must be a string")
    ctx = await run_in_threadpool(hub.context, context_value)
    attrs = body.get("attrs")
    if attrs is not None and (
        not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs)
    ):
        raise BadRequestData("'attrs' must be an array of attribute names")
    q = body.get("q")
    if q is not None and not isinstance(q, str):
        raise BadRequestData("'q' must be a string")
    geo_q = body.get("geoQ")
    if geo_q is not None and not isinstance(geo_q, dict):
        raise BadRequestData("'geoQ' must be an object")
    entities = body.get("entities")
    if entities is not None and not isinstance(entities, list):
        raise BadRequestData("'entities' must be an array")
    query = EntityQuery(
        entities=entities,
        attrs=attrs,
        q=q,
        geo=parse_geoquery_object(geo_q) if geo_q is not None else None,
        limit=non_negative_int(params, "limit"),
        offset=non_negative_int(params, "offset") or 0,
        count=boolean(params, "count") or "count" in options_of(params),
        local=boolean(params, "local"),
        scope_q=scope_q,
    )
    opts = render_options(params, ctx)
    if attrs is not None:
        opts = RenderOptions(
            format=opts.format,
            sys_attrs=opts.sys_attrs,
            attrs=select_attrs(attrs, ctx.expand_term),
            omit=opts.omit,
            lang=body.get("lang") or opts.lang,
            dataset_ids=opts.dataset_ids,
        )
    page = await run_in_threadpool(hub.query_entities, query, ctx, neg.tenant_of(request))
    link = neg.context_link(context_value)
    if not isinstance(context_value, str | None):  # inline: link a stored copy of it
        link = neg.ContextLink(context_value, hub.resolver.context_url(ctx))
    return render_page(page.entities, page.count, ctx, link, opts, kind, geometry)
