"""Seeded random DRT instances for tests and benchmarks (not tied to any city).

Nodes are scattered uniformly over a square; distances are straight lines times a network
detour factor of 1.3 (a usual ratio of road to straight-line distance), driven at 30 km/h.
Requests appear uniformly over a time span with one or two seats each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cityos.services.mobility.drt.model import MatrixTravelTimes, Request, Vehicle

#: Road over straight-line distance [-] and shuttle speed [m/s] of generated instances.
ROAD_FACTOR, SPEED_MS = 1.3, 30 / 3.6


@dataclass(frozen=True)
class Instance:
    """Requests, fleet and travel times of one generated instance."""

    requests: list[Request]
    vehicles: list[Vehicle]
    travel: MatrixTravelTimes


def random_instance(
    seed: int,
    *,
    n_requests: int = 8,
    n_vehicles: int = 2,
    capacity: int = 4,
    n_nodes: int = 25,
    size_m: float = 2500.0,
    span_s: float = 1800.0,
) -> Instance:
    """A seeded instance: ``n_requests`` over ``span_s`` [s] on ``n_nodes`` in ``size_m`` [m]."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, size_m, size=(n_nodes, 2))
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * ROAD_FACTOR
    travel = MatrixTravelTimes(list(range(n_nodes)), np.round(dist / SPEED_MS), dist)
    requests = []
    times = np.sort(rng.uniform(0, span_s, n_requests))
    for k, t in enumerate(times):
        o, d = rng.choice(n_nodes, size=2, replace=False)
        load = 2 if rng.random() < 0.2 else 1
        requests.append(Request(f"r{k}", int(o), int(d), float(round(t)), load))
    vehicles = [Vehicle(f"v{k}", capacity, int(rng.integers(n_nodes))) for k in range(n_vehicles)]
    return Instance(requests, vehicles, travel)
