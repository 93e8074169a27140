"""Consent (MyData) enforced by the hub: personal data never leaves without a live consent for
the declared purpose and recipient, on both storage backends."""

from __future__ import annotations

from typing import Any

import pytest
from privacy_kit import bearer

from cityos.hub.temporal.instants import from_us
from cityos.privacy.access import Access, acting_as
from cityos.privacy.consent import Consent
from cityos.privacy.consent_store import now_us
from cityos.privacy.scopes import parse_scopes
from cityos.privacy.tokens import Principal
from conftest import P1, P2, City

TRIPS = "/ngsi-ld/v1/entities?type=Trip"
MOBILITY = {"CityOS-Purpose": "mobility-planning"}


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(e["id"] for e in response.json())


def _operator(city: City, **headers: str) -> dict[str, str]:
    return bearer(city.mint("op-1", ("operator",), org="sejong-mobility"), **headers)


def _citizen(city: City, subject: str = P1) -> dict[str, str]:
    return bearer(city.mint(subject, ("citizen",)))


def _grant(city: City, subject: str = P1, **members: Any) -> dict[str, Any]:
    body = {"purpose": "mobility-planning", "recipient": "sejong-mobility", "categories": ["Trip"]}
    body.update(members)
    response = city.client.post("/privacy/v1/consents", json=body, headers=_citizen(city, subject))
    assert response.status_code == 201, response.text
    assert response.headers["location"].endswith(response.json()["id"])
    return response.json()


def test_no_consent_no_personal_data(city: City):
    operator = _operator(city, **MOBILITY)
    assert _ids(city.client.get(TRIPS, headers=operator)) == []
    everything = city.client.get("/ngsi-ld/v1/entities?local=true&limit=100", headers=operator)
    assert _ids(everything) == ["urn:ngsi-ld:ParkingSpot:S1"]
    for eid in (P1, "urn:ngsi-ld:Trip:T1", "urn:ngsi-ld:HealthMeasurement:H1"):
        assert city.client.get(f"/ngsi-ld/v1/entities/{eid}", headers=operator).status_code == 404
    query = {"type": "Query", "entities": [{"type": "Trip"}]}
    batch = city.client.post("/ngsi-ld/v1/entityOperations/query", json=query, headers=operator)
    assert _ids(batch) == []


def test_consent_releases_exactly_what_it_covers(city: City):
    _grant(city)
    operator = _operator(city, **MOBILITY)
    assert _ids(city.client.get(TRIPS, headers=operator)) == ["urn:ngsi-ld:Trip:T1"]
    trip = city.client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Trip:T1", headers=operator)
    assert trip.status_code == 200 and trip.json()["mode"]["value"] == "shuttle"
    # another subject, another category, another purpose, another recipient: nothing
    assert (
        city.client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Trip:T2", headers=operator).status_code
        == 404
    )
    health = "/ngsi-ld/v1/entities/urn:ngsi-ld:HealthMeasurement:H1"
    assert city.client.get(health, headers=operator).status_code == 404
    other_purpose = _operator(city, **{"CityOS-Purpose": "marketing"})
    assert _ids(city.client.get(TRIPS, headers=other_purpose)) == []
    no_purpose = _operator(city)
    assert _ids(city.client.get(TRIPS, headers=no_purpose)) == []
    stranger = bearer(city.mint("op-2", ("operator",), org="ad-company"), **MOBILITY)
    assert _ids(city.client.get(TRIPS, headers=stranger)) == []


def test_withdrawal_takes_effect_on_the_next_query(city: City):
    consent = _grant(city)
    operator = _operator(city, **MOBILITY)
    assert _ids(city.client.get(TRIPS, headers=operator)) == ["urn:ngsi-ld:Trip:T1"]
    withdrawn = city.client.delete(f"/privacy/v1/consents/{consent['id']}", headers=_citizen(city))
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert _ids(city.client.get(TRIPS, headers=operator)) == []
    again = city.client.delete(f"/privacy/v1/consents/{consent['id']}", headers=_citizen(city))
    assert again.json()["withdrawnAt"] == withdrawn.json()["withdrawnAt"]


