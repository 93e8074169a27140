"""Attribute operations over HTTP (ETSI GS CIM 009 §5.6.2-§5.6.5, §5.6.19, §6.6-§6.7).

Append, update, partial update, replace and delete of attributes, multi-instance attributes keyed
by ``datasetId`` (§4.5.5), sub-attributes, system timestamps, NGSI-LD Null, and bad inputs that
must leave the entity untouched.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import orjson
import pytest

from conftest import make_entity

E = "/ngsi-ld/v1/entities"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
EID = "urn:ngsi-ld:Vehicle:V1"
URL = f"{E}/{EID}"
ATTRS = f"{URL}/attrs"
#: UpdateResult names attributes by their expanded IRIs (default vocabulary here).
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


def prop(value, **extra):
    """A normalized Property."""
    return {"type": "Property", "value": value, **extra}


def rel(target, **extra):
    """A normalized Relationship."""
    return {"type": "Relationship", "object": target, **extra}


def assert_problem(response, status, kind):
    """The response is an RFC 7807 problem of the given NGSI-LD error type."""
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["type"] == ERR + kind
    assert problem["title"] and problem["detail"]


@pytest.fixture
def vehicle(client):
    """A vehicle with a plain Property, a Property with metadata and sub-attributes, and a
    Relationship."""
    entity = make_entity(
        EID,
        "Vehicle",
        brand="Hyundai",
        speed=prop(
            80,
            unitCode="KMH",
            observedAt="2026-03-01T10:00:00Z",
            accuracy=prop(0.5),
            measuredBy=rel("urn:ngsi-ld:Sensor:S1"),
        ),
        parkedAt=rel("urn:ngsi-ld:Parking:P1"),
    )
    assert client.post(E, json=entity).status_code == 201
    return entity


def get(client, **params):
    response = client.get(URL, params=params)
    assert response.status_code == 200
    return response.json()


# -- POST /entities/{id}/attrs (append, §5.6.3) -------------------------------------------------
def test_append_adds_new_and_overwrites_existing(client, vehicle):
    response = client.post(ATTRS, json={"color": prop("red"), "brand": prop("Kia")})
    assert response.status_code == 204
    assert response.content == b""
    body = get(client)
    assert body["color"] == prop("red")
    assert body["brand"] == prop("Kia")
    assert body["speed"] == vehicle["speed"]


def test_append_no_overwrite_reports_kept_attributes(client, vehicle):
    response = client.post(
        ATTRS,
        params={"options": "noOverwrite"},
        json={"brand": prop("Kia"), "color": prop("red")},
    )
    assert response.status_code == 207
    result = response.json()
    assert result["updated"] == [VOCAB + "color"]
    assert [n["attributeName"] for n in result["notUpdated"]] == [VOCAB + "brand"]
    assert result["notUpdated"][0]["reason"]
    body = get(client)
    assert body["brand"] == vehicle["brand"]
    assert body["color"] == prop("red")


def test_append_no_overwrite_with_only_new_attributes_is_204(client, vehicle):
    response = client.post(ATTRS, params={"options": "noOverwrite"}, json={"color": prop("red")})
    assert response.status_code == 204


def test_append_accepts_concise_attributes_and_json_ld(client, vehicle):
    assert client.post(ATTRS, json={"seats": 5, "owner": {"object": "urn:x:o"}}).status_code == 204
    ld = {
        "@context": [{"plate": "https://example.org/vocab#plate"}, CORE],
        "plate": prop("12가3456"),
    }
    response = client.post(
        ATTRS, content=orjson.dumps(ld), headers={"Content-Type": "application/ld+json"}
    )
    assert response.status_code == 204
    body = get(client)
    assert body["seats"] == prop(5)
    assert body["owner"] == rel("urn:x:o")
    assert body["https://example.org/vocab#plate"] == prop("12가3456")


def test_append_to_missing_entity_is_404_and_bad_entity_id_400(client):
    assert_problem(client.post(f"{E}/urn:x:none/attrs", json={"a": 1}), 404, "ResourceNotFound")
    assert_problem(client.post(f"{E}/notauri/attrs", json={"a": 1}), 400, "BadRequestData")


# -- PATCH /entities/{id}/attrs (update, §5.6.2) ------------------------------------------------
def test_update_changes_existing_attributes_only(client, vehicle):
    response = client.patch(ATTRS, json={"brand": prop("Kia")})
    assert response.status_code == 204
    assert get(client)["brand"] == prop("Kia")


def test_update_reports_missing_attributes_and_writes_the_others(client, vehicle):
    response = client.patch(ATTRS, json={"brand": prop("Kia"), "color": prop("red")})
    assert response.status_code == 207
    result = response.json()
    assert result["updated"] == [VOCAB + "brand"]
    assert [n["attributeName"] for n in result["notUpdated"]] == [VOCAB + "color"]
    body = get(client)
    assert body["brand"] == prop("Kia")
    assert "color" not in body


def test_update_adds_entity_types_once(client, vehicle):
    assert client.patch(ATTRS, json={"type": ["Car", "Vehicle"]}).status_code == 204
    assert get(client)["type"] == ["Vehicle", "Car"]
    assert client.patch(ATTRS, json={"type": "Car"}).status_code == 204
    assert get(client)["type"] == ["Vehicle", "Car"]


def test_update_with_ngsi_ld_null_deletes_the_attribute(client, vehicle):
    response = client.patch(ATTRS, json={"parkedAt": rel("urn:ngsi-ld:null")})
    assert response.status_code == 204
    assert "parkedAt" not in get(client)


def test_null_is_refused_on_append_and_deletes_on_update(client, vehicle):
    assert_problem(client.post(ATTRS, json={"brand": None}), 400, "BadRequestData")
    assert get(client)["brand"] == vehicle["brand"]
    assert client.patch(ATTRS, json={"brand": None}).status_code == 204
    assert "brand" not in get(client)
    missing = client.patch(ATTRS, json={"brand": "urn:ngsi-ld:null"})
    assert missing.status_code == 207
    assert missing.json() == {"updated": [], "notUpdated": [missing.json()["notUpdated"][0]]}
    assert missing.json()["notUpdated"][0]["attributeName"] == VOCAB + "brand"


def test_update_of_missing_entity_is_404(client):
    assert_problem(client.patch(f"{E}/urn:x:none/attrs", json={"a": 1}), 404, "ResourceNotFound")


# -- PATCH /entities/{id}/attrs/{attr} (partial update, §5.6.4) ---------------------------------
def test_partial_update_keeps_metadata_and_sub_attributes(client, vehicle):
    response = client.patch(f"{ATTRS}/speed", json={"value": 95})
    assert response.status_code == 204
    speed = get(client)["speed"]
    assert speed["value"] == 95
    assert speed["type"] == "Property"
    for kept in ("unitCode", "observedAt", "accuracy", "measuredBy"):
        assert speed[kept] == vehicle["speed"][kept]


def test_partial_update_merges_sub_attributes(client, vehicle):
    fragment = {"accuracy": prop(0.1), "calibrated": prop(True)}
    assert client.patch(f"{ATTRS}/speed", json=fragment).status_code == 204
    speed = get(client)["speed"]
    assert speed["value"] == vehicle["speed"]["value"]
    assert speed["accuracy"] == prop(0.1)
    assert speed["calibrated"] == prop(True)
    assert speed["measuredBy"] == vehicle["speed"]["measuredBy"]


def test_partial_update_can_remove_a_sub_attribute_with_ngsi_ld_null(client, vehicle):
    response = client.patch(f"{ATTRS}/speed", json={"accuracy": "urn:ngsi-ld:null"})
    assert response.status_code == 204
    speed = get(client)["speed"]
    assert "accuracy" not in speed
    assert speed["measuredBy"] == vehicle["speed"]["measuredBy"]


def test_partial_update_with_ngsi_ld_null_deletes_the_attribute(client, vehicle):
    response = client.patch(f"{ATTRS}/brand", json=prop("urn:ngsi-ld:null"))
    assert response.status_code == 204
    assert "brand" not in get(client)


def test_partial_update_of_a_relationship(client, vehicle):
    response = client.patch(f"{ATTRS}/parkedAt", json={"object": "urn:ngsi-ld:Parking:P2"})
    assert response.status_code == 204
    assert get(client)["parkedAt"] == rel("urn:ngsi-ld:Parking:P2")


def test_partial_update_of_missing_attribute_or_entity_is_404(client, vehicle):
    before = get(client)
    assert_problem(client.patch(f"{ATTRS}/color", json={"value": 1}), 404, "ResourceNotFound")
    missing = client.patch(f"{E}/urn:x:none/attrs/speed", json={"value": 1})
    assert_problem(missing, 404, "ResourceNotFound")
    assert get(client) == before


def test_partial_update_with_expanded_attribute_name(client, vehicle):
    iri = quote("https://uri.etsi.org/ngsi-ld/default-context/brand", safe="")
    assert client.patch(f"{ATTRS}/{iri}", json={"value": "Kia"}).status_code == 204
    assert get(client)["brand"] == prop("Kia")


# -- PUT /entities/{id}/attrs/{attr} (replace, §5.6.19) -----------------------------------------
def test_replace_drops_old_metadata_and_sub_attributes(client, vehicle):
    response = client.put(f"{ATTRS}/speed", json=prop(60, unitCode="KMH"))
    assert response.status_code == 204
    assert get(client)["speed"] == prop(60, unitCode="KMH")


def test_replace_can_change_the_attribute_type(client, vehicle):
    assert client.put(f"{ATTRS}/brand", json=rel("urn:ngsi-ld:Brand:B1")).status_code == 204
    assert get(client)["brand"] == rel("urn:ngsi-ld:Brand:B1")


def test_replace_of_missing_attribute_is_404(client, vehicle):
    assert_problem(client.put(f"{ATTRS}/color", json=prop("red")), 404, "ResourceNotFound")
    assert "color" not in get(client)


# -- DELETE /entities/{id}/attrs/{attr} (§5.6.5) ------------------------------------------------
def test_delete_attribute(client, vehicle):
    assert client.delete(f"{ATTRS}/brand").status_code == 204
    assert "brand" not in get(client)
    assert_problem(client.delete(f"{ATTRS}/brand"), 404, "ResourceNotFound")
    assert_problem(client.delete(f"{E}/urn:x:none/attrs/brand"), 404, "ResourceNotFound")


def test_delete_attribute_parameters_are_validated(client, vehicle):
    before = get(client)
    for params in (
        {"datasetId": "not a uri"},
        {"deleteAll": "yes"},
        {"deleteAll": "true", "datasetId": "urn:ds:1"},
    ):
        assert_problem(client.delete(f"{ATTRS}/brand", params=params), 400, "BadRequestData")
    assert get(client) == before


# -- multi-instance attributes (§4.5.5) ---------------------------------------------------------
@pytest.fixture
def multi(client):
    """An entity whose ``speed`` has a default instance and one with datasetId ``urn:ds:gps``."""
    entity = {
        "id": EID,
        "type": "Vehicle",
        "speed": [prop(80, unitCode="KMH"), prop(82, datasetId="urn:ds:gps")],
    }
    assert client.post(E, json=entity).status_code == 201
    return entity


def instances(body, name):
    """The instances of an attribute in a normalized entity, keyed by datasetId."""
    found = body[name] if isinstance(body[name], list) else [body[name]]
    return {i.get("datasetId"): i for i in found}


def test_multi_instance_attribute_round_trips(client, multi):
    body = get(client)
    assert isinstance(body["speed"], list)
    assert instances(body, "speed") == {None: multi["speed"][0], "urn:ds:gps": multi["speed"][1]}
    assert get(client, options="keyValues")["speed"] == 80  # the default instance


def test_append_new_dataset_instance_and_overwrite_one(client, multi):
    new = prop(79, datasetId="urn:ds:radar")
    assert client.post(ATTRS, json={"speed": new}).status_code == 204
    assert client.post(ATTRS, json={"speed": prop(90, datasetId="urn:ds:gps")}).status_code == 204
    found = instances(get(client), "speed")
    assert set(found) == {None, "urn:ds:gps", "urn:ds:radar"}
    assert found["urn:ds:gps"]["value"] == 90
    assert found[None] == multi["speed"][0]


def test_append_array_of_instances_and_reject_repeated_dataset_id(client, multi):
    both = [prop(1, datasetId="urn:ds:a"), prop(2, datasetId="urn:ds:b")]
    assert client.post(ATTRS, json={"speed": both}).status_code == 204
    assert set(instances(get(client), "speed")) == {None, "urn:ds:gps", "urn:ds:a", "urn:ds:b"}
    twice = [prop(1, datasetId="urn:ds:c"), prop(2, datasetId="urn:ds:c")]
    assert_problem(client.post(ATTRS, json={"speed": twice}), 400, "BadRequestData")
    assert "urn:ds:c" not in instances(get(client), "speed")


def test_update_and_partial_update_address_one_dataset_instance(client, multi):
    assert client.patch(ATTRS, json={"speed": prop(85, datasetId="urn:ds:gps")}).status_code == 204
    missing = client.patch(ATTRS, json={"speed": prop(1, datasetId="urn:ds:none")})
    assert missing.status_code == 207
    assert missing.json()["notUpdated"][0]["attributeName"] == VOCAB + "speed"
    partial = {"value": 86, "datasetId": "urn:ds:gps"}
    assert client.patch(f"{ATTRS}/speed", json=partial).status_code == 204
    unknown = {"value": 1, "datasetId": "urn:ds:none"}
    assert_problem(client.patch(f"{ATTRS}/speed", json=unknown), 404, "ResourceNotFound")
    found = instances(get(client), "speed")
    assert found["urn:ds:gps"]["value"] == 86
    assert found[None] == multi["speed"][0]


def test_partial_update_without_default_instance_is_404(client):
    entity = {"id": EID, "type": "Vehicle", "speed": prop(1, datasetId="urn:ds:gps")}
    assert client.post(E, json=entity).status_code == 201
    assert_problem(client.patch(f"{ATTRS}/speed", json={"value": 2}), 404, "ResourceNotFound")


def test_delete_one_dataset_instance_then_the_default_then_all(client, multi):
    assert client.delete(f"{ATTRS}/speed", params={"datasetId": "urn:ds:gps"}).status_code == 204
    assert set(instances(get(client), "speed")) == {None}
    gone = client.delete(f"{ATTRS}/speed", params={"datasetId": "urn:ds:gps"})
    assert_problem(gone, 404, "ResourceNotFound")
    body = {"speed": [prop(1, datasetId="urn:ds:a"), prop(2, datasetId="urn:ds:b")]}
    assert client.post(ATTRS, json=body).status_code == 204
    assert client.delete(f"{ATTRS}/speed").status_code == 204  # the default instance only
    assert set(instances(get(client), "speed")) == {"urn:ds:a", "urn:ds:b"}
    assert client.delete(f"{ATTRS}/speed", params={"deleteAll": "true"}).status_code == 204
    assert "speed" not in get(client)


# -- sub-attributes and system attributes --------------------------------------------------------
def test_property_and_relationship_of_property_in_every_format(client, vehicle):
    normalized = get(client)["speed"]
    assert normalized["accuracy"] == prop(0.5)
    assert normalized["measuredBy"] == rel("urn:ngsi-ld:Sensor:S1")
    assert normalized["unitCode"] == "KMH"
    assert normalized["observedAt"] == "2026-03-01T10:00:00Z"
    concise = get(client, format="concise")["speed"]
    assert concise["accuracy"] == 0.5
    assert concise["measuredBy"] == {"object": "urn:ngsi-ld:Sensor:S1"}
    assert get(client, options="keyValues")["speed"] == 80


def test_sys_attrs_modified_at_moves_and_created_at_stays(client, vehicle):
    before = get(client, options="sysAttrs")
    time.sleep(0.005)
    assert client.patch(f"{ATTRS}/speed", json={"value": 81}).status_code == 204
    time.sleep(0.005)
    assert client.put(f"{ATTRS}/brand", json=prop("Kia")).status_code == 204
    after = get(client, options="sysAttrs")
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]
    for name in ("speed", "brand"):
        assert after[name]["createdAt"] == before[name]["createdAt"]
        assert after[name]["modifiedAt"] > before[name]["modifiedAt"]
    assert after["parkedAt"] == before["parkedAt"]
    assert after["speed"]["accuracy"] == before["speed"]["accuracy"]


# -- bad inputs write nothing ---------------------------------------------------------------------
BAD_APPENDS = [
    ["not", "an", "object"],
    "text",
    {},
    {"color": {"type": "Property", "value": None}},
    {"color": {"type": "Property"}},
    {"color": {"type": "Relationship", "object": "not a uri"}},
    {"color": prop("red", datasetId="not a uri")},
    {"bad name": prop(1)},
    {"color": prop("red", observedAt="yesterday")},
    {"color": {"type": "Wrong", "value": 1}},
    {"color": prop("red", nested=prop(None))},
    {"id": "urn:ngsi-ld:Vehicle:OTHER", "color": prop("red")},
]


@pytest.mark.parametrize("payload", BAD_APPENDS)
def test_bad_append_and_update_payloads_write_nothing(client, vehicle, payload):
    before = get(client, options="sysAttrs")
    assert_problem(client.post(ATTRS, json=payload), 400, "BadRequestData")
    assert_problem(client.patch(ATTRS, json=payload), 400, "BadRequestData")
    assert get(client, options="sysAttrs") == before


@pytest.mark.parametrize(
    "payload",
    [
        ["not an object"],
        {},
        {"type": "Property"},
        {"value": None},
        {"type": "Wrong", "value": 1},
        {"value": 1, "datasetId": "not a uri"},
        {"value": 1, "observedAt": "yesterday"},
        {"value": 1, "bad name": prop(1)},
    ],
)
def test_bad_partial_update_and_replace_payloads_write_nothing(client, vehicle, payload):
    before = get(client, options="sysAttrs")
    assert_problem(client.patch(f"{ATTRS}/speed", json=payload), 400, "BadRequestData")
    assert_problem(client.put(f"{ATTRS}/speed", json=payload), 400, "BadRequestData")
    assert get(client, options="sysAttrs") == before


def test_malformed_json_and_wrong_media_type(client, vehicle):
    broken = client.post(ATTRS, content=b'{"color": ', headers={"Content-Type": "application/json"})
    assert_problem(broken, 400, "InvalidRequest")
    text = client.post(ATTRS, content=b"color=red", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    assert "color" not in get(client)
