"""The hub's Python API (:class:`cityos.hub.broker.Hub`): the HTTP semantics without HTTP.

In-process services call these methods directly; errors arrive as :mod:`cityos.core.errors`
classes carrying the NGSI-LD error types, and pluggy hooks (:mod:`cityos.hub.hookspecs`) can refuse
writes, observe commits and redact reads.
"""

from __future__ import annotations

from typing import Any

import pytest

from cityos.core.errors import (
    AlreadyExists,
    BadRequestData,
    CityOSError,
    NonexistentTenant,
    ResourceNotFound,
    TooManyResults,
)
from cityos.hub.broker import Change, EntityQuery, Hub
from cityos.hub.geo import parse_geoquery
from cityos.hub.hookspecs import hookimpl
from cityos.hub.model import Entity
from cityos.hub.representation import RenderOptions
from conftest import make_entity, point

NAME = "https://uri.etsi.org/ngsi-ld/default-context/name"


def sensor(n: int, **attrs: Any) -> dict[str, Any]:
    return make_entity(f"urn:ngsi-ld:Sensor:{n}", "Sensor", **attrs)


def ids(entities: list[Entity]) -> list[str]:
    return [e.id for e in entities]


def test_create_retrieve_and_errors(hub: Hub) -> None:
    ctx = hub.context()
    entity_id = hub.create_entity(sensor(1, temp=21.5, location=point(127.3, 36.5)), ctx)
    assert entity_id == "urn:ngsi-ld:Sensor:1"
    body = hub.retrieve(entity_id, ctx)
    assert body["type"] == "Sensor"
    assert body["temp"] == {"type": "Property", "value": 21.5}
    assert body["location"]["value"] == {"type": "Point", "coordinates": [127.3, 36.5]}
    kv = hub.retrieve(entity_id, ctx, options=RenderOptions(format="keyValues"))
    assert kv["temp"] == 21.5
    stored = hub.get_entity(entity_id)
    assert stored.types == ["https://uri.etsi.org/ngsi-ld/default-context/Sensor"]
    with pytest.raises(AlreadyExists) as taken:
        hub.create_entity(sensor(1, temp=0), ctx)
    assert taken.value.status == 409
    assert taken.value.to_problem()["type"].endswith("/AlreadyExists")
    with pytest.raises(ResourceNotFound):
        hub.retrieve("urn:ngsi-ld:Sensor:404", ctx)
    with pytest.raises(BadRequestData):
        hub.create_entity({"id": "not a uri", "type": "Sensor"}, ctx)
    with pytest.raises(NonexistentTenant):
        hub.retrieve(entity_id, ctx, tenant="elsewhere")


def test_attribute_operations(hub: Hub) -> None:
    ctx = hub.context()
    hub.create_entity(sensor(1, temp=1, name="n"), ctx)
    result = hub.append_attrs(
        "urn:ngsi-ld:Sensor:1", {"temp": 2, "hum": 50}, ctx, no_overwrite=True
    )
    vocab = "https://uri.etsi.org/ngsi-ld/default-context/"  # results name expanded IRIs
    assert result.updated == [vocab + "hum"]
    assert [n["attributeName"] for n in result.not_updated] == [vocab + "temp"]
    result = hub.update_attrs("urn:ngsi-ld:Sensor:1", {"temp": 3, "wind": 1}, ctx)
    assert (result.updated, result.not_updated[0]["attributeName"]) == (
        [vocab + "temp"],
        vocab + "wind",
    )
    hub.update_attr("urn:ngsi-ld:Sensor:1", "temp", {"value": 4, "unitCode": "CEL"}, ctx)
    hub.delete_attr("urn:ngsi-ld:Sensor:1", "name", ctx)
    body = hub.retrieve("urn:ngsi-ld:Sensor:1", ctx)
    assert body["temp"] == {"type": "Property", "value": 4, "unitCode": "CEL"}
    assert body["hum"]["value"] == 50
    assert "name" not in body and "wind" not in body
    with pytest.raises(ResourceNotFound):
        hub.delete_attr("urn:ngsi-ld:Sensor:1", "name", ctx)


