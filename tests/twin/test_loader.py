"""Loading into the hub: everything, or nothing.

The failure tests take a snapshot of everything a load could touch — tenants, entities, their
temporal history — fail the load part-way (a storage error after some chunks, an error while the
history is written, Ctrl-C, a plugin refusing an entity) and compare. They run on both backends.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import astuple
from typing import Any

import psycopg
import pytest

from cityos.core.errors import BadRequestData
from cityos.hub.broker import EntityQuery
from cityos.hub.hookspecs import hookimpl
from cityos.hub.temporal.records import TimeWindow
from cityos.twin.loader import TwinLoadError, load_entities

_STORAGE_ERRORS = {
    "sqlite": lambda: sqlite3.OperationalError("disk I/O error"),
    "postgresql": lambda: psycopg.errors.DiskFull("could not extend file: No space left on device"),
}


def _count(hub, kind: str, tenant: str = "") -> int:
    query = EntityQuery(type=kind, limit=0, count=True)
    return hub.query_entities(query, hub.context(), tenant).count


def _snapshot(hub) -> dict[str, Any]:
    """Tenants, and per tenant every stored entity and every history instance and mark."""
    store = hub.storage.temporal
    state: dict[str, Any] = {"tenants": hub.storage.tenants()}
    for tenant in state["tenants"]:
        entities = {
            e.id: (e.types, e.attrs, e.scope, e.created_at, e.modified_at)
            for e in hub.storage.iter_entities(tenant)
        }
        marks = store.entities(tenant)
        keys = [
            (eid, iri)
            for eid, iris in store.attributes(tenant, list(marks)).items()
            for iri in iris
        ]
        window = TimeWindow(timeproperty="modifiedAt")
        instances = store.instances(tenant, sorted(keys), window, limit=None)
        state[tenant] = (
            entities,
            {k: astuple(v) for k, v in marks.items()},
            {k: [astuple(i) for i in v] for k, v in instances.items()},
        )
    return state


@pytest.fixture
def places(entities) -> list[dict[str, Any]]:
    """The city without its people: 1,300 entities of every other type."""
    return [e for e in entities if e["type"] not in ("Person", "Household")]


@pytest.fixture
def lived_in(hub, places):
    """A hub with history: a few of the city's entities exist (one updated, one deleted) and an
    unrelated one, in the default tenant and in tenant ``other``."""
    ctx = hub.context()
    for tenant in ("", "other"):
        for body in places[5:8]:
            hub.create_entity(dict(body, name={"type": "Property", "value": "old"}), ctx, tenant)
        hub.update_attrs(
            places[5]["id"], {"name": {"type": "Property", "value": "newer"}}, ctx, tenant
        )
        hub.delete_entity(places[7]["id"], tenant)
        sensor = {
            "id": "urn:ngsi-ld:Thing:kept",
            "type": "Thing",
            "n": {"type": "Property", "value": 1},
        }
        hub.create_entity(sensor, ctx, tenant)
    return hub


def test_the_whole_city_loads(hub, entities):
    seen = []
    report = load_entities(hub, entities, progress=lambda done, total: seen.append(done))
    assert report.written == report.created == len(entities)
    assert seen[-1] == len(entities) and seen == sorted(seen)
    assert _count(hub, "Person") == 20_164
    assert _count(hub, "Household") == 8_714
    assert _count(hub, "TransitStop") == 6
    zone = hub.retrieve("urn:ngsi-ld:CarRestrictedZone:Sejong51:Ring", hub.context())
    assert zone["rules"]["value"]["car"] == "banned"
    assert zone["gates"]["value"]["type"] == "MultiPoint"
    again = load_entities(hub, entities[:500])  # same ids again: replaced, none new
    assert again.written == 500 and again.created == 0


def test_a_load_replaces_entities_and_records_their_history(lived_in, places):
    hub = lived_in
    report = load_entities(hub, places, batch_size=100)
    assert report.written == len(places) and report.created == len(places) - 2  # 5, 6 existed
    replaced = hub.retrieve(places[5]["id"], hub.context())
    assert "name" not in places[5] or replaced["name"]["value"] != "newer"
    store = hub.storage.temporal
    name = next(
        i for i in store.attributes("", [places[5]["id"]])[places[5]["id"]] if i.endswith("/name")
    )
    window = TimeWindow(timeproperty="modifiedAt")
    history = store.instances("", [(places[5]["id"], name)], window, limit=None)
    assert len(next(iter(history.values()))) >= 2  # the two versions before the load, kept
    assert hub.retrieve("urn:ngsi-ld:Thing:kept", hub.context())["n"]["value"] == 1
    assert _count(hub, "Building", "other") == 0  # the other tenant is untouched
    assert _count(hub, "Building") == sum(e["type"] == "Building" for e in places)


def test_an_invalid_entity_writes_nothing(hub, entities):
    bad = [*entities[:200], {"id": "urn:ngsi-ld:Building:x", "type": "Building", "height": None}]
    with pytest.raises(TwinLoadError, match="nothing written: urn:ngsi-ld:Building:x"):
        load_entities(hub, bad)
    assert hub.storage.tenants() == []  # not even the default tenant was created
    repeated = [*entities[:10], entities[0]]
    with pytest.raises(TwinLoadError, match="is repeated"):
        load_entities(hub, repeated)
    not_an_entity = [*entities[:10], "Building"]
    with pytest.raises(TwinLoadError, match="must be a JSON object"):
        load_entities(hub, not_an_entity)
    assert hub.storage.tenants() == []


@contextmanager
def _failing_storage(monkeypatch, hub, error, *, after_inserts: int):
    """Make the storage's write transactions raise ``error`` on the insert after the first
    ``after_inserts`` (which do reach the database)."""
    calls = {"insert": 0}
    real = hub.storage.transaction

    class FailingTransaction:
        def __init__(self, tx):
            self._tx = tx

        def __getattr__(self, name):
            return getattr(self._tx, name)

        def insert(self, entities):
            calls["insert"] += 1
            if calls["insert"] > after_inserts:
                raise error
            self._tx.insert(entities)

    @contextmanager
    def transaction(tenant):
        with real(tenant) as tx:
            yield FailingTransaction(tx)

    monkeypatch.setattr(hub.storage, "transaction", transaction)
    yield calls
    monkeypatch.setattr(hub.storage, "transaction", real)


@pytest.mark.parametrize("tenant", ["", "other", "new"])
def test_a_storage_error_mid_load_leaves_the_hub_unchanged(
    lived_in, places, backend, monkeypatch, tenant
):
    hub = lived_in
    before = _snapshot(hub)
    error = _STORAGE_ERRORS[backend]()
    with _failing_storage(monkeypatch, hub, error, after_inserts=4) as calls:
        with pytest.raises(type(error)):
            load_entities(hub, places, tenant=tenant, batch_size=100)
        assert calls["insert"] == 5  # four chunks of 100 were written before the failure
    assert _snapshot(hub) == before
    assert "new" not in hub.storage.tenants()
    report = load_entities(hub, places, tenant=tenant, batch_size=100)  # the hub still works
    assert report.written == len(places)


def test_an_interruption_mid_load_leaves_the_hub_unchanged(lived_in, places, monkeypatch):
    hub = lived_in
    before = _snapshot(hub)
    failing = _failing_storage(monkeypatch, hub, KeyboardInterrupt(), after_inserts=7)
    with failing, pytest.raises(KeyboardInterrupt):
        load_entities(hub, places, batch_size=100)
    assert _snapshot(hub) == before


def test_a_history_error_leaves_the_hub_unchanged(lived_in, places, backend, monkeypatch):
    hub = lived_in
    before = _snapshot(hub)
    store = hub.storage.temporal
    real = store.record
    error = _STORAGE_ERRORS[backend]()

    def record(tx, marks, records):
        real(
            tx,
            marks[:100],
            [r for r in records if r.entity_id in {m.entity_id for m in marks[:100]}],
        )
        raise error

    monkeypatch.setattr(store, "record", record)
    with pytest.raises(type(error)):
        load_entities(hub, places, batch_size=100)
    monkeypatch.setattr(store, "record", real)
    assert _snapshot(hub) == before


class _RefuseOne:
    """A hub plugin refusing one entity, as a privacy or IoT validator might."""

    def __init__(self, entity_id: str) -> None:
        self.entity_id = entity_id

    @hookimpl
    def hub_validate_entity(self, entity, tenant, operation):
        if entity.id == self.entity_id:
            raise BadRequestData("refused by a plugin")


def test_a_refused_entity_rolls_back_everything(lived_in, places):
    hub = lived_in
    before = _snapshot(hub)
    hub.plugins.register(_RefuseOne(places[950]["id"]))
    with pytest.raises(TwinLoadError, match=f"nothing written: {places[950]['id']}: refused"):
        load_entities(hub, places, batch_size=100)  # refused in the tenth chunk
    assert _snapshot(hub) == before
