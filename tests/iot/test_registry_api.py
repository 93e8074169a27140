"""The device registry over HTTP: provisioning, listing, revocation, deletion, bad inputs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cityos.hub.broker import EntityQuery
from cityos.hub.hookspecs import hookimpl
from cityos.iot.registry import DeviceSpec, get_device, key_matches, provision

DEVICE = {
    "deviceId": "aq-1",
    "profile": "AirQualityObserved",
    "protocol": "ul",
    "ownerClass": "public",
    "owner": "Sejong City",
    "name": "Air quality, Hansol school roof",
    "location": {"type": "Point", "coordinates": [127.304, 36.494]},
    "units": {"t": "FAH"},
}


def test_provision_returns_the_key_once_and_stores_only_its_hash(client: TestClient, hub):
    created = client.post("/iot/v1/devices", json=DEVICE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == "/iot/v1/devices/aq-1"
    key = body["apiKey"]
    assert len(key) >= 32
    assert body["topics"]["attrs"] == f"/{key}/aq-1/attrs"
    assert body["state"] == "active" and body["observationType"] == "AirQualityObserved"
    shown = client.get("/iot/v1/devices/aq-1").json()
    assert "apiKey" not in shown and "apiKeyHash" not in str(shown)
    assert shown["units"] == {"t": "FAH"} and shown["ownerClass"] == "public"
    entity = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Device:aq-1").json()
    assert key not in str(entity)
    assert entity["deviceState"]["value"] == "active"
    assert key_matches(entity["apiKeyHash"]["value"], key)
    assert not key_matches(entity["apiKeyHash"]["value"], key[:-1] + "x")
    observation = client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:aq-1").json()
    assert observation["refDevice"]["object"] == "urn:ngsi-ld:Device:aq-1"
    assert observation["location"]["value"]["coordinates"] == [127.304, 36.494]
    assert get_device(hub, "aq-1").profile == "AirQualityObserved"


def test_list_filter_revoke_delete(client: TestClient):
    for i, prof in enumerate(["AirQualityObserved", "ParkingSpot", "ParkingSpot"]):
        body = {"deviceId": f"d{i}", "profile": prof, "ownerClass": "citizen"}
        assert client.post("/iot/v1/devices", json=body).status_code == 201
    listed = client.get("/iot/v1/devices")
    assert listed.status_code == 200 and listed.headers["ngsild-results-count"] == "3"
    parking = client.get("/iot/v1/devices", params={"profile": "ParkingSpot"}).json()
    assert sorted(d["deviceId"] for d in parking) == ["d1", "d2"]
    revoked = client.post("/iot/v1/devices/d1/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    active = client.get("/iot/v1/devices", params={"state": "active"}).json()
    assert sorted(d["deviceId"] for d in active) == ["d0", "d2"]
    assert client.delete("/iot/v1/devices/d2").status_code == 204
    assert client.get("/iot/v1/devices/d2").status_code == 404
    assert client.delete("/iot/v1/devices/d2").status_code == 404
    page = client.get("/iot/v1/devices", params={"limit": 1, "offset": 1})
    assert len(page.json()) == 1 and page.headers["ngsild-results-count"] == "2"


def test_entity_id_of_an_existing_entity_is_kept(client: TestClient):
    spot = {"id": "urn:ngsi-ld:ParkingSpot:P1-001", "type": "ParkingSpot",
            "name": {"type": "Property", "value": "P1 spot 1"}}  # fmt: skip
    assert client.post("/ngsi-ld/v1/entities", json=spot).status_code == 201
    body = {"deviceId": "spot-1", "profile": "ParkingSpot", "entityId": spot["id"]}
    assert client.post("/iot/v1/devices", json=body).status_code == 201
    kept = client.get(f"/ngsi-ld/v1/entities/{spot['id']}").json()
    assert kept["name"]["value"] == "P1 spot 1"
    assert client.get("/iot/v1/devices/spot-1").json()["observationId"] == spot["id"]


def test_duplicate_device_is_a_conflict(client: TestClient):
    assert client.post("/iot/v1/devices", json=DEVICE).status_code == 201
    again = client.post("/iot/v1/devices", json=DEVICE)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"deviceId": "has space"}, "deviceId"),
        ({"deviceId": "x" * 65}, "deviceId"),
        ({"profile": "Toaster"}, "unknown device profile 'Toaster'"),
        ({"ownerClass": "alien"}, "ownerClass"),
        ({"protocol": "xml"}, "protocol"),
        ({"units": {"t": "KMH"}}, "cannot express temperature"),
        ({"units": {"zz": "CEL"}}, "no measure 'zz'"),
        ({"units": {"t": "NOPE"}}, "unknown unit code"),
        ({"location": {"type": "Point", "coordinates": [500, 36]}}, "not a longitude"),
        ({"location": {"type": "Polygon", "coordinates": [1, 2]}}, "location"),
        ({"entityId": "not a uri"}, "not a URI"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_provisioning_requests(client: TestClient, change: dict, reason: str):
    bad = client.post("/iot/v1/devices", json=DEVICE | change)
    assert bad.status_code == 400, bad.text
    problem = bad.json()
    assert problem["status"] == 400 and reason in problem["detail"]
    assert client.get("/iot/v1/devices").json() == []


def test_bad_queries_and_unknown_devices(client: TestClient):
    assert client.get("/iot/v1/devices", params={"state": "lost"}).status_code == 400
    assert client.get("/iot/v1/devices", params={"limit": 0}).status_code == 400
    unknown = client.get("/iot/v1/devices", params={"profile": "Toaster"})
    assert unknown.status_code == 400 and "Toaster" in unknown.json()["detail"]
    assert client.get("/iot/v1/devices/nobody").status_code == 404
    assert client.get("/iot/v1/devices/bad%20id").status_code == 400
    assert client.post("/iot/v1/devices/nobody/revoke").status_code == 404


def test_commands_are_queued_and_checked(client: TestClient):
    light = {"deviceId": "light-1", "profile": "Streetlight"}
    assert client.post("/iot/v1/devices", json=light).status_code == 201
    sent = client.post("/iot/v1/commands/light-1", json={"name": "power", "value": "off"})
    assert sent.status_code == 202, sent.text
    assert sent.json()["status"] == "PENDING"
    device = client.get("/iot/v1/devices/light-1").json()
    assert device["command"]["name"] == "power" and device["command"]["value"] == "off"
    wrong = client.post("/iot/v1/commands/light-1", json={"name": "explode"})
    assert wrong.status_code == 400 and "commands: power, dim" in wrong.json()["detail"]
    assert client.post("/iot/v1/commands/nobody", json={"name": "power"}).status_code == 404
    assert client.post("/iot/v1/commands/light-1", json={"value": 1}).status_code == 400
    client.post("/iot/v1/devices/light-1/revoke")
    revoked = client.post("/iot/v1/commands/light-1", json={"name": "power"})
    assert revoked.status_code == 400 and "revoked" in revoked.json()["detail"]


def test_profiles_are_listed(client: TestClient):
    listed = client.get("/iot/v1/profiles").json()
    assert len(listed) == 10
    aq = next(p for p in listed if p["name"] == "AirQualityObserved")
    no2 = next(m for m in aq["measures"] if m["key"] == "no2")
    assert no2 == {"key": "no2", "attribute": "no2", "kind": "number", "unitCode": "59",
                   "deviceUnitCode": "61", "minimum": 0.0, "maximum": 2.0}  # fmt: skip


def test_registry_devices_change_only_through_the_registry(client: TestClient):
    created = client.post("/iot/v1/devices", json=DEVICE).json()
    eid = "urn:ngsi-ld:Device:aq-1"
    forged = {"apiKeyHash": {"type": "Property", "value": "sha256$00$" + "0" * 64}}
    patched = client.patch(f"/ngsi-ld/v1/entities/{eid}/attrs", json=forged)
    assert patched.status_code == 403, patched.text
    assert "changed through /iot/v1 only" in patched.json()["detail"]
    client.post("/iot/v1/devices/aq-1/revoke")
    revive = {"deviceState": {"type": "Property", "value": "active"}}
    assert client.patch(f"/ngsi-ld/v1/entities/{eid}/attrs", json=revive).status_code == 403
    fake = {"id": "urn:ngsi-ld:Device:fake", "type": "Device", **forged}
    assert client.post("/ngsi-ld/v1/entities", json=fake).status_code == 403
    batch = client.post("/ngsi-ld/v1/entityOperations/upsert", json=[fake])
    assert batch.status_code in (207, 400, 403) and "fake" not in str(
        client.get("/iot/v1/devices").json()
    )
    twin_device = {"id": "urn:ngsi-ld:Device:cctv-1", "type": "Device",
                   "name": {"type": "Property", "value": "CCTV"}}  # fmt: skip
    assert client.post("/ngsi-ld/v1/entities", json=twin_device).status_code == 201
    assert client.get("/iot/v1/devices/aq-1").json()["state"] == "revoked"
    assert created["apiKey"]


def test_observation_id_taken_by_another_entity_leaves_no_device(client: TestClient):
    other = {"id": "urn:ngsi-ld:AirQualityObserved:aq-1", "type": "AirQualityObserved"}
    assert client.post("/ngsi-ld/v1/entities", json=other).status_code == 201
    taken = client.post("/iot/v1/devices", json=DEVICE)
    assert taken.status_code == 409
    assert client.get("/iot/v1/devices/aq-1").status_code == 404


class _CrashBeforeCommit:
    @hookimpl
    def hub_before_commit(self, transaction, tenant, changes):
        raise RuntimeError("power cut")


def test_a_failure_mid_provisioning_writes_nothing(hub):
    hub.plugins.register(_CrashBeforeCommit(), name="crash")
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            provision(hub, DeviceSpec("aq-9", "AirQualityObserved"))
    finally:
        hub.plugins.unregister(name="crash")
    ctx = hub.context()
    page = hub.query_entities(EntityQuery(ids=["urn:ngsi-ld:Device:aq-9",
                                               "urn:ngsi-ld:AirQualityObserved:aq-9"],
                                          local=True, limit=10), ctx)  # fmt: skip
    assert page.entities == []
