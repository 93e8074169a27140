"""Which writes queue which notifications (ETSI GS CIM 009 §5.11): triggers, watchedAttributes,
entities, q, geoQ, paused and expired subscriptions, rendering, tenants, atomicity.

The sender is not running here: the tests read the outbox rows a write queued.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from subscription_kit import fast_settings, subscription

from cityos.core.errors import BadRequestData
from cityos.core.settings import Settings
from cityos.core.timeutil import isoformat
from cityos.hub.backends import open_hub
from cityos.hub.hookspecs import hookimpl
from cityos.hub.subscriptions.service import SubscriptionService, subscriptions_of

URI = "http://127.0.0.1:9/notify"
AQ = "urn:ngsi-ld:AirQualityObserved:"


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return fast_settings(tmp_path, database_url=database_url, notify_enabled=False)


@pytest.fixture
def service(hub) -> SubscriptionService:
    return subscriptions_of(hub)


def subscribe(service: SubscriptionService, tenant: str = "", ctx=None, **members: Any) -> str:
    return service.create(subscription(URI, **members), ctx or service.hub.context(), tenant)


def queued(service: SubscriptionService, sub_id: str, tenant: str = "") -> list[list[dict]]:
    assert service.store is not None
    return [row.data for row in service.store.pending(tenant, sub_id, 1000)]


def aq(number: int = 1, **attrs: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {"id": f"{AQ}{number}", "type": "AirQualityObserved"}
    for name, value in attrs.items():
        entity[name] = value if isinstance(value, dict) else {"type": "Property", "value": value}
    return entity


def test_default_triggers_notify_creation_and_updates_not_deletion(hub, service):
    sid = subscribe(service)
    ctx = hub.context()
    hub.create_entity(aq(pm25=10), ctx)
    hub.update_attrs(f"{AQ}1", {"pm25": {"value": 11}}, ctx)
    hub.delete_entity(f"{AQ}1")
    rows = queued(service, sid)
    assert [[e["pm25"]["value"] for e in data] for data in rows] == [[10], [11]]


OPERATIONS = ["create", "update", "append", "delete attribute", "delete entity"]
EXPECTED = {
    "entityCreated": ["create"],
    "entityUpdated": ["create", "update", "append", "delete attribute"],
    "entityDeleted": ["delete entity"],
    "attributeCreated": ["create", "append"],
    "attributeUpdated": ["update"],
    "attributeDeleted": ["delete attribute"],
}


@pytest.mark.parametrize("trigger", list(EXPECTED))
def test_each_trigger(hub, service, trigger):
    sid = subscribe(service, notificationTrigger=[trigger])
    ctx = hub.context()
    fired = []
    operations = {
        "create": lambda: hub.create_entity(aq(pm25=10, pm10=20), ctx),
        "update": lambda: hub.update_attrs(f"{AQ}1", {"pm25": {"value": 12}}, ctx),
        "append": lambda: hub.append_attrs(f"{AQ}1", {"no2": {"value": 0.1}}, ctx),
        "delete attribute": lambda: hub.delete_attr(f"{AQ}1", "pm10", ctx),
        "delete entity": lambda: hub.delete_entity(f"{AQ}1"),
    }
    for name in OPERATIONS:
        before = len(queued(service, sid))
        operations[name]()
        if len(queued(service, sid)) > before:
            fired.append(name)
    assert fired == EXPECTED[trigger]


def test_deletion_is_rendered_with_deleted_at(hub, service):
    sid = subscribe(service, notificationTrigger=["entityDeleted"])
    hub.create_entity(aq(pm25=10), hub.context())
    hub.delete_entity(f"{AQ}1")
    [[item]] = queued(service, sid)
    assert set(item) == {"id", "type", "deletedAt"}
    assert item["id"] == f"{AQ}1" and item["type"] == "AirQualityObserved"


def test_watched_attributes(hub, service):
    sid = subscribe(service, watchedAttributes=["pm25"])
    ctx = hub.context()
    hub.create_entity(aq(1, pm10=5), ctx)
    hub.create_entity(aq(2, pm25=5), ctx)
    hub.update_attrs(f"{AQ}2", {"pm10": {"value": 1}}, ctx)
    hub.update_attrs(f"{AQ}2", {"pm25": {"value": 6}}, ctx)
    ids = [[e["id"] for e in data] for data in queued(service, sid)]
    assert ids == [[f"{AQ}2"], [f"{AQ}2"]]


def test_watched_attributes_without_entities_match_any_type(hub, service):
    sid = subscribe(service, entities=None, watchedAttributes=["temperature"])
    ctx = hub.context()
    hub.create_entity({"id": "urn:ngsi-ld:Room:1", "type": "Room", "temperature": 21}, ctx)
    hub.create_entity({"id": "urn:ngsi-ld:Tank:1", "type": "Tank", "level": 3}, ctx)
    hub.create_entity({"id": "urn:ngsi-ld:Car:1", "type": "Car", "temperature": 30}, ctx)
    assert [d[0]["id"] for d in queued(service, sid)] == ["urn:ngsi-ld:Room:1", "urn:ngsi-ld:Car:1"]


def test_q_is_evaluated_on_the_new_state(hub, service):
    sid = subscribe(service, q='pm25>50;airQualityLevel=="poor"')
    ctx = hub.context()
    hub.create_entity(aq(pm25=10, airQualityLevel="poor"), ctx)
    hub.update_attrs(f"{AQ}1", {"pm25": {"value": 60}}, ctx)
    hub.update_attrs(f"{AQ}1", {"airQualityLevel": {"value": "good"}}, ctx)
    assert [d[0]["pm25"]["value"] for d in queued(service, sid)] == [60]


def test_geo_q(hub, service):
    geo_q = {"georel": "near;maxDistance==500", "geometry": "Point", "coordinates": [127.3, 36.5]}
    sid = subscribe(service, geoQ=geo_q)
    ctx = hub.context()
    near = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [127.301, 36.501]}}
    far = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [127.4, 36.6]}}
    hub.create_entity(aq(1, location=near), ctx)
    hub.create_entity(aq(2, location=far), ctx)
    hub.create_entity(aq(3, pm25=1), ctx)
    assert [d[0]["id"] for d in queued(service, sid)] == [f"{AQ}1"]


def test_geo_q_on_another_geoproperty(hub, service):
    polygon = [[[127.0, 36.0], [128.0, 36.0], [128.0, 37.0], [127.0, 37.0], [127.0, 36.0]]]
    geo_q = {
        "georel": "within",
        "geometry": "Polygon",
        "coordinates": polygon,
        "geoproperty": "observationSpace",
    }
    sid = subscribe(service, geoQ=geo_q)
    inside = {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [127.5, 36.5]}}
    hub.create_entity(aq(1, location=inside), hub.context())
    hub.create_entity(aq(2, observationSpace=inside), hub.context())
    assert [d[0]["id"] for d in queued(service, sid)] == [f"{AQ}2"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"type": "Building"}, ["B1", "B2", "BL"]),
        ({"type": "Building", "id": "urn:ngsi-ld:Building:B2"}, ["B2"]),
        ({"type": "Building", "idPattern": "B[12]$"}, ["B1", "B2"]),
        ({"type": "Building;Landmark"}, ["BL"]),
        ({"type": "Landmark|Park"}, ["BL", "P1"]),
        ({"type": "(Building;Landmark)|Park"}, ["BL", "P1"]),
    ],
)
def test_entity_selectors(hub, service, selector, expected):
    sid = subscribe(service, entities=[selector])
    ctx = hub.context()
    for eid, types in [("B1", "Building"), ("B2", "Building"), ("BL", ["Building", "Landmark"])]:
        hub.create_entity({"id": f"urn:ngsi-ld:Building:{eid}", "type": types, "h": 1}, ctx)
    hub.create_entity({"id": "urn:ngsi-ld:Park:P1", "type": "Park", "h": 1}, ctx)
    hub.create_entity({"id": "urn:ngsi-ld:Road:R1", "type": "Road", "h": 1}, ctx)
    got = [d[0]["id"].rsplit(":", 1)[1] for d in queued(service, sid)]
    assert got == expected


def test_paused_and_resumed(hub, service):
    sid = subscribe(service, isActive=False)
    ctx = hub.context()
    hub.create_entity(aq(1, pm25=1), ctx)
    assert queued(service, sid) == []
    service.update(sid, {"isActive": True})
    hub.create_entity(aq(2, pm25=1), ctx)
    assert [d[0]["id"] for d in queued(service, sid)] == [f"{AQ}2"]


def test_expired_subscription_stops(hub, service):
    expires = isoformat(datetime.now(UTC) + timedelta(milliseconds=400))
    sid = subscribe(service, expiresAt=expires)
    ctx = hub.context()
    hub.create_entity(aq(1, pm25=1), ctx)
    time.sleep(0.5)
    hub.create_entity(aq(2, pm25=1), ctx)
    assert [d[0]["id"] for d in queued(service, sid)] == [f"{AQ}1"]
    assert service.render(service.get(sid))["status"] == "expired"


def test_formats_and_projections(hub, service):
    ctx = hub.context()
    ids = {
        "kv": subscribe(service, notification={"format": "keyValues"}),
        "concise": subscribe(service, notification={"format": "concise"}),
        "attrs": subscribe(service, notification={"attributes": ["pm25"]}),
        "sys": subscribe(service, notification={"sysAttrs": True}),
        "pick": subscribe(service, notification={"pick": ["id", "pm10"]}),
        "omit": subscribe(service, notification={"omit": ["type", "pm10"]}),
        "lang": subscribe(service, lang="ko"),
    }
    name = {"type": "LanguageProperty", "languageMap": {"en": "Station", "ko": "측정소"}}
    pm25 = {"type": "Property", "value": 24, "unitCode": "GQ"}
    hub.create_entity(aq(pm25=pm25, pm10=40, name=name), ctx)
    data = {key: queued(service, sid)[0][0] for key, sid in ids.items()}
    assert data["kv"] == {
        "id": f"{AQ}1",
        "type": "AirQualityObserved",
        "pm25": 24,
        "pm10": 40,
        "name": {"languageMap": {"en": "Station", "ko": "측정소"}},
    }
    assert data["concise"]["pm25"] == {"value": 24, "unitCode": "GQ"}
    assert data["concise"]["pm10"] == 40
    assert set(data["attrs"]) == {"id", "type", "pm25"}
    assert data["sys"]["createdAt"].endswith("Z") and "modifiedAt" in data["sys"]["pm25"]
    assert set(data["pick"]) == {"id", "pm10"}
    assert set(data["omit"]) == {"id", "pm25", "name"}
    assert data["lang"]["name"] == {"type": "Property", "value": "측정소", "lang": "ko"}


def test_names_are_compacted_with_the_subscription_context(hub, service):
    vocab = "https://smartdatamodels.org/dataModel.Environment/"
    ctx = hub.context({"AQ": vocab + "AirQualityObserved", "pm": vocab + "pm25"})
    sid = subscribe(service, ctx=ctx, entities=[{"type": "AQ"}], watchedAttributes=["pm"])
    core = hub.context()
    hub.create_entity(
        {"id": f"{AQ}1", "type": vocab + "AirQualityObserved", vocab + "pm25": 3}, core
    )
    hub.create_entity(aq(2, pm25=3), core)
    [[item]] = queued(service, sid)
    assert item["type"] == "AQ" and item["pm"]["value"] == 3


def test_one_write_queues_one_row_per_subscription(hub, service):
    sid = subscribe(service, q="pm25>10")
    other = subscribe(service, entities=[{"type": "Building"}])
    batch = [aq(i, pm25=v) for i, v in enumerate([20, 5, 30, 40], 1)]
    batch.append({"id": "urn:ngsi-ld:Building:1", "type": "Building", "h": 1})
    result = hub.batch_upsert(batch, hub.context())
    assert not result.errors
    assert [[e["id"] for e in d] for d in queued(service, sid)] == [[f"{AQ}1", f"{AQ}3", f"{AQ}4"]]
    assert len(queued(service, other)) == 1


def test_tenants_are_isolated(hub, service):
    sid = subscribe(service, tenant="north")
    ctx = hub.context()
    hub.create_entity(aq(1, pm25=1), ctx)
    hub.create_entity(aq(1, pm25=1), ctx, tenant="south")
    assert queued(service, sid, "north") == []
    hub.create_entity(aq(1, pm25=1), ctx, tenant="north")
    assert len(queued(service, sid, "north")) == 1


def test_mqtt_endpoints_queue_like_http_ones(hub, service):
    sid = service.create(subscription("mqtt://broker.example.org/city"), hub.context())
    hub.create_entity(aq(pm25=1), hub.context())
    [data] = queued(service, sid)
    assert [e["id"] for e in data] == [f"{AQ}1"]


def test_update_and_delete_refresh_the_index(hub, service):
    sid = subscribe(service, q="pm25>100")
    ctx = hub.context()
    hub.create_entity(aq(1, pm25=50), ctx)
    service.update(sid, {"q": "pm25>10"})
    hub.create_entity(aq(2, pm25=50), ctx)
    assert len(queued(service, sid)) == 1
    service.delete(sid)
    assert service.store is not None and service.store.pending("", sid, 10) == []
    hub.create_entity(aq(3, pm25=50), ctx)
    assert service.store.pending("", sid, 10) == []


class _FailAfterOthers:
    @hookimpl(trylast=True)
    def hub_before_commit(self, transaction, tenant, changes):
        raise BadRequestData("refused by a later plugin")


def test_a_failed_write_leaves_no_outbox_row(hub, service):
    sid = subscribe(service)
    hub.plugins.register(_FailAfterOthers(), name="fail")
    with pytest.raises(BadRequestData):
        hub.create_entity(aq(pm25=1), hub.context())
    assert queued(service, sid) == []
    assert service.store is not None
    assert service.store.outbox_counts("", sid) == {"pending": 0, "dead": 0}
    hub.plugins.unregister(name="fail")
    hub.create_entity(aq(pm25=2), hub.context())
    assert [d[0]["pm25"]["value"] for d in queued(service, sid)] == [2]


class _Redact:
    purposes: list[str | None] = []

    @hookimpl
    def hub_filter_entities(self, entities, tenant, purpose):
        self.purposes.append(purpose)
        for entity in entities:
            entity.attrs = {k: v for k, v in entity.attrs.items() if not k.endswith("pm10")}
        return [e for e in entities if not e.id.endswith(":2")]


def test_read_filters_apply_to_notifications(hub, service):
    sid = subscribe(service)
    hub.plugins.register(_Redact(), name="redact")
    batch = [aq(1, pm25=1, pm10=2), aq(2, pm25=1), aq(3, pm25=3)]
    hub.batch_upsert(batch, hub.context())
    [data] = queued(service, sid)
    assert [e["id"] for e in data] == [f"{AQ}1", f"{AQ}3"]
    assert "pm10" not in data[0]
    assert "notification" in _Redact.purposes


def test_subscriptions_survive_a_restart(settings, hub, service):
    sid = subscribe(service, q="pm25>10")
    hub.storage.close()
    again = open_hub(settings)
    try:
        restarted = subscriptions_of(again)
        again.create_entity(aq(1, pm25=20), again.context())
        assert len(queued(restarted, sid)) == 1
    finally:
        again.storage.close()
