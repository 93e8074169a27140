"""Plain inputs of the DRT dispatcher: requests, vehicles, service limits and travel times.

Nothing here knows about Sejong 5-1: a city hands in node ids, a travel-time matrix (or any
object with ``time_s`` / ``distance_m``), its requests and its fleet. Service limits follow the
MATSim DRT semantics: a request may wait at most ``max_wait_s`` after its earliest pickup, and
its ride may last at most ``alpha * direct + beta`` (``alpha`` is the detour factor).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cityos.core.errors import BadRequestData


class DrtInputError(BadRequestData):
    """A request, vehicle, limit or travel-time input is invalid (the message names which)."""


class InfeasibleFleet(DrtInputError):
    """The fleet cannot serve anything: no vehicle, zero capacity or no usable battery."""


@dataclass(frozen=True)
class Request:
    """A ride request.

    Attributes
    ----------
    id
        Caller's id (unique in one dispatch).
    origin, destination
        Pickup and drop-off node ids (keys of the travel-time table).
    earliest_pickup_s
        Earliest pickup time [s since midnight]; the request is revealed then (online).
    load
        Seats needed [persons], at least 1.
    """

    id: str
    origin: Hashable
    destination: Hashable
    earliest_pickup_s: float
    load: int = 1


@dataclass(frozen=True)
class Vehicle:
    """A shuttle of the fleet.

    Attributes
    ----------
    id
        Vehicle id.
    capacity
        Seats [persons].
    start
        Start node.
    battery_kwh, battery_capacity_kwh
        Charge at the start and usable capacity [kWh].
    consumption_kwh_per_km
        Energy use [kWh/km].
    available_from_s
        Time it enters service [s].
    """

    id: str
    capacity: int
    start: Hashable
    battery_kwh: float = 40.0
    battery_capacity_kwh: float = 40.0
    consumption_kwh_per_km: float = 0.25
    available_from_s: float = 0.0


@dataclass(frozen=True)
class ServiceLimits:
    """Service quality limits and operating parameters.

    Attributes
    ----------
    max_wait_s
        Longest wait after the earliest pickup [s] (600 s).
    alpha, beta
        Longest ride = ``alpha`` * direct ride time + ``beta`` [-, s] (detour factor 1.3, 0 s).
    stop_s
        Dwell time at each pickup and drop-off [s].
    reserve_fraction
        Battery share kept in reserve; below it an idle vehicle goes to charge [-].
    fast_charge_s, slow_charge_s
        Time for an empty-to-full charge at a fast (30 min) or slow (6 h) charger [s].
    """

    max_wait_s: float = 600.0
    alpha: float = 1.3
    beta: float = 0.0
    stop_s: float = 30.0
    reserve_fraction: float = 0.2
    fast_charge_s: float = 1800.0
    slow_charge_s: float = 21600.0

    def max_ride_s(self, direct_s: float) -> float:
        """Longest allowed ride for a direct ride of ``direct_s`` [s]."""
        return self.alpha * direct_s + self.beta


class TravelTimes(Protocol):
    """Travel time [s] and distance [m] between two nodes for the shuttle."""

    def time_s(self, a: Hashable, b: Hashable) -> float: ...

    def distance_m(self, a: Hashable, b: Hashable) -> float: ...

    def __contains__(self, node: object) -> bool: ...


class MatrixTravelTimes:
    """Travel times from dense matrices over a list of node ids.

    Parameters
    ----------
    nodes
        Node ids, in matrix order.
    time_s, distance_m
        Square matrices [s] and [m]; ``inf`` marks unreachable pairs.
    """

    def __init__(
        self, nodes: Sequence[Hashable], time_s: np.ndarray, distance_m: np.ndarray
    ) -> None:
        time_s = np.asarray(time_s, dtype=float)
        distance_m = np.asarray(distance_m, dtype=float)
        n = len(nodes)
        if time_s.shape != (n, n) or distance_m.shape != (n, n):
            raise DrtInputError(
                f"travel-time matrices must be {n}x{n}, got {time_s.shape} and {distance_m.shape}"
            )
        if np.any(time_s < 0) or np.any(distance_m < 0) or np.isnan(time_s).any():
            raise DrtInputError("travel times and distances must be non-negative numbers")
        self.nodes = list(nodes)
        self.index = {node: i for i, node in enumerate(self.nodes)}
        if len(self.index) != n:
            raise DrtInputError("node ids of the travel-time matrix must be unique")
        self.times = time_s
        self.distances = distance_m

    def __contains__(self, node: object) -> bool:
        return node in self.index

    def time_s(self, a: Hashable, b: Hashable) -> float:
        return float(self.times[self.index[a], self.index[b]])

    def distance_m(self, a: Hashable, b: Hashable) -> float:
        return float(self.distances[self.index[a], self.index[b]])


def validate_inputs(
    requests: Sequence[Request],
    vehicles: Sequence[Vehicle],
    travel: TravelTimes,
    limits: ServiceLimits,
) -> None:
    """Check every input; :class:`DrtInputError` (or :class:`InfeasibleFleet`) naming the first
    bad one."""
    if limits.max_wait_s < 0 or limits.alpha < 1 or limits.beta < 0 or limits.stop_s < 0:
        raise DrtInputError(
            "limits need max_wait_s >= 0, alpha >= 1, beta >= 0 and stop_s >= 0, got "
            f"{limits.max_wait_s}, {limits.alpha}, {limits.beta}, {limits.stop_s}"
        )
    if not vehicles:
        raise InfeasibleFleet("the fleet has no vehicle")
    seen: set[str] = set()
    for v in vehicles:
        if v.id in seen:
            raise DrtInputError(f"vehicle {v.id!r} appears twice")
        seen.add(v.id)
        if v.capacity < 1:
            raise InfeasibleFleet(f"vehicle {v.id!r} has capacity {v.capacity}; at least 1 seat")
        if v.start not in travel:
            raise DrtInputError(f"vehicle {v.id!r} starts at unknown node {v.start!r}")
        if not (0 <= v.battery_kwh <= v.battery_capacity_kwh) or v.battery_capacity_kwh <= 0:
            raise DrtInputError(
                f"vehicle {v.id!r}: battery {v.battery_kwh} kWh must lie in "
                f"[0, capacity {v.battery_capacity_kwh} kWh] with capacity > 0"
            )
        if v.consumption_kwh_per_km < 0:
            raise DrtInputError(f"vehicle {v.id!r}: negative consumption")
    largest = max(v.capacity for v in vehicles)
    seen = set()
    for r in requests:
        if r.id in seen:
            raise DrtInputError(f"request {r.id!r} appears twice")
        seen.add(r.id)
        if not isinstance(r.load, int) or r.load < 1:
            raise DrtInputError(f"request {r.id!r}: load must be a whole number >= 1, got {r.load}")
        if r.load > largest:
            raise InfeasibleFleet(
                f"request {r.id!r} needs {r.load} seats; the largest vehicle has {largest}"
            )
        for role, node in (("origin", r.origin), ("destination", r.destination)):
            if node not in travel:
                raise DrtInputError(f"request {r.id!r}: unknown {role} node {node!r}")
        if not math.isfinite(r.earliest_pickup_s) or r.earliest_pickup_s < 0:
            raise DrtInputError(f"request {r.id!r}: earliest pickup must be a time >= 0 s")
        if r.origin == r.destination:
            raise DrtInputError(f"request {r.id!r}: origin and destination are the same node")
