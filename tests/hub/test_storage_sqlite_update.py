"""Updates in the SQLite backend keep the type rows and the spatial index in step with entities."""

from __future__ import annotations

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.broker import EntityQuery
from cityos.hub.geo import GeoQuery
from cityos.hub.model import parse_entity

LATER = "2030-01-01T00:00:00Z"


def _sensor(i: int, kind: str | list[str], lon: float) -> dict:
    return {
        "id": f"urn:ngsi-ld:Sensor:{i}",
        "type": kind,
        "pm25": {"type": "Property", "value": i},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, 36.5]}},
    }


def _near(lon: float) -> GeoQuery:
    return GeoQuery(
        georel="near",
        distance_kind="maxDistance",
        distance_m=1000.0,
        geometry={"type": "Point", "coordinates": [lon, 36.5]},
    )


def _rtree(hub) -> list[tuple[float, float]]:
    """The longitudes boxed in the R*Tree, by entity row (rounded: the R*Tree keeps float32)."""
    with hub.storage.read() as conn:
        rows = conn.execute("SELECT min_lon, max_lon FROM geo_rtree ORDER BY rid").fetchall()
    return [(round(a, 3), round(b, 3)) for a, b in rows]


def _ids(hub, ctx, **query) -> list[str]:
    return sorted(e.id for e in hub.query_entities(EntityQuery(**query), ctx).entities)


def test_upserts_with_same_and_changed_types(tmp_path) -> None:
    hub = open_hub(Settings(data_dir=tmp_path))
    ctx = hub.context()
    try:
        assert not hub.batch_upsert([_sensor(i, "Sensor", 127.0) for i in range(4)], ctx).errors
        changed = [
            _sensor(0, "Sensor", 127.0),  # types unchanged
            _sensor(1, "Camera", 127.0),  # types replaced
            _sensor(2, ["Sensor", "Camera"], 127.0),  # a type added
            _sensor(3, "Sensor", 127.1),  # moved
        ]
        result = hub.batch_upsert(changed, ctx)
        assert not result.errors and not result.created
        assert _ids(hub, ctx, type="Sensor") == [
            "urn:ngsi-ld:Sensor:0",
            "urn:ngsi-ld:Sensor:2",
            "urn:ngsi-ld:Sensor:3",
        ]
        assert _ids(hub, ctx, type="Camera") == ["urn:ngsi-ld:Sensor:1", "urn:ngsi-ld:Sensor:2"]
        counts = hub.storage.type_counts(hub.storage.tenants()[0])
        assert sorted(counts.values()) == [2, 3]
        near = GeoQuery(
            georel="near",
            distance_kind="maxDistance",
            distance_m=1000.0,
            geometry={"type": "Point", "coordinates": [127.1, 36.5]},
        )
        assert _ids(hub, ctx, type="Sensor", geo=near) == ["urn:ngsi-ld:Sensor:3"]
        assert _ids(hub, ctx, geo=_near(127.0)) == [f"urn:ngsi-ld:Sensor:{i}" for i in range(3)]
        assert _rtree(hub) == [(127.0, 127.0)] * 3 + [(127.1, 127.1)]
        hub.batch_upsert([_sensor(1, "Sensor", 127.0)], ctx)  # back to the first type
        assert _ids(hub, ctx, type="Camera") == ["urn:ngsi-ld:Sensor:2"]
        assert len(_ids(hub, ctx, type="Sensor")) == 4
    finally:
        hub.storage.close()


def test_moving_back_and_forth_in_one_transaction(tmp_path) -> None:
    hub = open_hub(Settings(data_dir=tmp_path))
    ctx = hub.context()
    try:
        hub.batch_upsert([_sensor(i, "Sensor", 127.0) for i in range(3)], ctx)
        tenant = hub.storage.tenants()[0]
        with hub.storage.transaction(tenant) as tx:
            stored = tx.get(["urn:ngsi-ld:Sensor:1"])["urn:ngsi-ld:Sensor:1"]
            away = parse_entity(_sensor(1, "Sensor", 127.2), ctx.expand_term, now=LATER)
            away.created_at = stored.created_at
            tx.update([away])
            back = parse_entity(_sensor(1, "Sensor", 127.0), ctx.expand_term, now=LATER)
            back.created_at = stored.created_at
            tx.update([back])  # the same boxes as before the transaction, re-indexed again
            tx.update([back])  # unchanged since the last update: left as they are
        assert _rtree(hub) == [(127.0, 127.0)] * 3
        assert _ids(hub, ctx, geo=_near(127.2)) == []
        assert len(_ids(hub, ctx, geo=_near(127.0))) == 3
        hub.delete_entity("urn:ngsi-ld:Sensor:1")
        assert _rtree(hub) == [(127.0, 127.0)] * 2
    finally:
        hub.storage.close()
