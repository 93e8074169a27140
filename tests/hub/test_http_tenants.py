"""Tenants over HTTP: the ``NGSILD-Tenant`` header (ETSI GS CIM 009 §4.14, §6.3.14, §5.5.13).

Each tenant is a separate store. A write creates its tenant; reading from (or updating in) a
tenant never written to is ``NonexistentTenant`` (404), while the default tenant always exists.
"""

from __future__ import annotations

import pytest

from conftest import make_entity

V = "/ngsi-ld/v1"
E = f"{V}/entities"
B = f"{V}/entityOperations"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
EID = "urn:ngsi-ld:Sensor:S1"
A = {"NGSILD-Tenant": "city_a"}
B_TENANT = {"NGSILD-Tenant": "city-b"}
NEVER = {"NGSILD-Tenant": "never.written"}


def assert_problem(response, status, kind):
    assert response.status_code == status, response.text
    assert response.json()["type"] == ERR + kind


@pytest.fixture
def in_a(client):
    """One entity in tenant A, one (same id, other value) in tenant B, none in the default."""
    assert client.post(E, json=make_entity(EID, "Sensor", t=1), headers=A).status_code == 201
    assert client.post(E, json=make_entity(EID, "Sensor", t=2), headers=B_TENANT).status_code == 201


def test_entities_are_isolated_per_tenant(client, in_a):
    assert client.get(f"{E}/{EID}", headers=A).json()["t"]["value"] == 1
    assert client.get(f"{E}/{EID}", headers=B_TENANT).json()["t"]["value"] == 2
    assert_problem(client.get(f"{E}/{EID}"), 404, "ResourceNotFound")
    assert client.get(E, params={"type": "Sensor"}).json() == []
    queried = client.get(E, params={"type": "Sensor"}, headers=A).json()
    assert [(e["id"], e["t"]["value"]) for e in queried] == [(EID, 1)]


def test_writes_stay_in_their_tenant(client, in_a):
    assert client.post(f"{E}/{EID}/attrs", json={"u": 5}, headers=A).status_code == 204
    assert "u" not in client.get(f"{E}/{EID}", headers=B_TENANT).json()
    assert client.delete(f"{E}/{EID}", headers=B_TENANT).status_code == 204
    assert client.get(f"{E}/{EID}", headers=A).json()["u"]["value"] == 5
    assert_problem(client.get(f"{E}/{EID}", headers=B_TENANT), 404, "ResourceNotFound")


def test_discovery_is_per_tenant(client, in_a):
    assert client.get(f"{V}/types", headers=A).json()["typeList"] == ["Sensor"]
    assert client.get(f"{V}/types").json()["typeList"] == []
    assert client.get(f"{V}/attributes").json()["attributeList"] == []
    assert client.get(f"{V}/types/Sensor", headers=A).json()["entityCount"] == 1
    assert_problem(client.get(f"{V}/types/Sensor"), 404, "ResourceNotFound")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{E}/{EID}", None),
        ("GET", f"{E}?type=Sensor", None),
        ("GET", f"{V}/types", None),
        ("GET", f"{V}/types/Sensor", None),
        ("GET", f"{V}/attributes", None),
        ("GET", f"{V}/attributes/t", None),
        ("POST", f"{B}/query", {"type": "Query", "entities": [{"type": "Sensor"}]}),
        ("POST", f"{B}/delete", [EID]),
        ("POST", f"{B}/update", [make_entity(EID, "Sensor", t=3)]),
        ("PATCH", f"{E}/{EID}/attrs", {"t": 3}),
        ("POST", f"{E}/{EID}/attrs", {"t": 3}),
        ("PATCH", f"{E}/{EID}/attrs/t", {"value": 3}),
        ("DELETE", f"{E}/{EID}/attrs/t", None),
        ("DELETE", f"{E}/{EID}", None),
    ],
)
def test_operations_on_a_tenant_never_written_are_nonexistent_tenant(
    client, in_a, method, path, body
):
    response = client.request(method, path, json=body, headers=NEVER)
    assert_problem(response, 404, "NonexistentTenant")
    assert response.json()["title"]
    assert_problem(client.get(f"{V}/types", headers=NEVER), 404, "NonexistentTenant")


def test_the_default_tenant_always_exists(client):
    assert client.get(f"{V}/types").status_code == 200
    assert client.get(E, params={"type": "Sensor"}).json() == []
    assert client.get(E, params={"type": "Sensor"}, headers={"NGSILD-Tenant": ""}).json() == []


@pytest.mark.parametrize("name", ["bad tenant", "tenant/x", "x" * 65, "tenant*", "a;b"])
def test_invalid_tenant_names_are_400(client, name):
    headers = {"NGSILD-Tenant": name}
    response = client.post(E, json=make_entity(EID, "Sensor"), headers=headers)
    assert_problem(response, 400, "BadRequestData")
    assert_problem(client.get(f"{E}/{EID}", headers=headers), 400, "BadRequestData")


def test_tenant_names_are_case_sensitive(client, in_a):
    assert_problem(
        client.get(f"{E}/{EID}", headers={"NGSILD-Tenant": "CITY_A"}), 404, "NonexistentTenant"
    )


def test_a_write_creates_the_tenant(client):
    new = {"NGSILD-Tenant": "fresh"}
    assert_problem(client.get(f"{V}/types", headers=new), 404, "NonexistentTenant")
    assert client.post(E, json=make_entity(EID, "Sensor"), headers=new).status_code == 201
    assert client.get(f"{V}/types", headers=new).json()["typeList"] == ["Sensor"]
    assert client.delete(f"{E}/{EID}", headers=new).status_code == 204
    assert client.get(f"{V}/types", headers=new).json()["typeList"] == []  # still exists


def test_batch_operations_per_tenant(client):
    batch = [make_entity(f"urn:ngsi-ld:Sensor:{n}", "Sensor", t=n) for n in range(3)]
    assert client.post(f"{B}/create", json=batch, headers=A).status_code == 201
    assert client.post(f"{B}/create", json=batch[:1], headers=B_TENANT).status_code == 201
    upsert = client.post(f"{B}/upsert", json=batch, headers=B_TENANT)
    assert upsert.status_code == 201
    assert upsert.json() == ["urn:ngsi-ld:Sensor:1", "urn:ngsi-ld:Sensor:2"]
    query = {"type": "Query", "entities": [{"type": "Sensor"}]}
    counted = client.post(f"{B}/query", json=query, params={"count": "true"}, headers=A)
    assert counted.headers["NGSILD-Results-Count"] == "3"
    assert client.post(f"{B}/delete", json=["urn:ngsi-ld:Sensor:0"], headers=A).status_code == 204
    assert client.get(f"{E}/urn:ngsi-ld:Sensor:0", headers=B_TENANT).status_code == 200
    assert client.post(f"{B}/query", json=query).json() == []


def test_a_batch_that_writes_nothing_creates_no_tenant(client):
    bad = [{"id": "urn:ngsi-ld:Sensor:1"}, {"id": "not a uri", "type": "Sensor"}]
    response = client.post(f"{B}/create", json=bad, headers=NEVER)
    assert response.status_code == 207
    assert response.json()["success"] == []
    assert_problem(client.get(f"{V}/types", headers=NEVER), 404, "NonexistentTenant")
