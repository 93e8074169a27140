"""GET /entities: filters, q, geo-queries, paging, counting and their bad inputs."""

from __future__ import annotations

import math

import pytest
from pyproj import Geod

from conftest import make_entity, point

E = "/ngsi-ld/v1/entities"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
LON0, LAT0 = 127.30, 36.49


@pytest.fixture
def city(client):
    """Twelve stations on a line eastwards from (LON0, LAT0), 100 m apart, and two buildings."""
    entities = []
    for index in range(12):
        lon = LON0 + index * 100 / (111_320 * math.cos(math.radians(LAT0)))
        entities.append(
            make_entity(
                f"urn:ngsi-ld:AirQualityObserved:S{index:02d}",
                "AirQualityObserved",
                pm25={
                    "type": "Property",
                    "value": index * 5,
                    "observedAt": f"2026-11-{index + 1:02d}T00:00:00Z",
                },
                level="good" if index % 2 == 0 else "moderate",
                location=point(round(lon, 7), LAT0),
            )
        )
    entities.append(
        make_entity(
            "urn:ngsi-ld:Building:B1",
            ["Building", "School"],
            address={"type": "Property", "value": {"addressRegion": "Sejong", "floors": 4}},
            location={
                "type": "GeoProperty",
                "value": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [127.29, 36.48],
                            [127.31, 36.48],
                            [127.31, 36.50],
                            [127.29, 36.50],
                            [127.29, 36.48],
                        ]
                    ],
                },
            },
        )
    )
    entities.append(
        make_entity(
            "urn:ngsi-ld:Building:B2",
            "Building",
            address={"type": "Property", "value": {"addressRegion": "Daejeon"}},
        )
    )
    response = client.post("/ngsi-ld/v1/entityOperations/create", json=entities)
    assert response.status_code == 201, response.text
    return entities


def ids(response):
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()]


def test_type_id_and_pattern_filters(client, city):
    assert len(ids(client.get(E, params={"type": "AirQualityObserved", "limit": 100}))) == 12
    assert ids(client.get(E, params={"type": "School"})) == ["urn:ngsi-ld:Building:B1"]
    assert ids(client.get(E, params={"type": "Building;School"})) == ["urn:ngsi-ld:Building:B1"]
    both = ids(client.get(E, params={"type": "School,Building"}))
    assert both == ["urn:ngsi-ld:Building:B1", "urn:ngsi-ld:Building:B2"]
    picked = ids(
        client.get(
            E,
            params={
                "id": "urn:ngsi-ld:Building:B2,urn:ngsi-ld:AirQualityObserved:S03",
                "type": "Building,AirQualityObserved",
            },
        )
    )
    assert sorted(picked) == ["urn:ngsi-ld:AirQualityObserved:S03", "urn:ngsi-ld:Building:B2"]
    pattern = {"idPattern": "^urn:ngsi-ld:Building:B[2-9]$", "type": "Building"}
    assert ids(client.get(E, params=pattern)) == ["urn:ngsi-ld:Building:B2"]
    # id and idPattern narrow a query but are not enough on their own (§5.7.2.4)
    only_ids = client.get(E, params={"id": "urn:ngsi-ld:Building:B2"})
    assert only_ids.status_code == 400
    assert only_ids.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert ids(client.get(E, params={"attrs": "address"})) == [
        "urn:ngsi-ld:Building:B1",
        "urn:ngsi-ld:Building:B2",
    ]