def test_query_with_entity_query(hub: Hub) -> None:
    ctx = hub.context()
    hub.batch_create(
        [
            sensor(1, temp=10, location=point(127.289, 36.480)),
            sensor(2, temp=30, location=point(126.978, 37.566)),
            make_entity("urn:ngsi-ld:Building:B1", "Building", temp=30),
        ],
        ctx,
    )
    assert ids(hub.query_entities(EntityQuery(type="Sensor"), ctx).entities) == [
        "urn:ngsi-ld:Sensor:1",
        "urn:ngsi-ld:Sensor:2",
    ]
    hot = hub.query_entities(EntityQuery(q="temp>20", count=True), ctx)
    assert ids(hot.entities) == ["urn:ngsi-ld:Sensor:2", "urn:ngsi-ld:Building:B1"]
    assert hot.count == 2
    near = parse_geoquery("near;maxDistance==1000", "Point", "[127.29,36.48]", None)
    found = hub.query_entities(EntityQuery(type="Sensor", geo=near), ctx)
    assert ids(found.entities) == ["urn:ngsi-ld:Sensor:1"]
    paged = hub.query_entities(
        EntityQuery(type="Sensor", id_pattern="^urn:ngsi-ld:Sensor:", limit=1), ctx
    )
    assert ids(paged.entities) == ["urn:ngsi-ld:Sensor:1"] and paged.count is None
    selected = hub.query_entities(
        EntityQuery(entities=[{"type": "Building"}, {"id": "urn:ngsi-ld:Sensor:2"}]), ctx
    )
    assert ids(selected.entities) == ["urn:ngsi-ld:Sensor:2", "urn:ngsi-ld:Building:B1"]
    rendered = hub.render(selected.entities, ctx, RenderOptions(format="keyValues"))
    assert [r["temp"] for r in rendered] == [30, 30]
    with pytest.raises(BadRequestData):
        hub.query_entities(EntityQuery(), ctx)
    with pytest.raises(BadRequestData):
        hub.query_entities(EntityQuery(type="Sensor", q="temp>>1"), ctx)
    with pytest.raises(TooManyResults):
        hub.query_entities(EntityQuery(type="Sensor", limit=10_000), ctx)


def test_batch_upsert(hub: Hub) -> None:
    ctx = hub.context()
    hub.create_entity(sensor(1, a=1, b=1), ctx)
    result = hub.batch_upsert([sensor(1, b=2), sensor(2, a=2), {"id": "urn:x:1"}], ctx)
    assert result.success == ["urn:ngsi-ld:Sensor:1", "urn:ngsi-ld:Sensor:2"]
    assert result.created == ["urn:ngsi-ld:Sensor:2"]
    ((failed_id, error),) = result.errors
    assert failed_id == "urn:x:1" and isinstance(error, BadRequestData)
    replaced = hub.retrieve("urn:ngsi-ld:Sensor:1", ctx)
    assert "a" not in replaced and replaced["b"]["value"] == 2
    merged = hub.batch_upsert([sensor(1, a=3)], ctx, mode="update")
    assert merged.created == [] and merged.errors == []
    body = hub.retrieve("urn:ngsi-ld:Sensor:1", ctx)
    assert (body["a"]["value"], body["b"]["value"]) == (3, 2)
    with pytest.raises(BadRequestData):
        hub.batch_upsert([], ctx)


def test_batch_entities_may_carry_their_own_context(hub: Hub) -> None:
    ctx = hub.context()
    own = dict(sensor(1, temp=1), **{"@context": {"temp": "https://example.org/t"}})
    result = hub.batch_create([own, sensor(2, temp=2)], ctx)
    assert result.errors == []
    assert "https://example.org/t" in hub.get_entity("urn:ngsi-ld:Sensor:1").attrs
    assert ctx.expand_term("temp") in hub.get_entity("urn:ngsi-ld:Sensor:2").attrs


def test_tenants_are_separate(hub: Hub) -> None:
    ctx = hub.context()
    hub.create_entity(sensor(1), ctx, tenant="a")
    assert hub.storage.tenant_exists("a")
    with pytest.raises(ResourceNotFound):
        hub.get_entity("urn:ngsi-ld:Sensor:1")
    with pytest.raises(NonexistentTenant):
        hub.batch_update([sensor(1, a=1)], ctx, tenant="b")
    with pytest.raises(NonexistentTenant):
        hub.batch_delete(["urn:ngsi-ld:Sensor:1"], tenant="b")
    assert not hub.storage.tenant_exists("b")
    assert hub.batch_delete(["urn:ngsi-ld:Sensor:1"], tenant="a").success == [
        "urn:ngsi-ld:Sensor:1"
    ]


# -- hooks -----------------------------------------------------------------------------------------
class Refuser:
    """Refuses any entity with a ``forbidden`` attribute, as a privacy layer would."""

    def __init__(self, iri: str) -> None:
        self.iri = iri
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def hub_validate_entity(self, entity: Entity, tenant: str, operation: str) -> None:
        self.seen.append((entity.id, operation))
        if self.iri in entity.attrs:
            raise BadRequestData(f"{entity.id} carries a forbidden attribute")


class Recorder:
    """Keeps every batch of committed changes."""

    def __init__(self) -> None:
        self.commits: list[tuple[str, list[Change]]] = []

    @hookimpl
    def hub_after_commit(self, tenant: str, changes: list[Change]) -> None:
        self.commits.append((tenant, changes))


