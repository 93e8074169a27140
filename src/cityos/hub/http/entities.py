"""``/ngsi-ld/v1/entities``: the context information provision and consumption API (§6.4-§6.7)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cityos.core.errors import BadRequestData, ResourceNotFound
from cityos.hub import geo
from cityos.hub.broker import Hub, UpdateResult
from cityos.hub.http import negotiation as neg
from cityos.hub.http.params import (
    DELETE_ATTR_PARAMS,
    QUERY_PARAMS,
    RETRIEVE_PARAMS,
    WRITE_PARAMS,
    boolean,
    check_params,
    entity_query,
    options_of,
    render_options,
)
from cityos.hub.http.paths import NgsiRoute
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.model import Entity, check_entity_id
from cityos.hub.representation import RenderOptions, render_entity

PREFIX = "/ngsi-ld/v1"
router = APIRouter(prefix=PREFIX, tags=["Entities"], route_class=NgsiRoute)

_QUERY_DOC = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in (
            "id",
            "idPattern",
            "type",
            "attrs",
            "pick",
            "omit",
            "q",
            "georel",
            "geometry",
            "coordinates",
            "geoproperty",
            "geometryProperty",
            "scopeQ",
            "datasetId",
            "limit",
            "offset",
            "count",
            "options",
            "format",
            "lang",
            "local",
        )
    ]
}


def hub_of(request: Request) -> Hub:
    """The hub serving this application."""
    return request.app.state.hub


async def _body(request: Request, *, merge_patch: bool = False) -> tuple[Any, ActiveContext]:
    hub = hub_of(request)
    body = await neg.read_json(request, hub.settings.max_body_bytes, merge_patch=merge_patch)
    context_value = neg.request_context(request, body, has_body=True)
    ctx = await run_in_threadpool(hub.context, context_value)
    if isinstance(body, dict):
        body.pop("@context", None)
    return body, ctx


async def _read_context(request: Request) -> tuple[ActiveContext, neg.ContextLink]:
    context_value = neg.request_context(request)
    ctx = await run_in_threadpool(hub_of(request).context, context_value)
    return ctx, neg.context_link(context_value)


def _location(entity_id: str) -> str:
    return f"{PREFIX}/entities/{quote(entity_id, safe=':')}"


def _update_response(result: UpdateResult) -> Response:
    if not result.not_updated:
        return Response(status_code=204)
    return neg.OrjsonResponse(
        {"updated": result.updated, "notUpdated": result.not_updated}, status_code=207
    )


def geo_feature(
    entity: Entity,
    rendered: dict[str, Any],
    ctx: ActiveContext,
    geometry_property: str,
    *,
    context: Any = None,
) -> dict[str, Any]:
    """A GeoJSON Feature for an entity (§4.5.16), its geometry taken from the default instance
    of ``geometry_property``; a Feature returned on its own carries the ``@context``."""
    instance = entity.default_instance(ctx.expand_term(geometry_property))
    geometry = instance["value"] if instance and instance["type"] == "GeoProperty" else None
    properties = {k: v for k, v in rendered.items() if k != "id"}
    return geo.feature(entity.id, properties.get("type"), geometry, properties, context=context)


def geometry_property(params: Any, kind: neg.ResponseKind, given: Any = None) -> str:
    """The GeoProperty that gives GeoJSON Features their geometry (``geometryProperty``,
    default ``location``); BadRequestData if it is asked for without GeoJSON (§5.7.1.4)."""
    name = given if given is not None else params.get("geometryProperty")
    if name is None:
        return "location"
    if not isinstance(name, str) or not name:
        raise BadRequestData("'geometryProperty' must be an attribute name")
    if kind != "geo+json":
        raise BadRequestData("'geometryProperty' is only allowed with Accept: application/geo+json")
    return name


def _missing_id() -> BadRequestData:
    return BadRequestData("the entity id is missing from the URL")


@router.post("/entities", status_code=201, summary="Create an entity")
async def create_entity(request: Request) -> Response:
    hub = hub_of(request)
    check_params(request.query_params, WRITE_PARAMS)
    body, ctx = await _body(request)
    tenant = neg.tenant_of(request)
    entity_id = await run_in_threadpool(hub.create_entity, body, ctx, tenant)
    return Response(status_code=201, headers={"Location": _location(entity_id)})


@router.get("/entities", summary="Query entities", openapi_extra=_QUERY_DOC)
async def query_entities(request: Request) -> Response:
    hub = hub_of(request)
    params = request.query_params
    check_params(params, QUERY_PARAMS)
    kind = neg.response_kind(request, geo=True)
    geometry = geometry_property(params, kind)
    ctx, link = await _read_context(request)
    tenant = neg.tenant_of(request)
    query = entity_query(params)
    opts = render_options(params, ctx)
    page = await run_in_threadpool(hub.query_entities, query, ctx, tenant)
    return render_page(page.entities, page.count, ctx, link, opts, kind, geometry)


def render_page(
    entities: list[Entity],
    count: int | None,
    ctx: ActiveContext,
    link: neg.ContextLink,
    opts: RenderOptions,
    kind: neg.ResponseKind,
    geometry: str = "location",
) -> Response:
    """A page of entities in the negotiated form, with ``NGSILD-Results-Count`` if counted.
    As GeoJSON, a FeatureCollection carries the ``@context`` once, at its top level (§4.5.16.3)."""
    rendered = [render_entity(e, ctx.compact_iri, opts) for e in entities]
    headers = {"NGSILD-Results-Count": str(count)} if count is not None else {}
    if kind == "geo+json":
        features = [
            geo_feature(e, r, ctx, geometry) for e, r in zip(entities, rendered, strict=True)
        ]
        collection = geo.feature_collection(features, context=link.value)
        return neg.ngsi_response(collection, kind, link, headers=headers)
    return neg.ngsi_response(rendered, kind, link, headers=headers)


@router.get("/entities/{entity_id}", summary="Retrieve an entity")
async def retrieve_entity(entity_id: str, request: Request) -> Response:
    hub = hub_of(request)
    params = request.query_params
    check_params(params, RETRIEVE_PARAMS)
    kind = neg.response_kind(request, geo=True)
    geometry = geometry_property(params, kind)
    ctx, link = await _read_context(request)
    tenant = neg.tenant_of(request)
    opts = render_options(params, ctx)
    entity = await run_in_threadpool(hub.get_entity, entity_id, tenant)
    if "type" in params:
        wanted = set(ctx.expand_term(t.strip()) for t in params["type"].split(","))
        if not wanted & set(entity.types):
            raise ResourceNotFound(
                f"entity {entity_id} is not of type {params['type']!r}", instance=entity_id
            )
    if "attrs" in params and opts.attrs and not opts.attrs & entity.attrs.keys():
        raise ResourceNotFound(
            f"entity {entity_id} has none of the attributes {params['attrs']!r}",
            instance=entity_id,
        )
    rendered = render_entity(entity, ctx.compact_iri, opts)
    if kind == "geo+json":
        feature = geo_feature(entity, rendered, ctx, geometry, context=link.value)
        return neg.ngsi_response(feature, kind, link)
    return neg.ngsi_response(rendered, kind, link)


@router.put("/entities/{entity_id}", status_code=204, summary="Replace an entity")
async def replace_entity(entity_id: str, request: Request) -> Response:
    hub = hub_of(request)
    check_params(request.query_params, WRITE_PARAMS)
    body, ctx = await _body(request)
    await run_in_threadpool(hub.replace_entity, entity_id, body, ctx, neg.tenant_of(request))
    return Response(status_code=204)


@router.patch("/entities/{entity_id}", status_code=204, summary="Merge-patch an entity")
async def merge_entity(entity_id: str, request: Request) -> Response:
    hub = hub_of(request)
    check_params(request.query_params, WRITE_PARAMS)
    body, ctx = await _body(request, merge_patch=True)
    await run_in_threadpool(hub.merge_entity, entity_id, body, ctx, neg.tenant_of(request))
    return Response(status_code=204)


@router.delete("/entities/{entity_id}", status_code=204, summary="Delete an entity")
async def delete_entity(entity_id: str, request: Request) -> Response:
    hub = hub_of(request)
    check_params(request.query_params, WRITE_PARAMS)
    await run_in_threadpool(hub.delete_entity, entity_id, neg.tenant_of(request))
    return Response(status_code=204)


@router.post("/entities/{entity_id}/attrs", summary="Append attributes")
async def append_attrs(entity_id: str, request: Request) -> Response:
    hub = hub_of(request)
    check_params(request.query_params, WRITE_PARAMS)
    no_overwrite = "noOverwrite" in options_of(request.query_params)
    body, ctx = await _body(request)
    result = await run_in_threadpool(
        lambda: hub.append_attrs(
            entity_id, body, ctx, neg.tenant_of(request), no_overwrite=no_overwrite
        )
    )
    return _update_response(result)


@router.patch("/entities/{entity_id}/attrs", summary="Update attributes")
async def update_attrs(entity_id: str, request: Request) -> Response:
    hub = hub_of(request)
    check_params(request.query_params, WRITE_PARAMS)
    body, ctx = await _body(request, merge_patch=True)
    result = await run_in_threadpool(hub.update_attrs, entity_id, body, ctx, neg.tenant_of(request))
    return _update_response(result)


@router.patch(
    "/entities/{entity_id}/attrs/{attr:path}", status_code=204, summary="Partial attribute update"
)
async def update_attr(entity_id: str, attr: str, request: Request) -> Response:
    hub = hub_of(request)
    check_params(request.query_params, WRITE_PARAMS)
    body, ctx = await _body(request, merge_patch=True)
    await run_in_threadpool(
        lambda: hub.update_attr(entity_id, attr, body, ctx, neg.tenant_of(request))
    )
    return Response(status_code=204)


@router.put(
    "/entities/{entity_id}/attrs/{attr:path}", status_code=204, summary="Replace an attribute"
)
async def replace_attr(entity_id: str, attr: str, request: Request) -> Response:
    hub = hub_of(request)
    check_params(request.query_params, WRITE_PARAMS)
    body, ctx = await _body(request)
    await run_in_threadpool(
        lambda: hub.update_attr(entity_id, attr, body, ctx, neg.tenant_of(request), replace=True)
    )
    return Response(status_code=204)


@router.delete(
    "/entities/{entity_id}/attrs/{attr:path}", status_code=204, summary="Delete an attribute"
)
async def delete_attr(entity_id: str, attr: str, request: Request) -> Response:
    hub = hub_of(request)
    params = request.query_params
    check_params(params, DELETE_ATTR_PARAMS)
    dataset_id = params.get("datasetId")
    delete_all = boolean(params, "deleteAll")
    if dataset_id is not None and delete_all:
        raise BadRequestData("'datasetId' and 'deleteAll' cannot be used together")
    if dataset_id is not None:
        check_entity_id(dataset_id, where="datasetId")
    ctx, _ = await _read_context(request)
    await run_in_threadpool(
        lambda: hub.delete_attr(
            entity_id,
            attr,
            ctx,
            neg.tenant_of(request),
            dataset_id=dataset_id,
            delete_all=delete_all,
        )
    )
    return Response(status_code=204)


@router.api_route(
    "/entities", methods=["PUT", "PATCH"], include_in_schema=False, summary="No entity id"
)
@router.api_route(
    "/entities//attrs",
    methods=["POST", "PATCH", "PUT", "DELETE"],
    include_in_schema=False,
    summary="No entity id",
)
@router.api_route(
    "/entities//attrs/{attr:path}",
    methods=["POST", "PATCH", "PUT", "DELETE"],
    include_in_schema=False,
    summary="No entity id",
)
async def missing_entity_id(request: Request) -> Response:
    """An entity operation whose URL leaves the entity id empty (``/entities//attrs``)."""
    raise _missing_id()
