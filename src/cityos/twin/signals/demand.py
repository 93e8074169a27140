"""Vehicle demand for the signal simulation: cars, BRT buses, shuttles and an ambulance.

:func:`generate_demand` is the documented synthetic generator used until the day simulation
feeds real trips: car trips arrive as a Poisson process at ``cars_per_hour`` between random
car-allowed edges, origins and destinations drawn with probability proportional to edge length
(longer roads front more buildings) and, with probability ``through_share``, on the network's
border edges (trips entering or leaving the area); BRT buses run end to end along the longest
bus-only chain every ``bus_headway_s`` in both directions; shuttles (SUMO class ``custom1``)
make Poisson trips at ``shuttles_per_hour``; one ambulance leaves at ``ambulance_at_s`` on the
longest emergency route. :func:`vehicles_from_trips` turns trips from any source (origin and
destination in local metres, depart time, mode) into routed vehicles on the same network.

Routes are the shortest paths of SUMO's own network (``sumolib``), per vehicle class.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from cityos.core.errors import BadRequestData

#: Vehicle types: id -> (SUMO vClass, length [m], max speed [m/s], extra XML attributes).
VTYPES: dict[str, tuple[str, float, float, str]] = {
    "car": ("passenger", 4.5, 22.0, ""),
    "bus": ("bus", 12.0, 16.7, ' guiShape="bus"'),
    "shuttle": ("custom1", 5.5, 11.1, ""),
    "ambulance": ("emergency", 6.5, 22.0, ' guiShape="emergency"'),
}
#: Twin mode name -> vehicle type of this module.
MODE_VTYPE = {"car": "car", "sharedCar": "car", "taxi": "car", "bus": "bus", "brt": "bus",
              "shuttle": "shuttle", "emergency": "ambulance", "ambulance": "ambulance"}  # fmt: skip


class DemandError(BadRequestData):
    """Demand parameters or trips that cannot be simulated."""


@dataclass(frozen=True)
class DemandSpec:
    """Parameters of the synthetic generator (see module docstring).

    Attributes
    ----------
    duration_s
        Departures happen in [0, duration_s) [s].
    cars_per_hour, shuttles_per_hour
        Mean departure rates [1/h].
    bus_headway_s
        BRT headway per direction [s]; 0 for no buses.
    ambulance_at_s
        Departure of the ambulance [s]; ``None`` for none.
    through_share
        Share of car trip ends on border edges [0-1].
    """

    duration_s: float = 3600.0
    cars_per_hour: float = 1200.0
    shuttles_per_hour: float = 60.0
    bus_headway_s: float = 300.0
    ambulance_at_s: float | None = 900.0
    through_share: float = 0.5

    def validate(self) -> None:
        if self.duration_s <= 0:
            raise DemandError(f"duration_s must be positive, got {self.duration_s}")
        for name in ("cars_per_hour", "shuttles_per_hour", "bus_headway_s"):
            if getattr(self, name) < 0:
                raise DemandError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        if not 0 <= self.through_share <= 1:
            raise DemandError(f"through_share must be in [0, 1], got {self.through_share}")
        if self.ambulance_at_s is not None and not 0 <= self.ambulance_at_s < self.duration_s:
            raise DemandError("ambulance_at_s must lie within [0, duration_s)")


@dataclass(frozen=True)
class Vehicle:
    """A routed vehicle: id, type (key of :data:`VTYPES`), departure [s], edge ids."""

    vehicle_id: str
    vtype: str
    depart_s: float
    edges: tuple[str, ...]


class _Router:
    def __init__(self, net_file: Path) -> None:
        import sumolib

        self.net = sumolib.net.readNet(str(net_file))
        self.edges = [e for e in self.net.getEdges() if e.getFunction() != "internal"]
        self._cache: dict[tuple[str, str, str], tuple[str, ...] | None] = {}

    def allowed(self, vclass: str) -> list[Any]:
        return [e for e in self.edges if e.allows(vclass)]

    def route(self, a: Any, b: Any, vclass: str) -> tuple[str, ...] | None:
        key = (a.getID(), b.getID(), vclass)
        if key not in self._cache:
            path, _cost = self.net.getShortestPath(a, b, vClass=vclass)
            self._cache[key] = tuple(e.getID() for e in path) if path else None
        return self._cache[key]

    def simple(self, route: tuple[str, ...]) -> bool:
        """True if the route visits no junction twice."""
        nodes = [self.net.getEdge(route[0]).getFromNode().getID()]
        nodes += [self.net.getEdge(x).getToNode().getID() for x in route]
        return len(set(nodes)) == len(nodes)

    def border(self, edges: list[Any]) -> tuple[list[Any], list[Any]]:
        """Edges leaving a dead-end node (entering the area), edges reaching one (leaving it)."""

        def dead_end(node: Any) -> bool:
            near = {x.getFromNode().getID() for x in node.getIncoming()}
            near |= {x.getToNode().getID() for x in node.getOutgoing()}
            return len(near) <= 1

        entering = [e for e in edges if dead_end(e.getFromNode())]
        leaving = [e for e in edges if dead_end(e.getToNode())]
        return entering, leaving


def generate_demand(net_file: Path, spec: DemandSpec, seed: int) -> list[Vehicle]:
    """Synthetic car, bus, shuttle and ambulance demand on ``net_file`` (see module docstring)."""
    spec.validate()
    rng = np.random.default_rng(seed)
    router = _Router(net_file)
    vehicles: list[Vehicle] = []
    vehicles += _poisson(router, rng, "car", spec.cars_per_hour, spec, spec.through_share)
    vehicles += _poisson(router, rng, "shuttle", spec.shuttles_per_hour, spec, 0.0)
    if spec.bus_headway_s > 0:
        for k, route in enumerate(_brt_routes(router)):
            for i, t in enumerate(np.arange(k * spec.bus_headway_s / 2, spec.duration_s,
                                            spec.bus_headway_s)):  # fmt: skip
                vehicles.append(Vehicle(f"bus{k}_{i}", "bus", float(t), route))
    if spec.ambulance_at_s is not None:
        route = _longest(router, "emergency", rng)
        if route:
            vehicles.append(Vehicle("ambulance0", "ambulance", spec.ambulance_at_s, route))
    return sorted(vehicles, key=lambda v: (v.depart_s, v.vehicle_id))


def _poisson(
    router: _Router, rng: np.random.Generator, vtype: str, rate: float, spec: DemandSpec,
    through: float,
) -> list[Vehicle]:  # fmt: skip
    vclass = VTYPES[vtype][0]
    edges = router.allowed(vclass)
    if rate <= 0 or len(edges) < 2:
        return []
    entering, leaving = router.border(edges)
    lengths = np.array([e.getLength() for e in edges])
    weights = lengths / lengths.sum()
    count = rng.poisson(rate * spec.duration_s / 3600.0)
    departs = np.sort(rng.uniform(0, spec.duration_s, count))
    out: list[Vehicle] = []
    for i, t in enumerate(departs):
        for _attempt in range(10):
            a = _pick(rng, edges, weights, entering, through)
            b = _pick(rng, edges, weights, leaving, through)
            if a is b:
                continue
            route = router.route(a, b, vclass)
            if route:
                out.append(Vehicle(f"{vtype}{i}", vtype, float(round(t, 1)), route))
                break
    return out


def _pick(rng: np.random.Generator, edges: list, weights: np.ndarray, border: list,
          through: float) -> Any:  # fmt: skip
    if border and rng.random() < through:
        return border[int(rng.integers(len(border)))]
    return edges[int(rng.choice(len(edges), p=weights))]


def _brt_routes(router: _Router) -> list[tuple[str, ...]]:
    """The two directions of the longest chain of bus-only edges (else of any bus route)."""
    bus_only = [e for e in router.edges if e.allows("bus") and not e.allows("passenger")]
    pool = bus_only or router.allowed("bus")
    if len(pool) < 2:
        return []
    best: tuple[float, tuple[str, ...]] = (0.0, ())
    ends = {e.getID(): e for e in pool}
    sample = sorted(ends)[:: max(1, len(ends) // 40)]
    for a in sample:
        for b in sample:
            if a == b:
                continue
            route = router.route(ends[a], ends[b], "bus")
            if route and router.simple(route):
                length = sum(router.net.getEdge(x).getLength() for x in route)
                if length > best[0]:
                    best = (length, route)
    if not best[1]:
        return []
    first, last = router.net.getEdge(best[1][0]), router.net.getEdge(best[1][-1])
    back = router.route(_reverse(router, last), _reverse(router, first), "bus")
    return [best[1], back] if back else [best[1]]


def _reverse(router: _Router, edge: Any) -> Any:
    for e in edge.getToNode().getOutgoing():
        if e.getToNode() is edge.getFromNode():
            return e
    return edge


def _longest(router: _Router, vclass: str, rng: np.random.Generator) -> tuple[str, ...] | None:
    """A long route for ``vclass`` crossing many signals (most signalised junctions wins)."""
    edges = router.allowed(vclass)
    entering, leaving = router.border(edges)
    entering, leaving = entering or edges, leaving or edges
    best: tuple[int, tuple[str, ...] | None] = (-1, None)
    for i in rng.permutation(len(entering))[:12]:
        for j in rng.permutation(len(leaving))[:12]:
            if entering[i] is leaving[j]:
                continue
            route = router.route(entering[i], leaving[j], vclass)
            if not route or not router.simple(route):
                continue
            signals = sum(router.net.getEdge(x).getToNode().getType() == "traffic_light"
                          for x in route)  # fmt: skip
            if signals > best[0]:
                best = (signals, route)
    return best[1]


def vehicles_from_trips(
    net_file: Path, trips: Iterable[tuple[float, str, Sequence[float], Sequence[float]]]
) -> list[Vehicle]:
    """Routed vehicles for trips ``(depart_s, mode, (x, y) origin, (x, y) destination)``.

    Coordinates are the twin's local frame [m]; each end snaps to the nearest edge its class may
    use (within 500 m). Unknown modes and ends off the network raise :class:`DemandError`; trips
    with no route for their class are dropped.
    """
    router = _Router(net_file)
    out: list[Vehicle] = []
    for i, (depart, mode, origin, dest) in enumerate(trips):
        if mode not in MODE_VTYPE:
            raise DemandError(f"unknown mode {mode!r}; known: {', '.join(sorted(MODE_VTYPE))}")
        if depart < 0:
            raise DemandError(f"trip {i}: negative departure time {depart}")
        vtype = MODE_VTYPE[mode]
        vclass = VTYPES[vtype][0]
        starts, stops = (_snap(router, p, vclass, i) for p in (origin, dest))
        route = next(
            (r for a in starts for b in stops if a is not b and (r := router.route(a, b, vclass))),
            None,
        )
        if route:
            out.append(Vehicle(f"{vtype}{i}", vtype, float(depart), route))
    return sorted(out, key=lambda v: (v.depart_s, v.vehicle_id))


def _snap(router: _Router, point: Sequence[float], vclass: str, index: int) -> list[Any]:
    """The edges nearest to ``point`` (both directions of the nearest road, within 1 m)."""
    x, y = float(point[0]), float(point[1])
    hits = [(d, e) for e, d in router.net.getNeighboringEdges(x, y, 500.0) if e.allows(vclass)]
    if not hits:
        raise DemandError(f"trip {index}: point ({x:.0f}, {y:.0f}) is off the {vclass} network")
    best = min(d for d, _ in hits)
    return [e for d, e in sorted(hits, key=lambda h: h[0]) if d <= best + 1.0]


def write_routes(vehicles: Sequence[Vehicle], path: Path) -> Path:
    """Write a SUMO route file with the vehicle types and every vehicle; returns ``path``."""
    if not vehicles:
        raise DemandError("no vehicles to simulate")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<routes>"]
    for name, (vclass, length, vmax, extra) in VTYPES.items():
        lines.append(
            f'  <vType id="{name}" vClass="{vclass}" length="{length}" maxSpeed="{vmax}"{extra}/>'
        )
    for v in vehicles:
        lines.append(
            f'  <vehicle id={quoteattr(v.vehicle_id)} type="{v.vtype}" depart="{v.depart_s:.1f}"'
            f' departLane="best" departSpeed="max"><route edges="{" ".join(v.edges)}"/></vehicle>'
        )
    lines.append("</routes>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
