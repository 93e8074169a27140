"""The release API: differentially private aggregates under a durable per-consumer budget, and
k-anonymous record releases verified on the output; on both storage backends."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi.testclient import TestClient
from privacy_kit import bearer

from cityos.app import create_app
from conftest import City

AGG = "/privacy/v1/releases/aggregate"
KANON = "/privacy/v1/releases/k-anonymous"
ZONES = ["north", "centre", "south", "east"]
JOBS = ["teacher", "nurse", "designer", "retired", "pupil", "engineer"]


def _seed_people(city: City, n: int = 80) -> list[dict[str, Any]]:
    rng = random.Random(7)
    people = [
        {
            "id": f"urn:ngsi-ld:Person:R{i}",
            "type": "Person",
            "age": {"type": "Property", "value": rng.randint(6, 90)},
            "zone": {"type": "Property", "value": rng.choice(ZONES)},
            "occupation": {"type": "Property", "value": rng.choice(JOBS)},
            "name": {"type": "Property", "value": f"Resident {i}"},
        }
        for i in range(n)
    ]
    admin = bearer(city.mint("seed", scopes=["admin"]))
    made = city.client.post("/ngsi-ld/v1/entityOperations/create", json=people, headers=admin)
    assert made.status_code == 201, made.text
    return people


def _buyer(city: City, org: str = "startup-x", scopes: list[str] | None = None) -> dict[str, str]:
    return bearer(city.mint("buyer-1", ("data_buyer",), org=org, scopes=scopes))


def test_dp_aggregates_spend_a_durable_budget(city: City, city_settings):
    _seed_people(city)
    buyer = _buyer(city)
    request = {"dataset": "Person", "statistic": "mean", "attribute": "age", "epsilon": 2.0}
    request["bounds"] = [0, 100]
    first = city.client.post(AGG, json=request, headers=buyer)
    assert first.status_code == 200, first.text
    body = first.json()
    assert 20 < body["value"] < 80  # the true mean is about 48; the noise is small at ε=2, n=82
    assert body["budget"]["epsilonSpent"] == 2.0 and body["budget"]["epsilonRemaining"] == 3.0
    count = {"dataset": "Person", "statistic": "count", "epsilon": 2.0}
    assert city.client.post(AGG, json=count, headers=buyer).json()["budget"]["releases"] == 2
    # 4 of 5 spent: a release of 2 more is refused, and spends nothing
    refused = city.client.post(AGG, json=count, headers=buyer)
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["type"].endswith("/PrivacyBudgetExhausted")
    assert "1 of 5 epsilon left" in problem["detail"]
    assert problem["budget"]["epsilonRemaining"] == 1.0
    # the budget is kept in the database: a new server process sees it
    with TestClient(create_app(city_settings, city.hub), raise_server_exceptions=False) as other:
        again = other.post(AGG, json=count, headers=buyer)
        assert again.status_code == 403
        budget = other.get("/privacy/v1/releases/budget?dataset=Person", headers=buyer).json()
        assert budget["epsilonSpent"] == 4.0 and budget["releases"] == 2
    # another consumer has its own budget; so has another dataset
    assert city.client.post(AGG, json=count, headers=_buyer(city, "uni")).status_code == 200
    trips = {"dataset": "Trip", "statistic": "count", "epsilon": 1.0}
    assert city.client.post(AGG, json=trips, headers=buyer).status_code == 200
    releases = city.client.get(
        "/privacy/v1/audit?action=release.dp", headers=bearer(city.mint("a", ("auditor",)))
    ).json()
    assert [r["org"] for r in releases] == ["startup-x", "startup-x", "uni", "startup-x"]


def test_histogram_release(city: City):
    people = _seed_people(city)
    request = {
        "dataset": "Person",
        "statistic": "histogram",
        "attribute": "zone",
        "epsilon": 3.0,
        "categories": ZONES,
    }
    response = city.client.post(AGG, json=request, headers=_buyer(city))
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    truth = {z: sum(p["zone"]["value"] == z for p in people) for z in ZONES}
    assert set(value) == {*ZONES, "(other)"}
    assert all(abs(value[z] - truth[z]) <= 8 for z in ZONES)


def test_k_anonymous_release_is_verified(city: City):
    people = _seed_people(city)
    request = {
        "dataset": "Person",
        "quasiIdentifiers": ["age", "zone"],
        "sensitive": "occupation",
        "k": 5,
        "l": 2,
    }
    response = city.client.post(KANON, json=request, headers=_buyer(city))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"]["minGroupSize"] >= 5 and body["verified"]["minDistinctSensitive"] >= 2
    records = body["records"]
    assert len(records) == len(people) and body["suppressed"] == 2  # P1 and P2 have no zone
    assert all(set(r) == {"age", "zone", "occupation"} for r in records)
    # linkage: whoever knows a resident's age and zone finds at least 5 candidates
    for person in people:
        age, zone = person["age"]["value"], person["zone"]["value"]
        candidates = [r for r in records if r["age"][0] <= age <= r["age"][1] and zone in r["zone"]]
        assert len(candidates) >= 5


def test_releases_need_a_release_role_and_read_scope(city: City):
    _seed_people(city, 20)
    count = {"dataset": "Person", "statistic": "count", "epsilon": 0.5}
    citizen = bearer(city.mint("urn:ngsi-ld:Person:P1", ("citizen",)))
    assert city.client.post(AGG, json=count, headers=citizen).status_code == 403
    assert city.client.post(AGG, json=count).status_code == 401
    parking_only = _buyer(city, scopes=["read::ParkingSpot"])
    assert city.client.post(AGG, json=count, headers=parking_only).status_code == 403


@pytest.mark.parametrize(
    ("url", "body", "needle"),
    [
        (AGG, {"dataset": "Person", "statistic": "median", "epsilon": 1}, "statistic"),
        (AGG, {"dataset": "Person", "statistic": "count", "epsilon": 0}, "epsilon"),
        (AGG, {"dataset": "Person", "statistic": "count", "epsilon": 50}, "epsilon"),
        (AGG, {"dataset": "Person", "statistic": "count", "epsilon": True}, "epsilon"),
        (
            AGG,
            {"dataset": "Person", "statistic": "sum", "attribute": "age", "epsilon": 1},
            "bounds",
        ),
        (
            AGG,
            {"dataset": "P", "statistic": "sum", "attribute": "a", "epsilon": 1, "bounds": [5, 1]},
            "bounds",
        ),
        (
            AGG,
            {"dataset": "P", "statistic": "histogram", "attribute": "a", "epsilon": 1},
            "categories",
        ),
        (
            AGG,
            {"dataset": "P", "statistic": "count", "epsilon": 1, "contributions": 0},
            "contributions",
        ),
        (AGG, {"dataset": "no spaces", "statistic": "count", "epsilon": 1}, "dataset"),
        (AGG, {"dataset": "P", "statistic": "count", "epsilon": 1, "extra": 1}, "extra"),
        (
            KANON,
            {"dataset": "Person", "quasiIdentifiers": ["age"], "sensitive": "occupation", "k": 4},
            "'k'",
        ),
        (
            KANON,
            {"dataset": "Person", "quasiIdentifiers": [], "sensitive": "occupation", "k": 5},
            "quasi",
        ),
        (
            KANON,
            {"dataset": "Person", "quasiIdentifiers": ["age"], "sensitive": "dataSubject", "k": 5},
            "identifier",
        ),
        (
            KANON,
            {"dataset": "Person", "quasiIdentifiers": ["age"], "sensitive": "occupation", "k": 500},
            "no release possible",
        ),
        (KANON, [1], "JSON object"),
    ],
)
def test_bad_release_requests(city: City, url: str, body: Any, needle: str):
    _seed_people(city, 20)
    response = city.client.post(url, json=body, headers=_buyer(city))
    assert response.status_code == 400, response.text
    assert needle in response.json()["detail"]
    budget = city.client.get("/privacy/v1/releases/budget?dataset=Person", headers=_buyer(city))
    assert budget.json()["epsilonSpent"] == 0  # a refused request spends nothing