class Redactor:
    """Hides the ``name`` attribute on every read."""

    @hookimpl
    def hub_filter_entities(
        self, entities: list[Entity], tenant: str, purpose: str | None
    ) -> list[Entity]:
        return [
            Entity(e.id, e.types, {k: v for k, v in e.attrs.items() if k != NAME}, e.scope)
            for e in entities
        ]


def test_validate_hook_refuses_and_nothing_is_written(hub: Hub) -> None:
    ctx = hub.context()
    refuser = Refuser(ctx.expand_term("forbidden"))
    hub.plugins.register(refuser)
    with pytest.raises(BadRequestData):
        hub.create_entity(sensor(1, forbidden=1), ctx)
    with pytest.raises(ResourceNotFound):
        hub.get_entity("urn:ngsi-ld:Sensor:1")
    hub.create_entity(sensor(2, ok=1), ctx)
    with pytest.raises(BadRequestData):
        hub.append_attrs("urn:ngsi-ld:Sensor:2", {"forbidden": 1}, ctx)
    assert "forbidden" not in hub.retrieve("urn:ngsi-ld:Sensor:2", ctx)
    result = hub.batch_upsert([sensor(3, forbidden=1), sensor(4, ok=1)], ctx)
    assert result.success == ["urn:ngsi-ld:Sensor:4"]
    assert [eid for eid, _ in result.errors] == ["urn:ngsi-ld:Sensor:3"]
    with pytest.raises(ResourceNotFound):
        hub.get_entity("urn:ngsi-ld:Sensor:3")
    refused = hub.batch_update([sensor(2, forbidden=1), sensor(2, more=1)], ctx)
    assert refused.success == ["urn:ngsi-ld:Sensor:2"]
    body = hub.retrieve("urn:ngsi-ld:Sensor:2", ctx)
    assert "forbidden" not in body and body["more"]["value"] == 1
    assert ("urn:ngsi-ld:Sensor:1", "create") in refuser.seen
    assert ("urn:ngsi-ld:Sensor:2", "append") in refuser.seen
    assert ("urn:ngsi-ld:Sensor:4", "upsert") in refuser.seen


def test_after_commit_receives_changes(hub: Hub) -> None:
    ctx = hub.context()
    recorder = Recorder()
    hub.plugins.register(recorder)
    hub.create_entity(sensor(1, a=1), ctx, tenant="t1")
    hub.update_attrs("urn:ngsi-ld:Sensor:1", {"a": 2}, ctx, tenant="t1")
    hub.batch_upsert([sensor(1, b=1), sensor(2)], ctx, tenant="t1")
    hub.delete_entity("urn:ngsi-ld:Sensor:2", tenant="t1")
    with pytest.raises(CityOSError):
        hub.create_entity(sensor(1), ctx, tenant="t1")  # a failed write commits nothing
    kinds = [[(c.kind, c.entity_id) for c in changes] for _, changes in recorder.commits]
    assert kinds == [
        [("create", "urn:ngsi-ld:Sensor:1")],
        [("update", "urn:ngsi-ld:Sensor:1")],
        [("create", "urn:ngsi-ld:Sensor:2"), ("update", "urn:ngsi-ld:Sensor:1")],
        [("delete", "urn:ngsi-ld:Sensor:2")],
    ]
    assert {tenant for tenant, _ in recorder.commits} == {"t1"}
    update = recorder.commits[1][1][0]
    key = ctx.expand_term("a")
    assert update.before is not None and update.after is not None
    assert update.before.attrs[key][0]["value"] == 1
    assert update.after.attrs[key][0]["value"] == 2
    deleted = recorder.commits[3][1][0]
    assert deleted.before is not None and deleted.after is None


def test_filter_hook_redacts_on_read(hub: Hub) -> None:
    ctx = hub.context()
    hub.create_entity(sensor(1, name="secret", temp=1), ctx)
    hub.plugins.register(Redactor())
    body = hub.retrieve("urn:ngsi-ld:Sensor:1", ctx)
    assert "name" not in body and body["temp"]["value"] == 1
    page = hub.query_entities(EntityQuery(type="Sensor"), ctx)
    assert all(NAME not in e.attrs for e in page.entities)
    assert (
        NAME in hub.storage.get_entities("", ["urn:ngsi-ld:Sensor:1"])["urn:ngsi-ld:Sensor:1"].attrs
    )


def test_filter_hook_redacts_over_http(client, hub: Hub) -> None:
    hub.create_entity(sensor(1, name="secret", temp=1), hub.context())
    hub.plugins.register(Redactor())
    body = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:1").json()
    assert "name" not in body and body["temp"]["value"] == 1
    listed = client.get("/ngsi-ld/v1/entities", params={"type": "Sensor"}).json()
    assert "name" not in listed[0]
