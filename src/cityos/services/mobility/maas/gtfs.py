"""A GTFS Schedule feed read into route patterns for RAPTOR (any feed, not tied to a city).

Reads ``stops.txt``, ``routes.txt``, ``trips.txt`` and ``stop_times.txt`` (GTFS Schedule
reference); every trip is assumed to run on the travel day (calendars are not filtered).
Trips with the same stop sequence form a *pattern* (a RAPTOR route), their trips sorted by
departure. Times are seconds after midnight and may pass 24:00:00 as GTFS allows.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from cityos.core.errors import BadRequestData

#: Earth radius for haversine distances [m].
EARTH_RADIUS_M = 6_371_008.8


class GtfsError(BadRequestData):
    """A GTFS feed is missing a file or a column, or holds an invalid value."""


@dataclass(frozen=True)
class Stop:
    """A stop: id, name and WGS84 position [degrees]."""

    id: str
    name: str
    lat: float
    lon: float


@dataclass
class Pattern:
    """Trips sharing one stop sequence: ``arrivals[t][k]`` / ``departures[t][k]`` [s]."""

    id: str
    route_id: str
    route_name: str
    stops: list[str]
    trip_ids: list[str] = field(default_factory=list)
    arrivals: list[list[int]] = field(default_factory=list)
    departures: list[list[int]] = field(default_factory=list)


@dataclass
class Feed:
    """Stops and patterns of a feed, with each stop's patterns (pattern index, position)."""

    stops: dict[str, Stop]
    patterns: list[Pattern]
    stop_patterns: dict[str, list[tuple[int, int]]]


def parse_time(text: str) -> int:
    """``HH:MM:SS`` (hours may exceed 23) to seconds; GtfsError if malformed."""
    parts = text.strip().split(":")
    try:
        h, m, s = (int(p) for p in parts)
    except ValueError:
        raise GtfsError(f"invalid GTFS time {text!r}; expected HH:MM:SS") from None
    if len(parts) != 3 or not (0 <= m < 60 and 0 <= s < 60 and h >= 0):
        raise GtfsError(f"invalid GTFS time {text!r}; expected HH:MM:SS")
    return h * 3600 + m * 60 + s


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance [m] (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(a, 1.0)))


def _rows(folder: Path, name: str, needed: tuple[str, ...]) -> list[dict[str, str]]:
    path = folder / name
    if not path.is_file():
        raise GtfsError(f"GTFS feed {folder} has no {name}")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise GtfsError(f"{name} lacks the column(s) {', '.join(missing)}")
        return list(reader)


def read_feed(folder: str | Path) -> Feed:
    """Read a GTFS feed folder into a :class:`Feed`; GtfsError naming the first problem."""
    folder = Path(folder)
    stops: dict[str, Stop] = {}
    for row in _rows(folder, "stops.txt", ("stop_id", "stop_lat", "stop_lon")):
        try:
            lat, lon = float(row["stop_lat"]), float(row["stop_lon"])
        except ValueError:
            raise GtfsError(f"stop {row['stop_id']!r} has a non-numeric position") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise GtfsError(f"stop {row['stop_id']!r} lies outside WGS84 bounds")
        stops[row["stop_id"]] = Stop(row["stop_id"], row.get("stop_name", ""), lat, lon)
    routes = {
        r["route_id"]: r.get("route_short_name") or r.get("route_long_name") or r["route_id"]
        for r in _rows(folder, "routes.txt", ("route_id",))
    }
    trip_route = {
        t["trip_id"]: t["route_id"] for t in _rows(folder, "trips.txt", ("trip_id", "route_id"))
    }
    times: dict[str, list[tuple[int, str, int, int]]] = defaultdict(list)
    for row in _rows(
        folder,
        "stop_times.txt",
        ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    ):
        if row["stop_id"] not in stops:
            raise GtfsError(f"stop_times.txt names unknown stop {row['stop_id']!r}")
        if row["trip_id"] not in trip_route:
            raise GtfsError(f"stop_times.txt names unknown trip {row['trip_id']!r}")
        arr = parse_time(row["arrival_time"] or row["departure_time"])
        dep = parse_time(row["departure_time"] or row["arrival_time"])
        times[row["trip_id"]].append((int(row["stop_sequence"]), row["stop_id"], arr, dep))
    by_key: dict[tuple[str, tuple[str, ...]], Pattern] = {}
    for trip_id, rows in sorted(times.items()):
        rows.sort()
        seq = tuple(r[1] for r in rows)
        route = trip_route[trip_id]
        if route not in routes:
            raise GtfsError(f"trip {trip_id!r} names unknown route {route!r}")
        key = (route, seq)
        pattern = by_key.get(key)
        if pattern is None:
            pattern = by_key[key] = Pattern(
                f"{route}#{len(by_key)}", route, routes[route], list(seq)
            )
        pattern.trip_ids.append(trip_id)
        pattern.arrivals.append([r[2] for r in rows])
        pattern.departures.append([r[3] for r in rows])
    patterns = list(by_key.values())
    for p in patterns:
        order = sorted(range(len(p.trip_ids)), key=lambda t: p.departures[t][0])
        p.trip_ids = [p.trip_ids[t] for t in order]
        p.arrivals = [p.arrivals[t] for t in order]
        p.departures = [p.departures[t] for t in order]
    stop_patterns: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i, p in enumerate(patterns):
        for k, s in enumerate(p.stops):
            stop_patterns[s].append((i, k))
    return Feed(stops, patterns, dict(stop_patterns))
