"""The NGSI-LD information model: entities and attribute instances, validated and normalised.

Incoming payloads (normalized, concise or key-value shapes, ETSI GS CIM 009 §4.5) are turned into
one internal form, with every name expanded against the request's JSON-LD @context:

* an :class:`Entity` holds ``id``, expanded ``types``, ``scope`` and ``attrs``, a mapping
  ``attribute IRI -> list of instances`` (the default instance, without ``datasetId``, and any
  dataset instances);
* an *instance* is a dict in normalized shape whose principal content always sits under the
  uniform key ``"value"``: a Property's value, a Relationship's object, a LanguageProperty's
  languageMap, a ListProperty's valueList, a ListRelationship's objectList, a VocabProperty's vocab
  (expanded) and a JsonProperty's json. Metadata (``observedAt``, ``unitCode``, ``datasetId``,
  ``createdAt``, ``modifiedAt``, ``lang``) keep their names; sub-attributes are keyed by IRI.

The storage layer and the query compilers rely on this form; :mod:`cityos.hub.representation`
turns it back into what clients asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cityos.core.errors import BadRequestData
from cityos.core.timeutil import parse_datetime
from cityos.hub import geo

#: Attribute types and the key that holds their principal content in normalized form (§4.5.2).
PRINCIPAL_KEY: dict[str, str] = {
    "Property": "value",
    "Relationship": "object",
    "GeoProperty": "value",
    "LanguageProperty": "languageMap",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "VocabProperty": "vocab",
    "JsonProperty": "json",
}
#: The reverse: principal key -> attribute type, used to recognise concise attributes (§4.5.7).
TYPE_OF_KEY: dict[str, str] = {
    "value": "Property",
    "object": "Relationship",
    "languageMap": "LanguageProperty",
    "valueList": "ListProperty",
    "objectList": "ListRelationship",
    "vocab": "VocabProperty",
    "json": "JsonProperty",
}
GEOJSON_TYPES = frozenset(
    {
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    }
)
#: Instance members that are metadata, never sub-attributes.
METADATA_KEYS = frozenset(
    {"type", "observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt", "lang", "instanceId"}
)
SYSTEM_KEYS = frozenset({"createdAt", "modifiedAt"})
#: Entity members that are not attributes.
ENTITY_RESERVED = frozenset({"@context", "id", "type", "scope", "createdAt", "modifiedAt"})
_NOT_ATTRIBUTES = ENTITY_RESERVED | {"@id", "@type"}
#: Names a client may not use as attribute names (§4.6.2: reserved core members).
FORBIDDEN_ATTR_NAMES = frozenset(
    {"id", "type", "@context", "@id", "@type", "value", "object", "scope"}
)
#: The NGSI-LD "null" used by merge-patch to delete an attribute (§5.5.12).
NGSI_LD_NULL = "urn:ngsi-ld:null"

_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_NAME_FORBIDDEN_RE = re.compile(r"[\s<>\"'=;()\x00-\x1f]")
_LANG_RE = re.compile(r"^(@none|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$")

Expand = Callable[[str], str]


@dataclass
class Entity:
    """An NGSI-LD entity in internal (expanded) form.

    Attributes
    ----------
    id
        The entity id, an absolute URI.
    types
        Expanded entity type IRIs (at least one).
    attrs
        Expanded attribute IRI -> list of instances (see module docstring).
    scope
        Scope values (§4.18), or None.
    created_at, modified_at
        System timestamps, ISO 8601 UTC strings.
    """

    id: str
    types: list[str]
    attrs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    scope: list[str] | None = None
    created_at: str = ""
    modified_at: str = ""

    def default_instance(self, attr: str) -> dict[str, Any] | None:
        """The instance of ``attr`` without a datasetId, if any."""
        for instance in self.attrs.get(attr, ()):
            if "datasetId" not in instance:
                return instance
        return None


def is_uri(text: object) -> bool:
    """Whether ``text`` is an absolute URI (RFC 3986 scheme followed by ``:``)."""
    return isinstance(text, str) and len(text) <= 2048 and _URI_RE.match(text) is not None


def check_entity_id(entity_id: object, *, where: str = "id") -> str:
    """Validate an entity id (§4.5.1: a URI) and return it."""
    if not isinstance(entity_id, str) or not entity_id:
        raise BadRequestData(f"'{where}' must be a non-empty string (a URI)")
    if not is_uri(entity_id):
        raise BadRequestData(f"'{where}' is not a valid URI: {entity_id!r}")
    return entity_id


_VALID_NAMES: dict[str, None] = {}


def check_name(name: object, *, what: str = "attribute name") -> str:
    """Validate an attribute, sub-attribute or type name as written by a client (§4.6.2)."""
    if name in _VALID_NAMES:
        return name  # type: ignore[return-value]
    if not isinstance(name, str) or not name:
        raise BadRequestData(f"invalid {what}: must be a non-empty string")
    if len(name) > 512:
        raise BadRequestData(f"invalid {what}: longer than 512 characters")
    if name.startswith("@"):
        raise BadRequestData(f"invalid {what} {name!r}: '@' starts JSON-LD keywords")
    if _NAME_FORBIDDEN_RE.search(name):
        raise BadRequestData(f"invalid {what} {name!r}: contains a forbidden character")
    if len(_VALID_NAMES) < 65536:
        _VALID_NAMES[name] = None
    return name


def expand_types(value: object, expand: Expand) -> list[str]:
    """Validate and expand an entity's ``type`` member (a string or a non-empty list)."""
    raw = [value] if isinstance(value, str) else value
    if not isinstance(raw, list) or not raw:
        raise BadRequestData("'type' must be a string or a non-empty array of strings")
    types: list[str] = []
    for item in raw:
        iri = expand(check_name(item, what="entity type"))
        if iri not in types:
            types.append(iri)
    return types


