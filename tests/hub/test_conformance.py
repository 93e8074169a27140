"""Behaviour the ETSI NGSI-LD conformance test purposes (ETSI GS CIM 009 v1.8) expect.

Each test names the test purpose it mirrors. The user @context is a compound one served on
loopback, shaped like the suite's: a context of its own terms followed by the core context.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest

E = "/ngsi-ld/v1/entities"
B = "/ngsi-ld/v1/entityOperations"
J = "/ngsi-ld/v1/jsonldContexts"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
T = "https://ngsi-ld-test-suite/context#"
DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"
LD = {"Content-Type": "application/ld+json"}
SUITE_TERMS = ["Building", "Vehicle", "name", "almostFull", "airQualityLevel", "subCategory"]
SUITE = {"@context": {term: T + term for term in SUITE_TERMS}}


@pytest.fixture
def ctx_url() -> Iterator[str]:
    """The URL of a compound @context ([suite terms, core]) served on loopback."""
    documents: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            document = documents.get(self.path)
            if document is None:
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    documents["/suite.jsonld"] = SUITE
    documents["/compound.jsonld"] = {"@context": [f"{base}/suite.jsonld", CORE]}
    yield f"{base}/compound.jsonld"
    server.shutdown()
    server.server_close()


def link(url: str) -> dict[str, str]:
    return {
        "Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    }


def prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def geo(gtype: str, coordinates: Any) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": {"type": gtype, "coordinates": coordinates}}


def building(eid: str = "urn:ngsi-ld:Building:1", **attrs: Any) -> dict[str, Any]:
    return {"id": eid, "type": "Building", **attrs}


def simple_building(eid: str = "urn:ngsi-ld:Building:1") -> dict[str, Any]:
    return building(
        eid,
        name=prop("Eiffel Tower"),
        subCategory=prop("tourism"),
        airQualityLevel=prop(4, unitCode="C62", observedAt="2020-09-09T16:40:00.000Z"),
        almostFull=prop(False),
    )


def create_ld(client, entity: dict[str, Any], ctx_url: str) -> None:
    response = client.post(E, json={**entity, "@context": [ctx_url]}, headers=LD)
    assert response.status_code == 201, response.text


def assert_problem(response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == ERR + kind
    assert body["title"] and body["detail"] and body["title"] != body["detail"]


# -- paths --------------------------------------------------------------------------------------


def test_collections_accept_a_trailing_slash(client, ctx_url):
    # mirrors 001_01_01 / 019_01_01 / 010_01_01 / 022_01_01: the suite calls ``entities/``,
    # ``entities/{id}/attrs/`` and ``types/``
    created = client.post(f"{E}/", json={**building(), "@context": [ctx_url]}, headers=LD)
    assert created.status_code == 201
    assert "urn:ngsi-ld:Building:1" in created.headers["location"]
    appended = client.post(f"{E}/urn:ngsi-ld:Building:1/attrs/", json={"name": prop("x")})
    assert appended.status_code == 204
    queried = client.get(f"{E}/", params={"type": T + "Building"})
    assert [e["id"] for e in queried.json()] == ["urn:ngsi-ld:Building:1"]
    types = client.get("/ngsi-ld/v1/types/")
    assert types.status_code == 200 and types.json()["type"] == "EntityTypeList"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", f"{E}/"),  # mirrors 054_02_02
        ("PATCH", f"{E}/"),  # mirrors 056_02_02
        ("POST", f"{E}//attrs/"),  # mirrors 010_02_01
        ("PATCH", f"{E}//attrs/"),  # mirrors 011_02_01
        ("PATCH", f"{E}//attrs/speed"),  # mirrors 012_02_01
        ("DELETE", f"{E}//attrs/speed"),  # mirrors 013_02_01
    ],
)
def test_an_empty_entity_id_is_bad_request_data(client, method, path):
    response = client.request(method, path, json={"speed": prop(1)})
    assert_problem(response, 400, "BadRequestData")


def test_deleting_an_attribute_without_a_name_is_not_allowed(client, ctx_url):
    # mirrors 013_02_03
    create_ld(client, building(speed=prop(3)), ctx_url)
    response = client.delete(f"{E}/urn:ngsi-ld:Building:1/attrs/", params={"deleteAll": "false"})
    assert response.status_code == 405


# -- URL parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", E, '{"id": "urn:ngsi-ld:Building:1"}'),  # mirrors 059_01_01
        ("GET", f"{E}?type=Building", None),  # mirrors 059_01_02
        ("GET", "/ngsi-ld/v1/types", None),  # mirrors 059_01_05
    ],
)
def test_an_unknown_url_parameter_is_invalid_request(client, method, path, body):
    separator = "&" if "?" in path else "?"
    response = client.request(
        method, f"{path}{separator}invalidParams=invalidValue", json=body, headers=LD
    )
    assert_problem(response, 400, "InvalidRequest")


def test_a_query_needs_more_than_entity_ids(client, ctx_url):
    # mirrors 019_03_05
    response = client.get(E, params={"id": "urn:ngsi-ld:Entity:01,urn:ngsi-ld:Entity:02"})
    assert_problem(response, 400, "BadRequestData")
    create_ld(client, building(), ctx_url)
    with_type = client.get(E, params={"id": "urn:ngsi-ld:Building:1", "type": "Building"})
    assert with_type.status_code == 200


def test_query_attrs_cannot_name_core_members(client):
    # mirrors 019_03_03
    assert_problem(client.get(E, params={"attrs": "id,type"}), 400, "BadRequestData")


# -- retrieval -----------------------------------------------------------------------------------


def test_retrieving_only_absent_attributes_is_not_found(client, ctx_url):
    # mirrors 018_03_02
    create_ld(client, simple_building(), ctx_url)
    url = f"{E}/urn:ngsi-ld:Building:1"
    missing = client.get(url, params={"attrs": "property_not_found"})
    assert_problem(missing, 404, "ResourceNotFound")
    some = client.get(url, params={"attrs": T + "name,property_not_found"})
    assert some.status_code == 200 and list(some.json()) == ["id", "type", T + "name"]


def test_retrieve_with_a_type_selector(client, ctx_url):
    # mirrors 5711_01_01
    create_ld(client, building(), ctx_url)
    url = f"{E}/urn:ngsi-ld:Building:1"
    assert_problem(
        client.get(url, params={"type": "Vehicle"}, headers=link(ctx_url)), 404, "ResourceNotFound"
    )
    assert client.get(url, params={"type": "Building"}, headers=link(ctx_url)).status_code == 200


def test_compaction_with_the_default_vocabulary_uses_a_compact_iri(client, ctx_url):
    # mirrors 001_05_02: created without @context, read with the suite's compound @context
    client.post(E, json=building(almostFull=prop(False)))
    body = client.get(f"{E}/urn:ngsi-ld:Building:1", headers=link(ctx_url)).json()
    assert "ngsi-ld:default-context/almostFull" in body


def test_pick_accepts_the_pipe_as_or_operator(client, ctx_url):
    # mirrors 018_17_01 and 421_01_01/02
    create_ld(client, simple_building(), ctx_url)
    url = f"{E}/urn:ngsi-ld:Building:1"
    comma = client.get(url, params={"pick": "name,airQualityLevel"}, headers=link(ctx_url))
    pipe = client.get(url, params={"pick": "name|airQualityLevel"}, headers=link(ctx_url))
    assert comma.json() == pipe.json()
    assert set(pipe.json()) == {"name", "airQualityLevel"}
    empty = client.get(url, params={"pick": "name||airQualityLevel"}, headers=link(ctx_url))
    assert_problem(empty, 400, "BadRequestData")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fr", ("fr", "Grand Place")),  # mirrors 018_07_01
        ("fr-CH,fr", ("fr", "Grand Place")),  # mirrors 018_07_02
        ("*", ("fr", "Grand Place")),  # mirrors 018_07_03
        ("fr-CH,fr;q=0.9,en;q=0.8,*;q=0.5", ("fr", "Grand Place")),  # mirrors 018_07_04
        ("fr;q=0.2,nl;q=0.9", ("nl", "Grote Markt")),  # mirrors 415_01_01
        ("FR", ("fr", "Grand Place")),  # mirrors 415_01_02
        ("nl-BE", ("nl", "Grote Markt")),  # mirrors 415_01_03
    ],
)
def test_language_filter(client, ctx_url, lang, expected):
    street = {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place", "nl": "Grote Markt"}}
    create_ld(client, building(street=street), ctx_url)
    response = client.get(
        f"{E}/urn:ngsi-ld:Building:1",
        params={"lang": lang},
        headers={**link(ctx_url), "Accept": "application/ld+json"},
    )
    tag, text = expected
    assert response.json()["street"] == {"type": "Property", "value": text, "lang": tag}


def test_language_range_matches_a_longer_tag(client, ctx_url):
    # mirrors 415_01_04
    street = {"type": "LanguageProperty", "languageMap": {"de": "Hauptplatz", "en-US": "Main"}}
    create_ld(client, building(street=street), ctx_url)
    body = client.get(f"{E}/urn:ngsi-ld:Building:1", params={"lang": "en"}).json()
    assert body["street"] == {"type": "Property", "value": "Main", "lang": "en-US"}


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/ld+json, application/json", "application/json"),  # mirrors 045_02_01
        ("application/geo+json, application/json", "application/json"),  # mirrors 045_02_02
        ("application/json;q=0.1, application/ld+json;q=0.9", "application/ld+json"),  # 045_02_03
        ("*/*", "application/json"),  # mirrors 045_01_01
    ],
)
def test_accept_ties_follow_the_specified_order(client, ctx_url, accept, media_type):
    create_ld(client, building(), ctx_url)
    response = client.get(f"{E}/urn:ngsi-ld:Building:1", headers={"Accept": accept})
    assert response.headers["content-type"] == media_type


# -- GeoJSON -------------------------------------------------------------------------------------


def geo_building(client, ctx_url):
    entity = building(
        name=prop("Eiffel Tower"),
        location=geo("Point", [13.3986, 52.5547]),
        observationSpace=geo("Point", [11.1111, 11.1111]),
    )
    create_ld(client, entity, ctx_url)


@pytest.mark.parametrize(
    ("geometry_property", "geometry"),
    [
        (None, {"type": "Point", "coordinates": [13.3986, 52.5547]}),  # mirrors 018_05_02
        ("observationSpace", {"type": "Point", "coordinates": [11.1111, 11.1111]}),  # 018_05_03
        ("operationSpace", None),  # mirrors 018_05_04
    ],
)
def test_geojson_feature(client, ctx_url, geometry_property, geometry):
    geo_building(client, ctx_url)
    params = {"geometryProperty": geometry_property} if geometry_property else {}
    response = client.get(
        f"{E}/urn:ngsi-ld:Building:1",
        params=params,
        headers={**link(ctx_url), "Accept": "application/geo+json"},
    )
    assert response.headers["content-type"] == "application/geo+json"
    feature = response.json()
    assert set(feature) == {"id", "type", "geometry", "properties", "@context"}
    assert feature["type"] == "Feature" and feature["@context"] == ctx_url
    assert feature["geometry"] == geometry
    assert feature["properties"]["type"] == "Building"
    assert feature["properties"]["name"] == prop("Eiffel Tower")


def test_geojson_feature_collection_carries_the_context_once(client, ctx_url):
    # mirrors 019_05_01 and 019_02_05 (first alternative expectation)
    geo_building(client, ctx_url)
    headers = {**link(ctx_url), "Accept": "application/geo+json"}
    collection = client.get(E, params={"type": "Building"}, headers=headers).json()
    assert set(collection) == {"type", "features", "@context"}
    assert collection["@context"] == ctx_url
    assert ["@context" in f for f in collection["features"]] == [False]
    posted = client.post(
        f"{B}/query",
        json={"type": "Query", "entities": [{"type": "Building,Vehicle"}]},
        headers=headers,
    ).json()
    assert posted["@context"] == ctx_url and len(posted["features"]) == 1


def test_geometry_property_needs_geojson(client, ctx_url):
    # mirrors 5711_01_02
    geo_building(client, ctx_url)
    url = f"{E}/urn:ngsi-ld:Building:1"
    as_ld = client.get(
        url, params={"geometryProperty": "location"}, headers=LD | {"Accept": "application/ld+json"}
    )
    assert_problem(as_ld, 400, "BadRequestData")
    as_geo = client.get(
        url, params={"geometryProperty": "location"}, headers={"Accept": "application/geo+json"}
    )
    assert as_geo.status_code == 200


# -- query filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope_q", "count"),
    [
        ("/Madrid/Gardens/ParqueNorte", 2),
        ("/Madrid/+/ParqueNorte", 2),
        ("/CompanyA/#", 1),
        ("/#", 2),
        ("/Madrid/Gardens/ParqueNorte;/CompanyA/OrganizationB/UnitC", 1),
        ("/Madrid/Gardens/ParqueNorte,/CompanyA/OrganizationB/UnitC", 2),
    ],
)
def test_scope_query(client, ctx_url, scope_q, count):
    # mirrors 019_01_06
    one = building("urn:ngsi-ld:Building:1", scope="/Madrid/Gardens/ParqueNorte")
    two = building(
        "urn:ngsi-ld:Building:2",
        scope=["/Madrid/Gardens/ParqueNorte", "/CompanyA/OrganizationB/UnitC"],
    )
    for entity in (one, two, building("urn:ngsi-ld:Building:3")):
        assert client.post(E, json=entity, headers=link(ctx_url)).status_code == 201
    response = client.get(E, params={"scopeQ": scope_q, "type": T + "Building", "count": "true"})
    assert response.status_code == 200
    assert len(response.json()) == count
    assert response.headers["NGSILD-Results-Count"] == str(count)


def test_a_malformed_scope_query_is_bad_request_data(client):
    assert_problem(
        client.get(E, params={"scopeQ": "Madrid", "type": "Building"}), 400, "BadRequestData"
    )


@pytest.mark.parametrize(
    ("attrs", "dataset_id", "expected"),
    [
        ("name", None, {"name": 3}),  # mirrors 019_12_01
        (None, "urn:ngsi-ld:Dataset:french-name", {"name": 1, "locatedAt": 1}),  # 019_12_02
        (
            None,
            "urn:ngsi-ld:Dataset:french-name,urn:ngsi-ld:Dataset:spanish-name",
            {"name": 1, "locatedAt": 2},
        ),  # mirrors 019_12_03
        (None, "@none", {"name": 1, "locatedAt": 1}),  # mirrors 019_12_04
        ("name", "urn:ngsi-ld:Dataset:german-name", {"name": 1}),  # mirrors 019_12_06
        ("name", "urn:ngsi-ld:Dataset:spanish-name", {}),  # mirrors 019_12_07
    ],
)
def test_dataset_id_filter(client, ctx_url, attrs, dataset_id, expected):
    def rel(obj: str, **extra: Any) -> dict[str, Any]:
        return {"type": "Relationship", "object": obj, **extra}

    fr, de, es = (f"urn:ngsi-ld:Dataset:{n}-name" for n in ("french", "german", "spanish"))
    entity = building(
        name=[
            prop("Eiffel Tower"),
            prop("Tour Eiffel", datasetId=fr),
            prop("Eiffelturm", datasetId=de),
        ],
        locatedAt=[
            rel("urn:ngsi-ld:City:Paris"),
            rel("urn:ngsi-ld:Ville:Paris", datasetId=fr),
            rel("urn:ngsi-ld:Ciudad:Paris", datasetId=es),
        ],
    )
    create_ld(client, entity, ctx_url)
    params = {"type": "Building"}
    if attrs:
        params["attrs"] = attrs
    if dataset_id:
        params["datasetId"] = dataset_id
    (found,) = client.get(E, params=params, headers=link(ctx_url)).json()
    counts = {
        name: len(value) if isinstance(value, list) else 1
        for name, value in found.items()
        if name not in ("id", "type")
    }
    assert counts == expected


# -- merge and update ----------------------------------------------------------------------------


def instances_of(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = body.get(name, [])
    return value if isinstance(value, list) else [value]


def test_merge_null_deletes_a_geoproperty(client, ctx_url):
    # mirrors 056_03_03
    create_ld(client, building(location=geo("Point", [2.35, 48.85]), name=prop("x")), ctx_url)
    patch = {
        "location": {"type": "GeoProperty", "value": "urn:ngsi-ld:null"},
        "@context": [ctx_url],
    }
    response = client.patch(f"{E}/urn:ngsi-ld:Building:1", json=patch, headers=LD)
    assert response.status_code == 204
    body = client.get(f"{E}/urn:ngsi-ld:Building:1", headers=link(ctx_url)).json()
    assert "location" not in body and body["name"] == prop("x")


@pytest.mark.parametrize("operation", ["merge", "update"])
def test_null_without_dataset_id_deletes_only_the_default_instance(client, ctx_url, operation):
    # mirrors 056_05_01 (merge) and 011_09_01 (update attributes)
    ds = "urn:ngsi-ld:Dataset:01"
    create_ld(
        client, building(name=[prop("Eiffel Tower", datasetId=ds), prop("Iron lady")]), ctx_url
    )
    null = {"name": prop("urn:ngsi-ld:null"), "@context": [ctx_url]}
    url = f"{E}/urn:ngsi-ld:Building:1"
    response = (
        client.patch(url, json=null, headers=LD)
        if operation == "merge"
        else client.patch(f"{url}/attrs", json=null, headers=LD)
    )
    assert response.status_code == 204
    body = client.get(url, headers=link(ctx_url)).json()
    assert instances_of(body, "name") == [prop("Eiffel Tower", datasetId=ds)]


def test_partial_update_cannot_change_the_attribute_type(client, ctx_url):
    # mirrors 012_02_03
    create_ld(
        client, building(speed=prop(55, datasetId="urn:ngsi-ld:Property:speedometer")), ctx_url
    )
    fragment = {
        "type": "Relationship",
        "object": "urn:ngsi-ld:Entity:01",
        "datasetId": "urn:ngsi-ld:Property:speedometer",
    }
    response = client.patch(f"{E}/urn:ngsi-ld:Building:1/attrs/speed", json=fragment)
    assert_problem(response, 400, "BadRequestData")


def test_update_replaces_scope_only_where_there_is_one(client, ctx_url):
    # mirrors 011_05_01 and 011_05_02
    scoped = building("urn:ngsi-ld:Building:1", scope="/Madrid/Gardens/ParqueNorte")
    assert client.post(E, json=scoped, headers=link(ctx_url)).status_code == 201
    assert (
        client.post(E, json=building("urn:ngsi-ld:Building:2"), headers=link(ctx_url)).status_code
        == 201
    )
    fragment = {"scope": "/CompanyA/OrganizationB/UnitC"}
    assert client.patch(f"{E}/urn:ngsi-ld:Building:1/attrs", json=fragment).status_code == 204
    assert client.get(f"{E}/urn:ngsi-ld:Building:1").json()["scope"] == fragment["scope"]
    unscoped = client.patch(f"{E}/urn:ngsi-ld:Building:2/attrs", json=fragment)
    assert unscoped.status_code == 207
    assert [n["attributeName"] for n in unscoped.json()["notUpdated"]] == ["scope"]
    assert "scope" not in client.get(f"{E}/urn:ngsi-ld:Building:2").json()


def test_append_replaces_or_adds_scope(client, ctx_url):
    # mirrors 010_07_01 (both cases)
    scoped = building(scope="/Madrid/Gardens/ParqueNorte")
    assert client.post(E, json=scoped, headers=link(ctx_url)).status_code == 201
    url = f"{E}/urn:ngsi-ld:Building:1"
    fragment = {"scope": "/CompanyA/OrganizationB/UnitC"}
    kept = client.post(f"{url}/attrs", params={"options": "noOverwrite"}, json=fragment)
    assert kept.status_code == 204
    assert client.get(url).json()["scope"] == [
        "/Madrid/Gardens/ParqueNorte",
        "/CompanyA/OrganizationB/UnitC",
    ]
    assert client.post(f"{url}/attrs", json=fragment).status_code == 204
    assert client.get(url).json()["scope"] == "/CompanyA/OrganizationB/UnitC"


def test_delete_scope(client, ctx_url):
    # mirrors 013_04
    scoped = building(scope="/Madrid/Gardens/ParqueNorte")
    assert client.post(E, json=scoped).status_code == 201
    url = f"{E}/urn:ngsi-ld:Building:1"
    response = client.delete(f"{url}/attrs/scope", params={"deleteAll": "false"})
    assert response.status_code == 204
    assert "scope" not in client.get(url).json()
    assert_problem(client.delete(f"{url}/attrs/scope"), 404, "ResourceNotFound")


def test_an_attribute_name_starting_with_at_is_bad_request_data(client, ctx_url):
    # mirrors 055_03_03
    create_ld(client, building(isParked=prop(1)), ctx_url)
    response = client.put(f"{E}/urn:ngsi-ld:Building:1/attrs/@invalid", json=prop(2))
    assert_problem(response, 400, "BadRequestData")


def test_update_result_names_attributes_by_expanded_iri(client, ctx_url):
    # mirrors 010_04_01
    create_ld(client, building(almostFull=prop(False)), ctx_url)
    fragment = {
        "almostFull": prop(True),
        "attribute_to_be_added": prop(1),
        "@context": [ctx_url],
    }
    response = client.post(
        f"{E}/urn:ngsi-ld:Building:1/attrs",
        params={"options": "noOverwrite"},
        json=fragment,
        headers=LD,
    )
    assert response.status_code == 207
    assert response.json()["updated"] == [DEFAULT + "attribute_to_be_added"]
    assert [n["attributeName"] for n in response.json()["notUpdated"]] == [T + "almostFull"]


# -- batch operations ----------------------------------------------------------------------------


def test_json_batch_entity_with_context_fails_on_its_own(client, ctx_url):
    # mirrors 003_06_01
    entity = {**simple_building(), "@context": [ctx_url]}
    response = client.post(f"{B}/create", json=[entity])
    assert response.status_code == 207
    (error,) = response.json()["errors"]
    assert error["entityId"] == "urn:ngsi-ld:Building:1"
    assert error["error"]["type"] == ERR + "BadRequestData" and error["error"]["title"]


def test_json_ld_batch_entity_without_context_fails_on_its_own(client, ctx_url):
    # mirrors 003_08_01
    good = {**building("urn:ngsi-ld:Building:2"), "@context": [ctx_url]}
    response = client.post(f"{B}/create", json=[simple_building(), good], headers=LD)
    assert response.status_code == 207
    assert response.json()["success"] == ["urn:ngsi-ld:Building:2"]
    (error,) = response.json()["errors"]
    assert error["entityId"] == "urn:ngsi-ld:Building:1"
    assert error["error"]["type"] == ERR + "BadRequestData"


def test_batch_entities_with_an_unavailable_context_fail_one_by_one(client, ctx_url):
    # mirrors 043_01_04 (and 043_01_01 for a single entity)
    missing = ctx_url.replace("compound", "non-existing")
    entities = [{**building(f"urn:ngsi-ld:Building:{n}"), "@context": [missing]} for n in (1, 2)]
    response = client.post(f"{B}/create", json=entities, headers=LD)
    assert response.status_code == 207
    errors = response.json()["errors"]
    assert [e["error"]["type"] for e in errors] == [ERR + "LdContextNotAvailable"] * 2
    single = client.post(E, json=entities[0], headers=LD)
    assert_problem(single, 503, "LdContextNotAvailable")


@pytest.mark.parametrize("operation", ["create", "delete"])
@pytest.mark.parametrize("body", [b"", b"[]"])
def test_an_empty_batch_is_bad_request_data(client, operation, body):
    # mirrors 003_03_02 and 006_03_02
    response = client.post(f"{B}/{operation}", content=body, headers=LD)
    assert_problem(response, 400, "BadRequestData")


def test_batch_merge(client, ctx_url):
    # mirrors 057_01_04 and 057_02_01
    for n in (1, 2):
        create_ld(client, simple_building(f"urn:ngsi-ld:Building:{n}"), ctx_url)

    def fragment(n: int) -> dict[str, Any]:
        level = prop(1, observedAt="2024-01-01T00:00:00.000Z")
        return {
            **building(f"urn:ngsi-ld:Building:{n}", airQualityLevel=level),
            "@context": [ctx_url],
        }

    merged = client.post(f"{B}/merge", json=[fragment(1), fragment(2)], headers=LD)
    assert merged.status_code == 204
    for n in (1, 2):
        body = client.get(f"{E}/urn:ngsi-ld:Building:{n}", headers=link(ctx_url)).json()
        assert body["airQualityLevel"] == prop(
            1, unitCode="C62", observedAt="2024-01-01T00:00:00.000Z"
        )
        assert body["name"] == prop("Eiffel Tower")
    partly = client.post(f"{B}/merge", json=[fragment(1), fragment(3)], headers=LD)
    assert partly.status_code == 207
    assert partly.json()["success"] == ["urn:ngsi-ld:Building:1"]
    assert [e["entityId"] for e in partly.json()["errors"]] == ["urn:ngsi-ld:Building:3"]
    assert partly.json()["errors"][0]["error"]["type"] == ERR + "ResourceNotFound"


# -- @context management -------------------------------------------------------------------------


def host_context(client) -> str:
    body = json.dumps({"@context": {"Building": "https://example.org/Building"}})
    response = client.post(J, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    return response.headers["location"]


def test_a_hosted_context_is_served_as_json(client):
    # mirrors 053_01_01
    location = host_context(client)
    context_id = quote(location.removeprefix(f"{J}/"), safe="")
    response = client.get(f"{J}/{context_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"@context": {"Building": "https://example.org/Building"}}


def test_context_details_count_uses_not_reads(client):
    # mirrors 053_02_01 and 053_04_01
    location = host_context(client)
    details_url = f"{J}/{quote(location.removeprefix(f'{J}/'), safe='')}"
    details = client.get(details_url, params={"details": "true"})
    assert details.status_code == 200
    assert details.headers["content-type"] == "application/json"
    assert details.json()["kind"] == "Hosted" and details.json()["numberOfHits"] == 0
    assert details.json()["createdAt"].endswith("Z")
    entity = {"id": "urn:ngsi-ld:Building:ctx", "type": "Building", "@context": location}
    assert client.post(E, json=entity, headers=LD).status_code == 201
    assert client.get(details_url, params={"details": "true"}).json()["numberOfHits"] == 1


def test_hosting_a_body_without_context_is_invalid_request(client):
    # mirrors 050_02_01
    body = json.dumps({"A1": "urn:ngsi-ld:attributes:A1"})
    response = client.post(J, content=body, headers={"Content-Type": "application/json"})
    assert_problem(response, 400, "InvalidRequest")


@pytest.mark.parametrize(
    ("attrs", "status"),
    [
        ({"name": prop("other")}, 207),  # mirrors 005_02_01: every attribute exists
        (
            {"locatedAt": {"type": "Relationship", "object": "urn:ngsi-ld:City:Paris"}},
            204,
        ),  # 005_02_02
        ({"name": prop("other"), "location": geo("Point", [13.3986, 52.5547])}, 207),  # 005_02_03
    ],
)
def test_batch_update_without_overwrite_reports_kept_attributes(client, ctx_url, attrs, status):
    create_ld(client, building(name=prop("Eiffel Tower")), ctx_url)
    entity = {**building(**attrs), "@context": [ctx_url]}
    response = client.post(
        f"{B}/update", params={"options": "noOverwrite"}, json=[entity], headers=LD
    )
    assert response.status_code == status
    body = client.get(f"{E}/urn:ngsi-ld:Building:1", headers=link(ctx_url)).json()
    assert body["name"] == prop("Eiffel Tower")
    assert set(attrs) <= set(body)
