"""Loading into the hub: everything, or nothing (validation first, roll back on failure)."""

from __future__ import annotations

import pytest

from cityos.core.errors import BadRequestData
from cityos.hub.broker import EntityQuery
from cityos.hub.hookspecs import hookimpl
from cityos.twin.loader import TwinLoadError, load_entities


def _count(hub, kind: str) -> int:
    return hub.query_entities(EntityQuery(type=kind, limit=0, count=True), hub.context()).count


def test_the_whole_city_loads(hub, entities):
    seen = []
    report = load_entities(hub, entities, progress=lambda done, total: seen.append(done))
    assert report.written == report.created == len(entities)
    assert seen[-1] == len(entities)
    assert _count(hub, "Person") == 20_164
    assert _count(hub, "Household") == 8_714
    assert _count(hub, "TransitStop") == 6
    zone = hub.retrieve("urn:ngsi-ld:CarRestrictedZone:Sejong51:Ring", hub.context())
    assert zone["rules"]["value"]["car"] == "banned"
    assert zone["gates"]["value"]["type"] == "MultiPoint"
    again = load_entities(hub, entities[:500])  # same ids again: replaced, none new
    assert again.written == 500 and again.created == 0


def test_an_invalid_entity_writes_nothing(hub, entities):
    bad = [*entities[:200], {"id": "urn:ngsi-ld:Building:x", "type": "Building", "height": None}]
    with pytest.raises(TwinLoadError, match="nothing written"):
        load_entities(hub, bad)
    assert _count(hub, "RoadSegment") == 0
    repeated = [*entities[:10], entities[0]]
    with pytest.raises(TwinLoadError, match="repeated id"):
        load_entities(hub, repeated)


class _RefuseOne:
    """A hub plugin refusing one entity, as a privacy or IoT validator might."""

    def __init__(self, entity_id: str) -> None:
        self.entity_id = entity_id

    @hookimpl
    def hub_validate_entity(self, entity, tenant, operation):
        if entity.id == self.entity_id:
            raise BadRequestData("refused by a plugin")


def test_a_refused_batch_rolls_back_everything(hub, entities):
    places = [e for e in entities if e["type"] not in ("Person", "Household")][:300]
    ctx = hub.context()
    before = dict(places[5], name={"type": "Property", "value": "before the load"})
    hub.create_entity(before, ctx)
    hub.plugins.register(_RefuseOne(places[250]["id"]))
    with pytest.raises(TwinLoadError, match="rolled back"):
        load_entities(hub, places, batch_size=100)
    kept = hub.retrieve(places[5]["id"], ctx)
    assert kept["name"]["value"] == "before the load"
    found = {e["id"] for e in hub.render(_all(hub), ctx)}
    assert found == {places[5]["id"]}


def _all(hub):
    return hub.query_entities(EntityQuery(local=True, limit=100), hub.context()).entities