def parse_scope(value: object) -> list[str]:
    """Validate ``scope`` (§4.18): a string or array of strings like ``/Sejong/5-1``."""
    raw = [value] if isinstance(value, str) else value
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) and s for s in raw):
        raise BadRequestData("'scope' must be a string or an array of non-empty strings")
    for item in raw:
        if not item.startswith("/") or "//" in item or (len(item) > 1 and item.endswith("/")):
            raise BadRequestData(f"invalid scope {item!r}: must look like /A/B")
    return list(dict.fromkeys(raw))


def parse_entity(
    body: object,
    expand: Expand,
    *,
    now: str,
    require_id: bool = True,
    require_type: bool = True,
    entity_id: str | None = None,
) -> Entity:
    """Validate an entity payload and return it in internal form.

    Parameters
    ----------
    body
        The decoded JSON payload (normalized, concise or key-value attributes accepted).
    expand
        Expands a term against the request's @context.
    now
        The modification time to stamp on entity and instances [ISO 8601 UTC].
    require_id, require_type
        Whether ``id`` and ``type`` must be present (replace/merge operations take the id
        from the URL and may leave the type out).
    entity_id
        The id from the URL; if the body also has one they must agree.
    """
    if not isinstance(body, dict):
        raise BadRequestData("the entity must be a JSON object")
    if "id" in body or "@id" in body:
        eid = check_entity_id(body.get("id", body.get("@id")))
        if entity_id is not None and eid != entity_id:
            raise BadRequestData(
                f"the id in the payload ({eid}) differs from the URL ({entity_id})"
            )
    elif require_id:
        raise BadRequestData("the entity has no 'id'")
    else:
        eid = entity_id or ""
    raw_type = body.get("type", body.get("@type"))
    if raw_type is None:
        if require_type:
            raise BadRequestData("the entity has no 'type'")
        types: list[str] = []
    else:
        types = expand_types(raw_type, expand)
    scope = parse_scope(body["scope"]) if "scope" in body else None
    attrs = parse_attributes(body, expand, now=now)
    return Entity(id=eid, types=types, attrs=attrs, scope=scope, created_at=now, modified_at=now)


