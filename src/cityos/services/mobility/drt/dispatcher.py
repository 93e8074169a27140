"""Online DRT dispatcher: pooled insertion heuristic, rejections, idle rebalancing, charging.

Requests are revealed at their earliest pickup time, in time order. For each one, every vehicle's
remaining plan is tried with the pickup and the drop-off inserted at every pair of positions
(the classic insertion heuristic of Jaw et al. 1986, as used by MATSim DRT); a plan is feasible
when every request on it waits at most ``max_wait_s``, rides at most ``alpha * direct + beta``,
the load never exceeds the capacity, every pickup comes before its drop-off and the energy
needed leaves the battery above its reserve. The cheapest feasible insertion wins (cost: added
vehicle metres plus half the added plan duration in seconds); with none, the request is rejected.

A vehicle never diverts from the stop it is driving to. Idle vehicles below the battery reserve
drive to the nearest charger (fast by day, slow at night if there is one) and charge in
``fast_charge_s`` / ``slow_charge_s`` scaled by the missing charge. Every ``interval_s`` the idle
vehicles are spread over the demand zones in proportion to their weights (or to the pickups of
the last hour).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field

from cityos.services.mobility.drt.model import (
    Request,
    ServiceLimits,
    TravelTimes,
    Vehicle,
    validate_inputs,
)

#: Cost weight of added plan duration against added distance [m/s].
DURATION_WEIGHT = 0.5
#: Hours [h] when vehicles prefer slow chargers (night).
NIGHT_HOURS = (22, 6)


@dataclass
class Stop:
    """A planned or visited stop: node, kind, request, times [s], load and battery after it."""

    node: Hashable
    kind: str  # "pickup" | "dropoff" | "charge" | "rebalance"
    request_id: str | None = None
    load: int = 0
    arrival_s: float = 0.0
    departure_s: float = 0.0
    onboard: int = 0
    battery_kwh: float = 0.0


@dataclass(frozen=True)
class Assignment:
    """A served request: vehicle, pickup departure and drop-off arrival [s], wait, ride, direct."""

    request_id: str
    vehicle_id: str
    pickup_s: float
    dropoff_s: float
    wait_s: float
    ride_s: float
    direct_s: float

    @property
    def detour(self) -> float:
        """Ride time over direct ride time [-]."""
        return self.ride_s / self.direct_s if self.direct_s > 0 else 1.0


@dataclass(frozen=True)
class Charger:
    """A charging point: node and kind (``"fast"``: full in 30 min, ``"slow"``: in 6 h)."""

    node: Hashable
    kind: str = "fast"


@dataclass(frozen=True)
class Rebalancing:
    """Idle rebalancing: every ``interval_s`` [s] towards ``zones`` (node -> weight); with no
    zones, towards the pickup nodes of the last hour."""

    interval_s: float = 900.0
    zones: dict[Hashable, float] | None = None


@dataclass
class DispatchResult:
    """What the dispatcher did: served requests, rejected ids, each vehicle's stops, totals."""

    assignments: dict[str, Assignment]
    rejected: list[str]
    routes: dict[str, list[Stop]]
    vehicle_km: float
    empty_km: float
    charges: int

    @property
    def rejection_rate(self) -> float:
        """Rejected over all requests [-]."""
        total = len(self.assignments) + len(self.rejected)
        return len(self.rejected) / total if total else 0.0


@dataclass
class _State:
    vehicle: Vehicle
    anchor: Stop
    pending: list[Stop] = field(default_factory=list)
    done: list[Stop] = field(default_factory=list)
    pickup_dep: dict[str, float] = field(default_factory=dict)


