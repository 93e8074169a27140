"""GTFS feed of the BRT and ring shuttle: loads with gtfs-kit and is consistent."""

from __future__ import annotations

import gtfs_kit as gk
import pytest

from cityos.twin.export_gtfs import write_gtfs


@pytest.fixture(scope="module")
def feed(city, tmp_path_factory):
    out = tmp_path_factory.mktemp("gtfs")
    paths = write_gtfs(city, out)
    assert {p.name for p in paths} >= {
        "agency.txt",
        "stops.txt",
        "routes.txt",
        "trips.txt",
        "stop_times.txt",
        "calendar.txt",
    }
    return gk.read_feed(out, dist_units="km")


def test_feed_loads_with_gtfs_kit(feed):
    assert set(feed.routes["route_id"]) == {"BRT51", "RING"}
    assert len(feed.stops) == 6
    assert set(feed.stops["stop_id"]) == {
        "BRT-Central",
        "BRT-West",
        "Shuttle-N",
        "Shuttle-E",
        "Shuttle-S",
        "Shuttle-W",
    }
    quality = dict(
        zip(feed.assess_quality()["indicator"], feed.assess_quality()["value"], strict=True)
    )
    assert quality["assessment"] in ("excellent feed", "good feed")


def test_trips_have_plausible_speeds_and_headways(feed):
    stats = feed.compute_trip_stats()
    ring = stats[stats["route_id"] == "RING"]
    brt = stats[stats["route_id"] == "BRT51"]
    assert len(ring) == 18 * 12  # every 5 minutes, 06:00-24:00
    assert len(brt) == 2 * (18 * 6 + 1)  # every 10 minutes each way, 05:30-23:30
    assert (ring["num_stops"] == 5).all() and (brt["num_stops"] == 2).all()
    assert 2.5 < ring["distance"].iloc[0] < 4.5  # km round the ring
    assert 10 < ring["speed"].mean() < 30  # km/h with dwell
    assert 15 < brt["speed"].mean() <= 31
