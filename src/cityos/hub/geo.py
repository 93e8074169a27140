"""GeoProperty validation, geo-queries and GeoJSON output for the context broker.

Geometries are GeoJSON geometry objects (IETF RFC 7946 §3.1) in WGS84 longitude/latitude degrees.
Supported types are Point, MultiPoint, LineString, MultiLineString, Polygon and MultiPolygon, the
six types a geo-query may name (ETSI GS CIM 009 §4.10); GeometryCollection is rejected because a
geo-query cannot express one and every stored geometry then has ``coordinates``.

Topological relations (within, contains, intersects, disjoint, equals, overlaps) are the DE-9IM
predicates evaluated on the longitude/latitude plane, as PostGIS ``geometry`` and GEOS do; edges are
straight in that plane and are not split at the antimeridian. The relation is read with the entity's
geometry first: ``within`` holds when the entity geometry lies within the query geometry and
``contains`` when the entity geometry contains it (§4.10). ``near`` distances are geodesic metres on
the WGS84 ellipsoid.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any
from urllib.parse import unquote

import shapely
from shapely.geometry import shape as _shape

from cityos.core.errors import BadRequestData
from cityos.hub import _geodesy

GEOMETRY_TYPES: tuple[str, ...] = tuple(_geodesy.DEPTH)
GEORELS: tuple[str, ...] = (
    "near",
    "within",
    "contains",
    "intersects",
    "disjoint",
    "equals",
    "overlaps",
)
DISTANCE_KINDS: tuple[str, ...] = ("maxDistance", "minDistance")

_GEOREL_LIST = ", ".join(GEORELS)
_TYPE_LIST = ", ".join(GEOMETRY_TYPES)
_TYPE_BY_NAME = {name.lower(): name for name in GEOMETRY_TYPES}
_DISTANCE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: GEOS prepared geometries are not thread-safe (libgeos/geos#825): their predicates take turns.
_PREPARED_LOCK = threading.Lock()


def _geometry(gtype: str, coordinates: object, path: str, where: str) -> dict[str, Any]:
    """Build a validated geometry; polygonal ones must also be valid per OGC Simple Features."""
    geometry = {"type": gtype, "coordinates": _geodesy.check_coordinates(gtype, coordinates, path)}
    if gtype in ("Polygon", "MultiPolygon"):
        polygon = to_shape(geometry)
        if not shapely.is_valid(polygon):
            reason = shapely.is_valid_reason(polygon)
            raise BadRequestData(f"{where}: {gtype} is not valid ({reason})")
    return geometry


def validate_geojson(obj: object, *, where: str = "value") -> dict[str, Any]:
    """Validate a GeoJSON geometry as found in a GeoProperty value (ETSI GS CIM 009 §4.7).

    Parameters
    ----------
    obj
        The decoded JSON value.
    where
        How to name the value in error messages, e.g. ``"location.value"``.

    Returns
    -------
    dict
        ``{"type": ..., "coordinates": ...}`` with nested lists and the numbers as given (integers
        stay integers). ``bbox`` and foreign members are dropped: bounding boxes are recomputed from
        the coordinates whenever needed.

    Raises
    ------
    BadRequestData
        Unknown type, malformed coordinates (nesting depth, non-numbers, longitude outside
        [-180, 180] or latitude outside [-90, 90] [deg], 2D mixed with 3D), a line with fewer
        than 2 distinct positions, an unclosed ring or one under 4 positions, or an invalid
        polygon (the GEOS reason is quoted).
    """
    if not isinstance(obj, dict):
        raise BadRequestData(f"{where} must be a GeoJSON geometry object, got {_geodesy.kind(obj)}")
    gtype = obj.get("type")
    if not isinstance(gtype, str) or gtype not in _geodesy.DEPTH:
        if gtype == "GeometryCollection":
            raise BadRequestData(f"{where}: GeometryCollection is not supported, use a Multi* type")
        if gtype is None:
            raise BadRequestData(f"{where}: GeoJSON geometry has no 'type'")
        raise BadRequestData(
            f"{where}: unknown geometry type {gtype!r}; expected one of {_TYPE_LIST}"
        )
    if "coordinates" not in obj:
        raise BadRequestData(f"{where}: {gtype} has no 'coordinates'")
    bbox = obj.get("bbox")
    if bbox is not None and not (
        isinstance(bbox, list)
        and len(bbox) in (4, 6)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
    ):
        raise BadRequestData(f"{where}.bbox must be an array of 4 or 6 numbers")
    return _geometry(gtype, obj["coordinates"], f"{where}.coordinates", where)


def plain_point(obj: object) -> dict[str, Any] | None:
    """The validated copy of a plain 2D GeoJSON Point (``{"type": "Point", "coordinates": [lon,
    lat]}`` with numbers in range and no other member), as :func:`validate_geojson` returns it;
    None for anything else, which :func:`validate_geojson` then checks (and explains)."""
    if type(obj) is not dict or len(obj) != 2 or obj.get("type") != "Point":
        return None
    position = obj.get("coordinates")
    if type(position) is not list or len(position) != 2:
        return None
    lon, lat = position
    lon_type, lat_type = type(lon), type(lat)
    if (lon_type is not float and lon_type is not int) or (
        lat_type is not float and lat_type is not int
    ):
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # also false for NaN
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def to_shape(geometry: dict[str, Any]) -> shapely.Geometry:
    """The shapely geometry of a validated GeoJSON geometry.

    Shapely geometries are immutable and hashable, so callers may cache the result freely.
    """
    if geometry["type"] == "Point":
        return shapely.Point(geometry["coordinates"])
    return _shape(geometry)


def bounding_box(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """``(min_lon, max_lon, min_lat, max_lat)`` [deg] of a validated geometry, without shapely."""
    return _geodesy.box_of(geometry["type"], geometry["coordinates"])


def _format_distance(distance_m: float) -> str:
    return str(int(distance_m)) if distance_m.is_integer() else repr(distance_m)


@dataclass(frozen=True)
class GeoQuery:
    """A geo-query (ETSI GS CIM 009 §4.10) on one GeoProperty of the entities.

    Parameters
    ----------
    georel
        One of :data:`GEORELS`.
    distance_kind
        ``"maxDistance"`` or ``"minDistance"`` for ``near``, None otherwise.
    distance_m
        The ``near`` distance [m], None otherwise.
    geometry
        The reference geometry (validated on construction).
    geoproperty
        The GeoProperty to test, as the attribute term was written (default ``location``).
    """

    georel: str
    distance_kind: str | None
    distance_m: float | None
    geometry: dict[str, Any] = field(hash=False)
    geoproperty: str = "location"

    def __post_init__(self) -> None:
        if self.georel not in GEORELS:
            raise BadRequestData(f"Unknown georel {self.georel!r}; expected one of {_GEOREL_LIST}")
        if self.georel == "near":
            if self.distance_kind not in DISTANCE_KINDS or self.distance_m is None:
                raise BadRequestData("georel 'near' needs maxDistance or minDistance")
            distance = float(self.distance_m)
            if not math.isfinite(distance) or distance < 0:
                raise BadRequestData(f"near distance must be a finite number >= 0, got {distance}")
            object.__setattr__(self, "distance_m", distance)
        elif self.distance_kind is not None or self.distance_m is not None:
            raise BadRequestData(f"georel {self.georel!r} takes no distance")
        object.__setattr__(self, "geometry", validate_geojson(self.geometry, where="geometry"))

    def __getstate__(self) -> dict[str, Any]:
        """Pickle and copy the fields only; the compiled shapes are rebuilt on demand."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def georel_expression(self) -> str:
        """The georel as written in a query, e.g. ``near;maxDistance==500``."""
        if self.georel != "near":
            return self.georel
        assert self.distance_m is not None
        return f"near;{self.distance_kind}=={_format_distance(self.distance_m)}"

    def to_object(self) -> dict[str, Any]:
        """The body form (``geoQ`` of subscriptions and POST /entityOperations/query)."""
        return {
            "geometry": self.geometry["type"],
            "coordinates": self.geometry["coordinates"],
            "georel": self.georel_expression,
            "geoproperty": self.geoproperty,
        }

    @cached_property
    def _box(self) -> tuple[float, float, float, float]:
        return bounding_box(self.geometry)

    @cached_property
    def _prepared(self) -> shapely.Geometry:
        geometry = to_shape(self.geometry)
        shapely.prepare(geometry)
        return geometry

    @cached_property
    def _points(self) -> list[list[float]] | None:
        gtype, coordinates = self.geometry["type"], self.geometry["coordinates"]
        if gtype == "Point":
            return [coordinates]
        return coordinates if gtype == "MultiPoint" else None

    @cached_property
    def _projected(self) -> tuple[float, float, shapely.Geometry]:
        points = self._points
        if points is not None and len(points) == 1:
            lon0, lat0 = float(points[0][0]), float(points[0][1])
        else:
            min_lon, max_lon, min_lat, max_lat = self._box
            lon0, lat0 = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
        return lon0, lat0, _geodesy.project(to_shape(self.geometry), lon0, lat0)

    def prefilter_box(self) -> tuple[float, float, float, float] | None:
        """A box every matching geometry's bounding box intersects (closed intervals).

        Returns
        -------
        tuple of float or None
            ``(min_lon, max_lon, min_lat, max_lat)`` [deg]: the query geometry's box, widened for
            near;maxDistance by the distance [m] converted to degrees (for longitude at the
            highest latitude reached). None when no box can prune: disjoint, near;minDistance, or a
            widened box that would reach a pole or cross the antimeridian.
        """
        if self.georel == "disjoint" or self.distance_kind == "minDistance":
            return None
        if self.georel == "near":
            assert self.distance_m is not None
            return _geodesy.search_box(self._box, self.distance_m)
        return self._box

    def distance_m_to(self, geometry: dict[str, Any]) -> float:
        """Geodesic distance [m] on WGS84 between a validated geometry and the query geometry.

        Point to point (and MultiPoint) distances are exact WGS84 geodesics. Other shapes are
        compared in the azimuthal equidistant projection centred on the query geometry, which is
        exact from the centre and overestimates by under 0.1 % within 300 km of it.
        """
        gtype, coordinates = geometry["type"], geometry["coordinates"]
        points = self._points
        if points is not None and gtype in ("Point", "MultiPoint"):
            if gtype == "Point" and len(points) == 1:
                here = points[0]
                return _geodesy.distance(here[0], here[1], coordinates[0], coordinates[1])
            return _geodesy.min_distance(points, [coordinates] if gtype == "Point" else coordinates)
        lon0, lat0, projected = self._projected
        other = _geodesy.project(to_shape(geometry), lon0, lat0)
        return float(shapely.distance(projected, other))

    def matches(self, geometry: dict[str, Any]) -> bool:
        """Whether an entity's validated geometry satisfies the query (ETSI GS CIM 009 §4.10).

        The entity geometry comes first: ``within`` means entity within query geometry,
        ``contains`` means entity contains query geometry; ``near;maxDistance==d`` means a
        geodesic distance <= d [m], ``near;minDistance==d`` a distance >= d [m].
        """
        georel = self.georel
        if georel == "near":
            distance = self.distance_m_to(geometry)
            assert self.distance_m is not None
            if self.distance_kind == "maxDistance":
                return distance <= self.distance_m
            return distance >= self.distance_m
        query = self._prepared
        if geometry["type"] == "Point" and georel in ("within", "intersects", "disjoint"):
            x, y = geometry["coordinates"][0], geometry["coordinates"][1]
            with _PREPARED_LOCK:
                if georel == "within":
                    return bool(shapely.contains_xy(query, x, y))
                hit = bool(shapely.intersects_xy(query, x, y))
            return hit if georel == "intersects" else not hit
        other = to_shape(geometry)
        with _PREPARED_LOCK:
            if georel == "within":
                return bool(shapely.contains(query, other))
            if georel == "contains":
                return bool(shapely.within(query, other))
            if georel == "intersects":
                return bool(shapely.intersects(query, other))
            if georel == "disjoint":
                return bool(shapely.disjoint(query, other))
            if georel == "overlaps":
                return bool(shapely.overlaps(query, other))
            return bool(shapely.equals(query, other))