class _Planner:
    def __init__(
        self,
        travel: TravelTimes,
        limits: ServiceLimits,
        requests: dict[str, Request],
    ) -> None:
        self.travel = travel
        self.limits = limits
        self.requests = requests

    def simulate(
        self, st: _State, plan: list[Stop], now: float, write: bool = True
    ) -> tuple[float, float] | None:
        """Times for ``plan`` from the anchor (written into the stops if ``write``); (metres, end
        time) or None when a constraint fails."""
        lim = self.limits
        node = st.anchor.node
        t = max(st.anchor.departure_s, now)
        onboard = st.anchor.onboard
        battery = st.anchor.battery_kwh
        reserve = lim.reserve_fraction * st.vehicle.battery_capacity_kwh
        per_m = st.vehicle.consumption_kwh_per_km / 1000
        metres = 0.0
        picked: dict[str, float] = {}
        for stop in plan:
            d = self.travel.distance_m(node, stop.node)
            t += self.travel.time_s(node, stop.node)
            metres += d
            battery -= d * per_m
            arrival = t
            if stop.kind == "pickup":
                req = self.requests[stop.request_id]  # type: ignore[index]
                start = max(t, req.earliest_pickup_s)
                if start - req.earliest_pickup_s > lim.max_wait_s + 1e-6:
                    return None
                onboard += stop.load
                if onboard > st.vehicle.capacity:
                    return None
                t = start + lim.stop_s
                picked[stop.request_id] = t  # type: ignore[index]
            elif stop.kind == "dropoff":
                req = self.requests[stop.request_id]  # type: ignore[index]
                rid = stop.request_id
                dep = picked[rid] if rid in picked else st.pickup_dep[rid]  # type: ignore[index]
                direct = self.travel.time_s(req.origin, req.destination)
                if t - dep > lim.max_ride_s(direct) + 1e-6:
                    return None
                onboard -= stop.load
                t += lim.stop_s
            elif stop.kind == "charge":
                missing = st.vehicle.battery_capacity_kwh - max(battery, 0.0)
                full = lim.fast_charge_s if stop.load == 0 else lim.slow_charge_s
                t += full * max(missing, 0.0) / st.vehicle.battery_capacity_kwh
                battery = st.vehicle.battery_capacity_kwh
            if write:
                stop.arrival_s = arrival
                stop.departure_s = t
                stop.onboard = onboard
                stop.battery_kwh = battery
            if battery < reserve - 1e-9 and stop.kind != "charge":
                return None
            node = stop.node
        return metres, t


def _copy(stop: Stop) -> Stop:
    return Stop(**stop.__dict__)