def parse_attributes(
    body: dict[str, Any], expand: Expand, *, now: str, allow_null: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """Validate every attribute member of ``body`` (entity members are skipped).

    With ``allow_null`` (merge-patch §5.6.17, update §5.6.2) an attribute that is NGSI-LD Null
    (see :func:`is_null_attribute`) is kept as ``[{"type": "Null"}]`` (with its ``datasetId``, if
    it names one) so the caller can delete it.
    """
    attrs: dict[str, list[dict[str, Any]]] = {}
    valid = _VALID_NAMES
    for name, raw in body.items():
        if name in _NOT_ATTRIBUTES:
            continue
        iri = expand(name if name in valid else check_name(name))
        if allow_null and is_null_attribute(raw):
            attrs[iri] = [_null_marker(raw, name)]
        elif (instance := _plain_instance(raw, now)) is not None:
            attrs[iri] = [instance]
        elif type(raw) is list:
            attrs[iri] = parse_attribute(raw, expand, name=name, now=now, allow_null=allow_null)
        else:
            attrs[iri] = [parse_instance(raw, expand, name=name, now=now, allow_null=allow_null)]
    return attrs


#: Principal values a plain Property may hold as they are (``type`` is compared exactly: a
#: ``dict`` may be a JSON-LD value object and needs the full check).
_SCALAR_TYPES = frozenset({str, int, float, bool})


def _plain_instance(raw: object, now: str) -> dict[str, Any] | None:
    """The internal form of the most common attribute shapes, checked without the general path:
    a Property with a scalar value, a GeoProperty holding a 2D GeoJSON Point, or a Relationship
    to one URI, each with no member but
    ``observedAt`` and ``unitCode``. None for anything else (:func:`parse_instance` decides).

    The result is exactly what :func:`parse_instance` returns for the same input.
    """
    if type(raw) is not dict:
        return None
    kind = raw.get("type")
    if kind == "Property":
        value = raw.get("value")
        if type(value) not in _SCALAR_TYPES:
            return None
    elif kind == "Relationship":
        value = raw.get("object")
        if type(value) is not str or not is_uri(value):
            return None
    elif kind == "GeoProperty":
        value = geo.plain_point(raw.get("value"))
        if value is None:
            return None
    else:
        return None
    if len(raw) == 2:
        return {"type": kind, "value": value, "createdAt": now, "modifiedAt": now}
    principal = "object" if kind == "Relationship" else "value"
    instance: dict[str, Any] = {"type": kind, "value": value}
    for key, member in raw.items():
        if key == "type" or key == principal:
            continue
        if key == "observedAt":
            if type(member) is not str or not _is_datetime(member):
                return None
        elif key != "unitCode" or type(member) is not str or not member:
            return None
        instance[key] = member
    instance["createdAt"] = now
    instance["modifiedAt"] = now
    return instance


_VALID_DATETIMES: dict[str, None] = {}


def _is_datetime(text: str) -> bool:
    """Whether ``text`` is an ISO 8601 date-time (remembered: sensors repeat their instants)."""
    if text in _VALID_DATETIMES:
        return True
    try:
        parse_datetime(text)
    except ValueError:
        return False
    if len(_VALID_DATETIMES) >= 65536:
        _VALID_DATETIMES.clear()
    _VALID_DATETIMES[text] = None
    return True


def parse_attribute(
    raw: object, expand: Expand, *, name: str, now: str, allow_null: bool = False
) -> list[dict[str, Any]]:
    """Validate one attribute (one instance, or an array of dataset instances) (§4.5.5)."""
    if isinstance(raw, list) and raw and all(_looks_like_instance(item) for item in raw):
        instances = [
            parse_instance(item, expand, name=name, now=now, allow_null=allow_null) for item in raw
        ]
        seen: set[str | None] = set()
        for instance in instances:
            dataset = instance.get("datasetId")
            if dataset in seen:
                label = "the default instance" if dataset is None else f"datasetId {dataset}"
                raise BadRequestData(f"attribute {name!r} repeats {label}")
            seen.add(dataset)
        return instances
    return [parse_instance(raw, expand, name=name, now=now, allow_null=allow_null)]


def _looks_like_instance(item: object) -> bool:
    if not isinstance(item, dict):
        return False
    kind = item.get("type")
    if kind in PRINCIPAL_KEY:
        return True
    return kind is None and any(key in item for key in TYPE_OF_KEY)


def _infer_type(raw: object) -> tuple[str, str | None, object]:
    """Attribute type, the member holding the principal content (None: ``raw`` itself is the
    value, with no other members) and that content, for normalized, concise or keyValues input."""
    if type(raw) is dict:
        kind = raw.get("type")
        if kind is not None:
            key = PRINCIPAL_KEY.get(kind)
            if key is not None:
                if key not in raw:
                    raise BadRequestData(f"a {kind} needs a '{key}' member")
                return kind, key, raw[key]
            if kind in GEOJSON_TYPES:
                return "GeoProperty", None, raw
            raise BadRequestData(f"unknown attribute type {kind!r}")
        for key, inferred in TYPE_OF_KEY.items():
            if key in raw:
                value = raw[key]
                if inferred == "Property" and _is_geometry(value):
                    inferred = "GeoProperty"
                return inferred, key, value
    return "Property", None, raw


def _is_geometry(value: object) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") in GEOJSON_TYPES
        and ("coordinates" in value or "geometries" in value)
    )


