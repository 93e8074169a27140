"""Batch operations over HTTP (ETSI GS CIM 009 §5.6.7-§5.6.10, §5.7.2, §6.14-§6.17, §6.23).

Create, upsert, update and delete many entities at once, each succeeding or failing on its own
(a BatchOperationResult, §5.2.16, with 207), and the POSTed Query object.
"""

from __future__ import annotations

import orjson
import pytest

from conftest import make_entity, point

B = "/ngsi-ld/v1/entityOperations"
E = "/ngsi-ld/v1/entities"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
LD = {"Content-Type": "application/ld+json"}


def urn(n):
    return f"urn:ngsi-ld:Sensor:{n}"


def sensor(n, **attrs):
    return make_entity(urn(n), "Sensor", **attrs)


def get(client, entity_id, **params):
    return client.get(f"{E}/{entity_id}", params=params)


def exists(client, entity_id):
    return get(client, entity_id).status_code == 200


def errors_by_id(response):
    """The BatchEntityErrors of a 207 response, keyed by entityId, checking their shape."""
    assert response.status_code == 207, response.text
    body = response.json()
    assert set(body) == {"success", "errors"}
    found = {}
    for item in body["errors"]:
        assert set(item) == {"entityId", "error"}
        problem = item["error"]
        assert problem["type"].startswith(ERR) and problem["title"] and problem["detail"]
        found[item["entityId"]] = problem
    return found


# -- create (§5.6.7) -------------------------------------------------------------------------------
def test_create_returns_201_with_the_ids(client):
    response = client.post(f"{B}/create", json=[sensor(1, t=1), sensor(2, t=2)])
    assert response.status_code == 201
    assert response.json() == [urn(1), urn(2)]
    assert get(client, urn(2)).json()["t"] == {"type": "Property", "value": 2}


def test_create_reports_duplicates_and_invalid_entities_and_writes_the_rest(client):
    assert client.post(E, json=sensor(1, t=0)).status_code == 201
    batch = [
        sensor(1, t=1),  # exists
        sensor(2, t=2),
        {"id": "not a uri", "type": "Sensor"},
        sensor(3, bad={"type": "Property", "value": None}),
        sensor(4, t=4),
        sensor(2, t=22),  # repeated within the batch
    ]
    response = client.post(f"{B}/create", json=batch)
    errors = errors_by_id(response)
    assert response.json()["success"] == [urn(2), urn(4)]
    assert errors[urn(1)]["type"] == ERR + "AlreadyExists"
    assert errors[urn(1)]["status"] == 409
    assert errors["not a uri"]["type"] == ERR + "BadRequestData"
    assert errors[urn(3)]["type"] == ERR + "BadRequestData"
    assert errors[urn(2)]["type"] == ERR + "AlreadyExists"
    assert len(response.json()["errors"]) == 4
    assert get(client, urn(1)).json()["t"]["value"] == 0
    assert get(client, urn(2)).json()["t"]["value"] == 2  # the first occurrence won
    assert not exists(client, urn(3))


@pytest.mark.parametrize(
    ("payload", "kind"),
    [({"id": urn(1), "type": "Sensor"}, "BadRequestData"), ([], "BadRequestData"), (7, None)],
)
def test_create_needs_a_non_empty_array(client, payload, kind):
    response = client.post(f"{B}/create", json=payload)
    assert response.status_code == 400
    assert response.json()["type"] == ERR + (kind or "BadRequestData")
    assert not exists(client, urn(1))