def _decoded(value: str) -> str:
    """Undo percent-encoding left in a query parameter."""
    return unquote(value) if "%" in value else value


def _parse_georel(text: str) -> tuple[str, str | None, float | None]:
    """Split ``near;maxDistance==500`` into ``("near", "maxDistance", 500.0)``."""
    expression = _decoded(text).strip()
    name, separator, modifier = expression.partition(";")
    if name not in GEORELS:
        raise BadRequestData(f"Unknown georel {name!r}; expected one of {_GEOREL_LIST}")
    if name != "near":
        if separator:
            raise BadRequestData(
                f"georel {name!r} takes no modifier (got {expression!r}); "
                "only near accepts maxDistance/minDistance"
            )
        return name, None, None
    if not separator:
        raise BadRequestData(
            "georel 'near' needs a distance modifier, e.g. near;maxDistance==500 (metres)"
        )
    kind, equals, number = modifier.partition("==")
    kind, number = kind.strip(), number.strip()
    if kind not in DISTANCE_KINDS or not equals:
        raise BadRequestData(
            f"Invalid near modifier {modifier!r}: expected maxDistance==<metres> or "
            "minDistance==<metres>"
        )
    if not _DISTANCE.fullmatch(number):
        raise BadRequestData(f"near {kind} must be a number of metres, got {number!r}")
    distance = float(number)
    if distance < 0 or not math.isfinite(distance):
        raise BadRequestData(f"near {kind} must be a finite distance >= 0 metres, got {number}")
    return name, kind, distance