def parse_instance(
    raw: object,
    expand: Expand,
    *,
    name: str,
    now: str,
    allow_null: bool = False,
    depth: int = 0,
) -> dict[str, Any]:
    """Validate one attribute instance and return it in internal form."""
    if raw is None:
        raise BadRequestData(f"attribute {name!r} has a null value")
    kind, principal_key, principal = _infer_type(raw)
    value = _check_principal(kind, principal, expand, name=name)
    instance: dict[str, Any] = {"type": kind, "value": value}
    if principal_key is not None:
        members: dict[str, Any] = raw  # type: ignore[assignment]
        _parse_members(
            instance,
            members,
            principal_key,
            expand,
            name=name,
            now=now,
            depth=depth,
            allow_null=allow_null,
        )
    instance["createdAt"] = now
    instance["modifiedAt"] = now
    return instance


def parse_fragment(
    raw: object, expand: Expand, *, name: str, kind: str, now: str
) -> dict[str, Any]:
    """Validate the fragment of a partial attribute update (§5.6.4) against an attribute of type
    ``kind``.

    Unlike :func:`parse_instance`, the principal content may be left out: a fragment can carry
    only metadata (``observedAt``, ``unitCode``...) or sub-attributes, which are merged into the
    stored instance. A sub-attribute set to NGSI-LD Null is kept as ``{"type": "Null"}`` so the
    merge removes it. The result has no ``value`` when the fragment had none.
    """
    if type(raw) is not dict:
        raise BadRequestData(f"the update of {name!r} must be a JSON object (an attribute)")
    if not raw:
        raise BadRequestData(f"the update of {name!r} is empty")
    given = raw.get("type")
    principal_key: str | None = None
    if given is not None:
        if given not in PRINCIPAL_KEY:
            raise BadRequestData(f"unknown attribute type {given!r}")
        kind = given
        principal_key = PRINCIPAL_KEY[kind] if PRINCIPAL_KEY[kind] in raw else None
    else:
        for key, inferred in TYPE_OF_KEY.items():
            if key in raw:
                principal_key = key
                kind = inferred
                if kind == "Property" and _is_geometry(raw[key]):
                    kind = "GeoProperty"
                break
    fragment: dict[str, Any] = {"type": kind}
    if principal_key is not None:
        fragment["value"] = _check_principal(kind, raw[principal_key], expand, name=name)
    _parse_members(
        fragment, raw, principal_key or "", expand, name=name, now=now, depth=0, allow_null=True
    )
    if len(fragment) == 1:
        raise BadRequestData(f"the update of {name!r} carries no value, metadata or sub-attribute")
    fragment["modifiedAt"] = now
    return fragment


def _parse_members(
    instance: dict[str, Any],
    raw: dict[str, Any],
    principal_key: str,
    expand: Expand,
    *,
    name: str,
    now: str,
    depth: int,
    allow_null: bool = False,
) -> None:
    """Validate the metadata and sub-attributes of an attribute into ``instance`` (§4.5.2)."""
    kind = instance["type"]
    for key, member in raw.items():
        if key == "type" or key == principal_key or key in SYSTEM_KEYS or key == "instanceId":
            continue
        if key == "observedAt":
            instance["observedAt"] = _check_datetime(member, f"{name}.observedAt")
        elif key == "unitCode":
            if not isinstance(member, str) or not member:
                raise BadRequestData(f"'{name}.unitCode' must be a non-empty string")
            instance["unitCode"] = member
        elif key == "datasetId":
            instance["datasetId"] = check_entity_id(member, where=f"{name}.datasetId")
        elif key == "lang":
            if kind != "Property" or not isinstance(member, str):
                raise BadRequestData(f"'{name}.lang' is only allowed on a string Property")
            instance["lang"] = member
        elif key in ("@context", "id", "@id") or key in PRINCIPAL_KEY.values():
            raise BadRequestData(f"attribute {name!r} may not contain {key!r}")
        else:
            if depth >= 4:
                raise BadRequestData(f"attribute {name!r} nests sub-attributes too deeply")
            check_name(key, what="sub-attribute name")
            if allow_null and is_null_attribute(member):
                instance[expand(key)] = {"type": "Null"}
                continue
            instance[expand(key)] = parse_instance(
                member, expand, name=f"{name}.{key}", now=now, depth=depth + 1
            )