def test_q_filters_match_the_data(client, city):
    def q(text):
        return set(
            ids(client.get(E, params={"type": "AirQualityObserved", "q": text, "limit": 100}))
        )

    values = {e["id"]: e["pm25"]["value"] for e in city if "pm25" in e}
    assert q("pm25>=30") == {i for i, v in values.items() if v >= 30}
    assert q("pm25==10..20") == {i for i, v in values.items() if 10 <= v <= 20}
    assert q("pm25==0,55") == {i for i, v in values.items() if v in (0, 55)}
    assert q('level=="good";pm25<20') == {
        i for i, v in values.items() if v < 20 and (v // 5) % 2 == 0
    }
    assert q('(level=="good"|pm25>50);pm25!=0') == {
        i for i, v in values.items() if ((v // 5) % 2 == 0 or v > 50) and v != 0
    }
    assert q("level~=^mod") == {i for i, v in values.items() if (v // 5) % 2 == 1}
    assert q("pm25.observedAt>=2026-11-10T00:00:00Z") == {i for i, v in values.items() if v >= 45}
    assert set(ids(client.get(E, params={"q": 'address[addressRegion]=="Sejong"'}))) == {
        "urn:ngsi-ld:Building:B1"
    }


@pytest.mark.parametrize(
    "bad_q",
    [
        "pm25>",
        "(pm25>1",
        "pm25>1)",
        "pm25>>1",
        ";pm25>1",
        'level=="open',
        "pm25==1..",
        "pm25~=(",
        "",
    ],
)
def test_malformed_q_is_bad_request(client, city, bad_q):
    response = client.get(E, params={"type": "AirQualityObserved", "q": bad_q})
    assert response.status_code == 400
    assert response.json()["type"] == ERR + "BadRequestData"


def test_geo_near_matches_geodesic_distance(client, city):
    geod = Geod(ellps="WGS84")
    params = {
        "type": "AirQualityObserved",
        "georel": "near;maxDistance==350",
        "geometry": "Point",
        "coordinates": f"[{LON0},{LAT0}]",
        "limit": 100,
    }
    found = ids(client.get(E, params=params))
    expected = []
    for entity in city:
        if entity["type"] != "AirQualityObserved":
            continue
        lon, lat = entity["location"]["value"]["coordinates"]
        distance = geod.inv(LON0, LAT0, lon, lat)[2]
        if distance <= 350:
            expected.append((distance, entity["id"]))
    assert found == [i for _, i in sorted(expected)]  # sorted by distance
    far = ids(client.get(E, params=dict(params, georel="near;minDistance==950")))
    assert far == ["urn:ngsi-ld:AirQualityObserved:S10", "urn:ngsi-ld:AirQualityObserved:S11"]


def test_geo_within_and_intersects(client, city):
    box = (
        "[[[127.2995,36.489],[127.3025,36.489],[127.3025,36.491],"
        "[127.2995,36.491],[127.2995,36.489]]]"
    )
    within = ids(
        client.get(
            E, params={"georel": "within", "geometry": "Polygon", "coordinates": box, "limit": 100}
        )
    )
    assert set(within) == {f"urn:ngsi-ld:AirQualityObserved:S{i:02d}" for i in range(3)}
    touching = ids(
        client.get(
            E,
            params={
                "type": "Building",
                "georel": "intersects",
                "geometry": "Point",
                "coordinates": "[127.3,36.49]",
            },
        )
    )
    assert touching == ["urn:ngsi-ld:Building:B1"]


def test_geojson_response(client, city):
    response = client.get(
        E,
        params={"type": "Building"},
        headers={"Accept": "application/geo+json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    features = {f["id"]: f for f in collection["features"]}
    assert features["urn:ngsi-ld:Building:B1"]["geometry"]["type"] == "Polygon"
    assert features["urn:ngsi-ld:Building:B2"]["geometry"] is None


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"georel": "near;maxDistance==100"}, 400),
        ({"georel": "near", "geometry": "Point", "coordinates": "[127.3,36.49]"}, 400),
        ({"georel": "within", "geometry": "Point", "coordinates": "[127.3,36.49"}, 400),
        ({"georel": "nearby", "geometry": "Point", "coordinates": "[127.3,36.49]"}, 400),
        ({"georel": "within", "geometry": "Polygon", "coordinates": "[[[0,0],[1,1],[0,1]]]"}, 400),
    ],
)
def test_bad_geo_queries(client, city, params, status):
    response = client.get(E, params=dict(params, type="AirQualityObserved"))
    assert response.status_code == status
    assert response.json()["type"] == ERR + "BadRequestData"


def test_paging_and_count(client, city):
    base = {"type": "AirQualityObserved"}
    first = client.get(E, params=dict(base, limit=5, count="true"))
    assert first.headers["NGSILD-Results-Count"] == "12"
    second = client.get(E, params=dict(base, limit=5, offset=5))
    assert "NGSILD-Results-Count" not in second.headers
    assert set(ids(first)).isdisjoint(ids(second)) and len(ids(second)) == 5
    only_count = client.get(E, params=dict(base, limit=0, count="true"))
    assert only_count.json() == [] and only_count.headers["NGSILD-Results-Count"] == "12"
    default = client.get(E, params=base)
    assert len(ids(default)) == 12  # default limit 20


@pytest.mark.parametrize(
    ("params", "status", "kind"),
    [
        ({"type": "AirQualityObserved", "limit": "101"}, 403, "TooManyResults"),
        ({"type": "AirQualityObserved", "limit": "-1"}, 400, "BadRequestData"),
        ({"type": "AirQualityObserved", "limit": "ten"}, 400, "BadRequestData"),
        ({"type": "AirQualityObserved", "limit": "0"}, 400, "BadRequestData"),
        ({"type": "AirQualityObserved", "offset": "x"}, 400, "BadRequestData"),
        ({}, 400, "BadRequestData"),
        ({"type": "(Building"}, 400, "BadRequestData"),
        ({"type": "Building;;School"}, 400, "BadRequestData"),
        ({"id": "not a uri"}, 400, "BadRequestData"),
        ({"idPattern": "urn:(x"}, 400, "BadRequestData"),
        ({"type": "Building", "options": "bogus"}, 400, "BadRequestData"),
        ({"type": "Building", "attrs": "a,,b"}, 400, "BadRequestData"),
    ],
)
def test_bad_query_parameters(client, city, params, status, kind):
    response = client.get(E, params=params)
    assert response.status_code == status, response.text
    assert response.json()["type"] == ERR + kind


def test_local_true_queries_everything(client, city):
    response = client.get(E, params={"local": "true", "limit": 100, "count": "true"})
    assert response.headers["NGSILD-Results-Count"] == str(len(city))