def test_consent_period_is_enforced(city: City):
    future = from_us(now_us() + 3600 * 10**6)
    pending = _grant(city, validFrom=future)
    assert pending["state"] == "pending"
    operator = _operator(city, **MOBILITY)
    assert _ids(city.client.get(TRIPS, headers=operator)) == []
    privacy = city.client.app.state.privacy
    now = now_us()
    expired = Consent(
        "urn:ngsi-ld:Consent:expired",
        "",
        P1,
        "mobility-planning",
        "sejong-mobility",
        ("Trip",),
        now - 7200 * 10**6,
        now - 3600 * 10**6,
        now - 7200 * 10**6,
    )
    privacy.consents.grant(expired)
    assert _ids(city.client.get(TRIPS, headers=operator)) == []
    listed = city.client.get("/privacy/v1/consents", headers=_citizen(city)).json()
    assert sorted(c["state"] for c in listed) == ["expired", "pending"]


def test_wildcard_category_and_data_buyer_recipient(city: City):
    _grant(city, recipient="startup-x", categories=["*"], purpose="research")
    buyer = bearer(
        city.mint("buyer-1", ("data_buyer",), org="startup-x"), **{"CityOS-Purpose": "research"}
    )
    found = city.client.get("/ngsi-ld/v1/entities?local=true&limit=100", headers=buyer)
    ids = _ids(found)
    assert {P1, "urn:ngsi-ld:HealthMeasurement:H1"} <= set(ids)
    assert P2 not in ids


def test_citizens_see_their_own_data_only(city: City):
    mine = city.client.get("/ngsi-ld/v1/entities?local=true&limit=100", headers=_citizen(city))
    assert _ids(mine) == sorted(
        [
            P1,
            "urn:ngsi-ld:HealthMeasurement:H1",
            "urn:ngsi-ld:ParkingSpot:S1",
            "urn:ngsi-ld:Trip:T1",
        ]
    )
    other = city.client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Trip:T2", headers=_citizen(city))
    assert other.status_code == 404


def test_break_glass_releases_everything(city: City):
    emergency = _operator(
        city,
        **{"CityOS-Purpose": "emergency", "CityOS-Break-Glass": "cardiac arrest call 119-2231"},
    )
    found = _ids(city.client.get("/ngsi-ld/v1/entities?type=HealthMeasurement", headers=emergency))
    assert found == ["urn:ngsi-ld:HealthMeasurement:H1"]


def test_pseudonymised_release_rule(city: City):
    research = _operator(city, **{"CityOS-Purpose": "research"})
    trips = city.client.get(TRIPS, headers=research).json()
    assert len(trips) == 2
    text = str(trips)
    assert "T1" not in text and "T2" not in text and P1 not in text and P2 not in text
    assert "Kim" not in text  # direct identifier removed
    assert all(t["id"].startswith("urn:ngsi-ld:Trip:pseudonym:") for t in trips)
    assert sorted(t["mode"]["value"] for t in trips) == ["BRT", "shuttle"]
    again = city.client.get(TRIPS, headers=research).json()
    assert sorted(t["id"] for t in again) == sorted(t["id"] for t in trips)  # stable
    # not for another purpose, and never for health data
    health = city.client.get("/ngsi-ld/v1/entities?type=HealthMeasurement", headers=research)
    assert _ids(health) == []


def test_pseudonyms_differ_between_purposes(city: City):
    privacy = city.client.app.state.privacy
    keys = privacy.pseudonym_keys
    assert keys.pseudonym(P1, "research") == keys.pseudonym(P1, "research")
    assert keys.pseudonym(P1, "research") != keys.pseudonym(P1, "census")
    assert keys.pseudonym(P1, "research") != keys.pseudonym(P2, "research")


def test_temporal_reads_are_filtered_too(city: City):
    operator = _operator(city, **MOBILITY)
    temporal = "/ngsi-ld/v1/temporal/entities?type=Trip"
    assert _ids(city.client.get(temporal, headers=operator)) == []
    one = "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Trip:T2"
    assert city.client.get(one, headers=operator).status_code == 404
    _grant(city)
    assert _ids(city.client.get(temporal, headers=operator)) == ["urn:ngsi-ld:Trip:T1"]
    # a deleted personal entity's history stays withheld
    admin = bearer(city.mint("seed", scopes=["admin"]))
    assert (
        city.client.delete("/ngsi-ld/v1/entities/urn:ngsi-ld:Trip:T2", headers=admin).status_code
        == 204
    )
    assert _ids(city.client.get(temporal, headers=operator)) == ["urn:ngsi-ld:Trip:T1"]
    assert city.client.get(one, headers=operator).status_code == 404