def test_create_rejects_malformed_json(client):
    response = client.post(
        f"{B}/create", content=b'[{"id": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == ERR + "InvalidRequest"


def test_batch_limit_is_enforced(client, settings):
    settings.max_batch_entities = 2
    response = client.post(f"{B}/create", json=[sensor(i) for i in range(3)])
    assert response.status_code == 400
    assert not exists(client, urn(0))


# -- JSON-LD bodies: every entity carries its own @context (§6.3.5) --------------------------------
def test_json_ld_batch_uses_each_entity_context(client):
    first = dict(sensor(1, temp=1), **{"@context": [{"temp": "https://a.example/temp"}, CORE]})
    second = dict(sensor(2, temp=2), **{"@context": [{"temp": "https://b.example/temp"}, CORE]})
    response = client.post(f"{B}/create", content=orjson.dumps([first, second]), headers=LD)
    assert response.status_code == 201
    assert get(client, urn(1)).json()["https://a.example/temp"]["value"] == 1
    assert get(client, urn(2)).json()["https://b.example/temp"]["value"] == 2


def test_json_ld_batch_needs_context_in_every_entity_and_no_link_header(client):
    with_ctx = dict(sensor(1), **{"@context": CORE})
    link = f'<{CORE}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    both = client.post(
        f"{B}/create", content=orjson.dumps([with_ctx]), headers={**LD, "Link": link}
    )
    assert both.status_code == 400
    json_with_ctx = client.post(f"{B}/upsert", json=[with_ctx])
    assert json_with_ctx.status_code == 207
    assert json_with_ctx.json()["success"] == []
    assert json_with_ctx.json()["errors"][0]["entityId"] == urn(1)
    assert json_with_ctx.json()["errors"][0]["error"]["type"] == ERR + "BadRequestData"
    assert not exists(client, urn(1)) and not exists(client, urn(2))
    # each entity that breaks the rule fails on its own; the others are created
    missing = client.post(f"{B}/create", content=orjson.dumps([with_ctx, sensor(2)]), headers=LD)
    assert missing.status_code == 207
    assert missing.json()["success"] == [urn(1)]
    assert [e["entityId"] for e in missing.json()["errors"]] == [urn(2)]
    assert missing.json()["errors"][0]["error"]["type"] == ERR + "BadRequestData"
    assert exists(client, urn(1)) and not exists(client, urn(2))


def test_link_header_context_applies_to_every_entity(client):
    hosted = client.post(
        "/ngsi-ld/v1/jsonldContexts", json={"@context": {"temp": "https://a.example/temp"}}
    )
    assert hosted.status_code == 201
    link = f'<http://testserver{hosted.headers["location"]}>; rel="http://www.w3.org/ns/json-ld#context"'
    batch = [sensor(1, temp=1), sensor(2, temp=2)]
    response = client.post(f"{B}/create", json=batch, headers={"Link": link})
    assert response.status_code == 201
    for n in (1, 2):
        assert get(client, urn(n)).json()["https://a.example/temp"]["value"] == n
    compacted = client.get(f"{E}/{urn(1)}", headers={"Link": link}).json()
    assert compacted["temp"]["value"] == 1


# -- upsert (§5.6.8) -------------------------------------------------------------------------------
def test_upsert_201_with_created_ids_then_204_when_all_existed(client):
    assert client.post(E, json=sensor(1, a=1)).status_code == 201
    response = client.post(f"{B}/upsert", json=[sensor(1, b=2), sensor(2, b=3)])
    assert response.status_code == 201
    assert response.json() == [urn(2)]
    again = client.post(f"{B}/upsert", json=[sensor(1, c=4), sensor(2, c=5)])
    assert again.status_code == 204
    assert again.content == b""


def test_upsert_replaces_by_default_and_merges_with_update(client):
    assert client.post(E, json=sensor(1, a=1, b=1)).status_code == 201
    created = get(client, urn(1), options="sysAttrs").json()["createdAt"]
    assert client.post(f"{B}/upsert", json=[sensor(1, b=2, c=2)]).status_code == 204
    replaced = get(client, urn(1), options="sysAttrs").json()
    assert "a" not in replaced
    assert replaced["b"]["value"] == 2 and replaced["c"]["value"] == 2
    assert replaced["createdAt"] == created
    merge = client.post(f"{B}/upsert", params={"options": "update"}, json=[sensor(1, a=3, b=3)])
    assert merge.status_code == 204
    merged = get(client, urn(1)).json()
    assert (merged["a"]["value"], merged["b"]["value"], merged["c"]["value"]) == (3, 3, 2)


def test_upsert_applies_repeated_ids_in_order(client):
    batch = [sensor(1, p="first", x=1), sensor(2), sensor(1, p="second")]
    response = client.post(f"{B}/upsert", json=batch)
    assert response.status_code == 201
    assert response.json() == [urn(1), urn(2)]
    body = get(client, urn(1)).json()
    assert body["p"]["value"] == "second" and "x" not in body
    merged = [sensor(3, a="a1", c="c1"), sensor(3, b="b1", c="c2")]
    assert client.post(f"{B}/upsert", params={"options": "update"}, json=merged).status_code == 201
    body = get(client, urn(3)).json()
    assert (body["a"]["value"], body["b"]["value"], body["c"]["value"]) == ("a1", "b1", "c2")


