"""MaaS: RAPTOR on a hand-made feed and the twin's feed, ranking, fares, booking, HTTP API."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cityos.core.errors import AlreadyExists, ResourceNotFound
from cityos.services.mobility.maas.booking import BookingService
from cityos.services.mobility.maas.gtfs import GtfsError, read_feed
from cityos.services.mobility.maas.payment import InMemoryPayments, PaymentDeclined
from cityos.services.mobility.maas.planner import (
    JourneyPlanner,
    NoItinerary,
    OutsideNetwork,
    Profile,
    UnknownMode,
)
from cityos.services.mobility.maas.raptor import raptor

# A line A-B-C (route L1, every 10 min from 07:00) and a line C-D (route L2, every 15 min from
# 07:05); stops ~1.1 km apart on a parallel of latitude 36.5.
STOPS = {"A": 127.000, "B": 127.0125, "C": 127.025, "D": 127.0375}
LAT = 36.5


def _hms(s: int) -> str:
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def write_feed(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stops.txt").write_text(
        "stop_id,stop_name,stop_lat,stop_lon\n"
        + "".join(f"{k},{k} stop,{LAT},{lon}\n" for k, lon in STOPS.items())
    )
    (folder / "routes.txt").write_text("route_id,route_short_name,route_type\nL1,1,3\nL2,2,3\n")
    trips, times = (
        ["route_id,service_id,trip_id"],
        ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"],
    )
    for n in range(12):
        start = 7 * 3600 + n * 600
        trips.append(f"L1,D,L1-{n}")
        for seq, (stop, off) in enumerate((("A", 0), ("B", 180), ("C", 360))):
            times.append(f"L1-{n},{_hms(start + off)},{_hms(start + off)},{stop},{seq}")
    for n in range(8):
        start = 7 * 3600 + 300 + n * 900
        trips.append(f"L2,D,L2-{n}")
        for seq, (stop, off) in enumerate((("C", 0), ("D", 200))):
            times.append(f"L2-{n},{_hms(start + off)},{_hms(start + off)},{stop},{seq}")
    (folder / "trips.txt").write_text("\n".join(trips) + "\n")
    (folder / "stop_times.txt").write_text("\n".join(times) + "\n")
    return folder


@pytest.fixture
def feed(tmp_path):
    return read_feed(write_feed(tmp_path / "feed"))


def test_raptor_finds_the_transfer(feed) -> None:
    journeys = raptor(feed, {"A": 7 * 3600 + 60}, {"D"})
    assert len(journeys) == 1
    j = journeys[0]
    assert j.rides == 2
    ride1, ride2 = (leg for leg in j.legs if leg.kind == "ride")
    assert ride1.trip_id == "L1-1" and ride1.depart_s == 7 * 3600 + 600  # 07:01 misses 07:00
    assert ride1.arrive_s == 7 * 3600 + 960
    # at C at 07:16 (+60 s to change): the 07:20 L2 trip, at D 07:23:20
    assert ride2.trip_id == "L2-1" and ride2.arrive_s == 7 * 3600 + 1200 + 200


def test_planner_ranks_and_fares(feed) -> None:
    planner = JourneyPlanner(feed)
    origin, dest = (LAT + 0.001, 127.000), (LAT + 0.001, 127.0375)
    its = planner.plan(origin, dest, 7 * 3600, modes={"walk", "transit"})
    assert its and all("transit" in it.modes for it in its)
    best = its[0]
    assert best.modes[0] == "walk" and best.modes[-1] == "walk"
    assert best.fare_krw == 1400  # two rides, one fare
    assert best.transfers == 1
    assert [it.score_s for it in its] == sorted(it.score_s for it in its)
    paid = JourneyPlanner(feed, free_transfer=False).plan(
        origin, dest, 7 * 3600, modes={"walk", "transit"}
    )
    assert paid[0].fare_krw == 2800
    with_pm = planner.plan(origin, dest, 7 * 3600, modes={"pm", "transit", "walk"})
    assert any("pm" in it.modes for it in with_pm)  # direct ride is past the 4 km PM range
    assert not any(it.modes == ["pm"] for it in with_pm)


def test_profiles(feed) -> None:
    planner = JourneyPlanner(feed)
    origin, dest = (LAT + 0.004, 127.000), (LAT + 0.001, 127.0375)
    elder = planner.plan(origin, dest, 7 * 3600, profile=Profile(age=75, walking_difficulty=True))
    for it in elder:
        assert "pm" not in it.modes
        assert all(leg.distance_m <= 300 for leg in it.legs if leg.mode == "walk")
    child = planner.plan(origin, dest, 7 * 3600, profile=Profile(age=9, children_on_shuttles=False))
    assert all(not {"pm", "sharedCar", "shuttle"} & set(it.modes) for it in child)


def test_bad_requests(feed) -> None:
    planner = JourneyPlanner(feed)
    with pytest.raises(UnknownMode, match="unknown mode\\(s\\) hovercraft"):
        planner.plan((LAT, 127.0), (LAT, 127.03), 3600, modes={"hovercraft"})
    with pytest.raises(OutsideNetwork, match=r"origin .* km from the nearest stop"):
        planner.plan((37.5, 127.0), (LAT, 127.03), 3600)
    with pytest.raises(NoItinerary):
        planner.plan((LAT, 127.0), (LAT, 127.0375), 3600 * 23, modes={"transit"})
    with pytest.raises(Exception, match="WGS84"):
        planner.plan((95.0, 127.0), (LAT, 127.03), 3600)


def test_bad_feeds(tmp_path) -> None:
    folder = write_feed(tmp_path / "f")
    (folder / "routes.txt").unlink()
    with pytest.raises(GtfsError, match=r"no routes\.txt"):
        read_feed(folder)
    folder = write_feed(tmp_path / "g")
    text = (folder / "stop_times.txt").read_text().replace("07:00:00", "07:61:00", 1)
    (folder / "stop_times.txt").write_text(text)
    with pytest.raises(GtfsError, match="07:61:00"):
        read_feed(folder)


def test_booking_pays_once_and_refunds(feed) -> None:
    planner = JourneyPlanner(feed)
    payments = InMemoryPayments({"alice": 5000, "bob": 100})
    service = BookingService(planner, payments)
    it = planner.plan(
        (LAT + 0.001, 127.0), (LAT + 0.001, 127.0375), 7 * 3600, modes={"walk", "transit"}
    )[0]
    booking = service.book(it.id, "alice", idempotency_key="k1")
    assert payments.balances["alice"] == 5000 - it.fare_krw
    assert len(booking.leg_references) == sum(1 for m in it.modes if m != "walk")
    assert service.book(it.id, "alice", idempotency_key="k1") is booking  # no second charge
    assert payments.balances["alice"] == 5000 - it.fare_krw
    with pytest.raises(AlreadyExists):
        service.book(it.id, "bob", idempotency_key="k1")
    with pytest.raises(PaymentDeclined, match="holds 100 KRW"):
        service.book(it.id, "bob")
    with pytest.raises(ResourceNotFound):
        service.book("nope", "alice")

    def refuse(leg, account):
        raise RuntimeError("no seat")

    failing = BookingService(planner, payments, reserver=refuse)
    with pytest.raises(RuntimeError):
        failing.book(it.id, "alice")
    assert payments.balances["alice"] == 5000 - it.fare_krw  # refunded


def test_concurrent_bookings_never_overdraw(feed) -> None:
    planner = JourneyPlanner(feed)
    payments = InMemoryPayments({"carol": 3000})
    service = BookingService(planner, payments)
    it = planner.plan(
        (LAT + 0.001, 127.0), (LAT + 0.001, 127.0375), 7 * 3600, modes={"walk", "transit"}
    )[0]
    results: list[str] = []

    def go() -> None:
        try:
            service.book(it.id, "carol")
            results.append("ok")
        except PaymentDeclined:
            results.append("declined")

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 3000 // it.fare_krw
    assert payments.balances["carol"] >= 0


def test_http_api_on_the_twin_feed(client) -> None:
    plan = client.get(
        "/mobility/v1/plan",
        params={"from": "36.4960,127.2910", "to": "36.4970,127.3071", "depart": "08:00"},
    )
    assert plan.status_code == 200, plan.text
    its = plan.json()["itineraries"]
    assert its and any("transit" in it["modes"] for it in its)
    booked = client.post(
        "/mobility/v1/bookings", json={"itineraryId": its[0]["id"], "account": "demo"}
    )
    assert booked.status_code == 201
    assert booked.json()["fareKrw"] == its[0]["fareKrw"]
    got = client.get(booked.headers["Location"])
    assert got.status_code == 200 and got.json()["id"] == booked.json()["id"]


@pytest.mark.parametrize(
    ("params", "status", "kind", "words"),
    [
        (
            {"from": "36.49,127.29", "to": "36.497,127.307", "modes": "teleport"},
            400,
            "UnknownMode",
            "teleport",
        ),
        ({"from": "35.10,129.04", "to": "36.497,127.307"}, 400, "OutsideNetwork", "origin"),
        ({"from": "north", "to": "36.497,127.307"}, 400, "BadRequestData", "from"),
        (
            {"from": "36.49,127.29", "to": "36.497,127.307", "depart": "8h"},
            400,
            "BadRequestData",
            "depart",
        ),
    ],
)
def test_http_errors(client, params, status, kind, words) -> None:
    r = client.get("/mobility/v1/plan", params=params)
    assert r.status_code == status
    body = r.json()
    assert body["type"].endswith(kind) and words in body["detail"]
    assert r.headers["content-type"].startswith("application/")


def test_http_booking_errors(client) -> None:
    r = client.post("/mobility/v1/bookings", json={"itineraryId": "x", "account": "demo"})
    assert r.status_code == 404 and "plan first" in r.json()["detail"]
    r = client.post("/mobility/v1/bookings", json={"itineraryId": "x"})
    assert r.status_code == 400 and "account" in r.json()["detail"]
    assert client.get("/mobility/v1/bookings/none").status_code == 404
