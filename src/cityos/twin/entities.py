"""The entity contract: the generated city as normalized NGSI-LD entities (core @context).

Types and attributes are documented in ``docs/twin.md``; the 3-D map is built against exactly
these names. Every spatial entity has a ``location`` GeoProperty in WGS84 (coordinates rounded to
1e-7 degrees, ~1 cm); households and persons are pseudonymous and carry no location.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry import LineString, Polygon
from shapely.geometry.polygon import orient

from cityos.twin.amenities import Amenity
from cityos.twin.names_ko import korean_name
from cityos.twin.site import LocalFrame

if TYPE_CHECKING:
    from cityos.twin.generator import City

#: Decimal places of WGS84 coordinates.
COORD_DECIMALS = 7


def urn(kind: str, site: str, key: str) -> str:
    """The id of a generated entity: ``urn:ngsi-ld:<kind>:<site>:<key>``."""
    return f"urn:ngsi-ld:{kind}:{site}:{key}"


def prop(value: Any, unit: str | None = None) -> dict[str, Any]:
    """A normalized Property (with a UN/CEFACT ``unitCode`` if given)."""
    out: dict[str, Any] = {"type": "Property", "value": value}
    if unit:
        out["unitCode"] = unit
    return out


def rel(target: str) -> dict[str, Any]:
    """A normalized Relationship."""
    return {"type": "Relationship", "object": target}


def geo(geometry: dict[str, Any]) -> dict[str, Any]:
    """A normalized GeoProperty."""
    return {"type": "GeoProperty", "value": geometry}


def _coords(frame: LocalFrame, xy: Any) -> list[list[float]]:
    return np.round(frame.to_wgs84(np.asarray(xy, dtype=float)), COORD_DECIMALS).tolist()


def polygon_geojson(frame: LocalFrame, polygon: Polygon) -> dict[str, Any]:
    """A local polygon as a WGS84 GeoJSON Polygon (exterior counter-clockwise, RFC 7946)."""
    polygon = orient(polygon, 1.0)
    rings = [_coords(frame, polygon.exterior.coords)]
    rings += [_coords(frame, ring.coords) for ring in polygon.interiors]
    return {"type": "Polygon", "coordinates": rings}


def line_geojson(frame: LocalFrame, line: LineString) -> dict[str, Any]:
    """A local line as a WGS84 GeoJSON LineString."""
    return {"type": "LineString", "coordinates": _coords(frame, line.coords)}


def point_geojson(frame: LocalFrame, x: float, y: float) -> dict[str, Any]:
    """A local point as a WGS84 GeoJSON Point."""
    return {"type": "Point", "coordinates": _coords(frame, [[x, y]])[0]}


def to_entities(city: City) -> list[dict[str, Any]]:
    """Every entity of the city, in a stable order (places first, then people)."""
    f, site = city.frame, city.params.site.name
    out: list[dict[str, Any]] = []
    out.append(
        {
            "id": urn("CarRestrictedZone", site, "Ring"),
            "type": "CarRestrictedZone",
            "name": prop("Car-restricted zone (ring interior)"),
            "location": geo(polygon_geojson(f, city.zone.polygon)),
            "rules": prop(dict(city.zone.rules)),
            "gates": geo({"type": "MultiPoint", "coordinates": _coords(f, city.zone.gates)}),
            "area": prop(round(city.zone.polygon.area, 1), "MTK"),
        }
    )
    for z in city.zones:
        out.append(
            {
                "id": urn("DevelopmentZone", site, z.key),
                "type": "DevelopmentZone",
                "name": prop(z.name),
                "location": geo(polygon_geojson(f, z.polygon)),
            }
        )
    for a in city.nature:
        out.append(
            {
                "id": urn("NaturalArea", site, a.key),
                "type": "NaturalArea",
                "name": prop(a.name),
                "category": prop([a.category]),
                "location": geo(polygon_geojson(f, a.polygon)),
            }
        )
    for b in city.blocks:
        out.append(
            {
                "id": urn("UrbanBlock", site, b.key),
                "type": "UrbanBlock",
                "location": geo(polygon_geojson(f, b.polygon)),
                "useMix": prop(dict(b.use_mix)),
                "floorArea": prop(b.floor_area_m2, "MTK"),
                "blockKind": prop(b.kind),
                "insideRing": prop(b.inside_ring),
                "refDevelopmentZone": rel(urn("DevelopmentZone", site, b.zone_key)),
            }
        )
    for r in city.roads:
        out.append(
            {
                "id": urn("RoadSegment", site, r.key),
                "type": "RoadSegment",
                "name": prop(r.name),
                "location": geo(line_geojson(f, r.line)),
                "roadClass": prop(r.road_class),
                "width": prop(r.width_m, "MTR"),
                "totalLaneNumber": prop(r.lanes),
                "maximumAllowedSpeed": prop(r.speed_kmh, "KMH"),
                "allowedVehicleType": prop(list(_allowed(city, r))),
                "length": prop(round(r.line.length, 1), "MTR"),
                "insideRing": prop(r.inside_ring),
                **_korean(r.name),
            }
        )
    for b in city.buildings:
        entity = {
            "id": urn("Building", site, b.key),
            "type": "Building",
            "name": prop(b.name),
            "location": geo(polygon_geojson(f, b.polygon)),
            "height": prop(b.height_m, "MTR"),
            "floorsAboveGround": prop(b.floors),
            "category": prop(list(b.category)),
            "useMix": prop(dict(b.use_mix)),
            "households": prop(b.households),
            "roofArea": prop(round(b.footprint_m2, 1), "MTK"),
            "builtYear": prop(b.built_year),
            "groundElevation": prop(round(b.ground_m, 2), "MTR"),
            "refBlock": rel(urn("UrbanBlock", site, b.block_key)),
        }
        if b.facility:
            entity["facility"] = prop(b.facility)
            entity.update(_korean(b.name))
        out.append(entity)
    for a in city.amenities:
        out.append(_amenity(city, a))
    pop = city.population
    for hh in pop.households:
        out.append(
            {
                "id": hh.id,
                "type": "Household",
                "size": prop(hh.size),
                "insideRing": prop(hh.inside_ring),
                "refBuilding": rel(urn("Building", site, hh.building_key)),
            }
        )
    for p in pop.persons:
        entity = {
            "id": p.id,
            "type": "Person",
            "age": prop(p.age),
            "occupation": prop(p.occupation),
            "refHousehold": rel(pop.households[p.household].id),
        }
        if p.workplace_key:
            entity["refWorkplace"] = rel(urn("Building", site, p.workplace_key))
        if p.workplace_name:
            entity["workplaceName"] = prop(p.workplace_name)
        if p.persona:
            entity["persona"] = prop(p.persona)
        for name, value in p.extra.items():
            entity[name] = prop(value)
        out.append(entity)
    return out


def _korean(name: str) -> dict[str, Any]:
    """``alternateName``: the Korean name of a named place, when it has one."""
    found = korean_name(name)
    return {"alternateName": prop(found)} if found else {}


def _allowed(city: City, road: Any) -> tuple[str, ...]:
    """Vehicle types of a road, less those the zone bans if the road lies in the zone."""
    mid = road.line.interpolate(0.5, normalized=True)
    if road.road_class == "ring" or not city.zone.polygon.contains(mid):
        return road.vehicles
    return tuple(v for v in road.vehicles if city.zone.rule(v) != "banned")


def _amenity(city: City, a: Amenity) -> dict[str, Any]:
    site = city.params.site.name
    entity: dict[str, Any] = {
        "id": urn(a.kind, site, a.key),
        "type": a.kind,
        "name": prop(a.name),
        "location": geo(point_geojson(city.frame, a.x, a.y)),
    }
    if a.kind in ("TransitStop", "OffStreetParking"):
        entity.update(_korean(a.name))
    if a.kind == "TransitStop":
        entity["stopKind"] = prop(a.category)
    else:
        entity["category"] = prop([a.category])
    for name, value in a.attrs.items():
        if name == "refDevice":
            entity[name] = rel(urn("Device", site, str(value)))
        elif name == "refBuilding":
            entity[name] = rel(urn("Building", site, str(value)))
        else:
            entity[name] = prop(value)
    return entity
