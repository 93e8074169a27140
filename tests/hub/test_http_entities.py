"""Entity CRUD over HTTP: status codes, headers, error types and no partial writes."""

from __future__ import annotations

import orjson

from conftest import make_entity, point

E = "/ngsi-ld/v1/entities"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
LD = {"Content-Type": "application/ld+json"}


def create(client, entity, **kwargs):
    return client.post(E, json=entity, **kwargs)


def test_create_and_retrieve_normalized(client):
    entity = make_entity(
        pm25={
            "type": "Property",
            "value": 24.5,
            "unitCode": "GQ",
            "observedAt": "2026-01-01T00:00:00Z",
        },
        location=point(127.3, 36.49),
        refStation={"type": "Relationship", "object": "urn:ngsi-ld:Station:1"},
    )
    response = create(client, entity)
    assert response.status_code == 201
    assert response.headers["location"] == f"{E}/urn:ngsi-ld:AirQualityObserved:S1"
    got = client.get(f"{E}/urn:ngsi-ld:AirQualityObserved:S1")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    assert CORE in got.headers["link"]
    body = got.json()
    assert body["id"] == entity["id"] and body["type"] == "AirQualityObserved"
    assert body["pm25"] == entity["pm25"]
    assert body["location"] == entity["location"]
    assert body["refStation"] == entity["refStation"]
    assert "createdAt" not in body


def test_retrieve_as_json_ld_embeds_context(client):
    create(client, make_entity(pm25=3))
    got = client.get(
        f"{E}/urn:ngsi-ld:AirQualityObserved:S1", headers={"Accept": "application/ld+json"}
    )
    assert got.headers["content-type"].startswith("application/ld+json")
    assert got.json()["@context"] == CORE


def test_representations_and_sys_attrs(client):
    create(client, make_entity(pm25=3, name={"type": "Property", "value": "x", "unitCode": "C62"}))
    url = f"{E}/urn:ngsi-ld:AirQualityObserved:S1"
    kv = client.get(url, params={"options": "keyValues"}).json()
    assert kv == {
        "id": "urn:ngsi-ld:AirQualityObserved:S1",
        "type": "AirQualityObserved",
        "pm25": 3,
        "name": "x",
    }
    assert client.get(url, params={"format": "simplified"}).json() == kv
    concise = client.get(url, params={"format": "concise"}).json()
    assert concise["pm25"] == 3
    assert concise["name"] == {"value": "x", "unitCode": "C62"}
    sys = client.get(url, params={"options": "sysAttrs"}).json()
    assert sys["createdAt"].endswith("Z") and sys["modifiedAt"].endswith("Z")
    assert "createdAt" in sys["pm25"]


def test_concise_input_round_trips(client):
    concise = {
        "id": "urn:ngsi-ld:Building:B1",
        "type": "Building",
        "floors": 7,
        "name": {"value": "Data AI Center", "observedAt": "2026-01-01T00:00:00Z"},
        "owner": {"object": "urn:ngsi-ld:Org:City"},
        "location": {"type": "Point", "coordinates": [127.3, 36.49]},
        "label": {"languageMap": {"ko": "데이터센터", "en": "Data center"}},
    }
    assert create(client, concise).status_code == 201
    body = client.get(f"{E}/urn:ngsi-ld:Building:B1").json()
    assert body["floors"] == {"type": "Property", "value": 7}
    assert body["owner"] == {"type": "Relationship", "object": "urn:ngsi-ld:Org:City"}
    assert body["location"]["type"] == "GeoProperty"
    assert body["label"]["type"] == "LanguageProperty"
    english = client.get(f"{E}/urn:ngsi-ld:Building:B1", params={"lang": "en"}).json()
    assert english["label"] == {"type": "Property", "value": "Data center", "lang": "en"}
    back = client.get(f"{E}/urn:ngsi-ld:Building:B1", params={"format": "concise"}).json()
    assert back["floors"] == 7 and back["owner"] == {"object": "urn:ngsi-ld:Org:City"}


