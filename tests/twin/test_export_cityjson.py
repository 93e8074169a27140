"""CityJSON 2.0 LoD1 export: structurally valid, closed solids, readable by cjio and by
cityjson-lib (an independent, strict CityJSON 2.0 reader). ``cjio validate`` itself cannot run
here: see docs/twin.md."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import cityjson_lib
import orjson
import pytest

from cityos.twin.export_cityjson import check_cityjson, cityjson, write_cityjson


@pytest.fixture(scope="module")
def document(city):
    return cityjson(city)


def _cjio() -> list[str]:
    return [str(Path(sys.executable).with_name("cjio"))]


def test_document_passes_the_checks(document, city):
    errors, warnings = check_cityjson(document)
    assert errors == [] and warnings == []
    assert document["version"] == "2.0"
    assert document["metadata"]["referenceSystem"].endswith("/EPSG/0/5186")
    assert len(document["CityObjects"]) == len(city.buildings)
    first = next(iter(document["CityObjects"].values()))
    geometry = first["geometry"][0]
    assert geometry["type"] == "Solid" and geometry["lod"] == "1"
    assert {s["type"] for s in geometry["semantics"]["surfaces"]} == {
        "GroundSurface",
        "RoofSurface",
        "WallSurface",
    }


def test_heights_follow_ground_and_building(document, city):
    scale = document["transform"]["scale"][2]
    base = document["transform"]["translate"][2]
    building = city.buildings[0]
    obj = document["CityObjects"][f"Sejong51-{building.key}"]
    indices = {i for face in obj["geometry"][0]["boundaries"][0] for ring in face for i in ring}
    zs = sorted({document["vertices"][i][2] * scale + base for i in indices})
    assert zs[0] == pytest.approx(building.ground_m, abs=0.01)
    assert zs[-1] - zs[0] == pytest.approx(building.height_m, abs=0.01)


def test_checker_catches_broken_files(document):
    broken = copy.deepcopy(document)
    obj = next(iter(broken["CityObjects"].values()))
    obj["geometry"][0]["boundaries"][0].pop()  # a missing wall: open shell
    errors, _ = check_cityjson(broken)
    assert any("not closed" in e for e in errors)
    broken = copy.deepcopy(document)
    next(iter(broken["CityObjects"].values()))["geometry"][0]["boundaries"][0][0][0][0] = 10**9
    assert any("out of range" in e for e in check_cityjson(broken)[0])
    broken = copy.deepcopy(document)
    broken["version"] = "1.1"
    broken["vertices"].append([0, 0, 0])
    errors, warnings = check_cityjson(broken)
    assert errors and warnings == ["1 unused vertices"]


def test_cjio_reads_the_file(city, tmp_path):
    path = write_cityjson(city, tmp_path / "buildings.city.json")
    result = subprocess.run(
        [*_cjio(), str(path), "info"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "CityJSON version = 2.0" in result.stdout
    assert "EPSG = 5186" in result.stdout
    assert f"Building ({len(city.buildings)})" in result.stdout
    from cjio import cityjson as cj

    with path.open() as fh:
        model = cj.reader(fh)
    assert model.get_version() == "2.0"
    assert model.get_epsg() == 5186
    assert len(model.j["CityObjects"]) == len(city.buildings)
    assert model.remove_duplicate_vertices() == 0  # cjio's own clean-up finds nothing to do
    assert orjson.loads(path.read_bytes())["type"] == "CityJSON"


def test_an_independent_cityjson_2_reader_accepts_the_file(document, city):
    model = cityjson_lib.CityModel.parse_document_bytes(orjson.dumps(document))
    summary = model.summary()
    assert summary.version == cityjson_lib.Version.V2_0 and summary.has_transform
    assert summary.cityobject_count == summary.geometry_count == len(city.buildings)
    assert summary.vertex_count == len(document["vertices"])
    assert summary.semantic_count == 3 * len(city.buildings)  # ground, roof, walls
    assert set(model.cityobject_ids()) == set(document["CityObjects"])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.update(vertices=d["vertices"][:10]), "out of range"),
        (lambda d: d.pop("version"), "must contain a version"),
        (lambda d: next(iter(d["CityObjects"].values())).update(type="Bilding"), "'Bilding'"),
    ],
)
def test_the_independent_reader_refuses_broken_files(document, damage, message):
    broken = copy.deepcopy(document)
    damage(broken)
    with pytest.raises(RuntimeError, match=message) as info:  # cityjson_lib's CjlibError
        cityjson_lib.CityModel.parse_document_bytes(orjson.dumps(broken))
    assert type(info.value).__name__ == "CjlibError"
    assert check_cityjson(broken)[0]  # our own checks refuse it too
