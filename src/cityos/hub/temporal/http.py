"""``/ngsi-ld/v1/temporal``: the temporal API over HTTP (ETSI GS CIM 009 §6.18-§6.22).

Thin adapters over :class:`~cityos.hub.temporal.service.TemporalService`: content negotiation and
@context handling as for ``/entities`` (:mod:`cityos.hub.http.negotiation`), ``206 Partial
Content`` with ``Content-Range`` when the instance limit cuts an answer
(:mod:`cityos.hub.temporal.pagination`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cityos.core.errors import BadRequestData
from cityos.hub.broker import EntityQuery
from cityos.hub.geo import parse_geoquery, parse_geoquery_object
from cityos.hub.http import negotiation as neg
from cityos.hub.http.entities import PREFIX, hub_of
from cityos.hub.http.params import boolean, csv_list, non_negative_int
from cityos.hub.http.paths import NgsiRoute
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.model import check_entity_id
from cityos.hub.temporal.query import (
    TemporalQuery,
    make_temporal_query,
    temporal_options,
    temporal_query_from_params,
)
from cityos.hub.temporal.service import TemporalPage, TemporalService

router = APIRouter(prefix=f"{PREFIX}/temporal", tags=["Temporal"], route_class=NgsiRoute)

_PARAMS = (
    "id",
    "idPattern",
    "type",
    "attrs",
    "q",
    "georel",
    "geometry",
    "coordinates",
    "geoproperty",
    "timerel",
    "timeAt",
    "endTimeAt",
    "timeproperty",
    "lastN",
    "aggrMethods",
    "aggrPeriodDuration",
    "options",
    "format",
    "limit",
    "offset",
    "count",
    "local",
)
_QUERY_DOC = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in _PARAMS
    ]
}


def temporal_of(request: Request) -> TemporalService:
    """The temporal service of this application (one per hub)."""
    service = getattr(request.app.state, "temporal", None)
    if service is None:
        service = request.app.state.temporal = TemporalService(hub_of(request))
    return service


async def _read_context(request: Request) -> tuple[ActiveContext, neg.ContextLink]:
    context_value = neg.request_context(request)
    ctx = await run_in_threadpool(hub_of(request).context, context_value)
    return ctx, neg.context_link(context_value)


async def _body(request: Request) -> tuple[Any, ActiveContext, Any]:
    hub = hub_of(request)
    body = await neg.read_json(request, hub.settings.max_body_bytes)
    context_value = neg.request_context(request, body, has_body=True)
    ctx = await run_in_threadpool(hub.context, context_value)
    if isinstance(body, dict):
        body.pop("@context", None)
    return body, ctx, context_value


def _respond(
    page: TemporalPage, payload: Any, kind: neg.ResponseKind, link: neg.ContextLink
) -> Response:
    headers: dict[str, str] = {}
    if page.count is not None:
        headers["NGSILD-Results-Count"] = str(page.count)
    status = 200
    if page.content_range is not None:
        status = 206
        headers["Content-Range"] = page.content_range.header()
    return neg.ngsi_response(payload, kind, link, status_code=status, headers=headers)


def _entity_query(params: Mapping[str, str], options: set[str]) -> EntityQuery:
    return EntityQuery(
        type=params.get("type"),
        ids=csv_list(params, "id"),
        id_pattern=params.get("idPattern"),
        attrs=csv_list(params, "attrs"),
        q=params.get("q"),
        geo=parse_geoquery(
            params.get("georel"),
            params.get("geometry"),
            params.get("coordinates"),
            params.get("geoproperty"),
        ),
        limit=non_negative_int(params, "limit"),
        offset=non_negative_int(params, "offset") or 0,
        count=boolean(params, "count") or "count" in options,
        local=boolean(params, "local"),
    )


@router.get(
    "/entities", summary="Query the temporal evolution of entities", openapi_extra=_QUERY_DOC
)
async def query_temporal(request: Request) -> Response:
    params = request.query_params
    kind = neg.response_kind(request)
    ctx, link = await _read_context(request)
    options, _ = temporal_options(params)
    temporal = temporal_query_from_params(params)
    query = _entity_query(params, options)
    service = temporal_of(request)
    page = await run_in_threadpool(service.query, query, temporal, ctx, neg.tenant_of(request))
    return _respond(page, page.entities, kind, link)


@router.post("/entities", summary="Create or add to a temporal entity")
async def upsert_temporal(request: Request) -> Response:
    body, ctx, _ = await _body(request)
    service = temporal_of(request)
    created = await run_in_threadpool(service.upsert, body, ctx, neg.tenant_of(request))
    if not created:
        return Response(status_code=204)
    entity_id = body.get("id", body.get("@id"))
    location = f"{PREFIX}/temporal/entities/{quote(entity_id, safe=':')}"
    return Response(status_code=201, headers={"Location": location})


@router.get("/entities/{entity_id}", summary="Retrieve the temporal evolution of an entity")
async def retrieve_temporal(entity_id: str, request: Request) -> Response:
    params = request.query_params
    kind = neg.response_kind(request)
    ctx, link = await _read_context(request)
    temporal = temporal_query_from_params(params)
    attrs = csv_list(params, "attrs")
    service = temporal_of(request)
    page = await run_in_threadpool(
        lambda: service.retrieve(entity_id, temporal, ctx, neg.tenant_of(request), attrs=attrs)
    )
    return _respond(page, page.entities[0], kind, link)


@router.delete("/entities/{entity_id}", status_code=204, summary="Delete a temporal entity")
async def delete_temporal(entity_id: str, request: Request) -> Response:
    service = temporal_of(request)
    await run_in_threadpool(service.delete_entity, entity_id, neg.tenant_of(request))
    return Response(status_code=204)


@router.post(
    "/entities/{entity_id}/attrs", status_code=204, summary="Add temporal attribute instances"
)
async def append_temporal(entity_id: str, request: Request) -> Response:
    body, ctx, _ = await _body(request)
    service = temporal_of(request)
    await run_in_threadpool(service.append, entity_id, body, ctx, neg.tenant_of(request))
    return Response(status_code=204)


@router.delete(
    "/entities/{entity_id}/attrs/{attr}", status_code=204, summary="Delete a temporal attribute"
)
async def delete_temporal_attr(entity_id: str, attr: str, request: Request) -> Response:
    params = request.query_params
    dataset_id = params.get("datasetId")
    delete_all = boolean(params, "deleteAll")
    if dataset_id is not None and delete_all:
        raise BadRequestData("'datasetId' and 'deleteAll' cannot be used together")
    if dataset_id is not None:
        check_entity_id(dataset_id, where="datasetId")
    ctx, _ = await _read_context(request)
    service = temporal_of(request)
    await run_in_threadpool(
        lambda: service.delete_attr(
            entity_id,
            attr,
            ctx,
            neg.tenant_of(request),
            dataset_id=dataset_id,
            delete_all=delete_all,
        )
    )
    return Response(status_code=204)


@router.patch(
    "/entities/{entity_id}/attrs/{attr}/{instance_id}",
    status_code=204,
    summary="Modify an attribute instance",
)
async def modify_instance(
    entity_id: str, attr: str, instance_id: str, request: Request
) -> Response:
    body, ctx, _ = await _body(request)
    service = temporal_of(request)
    await run_in_threadpool(
        service.modify_instance, entity_id, attr, instance_id, body, ctx, neg.tenant_of(request)
    )
    return Response(status_code=204)


@router.delete(
    "/entities/{entity_id}/attrs/{attr}/{instance_id}",
    status_code=204,
    summary="Delete an attribute instance",
)
async def delete_instance(
    entity_id: str, attr: str, instance_id: str, request: Request
) -> Response:
    ctx, _ = await _read_context(request)
    service = temporal_of(request)
    await run_in_threadpool(
        service.delete_instance, entity_id, attr, instance_id, ctx, neg.tenant_of(request)
    )
    return Response(status_code=204)


@router.post("/entityOperations/query", summary="Query temporal entities with a Query object")
async def query_temporal_post(request: Request) -> Response:
    hub = hub_of(request)
    body = await neg.read_json(request, hub.settings.max_body_bytes)
    if not isinstance(body, dict):
        raise BadRequestData("the payload must be a Query object")
    if body.get("type", "Query") != "Query":
        raise BadRequestData("the payload's 'type' must be 'Query'")
    context_value = neg.request_context(request, body, has_body=True)
    kind = neg.response_kind(request)
    ctx = await run_in_threadpool(hub.context, context_value)
    params = request.query_params
    options, _ = temporal_options(params)
    query = _post_entity_query(body, params, options)
    temporal = _post_temporal_query(body, params)
    service = temporal_of(request)
    page = await run_in_threadpool(service.query, query, temporal, ctx, neg.tenant_of(request))
    link = neg.context_link(context_value)
    if not isinstance(context_value, str | None):  # inline: link a stored copy of it
        link = neg.ContextLink(context_value, hub.resolver.context_url(ctx))
    return _respond(page, page.entities, kind, link)


def _post_entity_query(
    body: dict[str, Any], params: Mapping[str, str], options: set[str]
) -> EntityQuery:
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
    return EntityQuery(
        entities=entities,
        attrs=attrs,
        q=q,
        geo=parse_geoquery_object(geo_q) if geo_q is not None else None,
        limit=non_negative_int(params, "limit"),
        offset=non_negative_int(params, "offset") or 0,
        count=boolean(params, "count") or "count" in options,
        local=boolean(params, "local") or body.get("local") is True,
    )


def _post_temporal_query(body: dict[str, Any], params: Mapping[str, str]) -> TemporalQuery:
    """The temporal query of a POSTed Query: its ``temporalQ`` (``timerel``, ``timeAt``,
    ``endTimeAt``, ``timeproperty``, ``lastN``, ``aggrMethods``, ``aggrPeriodDuration``), with
    URL parameters filling what it leaves out."""
    temporal_q = body.get("temporalQ", {})
    if not isinstance(temporal_q, dict):
        raise BadRequestData("'temporalQ' must be an object")
    options, rep = temporal_options(params)

    def pick(name: str) -> Any:
        return temporal_q.get(name, params.get(name))

    return make_temporal_query(
        timerel=pick("timerel"),
        time_at=pick("timeAt"),
        end_time_at=pick("endTimeAt"),
        timeproperty=pick("timeproperty"),
        last_n=pick("lastN"),
        representation=rep,
        aggr_methods=pick("aggrMethods"),
        aggr_period=pick("aggrPeriodDuration"),
        sys_attrs="sysAttrs" in options,
    )
