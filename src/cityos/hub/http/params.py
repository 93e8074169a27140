"""URL query parameters of the NGSI-LD API, parsed strictly (ETSI GS CIM 009 §6.3.18 and §6.4)."""

from __future__ import annotations

from collections.abc import Mapping

from cityos.core.errors import BadRequestData, InvalidRequest
from cityos.hub.broker import EntityQuery
from cityos.hub.geo import parse_geoquery
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.model import check_entity_id
from cityos.hub.representation import Format, RenderOptions, select_attrs

_OPTIONS = frozenset(
    {
        "sysAttrs",
        "keyValues",
        "simplified",
        "concise",
        "normalized",
        "noOverwrite",
        "replace",
        "update",
        "count",
        "temporalValues",
    }
)
_FORMATS = {
    "normalized": "normalized",
    "keyValues": "keyValues",
    "simplified": "keyValues",
    "concise": "concise",
}


#: The URL parameters each operation understands (ETSI GS CIM 009 §6.3.18, §6.4-§6.7, §6.14-§6.18).
#: Any other parameter is an error of type InvalidRequest.
_COMMON = frozenset({"local", "via"})
_RENDER = frozenset(
    {"attrs", "pick", "omit", "options", "format", "lang", "geometryProperty", "datasetId"}
)
_LINKED = frozenset({"join", "joinLevel", "containedBy", "entityMap"})
_PAGING = frozenset({"limit", "offset", "count"})
_FILTERS = frozenset(
    {
        "id",
        "idPattern",
        "type",
        "q",
        "scopeQ",
        "csf",
        "georel",
        "geometry",
        "coordinates",
        "geoproperty",
        "geometryProperty",
    }
)
QUERY_PARAMS = _COMMON | _RENDER | _LINKED | _PAGING | _FILTERS | {"orderBy", "collect"}
RETRIEVE_PARAMS = _COMMON | _RENDER | _LINKED | {"type"}
WRITE_PARAMS = _COMMON | {"options", "format", "type"}
DELETE_ATTR_PARAMS = _COMMON | {"datasetId", "deleteAll", "lang"}
BATCH_PARAMS = _COMMON | {"options", "format"}
POST_QUERY_PARAMS = _COMMON | _PAGING | _LINKED | {"options", "format", "lang", "datasetId"}
DISCOVERY_PARAMS = _COMMON | {"details", "type"}


def check_params(params: Mapping[str, str], allowed: frozenset[str]) -> None:
    """Reject URL parameters that the operation does not define (InvalidRequest, §6.3.20)."""
    unknown = sorted(set(params.keys()) - allowed)
    if unknown:
        raise InvalidRequest(f"unknown URL parameter(s): {', '.join(unknown)}")


def csv_list(params: Mapping[str, str], name: str) -> list[str] | None:
    """A comma-separated parameter as a list (None if absent; empty items are an error)."""
    raw = params.get(name)
    if raw is None:
        return None
    items = [item.strip() for item in raw.split(",")]
    if not raw.strip() or any(not item for item in items):
        raise BadRequestData(f"'{name}' must be a comma-separated list without empty items")
    return items


def options_of(params: Mapping[str, str]) -> set[str]:
    """The ``options`` parameter as a set, rejecting unknown options."""
    options = set(csv_list(params, "options") or [])
    unknown = options - _OPTIONS
    if unknown:
        raise BadRequestData(f"unknown option(s): {', '.join(sorted(unknown))}")
    return options


def non_negative_int(params: Mapping[str, str], name: str) -> int | None:
    """An integer parameter ≥ 0, or None if absent."""
    raw = params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise BadRequestData(f"'{name}' must be a non-negative integer, not {raw!r}")
    return int(raw)


def boolean(params: Mapping[str, str], name: str) -> bool:
    """A ``true``/``false`` parameter (absent means false)."""
    raw = params.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise BadRequestData(f"'{name}' must be 'true' or 'false', not {raw!r}")
    return raw == "true"


def render_options(params: Mapping[str, str], ctx: ActiveContext) -> RenderOptions:
    """Representation options: ``options``/``format``, ``attrs``/``pick``/``omit``, ``lang``."""
    options = options_of(params)
    fmt: Format = "normalized"
    chosen = [o for o in options if o in _FORMATS]
    if len({_FORMATS[o] for o in chosen}) > 1:
        raise BadRequestData("'options' names more than one representation")
    if chosen:
        fmt = _FORMATS[chosen[0]]  # type: ignore[assignment]
    if "format" in params:
        if params["format"] not in _FORMATS:
            raise BadRequestData(f"unknown format {params['format']!r}")
        fmt = _FORMATS[params["format"]]  # type: ignore[assignment]
    pick = _projection(params, "pick")
    attrs = csv_list(params, "attrs")
    omit = _projection(params, "omit") or []
    if pick is not None and omit:
        raise BadRequestData("'pick' and 'omit' cannot be used together")
    chosen_names = pick if pick is not None else attrs
    if pick is not None and attrs is not None:
        chosen_names = [n for n in pick if n in attrs or n in ("id", "type")]
    return RenderOptions(
        format=fmt,
        sys_attrs="sysAttrs" in options,
        attrs=select_attrs(chosen_names, ctx.expand_term),
        omit=frozenset(ctx.expand_term(n) for n in omit if n not in ("id", "type")),
        pick_id=(pick is None or "id" in pick) and "id" not in omit,
        pick_type=(pick is None or "type" in pick) and "type" not in omit,
        lang=params.get("lang"),
        dataset_ids=dataset_ids(params),
    )


def _projection(params: Mapping[str, str], name: str) -> list[str] | None:
    """A ``pick``/``omit`` list: names separated by ``,`` or ``|`` (§4.21)."""
    raw = params.get(name)
    if raw is None:
        return None
    if "{" in raw or "}" in raw:
        raise BadRequestData(f"'{name}' selects Linked Entity members, but 'join' is not supported")
    return csv_list({name: raw.replace("|", ",")}, name)


def dataset_ids(params: Mapping[str, str]) -> frozenset[str] | None:
    """The ``datasetId`` filter of a query or retrieval (§4.5.5): URIs, or ``@none``."""
    names = csv_list(params, "datasetId")
    if names is None:
        return None
    for name in names:
        if name != "@none":
            check_entity_id(name, where="datasetId")
    return frozenset(names)


def entity_query(params: Mapping[str, str]) -> EntityQuery:
    """The filter and paging parameters of ``GET /entities``."""
    options = options_of(params)
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
        scope_q=params.get("scopeQ"),
    )
