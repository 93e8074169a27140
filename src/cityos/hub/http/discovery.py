"""``/types`` and ``/attributes``: the entity types and attributes the hub holds (§5.7.5-§5.7.10).

Type and attribute names in the path may be short terms or full IRIs (URL-encoded, so a ``/`` in
an IRI arrives decoded: the path converters below accept it).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cityos.core.errors import ResourceNotFound
from cityos.hub.http import negotiation as neg
from cityos.hub.http.entities import PREFIX, hub_of
from cityos.hub.http.params import DISCOVERY_PARAMS, boolean, check_params
from cityos.hub.http.paths import NgsiRoute
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.storage.base import AttributeSummary

router = APIRouter(prefix=PREFIX, tags=["Discovery"], route_class=NgsiRoute)


async def _scope(request: Request) -> tuple[Any, ActiveContext, neg.ContextLink, str]:
    hub = hub_of(request)
    check_params(request.query_params, DISCOVERY_PARAMS)
    kind = neg.response_kind(request)
    context_value = neg.request_context(request)
    ctx = await run_in_threadpool(hub.context, context_value)
    tenant = await run_in_threadpool(hub.read_tenant, neg.tenant_of(request))
    return kind, ctx, neg.context_link(context_value), tenant


def _attribute(summary: AttributeSummary, ctx: ActiveContext) -> dict[str, Any]:
    """An Attribute with every member, for ``/attributes/{attrId}`` (§5.7.10)."""
    return {
        "id": summary.iri,
        "type": "Attribute",
        "attributeName": ctx.compact_iri(summary.iri),
        "attributeCount": summary.count,
        "attributeTypes": sorted(summary.attribute_types),
        "typeNames": sorted(ctx.compact_iri(t) for t in summary.type_names),
    }


def _attribute_details(summary: AttributeSummary, ctx: ActiveContext) -> dict[str, Any]:
    """One member of ``/attributes?details=true`` (§5.7.9): an Attribute with ``attributeName``
    and ``typeNames`` but no ``attributeCount`` or ``attributeTypes``, as Stellio answers."""
    return {
        "id": summary.iri,
        "type": "Attribute",
        "attributeName": ctx.compact_iri(summary.iri),
        "typeNames": sorted(ctx.compact_iri(t) for t in summary.type_names),
    }


@router.get("/types", summary="Available entity types")
async def list_types(request: Request) -> Response:
    hub = hub_of(request)
    kind, ctx, link, tenant = await _scope(request)
    counts = await run_in_threadpool(hub.storage.type_counts, tenant)
    if not boolean(request.query_params, "details"):
        payload: Any = {
            "id": f"urn:ngsi-ld:EntityTypeList:{uuid.uuid4()}",
            "type": "EntityTypeList",
            "typeList": [ctx.compact_iri(t) for t in counts],
        }
        return neg.ngsi_response(payload, kind, link)
    summaries = await run_in_threadpool(hub.storage.attribute_summaries, tenant)
    payload = []
    for type_iri in counts:
        names = sorted(
            ctx.compact_iri(s.iri) for s in summaries.values() if type_iri in s.type_names
        )
        payload.append(
            {
                "id": type_iri,
                "type": "EntityType",
                "typeName": ctx.compact_iri(type_iri),
                "attributeNames": names,
            }
        )
    return neg.ngsi_response(payload, kind, link)


@router.get("/types/{type_name:path}", summary="Details of one entity type")
async def type_info(type_name: str, request: Request) -> Response:
    hub = hub_of(request)
    kind, ctx, link, tenant = await _scope(request)
    type_iri = ctx.expand_term(type_name)
    counts = await run_in_threadpool(hub.storage.type_counts, tenant)
    if type_iri not in counts:
        raise ResourceNotFound(f"no entity of type {type_name!r}", instance=type_iri)
    summaries = await run_in_threadpool(hub.storage.attribute_summaries, tenant, [type_iri])
    payload = {
        "id": type_iri,
        "type": "EntityTypeInfo",
        "typeName": ctx.compact_iri(type_iri),
        "entityCount": counts[type_iri],
        "attributeDetails": [
            {
                "id": s.iri,
                "type": "Attribute",
                "attributeName": ctx.compact_iri(s.iri),
                "attributeTypes": sorted(s.attribute_types),
            }
            for s in sorted(summaries.values(), key=lambda s: s.iri)
        ],
    }
    return neg.ngsi_response(payload, kind, link)


@router.get("/attributes", summary="Available attributes")
async def list_attributes(request: Request) -> Response:
    hub = hub_of(request)
    kind, ctx, link, tenant = await _scope(request)
    summaries = await run_in_threadpool(hub.storage.attribute_summaries, tenant)
    ordered = sorted(summaries.values(), key=lambda s: s.iri)
    if boolean(request.query_params, "details"):
        return neg.ngsi_response([_attribute_details(s, ctx) for s in ordered], kind, link)
    payload = {
        "id": f"urn:ngsi-ld:AttributeList:{uuid.uuid4()}",
        "type": "AttributeList",
        "attributeList": [ctx.compact_iri(s.iri) for s in ordered],
    }
    return neg.ngsi_response(payload, kind, link)


@router.get("/attributes/{attr_name:path}", summary="Details of one attribute")
async def attribute_info(attr_name: str, request: Request) -> Response:
    hub = hub_of(request)
    kind, ctx, link, tenant = await _scope(request)
    iri = ctx.expand_term(attr_name)
    summaries = await run_in_threadpool(hub.storage.attribute_summaries, tenant)
    if iri not in summaries:
        raise ResourceNotFound(f"no attribute {attr_name!r}", instance=iri)
    return neg.ngsi_response(_attribute(summaries[iri], ctx), kind, link)
