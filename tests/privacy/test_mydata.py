"""MyData: a citizen's export holds everything about them; erasure removes it from every table
of the database (entities, indexes, history, outbox, contexts, consents), on both backends."""

from __future__ import annotations

import time
from typing import Any

from privacy_kit import bearer

from cityos.hub.subscriptions.store import OutboxEntry
from conftest import P1, P2, City

MY = "/privacy/v1/my/data"
T1 = "urn:ngsi-ld:Trip:T1"
T3 = "urn:ngsi-ld:Trip:T3"
H1 = "urn:ngsi-ld:HealthMeasurement:H1"
HH = "urn:ngsi-ld:Household:HH1"
#: Tables that keep their rows after an erasure (the audit trail: the city's accountability).
KEPT = {"privacy_audit", "privacy_audit_subjects"}


def _citizen(city: City, subject: str = P1) -> dict[str, str]:
    return bearer(city.mint(subject, ("citizen",)))


def _seed(city: City) -> None:
    admin = bearer(city.mint("seed", scopes=["admin"]))
    client = city.client
    household = {
        "id": HH,
        "type": "Household",
        "dataSubject": {"type": "ListRelationship", "objectList": [P1, P2]},
        "size": {"type": "Property", "value": 2},
    }
    third = {
        "id": T3,
        "type": "Trip",
        "dataSubject": {"type": "Relationship", "object": P1},
        "mode": {"type": "Property", "value": "PM"},
    }
    for body in (household, third):
        assert client.post("/ngsi-ld/v1/entities", json=body, headers=admin).status_code == 201
    for minutes in (15, 16):
        patch = {"durationMin": {"type": "Property", "value": minutes}}
        url = f"/ngsi-ld/v1/entities/{T1}/attrs"
        assert client.patch(url, json=patch, headers=admin).status_code == 204
    assert client.delete(f"/ngsi-ld/v1/entities/{T3}", headers=admin).status_code == 204
    consent = {"purpose": "research", "recipient": "uni", "categories": ["*"]}
    assert (
        client.post("/privacy/v1/consents", json=consent, headers=_citizen(city)).status_code == 201
    )
    context = {"@context": {"owner": {"@id": "https://example.org/owner"}, "note": P1}}
    assert client.post("/ngsi-ld/v1/jsonldContexts", json=context, headers=admin).status_code == 201
    store = city.hub.storage.subscriptions
    now = time.time()
    store.enqueue(
        [
            OutboxEntry("", "urn:ngsi-ld:Subscription:s1", "2026-01-01T00:00:00Z", now + 3600,
                        [{"id": T1, "type": "Trip"}, {"id": "urn:ngsi-ld:ParkingSpot:S1"}]),
            OutboxEntry("", "urn:ngsi-ld:Subscription:s1", "2026-01-01T00:00:00Z", now + 3600,
                        [{"id": H1, "type": "HealthMeasurement"}]),
        ],
        None,
    )  # fmt: skip


def _rows_naming(city: City, needles: list[str]) -> dict[str, list[str]]:
    """Table -> rows (as text) that contain any of ``needles``, over the whole database."""
    db = city.client.app.state.privacy.db
    found: dict[str, list[str]] = {}
    with db.read() as conn:
        if db.dialect == "postgresql":
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            ]
            rows_of = {t: conn.execute(f'SELECT t::text FROM "{t}" t').fetchall() for t in tables}
        else:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            rows_of = {t: conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables}
    for table, rows in rows_of.items():
        for row in rows:
            text = " ".join(x.decode("latin-1") if isinstance(x, bytes) else str(x) for x in row)
            if any(n in text for n in needles):
                found.setdefault(table, []).append(text)
    return found


def test_export_holds_everything_about_me(city: City):
    _seed(city)
    response = city.client.get(MY, headers=_citizen(city))
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    export: dict[str, Any] = response.json()
    assert export["subject"] == P1
    assert sorted(e["id"] for e in export["entities"]) == sorted([P1, T1, H1, HH])
    history = {h["id"]: h for h in export["history"]}
    assert set(history) == {P1, T1, H1, HH, T3}  # the deleted trip's history too
    durations = history[T1]["durationMin"]
    assert sorted(i["value"] for i in durations) == [14, 15, 16]
    assert [c["purpose"] for c in export["consents"]] == ["research"]
    assert [a["action"] for a in export["audit"]] == ["consent.grant"]
    other = city.client.get(MY, headers=_citizen(city, P2)).json()
    assert sorted(e["id"] for e in other["entities"]) == sorted([P2, "urn:ngsi-ld:Trip:T2", HH])
    assert other["consents"] == []


def test_erasure_removes_me_from_every_table(city: City):
    _seed(city)
    needles = [P1, T1, T3, H1]
    before = _rows_naming(city, needles)
    for table in ("entities", "notification_outbox", "privacy_consents", "jsonld_contexts"):
        assert table in before, table
    assert any(t.startswith("temporal_instances") or t == "temporal_entities" for t in before)
    refused = city.client.delete(MY, headers=_citizen(city))
    assert refused.status_code == 400 and "confirm=erase" in refused.json()["detail"]
    done = city.client.delete(f"{MY}?confirm=erase", headers=_citizen(city))
    assert done.status_code == 200, done.text
    assert done.json()["erased"] == {
        "entities": 4,
        "sharedEntitiesUnlinked": 1,
        "notificationsScrubbed": 2,
        "contexts": 1,
        "consents": 1,
        "serviceRecords": 0,  # no proposals, supports or comments
    }
    after = _rows_naming(city, needles)
    assert set(after) <= KEPT, {t: rows[:2] for t, rows in after.items() if t not in KEPT}
    # the other citizen's data and the shared household (without me) remain
    remaining = (P2, "urn:ngsi-ld:Trip:T2", HH, "urn:ngsi-ld:ParkingSpot:S1")
    assert set(city.hub.storage.get_entities("", remaining)) == set(remaining)
    mine = city.client.get(f"/ngsi-ld/v1/entities/{HH}", headers=_citizen(city, P2)).json()
    assert mine["dataSubject"]["objectList"] == [P2]
    outbox = city.hub.storage.subscriptions.heads(time.time() + 7200, 10)
    assert [[d["id"] for d in row.data] for row in outbox] == [["urn:ngsi-ld:ParkingSpot:S1"]]
    # nothing left to export, and erasing again is harmless
    export = city.client.get(MY, headers=_citizen(city)).json()
    assert export["entities"] == [] and export["history"] == [] and export["consents"] == []
    again = city.client.delete(f"{MY}?confirm=erase", headers=_citizen(city))
    assert again.json()["erased"]["entities"] == 0
    actions = [a["action"] + ":" + a["outcome"] for a in export["audit"]]
    assert "mydata.erase:started" in actions and "mydata.erase:done:4 entities" in actions


def test_mydata_needs_a_citizen(city: City):
    assert city.client.get(MY).status_code == 401
    operator = bearer(city.mint("op-1", ("operator",)))
    assert city.client.get(MY, headers=operator).status_code == 403
    assert city.client.delete(f"{MY}?confirm=erase", headers=operator).status_code == 403