def test_in_process_reads_without_access_get_no_personal_data(city: City):
    from cityos.hub.broker import EntityQuery

    hub = city.hub
    ctx = hub.context()
    page = hub.query_entities(EntityQuery(type="Trip"), ctx)
    assert page.entities == []
    service = Principal("svc", frozenset({"service"}), parse_scopes("read"), org="sejong-mobility")
    _grant(city)
    with acting_as(Access(service, purpose="mobility-planning")):
        page = hub.query_entities(EntityQuery(type="Trip"), ctx)
    assert [e.id for e in page.entities] == ["urn:ngsi-ld:Trip:T1"]


def test_notifications_carry_no_personal_data_in_production(city: City):
    guard = city.client.app.state.privacy.guard
    hub = city.hub
    entities = list(hub.storage.get_entities("", [P1, "urn:ngsi-ld:ParkingSpot:S1"]).values())
    kept = guard.hub_filter_entities(entities=entities, tenant="", purpose="notification")
    assert [e.id for e in kept] == ["urn:ngsi-ld:ParkingSpot:S1"]


def test_citizens_manage_only_their_own_consents(city: City):
    consent = _grant(city)
    p2 = _citizen(city, P2)
    assert city.client.get(f"/privacy/v1/consents/{consent['id']}", headers=p2).status_code == 404
    assert (
        city.client.delete(f"/privacy/v1/consents/{consent['id']}", headers=p2).status_code == 404
    )
    assert city.client.get("/privacy/v1/consents", headers=p2).json() == []
    assert city.client.get(f"/privacy/v1/consents?subject={P1}", headers=p2).status_code == 403
    body = {"subject": P1, "purpose": "x", "recipient": "y", "categories": ["Trip"]}
    assert city.client.post("/privacy/v1/consents", json=body, headers=p2).status_code == 403
    auditor = bearer(city.mint("aud-1", ("auditor",)))
    listed = city.client.get(f"/privacy/v1/consents?subject={P1}", headers=auditor)
    assert [c["id"] for c in listed.json()] == [consent["id"]]
    assert city.client.get("/privacy/v1/consents", headers=auditor).status_code == 400
    operator = _operator(city)
    assert city.client.get("/privacy/v1/consents", headers=operator).status_code == 403
    assert city.client.get("/privacy/v1/consents").status_code == 401


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"recipient": "r", "categories": ["Trip"]}, "purpose"),
        ({"purpose": "Bad Purpose", "recipient": "r", "categories": ["Trip"]}, "purpose"),
        ({"purpose": "p", "recipient": "has space", "categories": ["Trip"]}, "recipient"),
        ({"purpose": "p", "recipient": "r", "categories": []}, "categories"),
        ({"purpose": "p", "recipient": "r", "categories": ["no spaces allowed"]}, "categories"),
        ({"purpose": "p", "recipient": "r", "categories": ["Trip"], "colour": 1}, "colour"),
        (
            {"purpose": "p", "recipient": "r", "categories": ["Trip"], "validUntil": "soon"},
            "validUntil",
        ),
        (
            {
                "purpose": "p",
                "recipient": "r",
                "categories": ["Trip"],
                "validFrom": "2031-01-01T00:00:00Z",
                "validUntil": "2030-01-01T00:00:00Z",
            },
            "after",
        ),
        (
            {
                "purpose": "p",
                "recipient": "r",
                "categories": ["Trip"],
                "validUntil": "2001-01-01T00:00:00Z",
            },
            "past",
        ),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_consent_requests(city: City, body: Any, needle: str):
    response = city.client.post("/privacy/v1/consents", json=body, headers=_citizen(city))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert needle in response.json()["detail"]


def test_consent_body_must_be_json(city: City):
    headers = {**_citizen(city), "Content-Type": "text/plain"}
    response = city.client.post("/privacy/v1/consents", content=b"purpose=x", headers=headers)
    assert response.status_code == 400
    headers["Content-Type"] = "application/json"
    response = city.client.post("/privacy/v1/consents", content=b"{nope", headers=headers)
    assert response.status_code == 400 and "not JSON" in response.json()["detail"]
