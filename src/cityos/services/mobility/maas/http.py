"""HTTP API of the MaaS journey planner under ``/mobility/v1`` (OpenAPI via FastAPI).

* ``GET /mobility/v1/plan?from=LAT,LON&to=LAT,LON&depart=HH:MM[:SS]&modes=…&age=…``
  ``&walkingDifficulty=…``: ranked itineraries;
* ``POST /mobility/v1/bookings`` ``{"itineraryId", "account", "idempotencyKey"?}`` books and pays;
* ``GET /mobility/v1/bookings/{id}``.

Errors are RFC 7807 problem details: a malformed position or time (400), an unknown mode (400,
``UnknownMode``), a place outside the network (400, ``OutsideNetwork``), no itinerary (404),
an unknown itinerary or booking (404), a refused payment (402).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from cityos.core.errors import BadRequestData
from cityos.privacy.records import check_record_access
from cityos.services.mobility.maas.booking import Booking, BookingService
from cityos.services.mobility.maas.planner import Itinerary, JourneyPlanner, Profile

_TIME = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")


class BookingRequest(BaseModel):
    """Body of a booking."""

    model_config = ConfigDict(extra="forbid")
    itineraryId: str = Field(min_length=1, max_length=64)
    account: str = Field(min_length=1, max_length=200)
    idempotencyKey: str | None = Field(default=None, min_length=1, max_length=200)


def parse_position(text: str, label: str) -> tuple[float, float]:
    """``"lat,lon"`` [degrees] -> (lat, lon); BadRequestData naming the parameter."""
    parts = text.split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise BadRequestData(f"{label}: expected 'lat,lon' in degrees, got {text!r}") from None
    return lat, lon


def parse_clock(text: str) -> float:
    """``HH:MM[:SS]`` -> seconds after midnight; BadRequestData otherwise."""
    m = _TIME.match(text)
    if not m:
        raise BadRequestData(f"depart: expected HH:MM or HH:MM:SS, got {text!r}")
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    return h * 3600 + mi * 60 + s


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def itinerary_json(it: Itinerary) -> dict[str, Any]:
    """An itinerary as JSON."""
    return {
        "id": it.id,
        "depart": _clock(it.depart_s),
        "arrive": _clock(it.arrive_s),
        "durationMin": round(it.duration_s / 60, 1),
        "fareKrw": it.fare_krw,
        "transfers": it.transfers,
        "walkM": it.walk_m,
        "modes": it.modes,
        "legs": [
            {
                **{k: v for k, v in asdict(leg).items() if k not in ("depart_s", "arrive_s")},
                "depart": _clock(leg.depart_s),
                "arrive": _clock(leg.arrive_s),
                "distance_m": round(leg.distance_m, 1),
            }
            for leg in it.legs
        ],
    }


def booking_json(b: Booking) -> dict[str, Any]:
    """A booking as JSON."""
    return {
        "id": b.id,
        "account": b.account,
        "fareKrw": b.receipt.amount_krw,
        "receipt": b.receipt.id,
        "legReferences": b.leg_references,
        "itinerary": itinerary_json(b.itinerary),
    }


def maas_router(service: Callable[[], BookingService]) -> APIRouter:
    """The router; ``service`` gives the booking service (and its planner) when first needed."""
    router = APIRouter(prefix="/mobility/v1", tags=["Mobility"])

    @router.get("/plan", summary="Ranked multimodal itineraries")
    def plan(
        from_: Annotated[str, Query(alias="from", description="Origin 'lat,lon' [degrees]")],
        to: Annotated[str, Query(description="Destination 'lat,lon' [degrees]")],
        depart: Annotated[str, Query(description="Departure HH:MM[:SS]")] = "08:00",
        modes: Annotated[
            str, Query(description="Comma-separated: walk, pm, shuttle, sharedCar, transit")
        ] = "walk,pm,shuttle,sharedCar,transit",
        age: Annotated[int, Query(ge=0, le=120)] = 30,
        walkingDifficulty: bool = False,
        limit: Annotated[int, Query(ge=1, le=20)] = 5,
    ) -> dict[str, Any]:
        origin = parse_position(from_, "from")
        destination = parse_position(to, "to")
        wanted = {m.strip() for m in modes.split(",") if m.strip()}
        planner: JourneyPlanner = service().planner
        found = planner.plan(
            origin,
            destination,
            parse_clock(depart),
            modes=wanted,
            profile=Profile(age=age, walking_difficulty=walkingDifficulty),
            max_results=limit,
        )
        return {"itineraries": [itinerary_json(it) for it in found]}

    @router.post("/bookings", status_code=201, summary="Book and pay an itinerary")
    def book(body: BookingRequest, request: Request) -> JSONResponse:
        check_record_access(request.app, body.account, "maas.booking.create")
        booking = service().book(body.itineraryId, body.account, body.idempotencyKey)
        return JSONResponse(
            booking_json(booking),
            status_code=201,
            headers={"Location": f"/mobility/v1/bookings/{booking.id}"},
        )

    @router.get("/bookings/{booking_id}", summary="A booking")
    def get_booking(booking_id: str, request: Request) -> dict[str, Any]:
        booking = service().get(booking_id)
        check_record_access(request.app, booking.account, "maas.booking.read")
        return booking_json(booking)

    return router


def lazy(factory: Callable[[], BookingService]) -> Callable[[], BookingService]:
    """Build the service once, on first use (thread-safe)."""
    box: list[BookingService] = []
    lock = threading.Lock()

    def get() -> BookingService:
        with lock:
            if not box:
                box.append(factory())
            return box[0]

    return get
