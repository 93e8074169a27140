"""Rebalancing plan for PM pods: a capacitated pickup-and-delivery VRP solved with OR-Tools.

Inputs are plain and city-independent: stations with their pods now, their target and their docks;
trucks with a capacity [pods]; a travel-time matrix [s] between a depot (index 0) and the stations
(indices 1..n). Every pod to move becomes one pickup node at a surplus station paired with one
delivery node at a deficit station (surpluses and deficits matched greedily, nearest first); the
routing model (OR-Tools ``RoutingModel``) keeps each pair on one truck, pickup before delivery, and
the truck's load within capacity at every stop. Pairs may be dropped at a penalty when the fleet
cannot serve them all within ``max_route_s``. Targets are clipped to the docks, so no station ends
above its docks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cityos.core.errors import BadRequestData


class RebalancingError(BadRequestData):
    """Inputs that do not describe a rebalancing problem."""


@dataclass(frozen=True)
class StationState:
    """A station: id, pods now, target pods, docks (capacity)."""

    station_id: str
    pods: int
    target: int
    docks: int


@dataclass(frozen=True)
class Truck:
    """A rebalancing truck: id and capacity [pods]."""

    truck_id: str
    capacity: int


@dataclass(frozen=True)
class Stop:
    """One stop of a truck: station, pods picked up (> 0) or dropped (< 0), load after [pods]."""

    station_id: str
    change: int
    load_after: int
    arrival_s: int


@dataclass
class RebalancingPlan:
    """Routes per truck, pods moved and dropped, total travel time [s]."""

    routes: dict[str, list[Stop]] = field(default_factory=dict)
    moved: int = 0
    unserved: int = 0
    travel_s: int = 0

    def final_pods(self, stations: Sequence[StationState]) -> dict[str, int]:
        """Pods per station once every route is done."""
        pods = {s.station_id: s.pods for s in stations}
        for stops in self.routes.values():
            for stop in stops:
                pods[stop.station_id] -= stop.change
        return pods


def _validate(stations: Sequence[StationState], trucks: Sequence[Truck], times: np.ndarray) -> None:
    if not stations:
        raise RebalancingError("no stations")
    if not trucks:
        raise RebalancingError("no trucks")
    ids = [s.station_id for s in stations]
    if len(set(ids)) != len(ids):
        raise RebalancingError("duplicate station ids")
    for s in stations:
        if s.docks < 0 or s.pods < 0 or s.target < 0:
            raise RebalancingError(f"station {s.station_id}: pods, target and docks must be ≥ 0")
        if s.pods > s.docks:
            raise RebalancingError(f"station {s.station_id}: {s.pods} pods exceed {s.docks} docks")
    for t in trucks:
        if t.capacity < 1:
            raise RebalancingError(f"truck {t.truck_id}: capacity must be ≥ 1")
    n = len(stations) + 1
    if times.shape != (n, n):
        raise RebalancingError(f"travel-time matrix must be {n} x {n} (depot first)")
    if (times < 0).any() or not np.isfinite(times).all():
        raise RebalancingError("travel times must be finite and ≥ 0")


def plan_rebalancing(
    stations: Sequence[StationState],
    trucks: Sequence[Truck],
    travel_s: np.ndarray | Sequence[Sequence[float]],
    max_route_s: int = 3 * 3600,
    service_s: int = 60,
    time_limit_s: float = 2.0,
) -> RebalancingPlan:
    """Plan truck routes that move pods from surplus to deficit stations (see module docstring).

    Parameters
    ----------
    travel_s
        Travel times [s], depot first then ``stations`` in order.
    max_route_s
        Longest route of a truck, travel plus ``service_s`` per pod handled [s].
    time_limit_s
        Wall-clock limit of the local search [s].
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    times = np.asarray(travel_s, dtype=float)
    _validate(stations, trucks, times)
    surplus: list[int] = []
    deficit: list[int] = []
    for i, s in enumerate(stations, start=1):
        target = min(s.target, s.docks)
        surplus += [i] * max(0, s.pods - target)
        deficit += [i] * max(0, target - s.pods)
    pairs: list[tuple[int, int]] = []
    free = list(deficit)
    for p in surplus:
        if not free:
            break
        best = min(range(len(free)), key=lambda k: times[p, free[k]])
        pairs.append((p, free.pop(best)))
    plan = RebalancingPlan()
    if not pairs:
        return plan
    # node 0 = depot; node 2k+1 pickup of pair k, node 2k+2 its delivery
    where = [0] + [x for pair in pairs for x in pair]
    manager = pywrapcp.RoutingIndexManager(len(where), len(trucks), 0)
    routing = pywrapcp.RoutingModel(manager)

    def transit(a: int, b: int) -> int:
        i, j = manager.IndexToNode(a), manager.IndexToNode(b)
        return round(float(times[where[i], where[j]])) + (service_s if i else 0)

    cb = routing.RegisterTransitCallback(transit)
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    routing.AddDimension(cb, 0, max_route_s, True, "time")
    time_dim = routing.GetDimensionOrDie("time")

    def demand(a: int) -> int:
        node = manager.IndexToNode(a)
        return 0 if node == 0 else (1 if node % 2 == 1 else -1)

    dcb = routing.RegisterUnaryTransitCallback(demand)
    routing.AddDimensionWithVehicleCapacity(dcb, 0, [t.capacity for t in trucks], True, "load")
    solver = routing.solver()
    penalty = int(times.max() * 10 + 10 * max_route_s)
    for k in range(len(pairs)):
        p, d = manager.NodeToIndex(2 * k + 1), manager.NodeToIndex(2 * k + 2)
        routing.AddPickupAndDelivery(p, d)
        solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        solver.Add(time_dim.CumulVar(p) <= time_dim.CumulVar(d))
        routing.AddDisjunction([p, d], penalty, 2)
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    search.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    search.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    solution = routing.SolveWithParameters(search)
    if solution is None:
        raise RebalancingError("the solver found no feasible plan")
    for v, truck in enumerate(trucks):
        index = routing.Start(v)
        load, stops = 0, []
        while not routing.IsEnd(index):
            index = solution.Value(routing.NextVar(index))
            node = manager.IndexToNode(index)
            if node == 0:
                continue
            change = 1 if node % 2 == 1 else -1
            load += change
            sid = stations[where[node] - 1].station_id
            arrival = int(solution.Value(time_dim.CumulVar(index)))
            if stops and stops[-1].station_id == sid and (stops[-1].change > 0) == (change > 0):
                last = stops[-1]
                stops[-1] = Stop(sid, last.change + change, load, last.arrival_s)
            else:
                stops.append(Stop(sid, change, load, arrival))
        end = solution.Value(time_dim.CumulVar(routing.End(v)))
        if stops:
            plan.routes[truck.truck_id] = stops
            plan.travel_s += int(end)
    plan.moved = sum(s.change for stops in plan.routes.values() for s in stops if s.change > 0)
    plan.unserved = len(pairs) - plan.moved
    return plan
