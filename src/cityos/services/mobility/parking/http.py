"""HTTP API of peer-to-peer parking under ``/mobility/v1/parking/``.

Times are ISO 8601 with a UTC offset. Errors are RFC 7807 problem details: 400 bad input, 404
unknown slot or booking, 409 a booking overlapping another, 422 a time outside the slot's
availability windows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from cityos.core.errors import ResourceNotFound
from cityos.privacy.records import check_record_access, may_see_person
from cityos.services.mobility.parking.store import Booking, ParkingStore, Slot

router = APIRouter(tags=["Mobility: parking sharing"])


def store_of(request: Request) -> ParkingStore:
    return parking_store(request.app)


def parking_store(app: Any) -> ParkingStore:
    """The app's parking store, opened on first use in the hub's database."""
    state = app.state
    store = getattr(state, "parking_store", None)
    if store is None:
        settings = state.settings
        store = ParkingStore.for_database_url(settings.resolved_database_url(), settings.data_dir)
        state.parking_store = store
    return store


class _AppRecords:
    """The parking records as MyData sees them (``cityos.privacy.mydata.ServiceRecords``)."""

    name = "parking"

    def __init__(self, app: Any) -> None:
        self.app = app

    def export_subject(self, subject: str, tenant: str) -> dict[str, Any]:
        return parking_store(self.app).export_subject(subject)

    def erase_subject(self, subject: str, tenant: str) -> int:
        removed, slots = parking_store(self.app).erase_subject(subject)
        hub = self.app.state.hub
        for slot_id in slots:  # the published ParkingSpot goes with its slot
            try:
                hub.delete_entity(f"urn:ngsi-ld:ParkingSpot:{slot_id}", tenant)
            except ResourceNotFound:
                pass
        return removed


def register_records(app: Any) -> None:
    """Make a citizen's MyData export and erasure reach their slots and bookings."""
    privacy = getattr(app.state, "privacy", None)
    if privacy is not None:
        privacy.mydata.register(_AppRecords(app))


def _tenant(request: Request) -> str:
    return request.headers.get("NGSILD-Tenant", "")


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts).astimezone().isoformat()


def _slot_json(s: Slot) -> dict[str, Any]:
    """The slot; its owner is named only to the owner and staff (a person's identity)."""
    owner = {"owner": s.owner} if may_see_person(s.owner) else {}
    return {
        "id": s.slot_id,
        **owner,
        "lat": s.lat,
        "lon": s.lon,
        "pricePerHourKRW": s.price_krw_h,
        "windows": [{"start": _iso(a), "end": _iso(b)} for a, b in s.windows],
    }


def _booking_json(b: Booking) -> dict[str, Any]:
    return {
        "id": b.booking_id,
        "slotId": b.slot_id,
        "driver": b.driver,
        "vehicle": b.vehicle,
        "start": _iso(b.start_s),
        "end": _iso(b.end_s),
        "priceKRW": b.price_krw,
        "status": b.status,
    }


class WindowIn(BaseModel):
    start: AwareDatetime
    end: AwareDatetime


class SlotIn(BaseModel):
    owner: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    pricePerHourKRW: float = Field(ge=0, le=1_000_000)
    windows: list[WindowIn] = Field(min_length=1, max_length=100)


class BookingIn(BaseModel):
    slotId: str = Field(min_length=1)
    driver: str = Field(min_length=1, max_length=200)
    vehicle: Literal["sharedCar", "privateCar"]
    start: AwareDatetime
    end: AwareDatetime


def slot_entity(s: Slot) -> dict[str, Any]:
    """The slot as an NGSI-LD ``ParkingSpot`` (FIWARE Smart Data Models, category peerToPeer);
    its bookings stay in the service's tables (drivers' identities are not published)."""
    return {
        "id": f"urn:ngsi-ld:ParkingSpot:{s.slot_id}",
        "type": "ParkingSpot",
        "category": {"type": "Property", "value": ["peerToPeer"]},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [s.lon, s.lat]}},
        "pricePerHourKRW": {"type": "Property", "value": s.price_krw_h},
        "availableWindows": {"type": "Property",
                             "value": [{"start": _iso(a), "end": _iso(b)} for a, b in s.windows]},
    }  # fmt: skip


@router.post("/mobility/v1/parking/slots", status_code=201, summary="Publish a parking slot")
def publish(body: SlotIn, request: Request) -> JSONResponse:
    check_record_access(request.app, body.owner, "parking.slot.publish", _tenant(request))
    store = store_of(request)
    slot = store.publish(
        body.owner, body.lat, body.lon, body.pricePerHourKRW,
        [(int(w.start.timestamp()), int(w.end.timestamp())) for w in body.windows],
    )  # fmt: skip
    hub = request.app.state.hub
    result = hub.batch_upsert([slot_entity(slot)], hub.context(), _tenant(request))
    if result.errors:
        store.withdraw(slot.slot_id)  # keep the tables and the hub consistent
        raise result.errors[0][1]
    where = f"/mobility/v1/parking/slots/{slot.slot_id}"
    return JSONResponse(_slot_json(slot), status_code=201, headers={"Location": where})


@router.get("/mobility/v1/parking/slots/{slot_id}", summary="One slot")
def get_slot(slot_id: str, request: Request) -> dict[str, Any]:
    return _slot_json(store_of(request).slot(slot_id))


@router.get("/mobility/v1/parking/slots", summary="Search free slots near a point for a time")
def search(
    request: Request,
    lat: float = Query(..., ge=-90, le=90),
    lon: float = Query(..., ge=-180, le=180),
    start: AwareDatetime = Query(...),
    end: AwareDatetime = Query(...),
    radius: float = Query(500.0, description="Search radius [m]"),
    vehicle: Literal["sharedCar", "privateCar"] = Query("privateCar"),
) -> list[dict[str, Any]]:
    from cityos.services.mobility.parking.store import price_krw

    s, e = int(start.timestamp()), int(end.timestamp())
    hits = store_of(request).search(lat, lon, radius, s, e)
    return [
        _slot_json(slot) | {"distanceM": round(d, 1),
                            "priceKRW": price_krw(slot.price_krw_h, vehicle, s, e)}
        for slot, d in hits
    ]  # fmt: skip


@router.post("/mobility/v1/parking/bookings", status_code=201, summary="Book a slot")
def book(body: BookingIn, request: Request) -> JSONResponse:
    check_record_access(request.app, body.driver, "parking.booking.create", _tenant(request))
    booking = store_of(request).book(
        body.slotId, body.driver, body.vehicle, int(body.start.timestamp()),
        int(body.end.timestamp()),
    )  # fmt: skip
    where = f"/mobility/v1/parking/bookings/{booking.booking_id}"
    return JSONResponse(_booking_json(booking), status_code=201, headers={"Location": where})


@router.get("/mobility/v1/parking/bookings/{booking_id}", summary="One booking")
def get_booking(booking_id: str, request: Request) -> dict[str, Any]:
    booking = store_of(request).booking(booking_id)
    check_record_access(request.app, booking.driver, "parking.booking.read", _tenant(request))
    return _booking_json(booking)


@router.delete("/mobility/v1/parking/bookings/{booking_id}", summary="Cancel a booking")
def cancel(booking_id: str, request: Request) -> dict[str, Any]:
    store = store_of(request)
    driver = store.booking(booking_id).driver
    check_record_access(request.app, driver, "parking.booking.cancel", _tenant(request))
    return _booking_json(store.cancel(booking_id))
