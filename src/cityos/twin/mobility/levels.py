"""Level of service: node-to-node travel time and distance matrices per mode, under a policy.

The twin's network is small (a few hundred nodes), so every mode gets a full all-pairs matrix
once per scenario. A mode's speed on an edge follows :meth:`cityos.twin.network.Network.speed_kmh`
except that the car's zone rule is a policy input: with the car-restricted zone switched off
(the car-oriented baseline) private cars drive wherever the road class allows them.
Places (buildings, stops) snap to the nearest node the mode may use, with a straight-line
access walk.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import networkx as nx
import numpy as np

from cityos.twin.network import MODES, Mode, Network

#: Walking speed for access legs [m/s] (4.8 km/h, the twin's walk profile).
WALK_MS = 4.8 / 3.6
#: Modes that get a matrix.
SKIM_MODES = ("walk", "pm", "shuttle", "car", "sharedCar", "service")


@dataclass(frozen=True)
class Skim:
    """All-pairs shortest-time matrix of one mode: time [s] and distance [m], ``inf`` if none."""

    mode: str
    time_s: np.ndarray
    distance_m: np.ndarray
    usable: np.ndarray  # node ids the mode may use

    def nearest(self, xy: np.ndarray, network: Network) -> tuple[np.ndarray, np.ndarray]:
        """Nearest usable node of each point (n, 2) and the straight-line distance to it [m]."""
        cand = network.xy[self.usable]
        d = np.hypot(xy[:, None, 0] - cand[None, :, 0], xy[:, None, 1] - cand[None, :, 1])
        j = np.argmin(d, axis=1)
        return self.usable[j], d[np.arange(len(xy)), j]


def _profile(mode: str, car_restricted: bool) -> Mode:
    profile = MODES[mode]
    if mode == "car" and not car_restricted:
        profile = replace(profile, zone_rule="free")
    return profile


def _speed(network: Network, u: int, v: int, data: dict, profile: Mode, mode: str) -> float | None:
    if profile is MODES[mode]:
        return network.speed_kmh(u, v, data, mode)
    # a policy variant of a twin mode (only the zone rule differs): ignore the zone
    cls = data["road_class"]
    if cls in profile.excluded or (profile.vehicle and profile.vehicle not in data["vehicles"]):
        return None
    return min(profile.top_speed_kmh, data["limit"], profile.class_caps.get(cls, 1e9))


def skim(network: Network, mode: str, *, car_restricted: bool = True) -> Skim:
    """The all-pairs matrix of ``mode`` over ``network``."""
    profile = _profile(mode, car_restricted)
    n = len(network.xy)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for u, v, data in network.graph.edges(data=True):
        speed = _speed(network, u, v, data, profile, mode)
        if speed is None:
            continue
        t = data["length"] / (speed / 3.6)
        for a, b in ((u, v), (v, u)):
            old = graph.get_edge_data(a, b)
            if old is None or t < old["t"]:
                graph.add_edge(a, b, t=t, d=data["length"])
    time_s = np.full((n, n), np.inf)
    dist_m = np.full((n, n), np.inf)
    for src, (times, paths) in nx.all_pairs_dijkstra(graph, weight="t"):
        for dst, t in times.items():
            time_s[src, dst] = t
            path = paths[dst]
            dist_m[src, dst] = sum(graph[a][b]["d"] for a, b in itertools.pairwise(path))
    usable = np.array(sorted({x for e in graph.edges for x in e}), dtype=int)
    return Skim(mode, time_s, dist_m, usable)


def skims(network: Network, *, car_restricted: bool = True) -> dict[str, Skim]:
    """Matrices of every mode in :data:`SKIM_MODES`."""
    return {m: skim(network, m, car_restricted=car_restricted) for m in SKIM_MODES}
