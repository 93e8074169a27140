"""Durable slots and bookings in SQLite, with no double booking under concurrent writers.

Tables ``parking_slot``, ``parking_window`` (availability windows) and ``parking_booking`` live in
the hub's SQLite database file (``CITYOS_DATA_DIR/hub.db``; with a PostgreSQL hub, in
``CITYOS_DATA_DIR/parking.db``). Double booking is prevented by the database itself: a trigger
aborts any insert of an active booking that overlaps another active booking of the same slot, and
every booking runs in a ``BEGIN IMMEDIATE`` transaction, so SQLite serialises the check and the
insert of concurrent writers (also across processes). Times are POSIX seconds, half-open
intervals ``[start_s, end_s)``.

Pricing favours shared cars: the owner's hourly price times ``SHARED_CAR_FACTOR`` (0.6) for a
shared car and ``PRIVATE_CAR_FACTOR`` (1.5) for a private car, per started quarter hour.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cityos.core.errors import CITYOS_PROBLEM_BASE, BadRequestData, CityOSError, ResourceNotFound
from cityos.core.sqlite_file import SqliteFile

SHARED_CAR_FACTOR = 0.6
PRIVATE_CAR_FACTOR = 1.5
VEHICLES = {"sharedCar": SHARED_CAR_FACTOR, "privateCar": PRIVATE_CAR_FACTOR}
#: Longest booking [s].
MAX_BOOKING_S = 7 * 86_400

SCHEMA = """
CREATE TABLE IF NOT EXISTS parking_slot (
    slot_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    price_krw_h REAL NOT NULL CHECK (price_krw_h >= 0)
);
CREATE TABLE IF NOT EXISTS parking_window (
    slot_id TEXT NOT NULL REFERENCES parking_slot(slot_id) ON DELETE CASCADE,
    start_s INTEGER NOT NULL,
    end_s INTEGER NOT NULL CHECK (end_s > start_s)
);
CREATE INDEX IF NOT EXISTS parking_window_slot ON parking_window(slot_id, start_s);
CREATE TABLE IF NOT EXISTS parking_booking (
    booking_id TEXT PRIMARY KEY,
    slot_id TEXT NOT NULL REFERENCES parking_slot(slot_id),
    driver TEXT NOT NULL,
    vehicle TEXT NOT NULL CHECK (vehicle IN ('sharedCar', 'privateCar')),
    start_s INTEGER NOT NULL,
    end_s INTEGER NOT NULL CHECK (end_s > start_s),
    price_krw REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled'))
);
CREATE INDEX IF NOT EXISTS parking_booking_slot ON parking_booking(slot_id, start_s);
CREATE TRIGGER IF NOT EXISTS parking_booking_no_overlap
BEFORE INSERT ON parking_booking
WHEN NEW.status = 'active' AND EXISTS (
    SELECT 1 FROM parking_booking b
    WHERE b.slot_id = NEW.slot_id AND b.status = 'active'
      AND b.start_s < NEW.end_s AND NEW.start_s < b.end_s)
BEGIN
    SELECT RAISE(ABORT, 'parking booking overlaps');
END;
"""


class BookingConflict(CityOSError):
    """The slot is already booked for part of the requested time."""

    type_uri = CITYOS_PROBLEM_BASE + "BookingConflict"
    title = "Booking conflict"
    status = 409


class OutsideAvailability(CityOSError):
    """The requested time is not within one of the slot's availability windows."""

    type_uri = CITYOS_PROBLEM_BASE + "OutsideAvailability"
    title = "Outside the slot's availability"
    status = 422


@dataclass(frozen=True)
class Slot:
    slot_id: str
    owner: str
    lat: float
    lon: float
    price_krw_h: float
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Booking:
    booking_id: str
    slot_id: str
    driver: str
    vehicle: str
    start_s: int
    end_s: int
    price_krw: float
    status: str


def price_krw(price_krw_h: float, vehicle: str, start_s: int, end_s: int) -> float:
    """Price of a booking [KRW]: hourly price x vehicle factor, per started quarter hour."""
    if vehicle not in VEHICLES:
        raise BadRequestData(f"unknown vehicle {vehicle!r}; known: {', '.join(VEHICLES)}")
    quarters = math.ceil((end_s - start_s) / 900)
    return round(price_krw_h * VEHICLES[vehicle] * quarters / 4, 0)


def _check_interval(start_s: int, end_s: int) -> None:
    if end_s <= start_s:
        raise BadRequestData("the end must be after the start")
    if end_s - start_s > MAX_BOOKING_S:
        raise BadRequestData(f"a booking may last at most {MAX_BOOKING_S // 86400} days")


