"""Offline reference solution of a small DRT instance with the OR-Tools routing library.

The static dial-a-ride problem: every request is known in advance and must be served; pickups
lie in ``[earliest, earliest + max_wait_s]``, each ride lasts at most ``alpha * direct + beta``
(from pickup departure to drop-off arrival, the dispatcher's definition), loads respect the
capacities, and vehicles start where and when the fleet says and end anywhere. The objective is
vehicle metres. OR-Tools' pickup-and-delivery model with a time and a capacity dimension,
first solution by parallel cheapest insertion, improved by guided local search within a time
limit: the result is the best plan found, an upper bound of the optimum (exact when the search
space is exhausted, as on the smallest instances). Battery is not modelled here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from cityos.services.mobility.drt.model import (
    Request,
    ServiceLimits,
    TravelTimes,
    Vehicle,
    validate_inputs,
)


@dataclass(frozen=True)
class ExactResult:
    """The best plan found: vehicle-km and each vehicle's visited (request id, kind) pairs."""

    vehicle_km: float
    routes: dict[str, list[tuple[str, str]]]


def solve_exact(
    requests: Sequence[Request],
    vehicles: Sequence[Vehicle],
    travel: TravelTimes,
    limits: ServiceLimits | None = None,
    *,
    time_limit_s: float = 2.0,
    initial_routes: dict[str, list[tuple[str, str]]] | None = None,
) -> ExactResult | None:
    """Serve all ``requests`` with least vehicle-km; None if no feasible plan is found.

    ``initial_routes`` (vehicle id -> visited (request id, ``"pickup"``/``"dropoff"``) pairs, e.g.
    from a dispatcher run) seeds the search: ride-time limits are side constraints that the
    routing library's construction heuristics often fail to satisfy on their own.

    Raises
    ------
    DrtInputError, InfeasibleFleet
        On an invalid input.
    """
    limits = limits or ServiceLimits()
    validate_inputs(requests, vehicles, travel, limits)
    nv = len(vehicles)
    # node layout: vehicle starts, one shared free end, then pickup/drop-off pairs
    places = [v.start for v in vehicles] + [None]
    kinds: list[tuple[str, str]] = [("", "start")] * nv + [("", "end")]
    for r in requests:
        places += [r.origin, r.destination]
        kinds += [(r.id, "pickup"), (r.id, "dropoff")]
    end = nv
    n = len(places)

    def dist(i: int, j: int) -> int:
        if places[i] is None or places[j] is None:
            return 0
        return round(travel.distance_m(places[i], places[j]))

    def time(i: int, j: int) -> int:
        if places[i] is None or places[j] is None:
            return 0
        service = round(limits.stop_s) if i > end else 0
        return service + round(travel.time_s(places[i], places[j]))

    manager = pywrapcp.RoutingIndexManager(n, nv, list(range(nv)), [end] * nv)
    routing = pywrapcp.RoutingModel(manager)
    dist_cb = routing.RegisterTransitCallback(
        lambda a, b: dist(manager.IndexToNode(a), manager.IndexToNode(b))
    )
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    time_cb = routing.RegisterTransitCallback(
        lambda a, b: time(manager.IndexToNode(a), manager.IndexToNode(b))
    )
    horizon = 2 * 86400
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    load_cb = routing.RegisterUnaryTransitCallback(
        lambda a: _load(requests, manager.IndexToNode(a), end)
    )
    routing.AddDimensionWithVehicleCapacity(
        load_cb, 0, [v.capacity for v in vehicles], True, "load"
    )
    solver = routing.solver()
    for k, v in enumerate(vehicles):
        tdim.CumulVar(routing.Start(k)).SetMin(round(v.available_from_s))
    for q, r in enumerate(requests):
        p = manager.NodeToIndex(end + 1 + 2 * q)
        d = manager.NodeToIndex(end + 2 + 2 * q)
        routing.AddPickupAndDelivery(p, d)
        solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        solver.Add(tdim.CumulVar(p) <= tdim.CumulVar(d))
        e = round(r.earliest_pickup_s)
        tdim.CumulVar(p).SetRange(e, int(e + limits.max_wait_s))
        direct = round(travel.time_s(r.origin, r.destination))
        ride = int(limits.max_ride_s(direct))
        stop = round(limits.stop_s)
        tdim.CumulVar(d).SetRange(e + stop + direct, int(e + limits.max_wait_s) + stop + ride)
        solver.Add(tdim.CumulVar(d) - tdim.CumulVar(p) - stop <= ride)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    solution = None
    if initial_routes is not None:
        node_of = {
            (r.id, kind): end + 1 + 2 * q + (kind == "dropoff")
            for q, r in enumerate(requests)
            for kind in ("pickup", "dropoff")
        }
        start = routing.ReadAssignmentFromRoutes(
            [
                [manager.NodeToIndex(node_of[s]) for s in initial_routes.get(v.id, [])]
                for v in vehicles
            ],
            True,
        )
        if start is not None:
            solution = routing.SolveFromAssignmentWithParameters(start, params)
    if solution is None:
        solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    routes: dict[str, list[tuple[str, str]]] = {}
    for k, v in enumerate(vehicles):
        idx = solution.Value(routing.NextVar(routing.Start(k)))
        visited = []
        while not routing.IsEnd(idx):
            visited.append(kinds[manager.IndexToNode(idx)])
            idx = solution.Value(routing.NextVar(idx))
        routes[v.id] = visited
    return ExactResult(vehicle_km=solution.ObjectiveValue() / 1000, routes=routes)


def _load(requests: Sequence[Request], node: int, end: int) -> int:
    if node <= end:
        return 0
    q, kind = divmod(node - end - 1, 2)
    return requests[q].load if kind == 0 else -requests[q].load
