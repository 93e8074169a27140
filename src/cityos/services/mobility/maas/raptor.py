"""RAPTOR: round-based public transit routing (Delling, Pajor, Werneck 2012/2015).

Given the earliest arrival at a set of source stops (after the access legs), round k finds the
earliest arrival at every stop with at most k transit trips: each round scans every pattern
serving a stop improved in the previous round, boarding the earliest catchable trip and
riding it on, then relaxes footpaths between nearby stops. Labels keep their parents, so each
(round, stop) gives a journey; :func:`raptor` returns them for a set of target stops.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from cityos.services.mobility.maas.gtfs import Feed, distance_m

INF = float("inf")


@dataclass(frozen=True)
class TransitLeg:
    """A leg of a transit journey: ``kind`` ``"ride"`` (pattern, trip) or ``"walk"`` [s, m]."""

    kind: str
    from_stop: str
    to_stop: str
    depart_s: float
    arrive_s: float
    route_name: str = ""
    trip_id: str = ""
    distance_m: float = 0.0


@dataclass(frozen=True)
class TransitJourney:
    """Legs from a source stop to a target stop, with the number of rides."""

    source: str
    target: str
    legs: list[TransitLeg]
    rides: int

    @property
    def arrive_s(self) -> float:
        return self.legs[-1].arrive_s if self.legs else INF


def footpaths(
    feed: Feed, max_m: float = 400.0, speed_ms: float = 1.2, detour: float = 1.3
) -> dict[str, list[tuple[str, float, float]]]:
    """Walking transfers between stops within ``max_m`` straight line: (stop, time [s], m)."""
    stops = list(feed.stops.values())
    out: dict[str, list[tuple[str, float, float]]] = {s.id: [] for s in stops}
    for i, a in enumerate(stops):
        for b in stops[i + 1 :]:
            d = distance_m(a.lat, a.lon, b.lat, b.lon)
            if d <= max_m:
                walk = d * detour
                out[a.id].append((b.id, walk / speed_ms, walk))
                out[b.id].append((a.id, walk / speed_ms, walk))
    return out


def raptor(
    feed: Feed,
    sources: dict[str, float],
    targets: set[str],
    *,
    transfers: dict[str, list[tuple[str, float, float]]] | None = None,
    max_rides: int = 4,
    min_transfer_s: float = 60.0,
) -> list[TransitJourney]:
    """Pareto journeys (arrival, rides) to each target stop; ``sources`` maps stop -> time [s]."""
    transfers = transfers if transfers is not None else footpaths(feed)
    best: dict[str, float] = dict.fromkeys(feed.stops, INF)
    rounds: list[dict[str, float]] = [dict.fromkeys(feed.stops, INF)]
    parents: list[dict[str, tuple]] = [{}]
    for s, t in sources.items():
        rounds[0][s] = t
        best[s] = t
        parents[0][s] = ("source",)
    marked = set(sources)
    for k in range(1, max_rides + 1):
        arr = dict(rounds[k - 1])
        par: dict[str, tuple] = {}
        rounds.append(arr)
        parents.append(par)
        queue: dict[int, int] = {}
        for s in marked:
            for p, pos in feed.stop_patterns.get(s, ()):
                if p not in queue or pos < queue[p]:
                    queue[p] = pos
        newly: set[str] = set()
        for p, start in queue.items():
            pat = feed.patterns[p]
            trip = -1
            board_stop = ""
            board_pos = -1
            for pos in range(start, len(pat.stops)):
                stop = pat.stops[pos]
                if trip >= 0:
                    t_arr = pat.arrivals[trip][pos]
                    if t_arr < best[stop]:
                        arr[stop] = t_arr
                        best[stop] = t_arr
                        par[stop] = ("ride", p, trip, board_stop, board_pos, pos)
                        newly.add(stop)
                prev = rounds[k - 1][stop]
                came_by_ride = parents[k - 1].get(stop, ("",))[0] == "ride"
                ready = prev + (min_transfer_s if came_by_ride else 0.0)
                if prev < INF and (trip < 0 or ready <= pat.departures[trip][pos]):
                    deps = [pat.departures[t][pos] for t in range(len(pat.trip_ids))]
                    j = bisect_left(deps, ready)
                    if j < len(deps) and (trip < 0 or j < trip):
                        trip, board_stop, board_pos = j, stop, pos
        for s in list(newly):
            for other, walk_s, walk_m in transfers.get(s, ()):
                t = arr[s] + walk_s
                if t < best[other]:
                    arr[other] = t
                    best[other] = t
                    par[other] = ("walk", s, walk_s, walk_m)
                    newly.add(other)
        marked = newly
        if not marked:
            break
    journeys = []
    for target in targets:
        seen = INF
        for k in range(len(rounds)):
            t = rounds[k].get(target, INF)
            if t < seen and target in parents[k]:
                seen = t
                legs = _legs(feed, rounds, parents, k, target)
                if legs is not None:
                    source = legs[0].from_stop if legs else target
                    rides = sum(1 for leg in legs if leg.kind == "ride")
                    journeys.append(TransitJourney(source, target, legs, rides))
    return journeys


def _legs(feed: Feed, rounds, parents, k: int, stop: str) -> list[TransitLeg] | None:  # type: ignore[no-untyped-def]
    legs: list[TransitLeg] = []
    while True:
        # find the round where this stop's label was set
        while k > 0 and stop not in parents[k]:
            k -= 1
        parent = parents[k].get(stop)
        if parent is None:
            return None
        if parent[0] == "source":
            legs.reverse()
            return legs
        if parent[0] == "walk":
            _, prev, walk_s, walk_m = parent
            arrive = rounds[k][stop]
            legs.append(TransitLeg("walk", prev, stop, arrive - walk_s, arrive, distance_m=walk_m))
            stop = prev
            continue
        _, p, trip, board_stop, board_pos, pos = parent
        pat = feed.patterns[p]
        legs.append(
            TransitLeg(
                "ride",
                board_stop,
                stop,
                pat.departures[trip][board_pos],
                pat.arrivals[trip][pos],
                route_name=pat.route_name,
                trip_id=pat.trip_ids[trip],
            )
        )
        stop = board_stop
        k -= 1
