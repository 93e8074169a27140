"""Temporal queries over HTTP (ETSI GS CIM 009 §5.7.3, §5.7.4, §6.18-§6.20): time relations,
time properties, ``lastN``, ``attrs``, entity filters, ``temporalValues``, partial answers with
``Content-Range``, and precise 400s for malformed parameters."""

from __future__ import annotations

from typing import Any

import pytest

from cityos.hub.broker import Hub
from conftest import make_entity, point

E = "/ngsi-ld/v1/entities"
T = "/ngsi-ld/v1/temporal/entities"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
MERGE = {"Content-Type": "application/merge-patch+json"}
BATCH = "/ngsi-ld/v1/entityOperations"
S1, S2, P1 = "urn:ngsi-ld:Sensor:1", "urn:ngsi-ld:Sensor:2", "urn:ngsi-ld:Parking:1"


def at(hour: int) -> str:
    return f"2026-01-01T{hour:02d}:00:00Z"


def iso(hour: int) -> str:
    return f"2026-01-01T{hour:02d}:00:00.000Z"


@pytest.fixture
def city(client) -> Any:
    """S1 and S2 (Sensor) with temp observed hourly 00..05 and S1 humidity at 00 and 03; P1
    (Parking) with spots; S2 is near (127.3, 36.5)."""
    entities = [
        make_entity(S1, "Sensor", temp=obs(10, 0), humidity=obs(50, 0), location=point(127, 36)),
        make_entity(S2, "Sensor", temp=obs(20, 0), location=point(127.3, 36.5)),
        make_entity(P1, "Parking", spots=obs(4, 2)),
    ]
    assert client.post(BATCH + "/create", json=entities).status_code == 201
    for hour in range(1, 6):
        update = [
            {"id": S1, "temp": obs(10 + hour, hour)},
            {"id": S2, "temp": obs(20 + hour, hour)},
        ]
        if hour == 3:
            update[0]["humidity"] = obs(53, 3)
        assert client.post(BATCH + "/update", json=update).status_code == 204
    return client


def obs(value: Any, hour: int) -> dict[str, Any]:
    return {"type": "Property", "value": value, "observedAt": at(hour)}


def temps(body: dict[str, Any], attr: str = "temp") -> list[Any]:
    return [i["value"] for i in body.get(attr, [])]


