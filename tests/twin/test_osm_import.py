"""Importing another city from OpenStreetMap: a PBF written here with pyosmium."""

from __future__ import annotations

from pathlib import Path

import osmium
import pytest
from osmium.osm.mutable import Node, Way

from cityos.hub.broker import EntityQuery
from cityos.twin.loader import load_entities
from cityos.twin.osm_import import OsmImportError, read_osm

LON, LAT = 126.978, 37.566  # an old town centre: the same system must fit it (MISSION §6.13)
STEP = 0.0009  # ~80-100 m


def write_town(path: Path) -> Path:
    """A 4 x 4 street grid with a main road, a footway, two buildings and two odd ways."""
    with osmium.SimpleWriter(str(path)) as writer:
        nid = 1
        grid = {}
        for i in range(4):
            for j in range(4):
                grid[i, j] = nid
                writer.add_node(Node(id=nid, location=(LON + i * STEP, LAT + j * STEP)))
                nid += 1
        corners = [
            (LON + 0.0002, LAT + 0.0002),
            (LON + 0.0006, LAT + 0.0002),
            (LON + 0.0006, LAT + 0.0005),
            (LON + 0.0002, LAT + 0.0005),
        ]
        bowtie = [
            (LON + 0.0012, LAT + 0.0012),
            (LON + 0.0016, LAT + 0.0016),
            (LON + 0.0016, LAT + 0.0012),
            (LON + 0.0012, LAT + 0.0016),
        ]
        first = nid
        for lon, lat in corners + bowtie:
            writer.add_node(Node(id=nid, location=(lon, lat)))
            nid += 1
        wid = 100
        for j in range(4):
            tags = (
                {"highway": "primary", "name": "Main Road", "maxspeed": "50", "lanes": "4"}
                if j == 0
                else {"highway": "residential"}
            )
            writer.add_way(Way(id=wid, nodes=[grid[i, j] for i in range(4)], tags=tags))
            wid += 1
        for i in range(4):
            writer.add_way(
                Way(
                    id=wid,
                    nodes=[grid[i, j] for j in range(4)],
                    tags={"highway": "footway" if i == 3 else "tertiary", "maxspeed": "20 mph"},
                )
            )
            wid += 1
        writer.add_way(
            Way(id=wid, nodes=[grid[0, 0], grid[1, 1]], tags={"highway": "construction"})
        )
        writer.add_way(
            Way(
                id=wid + 1,
                nodes=[first, first + 1, first + 2, first + 3, first],
                tags={
                    "building": "apartments",
                    "building:levels": "12",
                    "name": "Block A",
                    "start_date": "1998",
                },
            )
        )
        writer.add_way(
            Way(
                id=wid + 2,
                nodes=[first + 4, first + 5, first + 6, first + 7, first + 4],
                tags={"building": "yes"},
            )
        )
    return path


def test_roads_and_buildings_become_entities(tmp_path):
    result = read_osm(write_town(tmp_path / "town.osm.pbf"), site="Town")
    roads = [e for e in result.entities if e["type"] == "RoadSegment"]
    buildings = [e for e in result.entities if e["type"] == "Building"]
    assert len(roads) == 8 and len(buildings) == 1
    assert result.skipped == {"highway=construction": 1, "invalid building polygon": 1}
    main = next(r for r in roads if r.get("name", {}).get("value") == "Main Road")
    assert main["roadClass"]["value"] == "arterial"
    assert main["maximumAllowedSpeed"]["value"] == 50 and main["totalLaneNumber"]["value"] == 4
    assert {r["roadClass"]["value"] for r in roads} == {"arterial", "interior", "footpath"}
    footway = next(r for r in roads if r["roadClass"]["value"] == "footpath")
    assert footway["maximumAllowedSpeed"]["value"] == pytest.approx(32.2, abs=0.1)  # 20 mph
    block = buildings[0]
    assert block["id"] == "urn:ngsi-ld:Building:Town:osm-w109"
    assert block["floorsAboveGround"]["value"] == 12
    assert block["height"]["value"] == 36.0
    assert block["builtYear"]["value"] == 1998
    assert block["useMix"]["value"] == {"living": 1.0, "social": 0.0, "public": 0.0}
    assert 1000 < block["roofArea"]["value"] < 1500  # ~36 m x 33 m
    assert block["location"]["value"]["type"] == "Polygon"


def test_imported_city_loads_into_the_hub(hub, tmp_path):
    result = read_osm(write_town(tmp_path / "town.osm.pbf"), site="Town")
    report = load_entities(hub, result.entities)
    assert report.written == report.created == 9
    page = hub.query_entities(EntityQuery(type="RoadSegment", count=True), hub.context())
    assert page.count == 8


def test_a_broken_pbf_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0dnot a protobuf block at all")
    with pytest.raises(OsmImportError, match=r"cannot read OSM file 'broken\.osm\.pbf'"):
        read_osm(bad)
    with pytest.raises(OsmImportError, match="does not exist"):
        read_osm(tmp_path / "missing.osm.pbf")


@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_a_truncated_pbf_fails_before_any_write(hub, tmp_path, keep):
    town = write_town(tmp_path / "town.osm.pbf")
    load_entities(hub, read_osm(town, site="Town").entities)
    before = sorted(e.id for e in hub.storage.iter_entities(""))
    data = town.read_bytes()
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(data[: int(len(data) * keep)])  # the file ends in the middle of a block
    with pytest.raises(OsmImportError, match="unexpected EOF"):
        read_osm(cut, site="Cut")
    assert sorted(e.id for e in hub.storage.iter_entities("")) == before
