"""GeoJSON exports, one file per layer, and the whole export set of a generated city.

A feature's properties are the entity's attributes as key-values (the entity contract of
``docs/twin.md``), plus ``id`` and ``type``; geometries are the ``location`` in WGS84 (RFC 7946).
:func:`write_exports` writes every format: GeoJSON layers, CityJSON buildings, the GTFS feed,
the terrain (hillshade PNG, contours, DEM) and a manifest.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from cityos.twin.generator import City

#: Layer file name -> entity types in it.
LAYERS: dict[str, tuple[str, ...]] = {
    "buildings": ("Building",),
    "roads": ("RoadSegment",),
    "blocks": ("UrbanBlock",),
    "development_zones": ("DevelopmentZone",),
    "car_restricted_zone": ("CarRestrictedZone",),
    "natural_areas": ("NaturalArea",),
    "transit_stops": ("TransitStop",),
    "points_of_interest": ("PointOfInterest",),
    "parkings": ("OffStreetParking",),
    "devices": ("Device",),
}


def key_values(entity: dict[str, Any]) -> dict[str, Any]:
    """The attributes of a normalized entity as plain values (Relationships give their object)."""
    out: dict[str, Any] = {}
    for name, attr in entity.items():
        if name in ("id", "type", "@context") or not isinstance(attr, dict):
            continue
        out[name] = attr.get("value", attr.get("object"))
    return out


def feature(entity: dict[str, Any]) -> dict[str, Any]:
    """An entity with a ``location`` as a GeoJSON Feature."""
    props = key_values(entity)
    geometry = props.pop("location")
    return {
        "type": "Feature",
        "id": entity["id"],
        "geometry": geometry,
        "properties": {"id": entity["id"], "type": entity["type"], **props},
    }


def layers(entities: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Layer name -> FeatureCollection of that layer's entities."""
    out = {}
    for layer, types in LAYERS.items():
        features = [feature(e) for e in entities if e["type"] in types]
        out[layer] = {"type": "FeatureCollection", "features": features}
    return out


def write_geojson(entities: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write ``<layer>.geojson`` for every layer; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for layer, collection in layers(entities).items():
        path = out_dir / f"{layer}.geojson"
        path.write_bytes(orjson.dumps(collection))
        paths.append(path)
    return paths


def write_exports(city: City, entities: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write every export of ``city`` into ``out_dir``; returns the paths written.

    GeoJSON per layer, ``buildings.city.json`` (CityJSON 2.0, LoD1), ``gtfs/`` (BRT and
    shuttle feed), ``terrain/`` (``hillshade.png`` with ``hillshade.json`` bounds,
    ``contours.geojson``, ``dem.json``) and ``manifest.json`` (parameters and counts).
    """
    from cityos.twin import terrain
    from cityos.twin.export_cityjson import write_cityjson
    from cityos.twin.export_gtfs import write_gtfs
    from cityos.twin.generator import count_by_type, fingerprint

    out_dir = Path(out_dir)
    paths = write_geojson(entities, out_dir)
    paths.append(write_cityjson(city, out_dir / "buildings.city.json"))
    paths.extend(write_gtfs(city, out_dir / "gtfs"))
    terrain_dir = out_dir / "terrain"
    terrain_dir.mkdir(parents=True, exist_ok=True)
    png, bounds = terrain.hillshade_png(city.params)
    (terrain_dir / "hillshade.png").write_bytes(png)
    (terrain_dir / "hillshade.json").write_bytes(
        orjson.dumps({"bounds": bounds, "crs": "EPSG:4326"})
    )
    (terrain_dir / "contours.geojson").write_bytes(
        orjson.dumps(terrain.contours_geojson(city.params))
    )
    (terrain_dir / "dem.json").write_bytes(orjson.dumps(city.dem.to_dict()))
    paths += [
        terrain_dir / n for n in ("hillshade.png", "hillshade.json", "contours.geojson", "dem.json")
    ]
    manifest = {
        "site": city.params.site.name,
        "seed": city.params.seed,
        "population": city.params.population,
        "households": city.params.households,
        "fingerprint": fingerprint(city.params),
        "counts": count_by_type(entities),
        "files": sorted(str(p.relative_to(out_dir)) for p in paths),
    }
    (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    paths.append(out_dir / "manifest.json")
    return paths
