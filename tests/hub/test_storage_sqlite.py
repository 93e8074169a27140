"""The SQLite backend: durability, atomicity after a crash, migrations, persistence."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub, open_storage
from cityos.hub.storage.sqlite_schema import SCHEMA_VERSION

WRITER = textwrap.dedent(
    """
    import sys
    from cityos.core.settings import Settings
    from cityos.hub.backends import open_hub
    hub = open_hub(Settings(data_dir=sys.argv[1]))
    ctx = hub.context()
    batch = 0
    while True:
        entities = [
            {
                "id": f"urn:ngsi-ld:Sensor:{batch}-{i}",
                "type": "Sensor",
                "pm25": {"type": "Property", "value": i},
                "location": {"type": "GeoProperty",
                             "value": {"type": "Point", "coordinates": [127.3, 36.49]}},
            }
            for i in range(100)
        ]
        hub.batch_upsert(entities, ctx)
        batch += 1
        print(batch, flush=True)
    """
)


def test_killed_writer_leaves_whole_batches_only(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        for _ in range(5):  # let a few batches commit, then kill mid-stream
            assert process.stdout.readline()
        time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    conn = sqlite3.connect(tmp_path / "hub.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    entities = conn.execute("SELECT count(*) FROM entities").fetchone()[0]
    assert entities >= 500 and entities % 100 == 0
    types = conn.execute("SELECT count(*) FROM entity_types").fetchone()[0]
    boxes = conn.execute("SELECT count(*) FROM geo_rtree").fetchone()[0]
    assert types == entities and boxes == entities
    conn.close()
    hub = open_hub(Settings(data_dir=tmp_path))
    try:
        from cityos.hub.broker import EntityQuery

        page = hub.query_entities(EntityQuery(type="Sensor", count=True, limit=1), hub.context())
        assert page.count == entities
    finally:
        hub.storage.close()


def test_writes_survive_reopening(tmp_path):
    settings = Settings(data_dir=tmp_path)
    hub = open_hub(settings)
    hub.create_entity({"id": "urn:ngsi-ld:T:1", "type": "T", "a": {"value": 1}}, hub.context())
    hub.storage.close()
    reopened = open_hub(settings)
    try:
        assert reopened.retrieve("urn:ngsi-ld:T:1", reopened.context())["a"]["value"] == 1
    finally:
        reopened.storage.close()


def test_schema_is_versioned_and_newer_schemas_are_refused(tmp_path):
    path = tmp_path / "hub.db"
    storage = open_storage(f"sqlite:///{path}")
    storage.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this CityOS"):
        open_storage(f"sqlite:///{path}")


def test_in_memory_storage_works(tmp_path):
    storage = open_storage("sqlite:///:memory:")
    try:
        with storage.transaction("") as tx:
            assert tx.get(["urn:x:1"]) == {}
        assert storage.tenants() == [""]
    finally:
        storage.close()


@pytest.mark.parametrize("url", ["sqlite:///", "mysql://localhost/db", "nonsense"])
def test_bad_storage_urls(url):
    with pytest.raises(ValueError):
        open_storage(url)
