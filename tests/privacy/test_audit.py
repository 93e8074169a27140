"""The audit trail: every access to personal data is recorded, hash-chained, append-only;
auditors query it, citizens see who used their data."""

from __future__ import annotations

from typing import Any

import pytest
from privacy_kit import bearer

from conftest import P1, P2, City

AUDIT = "/privacy/v1/audit"


def _auditor(city: City) -> dict[str, str]:
    return bearer(city.mint("aud-1", ("auditor",)))


def _operator(city: City, **headers: str) -> dict[str, str]:
    return bearer(city.mint("op-1", ("operator",), org="sejong-mobility"), **headers)


def _grant(city: City, subject: str = P1) -> dict[str, Any]:
    body = {"purpose": "mobility-planning", "recipient": "sejong-mobility", "categories": ["Trip"]}
    headers = bearer(city.mint(subject, ("citizen",)))
    response = city.client.post("/privacy/v1/consents", json=body, headers=headers)
    assert response.status_code == 201
    return response.json()


def _entries(city: City, **params: str) -> list[dict[str, Any]]:
    response = city.client.get(AUDIT, params=params, headers=_auditor(city))
    assert response.status_code == 200, response.text
    return response.json()


def test_reads_of_personal_data_are_audited(city: City):
    _grant(city)
    operator = _operator(city, **{"CityOS-Purpose": "mobility-planning"})
    assert len(city.client.get("/ngsi-ld/v1/entities?type=Trip", headers=operator).json()) == 1
    reads = _entries(city, action="read", actor="op-1")
    assert len(reads) == 1
    entry = reads[0]
    assert entry["subjects"] == [P1]
    assert entry["purpose"] == "mobility-planning" and entry["org"] == "sejong-mobility"
    assert entry["roles"] == ["operator"] and entry["outcome"] == "partial:consent"
    assert entry["entities"] == 1 and entry["withheld"] == 1
    # a read that touched no personal data leaves no entry
    city.client.get("/ngsi-ld/v1/entities?type=ParkingSpot", headers=operator)
    assert len(_entries(city, action="read", actor="op-1")) == 1
    # a refused read is recorded as withheld, naming nobody
    stranger = bearer(city.mint("op-2", ("operator",)), **{"CityOS-Purpose": "marketing"})
    city.client.get("/ngsi-ld/v1/entities?type=Trip", headers=stranger)
    (refused,) = _entries(city, actor="op-2")
    assert refused["outcome"] == "withheld" and refused["subjects"] == []
    assert refused["withheld"] == 2


def test_break_glass_is_always_audited_with_its_justification(city: City):
    why = "cardiac arrest reported at BRT stop 4"
    headers = _operator(city, **{"CityOS-Purpose": "emergency", "CityOS-Break-Glass": why})
    city.client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:HealthMeasurement:H1", headers=headers)
    (entry,) = _entries(city, purpose="emergency")
    assert entry["justification"] == why
    assert entry["outcome"] == "released:break-glass" and entry["subjects"] == [P1]


def test_citizens_see_who_used_their_data(city: City):
    consent = _grant(city)
    operator = _operator(city, **{"CityOS-Purpose": "mobility-planning"})
    city.client.get("/ngsi-ld/v1/entities?type=Trip", headers=operator)
    mine = city.client.get("/privacy/v1/my/audit", headers=bearer(city.mint(P1, ("citizen",))))
    assert mine.status_code == 200
    actions = [(e["action"], e["actor"]) for e in mine.json()]
    assert actions == [("consent.grant", P1), ("read", "op-1")]
    assert all(e["subjects"] == [P1] and "client" not in e for e in mine.json())
    assert consent["id"] in mine.json()[0]["outcome"]
    theirs = city.client.get("/privacy/v1/my/audit", headers=bearer(city.mint(P2, ("citizen",))))
    assert theirs.json() == []
    nosy = city.client.get(
        f"/privacy/v1/my/audit?subject={P1}", headers=bearer(city.mint(P2, ("citizen",)))
    )
    assert nosy.status_code == 400


def test_only_auditors_query_the_trail(city: City):
    assert city.client.get(AUDIT).status_code == 401
    assert city.client.get(AUDIT, headers=_operator(city)).status_code == 403
    assert city.client.get(AUDIT, headers=bearer(city.mint(P1, ("citizen",)))).status_code == 403
    assert city.client.get(f"{AUDIT}/verify", headers=_operator(city)).status_code == 403


@pytest.mark.parametrize(
    "query", ["limit=abc", "limit=5000", "offset=-1", "since=yesterday", "colour=red"]
)
def test_bad_audit_queries(city: City, query: str):
    response = city.client.get(f"{AUDIT}?{query}", headers=_auditor(city))
    assert response.status_code == 400, response.text


def test_chain_verifies_and_detects_tampering(city: City):
    _grant(city)
    _grant(city, P2)
    operator = _operator(city, **{"CityOS-Purpose": "mobility-planning"})
    for _ in range(3):
        city.client.get("/ngsi-ld/v1/entities?type=Trip", headers=operator)
    verdict = city.client.get(f"{AUDIT}/verify", headers=_auditor(city)).json()
    assert verdict["valid"] is True and verdict["entries"] == 5
    entries = _entries(city)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert verdict["head"] == entries[-1]["hash"]
    db = city.client.app.state.privacy.db
    # the database refuses changes to the trail
    with pytest.raises(Exception, match="append-only"), db.write() as conn:
        db.execute(conn, "UPDATE privacy_audit SET actor = 'nobody' WHERE seq = 3")
    with pytest.raises(Exception, match="append-only"), db.write() as conn:
        db.execute(conn, "DELETE FROM privacy_audit WHERE seq = 3")
    # someone with the database owner's rights disables the guard and rewrites history
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute("ALTER TABLE privacy_audit DISABLE TRIGGER privacy_audit_no_change")
        else:
            conn.execute("DROP TRIGGER privacy_audit_no_update")
        db.execute(conn, "UPDATE privacy_audit SET actor = 'nobody' WHERE seq = 3")
    verdict = city.client.get(f"{AUDIT}/verify", headers=_auditor(city)).json()
    assert verdict == {
        "valid": False,
        "entries": 2,
        "head": entries[1]["hash"],
        "firstBadSeq": 3,
    }


def test_notifications_are_audited(city: City):
    admin = bearer(city.mint("seed", scopes=["admin"]))
    subscription = {
        "type": "Subscription",
        "entities": [{"type": "Trip"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }
    made = city.client.post("/ngsi-ld/v1/subscriptions", json=subscription, headers=admin)
    assert made.status_code == 201, made.text
    patch = {"durationMin": {"type": "Property", "value": 15}}
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Trip:T1/attrs"
    assert city.client.patch(url, json=patch, headers=admin).status_code == 204
    (entry,) = _entries(city, action="notify")
    assert entry["actor"] == "notification" and entry["outcome"] == "withheld"
    assert entry["withheld"] == 1