def parse_geoquery(
    georel: str | None,
    geometry: str | None,
    coordinates: str | list[Any] | None,
    geoproperty: str | None,
) -> GeoQuery | None:
    """Build a :class:`GeoQuery` from the HTTP query parameters (ETSI GS CIM 009 §6.4.3.2).

    Parameters
    ----------
    georel
        E.g. ``near;maxDistance==500`` (distance in metres) or ``within``.
    geometry
        The reference geometry type, e.g. ``Point`` (case-insensitive).
    coordinates
        The reference coordinates as a JSON array, as text (percent-encoded or not) or decoded.
    geoproperty
        The GeoProperty to test; defaults to ``location``.

    Returns
    -------
    GeoQuery or None
        None when georel, geometry and coordinates are all absent (geoproperty alone is ignored).

    Raises
    ------
    BadRequestData
        Only some of georel/geometry/coordinates given, unknown georel or geometry, near without
        a distance, a malformed or negative distance, a distance on another georel, coordinates
        that are not a JSON array or do not fit the geometry type.
    """
    given = {"georel": georel, "geometry": geometry, "coordinates": coordinates}
    missing = [name for name, value in given.items() if value is None]
    if len(missing) == len(given):
        return None
    if missing:
        raise BadRequestData(
            f"Incomplete geo-query: {' and '.join(missing)} missing; georel, geometry and "
            "coordinates go together (ETSI GS CIM 009 §4.10)"
        )
    assert georel is not None and geometry is not None and coordinates is not None
    if not isinstance(georel, str) or not isinstance(geometry, str):
        raise BadRequestData("georel and geometry must be strings")
    name, kind, distance = _parse_georel(georel)
    gtype = _TYPE_BY_NAME.get(_decoded(geometry).strip().lower())
    if gtype is None:
        raise BadRequestData(f"Unsupported geometry {geometry!r}; expected one of {_TYPE_LIST}")
    if isinstance(coordinates, str):
        try:
            coordinates = json.loads(_decoded(coordinates))
        except ValueError as exc:
            raise BadRequestData(f"coordinates is not a JSON array: {exc}") from None
    if not isinstance(coordinates, list):
        raise BadRequestData(f"coordinates must be a JSON array, got {_geodesy.kind(coordinates)}")
    if geoproperty is None:
        geoproperty = "location"
    elif not isinstance(geoproperty, str) or not geoproperty.strip():
        raise BadRequestData("geoproperty must be a non-empty attribute name")
    reference = _geometry(gtype, coordinates, "coordinates", "coordinates")
    return GeoQuery(name, kind, distance, reference, geoproperty.strip())