def test_pick_omit_and_attrs(client):
    create(client, make_entity(a=1, b=2, c=3))
    url = f"{E}/urn:ngsi-ld:AirQualityObserved:S1"
    assert set(client.get(url, params={"attrs": "a,b"}).json()) == {"id", "type", "a", "b"}
    assert set(client.get(url, params={"pick": "id,c"}).json()) == {"id", "c"}
    assert set(client.get(url, params={"omit": "type,a"}).json()) == {"id", "b", "c"}
    bad = client.get(url, params={"pick": "a", "omit": "b"})
    assert bad.status_code == 400 and bad.json()["type"] == ERR + "BadRequestData"


def test_duplicate_create_is_conflict(client):
    assert create(client, make_entity(a=1)).status_code == 201
    again = create(client, make_entity(a=2))
    assert again.status_code == 409
    assert again.json()["type"] == ERR + "AlreadyExists"
    assert client.get(f"{E}/urn:ngsi-ld:AirQualityObserved:S1").json()["a"]["value"] == 1


def test_bad_inputs_are_rejected_without_writes(client):
    cases = [
        ({"id": "not a uri", "type": "T"}, 400, "BadRequestData"),
        ({"id": "urn:ngsi-ld:T:1"}, 400, "BadRequestData"),
        ({"type": "T"}, 400, "BadRequestData"),
        (
            make_entity("urn:ngsi-ld:T:1", "T", a={"type": "Property", "value": None}),
            400,
            "BadRequestData",
        ),
        (
            make_entity("urn:ngsi-ld:T:1", "T", a={"type": "Relationship", "object": "no uri"}),
            400,
            "BadRequestData",
        ),
        (
            make_entity("urn:ngsi-ld:T:1", "T", a={"type": "Wrong", "value": 1}),
            400,
            "BadRequestData",
        ),
        (
            make_entity(
                "urn:ngsi-ld:T:1",
                "T",
                location={
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [500, 1]},
                },
            ),
            400,
            "BadRequestData",
        ),
        (
            make_entity(
                "urn:ngsi-ld:T:1",
                "T",
                location={
                    "type": "GeoProperty",
                    "value": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]},
                },
            ),
            400,
            "BadRequestData",
        ),
        (make_entity("urn:ngsi-ld:T:1", "T", **{"bad name": 1}), 400, "BadRequestData"),
        (
            make_entity(
                "urn:ngsi-ld:T:1",
                "T",
                a={"type": "Property", "value": 1, "observedAt": "yesterday"},
            ),
            400,
            "BadRequestData",
        ),
        ([make_entity("urn:ngsi-ld:T:1", "T")], 400, "BadRequestData"),
    ]
    for payload, status, kind in cases:
        response = create(client, payload)
        assert response.status_code == status, payload
        problem = response.json()
        assert problem["type"] == ERR + kind, problem
        assert problem["detail"]
    assert client.get(f"{E}/urn:ngsi-ld:T:1").status_code == 404


