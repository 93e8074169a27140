"""Plans, mode choice and the simulated day on a small twin."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from cityos.services.mobility.drt.twin_adapter import dispatch_shuttles
from cityos.twin.mobility import choice as ch
from cityos.twin.mobility.day import simulate_day
from cityos.twin.mobility.demand import daily_plans
from cityos.twin.mobility.levels import skims
from cityos.twin.mobility.scenario import load_scenario, parse_scenario


def test_plans_are_chained_tours(small_city) -> None:
    trips = daily_plans(small_city, 7)
    persons = small_city.population.persons
    assert 2.5 <= len(trips) / len(persons) <= 4.5
    purposes = Counter(trips.purpose.tolist())
    for purpose in ("work", "school", "home", "shopping", "care", "leisure", "daycare"):
        assert purposes[purpose] > 0, purpose
    names = [trips.place_names[d] for d in trips.destination]
    assert any("Government Complex" in n for n in names)
    assert any("Daejeon" in n for n in names)
    assert any("Osong" in n for n in names)
    homes = {i: p.household for i, p in enumerate(persons)}
    home_key = {i: small_city.population.households[h].building_key for i, h in homes.items()}
    for p in np.unique(trips.person)[:300]:
        rows = np.flatnonzero(trips.person == p)
        # every tour starts at home and ends at home; legs connect
        assert trips.place_names[trips.origin[rows[0]]] == home_key[int(p)]
        assert trips.place_names[trips.destination[rows[-1]]] == home_key[int(p)]
        for a, b in itertools.pairwise(rows):
            if trips.place_names[trips.destination[a]] != home_key[int(p)]:
                assert trips.destination[a] == trips.origin[b]
    pupils = [i for i, p in enumerate(persons) if p.occupation == "pupil"]
    assert all((trips.purpose[trips.person == i] == "school").any() for i in pupils)


def test_plans_are_reproducible(small_city) -> None:
    a, b, c = daily_plans(small_city, 7), daily_plans(small_city, 7), daily_plans(small_city, 8)
    assert np.array_equal(a.depart_s, b.depart_s) and np.array_equal(a.destination, b.destination)
    assert len(a) != len(c) or not np.array_equal(a.depart_s, c.depart_s)


def test_accessibility_profiles(smart_day) -> None:
    day = smart_day
    people, trips, mode = day.people, day.trips, day.mode
    persona = people.persona[trips.person]
    elder = persona == "retiredLibrarian75"
    assert elder.any()
    assert not np.isin(mode[elder], ["pm"]).any()
    limited = people.walking_difficulty[trips.person]
    assert not (mode[limited] == "pm").any()
    kids = people.age[trips.person] < 12
    assert not np.isin(mode[kids], ["pm", "taxi", "sharedCar"]).any()
    assert not ((mode == "car") & ~people.has_car[trips.person]).any()


def test_limited_walkers_never_walk_past_300_m(small_city, smart_day) -> None:
    day = smart_day
    sk = skims(small_city.network)
    service = ch.level_of_service(
        small_city, day.trips, day.people, day.scenario, sk, day.scenario.shuttle.max_wait_s / 2
    )
    limited = day.people.walking_difficulty[day.trips.person]
    for m in ch.MODES:
        ok = service.available[m] & limited
        assert (service.walk_max_m[m][ok] <= ch.LIMITED_WALK_M + 1e-6).all(), m
    assert (~service.available["pm"][limited]).all()
    probs = ch.probabilities(service)
    assert np.allclose(probs.sum(axis=0), 1.0)


def test_children_ride_shuttles_only_if_the_policy_allows(small_city) -> None:
    policy = parse_scenario(
        {"name": "no-kids", "shuttle": {"children_allowed": False}, "cars_per_household": {}}
    )
    day = simulate_day(policy, 7, city=small_city, dispatcher=dispatch_shuttles)
    kids = day.people.age[day.trips.person] < 12
    assert kids.any()
    assert not (day.mode[kids] == "shuttle").any()
    assert not (day.access[kids] == "shuttle").any()


def test_car_restricted_zone_moves_trips_off_cars(smart_day, baseline_day) -> None:
    def car_share(day, inside):
        sel = day.people.inside_ring[day.trips.person] == inside
        return (day.mode[sel] == "car").mean()

    assert car_share(baseline_day, True) > 0.35  # car-oriented Sejong (49.3 % by survey)
    assert car_share(smart_day, True) < car_share(baseline_day, True) / 2
    assert car_share(smart_day, False) < car_share(baseline_day, False)
    assert smart_day.cars_owned < baseline_day.cars_owned / 2
    assert set(baseline_day.mode) <= {"walk", "brt", "car", "taxi"}


def test_shuttle_rides_respect_limits(smart_day) -> None:
    served = smart_day.shuttle.served
    assert smart_day.shuttle_requests == len(served) + len(smart_day.shuttle.rejected)
    assert served
    for wait, ride, direct in served.values():
        assert 0 <= wait <= 600 + 1e-6
        assert ride <= 1.3 * direct + 1e-6
    # rejected requests chose again: none of them still rides the shuttle
    for rid in smart_day.shuttle.rejected:
        assert smart_day.mode[int(rid[1:])] != "shuttle"


def test_day_is_reproducible(small_city, smart_day) -> None:
    again = simulate_day(smart_day.scenario, 7, city=small_city, dispatcher=dispatch_shuttles)
    assert np.array_equal(again.mode, smart_day.mode)
    assert np.allclose(again.time_min, smart_day.time_min)


def test_shuttles_need_a_dispatcher(small_city) -> None:
    with pytest.raises(ValueError, match="shuttle dispatcher"):
        simulate_day(load_scenario("smart-5-1"), 7, city=small_city)


def test_vehicle_demand_for_traffic_simulation(smart_day, baseline_day) -> None:
    from cityos.twin.mobility.export import vehicle_demand

    smart, base = vehicle_demand(smart_day), vehicle_demand(baseline_day)
    assert len(base) > len(smart) > 0
    assert [v.depart_s for v in smart] == sorted(v.depart_s for v in smart)
    assert {v.mode for v in smart} <= {"car", "sharedCar", "taxi"}
    net = smart_day.city.network
    # under the zone policy no private car movement starts or ends on a zone-only node
    zone_only = {
        n for n in range(len(net.xy)) if smart_day.city.zone.contains(*net.xy[n])
    } - net.boundary_nodes
    assert not any(
        v.from_node in zone_only or v.to_node in zone_only for v in smart if v.mode == "car"
    )
