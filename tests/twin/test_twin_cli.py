"""The ``cityos twin`` commands: generate, export, load; bad input leaves the hub unchanged."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cityos.cli import app
from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.broker import EntityQuery

SMALL = ["--population", "1500", "--households", "700"]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYOS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYOS_DATABASE_URL", raising=False)
    return tmp_path


def _count(data_dir, kind: str) -> int:
    hub = open_hub(Settings(data_dir=data_dir))
    try:
        q = EntityQuery(type=kind, limit=0, count=True)
        return hub.query_entities(q, hub.context()).count
    finally:
        hub.storage.close()


def test_generate_exports_and_loads(data_dir):
    result = CliRunner().invoke(app, ["twin", "generate", "--seed", "5", *SMALL])
    assert result.exit_code == 0, result.output
    assert "Generated" in result.output and "Loaded" in result.output
    assert (data_dir / "twin" / "buildings.city.json").exists()
    assert (data_dir / "twin" / "gtfs" / "stop_times.txt").exists()
    assert _count(data_dir, "Person") == 1500
    assert _count(data_dir, "Household") == 700


def test_no_load_writes_only_exports(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    result = CliRunner().invoke(app, ["twin", "generate", *SMALL, "--no-load", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "roads.geojson").exists()
    assert not (data_dir / "hub.db").exists()


def test_bad_parameters_write_nothing(data_dir):
    result = CliRunner().invoke(app, ["twin", "generate", "--population", "-5"])
    assert result.exit_code == 2
    assert "population must not be negative" in result.output
    result = CliRunner().invoke(
        app, ["twin", "generate", "--population", "10", "--households", "20"]
    )
    assert result.exit_code == 2 and "cannot exceed people" in result.output
    assert not (data_dir / "hub.db").exists()
    assert not (data_dir / "twin").exists()


def test_import_osm_and_a_broken_file(data_dir, tmp_path):
    from test_osm_import import write_town

    town = write_town(tmp_path / "town.osm.pbf")
    result = CliRunner().invoke(app, ["twin", "import-osm", str(town), "--site", "Town"])
    assert result.exit_code == 0, result.output
    assert "Read 8 roads and 1 buildings" in result.output
    assert _count(data_dir, "RoadSegment") == 8
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0dgarbage")
    result = CliRunner().invoke(app, ["twin", "import-osm", str(bad)])
    assert result.exit_code == 2 and "cannot read OSM file" in result.output
    assert _count(data_dir, "RoadSegment") == 8  # unchanged


def test_a_storage_error_mid_load_leaves_the_hub_as_it_was(data_dir, monkeypatch):
    import sqlite3

    from cityos.hub.storage import sqlite as sqlite_storage

    first = CliRunner().invoke(app, ["twin", "generate", "--seed", "5", *SMALL])
    assert first.exit_code == 0, first.output
    real = sqlite_storage._SQLiteTransaction.insert
    calls = {"n": 0}

    def insert(self, entities):
        calls["n"] += 1
        if calls["n"] > 1:
            raise sqlite3.OperationalError("database or disk is full")
        real(self, entities)

    monkeypatch.setattr(sqlite_storage._SQLiteTransaction, "insert", insert)
    result = CliRunner().invoke(
        app, ["twin", "generate", "--seed", "6", "--population", "1600", "--households", "750"]
    )
    assert result.exit_code == 1
    assert "rolled back, the hub is unchanged" in result.output
    assert "database or disk is full" in result.output and calls["n"] == 2
    monkeypatch.setattr(sqlite_storage._SQLiteTransaction, "insert", real)
    assert _count(data_dir, "Person") == 1500  # seed 5's city, not a part of seed 6's
    assert _count(data_dir, "Household") == 700
