"""A routable multi-modal network over the road segments, with shortest-time routing per mode.

Each road segment is split where it crosses the car-restricted zone edge, so that every edge lies
wholly inside or outside the zone. A *mode* (walk, PM, shuttle, car, service vehicle, emergency
vehicle, shared car) is a profile: the vehicle type that road classes must allow, its own top
speed, and its access rule in the zone. Speed on an edge is the smallest of the mode's top speed,
the road's limit (30 km/h for everything inside the ring), the class caps of the mode (PM ≤ 25,
walkway shuttles ≤ 20, ring shuttles ≤ 40 km/h) and, for tagged service vehicles in the zone,
20 km/h.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString

from cityos.core.errors import BadRequestData
from cityos.twin.roads import Road
from cityos.twin.zone import SERVICE_LIMIT_KMH, CarRestrictedZone


@dataclass(frozen=True)
class Mode:
    """A travel mode profile.

    Attributes
    ----------
    vehicle
        Vehicle type a road must allow (``None``: pedestrians, every class but ``excluded``).
    top_speed_kmh
        The mode's own top speed [km/h].
    class_caps
        Further speed caps per road class [km/h].
    zone_rule
        Access rule in the car-restricted zone (see :data:`cityos.twin.zone.ZONE_RULES`).
    excluded
        Road classes the mode never uses.
    """

    vehicle: str | None
    top_speed_kmh: float
    class_caps: dict[str, float] = field(default_factory=dict)
    zone_rule: str = "free"
    excluded: tuple[str, ...] = ()


#: The modes, by name (walking speed 4.8 km/h; PM ≤ 25; shuttles ≤ 40 on the ring, ≤ 20 on
#: walkways; tagged service vehicles ≤ 20 in the zone).
MODES: dict[str, Mode] = {
    "walk": Mode(None, 4.8, excluded=("nationalRoad",)),
    "pm": Mode("pm", 25.0),
    "shuttle": Mode("shuttle", 40.0, {"ring": 40.0, "pedestrian": 20.0, "pm": 20.0}),
    "car": Mode("car", 80.0, zone_rule="banned"),
    "service": Mode("serviceVehicle", 60.0, zone_rule="gated"),
    "emergency": Mode("emergencyVehicle", 80.0),
    "sharedCar": Mode("sharedCar", 80.0, zone_rule="parkingTowerOnly"),
}


class NoRoute(BadRequestData):
    """No path exists for the mode between the two places."""


def mode_profile(name: str) -> Mode:
    """The profile of a mode; ValueError naming the known ones for an unknown name."""
    try:
        return MODES[name]
    except KeyError:
        raise ValueError(f"unknown mode {name!r}; known: {', '.join(MODES)}") from None


@dataclass(frozen=True)
class Route:
    """A shortest-time route: node sequence, length [m], time [s] and geometry (local [m])."""

    mode: str
    nodes: list[int]
    length_m: float
    time_s: float
    line: LineString


class Network:
    """The network graph (networkx MultiGraph) with per-mode costs.

    Parameters
    ----------
    roads
        Road segments in the local frame.
    zone
        The car-restricted zone (its polygon, gates and parking-tower site).
    """

    def __init__(self, roads: list[Road], zone: CarRestrictedZone) -> None:
        self.zone = zone
        self.graph = nx.MultiGraph()
        self._usable: dict[str, np.ndarray] = {}
        self.tower_edges: frozenset[tuple[int, int]] = frozenset()
        self._node_of: dict[tuple[float, float], int] = {}
        coords: list[tuple[float, float]] = []
        boundary = zone.polygon.exterior
        for road in roads:
            for piece, inside in _split(road.line, zone):
                a = self._node(piece.coords[0], coords)
                b = self._node(piece.coords[-1], coords)
                if a == b:
                    continue
                self.graph.add_edge(
                    a,
                    b,
                    road=road.key,
                    road_class=road.road_class,
                    vehicles=frozenset(road.vehicles),
                    limit=road.speed_kmh,
                    inside_ring=road.inside_ring,
                    in_zone=inside,
                    length=piece.length,
                    geometry=piece,
                )
        self.xy = np.array(coords)
        pts = shapely.points(self.xy)
        on_edge = shapely.distance(pts, boundary) < 0.05
        self.gate_nodes = {self.nearest_node(g) for g in zone.gates}
        self.boundary_nodes = {int(i) for i in np.flatnonzero(on_edge)}
        self.tower_node = self.nearest_node(zone.tower_site)
        self.tower_edges = self._tower_access()
        self._usable.clear()

    def _node(self, pt: tuple[float, ...], coords: list[tuple[float, float]]) -> int:
        key = (round(pt[0], 1), round(pt[1], 1))
        node = self._node_of.get(key)
        if node is None:
            node = self._node_of[key] = len(coords)
            coords.append((float(pt[0]), float(pt[1])))
            self.graph.add_node(node, x=float(pt[0]), y=float(pt[1]))
        return node

    # -- costs --------------------------------------------------------------------------------
    def speed_kmh(self, u: int, v: int, data: dict[str, Any], mode: str) -> float | None:
        """Speed of ``mode`` on one edge [km/h], or None if the mode may not use it."""
        profile = mode_profile(mode)
        cls = data["road_class"]
        if cls in profile.excluded:
            return None
        if profile.vehicle is not None and profile.vehicle not in data["vehicles"]:
            return None
        if data["in_zone"] and profile.vehicle is not None:
            rule = profile.zone_rule
            if rule == "banned":
                return None
            entry = {u, v} & self.boundary_nodes
            if rule == "gated" and entry and not entry <= self.gate_nodes:
                return None
            if rule == "parkingTowerOnly" and _edge_id(u, v) not in self.tower_edges:
                return None
        if profile.vehicle is None:
            return min(profile.top_speed_kmh, data["limit"])
        speed = min(profile.top_speed_kmh, data["limit"], profile.class_caps.get(cls, 1e9))
        if data["in_zone"] and profile.zone_rule in ("gated", "parkingTowerOnly"):
            speed = min(speed, SERVICE_LIMIT_KMH)
        return speed

    def _weight(self, mode: str, metric: str) -> Callable[[int, int, dict], float | None]:
        mode_profile(mode)

        def cost(u: int, v: int, edges: dict[Any, dict[str, Any]]) -> float | None:
            best = None
            for data in edges.values():
                speed = self.speed_kmh(u, v, data, mode)
                if speed is None:
                    continue
                value = data["length"] if metric == "length" else data["length"] / (speed / 3.6)
                best = value if best is None or value < best else best
            return best

        return cost

    def _tower_access(self) -> frozenset[tuple[int, int]]:
        """Edges from the nearest gate to the parking tower (what shared cars may use)."""
        if not self.gate_nodes:
            return frozenset()
        weight = self._weight("service", "time")
        best: list[int] | None = None
        best_time = float("inf")
        for gate in sorted(self.gate_nodes):
            try:
                time, path = nx.single_source_dijkstra(
                    self.graph, gate, self.tower_node, weight=weight
                )
            except nx.NetworkXNoPath:
                continue
            if time < best_time:
                best, best_time = path, time
        if best is None:
            return frozenset()
        return frozenset(_edge_id(a, b) for a, b in pairwise(best))

    # -- queries ------------------------------------------------------------------------------
    def usable_nodes(self, mode: str) -> np.ndarray:
        """Nodes with at least one edge the mode may use."""
        found = self._usable.get(mode)
        if found is None:
            nodes = set()
            for u, v, data in self.graph.edges(data=True):
                if self.speed_kmh(u, v, data, mode) is not None:
                    nodes.update((u, v))
            found = self._usable[mode] = np.array(sorted(nodes), dtype=int)
        return found

    def nearest_node(self, xy: Iterable[float], mode: str | None = None) -> int:
        """The node nearest to a local point (among those usable by ``mode`` if given)."""
        x, y = xy
        candidates = self.usable_nodes(mode) if mode else np.arange(len(self.xy))
        d = np.hypot(self.xy[candidates, 0] - x, self.xy[candidates, 1] - y)
        return int(candidates[int(np.argmin(d))])

    def route(self, origin: Iterable[float], destination: Iterable[float], mode: str) -> Route:
        """The shortest-time route for ``mode`` between two local points.

        The trip starts and ends at the usable nodes nearest to the points. Raises
        :class:`NoRoute` if the destination cannot be reached with this mode.
        """
        a = self.nearest_node(origin, mode)
        b = self.nearest_node(destination, mode)
        try:
            time, path = nx.single_source_dijkstra(
                self.graph, a, b, weight=self._weight(mode, "time")
            )
        except nx.NetworkXNoPath:
            raise NoRoute(f"no {mode} route from {tuple(origin)} to {tuple(destination)}") from None
        length = 0.0
        parts = []
        for u, v in pairwise(path):
            data = self._best_edge(u, v, mode)
            length += data["length"]
            coords = list(data["geometry"].coords)
            if np.hypot(coords[0][0] - self.xy[u, 0], coords[0][1] - self.xy[u, 1]) > 0.5:
                coords = coords[::-1]
            parts.extend(coords if not parts else coords[1:])
        line = LineString(parts) if len(parts) > 1 else LineString([self.xy[a], self.xy[a]])
        return Route(mode=mode, nodes=path, length_m=length, time_s=time, line=line)

    def _best_edge(self, u: int, v: int, mode: str) -> dict[str, Any]:
        options = []
        for data in self.graph.get_edge_data(u, v).values():
            speed = self.speed_kmh(u, v, data, mode)
            if speed is not None:
                options.append((data["length"] / speed, data["road"], data))
        return min(options, key=lambda o: (o[0], o[1]))[2]

    def distances(
        self, sources: Iterable[Iterable[float]], mode: str, metric: str = "length"
    ) -> dict[int, float]:
        """Network distance [m] (or time [s]) from the nearest of several local points."""
        nodes = {self.nearest_node(s, mode) for s in sources}
        return nx.multi_source_dijkstra_path_length(
            self.graph, nodes, weight=self._weight(mode, metric)
        )

    def walk_distance_to(
        self, targets: list[tuple[float, float]], places: np.ndarray
    ) -> np.ndarray:
        """Walking distance [m] from each place (n, 2) to the nearest target.

        Straight-line access from each place and target to its nearest walkable node, plus the
        network distance between those nodes.
        """
        usable = self.usable_nodes("walk")
        tree_xy = self.xy[usable]
        out = np.full(len(places), np.inf)
        for tx, ty in targets:
            target_node = self.nearest_node((tx, ty), "walk")
            access_t = float(np.hypot(*(self.xy[target_node] - (tx, ty))))
            dist = nx.single_source_dijkstra_path_length(
                self.graph, target_node, weight=self._weight("walk", "length")
            )
            for i, (px, py) in enumerate(places):
                d = np.hypot(tree_xy[:, 0] - px, tree_xy[:, 1] - py)
                j = int(np.argmin(d))
                total = d[j] + dist.get(int(usable[j]), np.inf) + access_t
                out[i] = min(out[i], total)
        return out


def _edge_id(u: int, v: int) -> tuple[int, int]:
    return (u, v) if u < v else (v, u)


def _split(line: LineString, zone: CarRestrictedZone) -> list[tuple[LineString, bool]]:
    """The parts of a line inside and outside the zone, each flagged."""
    poly = zone.polygon
    if not line.intersects(poly.exterior):
        return [(line, bool(poly.contains(line.interpolate(0.5, normalized=True))))]
    out = []
    for geom, inside in ((line.intersection(poly), True), (line.difference(poly), False)):
        for part in shapely.get_parts(
            shapely.line_merge(geom) if geom.geom_type.startswith("Multi") else geom
        ):
            if part.geom_type == "LineString" and part.length > 0.01:
                out.append((part, inside))
    return out