def _null_marker(raw: object, name: str) -> dict[str, Any]:
    """The internal form of an NGSI-LD Null attribute: ``{"type": "Null"}`` and its datasetId."""
    marker: dict[str, Any] = {"type": "Null"}
    if type(raw) is dict and "datasetId" in raw:
        marker["datasetId"] = check_entity_id(raw["datasetId"], where=f"{name}.datasetId")
    return marker


def is_null_attribute(raw: object) -> bool:
    """Whether an attribute in a payload is NGSI-LD Null, which deletes it (§5.5.12).

    That is JSON null, the string ``urn:ngsi-ld:null``, or an attribute whose principal content is
    ``urn:ngsi-ld:null`` (``{"value": "urn:ngsi-ld:null"}``, ``{"object": ...}``,
    ``{"languageMap": {"@none": "urn:ngsi-ld:null"}}``, ``{"valueList": ["urn:ngsi-ld:null"]}``...).
    """
    if raw is None or raw == NGSI_LD_NULL:
        return True
    if type(raw) is not dict:
        return False
    for key in TYPE_OF_KEY:
        if key in raw:
            member = raw[key]
            return (
                member == NGSI_LD_NULL
                or member == [NGSI_LD_NULL]
                or (key == "languageMap" and member == {"@none": NGSI_LD_NULL})
            )
    return False


def _check_principal(kind: str, value: object, expand: Expand, *, name: str) -> object:
    if value is None:
        raise BadRequestData(f"attribute {name!r} has a null value")
    if kind == "Property":
        if type(value) is dict and "@value" in value:
            return value["@value"]
        return value
    if kind == "Relationship":
        objects = value if isinstance(value, list) else [value]
        if not objects or not all(is_uri(o) for o in objects):
            raise BadRequestData(f"Relationship {name!r}: 'object' must be a URI")
        return value
    if kind == "GeoProperty":
        return geo.validate_geojson(value, where=name)
    if kind == "LanguageProperty":
        if not isinstance(value, dict) or not value:
            raise BadRequestData(f"LanguageProperty {name!r}: 'languageMap' must be an object")
        for lang, text in value.items():
            if not _LANG_RE.match(lang):
                raise BadRequestData(f"LanguageProperty {name!r}: invalid language tag {lang!r}")
            texts = text if isinstance(text, list) else [text]
            if not all(isinstance(t, str) for t in texts):
                raise BadRequestData(f"LanguageProperty {name!r}: values must be strings")
        return value
    if kind == "ListProperty":
        if not isinstance(value, list):
            raise BadRequestData(f"ListProperty {name!r}: 'valueList' must be an array")
        return value
    if kind == "ListRelationship":
        items = value if isinstance(value, list) else None
        if items is None:
            raise BadRequestData(f"ListRelationship {name!r}: 'objectList' must be an array")
        objects = [i.get("object") if isinstance(i, dict) else i for i in items]
        if not all(is_uri(o) for o in objects):
            raise BadRequestData(f"ListRelationship {name!r}: every object must be a URI")
        return objects
    if kind == "VocabProperty":
        vocab = value if isinstance(value, list) else [value]
        if not vocab or not all(isinstance(v, str) and v for v in vocab):
            raise BadRequestData(f"VocabProperty {name!r}: 'vocab' must be a string or strings")
        expanded = [expand(v) for v in vocab]
        return expanded if isinstance(value, list) else expanded[0]
    if kind == "JsonProperty":
        if not isinstance(value, dict | list):
            raise BadRequestData(f"JsonProperty {name!r}: 'json' must be an object or array")
        return value
    return value


def _check_datetime(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequestData(f"'{where}' must be an ISO 8601 date-time string")
    try:
        parse_datetime(value)
    except ValueError:
        raise BadRequestData(f"'{where}' is not an ISO 8601 date-time: {value!r}") from None
    return value


def geo_instances(entity: Entity) -> Iterable[tuple[str, dict[str, Any]]]:
    """Every (attribute IRI, GeoJSON geometry) pair of an entity, for the spatial index."""
    for iri, instances in entity.attrs.items():
        for instance in instances:
            if instance.get("type") == "GeoProperty":
                yield iri, instance["value"]
