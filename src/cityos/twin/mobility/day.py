"""One simulated weekday of 5-1 mobility under a scenario: plans, choice, shuttle dispatch.

Steps: generate the twin with the scenario's zone; draw every resident's plan
(:mod:`.demand`); compute the level of service (:mod:`.levels`, :mod:`.choice`) with an expected
shuttle wait of half the limit; choose modes; hand every shuttle ride (door-to-door shuttle trips
and shuttle access legs of BRT trips) to the shuttle dispatcher; trips whose shuttle request is
rejected choose again among the other modes with the same random draws; served shuttle trips
take their dispatched wait and ride times.

The dispatcher is injected (:class:`ShuttleDispatcher`): the twin layer does not import the
services layer. ``cityos.services.mobility.drt.twin_adapter.dispatch_shuttles`` is the built-in
one, wired by the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cityos.twin.generator import City, generate
from cityos.twin.mobility import choice as ch
from cityos.twin.mobility.demand import Trips, daily_plans
from cityos.twin.mobility.levels import skims as make_skims
from cityos.twin.mobility.scenario import Scenario
from cityos.twin.site import GeneratorParameters

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class ShuttleProblem:
    """Plain input of a shuttle dispatcher.

    ``nodes`` index ``time_s`` / ``distance_m`` [s, m]; requests are (id, origin node, destination
    node, earliest pickup [s], seats); ``starts`` the vehicles' start nodes; ``chargers``
    (node, ``"fast"`` | ``"slow"``); ``zones`` the rebalancing targets (node -> weight).
    """

    nodes: list[int]
    time_s: np.ndarray
    distance_m: np.ndarray
    requests: list[tuple[str, int, int, float, int]]
    starts: list[int]
    capacity: int
    chargers: list[tuple[int, str]]
    zones: dict[int, float]
    max_wait_s: float
    detour_factor: float


@dataclass
class ShuttleOutcome:
    """What a dispatcher returns: served id -> (wait, ride, direct) [s], rejected ids, km."""

    served: dict[str, tuple[float, float, float]]
    rejected: list[str]
    vehicle_km: float
    empty_km: float
    vehicles_used: int = 0


ShuttleDispatcher = Callable[[ShuttleProblem], ShuttleOutcome]


@dataclass
class DayResult:
    """The simulated day: the city, trips, people, chosen modes and per-trip outcomes."""

    scenario: Scenario
    seed: int
    city: City
    trips: Trips
    people: ch.People
    mode: np.ndarray  # mode name per trip
    time_min: np.ndarray  # door-to-door travel time [min]
    car_km: np.ndarray  # vehicle-km by car, shared car or taxi for the trip
    access: np.ndarray  # BRT access mode ("" if not BRT)
    shuttle: ShuttleOutcome
    shuttle_requests: int
    cars_owned: int
    extras: dict[str, float] = field(default_factory=dict)


def city_for(scenario: Scenario, params: GeneratorParameters | None = None) -> City:
    """The twin generated with the scenario's car-restricted-zone extent."""
    params = params or GeneratorParameters()
    if scenario.zone.area_fraction is not None:
        params = params.replace(zone_area_fraction=scenario.zone.area_fraction)
    return generate(params)


