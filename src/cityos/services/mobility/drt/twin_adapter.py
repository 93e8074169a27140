"""The DRT dispatcher as the shuttle dispatcher of the twin's day simulation.

:func:`dispatch_shuttles` turns a :class:`cityos.twin.mobility.day.ShuttleProblem` (plain node
ids, matrices and request tuples) into dispatcher inputs, runs :func:`.dispatcher.dispatch`
with idle rebalancing towards the transit stops and charging at the parking tower (fast) and the
ring car parks (slow), and returns a :class:`cityos.twin.mobility.day.ShuttleOutcome`.
"""

from __future__ import annotations

from cityos.services.mobility.drt.dispatcher import Charger, Rebalancing, dispatch
from cityos.services.mobility.drt.model import MatrixTravelTimes, Request, ServiceLimits, Vehicle
from cityos.twin.mobility.day import ShuttleOutcome, ShuttleProblem

#: Battery of a shuttle [kWh] and its use [kWh/km].
BATTERY_KWH, CONSUMPTION_KWH_PER_KM = 60.0, 0.3


def dispatch_shuttles(problem: ShuttleProblem) -> ShuttleOutcome:
    """Dispatch the shuttle rides of a simulated day (see the module docstring)."""
    travel = MatrixTravelTimes(problem.nodes, problem.time_s, problem.distance_m)
    requests = [Request(rid, o, d, t, load) for rid, o, d, t, load in problem.requests]
    vehicles = [
        Vehicle(
            f"shuttle-{k:03d}",
            problem.capacity,
            node,
            battery_kwh=BATTERY_KWH,
            battery_capacity_kwh=BATTERY_KWH,
            consumption_kwh_per_km=CONSUMPTION_KWH_PER_KM,
        )
        for k, node in enumerate(problem.starts)
    ]
    limits = ServiceLimits(max_wait_s=problem.max_wait_s, alpha=problem.detour_factor)
    result = dispatch(
        requests,
        vehicles,
        travel,
        limits,
        chargers=[Charger(n, kind) for n, kind in problem.chargers],
        rebalancing=Rebalancing(interval_s=900, zones=dict(problem.zones)),
        reoptimise=False,
    )
    return ShuttleOutcome(
        served={
            a.request_id: (a.wait_s, a.ride_s, a.direct_s) for a in result.assignments.values()
        },
        rejected=list(result.rejected),
        vehicle_km=result.vehicle_km,
        empty_km=result.empty_km,
        vehicles_used=sum(1 for stops in result.routes.values() if len(stops) > 1),
    )
