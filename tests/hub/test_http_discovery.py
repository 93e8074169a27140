"""Discovery of entity types and attributes over HTTP (ETSI GS CIM 009 §5.7.5-§5.7.10, §6.25-§6.28).

The payloads are the EntityTypeList, EntityType, EntityTypeInfo, AttributeList and Attribute data
types (§5.2.24-§5.2.29): exactly their members, names compacted with the request's @context and
``id`` always the expanded IRI.
"""

from __future__ import annotations

from urllib.parse import quote

import orjson
import pytest

from conftest import make_entity, point

V = "/ngsi-ld/v1"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"
VOCAB = "https://example.org/city#"


def iri(term):
    """The IRI of a term the core context does not define (its @vocab applies)."""
    return DEFAULT + term


@pytest.fixture
def city(client):
    """Two buildings, a vehicle that is also a car (with a multi-instance attribute), and one
    entity in a vocabulary of its own."""
    entities = [
        make_entity(
            "urn:ngsi-ld:Building:B1",
            "Building",
            name="City Hall",
            owner={"type": "Relationship", "object": "urn:ngsi-ld:Org:City"},
            location=point(127.289, 36.48),
        ),
        make_entity("urn:ngsi-ld:Building:B2", "Building", name="Library"),
        {
            "id": "urn:ngsi-ld:Vehicle:V1",
            "type": ["Vehicle", "Car"],
            "speed": [
                {"type": "Property", "value": 30},
                {"type": "Property", "value": 31, "datasetId": "urn:ds:gps"},
            ],
            "name": {"type": "LanguageProperty", "languageMap": {"en": "bus"}},
        },
    ]
    for entity in entities:
        assert client.post(f"{V}/entities", json=entity).status_code == 201
    park = {
        "@context": [{"Park": VOCAB + "Park", "area": VOCAB + "area"}, CORE],
        "id": "urn:ngsi-ld:Park:P1",
        "type": "Park",
        "area": {"type": "Property", "value": 12.5},
    }
    response = client.post(
        f"{V}/entities",
        content=orjson.dumps(park),
        headers={"Content-Type": "application/ld+json"},
    )
    assert response.status_code == 201
    return entities