def simulate_day(
    scenario: Scenario,
    seed: int,
    *,
    params: GeneratorParameters | None = None,
    dispatcher: ShuttleDispatcher | None = None,
    progress: Progress | None = None,
    city: City | None = None,
) -> DayResult:
    """Simulate one weekday (see the module docstring); reproducible from scenario and seed.

    Raises
    ------
    ValueError
        If the scenario runs shuttles but no dispatcher is given.
    """
    step = progress or (lambda _s, _f: None)
    if scenario.shuttle.enabled and scenario.shuttle.fleet > 0 and dispatcher is None:
        raise ValueError("the scenario runs shuttles: pass a shuttle dispatcher")
    step("generate the twin", 0.05)
    city = city or city_for(scenario, params)
    step("daily plans", 0.2)
    trips = daily_plans(city, seed)
    people = ch.people_of(city, scenario, seed)
    step("level of service", 0.3)
    skims = make_skims(city.network, car_restricted=scenario.zone.car_restricted)
    prior_wait = scenario.shuttle.max_wait_s / 2
    service = ch.level_of_service(city, trips, people, scenario, skims, prior_wait)
    step("mode choice", 0.45)
    rng = np.random.default_rng([seed, 4_2])
    chosen, noisy = ch.choose(service, rng)
    modes = np.array(ch.MODES)
    mode = modes[chosen]
    access = np.where(mode == "brt", service.access, "")
    # shuttle requests
    outcome = ShuttleOutcome({}, [], 0.0, 0.0)
    requests: list[tuple[str, int, int, float, int]] = []
    req_trip: dict[str, int] = {}
    sh_o, sh_d = service.shuttle_nodes
    for i in np.flatnonzero(mode == "shuttle"):
        requests.append((f"t{i}", int(sh_o[i]), int(sh_d[i]), float(trips.depart_s[i]), 1))
    for i in np.flatnonzero(access == "shuttle"):
        stop = int(service.brt_stop_node[i])
        if service.brt_access_end[i]:
            requests.append((f"t{i}", int(sh_o[i]), stop, float(trips.depart_s[i]), 1))
        else:
            back = float(trips.depart_s[i] + service.ivt_min["brt"][i] * 60)
            requests.append((f"t{i}", stop, int(sh_d[i]), back, 1))
    requests = [r for r in requests if r[1] != r[2]]
    for r in requests:
        req_trip[r[0]] = int(r[0][1:])
    if requests and dispatcher is not None:
        step(f"dispatch {len(requests)} shuttle rides", 0.55)
        outcome = dispatcher(_problem(city, scenario, skims["shuttle"], requests))
    time_min = np.zeros(len(trips))
    for k, m in enumerate(ch.MODES):
        sel = chosen == k
        time_min[sel] = (
            service.ivt_min[m][sel] + service.wait_min[m][sel] + service.walk_min[m][sel]
        )
    # served shuttle rides: dispatched wait and ride replace the expected ones
    for rid, (wait_s, ride_s, _direct) in outcome.served.items():
        i = req_trip[rid]
        expected = ch.SHUTTLE_RIDE_FACTOR * _direct + prior_wait
        time_min[i] += (wait_s + ride_s - expected) / 60
    # rejected: choose again without the shuttle (and without BRT if it was the access leg)
    if outcome.rejected:
        idx = np.array([req_trip[r] for r in outcome.rejected])
        noisy[ch.MODES.index("shuttle"), idx] = -np.inf
        was_brt = mode[idx] == "brt"
        noisy[ch.MODES.index("brt"), idx[was_brt]] = -np.inf
        again = np.argmax(noisy[:, idx], axis=0)
        chosen[idx] = again
        mode[idx] = modes[again]
        access[idx] = ""
        for j, i in enumerate(idx):
            m = ch.MODES[again[j]]
            time_min[i] = service.ivt_min[m][i] + service.wait_min[m][i] + service.walk_min[m][i]
    car_km = np.zeros(len(trips))
    for k, m in enumerate(ch.MODES):
        sel = chosen == k
        car_km[sel] = service.car_km[m][sel]
    step("done", 1.0)
    return DayResult(
        scenario=scenario,
        seed=seed,
        city=city,
        trips=trips,
        people=people,
        mode=mode,
        time_min=time_min,
        car_km=car_km,
        access=access,
        shuttle=outcome,
        shuttle_requests=len(requests),
        cars_owned=ch.household_cars(city, scenario, seed),
    )


def _problem(
    city: City, scenario: Scenario, skim, requests: list[tuple[str, int, int, float, int]]
) -> ShuttleProblem:  # type: ignore[no-untyped-def]
    net = city.network
    usable = [int(x) for x in skim.usable]
    stops = [a for a in city.amenities if a.kind == "TransitStop"]
    stop_nodes, _ = skim.nearest(np.array([[a.x, a.y] for a in stops]), net)
    fleet = scenario.shuttle.fleet
    starts = [int(stop_nodes[k % len(stop_nodes)]) for k in range(fleet)]
    tower, _ = skim.nearest(np.array([city.zone.tower_site]), net)
    parks = [a for a in city.amenities if a.kind == "OffStreetParking"]
    park_nodes, _ = skim.nearest(np.array([[a.x, a.y] for a in parks]), net)
    chargers = [(int(tower[0]), "fast")] + [(int(n), "slow") for n in park_nodes]
    zones = {int(n): 1.0 for n in stop_nodes}
    sub = np.ix_(usable, usable)
    return ShuttleProblem(
        nodes=usable,
        time_s=np.where(np.isfinite(skim.time_s[sub]), skim.time_s[sub], 1e7),
        distance_m=np.where(np.isfinite(skim.distance_m[sub]), skim.distance_m[sub], 1e8),
        requests=requests,
        starts=starts,
        capacity=scenario.shuttle.capacity,
        chargers=chargers,
        zones=zones,
        max_wait_s=scenario.shuttle.max_wait_s,
        detour_factor=scenario.shuttle.detour_factor,
    )