class ParkingStore:
    """Slots and bookings in one SQLite file (see module docstring)."""

    def __init__(self, path: Path) -> None:
        self.file = SqliteFile(path, SCHEMA)
        self.path = self.file.path

    @classmethod
    def for_database_url(cls, url: str, data_dir: Path) -> ParkingStore:
        """The store in the hub's SQLite file, or ``parking.db`` beside it for other backends."""
        if url.startswith("sqlite:///"):
            return cls(Path(url.removeprefix("sqlite:///")))
        return cls(Path(data_dir) / "parking.db")

    # -- slots ------------------------------------------------------------------------------
    def publish(self, owner: str, lat: float, lon: float, price_krw_h: float,
                windows: Sequence[tuple[int, int]]) -> Slot:  # fmt: skip
        """Publish a slot with its availability windows."""
        if not owner:
            raise BadRequestData("owner must not be empty")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise BadRequestData("lat/lon out of range")
        if not math.isfinite(price_krw_h) or price_krw_h < 0:
            raise BadRequestData("the hourly price must be ≥ 0")
        if not windows:
            raise BadRequestData("a slot needs at least one availability window")
        ordered = sorted((int(a), int(b)) for a, b in windows)
        for a, b in ordered:
            if b <= a:
                raise BadRequestData("every window must end after it starts")
        for (_a, b), (c, _d) in itertools.pairwise(ordered):
            if c < b:
                raise BadRequestData("availability windows must not overlap")
        slot = Slot(f"slot-{uuid.uuid4().hex[:12]}", owner, lat, lon, price_krw_h, tuple(ordered))
        with self.file.write() as con:
            con.execute("INSERT INTO parking_slot VALUES (?, ?, ?, ?, ?)",
                        (slot.slot_id, owner, lat, lon, price_krw_h))  # fmt: skip
            con.executemany("INSERT INTO parking_window VALUES (?, ?, ?)",
                            [(slot.slot_id, a, b) for a, b in ordered])  # fmt: skip
        return slot

    def withdraw(self, slot_id: str) -> None:
        """Remove a slot that has no bookings (409 if it has active ones)."""
        with self.file.write() as con:
            busy = con.execute(
                "SELECT 1 FROM parking_booking WHERE slot_id = ? AND status = 'active'", (slot_id,)
            ).fetchone()
            if busy:
                raise BookingConflict(f"slot {slot_id} has active bookings")
            con.execute("DELETE FROM parking_booking WHERE slot_id = ?", (slot_id,))
            cur = con.execute("DELETE FROM parking_slot WHERE slot_id = ?", (slot_id,))
            if cur.rowcount == 0:
                raise ResourceNotFound(f"no parking slot {slot_id!r}")

    def slot(self, slot_id: str) -> Slot:
        with self.file.connect() as con:
            return self._slot(con, slot_id)

    @staticmethod
    def _slot(con: sqlite3.Connection, slot_id: str) -> Slot:
        row = con.execute("SELECT * FROM parking_slot WHERE slot_id = ?", (slot_id,)).fetchone()
        if row is None:
            raise ResourceNotFound(f"no parking slot {slot_id!r}")
        windows = con.execute(
            "SELECT start_s, end_s FROM parking_window WHERE slot_id = ? ORDER BY start_s",
            (slot_id,),
        ).fetchall()
        return Slot(row[0], row[1], row[2], row[3], row[4], tuple(map(tuple, windows)))

    def search(self, lat: float, lon: float, radius_m: float, start_s: int,
               end_s: int) -> list[tuple[Slot, float]]:  # fmt: skip
        """Slots within ``radius_m`` [m] free for the whole of ``[start_s, end_s)``, nearest
        first, with their distance [m]."""
        _check_interval(start_s, end_s)
        if radius_m <= 0 or radius_m > 50_000:
            raise BadRequestData("radius must be in (0, 50000] m")
        dlat = radius_m / 111_320
        dlon = radius_m / (111_320 * max(math.cos(math.radians(lat)), 1e-6))
        with self.file.connect() as con:
            rows = con.execute(
                """SELECT s.slot_id FROM parking_slot s
                   WHERE s.lat BETWEEN ? AND ? AND s.lon BETWEEN ? AND ?
                     AND EXISTS (SELECT 1 FROM parking_window w WHERE w.slot_id = s.slot_id
                                 AND w.start_s <= ? AND w.end_s >= ?)
                     AND NOT EXISTS (SELECT 1 FROM parking_booking b
                                     WHERE b.slot_id = s.slot_id AND b.status = 'active'
                                     AND b.start_s < ? AND ? < b.end_s)""",
                (lat - dlat, lat + dlat, lon - dlon, lon + dlon, start_s, end_s, end_s, start_s),
            ).fetchall()
            slots = [self._slot(con, r[0]) for r in rows]
        out = []
        for s in slots:
            d = _distance_m(lat, lon, s.lat, s.lon)
            if d <= radius_m:
                out.append((s, d))
        return sorted(out, key=lambda x: x[1])

    # -- bookings ---------------------------------------------------------------------------
    def book(self, slot_id: str, driver: str, vehicle: str, start_s: int, end_s: int) -> Booking:
        """Book a slot: 404 unknown slot, 422 outside its windows, 409 overlapping a booking."""
        _check_interval(start_s, end_s)
        if not driver:
            raise BadRequestData("driver must not be empty")
        if vehicle not in VEHICLES:
            raise BadRequestData(f"unknown vehicle {vehicle!r}; known: {', '.join(VEHICLES)}")
        with self.file.write() as con:
            slot = self._slot(con, slot_id)
            if not any(a <= start_s and end_s <= b for a, b in slot.windows):
                raise OutsideAvailability(
                    f"slot {slot_id} is not available for the whole of the requested time"
                )
            booking = Booking(
                f"booking-{uuid.uuid4().hex[:12]}", slot_id, driver, vehicle, start_s, end_s,
                price_krw(slot.price_krw_h, vehicle, start_s, end_s), "active",
            )  # fmt: skip
            try:
                con.execute(
                    "INSERT INTO parking_booking VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (booking.booking_id, slot_id, driver, vehicle, start_s, end_s,
                     booking.price_krw, "active"),
                )  # fmt: skip
            except sqlite3.IntegrityError as exc:
                if "overlaps" in str(exc):
                    raise BookingConflict(
                        f"slot {slot_id} is already booked for part of the requested time"
                    ) from None
                raise
        return booking

    def booking(self, booking_id: str) -> Booking:
        with self.file.connect() as con:
            row = con.execute("SELECT * FROM parking_booking WHERE booking_id = ?",
                              (booking_id,)).fetchone()  # fmt: skip
        if row is None:
            raise ResourceNotFound(f"no booking {booking_id!r}")
        return Booking(*row)

    def cancel(self, booking_id: str) -> Booking:
        with self.file.write() as con:
            cur = con.execute(
                "UPDATE parking_booking SET status = 'cancelled' WHERE booking_id = ?",
                (booking_id,),
            )
            if cur.rowcount == 0:
                raise ResourceNotFound(f"no booking {booking_id!r}")
        return self.booking(booking_id)

    # -- MyData (cityos.privacy.mydata.ServiceRecords, through the HTTP module) --------------
    def export_subject(self, subject: str) -> dict[str, Any]:
        """The slots ``subject`` published and the bookings they made."""
        with self.file.connect() as con:
            slots = [r[0] for r in con.execute(
                "SELECT slot_id FROM parking_slot WHERE owner = ? ORDER BY slot_id", (subject,)
            )]  # fmt: skip
            bookings = [Booking(*r) for r in con.execute(
                "SELECT * FROM parking_booking WHERE driver = ? ORDER BY start_s", (subject,)
            )]  # fmt: skip
        return {
            "slots": [self.slot(s).__dict__ for s in slots],
            "bookings": [b.__dict__ for b in bookings],
        }

    def erase_subject(self, subject: str) -> tuple[int, list[str]]:
        """Delete ``subject``'s bookings, and their slots with the bookings made on them (a slot
        whose owner is erased is withdrawn). Returns the rows deleted and the slot ids."""
        with self.file.write() as con:
            slots = [r[0] for r in con.execute(
                "SELECT slot_id FROM parking_slot WHERE owner = ?", (subject,)
            )]  # fmt: skip
            removed = con.execute(
                "DELETE FROM parking_booking WHERE driver = ?", (subject,)
            ).rowcount
            for slot_id in slots:
                removed += con.execute(
                    "DELETE FROM parking_booking WHERE slot_id = ?", (slot_id,)
                ).rowcount
                removed += con.execute(
                    "DELETE FROM parking_slot WHERE slot_id = ?", (slot_id,)
                ).rowcount
        return removed, slots

    def bookings(self, slot_id: str) -> list[Booking]:
        with self.file.connect() as con:
            rows = con.execute(
                "SELECT * FROM parking_booking WHERE slot_id = ? ORDER BY start_s", (slot_id,)
            ).fetchall()
        return [Booking(*r) for r in rows]


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))