def dispatch(
    requests: Sequence[Request],
    vehicles: Sequence[Vehicle],
    travel: TravelTimes,
    limits: ServiceLimits | None = None,
    *,
    chargers: Sequence[Charger] = (),
    rebalancing: Rebalancing | None = None,
    reoptimise: bool = True,
    offline: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> DispatchResult:
    """Dispatch ``requests`` online over ``vehicles`` (see the module docstring).

    Parameters
    ----------
    requests
        Ride requests (any order; revealed at ``earliest_pickup_s``).
    vehicles
        The fleet.
    travel
        Travel times [s] and distances [m] between nodes (e.g. :class:`MatrixTravelTimes`).
    limits
        Service limits (default: wait 600 s, detour factor 1.3).
    chargers
        Charging points; with none, vehicles simply stop serving when the reserve is reached.
    rebalancing
        Idle rebalancing policy, or None for none.
    offline
        Every request is known in advance (pre-booked): plans are built from the start, in order
        of earliest pickup, with no vehicle committed to anything yet (no charging or
        rebalancing in this mode).
    reoptimise
        After each accepted request, try to move every request not yet picked up to its best
        insertion on any vehicle (one pass; kept only when it lowers the cost).
    progress
        Called with (requests handled, total).

    Raises
    ------
    DrtInputError, InfeasibleFleet
        On an invalid input (see :func:`validate_inputs`).
    """
    limits = limits or ServiceLimits()
    validate_inputs(requests, vehicles, travel, limits)
    for c in chargers:
        if c.node not in travel or c.kind not in ("fast", "slow"):
            raise_bad_charger(c)
    by_id = {r.id: r for r in requests}
    planner = _Planner(travel, limits, by_id)
    states = [
        _State(
            v,
            Stop(
                v.start,
                "start",
                arrival_s=v.available_from_s,
                departure_s=v.available_from_s,
                battery_kwh=v.battery_kwh,
            ),
        )
        for v in vehicles
    ]
    order = sorted(requests, key=lambda r: (r.earliest_pickup_s, r.id))
    assignments: dict[str, Assignment] = {}
    rejected: list[str] = []
    recent: list[tuple[float, Hashable]] = []
    next_rebalance = order[0].earliest_pickup_s if order and rebalancing else float("inf")
    charges = 0
    for n, req in enumerate(order):
        now = req.earliest_pickup_s if not offline else float("-inf")
        for st in states if not offline else ():
            _advance(st, now)
            charges += _maybe_charge(st, planner, chargers, now)
        while rebalancing is not None and not offline and next_rebalance <= now:
            recent = [(t, o) for t, o in recent if t > next_rebalance - 3600]
            _rebalance(states, planner, rebalancing, recent, next_rebalance)
            next_rebalance += rebalancing.interval_s
        best = _best_insertion(states, planner, req, now)
        if best is None:
            rejected.append(req.id)
        else:
            _, st, plan = best
            st.pending = plan
            if reoptimise:
                _reinsert(states, planner, now)
        recent.append((now, req.origin))
        if progress is not None:
            progress(n + 1, len(order))
    for st in states:
        _advance(st, float("inf"))
    routes: dict[str, list[Stop]] = {}
    vehicle_m = empty_m = 0.0
    for st in states:
        stops = [st.anchor] if not st.done else st.done
        routes[st.vehicle.id] = stops
        prev = None
        for stop in stops:
            if prev is not None:
                d = travel.distance_m(prev.node, stop.node)
                vehicle_m += d
                if prev.onboard == 0:
                    empty_m += d
            prev = stop
            if stop.kind == "dropoff":
                r = by_id[stop.request_id]  # type: ignore[index]
                dep = st.pickup_dep[r.id]
                assignments[r.id] = Assignment(
                    r.id,
                    st.vehicle.id,
                    pickup_s=dep - limits.stop_s,
                    dropoff_s=stop.arrival_s,
                    wait_s=dep - limits.stop_s - r.earliest_pickup_s,
                    ride_s=stop.arrival_s - dep,
                    direct_s=travel.time_s(r.origin, r.destination),
                )
    return DispatchResult(
        assignments=assignments,
        rejected=rejected,
        routes=routes,
        vehicle_km=vehicle_m / 1000,
        empty_km=empty_m / 1000,
        charges=charges,
    )


def raise_bad_charger(charger: Charger) -> None:
    """Raise the precise error for a charger with an unknown node or kind."""
    from cityos.services.mobility.drt.model import DrtInputError

    raise DrtInputError(
        f"charger at {charger.node!r} of kind {charger.kind!r}: the node must be known and the "
        "kind 'fast' or 'slow'"
    )


def _advance(st: _State, now: float) -> None:
    """Commit the stops the vehicle has reached or is driving to by ``now``."""
    if not st.done:
        st.done.append(st.anchor)
    while st.pending and st.anchor.departure_s <= now:
        stop = st.pending.pop(0)
        if stop.kind == "pickup":
            st.pickup_dep[stop.request_id] = stop.departure_s  # type: ignore[index]
        st.anchor = stop
        st.done.append(stop)


def _maybe_charge(st: _State, planner: _Planner, chargers: Sequence[Charger], now: float) -> int:
    v = st.vehicle
    if st.pending or not chargers:
        return 0
    if st.anchor.battery_kwh >= planner.limits.reserve_fraction * v.battery_capacity_kwh + 1e-9:
        return 0
    hour = (now // 3600) % 24
    night = hour >= NIGHT_HOURS[0] or hour < NIGHT_HOURS[1]
    pool = [c for c in chargers if (c.kind == "slow") == night] or list(chargers)
    charger = min(pool, key=lambda c: (planner.travel.time_s(st.anchor.node, c.node), str(c.node)))
    stop = Stop(charger.node, "charge", load=0 if charger.kind == "fast" else 1)
    # driving to the charger may dip under the reserve: the charge stop itself is exempt
    planner.simulate(st, [stop], now)
    st.pending = [stop]
    return 1


def _fixed(plan: list[Stop]) -> int:
    """Index after the last stop that cannot be moved (charging, rebalancing)."""
    last = 0
    for i, stop in enumerate(plan):
        if stop.kind in ("charge", "rebalance"):
            last = i + 1
    return last


def _plan_cost(st: _State, planner: _Planner, plan: list[Stop], now: float) -> float | None:
    out = planner.simulate(st, plan, now, write=False)
    return None if out is None else out[0] + DURATION_WEIGHT * out[1]


def _reinsert(states: list[_State], planner: _Planner, now: float) -> None:
    """Move each request still waiting for pickup to a cheaper insertion, if there is one."""
    for st in states:
        for stop in list(st.pending[_fixed(st.pending) :]):
            if stop.kind != "pickup":
                continue
            rid = stop.request_id
            if not any(s.request_id == rid and s.kind == "pickup" for s in st.pending):
                continue
            before = st.pending
            reduced = [_copy(s) for s in before if s.request_id != rid]
            full_cost = _plan_cost(st, planner, before, now)
            reduced_cost = _plan_cost(st, planner, reduced, now)
            if full_cost is None or reduced_cost is None:
                continue
            saving = full_cost - reduced_cost
            st.pending = reduced
            planner.simulate(st, st.pending, now)
            best = _best_insertion(states, planner, planner.requests[rid], now)  # type: ignore[index]
            if best is not None and best[0] < saving - 1e-6:
                best[1].pending = best[2]
            else:
                st.pending = before
                planner.simulate(st, st.pending, now)


def _best_insertion(
    states: list[_State], planner: _Planner, req: Request, now: float
) -> tuple[float, _State, list[Stop]] | None:
    travel = planner.travel
    best: tuple[float, str, _State, list[Stop]] | None = None
    for st in states:
        if st.vehicle.capacity < req.load:
            continue
        if (
            max(st.anchor.departure_s, now) + travel.time_s(st.anchor.node, req.origin)
            > req.earliest_pickup_s + planner.limits.max_wait_s + 1e-6
            and not st.pending
        ):
            continue
        base = planner.simulate(st, st.pending, now, write=False)
        if base is None:  # pragma: no cover - a committed plan stays feasible
            continue
        base_m, base_end = base
        first = _fixed(st.pending)
        n = len(st.pending)
        latest = req.earliest_pickup_s + planner.limits.max_wait_s + 1e-6
        for i in range(first, n + 1):
            prev = st.anchor if i == 0 else st.pending[i - 1]
            reach = max(prev.departure_s, now) + travel.time_s(prev.node, req.origin)
            if reach > latest:
                continue
            for j in range(i, n + 1):
                pick = Stop(req.origin, "pickup", req.id, req.load)
                drop = Stop(req.destination, "dropoff", req.id, req.load)
                plan = [*st.pending[:i], pick, *st.pending[i:j], drop, *st.pending[j:]]
                out = planner.simulate(st, plan, now, write=False)
                if out is None:
                    continue
                metres, end = out
                cost = (metres - base_m) + DURATION_WEIGHT * (end - base_end)
                key = (cost, st.vehicle.id)
                if best is None or key < (best[0], best[1]):
                    best = (cost, st.vehicle.id, st, plan)
    if best is None:
        return None
    plan = [_copy(s) for s in best[3]]
    planner.simulate(best[2], plan, now)
    return best[0], best[2], plan


def _rebalance(
    states: list[_State],
    planner: _Planner,
    policy: Rebalancing,
    recent: list[tuple[float, Hashable]],
    now: float,
) -> None:
    weights = dict(policy.zones) if policy.zones else dict(Counter(o for _, o in recent))
    if not weights:
        return
    idle = [st for st in states if not st.pending and st.anchor.departure_s <= now]
    if not idle:
        return
    total = sum(weights.values())
    target = {z: len(idle) * w / total for z, w in weights.items()}
    travel = planner.travel

    def nearest(node: Hashable) -> Hashable:
        return min(weights, key=lambda z: (travel.time_s(node, z), str(z)))

    have = Counter(nearest(st.anchor.node) for st in idle)
    surplus = [st for st in idle if have[nearest(st.anchor.node)] > target[nearest(st.anchor.node)]]
    for st in sorted(surplus, key=lambda s: s.vehicle.id):
        home = nearest(st.anchor.node)
        if have[home] - 1 < target[home] - 0.5:
            continue
        deficits = [z for z in weights if have[z] + 1 <= target[z] + 0.5 and z != home]
        if not deficits:
            break
        zone = min(deficits, key=lambda z: (travel.time_s(st.anchor.node, z), str(z)))
        plan = [Stop(zone, "rebalance")]
        if planner.simulate(st, plan, now) is None:
            continue
        st.pending = plan
        have[home] -= 1
        have[zone] += 1
