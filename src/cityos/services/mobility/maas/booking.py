"""One-stop booking of an itinerary's legs, paid once through the payment port.

A booking reserves every leg of a planned itinerary and charges its single fare. It is all or
nothing: if a leg cannot be reserved (a leg reserver refuses) the charge is refunded and nothing
stays booked. The same idempotency key never books or charges twice.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from cityos.core.errors import AlreadyExists, ResourceNotFound
from cityos.services.mobility.maas.payment import PaymentPort, Receipt
from cityos.services.mobility.maas.planner import Itinerary, JourneyPlanner, Leg

#: Reserves one leg for an account, or raises; returns a reservation reference.
LegReserver = Callable[[Leg, str], str]


@dataclass
class Booking:
    """A booked itinerary: id, account, itinerary, receipt and one reference per leg."""

    id: str
    account: str
    itinerary: Itinerary
    receipt: Receipt
    leg_references: list[str] = field(default_factory=list)


class BookingService:
    """Books planned itineraries (see the module docstring)."""

    def __init__(
        self,
        planner: JourneyPlanner,
        payments: PaymentPort,
        reserver: LegReserver | None = None,
    ) -> None:
        self.planner = planner
        self.payments = payments
        self.reserver = reserver or (lambda leg, account: f"{leg.mode}:{uuid.uuid4().hex[:8]}")
        self.bookings: dict[str, Booking] = {}
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def book(self, itinerary_id: str, account: str, idempotency_key: str | None = None) -> Booking:
        """Book and pay an itinerary; ResourceNotFound, PaymentDeclined or AlreadyExists."""
        with self._lock:
            if idempotency_key is not None and idempotency_key in self._keys:
                previous = self.bookings[self._keys[idempotency_key]]
                if previous.itinerary.id != itinerary_id or previous.account != account:
                    raise AlreadyExists(
                        f"idempotency key {idempotency_key!r} was used for another booking"
                    )
                return previous
            itinerary = self.planner.itinerary(itinerary_id)
            if itinerary is None:
                raise ResourceNotFound(f"no planned itinerary {itinerary_id!r}; plan first")
            booking_id = f"urn:ngsi-ld:MobilityBooking:{uuid.uuid4().hex}"
            receipt = self.payments.charge(account, int(itinerary.fare_krw), booking_id)
            refs: list[str] = []
            try:
                for leg in itinerary.legs:
                    if leg.mode != "walk":
                        refs.append(self.reserver(leg, account))
            except Exception:
                self.payments.refund(receipt)
                raise
            booking = Booking(booking_id, account, itinerary, receipt, refs)
            self.bookings[booking_id] = booking
            if idempotency_key is not None:
                self._keys[idempotency_key] = booking_id
            return booking

    def get(self, booking_id: str) -> Booking:
        """A booking by id; ResourceNotFound otherwise."""
        try:
            return self.bookings[booking_id]
        except KeyError:
            raise ResourceNotFound(f"no booking {booking_id!r}") from None