def test_upsert_207_on_errors_keeps_the_good_entities(client):
    batch = [sensor(1, a=1), {"id": urn(2)}, sensor(3, a={"type": "Relationship", "object": "x"})]
    response = client.post(f"{B}/upsert", json=batch)
    errors = errors_by_id(response)
    assert response.json()["success"] == [urn(1)]
    assert set(errors) == {urn(2), urn(3)}
    assert exists(client, urn(1))
    assert not exists(client, urn(2)) and not exists(client, urn(3))


def test_upsert_rejects_conflicting_or_unknown_options(client):
    for options in ("update,replace", "bogus"):
        response = client.post(f"{B}/upsert", params={"options": options}, json=[sensor(1)])
        assert response.status_code == 400
    assert not exists(client, urn(1))


# -- update (§5.6.9) -------------------------------------------------------------------------------
def test_update_appends_to_existing_entities(client):
    client.post(f"{B}/create", json=[sensor(1, a=1), sensor(2, a=2)])
    response = client.post(f"{B}/update", json=[sensor(1, a=10, b=1), sensor(2, c=2)])
    assert response.status_code == 204
    one, two = get(client, urn(1)).json(), get(client, urn(2)).json()
    assert one["a"]["value"] == 10 and one["b"]["value"] == 1
    assert two["a"]["value"] == 2 and two["c"]["value"] == 2


def test_update_no_overwrite_keeps_existing_attributes(client):
    client.post(E, json=sensor(1, a=1))
    response = client.post(
        f"{B}/update", params={"options": "noOverwrite"}, json=[sensor(1, a=10, b=1)]
    )
    # the new attribute is written; the kept one makes the entity an error (ETSI 005_02_03)
    assert response.status_code == 207
    assert response.json()["success"] == []
    assert [e["entityId"] for e in response.json()["errors"]] == [urn(1)]
    body = get(client, urn(1)).json()
    assert body["a"]["value"] == 1 and body["b"]["value"] == 1
    only_new = client.post(f"{B}/update", params={"options": "noOverwrite"}, json=[sensor(1, c=1)])
    assert only_new.status_code == 204


def test_update_reports_missing_entities_without_creating_them(client):
    client.post(E, json=sensor(1, a=1))
    response = client.post(f"{B}/update", json=[sensor(1, a=2), sensor(9, a=9)])
    errors = errors_by_id(response)
    assert response.json()["success"] == [urn(1)]
    assert errors[urn(9)]["type"] == ERR + "ResourceNotFound"
    assert errors[urn(9)]["status"] == 404
    assert get(client, urn(1)).json()["a"]["value"] == 2
    assert not exists(client, urn(9))


# -- delete (§5.6.10) ------------------------------------------------------------------------------
def test_delete_204_then_207_for_unknown_repeated_and_invalid_ids(client):
    client.post(f"{B}/create", json=[sensor(1), sensor(2), sensor(3)])
    assert client.post(f"{B}/delete", json=[urn(1)]).status_code == 204
    assert not exists(client, urn(1))
    response = client.post(f"{B}/delete", json=[urn(2), urn(2), urn(1), "not a uri"])
    errors = errors_by_id(response)
    assert response.json()["success"] == [urn(2)]
    assert errors[urn(1)]["type"] == ERR + "ResourceNotFound"
    assert errors["not a uri"]["type"] == ERR + "BadRequestData"
    assert len(response.json()["errors"]) == 3  # the repeated id too
    assert not exists(client, urn(2)) and exists(client, urn(3))


@pytest.mark.parametrize("payload", [[], {"id": "urn:x:1"}, "urn:x:1"])
def test_delete_needs_a_non_empty_array(client, payload):
    response = client.post(f"{B}/delete", json=payload)
    assert response.status_code == 400
    assert response.json()["type"] == ERR + "BadRequestData"