def ok(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert CORE in response.headers["link"]
    return response.json()


def test_entity_type_list(client, city):
    body = ok(client.get(f"{V}/types"))
    assert set(body) == {"id", "type", "typeList"}
    assert body["type"] == "EntityTypeList"
    assert body["id"].startswith("urn:")
    assert sorted(body["typeList"]) == sorted(["Building", "Car", VOCAB + "Park", "Vehicle"])


def test_entity_type_list_compacts_with_the_request_context(client, city):
    park_context = {"@context": [{"Park": VOCAB + "Park"}, CORE]}
    hosted = client.post(f"{V}/jsonldContexts", json=park_context)
    link = f'<http://testserver{hosted.headers["location"]}>; rel="http://www.w3.org/ns/json-ld#context"'
    body = client.get(f"{V}/types", headers={"Link": link}).json()
    assert "Park" in body["typeList"]


def test_entity_types_with_details(client, city):
    body = ok(client.get(f"{V}/types", params={"details": "true"}))
    by_name = {item["typeName"]: item for item in body}
    assert set(by_name) == {"Building", "Car", VOCAB + "Park", "Vehicle"}
    for item in body:
        assert set(item) == {"id", "type", "typeName", "attributeNames"}
        assert item["type"] == "EntityType"
    assert by_name["Building"]["id"] == iri("Building")
    assert sorted(by_name["Building"]["attributeNames"]) == ["location", "name", "owner"]
    assert sorted(by_name["Car"]["attributeNames"]) == ["name", "speed"]
    assert by_name[VOCAB + "Park"]["attributeNames"] == [VOCAB + "area"]


def test_entity_type_info(client, city):
    body = ok(client.get(f"{V}/types/Building"))
    assert set(body) == {"id", "type", "typeName", "entityCount", "attributeDetails"}
    assert body["type"] == "EntityTypeInfo"
    assert body["id"] == iri("Building")
    assert body["typeName"] == "Building"
    assert body["entityCount"] == 2
    details = {d["attributeName"]: d for d in body["attributeDetails"]}
    assert set(details) == {"name", "owner", "location"}
    for detail in details.values():
        assert set(detail) == {"id", "type", "attributeName", "attributeTypes"}
        assert detail["type"] == "Attribute"
    assert details["owner"]["attributeTypes"] == ["Relationship"]
    assert details["location"]["attributeTypes"] == ["GeoProperty"]
    assert details["location"]["id"] == "https://uri.etsi.org/ngsi-ld/location"
    assert details["name"]["id"] == iri("name")


def test_entity_type_info_of_a_multi_typed_entity(client, city):
    body = ok(client.get(f"{V}/types/Car"))
    assert body["entityCount"] == 1
    details = {d["attributeName"]: d["attributeTypes"] for d in body["attributeDetails"]}
    assert details == {"name": ["LanguageProperty"], "speed": ["Property"]}


def test_entity_type_info_by_expanded_name(client, city):
    by_iri = ok(client.get(f"{V}/types/{quote(VOCAB + 'Park', safe='')}"))
    assert by_iri["id"] == VOCAB + "Park"
    assert by_iri["entityCount"] == 1
    assert ok(client.get(f"{V}/types/{quote(iri('Building'), safe='')}"))["entityCount"] == 2


def test_unknown_entity_type_is_404(client, city):
    response = client.get(f"{V}/types/Spaceship")
    assert response.status_code == 404
    assert response.json()["type"] == ERR + "ResourceNotFound"


def test_attribute_list(client, city):
    body = ok(client.get(f"{V}/attributes"))
    assert set(body) == {"id", "type", "attributeList"}
    assert body["type"] == "AttributeList"
    assert body["id"].startswith("urn:")
    expected = ["location", "name", "owner", "speed", VOCAB + "area"]
    assert sorted(body["attributeList"]) == sorted(expected)


def test_attributes_with_details(client, city):
    body = ok(client.get(f"{V}/attributes", params={"details": "true"}))
    by_name = {item["attributeName"]: item for item in body}
    assert set(by_name) == {"location", "name", "owner", "speed", VOCAB + "area"}
    for item in body:
        assert set(item) == {"id", "type", "attributeName", "typeNames"}
        assert item["type"] == "Attribute"
    assert sorted(by_name["name"]["typeNames"]) == ["Building", "Car", "Vehicle"]
    assert by_name["speed"]["id"] == iri("speed")


def test_attribute_info(client, city):
    body = ok(client.get(f"{V}/attributes/name"))
    assert set(body) == {
        "id",
        "type",
        "attributeName",
        "attributeCount",
        "attributeTypes",
        "typeNames",
    }
    assert body["id"] == iri("name")
    assert body["attributeName"] == "name"
    assert body["attributeCount"] == 3
    assert sorted(body["attributeTypes"]) == ["LanguageProperty", "Property"]
    assert sorted(body["typeNames"]) == ["Building", "Car", "Vehicle"]


def test_attribute_info_by_expanded_name_and_unknown(client, city):
    by_iri = ok(client.get(f"{V}/attributes/{quote(VOCAB + 'area', safe='')}"))
    assert by_iri["attributeName"] == VOCAB + "area"
    assert by_iri["typeNames"] == [VOCAB + "Park"]
    missing = client.get(f"{V}/attributes/colour")
    assert missing.status_code == 404
    assert missing.json()["type"] == ERR + "ResourceNotFound"


def test_discovery_as_json_ld_embeds_the_context(client, city):
    response = client.get(f"{V}/types/Building", headers={"Accept": "application/ld+json"})
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.json()["@context"] == CORE
    listed = client.get(
        f"{V}/attributes", params={"details": "true"}, headers={"Accept": "application/ld+json"}
    ).json()
    assert all(item["@context"] == CORE for item in listed)


def test_discovery_follows_writes(client, city):
    assert client.delete(f"{V}/entities/urn:ngsi-ld:Building:B2").status_code == 204
    assert ok(client.get(f"{V}/types/Building"))["entityCount"] == 1
    assert client.delete(f"{V}/entities/urn:ngsi-ld:Building:B1").status_code == 204
    assert client.get(f"{V}/types/Building").status_code == 404
    assert "owner" not in ok(client.get(f"{V}/attributes"))["attributeList"]


def test_empty_hub_lists_nothing_and_bad_details_is_400(client):
    assert ok(client.get(f"{V}/types"))["typeList"] == []
    assert ok(client.get(f"{V}/attributes"))["attributeList"] == []
    assert ok(client.get(f"{V}/types", params={"details": "true"})) == []
    bad = client.get(f"{V}/types", params={"details": "yes"})
    assert bad.status_code == 400
    assert bad.json()["type"] == ERR + "BadRequestData"
