"""GeoJSON layers and the export set: the entity contract as files."""

from __future__ import annotations

import orjson
from PIL import Image

from cityos.twin.export_geojson import LAYERS, layers, write_exports


def test_every_spatial_entity_is_in_one_layer(entities):
    collections = layers(entities)
    assert set(collections) == set(LAYERS)
    spatial = [e for e in entities if "location" in e]
    assert sum(len(c["features"]) for c in collections.values()) == len(spatial)
    building = collections["buildings"]["features"][0]
    assert building["geometry"]["type"] == "Polygon"
    props = building["properties"]
    for name in (
        "height",
        "floorsAboveGround",
        "category",
        "useMix",
        "households",
        "roofArea",
        "builtYear",
        "name",
        "refBlock",
    ):
        assert name in props, name
    assert props["refBlock"].startswith("urn:ngsi-ld:UrbanBlock:Sejong51:")
    road = collections["roads"]["features"][0]["properties"]
    assert road["roadClass"] in {
        "arterial",
        "nationalRoad",
        "brt",
        "ring",
        "interior",
        "pedestrian",
        "pm",
        "footpath",
    }


def test_write_exports_writes_every_format(city, entities, tmp_path):
    paths = write_exports(city, entities, tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in paths}
    assert {f"{layer}.geojson" for layer in LAYERS} <= names
    assert {
        "buildings.city.json",
        "gtfs/stops.txt",
        "terrain/hillshade.png",
        "terrain/contours.geojson",
        "terrain/dem.json",
        "manifest.json",
    } <= names
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["counts"]["Person"] == 20_164 and manifest["seed"] == 51
    assert Image.open(tmp_path / "terrain" / "hillshade.png").format == "PNG"
    stops = orjson.loads((tmp_path / "transit_stops.geojson").read_bytes())
    assert (
        sorted(f["properties"]["stopKind"] for f in stops["features"])
        == ["brt"] * 2 + ["shuttle"] * 4
    )