# -- atomicity per entity --------------------------------------------------------------------------
def test_a_failed_entity_leaves_nothing_and_the_others_commit(client):
    client.post(E, json=sensor(1, a=1))
    before = get(client, urn(1), options="sysAttrs").json()
    bad = sensor(1, b={"type": "Property", "value": 1, "observedAt": "never"})
    response = client.post(f"{B}/update", json=[bad, sensor(2, a=2)])
    errors = errors_by_id(response)
    assert set(errors) == {urn(1), urn(2)}
    assert get(client, urn(1), options="sysAttrs").json() == before
    assert not exists(client, urn(2))


# -- query (§5.7.2, §6.23) -------------------------------------------------------------------------
@pytest.fixture
def city(client):
    """Two sensors and a building, one sensor near Sejong City Hall."""
    entities = [
        sensor(1, temp=21, location=point(127.289, 36.480)),
        sensor(2, temp=30, location=point(126.978, 37.566)),
        make_entity("urn:ngsi-ld:Building:B1", "Building", temp=18),
    ]
    assert client.post(f"{B}/create", json=entities).status_code == 201
    return entities


def query(client, body, **params):
    return client.post(f"{B}/query", json=dict(body, type="Query"), params=params)


def ids(response):
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_query_by_type_id_and_pattern(client, city):
    assert ids(query(client, {"entities": [{"type": "Sensor"}]})) == [urn(1), urn(2)]
    by_id = query(client, {"entities": [{"id": urn(2), "type": "Sensor"}]})
    assert ids(by_id) == [urn(2)]
    pattern = query(client, {"entities": [{"idPattern": "^urn:ngsi-ld:Building:"}]})
    assert ids(pattern) == ["urn:ngsi-ld:Building:B1"]
    either = query(client, {"entities": [{"id": urn(1)}, {"type": "Building"}]})
    assert set(ids(either)) == {urn(1), "urn:ngsi-ld:Building:B1"}


def test_query_attrs_q_and_geoq(client, city):
    hot = query(client, {"entities": [{"type": "Sensor"}], "q": "temp>25"})
    assert ids(hot) == [urn(2)]
    picked = query(client, {"entities": [{"type": "Sensor"}], "attrs": ["temp"]})
    assert all(set(e) == {"id", "type", "temp"} for e in picked.json())
    near = {
        "geometry": "Point",
        "coordinates": [127.29, 36.48],
        "georel": "near;maxDistance==2000",
    }
    assert ids(query(client, {"entities": [{"type": "Sensor"}], "geoQ": near})) == [urn(1)]


def test_query_count_limit_and_formats(client, city):
    response = query(client, {"entities": [{"type": "Sensor"}]}, count="true", limit="1")
    assert response.headers["NGSILD-Results-Count"] == "2"
    assert ids(response) == [urn(1)]
    assert "NGSILD-Results-Count" not in query(client, {"entities": [{"type": "Sensor"}]}).headers
    kv = query(client, {"entities": [{"id": urn(1)}]}, options="keyValues").json()
    assert kv[0]["temp"] == 21


def test_query_with_json_ld_body_compacts_with_its_context(client, city):
    context = [{"temperature": "https://uri.etsi.org/ngsi-ld/default-context/temp"}, CORE]
    body = {"type": "Query", "entities": [{"id": urn(1)}], "@context": context}
    response = client.post(
        f"{B}/query",
        content=orjson.dumps(body),
        headers={**LD, "Accept": "application/ld+json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    (entity,) = response.json()
    assert entity["temperature"]["value"] == 21
    assert entity["@context"] == context


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"entities": {"type": "Sensor"}},
        {"entities": []},
        {"entities": [{"type": "Sensor", "colour": "red"}]},
        {"entities": [{"id": "not a uri"}]},
        {"entities": [{"idPattern": "("}]},
        {"entities": [{"type": "Sensor"}], "q": "temp>>"},
        {"entities": [{"type": "Sensor"}], "attrs": "temp"},
        {"entities": [{"type": "Sensor"}], "geoQ": {"geometry": "Point"}},
    ],
)
def test_bad_query_objects_are_400(client, city, body):
    response = query(client, body)
    assert response.status_code == 400
    assert response.json()["type"] == ERR + "BadRequestData"


def test_query_payload_must_be_a_query_object(client, city):
    assert client.post(f"{B}/query", json=[{"type": "Query"}]).status_code == 400
    wrong = client.post(f"{B}/query", json={"type": "Entity", "entities": [{"type": "Sensor"}]})
    assert wrong.status_code == 400