def test_malformed_json_content_type_and_size(client):
    bad_json = client.post(
        E, content=b'{"id": "urn:x:1", "type": ', headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and bad_json.json()["type"] == ERR + "InvalidRequest"
    empty = client.post(E, content=b"", headers={"Content-Type": "application/json"})
    assert empty.status_code == 400
    text = client.post(E, content=b"id=1", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    huge = make_entity(blob="x" * (70 * 1024))
    too_big = client.post(
        E, content=orjson.dumps(huge), headers={"Content-Type": "application/json"}
    )
    assert too_big.status_code == 413
    assert client.get(f"{E}/urn:ngsi-ld:AirQualityObserved:S1").status_code == 404


def test_context_placement_rules(client):
    entity = make_entity(a=1)
    no_ctx = client.post(E, content=orjson.dumps(entity), headers=LD)
    assert no_ctx.status_code == 400 and "@context" in no_ctx.json()["detail"]
    with_ctx = dict(entity, **{"@context": CORE})
    json_with_ctx = client.post(E, json=with_ctx)
    assert json_with_ctx.status_code == 400
    assert client.post(E, content=orjson.dumps(with_ctx), headers=LD).status_code == 201


def test_inline_context_expands_names(client):
    entity = dict(
        make_entity("urn:ngsi-ld:Sensor:1", "Sensor", temp=21.5),
        **{
            "@context": [
                {
                    "temp": "https://example.org/vocab#temperature",
                    "Sensor": "https://example.org/vocab#Sensor",
                },
                CORE,
            ]
        },
    )
    assert client.post(E, content=orjson.dumps(entity), headers=LD).status_code == 201
    plain = client.get(f"{E}/urn:ngsi-ld:Sensor:1").json()
    assert plain["type"] == "https://example.org/vocab#Sensor"
    assert plain["https://example.org/vocab#temperature"]["value"] == 21.5
    found = client.get(E, params={"type": "https://example.org/vocab#Sensor"}).json()
    assert [e["id"] for e in found] == ["urn:ngsi-ld:Sensor:1"]


def test_not_acceptable(client):
    create(client, make_entity(a=1))
    response = client.get(f"{E}/urn:ngsi-ld:AirQualityObserved:S1", headers={"Accept": "text/html"})
    assert response.status_code == 406


def test_replace_merge_delete(client):
    url = f"{E}/urn:ngsi-ld:AirQualityObserved:S1"
    create(client, make_entity(a=1, b={"type": "Property", "value": 2, "unitCode": "C62"}, c=3))
    assert (
        client.put(
            url, json={"type": "AirQualityObserved", "a": {"type": "Property", "value": 10}}
        ).status_code
        == 204
    )
    assert set(client.get(url).json()) == {"id", "type", "a"}
    merge = {"a": {"value": 11}, "d": {"type": "Property", "value": 4}}
    assert client.patch(url, json=merge).status_code == 204
    merged = client.get(url).json()
    assert merged["a"]["value"] == 11 and merged["d"]["value"] == 4
    assert client.patch(url, json={"d": "urn:ngsi-ld:null"}).status_code == 204
    assert "d" not in client.get(url).json()
    assert client.patch(f"{E}/urn:ngsi-ld:Missing:1", json=merge).status_code == 404
    assert client.put(f"{E}/urn:ngsi-ld:Missing:1", json={"type": "T"}).status_code == 404
    assert client.delete(url).status_code == 204
    assert client.delete(url).status_code == 404
    missing = client.get(url)
    assert missing.status_code == 404 and missing.json()["type"] == ERR + "ResourceNotFound"


def test_unknown_path_and_method_are_problems(client):
    assert client.get("/ngsi-ld/v1/nothing").json()["type"] == ERR + "ResourceNotFound"
    response = client.put("/ngsi-ld/v1/types", json={})
    assert response.status_code == 405
    assert response.json()["status"] == 405


def test_ids_with_slashes_are_reachable_when_encoded(client):
    entity_id = "http://example.org/bus/42"
    assert create(client, make_entity(entity_id, "Bus", speed=30)).status_code == 201
    encoded = f"{E}/http:%2F%2Fexample.org%2Fbus%2F42"
    assert client.get(encoded).json()["id"] == entity_id
    assert client.patch(f"{encoded}/attrs/speed", json={"value": 31}).status_code == 204
    assert client.get(encoded).json()["speed"]["value"] == 31
    assert client.delete(encoded).status_code == 204
    assert client.get(encoded).status_code == 404


def test_tenant_header_is_echoed(client):
    response = create(client, make_entity(a=1), headers={"NGSILD-Tenant": "sejong"})
    assert response.status_code == 201
    assert response.headers["NGSILD-Tenant"] == "sejong"
    assert "NGSILD-Tenant" not in create(client, make_entity("urn:x:2", "T")).headers
