"""Records a service keeps about a person (parking and trip bookings): only that person and
staff may create, read or cancel them, a slot's owner is named only to them, and every decision
is in the audit trail where the person can see it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from privacy_kit import Mint, bearer

SLOT = {
    "owner": "citizen-a",
    "lat": 36.4965,
    "lon": 127.2950,
    "pricePerHourKRW": 1000,
    "windows": [{"start": "2026-12-10T08:00:00+09:00", "end": "2026-12-10T20:00:00+09:00"}],
}


def _booking(driver: str) -> dict[str, Any]:
    return {"slotId": "", "driver": driver, "vehicle": "sharedCar",
            "start": "2026-12-10T09:00:00+09:00", "end": "2026-12-10T10:00:00+09:00"}  # fmt: skip


def _token(mint: Mint, subject: str, *roles: str) -> dict[str, str]:
    return bearer(mint(subject, roles=roles or ("citizen",), scopes=["read", "write", "delete"]))


def test_parking_records_belong_to_their_person(prod_client: TestClient, mint: Mint):
    a, b = _token(mint, "citizen-a"), _token(mint, "citizen-b")
    operator = _token(mint, "op-1", "operator")
    # Publishing a slot in someone else's name is refused; in one's own name it works.
    assert prod_client.post("/mobility/v1/parking/slots", json=SLOT, headers=b).status_code == 403
    created = prod_client.post("/mobility/v1/parking/slots", json=SLOT, headers=a)
    assert created.status_code == 201, created.text
    slot_id = created.json()["id"]
    # The owner's identity is shown to the owner and staff only.
    assert prod_client.get(f"/mobility/v1/parking/slots/{slot_id}", headers=a).json()["owner"]
    assert "owner" not in prod_client.get(f"/mobility/v1/parking/slots/{slot_id}", headers=b).json()
    found = prod_client.get(
        "/mobility/v1/parking/slots",
        params={"lat": SLOT["lat"], "lon": SLOT["lon"], "start": "2026-12-10T09:00:00+09:00",
                "end": "2026-12-10T10:00:00+09:00"},
        headers=b,
    ).json()  # fmt: skip
    assert [s["id"] for s in found] == [slot_id] and "owner" not in found[0]
    # B cannot book in A's name; B books for themself.
    body = _booking("citizen-a") | {"slotId": slot_id}
    refused = prod_client.post("/mobility/v1/parking/bookings", json=body, headers=b)
    assert refused.status_code == 403 and refused.json()["type"].endswith("/Forbidden")
    body = _booking("citizen-b") | {"slotId": slot_id}
    booked = prod_client.post("/mobility/v1/parking/bookings", json=body, headers=b)
    assert booked.status_code == 201, booked.text
    where = booked.headers["Location"]
    # A (the slot owner, not the driver) may neither read nor cancel B's booking.
    assert prod_client.get(where, headers=a).status_code == 403
    assert prod_client.delete(where, headers=a).status_code == 403
    assert prod_client.get(where, headers=b).json()["driver"] == "citizen-b"
    assert prod_client.get(where, headers=operator).status_code == 200
    assert prod_client.delete(where, headers=b).json()["status"] == "cancelled"

    # B sees every access to their booking, refused ones included, without others' ids.
    mine = prod_client.get("/privacy/v1/my/audit", headers=b).json()
    seen = [(e["action"], e["outcome"], e["actor"]) for e in mine]
    assert ("parking.booking.read", "denied", "citizen-a") in seen
    assert ("parking.booking.cancel", "denied", "citizen-a") in seen
    assert ("parking.booking.read", "allowed", "op-1") in seen
    assert ("parking.booking.cancel", "allowed", "citizen-b") in seen
    assert all(e["subjects"] == ["citizen-b"] for e in mine)


def test_trip_bookings_cannot_be_made_in_another_name(prod_client: TestClient, mint: Mint):
    body = {"itineraryId": "it-1", "account": "citizen-a"}
    refused = prod_client.post("/mobility/v1/bookings", json=body, headers=_token(mint, "c-b"))
    assert refused.status_code == 403
    assert "only the person the record is about" in refused.json()["detail"]


def test_mydata_export_and_erasure_reach_parking_records(prod_client: TestClient, mint: Mint):
    a, b = _token(mint, "citizen-a"), _token(mint, "citizen-b")
    operator = _token(mint, "op-1", "operator")
    slot_id = prod_client.post("/mobility/v1/parking/slots", json=SLOT, headers=a).json()["id"]
    body = _booking("citizen-b") | {"slotId": slot_id}
    booking = prod_client.post("/mobility/v1/parking/bookings", json=body, headers=b)
    where = booking.headers["Location"]
    spot = f"/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:{slot_id}"
    assert prod_client.get(spot, headers=operator).status_code == 200
    mine = prod_client.get("/privacy/v1/my/data", headers=b).json()["services"]["parking"]
    assert [x["booking_id"] for x in mine["bookings"]] == [where.rsplit("/", 1)[1]]
    theirs = prod_client.get("/privacy/v1/my/data", headers=a).json()["services"]["parking"]
    assert [s["slot_id"] for s in theirs["slots"]] == [slot_id] and theirs["bookings"] == []
    erased = prod_client.delete("/privacy/v1/my/data?confirm=erase", headers=a).json()
    assert erased["erased"]["serviceRecords"] == 2  # the slot and the booking made on it
    assert prod_client.get(f"/mobility/v1/parking/slots/{slot_id}", headers=a).status_code == 404
    assert prod_client.get(spot, headers=operator).status_code == 404  # withdrawn from the hub
    assert prod_client.get(where, headers=operator).status_code == 404
    after = prod_client.get("/privacy/v1/my/data", headers=a).json()["services"]["parking"]
    assert after == {"slots": [], "bookings": []}
