"""Shielded PM sharing: GBFS feed, rebalancing VRP, forecast, fares, bad inputs."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from cityos.services.mobility.pm.forecast import ForecastError, fit, targets
from cityos.services.mobility.pm.model import PMError, Pod, System, fare_krw, seed_from_twin
from cityos.services.mobility.pm.rebalancing import (
    RebalancingError,
    StationState,
    Truck,
    plan_rebalancing,
)
from cityos.services.mobility.pm.service import load_state, save_state

GBFS_REQUIRED = {
    "system_information": ["system_id", "language", "name", "timezone"],
    "station_information": ["stations"],
    "station_status": ["stations"],
    "free_bike_status": ["bikes"],
    "vehicle_types": ["vehicle_types"],
    "system_pricing_plans": ["plans"],
}


@pytest.fixture
def loaded(pm_city, pm_hub):
    stations, pods = seed_from_twin(pm_city, pods_per_station=5, free_floating=10)
    save_state(pm_hub, stations, pods)
    return stations, pods


def test_state_round_trips_through_the_hub(loaded, pm_hub):
    stations, pods = loaded
    assert load_state(pm_hub) == (sorted(stations, key=lambda s: s.station_id), pods)


def test_gbfs_feed_has_the_required_fields(loaded, pm_client):
    stations, pods = loaded
    index = pm_client.get("/mobility/v1/gbfs/gbfs.json").json()
    assert index["version"] == "2.3" and index["ttl"] >= 0
    feeds = {f["name"]: f["url"] for f in index["data"]["en"]["feeds"]}
    assert set(GBFS_REQUIRED) <= set(feeds)
    bodies = {}
    for name, required in GBFS_REQUIRED.items():
        r = pm_client.get(feeds[name].replace("http://testserver", ""))
        assert r.status_code == 200, name
        body = bodies[name] = r.json()
        assert {"last_updated", "ttl", "version", "data"} <= set(body)
        assert all(k in body["data"] for k in required), name
    info = bodies["station_information"]["data"]["stations"]
    assert len(info) == len(stations)
    assert all({"station_id", "name", "lat", "lon", "capacity"} <= set(s) for s in info)
    status = bodies["station_status"]["data"]["stations"]
    for s in status:
        assert {"station_id", "num_bikes_available", "num_docks_available", "is_installed",
                "is_renting", "is_returning", "last_reported"} <= set(s)  # fmt: skip
    assert sum(s["num_bikes_available"] for s in status) == sum(1 for p in pods if p.station_id)
    bikes = bodies["free_bike_status"]["data"]["bikes"]
    assert len(bikes) == len(pods)
    floating = [b for b in bikes if "station_id" not in b]
    assert len(floating) == 10 and all("lat" in b and "lon" in b for b in floating)
    types = {t["vehicle_type_id"]: t for t in bodies["vehicle_types"]["data"]["vehicle_types"]}
    assert types["pod2"]["rider_capacity"] == 2 and types["pod1"]["propulsion_type"] == "electric"
    missing = pm_client.get("/mobility/v1/gbfs/geofencing_zones.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_gbfs_feed_validates_against_the_official_2_3_schemas(loaded, pm_client):
    import json
    from pathlib import Path

    import gbfs_validator
    import jsonschema

    schemas = Path(gbfs_validator.__file__).parent / "data" / "schemas" / "v2.3"
    for name in ("gbfs", *GBFS_REQUIRED):
        body = pm_client.get(f"/mobility/v1/gbfs/{name}.json").json()
        schema = json.loads((schemas / f"{name}.json").read_text())
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(body)]
        assert errors == [], (name, errors[:3])
    broken = pm_client.get("/mobility/v1/gbfs/station_status.json").json()
    del broken["data"]["stations"][0]["num_bikes_available"]
    schema = json.loads((schemas / "station_status.json").read_text())
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))  # the check has teeth


def _check_plan(plan, stations, trucks):
    cap = {t.truck_id: t.capacity for t in trucks}
    for truck, stops in plan.routes.items():
        load = 0
        for stop in stops:
            load += stop.change
            assert load == stop.load_after
            assert 0 <= load <= cap[truck]
        assert load == 0
    final = plan.final_pods(stations)
    for s in stations:
        assert 0 <= final[s.station_id] <= s.docks


def test_rebalancing_respects_truck_capacity_and_docks():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 3000, (13, 2))
    times = np.linalg.norm(xy[:, None] - xy[None], axis=2) / 8.0
    pods = [12, 0, 10, 1, 9, 0, 11, 2, 8, 0, 12, 1]
    stations = [StationState(f"s{i}", p, 6, 12) for i, p in enumerate(pods)]
    trucks = [Truck("t1", 3), Truck("t2", 5)]
    plan = plan_rebalancing(stations, trucks, times, time_limit_s=1.0)
    _check_plan(plan, stations, trucks)
    surplus = sum(max(0, p - 6) for p in pods)
    assert plan.moved + plan.unserved == min(surplus, sum(max(0, 6 - p) for p in pods))
    assert plan.moved == surplus  # 3 h is enough to move them all
    final = plan.final_pods(stations)
    assert all(final[s.station_id] == 6 for s in stations if s.pods >= 6)  # surpluses cleared
    assert all(s.pods <= final[s.station_id] <= 6 for s in stations if s.pods < 6)
    assert sum(final.values()) == sum(pods)


def test_rebalancing_targets_are_clipped_to_docks_and_short_routes_drop_pairs():
    times = np.full((3, 3), 600.0)
    np.fill_diagonal(times, 0)
    stations = [StationState("a", 8, 0, 8), StationState("b", 0, 20, 4)]
    plan = plan_rebalancing(stations, [Truck("t", 10)], times, time_limit_s=0.5)
    assert plan.final_pods(stations)["b"] == 4 and plan.moved == 4
    short = plan_rebalancing(stations, [Truck("t", 10)], times, max_route_s=1000, time_limit_s=0.5)
    assert short.moved == 0 and short.unserved == 4


def test_rebalancing_bad_inputs():
    t = np.zeros((2, 2))
    with pytest.raises(RebalancingError, match="no trucks"):
        plan_rebalancing([StationState("a", 1, 1, 2)], [], t)
    with pytest.raises(RebalancingError, match="exceed 2 docks"):
        plan_rebalancing([StationState("a", 3, 1, 2)], [Truck("t", 1)], t)
    with pytest.raises(RebalancingError, match="capacity must be"):
        plan_rebalancing([StationState("a", 1, 1, 2)], [Truck("t", 0)], t)
    with pytest.raises(RebalancingError, match="2 x 2"):
        plan_rebalancing([StationState("a", 1, 1, 2)], [Truck("t", 1)], np.zeros((3, 3)))


def test_rebalancing_over_http(loaded, pm_client):
    stations, _ = loaded
    first, second = stations[0].station_id, stations[1].station_id
    body = {"trucks": [{"id": "van1", "capacity": 4}], "targets": {first: 0, second: 10}}
    r = pm_client.post("/mobility/v1/pm/rebalancing", json=body)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["moved"] == 5 and plan["finalPods"][second] == 10
    assert all(0 <= s["loadAfter"] <= 4 for s in plan["routes"]["van1"])
    bad = pm_client.post("/mobility/v1/pm/rebalancing", json={"trucks": []})
    assert bad.status_code == 400 and "trucks" in bad.json()["detail"]
    unknown = pm_client.post(
        "/mobility/v1/pm/rebalancing",
        json={"trucks": [{"id": "v", "capacity": 2}], "targets": {"nowhere": 1}},
    )
    assert unknown.status_code == 400 and "nowhere" in unknown.json()["detail"]


def test_forecast_learns_the_daily_profile_per_zone():
    rng = np.random.default_rng(0)
    start = datetime(2026, 3, 2)  # a Monday
    trips = []
    for day in range(14):
        date = start + timedelta(days=day)
        weekend = date.weekday() >= 5
        for hour in range(24):
            peak = 8 if hour in (8, 18) and not weekend else 1
            trips += [("school", date.replace(hour=hour))] * rng.poisson(2 * peak)
            trips += [("park", date.replace(hour=hour))] * rng.poisson(3 if weekend else 1)
    model = fit(trips)
    monday8 = datetime(2026, 3, 16, 8)
    assert 12 < model.expected("school", monday8) < 20  # true mean 16
    assert model.expected("school", monday8) > 4 * model.expected("school", monday8.replace(hour=3))
    sunday = datetime(2026, 3, 15, 14)
    assert model.expected("park", sunday) > 1.5 * model.expected("park", monday8)
    assert 0.5 < model.expected("park", monday8) < 2  # true mean 1
    goal = targets(model, monday8, {"school": 10, "park": 10}, fleet=12)
    assert sum(goal.values()) == 12 and goal["school"] > goal["park"]
    with pytest.raises(ForecastError, match="no trips"):
        fit([])
    with pytest.raises(ForecastError, match="unknown zone"):
        model.expected("moon", monday8)


def test_fares_discount_the_mobility_disadvantaged():
    system = System()
    assert fare_krw(system, 10) == 1500
    assert fare_krw(system, 10, "senior") == 750
    assert fare_krw(system, 9.2, "disabled") == 750
    with pytest.raises(PMError, match="unknown rider profile"):
        fare_krw(system, 5, "vip")
    with pytest.raises(PMError, match="≥ 0"):
        fare_krw(system, -1)
    with pytest.raises(PMError, match="seats must be 1 or 2"):
        Pod("x", 3, 0, 0)
    with pytest.raises(PMError, match="top speed"):
        Pod("x", 1, 0, 0, max_speed_kmh=40)


def test_fare_over_http(pm_client):
    r = pm_client.get("/mobility/v1/pm/fare", params={"minutes": 10, "profile": "lowIncome"})
    assert r.status_code == 200 and r.json()["fareKRW"] == 750
    bad = pm_client.get("/mobility/v1/pm/fare", params={"minutes": -3})
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