def test_retrieve_whole_history_normalized(city) -> None:
    response = city.get(f"{T}/{S1}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "Content-Range" not in response.headers
    body = response.json()
    assert body["id"] == S1 and body["type"] == "Sensor"
    assert temps(body) == [10, 11, 12, 13, 14, 15]
    assert [i["observedAt"] for i in body["temp"]] == [iso(h) for h in range(6)]
    assert temps(body, "humidity") == [50, 53]
    assert "location" not in body  # no observedAt: only with timeproperty=modifiedAt
    first = body["temp"][0]
    assert set(first) == {"type", "value", "observedAt", "instanceId"}
    ld = city.get(f"{T}/{S1}", headers={"Accept": "application/ld+json"}).json()
    assert "@context" in ld


RELATIONS: list[tuple[dict[str, str], list[int]]] = [
    ({"timerel": "before", "timeAt": at(2)}, [10, 11]),
    ({"timerel": "after", "timeAt": at(4)}, [14, 15]),
    ({"timerel": "between", "timeAt": at(1), "endTimeAt": at(3)}, [11, 12]),
    (
        {"timerel": "between", "timeAt": "2026-01-01T01:30:00+00:00", "endTimeAt": at(9)},
        [12, 13, 14, 15],
    ),
    ({"lastN": "2"}, [14, 15]),
    ({"lastN": "3", "timerel": "before", "timeAt": at(4)}, [11, 12, 13]),
    ({"lastN": "100"}, [10, 11, 12, 13, 14, 15]),
]


def test_time_relations_and_last_n(city) -> None:
    for params, expected in RELATIONS:
        response = city.get(f"{T}/{S1}", params=params)
        assert response.status_code == 200, response.text
        assert temps(response.json()) == expected, params


def test_time_properties(city, hub: Hub) -> None:
    modified = city.get(f"{T}/{S1}", params={"timeproperty": "modifiedAt"}).json()
    assert temps(modified) == [10, 11, 12, 13, 14, 15]
    assert [i["value"]["type"] for i in modified["location"]] == ["Point"]
    stamps = [i["modifiedAt"] for i in modified["temp"]]
    assert stamps == sorted(stamps)
    window = {"timerel": "after", "timeAt": stamps[3], "timeproperty": "modifiedAt"}
    assert temps(city.get(f"{T}/{S1}", params=window).json()) == [13, 14, 15]
    created = city.get(f"{T}/{S1}", params={"timeproperty": "createdAt"}).json()
    assert len(created["temp"]) == 6 and len({i["createdAt"] for i in created["temp"]}) == 1
    assert city.delete(f"{E}/{S1}/attrs/humidity").status_code == 204
    deleted = city.get(f"{T}/{S1}", params={"timeproperty": "deletedAt"}).json()
    assert list(deleted) == ["id", "type", "humidity"]
    assert deleted["humidity"][0]["value"] == "urn:ngsi-ld:null"
    sys = city.get(f"{T}/{S1}", params={"options": "sysAttrs", "lastN": "1"}).json()
    assert {"createdAt", "modifiedAt"} <= set(sys["temp"][0]) and "createdAt" in sys


def test_attrs_selects_attributes(city) -> None:
    body = city.get(f"{T}/{S1}", params={"attrs": "humidity"}).json()
    assert set(body) == {"id", "type", "humidity"}
    query = city.get(T, params={"attrs": "humidity"}).json()
    assert [e["id"] for e in query] == [S1]


def test_temporal_values(city) -> None:
    body = city.get(f"{T}/{S1}", params={"options": "temporalValues", "lastN": "2"}).json()
    assert body["temp"] == {"type": "Property", "values": [[14, iso(4)], [15, iso(5)]]}
    same = city.get(f"{T}/{S1}", params={"format": "temporalValues", "lastN": "2"}).json()
    assert same == body
    rel = {
        "id": "urn:ngsi-ld:Bus:1",
        "type": "Bus",
        "stop": {"type": "Relationship", "object": "urn:ngsi-ld:Stop:1", "observedAt": at(0)},
    }
    assert city.post(E, json=rel).status_code == 201
    observe_rel = {
        "stop": {"type": "Relationship", "object": "urn:ngsi-ld:Stop:2", "observedAt": at(1)}
    }
    city.patch(f"{E}/urn:ngsi-ld:Bus:1", json=observe_rel, headers=MERGE)
    bus = city.get(f"{T}/urn:ngsi-ld:Bus:1", params={"options": "temporalValues"}).json()
    assert bus["stop"] == {
        "type": "Relationship",
        "objects": [["urn:ngsi-ld:Stop:1", iso(0)], ["urn:ngsi-ld:Stop:2", iso(1)]],
    }


def test_datasets_in_temporal_values(client) -> None:
    entity = {
        "id": S1,
        "type": "Sensor",
        "temp": [
            {"value": 1, "observedAt": at(0)},
            {"value": 2, "observedAt": at(0), "datasetId": "urn:ngsi-ld:Dataset:b"},
        ],
    }
    assert client.post(E, json=entity).status_code == 201
    body = client.get(f"{T}/{S1}", params={"options": "temporalValues"}).json()
    assert body["temp"] == [
        {"type": "Property", "values": [[1, iso(0)]]},
        {"type": "Property", "values": [[2, iso(0)]], "datasetId": "urn:ngsi-ld:Dataset:b"},
    ]


FILTERS: list[tuple[dict[str, str], list[str]]] = [
    ({"type": "Sensor"}, [S1, S2]),
    ({"type": "Parking"}, [P1]),
    ({"type": "Sensor,Parking", "id": f"{S2},{P1}"}, [S2, P1]),
    ({"type": "Sensor", "idPattern": ".*Sensor:2$"}, [S2]),
    ({"type": "Sensor", "q": "temp>=15"}, [S1, S2]),
    ({"type": "Sensor", "q": "temp>=16"}, [S2]),
    (
        {
            "type": "Sensor",
            "georel": "near;maxDistance==1000",
            "geometry": "Point",
            "coordinates": "[127.3,36.5]",
        },
        [S2],
    ),
    ({"type": "Sensor", "limit": "1", "offset": "1"}, [S2]),
]


def test_entity_filters_use_the_current_state(city) -> None:
    for params, ids in FILTERS:
        response = city.get(T, params={**params, "timerel": "before", "timeAt": at(1)})
        assert response.status_code == 200, response.text
        body = response.json()
        assert [e["id"] for e in body] == ids, params
        for entity in body:
            if entity["type"] == "Sensor":
                assert [i["observedAt"] for i in entity["temp"]] == [iso(0)]


def test_count_and_deleted_entities_in_queries(city) -> None:
    counted = city.get(T, params={"type": "Sensor", "count": "true", "limit": "1"})
    assert counted.headers["NGSILD-Results-Count"] == "2"
    assert city.delete(f"{E}/{S1}").status_code == 204
    body = city.get(T, params={"type": "Sensor", "count": "true"})
    assert body.headers["NGSILD-Results-Count"] == "2"
    gone = body.json()[1]
    assert gone["id"] == S1 and "deletedAt" in gone and temps(gone)[:2] == [10, 11]
    assert [e["id"] for e in city.get(T, params={"type": "Sensor", "q": "temp>0"}).json()] == [S2]
    page = city.get(T, params={"type": "Sensor", "limit": "1", "offset": "1"}).json()
    assert [e["id"] for e in page] == [S1]
    retrieved = city.get(f"{T}/{S1}").json()
    assert retrieved["deletedAt"] == gone["deletedAt"]


def test_post_query(city) -> None:
    query = {
        "type": "Query",
        "entities": [{"type": "Sensor"}],
        "attrs": ["temp"],
        "temporalQ": {"timerel": "between", "timeAt": at(2), "endTimeAt": at(4)},
    }
    response = city.post("/ngsi-ld/v1/temporal/entityOperations/query", json=query)
    assert response.status_code == 200, response.text
    assert [(e["id"], temps(e)) for e in response.json()] == [(S1, [12, 13]), (S2, [22, 23])]
    values = city.post(
        "/ngsi-ld/v1/temporal/entityOperations/query",
        json={**query, "temporalQ": {"lastN": 1}},
        params={"options": "temporalValues"},
    ).json()
    assert values[1]["temp"]["values"] == [[25, iso(5)]]


def test_pagination_with_content_range(city, hub: Hub) -> None:
    hub.settings.temporal_max_instances = 4
    first = city.get(T, params={"type": "Sensor", "timerel": "after", "timeAt": at(0)})
    assert first.status_code == 206
    assert first.headers["Content-Range"] == f"date-time {iso(0)}-{iso(4)}/*"
    assert [temps(e) for e in first.json()] == [[10, 11, 12, 13], [20, 21, 22, 23]]
    assert temps(first.json()[0], "humidity") == [50, 53]
    rest = city.get(
        T, params={"type": "Sensor", "timerel": "between", "timeAt": iso(4), "endTimeAt": at(9)}
    )
    assert rest.status_code == 200 and "Content-Range" not in rest.headers
    assert [temps(e) for e in rest.json()] == [[14, 15], [24, 25]]
    single = city.get(f"{T}/{S1}")
    assert single.status_code == 206
    assert single.headers["Content-Range"] == f"date-time {iso(0)}-{iso(4)}/*"
    newest = city.get(f"{T}/{S1}", params={"lastN": "5"})
    assert newest.status_code == 206
    assert newest.headers["Content-Range"] == f"date-time {iso(5)}-{iso(2)}/5"
    assert temps(newest.json()) == [12, 13, 14, 15]
    assert temps(newest.json(), "humidity") == [53]
    older = city.get(f"{T}/{S1}", params={"lastN": "1", "timerel": "before", "timeAt": iso(2)})
    assert temps(older.json()) == [11]
    within = city.get(f"{T}/{S1}", params={"lastN": "4"})
    assert within.status_code == 200 and temps(within.json()) == [12, 13, 14, 15]


def test_pagination_never_splits_an_instant(client, hub: Hub) -> None:
    hub.settings.temporal_max_instances = 2
    entity = {
        "id": S1,
        "type": "Sensor",
        "temp": [
            {"value": n, "observedAt": at(1), "datasetId": f"urn:ngsi-ld:Dataset:{n}"}
            for n in range(3)
        ]
        + [{"value": 9, "observedAt": at(2)}],
    }
    assert client.post(E, json=entity).status_code == 201
    response = client.get(f"{T}/{S1}")
    assert response.status_code == 206
    assert sorted(temps(response.json())) == [0, 1, 2]
    assert response.headers["Content-Range"] == f"date-time {iso(1)}-2026-01-01T01:00:00.000001Z/*"


def test_unknown_entity_and_tenant(city) -> None:
    missing = city.get(f"{T}/urn:ngsi-ld:Sensor:404")
    assert missing.status_code == 404 and missing.json()["type"] == ERR + "ResourceNotFound"
    tenant = city.get(f"{T}/{S1}", headers={"NGSILD-Tenant": "nowhere"})
    assert tenant.status_code == 404 and tenant.json()["type"] == ERR + "NonexistentTenant"
    query = city.get(T, params={"type": "Sensor"}, headers={"NGSILD-Tenant": "nowhere"})
    assert query.status_code == 404 and query.json()["type"] == ERR + "NonexistentTenant"


BAD_PARAMETERS: list[tuple[dict[str, str], str]] = [
    ({"timerel": "before", "timeAt": "yesterday"}, "'timeAt' is not an ISO 8601 date-time"),
    ({"timerel": "before", "timeAt": "2026-01-01"}, "'timeAt' is not an ISO 8601"),
    ({"timerel": "before"}, "'timerel=before' needs 'timeAt'"),
    ({"timeAt": at(1)}, "'timeAt' needs 'timerel'"),
    ({"timerel": "during", "timeAt": at(1)}, "'timerel' must be one of"),
    ({"timerel": "between", "timeAt": at(1)}, "'timerel=between' needs 'endTimeAt'"),
    ({"timerel": "between", "timeAt": at(2), "endTimeAt": at(1)}, "must be after 'timeAt'"),
    ({"timerel": "between", "timeAt": at(2), "endTimeAt": at(2)}, "must be after 'timeAt'"),
    ({"timerel": "between", "timeAt": at(1), "endTimeAt": "soon"}, "'endTimeAt' is not"),
    ({"timerel": "after", "timeAt": at(1), "endTimeAt": at(2)}, "only allowed with"),
    ({"timeproperty": "seenAt"}, "'timeproperty' must be one of"),
    ({"lastN": "0"}, "'lastN' must be a positive integer"),
    ({"lastN": "-2"}, "'lastN' must be a positive integer"),
    ({"lastN": "two"}, "'lastN' must be a positive integer"),
    ({"aggrMethods": "avg"}, "'aggrMethods' needs the aggregated representation"),
    ({"aggrPeriodDuration": "PT1H"}, "'aggrPeriodDuration' needs the aggregated"),
    ({"format": "aggregatedValues"}, "needs 'aggrMethods'"),
    (
        {"format": "aggregatedValues", "aggrMethods": "mean"},
        "unknown aggregation method 'mean'",
    ),
    (
        {"format": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "P"},
        "is not an ISO 8601 duration",
    ),
    (
        {"format": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "1H"},
        "is not an ISO 8601 duration",
    ),
    (
        {"format": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "PT-1H"},
        "is not an ISO 8601 duration",
    ),
    ({"format": "keyValues"}, "unknown format"),
    ({"options": "keyValues"}, "unknown option"),
    ({"options": "temporalValues", "format": "aggregatedValues"}, "more than one"),
]


def test_bad_parameters_are_400(client) -> None:
    assert client.post(E, json=make_entity(S1, "Sensor", temp=1)).status_code == 201
    for params, needle in BAD_PARAMETERS:
        for url, extra in ((f"{T}/{S1}", {}), (T, {"type": "Sensor"})):
            response = client.get(url, params={**extra, **params})
            assert response.status_code == 400, (url, params, response.text)
            problem = response.json()
            assert problem["type"] == ERR + "BadRequestData"
            assert needle in problem["detail"], (params, problem["detail"])


def test_query_needs_a_filter(city) -> None:
    response = city.get(T, params={"timerel": "after", "timeAt": at(0)})
    assert response.status_code == 400 and response.json()["type"] == ERR + "BadRequestData"
    bad_post = city.post(
        "/ngsi-ld/v1/temporal/entityOperations/query",
        json={"type": "Query", "entities": [{"type": "Sensor"}], "temporalQ": {"timerel": "after"}},
    )
    assert bad_post.status_code == 400 and "needs 'timeAt'" in bad_post.json()["detail"]
