"""Peer-to-peer parking: search, booking, pricing, no double booking under concurrency, errors."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn

from cityos.app import create_app
from cityos.core.errors import BadRequestData, ResourceNotFound
from cityos.services.mobility.parking.store import (
    BookingConflict,
    OutsideAvailability,
    ParkingStore,
    price_krw,
)

T0 = int(datetime(2026, 5, 1, 8, tzinfo=UTC).timestamp())
H = 3600


@pytest.fixture
def store(tmp_path):
    return ParkingStore(tmp_path / "hub.db")


def test_publish_search_book_and_cancel(store):
    slot = store.publish("owner-1", 36.49, 127.30, 2000, [(T0, T0 + 10 * H)])
    far = store.publish("owner-2", 36.60, 127.30, 1000, [(T0, T0 + 10 * H)])
    hits = store.search(36.4905, 127.3005, 500, T0 + H, T0 + 2 * H)
    assert [s.slot_id for s, _ in hits] == [slot.slot_id]
    assert far.slot_id not in [s.slot_id for s, _ in store.search(36.49, 127.30, 5000, T0, T0 + H)]
    assert store.search(36.49, 127.30, 500, T0 + 9 * H, T0 + 11 * H) == []  # past the window
    booking = store.book(slot.slot_id, "driver-1", "sharedCar", T0 + H, T0 + 3 * H)
    assert booking.price_krw == 2000 * 0.6 * 2
    assert store.search(36.49, 127.30, 500, T0 + 2 * H, T0 + 4 * H) == []  # now booked
    assert store.search(36.49, 127.30, 500, T0 + 3 * H, T0 + 4 * H)  # back-to-back is free
    store.book(slot.slot_id, "driver-2", "privateCar", T0 + 3 * H, T0 + 4 * H)
    cancelled = store.cancel(booking.booking_id)
    assert cancelled.status == "cancelled"
    store.book(slot.slot_id, "driver-3", "privateCar", T0 + H, T0 + 2 * H)  # freed by the cancel


def test_pricing_favours_shared_cars():
    shared = price_krw(1000, "sharedCar", T0, T0 + 90 * 60)
    private = price_krw(1000, "privateCar", T0, T0 + 90 * 60)
    assert shared == 900 and private == 2250 and shared < private
    assert price_krw(1000, "privateCar", T0, T0 + 60) == 375  # a started quarter hour


def test_booking_errors(store):
    slot = store.publish("o", 36.49, 127.30, 1000, [(T0, T0 + 4 * H), (T0 + 6 * H, T0 + 8 * H)])
    store.book(slot.slot_id, "d", "privateCar", T0, T0 + H)
    with pytest.raises(BookingConflict, match="already booked"):
        store.book(slot.slot_id, "e", "privateCar", T0 + 30 * 60, T0 + 2 * H)
    with pytest.raises(OutsideAvailability):
        store.book(slot.slot_id, "e", "privateCar", T0 + 3 * H, T0 + 7 * H)  # spans the gap
    with pytest.raises(ResourceNotFound):
        store.book("slot-nope", "e", "privateCar", T0, T0 + H)
    with pytest.raises(BadRequestData, match="end must be after"):
        store.book(slot.slot_id, "e", "privateCar", T0 + H, T0 + H)
    with pytest.raises(BadRequestData, match="unknown vehicle"):
        store.book(slot.slot_id, "e", "tank", T0 + 2 * H, T0 + 3 * H)
    with pytest.raises(BadRequestData, match="must not overlap"):
        store.publish("o", 36.49, 127.30, 1000, [(T0, T0 + 2 * H), (T0 + H, T0 + 3 * H)])
    with pytest.raises(BadRequestData, match="at least one"):
        store.publish("o", 36.49, 127.30, 1000, [])
    with pytest.raises(BookingConflict, match="active bookings"):
        store.withdraw(slot.slot_id)
    spare = store.publish("o", 36.49, 127.30, 1000, [(T0, T0 + H)])
    store.withdraw(spare.slot_id)
    with pytest.raises(ResourceNotFound):
        store.slot(spare.slot_id)


def test_the_database_trigger_rejects_overlaps_even_without_the_service(store):
    import sqlite3

    slot = store.publish("o", 36.49, 127.30, 1000, [(T0, T0 + 4 * H)])
    store.book(slot.slot_id, "d", "privateCar", T0, T0 + 2 * H)
    con = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="overlaps"):
        con.execute(
            "INSERT INTO parking_booking VALUES ('x', ?, 'd', 'privateCar', ?, ?, 1, 'active')",
            (slot.slot_id, T0 + H, T0 + 3 * H),
        )
    con.close()


def test_no_double_booking_under_concurrent_store_writers(store):
    slot = store.publish("o", 36.49, 127.30, 1000, [(T0, T0 + 24 * H)])
    # 24 drivers race for overlapping 2-hour windows starting every 30 minutes
    requests = [(f"d{i}", T0 + i * 1800, T0 + i * 1800 + 2 * H) for i in range(24)]

    def attempt(req):
        try:
            return ParkingStore(store.path).book(slot.slot_id, req[0], "privateCar", *req[1:])
        except BookingConflict:
            return None

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(attempt, requests))
    won = [b for b in results if b is not None]
    assert won and len(won) < len(requests)
    active = [b for b in store.bookings(slot.slot_id) if b.status == "active"]
    assert len(active) == len(won)
    active.sort(key=lambda b: b.start_s)
    for a, b in itertools.pairwise(active):
        assert a.end_s <= b.start_s  # never two bookings at once


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(pm_settings, pm_hub):
    port = _free_port()
    config = uvicorn.Config(create_app(pm_settings, pm_hub), host="127.0.0.1", port=port,
                            log_level="warning")  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def test_http_api_under_concurrent_requests(server):
    slot = httpx.post(f"{server}/mobility/v1/parking/slots", json={
        "owner": "owner-1", "lat": 36.49, "lon": 127.30, "pricePerHourKRW": 1200,
        "windows": [{"start": _iso(T0), "end": _iso(T0 + 12 * H)}],
    }).json()  # fmt: skip
    spot = httpx.get(f"{server}/ngsi-ld/v1/entities/urn:ngsi-ld:ParkingSpot:{slot['id']}").json()
    assert spot["type"] == "ParkingSpot" and spot["pricePerHourKRW"]["value"] == 1200
    assert spot["location"]["value"]["coordinates"] == [127.30, 36.49]
    body = {"slotId": slot["id"], "vehicle": "sharedCar", "start": _iso(T0 + H),
            "end": _iso(T0 + 3 * H)}  # fmt: skip

    def attempt(i: int) -> int:
        with httpx.Client(timeout=30) as client:
            r = client.post(f"{server}/mobility/v1/parking/bookings",
                            json=body | {"driver": f"d{i}"})  # fmt: skip
            return r.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(attempt, range(32)))
    assert codes.count(201) == 1 and codes.count(409) == 31
    conflict = httpx.post(f"{server}/mobility/v1/parking/bookings", json=body | {"driver": "x"})
    assert conflict.headers["content-type"] == "application/problem+json"
    assert conflict.json()["status"] == 409 and "already booked" in conflict.json()["detail"]
    outside = httpx.post(f"{server}/mobility/v1/parking/bookings", json=body | {
        "driver": "x", "start": _iso(T0 + 11 * H), "end": _iso(T0 + 13 * H)})  # fmt: skip
    assert outside.status_code == 422
    unknown = httpx.post(f"{server}/mobility/v1/parking/bookings",
                         json=body | {"driver": "x", "slotId": "slot-nope"})  # fmt: skip
    assert unknown.status_code == 404
    naive = httpx.post(f"{server}/mobility/v1/parking/bookings",
                       json=body | {"driver": "x", "start": "2026-05-01T09:00:00"})  # fmt: skip
    assert naive.status_code == 400 and "start" in naive.json()["detail"]
    found = httpx.get(f"{server}/mobility/v1/parking/slots", params={
        "lat": 36.4901, "lon": 127.3001, "start": _iso(T0 + 4 * H), "end": _iso(T0 + 5 * H),
        "vehicle": "sharedCar"}).json()  # fmt: skip
    assert [s["id"] for s in found] == [slot["id"]] and found[0]["priceKRW"] == 720
    busy = httpx.get(
        f"{server}/mobility/v1/parking/slots",
        params={"lat": 36.49, "lon": 127.30, "start": _iso(T0 + 2 * H), "end": _iso(T0 + 4 * H)},
    ).json()
    assert busy == []  # fmt: skip