def parse_geoquery_object(obj: dict[str, Any]) -> GeoQuery:
    """Build a :class:`GeoQuery` from its body form (``geoQ``, ETSI GS CIM 009 §5.2.13).

    ``{"geometry": "Point", "coordinates": [127.3, 36.49], "georel": "near;maxDistance==500",
    "geoproperty": "location"}``; coordinates may also be a JSON array in a string.

    Raises
    ------
    BadRequestData
        Not an object, a member missing or of the wrong type, or any error of
        :func:`parse_geoquery`.
    """
    if not isinstance(obj, dict):
        raise BadRequestData(f"geoQ must be a JSON object, got {_geodesy.kind(obj)}")
    for member, kinds in (("georel", str), ("geometry", str), ("coordinates", str | list)):
        if member not in obj:
            raise BadRequestData(f"geoQ.{member} is missing")
        if not isinstance(obj[member], kinds):
            raise BadRequestData(f"geoQ.{member} has the wrong type ({_geodesy.kind(obj[member])})")
    geoproperty = obj.get("geoproperty")
    if geoproperty is not None and not isinstance(geoproperty, str):
        raise BadRequestData(f"geoQ.geoproperty must be a string, got {_geodesy.kind(geoproperty)}")
    query = parse_geoquery(obj["georel"], obj["geometry"], obj["coordinates"], geoproperty)
    assert query is not None
    return query


