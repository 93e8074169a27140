"""Import another city from an OpenStreetMap extract (``.osm.pbf``) with pyosmium.

Ways tagged ``highway=*`` become ``RoadSegment`` entities and closed ways tagged ``building=*``
become ``Building`` entities, with the attributes of the twin's entity contract (``docs/twin.md``)
taken from OSM tags where present (``width``, ``lanes``, ``maxspeed``, ``height``,
``building:levels``, ``start_date``, ``name``) and from class defaults otherwise. The whole file is
read and converted before anything is written, so a broken file leaves the hub unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import osmium
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Polygon
from shapely.geometry.polygon import orient

from cityos.core.errors import BadRequestData
from cityos.twin.entities import COORD_DECIMALS, geo, prop
from cityos.twin.roads import CLASSES

#: OSM ``highway`` values -> road class of the entity contract.
HIGHWAY_CLASSES: dict[str, str] = {
    **dict.fromkeys(("motorway", "motorway_link", "trunk", "trunk_link"), "nationalRoad"),
    **dict.fromkeys(("primary", "primary_link", "secondary", "secondary_link"), "arterial"),
    **dict.fromkeys(("busway", "bus_guideway"), "brt"),
    **dict.fromkeys(
        ("tertiary", "tertiary_link", "unclassified", "residential", "service", "road"), "interior"
    ),
    **dict.fromkeys(("pedestrian", "living_street"), "pedestrian"),
    "cycleway": "pm",
    **dict.fromkeys(("footway", "path", "steps", "track", "bridleway"), "footpath"),
}
#: OSM ``building`` values -> (living, social, public) shares.
_USES: dict[str, tuple[float, float, float]] = {
    **dict.fromkeys(
        ("residential", "apartments", "house", "detached", "terrace", "dormitory", "bungalow"),
        (1.0, 0.0, 0.0),
    ),
    **dict.fromkeys(
        ("commercial", "retail", "office", "industrial", "warehouse", "hotel", "supermarket"),
        (0.0, 1.0, 0.0),
    ),
    **dict.fromkeys(
        (
            "school",
            "university",
            "kindergarten",
            "hospital",
            "civic",
            "public",
            "government",
            "church",
            "fire_station",
        ),
        (0.0, 0.0, 1.0),
    ),
}
_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(m|mph|km/h|kmh)?\s*$")
_GEOD = Geod(ellps="WGS84")


class OsmImportError(BadRequestData):
    """The OSM file cannot be read; nothing was imported."""


@dataclass
class OsmImport:
    """Entities converted from an OSM file, and the ways skipped with the reason."""

    entities: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        """Count a skipped way."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _number(text: str | None) -> tuple[float, str | None] | None:
    if not text:
        return None
    match = _NUMBER.match(text.split(";")[0])
    return (float(match.group(1)), match.group(2)) if match else None


def _speed(text: str | None, default: float) -> float:
    parsed = _number(text)
    if parsed is None:
        return default
    value, unit = parsed
    return round(value * 1.609344, 1) if unit == "mph" else value


def read_osm(path: str | Path, *, site: str = "osm") -> OsmImport:
    """Convert the roads and buildings of an ``.osm.pbf`` (or ``.osm``) file into entities.

    Raises
    ------
    OsmImportError
        If the file is missing or not a readable OSM file.
    """
    path = Path(path)
    if not path.is_file():
        raise OsmImportError(f"OSM file {str(path)!r} does not exist")
    result = OsmImport()
    try:
        processor = osmium.FileProcessor(str(path)).with_locations()
        processor = processor.with_filter(osmium.filter.KeyFilter("highway", "building"))
        for obj in processor:
            if obj.is_way():
                _convert_way(obj, site, result)
    except RuntimeError as exc:
        raise OsmImportError(f"cannot read OSM file {path.name!r}: {exc}") from None
    return result


def _convert_way(way: Any, site: str, result: OsmImport) -> None:
    tags = dict(way.tags)
    try:
        coords = [(round(n.lon, COORD_DECIMALS), round(n.lat, COORD_DECIMALS)) for n in way.nodes]
    except osmium.InvalidLocationError:
        result.skip("missing node locations")
        return
    if "building" in tags and way.is_closed() and len(coords) >= 4:
        _building(way.id, coords, tags, site, result)
    elif "highway" in tags:
        cls = HIGHWAY_CLASSES.get(tags["highway"])
        if cls is None:
            result.skip(f"highway={tags['highway']}")
        elif len(set(coords)) < 2:
            result.skip("degenerate line")
        else:
            _road(way.id, coords, cls, tags, site, result)
    else:
        result.skip("open building way")


def _road(
    osm_id: int, coords: list, cls: str, tags: dict[str, str], site: str, result: OsmImport
) -> None:
    design = CLASSES[cls]
    width = _number(tags.get("width"))
    lanes = _number(tags.get("lanes"))
    line = LineString(coords)
    entity = {
        "id": f"urn:ngsi-ld:RoadSegment:{site}:osm-w{osm_id}",
        "type": "RoadSegment",
        "location": geo({"type": "LineString", "coordinates": [list(c) for c in coords]}),
        "roadClass": prop(cls),
        "width": prop(width[0] if width else design.width_m, "MTR"),
        "totalLaneNumber": prop(int(lanes[0]) if lanes else design.lanes),
        "maximumAllowedSpeed": prop(_speed(tags.get("maxspeed"), design.speed_kmh), "KMH"),
        "allowedVehicleType": prop(list(design.vehicles)),
        "length": prop(round(_GEOD.geometry_length(line), 1), "MTR"),
        "osmHighway": prop(tags["highway"]),
    }
    if tags.get("name"):
        entity["name"] = prop(tags["name"])
    result.entities.append(entity)


def _building(
    osm_id: int, coords: list, tags: dict[str, str], site: str, result: OsmImport
) -> None:
    polygon = Polygon(coords)
    if not polygon.is_valid or polygon.area == 0:
        result.skip("invalid building polygon")
        return
    polygon = orient(polygon, 1.0)
    kind = tags["building"]
    levels = _number(tags.get("building:levels"))
    height = _number(tags.get("height"))
    floors = int(levels[0]) if levels else (max(1, round(height[0] / 3.0)) if height else 1)
    living, social, public = _USES.get(kind, (0.5, 0.5, 0.0))
    area = abs(_GEOD.geometry_area_perimeter(polygon)[0])
    entity: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Building:{site}:osm-w{osm_id}",
        "type": "Building",
        "location": geo(
            {
                "type": "Polygon",
                "coordinates": [
                    [list(c) for c in shapely.get_coordinates(polygon.exterior).tolist()]
                ],
            }
        ),
        "height": prop(round(height[0] if height else floors * 3.0, 1), "MTR"),
        "floorsAboveGround": prop(floors),
        "category": prop(["building" if kind == "yes" else kind]),
        "useMix": prop({"living": living, "social": social, "public": public}),
        "households": prop(int(area * floors * living / 85.0)),
        "roofArea": prop(round(area, 1), "MTK"),
        "name": prop(tags.get("name") or f"OSM building {osm_id}"),
    }
    year = re.match(r"^\s*(\d{4})", tags.get("start_date", ""))
    if year:
        entity["builtYear"] = prop(int(year.group(1)))
    result.entities.append(entity)
