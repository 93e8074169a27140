"""Mode choice: level of service of every mode for every trip and a multinomial logit.

Modes: ``walk``, ``pm`` (shielded PM), ``shuttle`` (on-demand, door to door in 5-1), ``brt``
(chained: a walk, PM or shuttle access leg, the BRT, an egress leg), ``sharedCar`` (walk to the
nearest shared-car station), ``car`` (a private car, only for households that own one; under the
car-restricted zone it is parked at the nearest ring transfer car park and the rest is walked)
and ``taxi`` (driving under the service-vehicle rules of the zone).

Utility of mode m for a trip (``docs/mobility.md`` gives the values and their sources)::

    V_m = ASC_m + b_ivt * ivt + b_wait * wait + b_walk * walk + b_cost * cost / 1000
          + b_transfer * transfers       [ivt, wait, walk in min; cost in KRW]

The choice draws Gumbel errors from a seeded generator, so it is reproducible. Accessibility
profiles remove modes: people with walking difficulty never get PM and never walk more than
300 m on any leg; children under 12 get no PM, taxi or shared car, shuttles only where the policy
allows, and cars only as passengers; PM from 16, shared cars from 21, driving from 18.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cityos.twin.generator import City
from cityos.twin.mobility.demand import Trips
from cityos.twin.mobility.levels import WALK_MS, Skim
from cityos.twin.mobility.scenario import Scenario

MODES = ("walk", "pm", "shuttle", "brt", "sharedCar", "car", "taxi")
#: Longest walk on any leg for people with walking difficulty [m].
LIMITED_WALK_M = 300.0
#: Outside 5-1: car and taxi speed, BRT speed [km/h]; BRT headway [s]; egress walk [min].
EXT_CAR_KMH, EXT_BRT_KMH, BRT_HEADWAY_S, EXT_EGRESS_MIN = 45.0, 32.0, 600.0, 5.0
#: Taxi: flag fall [KRW] covering the first 1.6 km, then per km [KRW/km]; expected wait [s].
TAXI_BASE_KRW, TAXI_BASE_KM, TAXI_PER_KM_KRW, TAXI_WAIT_S = 4800.0, 1.6, 760.0, 360.0
#: Private car running cost [KRW/km] and parking at a non-home destination [KRW].
CAR_PER_KM_KRW, CAR_PARKING_KRW = 150.0, 1000.0
#: Expected pooled ride over direct ride for the shuttle [-].
SHUTTLE_RIDE_FACTOR = 1.15


@dataclass(frozen=True)
class Coefficients:
    """Coefficients of the logit (see ``docs/mobility.md`` for their magnitudes' sources).

    Attributes
    ----------
    ivt, wait, walk
        Per minute of in-vehicle time, waiting and walking [1/min].
    cost
        Per 1,000 KRW [1/kKRW] (value of in-vehicle time = 60 * ivt / cost kKRW/h).
    transfer
        Per transfer [-].
    asc
        Alternative-specific constants (walk = 0) [-].
    """

    ivt: float = -0.035
    wait: float = -0.06
    walk: float = -0.07
    cost: float = -0.15
    transfer: float = -0.3
    asc: tuple[tuple[str, float], ...] = (
        ("walk", 0.0),
        ("pm", -0.6),
        ("shuttle", -0.4),
        ("brt", -0.5),
        ("sharedCar", -1.0),
        ("car", -0.1),
        ("taxi", -1.5),
    )


@dataclass
class Service:
    """Level of service of every mode for every trip: arrays (n_trips,) per mode."""

    ivt_min: dict[str, np.ndarray]
    wait_min: dict[str, np.ndarray]
    walk_min: dict[str, np.ndarray]
    walk_max_m: dict[str, np.ndarray]
    cost_krw: dict[str, np.ndarray]
    transfers: dict[str, np.ndarray]
    available: dict[str, np.ndarray]
    car_km: dict[str, np.ndarray]  # vehicle-km driven by car, shared car or taxi
    access: np.ndarray  # access/egress mode of the BRT chain
    shuttle_nodes: tuple[np.ndarray, np.ndarray]  # (origin, destination) shuttle nodes
    brt_stop_node: np.ndarray  # shuttle node of the BRT stop used
    brt_access_end: np.ndarray  # True: the shuttle leg is at the origin side


@dataclass
class People:
    """Per-person attributes the choice needs (arrays over persons)."""

    age: np.ndarray
    walking_difficulty: np.ndarray
    has_car: np.ndarray
    inside_ring: np.ndarray
    persona: np.ndarray


def people_of(city: City, scenario: Scenario, seed: int) -> People:
    """Ages, accessibility needs and car availability of the residents.

    Households own cars at the scenario's rate (inside / outside the ring, whole cars drawn with
    the fractional part as a probability); a person may drive when their household has a car per
    two adults or a draw within the car-per-adult ratio says so. Walking difficulty: the
    ``mobilityNeeds`` the twin gives, plus 30 % of residents aged 75 or more.
    """
    rng = np.random.default_rng([seed, 7_0_1])
    persons = city.population.persons
    households = city.population.households
    rate = scenario.cars_per_household
    cars = np.array(
        [
            int(r) + (rng.random() < r - int(r))
            for r in (rate.inside if hh.inside_ring else rate.outside for hh in households)
        ]
    )
    adults = np.zeros(len(households))
    for p in persons:
        adults[p.household] += p.age >= 18
    age = np.array([p.age for p in persons])
    hh = np.array([p.household for p in persons])
    ratio = np.where(adults[hh] > 0, cars[hh] / np.maximum(adults[hh], 1), 0)
    has_car = (cars[hh] > 0) & (rng.random(len(persons)) < np.minimum(ratio * 1.5, 1.0))
    has_car |= (age < 18) & (cars[hh] > 0)  # children ride as passengers
    needs = np.array(
        ["walkingDifficulty" in (p.extra.get("mobilityNeeds") or []) for p in persons]  # type: ignore[operator]
    )
    needs |= (age >= 75) & (rng.random(len(persons)) < 0.3)
    return People(
        age=age,
        walking_difficulty=needs,
        has_car=has_car,
        inside_ring=np.array([households[p.household].inside_ring for p in persons]),
        persona=np.array([p.persona or "" for p in persons]),
    )


def household_cars(city: City, scenario: Scenario, seed: int) -> int:
    """Privately owned cars of all households (same draw as :func:`people_of`)."""
    rng = np.random.default_rng([seed, 7_0_1])
    rate = scenario.cars_per_household
    return int(
        sum(
            int(r) + (rng.random() < r - int(r))
            for r in (
                rate.inside if hh.inside_ring else rate.outside for hh in city.population.households
            )
        )
    )


def _snap(skim: Skim, xy: np.ndarray, network) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    return skim.nearest(xy, network)


def level_of_service(
    city: City,
    trips: Trips,
    people: People,
    scenario: Scenario,
    skims: dict[str, Skim],
    shuttle_wait_s: float,
) -> Service:
    """Time, cost, transfers and availability of every mode for every trip."""
    net = city.network
    n = len(trips)
    o, d = trips.origin, trips.destination
    ext_o = trips.place_external_km[o] > 0
    ext_d = trips.place_external_km[d] > 0
    ext_km = trips.place_external_km[o] + trips.place_external_km[d]
    external = ext_o | ext_d
    extra = trips.place_extra_min[o] + trips.place_extra_min[d]
    xy = trips.place_xy
    inzone = np.array([city.zone.contains(x, y) for x, y in xy]) & scenario.zone.car_restricted
    person = trips.person
    age = people.age[person]
    limited = people.walking_difficulty[person]

    nodes: dict[str, tuple[np.ndarray, np.ndarray]] = {
        m: _snap(s, xy, net) for m, s in skims.items()
    }

    def leg(mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Network time [s], distance [m], access+egress walk [m], max walk leg [m]."""
        node, acc = nodes[mode]
        sk = skims[mode]
        t = sk.time_s[node[o], node[d]]
        dist = sk.distance_m[node[o], node[d]]
        return t, dist, acc[o] + acc[d], np.maximum(acc[o], acc[d])

    ivt, wait, walk, walkmax, cost, transfers, avail, car_km = ({} for _ in range(8))
    zeros = np.zeros(n)
    # walk
    t, dist, acc, amax = leg("walk")
    walk_m = dist + acc
    ivt["walk"], wait["walk"], walk["walk"] = zeros, zeros, walk_m / WALK_MS / 60
    walkmax["walk"] = walk_m
    cost["walk"], transfers["walk"] = zeros, zeros
    avail["walk"] = ~external & np.isfinite(walk_m) & (walk_m <= 4000)
    car_km["walk"] = zeros
    # PM: free-floating, a 100 m walk to the nearest pod
    t, dist, acc, amax = leg("pm")
    pm_min = t / 60
    ivt["pm"], wait["pm"] = pm_min, zeros
    walk["pm"] = (acc + 100) / WALK_MS / 60
    walkmax["pm"] = amax + 100
    cost["pm"] = scenario.pm.unlock_krw + scenario.pm.per_min_krw * pm_min
    transfers["pm"], car_km["pm"] = zeros, zeros
    avail["pm"] = scenario.pm.enabled & ~external & np.isfinite(t) & (age >= 16) & ~limited
    # shuttle, door to door within 5-1
    t, dist, acc, amax = leg("shuttle")
    ivt["shuttle"] = t * SHUTTLE_RIDE_FACTOR / 60
    wait["shuttle"] = np.full(n, shuttle_wait_s / 60)
    walk["shuttle"], walkmax["shuttle"] = acc / WALK_MS / 60, amax
    cost["shuttle"], transfers["shuttle"] = np.full(n, scenario.shuttle.fare_krw), zeros
    car_km["shuttle"] = zeros
    kid_ok = (age >= 12) | scenario.shuttle.children_allowed
    avail["shuttle"] = (
        scenario.shuttle.enabled & (scenario.shuttle.fleet > 0) & ~external & np.isfinite(t)
    ) & kid_ok
    # BRT chain: access leg (walk / PM / shuttle, cheapest), BRT, egress
    brt_stops = [a for a in city.amenities if a.kind == "TransitStop" and a.category == "brt"]
    stop_xy = np.array([[a.x, a.y] for a in brt_stops])
    walk_nodes, walk_acc = nodes["walk"]
    sh_nodes, _sh_acc = nodes["shuttle"]
    pm_nodes, _ = nodes["pm"]
    stop_walk_node, _ = skims["walk"].nearest(stop_xy, net)
    stop_sh_node, _ = skims["shuttle"].nearest(stop_xy, net)
    stop_pm_node, _ = skims["pm"].nearest(stop_xy, net)
    local_end = np.where(ext_o, d, o)  # the 5-1 side of an external trip
    # nearest BRT stop to each place by walking network
    to_stop_walk = skims["walk"].distance_m[walk_nodes[:, None], stop_walk_node[None, :]]
    to_stop_walk = to_stop_walk + walk_acc[:, None]
    best_stop = np.argmin(to_stop_walk, axis=1)
    k = best_stop[local_end]
    acc_walk_m = to_stop_walk[local_end, k]
    acc_pm_min = skims["pm"].time_s[pm_nodes[local_end], stop_pm_node[k]] / 60
    acc_sh_min = (
        skims["shuttle"].time_s[sh_nodes[local_end], stop_sh_node[k]] / 60 * SHUTTLE_RIDE_FACTOR
    )
    pm_reach, sh_reach = np.isfinite(acc_pm_min), np.isfinite(acc_sh_min)
    acc_pm_min = np.where(pm_reach, acc_pm_min, 0.0)
    acc_sh_min = np.where(sh_reach, acc_sh_min, 0.0)
    fare_pm = scenario.pm.unlock_krw + scenario.pm.per_min_krw * acc_pm_min
    fare_sh = np.full(n, scenario.shuttle.fare_krw)
    paid = 0.0 if scenario.fares.free_transfer else 1.0
    c = Coefficients()
    options = {
        "walk": c.walk * acc_walk_m / WALK_MS / 60,
        "pm": np.where(
            scenario.pm.enabled & (age >= 16) & ~limited & pm_reach,
            c.ivt * acc_pm_min
            + c.walk * 100 / WALK_MS / 60
            + c.cost * paid * fare_pm / 1000
            + c.transfer,
            -np.inf,
        ),
        "shuttle": np.where(
            avail["shuttle"]
            | (external & scenario.shuttle.enabled & (scenario.shuttle.fleet > 0) & kid_ok)
            & sh_reach,
            c.ivt * acc_sh_min
            + c.wait * shuttle_wait_s / 60
            + c.cost * paid * fare_sh / 1000
            + c.transfer,
            -np.inf,
        ),
    }
    options["walk"] = np.where(limited & (acc_walk_m > LIMITED_WALK_M), -np.inf, options["walk"])
    options["walk"] = np.where(np.isfinite(acc_walk_m), options["walk"], -np.inf)
    access_modes = np.array(list(options))
    stack = np.vstack([options[m] for m in access_modes])
    choice = np.argmax(stack, axis=0)
    access = access_modes[choice]
    has_access = np.isfinite(stack.max(axis=0))
    acc_ivt = np.select([access == "pm", access == "shuttle"], [acc_pm_min, acc_sh_min], 0.0)
    acc_wait = np.where(access == "shuttle", shuttle_wait_s / 60, 0.0)
    acc_walkm = np.select([access == "walk", access == "pm"], [acc_walk_m, 100.0], 0.0)
    acc_cost = np.select([access == "pm", access == "shuttle"], [fare_pm, fare_sh], 0.0) * paid
    acc_transfer = (access != "walk").astype(float)
    # local trips: BRT between the 5-1 stops (origin side access, destination side walk)
    other_end = np.where(ext_o, o, d)
    kd = best_stop[other_end]
    stop_gap_s = skims["walk"].distance_m[stop_walk_node[k], stop_walk_node[kd]] / (
        EXT_BRT_KMH / 3.6
    )
    egress_m = np.where(external, EXT_EGRESS_MIN * 60 * WALK_MS, to_stop_walk[other_end, kd])
    brt_ride_min = np.where(external, ext_km / EXT_BRT_KMH * 60, stop_gap_s / 60)
    ivt["brt"] = brt_ride_min + acc_ivt + extra
    wait["brt"] = BRT_HEADWAY_S / 2 / 60 + acc_wait
    walk["brt"] = (acc_walkm + egress_m) / WALK_MS / 60
    walkmax["brt"] = np.maximum(acc_walkm, np.where(external, 0.0, egress_m))
    cost["brt"] = scenario.fares.brt_krw + acc_cost
    transfers["brt"] = acc_transfer
    car_km["brt"] = zeros
    avail["brt"] = has_access & (external | (k != kd)) & (age >= 8)
    brt_stop_node = stop_sh_node[k]
    # private car (parked at a ring transfer car park when an end lies in the zone)
    parks = [
        a for a in city.amenities if a.kind == "OffStreetParking" and a.category == "publicCarPark"
    ]
    park_xy = np.array([[a.x, a.y] for a in parks])
    car_nodes, car_acc = nodes["car"]
    park_node, _ = skims["car"].nearest(park_xy, net)
    park_walk = np.hypot(xy[:, None, 0] - park_xy[None, :, 0], xy[:, None, 1] - park_xy[None, :, 1])
    near_park = np.argmin(park_walk, axis=1)
    start_node = np.where(inzone, park_node[near_park], car_nodes)
    start_walk = np.where(inzone, park_walk[np.arange(len(xy)), near_park] * 1.3, car_acc)
    so, sd = start_node[o], start_node[d]
    t_car = skims["car"].time_s[so, sd] + np.where(external, ext_km / EXT_CAR_KMH * 3600, 0.0)
    km_car = (skims["car"].distance_m[so, sd] / 1000) + ext_km
    ivt["car"] = t_car / 60 + extra
    wait["car"] = np.full(n, 2.0)  # parking search and walk to the car
    walk["car"] = (start_walk[o] + start_walk[d]) / WALK_MS / 60
    walkmax["car"] = np.maximum(start_walk[o], start_walk[d])
    cost["car"] = np.where(age >= 18, CAR_PER_KM_KRW * km_car, 0.0) + np.where(
        (trips.purpose != "home") & (age >= 18), CAR_PARKING_KRW, 0.0
    )
    transfers["car"] = zeros
    car_km["car"] = np.where(np.isfinite(km_car), km_car, 0.0)
    avail["car"] = people.has_car[person] & np.isfinite(t_car)
    # shared car: from the nearest station (tower or ring car park)
    stations = [a for a in city.amenities if a.kind == "OffStreetParking"]
    st_xy = np.array([[a.x, a.y] for a in stations])
    sc_nodes, _ = skims["sharedCar"].nearest(st_xy, net)
    st_walk = np.hypot(xy[:, None, 0] - st_xy[None, :, 0], xy[:, None, 1] - st_xy[None, :, 1])
    st_near = np.argmin(st_walk, axis=1)
    sc_start = sc_nodes[st_near]
    sc_acc = st_walk[np.arange(len(xy)), st_near] * 1.3
    sc_end, sc_egress = (
        np.where(inzone, sc_start, nodes["sharedCar"][0]),
        np.where(inzone, sc_acc, nodes["sharedCar"][1]),
    )
    t_sc = skims["sharedCar"].time_s[sc_start[o], sc_end[d]] + np.where(
        external, ext_km / EXT_CAR_KMH * 3600, 0.0
    )
    km_sc = skims["sharedCar"].distance_m[sc_start[o], sc_end[d]] / 1000 + ext_km
    ivt["sharedCar"] = t_sc / 60 + extra
    wait["sharedCar"] = np.full(n, 3.0)  # unlock and check-out
    walk["sharedCar"] = (sc_acc[o] + sc_egress[d]) / WALK_MS / 60
    walkmax["sharedCar"] = np.maximum(sc_acc[o], sc_egress[d])
    cost["sharedCar"] = scenario.shared_car.base_krw + scenario.shared_car.per_km_krw * km_sc
    transfers["sharedCar"] = zeros
    car_km["sharedCar"] = np.where(np.isfinite(km_sc), km_sc, 0.0)
    avail["sharedCar"] = scenario.shared_car.enabled & (age >= 21) & np.isfinite(t_sc)
    # taxi: service-vehicle rules in the zone (gated, 20 km/h)
    tx_mode = "service" if scenario.zone.car_restricted else "car"
    tx_nodes, tx_acc = nodes[tx_mode]
    t_tx = skims[tx_mode].time_s[tx_nodes[o], tx_nodes[d]] + np.where(
        external, ext_km / EXT_CAR_KMH * 3600, 0.0
    )
    km_tx = skims[tx_mode].distance_m[tx_nodes[o], tx_nodes[d]] / 1000 + ext_km
    ivt["taxi"] = t_tx / 60 + extra
    wait["taxi"] = np.full(n, TAXI_WAIT_S / 60)
    walk["taxi"] = (tx_acc[o] + tx_acc[d]) / WALK_MS / 60
    walkmax["taxi"] = np.maximum(tx_acc[o], tx_acc[d])
    cost["taxi"] = TAXI_BASE_KRW + TAXI_PER_KM_KRW * np.maximum(km_tx - TAXI_BASE_KM, 0)
    transfers["taxi"] = zeros
    car_km["taxi"] = np.where(np.isfinite(km_tx), km_tx * 1.3, 0.0)  # 30 % empty running
    avail["taxi"] = (age >= 12) & np.isfinite(t_tx)
    for m in MODES:
        if m == "walk":
            continue
        avail[m] = avail[m] & ~(limited & (walkmax[m] > LIMITED_WALK_M))
    avail["walk"] = avail["walk"] & ~(limited & (walkmax["walk"] > LIMITED_WALK_M))
    # a fallback so that every trip has a mode: taxi for adults, car escort/walk for children
    none = ~np.any(np.vstack([avail[m] for m in MODES]), axis=0)
    avail["taxi"] = avail["taxi"] | (none & np.isfinite(t_tx))
    return Service(
        ivt,
        wait,
        walk,
        walkmax,
        cost,
        transfers,
        avail,
        car_km,
        access=np.where(avail["brt"], access, ""),
        shuttle_nodes=(sh_nodes[o], sh_nodes[d]),
        brt_stop_node=brt_stop_node,
        brt_access_end=~ext_o,
    )


def utilities(service: Service, coefficients: Coefficients | None = None) -> np.ndarray:
    """Utility (n_modes, n_trips); unavailable modes are -inf."""
    c = coefficients or Coefficients()
    asc = dict(c.asc)
    rows = []
    for m in MODES:
        v = (
            asc[m]
            + c.ivt * service.ivt_min[m]
            + c.wait * service.wait_min[m]
            + c.walk * service.walk_min[m]
            + c.cost * service.cost_krw[m] / 1000
            + c.transfer * service.transfers[m]
        )
        rows.append(np.where(service.available[m] & np.isfinite(v), v, -np.inf))
    return np.vstack(rows)


def choose(
    service: Service, rng: np.random.Generator, coefficients: Coefficients | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Chosen mode index per trip and the Gumbel-perturbed utilities (for re-choice)."""
    v = utilities(service, coefficients)
    noisy = v + rng.gumbel(size=v.shape)
    return np.argmax(noisy, axis=0), noisy


def probabilities(service: Service, coefficients: Coefficients | None = None) -> np.ndarray:
    """Logit probabilities (n_modes, n_trips)."""
    v = utilities(service, coefficients)
    v = v - v.max(axis=0)
    e = np.exp(v)
    return e / e.sum(axis=0)