def feature(
    entity_id: str,
    entity_type: str | list[str],
    geometry: dict[str, Any] | None,
    properties: dict[str, Any],
    *,
    context: object = None,
) -> dict[str, Any]:
    """An entity as a GeoJSON Feature (ETSI GS CIM 009 §4.5.16).

    Parameters
    ----------
    entity_id, entity_type
        The entity's ``id`` and ``type``; the type goes into ``properties.type``.
    geometry
        The value of the selected GeoProperty (``geometryProperty``, default ``location``), or
        None when the entity lacks it: ``"geometry": null`` is valid GeoJSON.
    properties
        The entity's attributes already rendered (normalized, concise or keyValues); ``id``,
        ``type`` and ``@context`` members in it are ignored.
    context
        The ``@context`` for a Feature returned on its own; leave None inside a collection.
    """
    body: dict[str, Any] = {"type": entity_type}
    body.update((k, v) for k, v in properties.items() if k not in ("id", "type", "@context"))
    result: dict[str, Any] = {"id": entity_id, "type": "Feature", "geometry": geometry}
    result["properties"] = body
    if context is not None:
        result["@context"] = context
    return result


def feature_collection(features: list[dict[str, Any]], *, context: object = None) -> dict[str, Any]:
    """Entities as a GeoJSON FeatureCollection (ETSI GS CIM 009 §4.5.16).

    The ``@context``, when given, is carried once at the top level of the collection.
    """
    result: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if context is not None:
        result["@context"] = context
    return result
