"""A GTFS feed of the twin's scheduled transit: the BRT spine and the ring shuttle.

Files (GTFS Schedule reference): ``agency.txt``, ``stops.txt``, ``routes.txt``, ``trips.txt``,
``stop_times.txt``, ``calendar.txt`` and ``shapes.txt``. The BRT serves its two 5-1 stops every
10 minutes each way (05:30-23:30); the autonomous shuttle runs clockwise round the ring through
its four island stops every 5 minutes (06:00-24:00). Running times come from the route lengths at
the ring-interior limit of 30 km/h (BRT) and 25 km/h (shuttle, pooling included), plus dwell.
The on-demand inside-ring service is not scheduled and so not in the feed. ``shape_dist_traveled``
is in kilometres.
"""

from __future__ import annotations

import csv
import math
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from shapely.geometry import LineString, Point

if TYPE_CHECKING:
    from cityos.twin.generator import City

AGENCY_ID = "CityOS-Sejong51"
TIMEZONE = "Asia/Seoul"
SERVICE_ID = "DAILY"
BRT_HEADWAY_S, SHUTTLE_HEADWAY_S = 600, 300
BRT_SPEED_KMH, SHUTTLE_SPEED_KMH = 30.0, 25.0
DWELL_S = 30


def _hms(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_gtfs(city: City, out_dir: Path) -> list[Path]:
    """Write the GTFS feed of ``city`` into ``out_dir``; returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = city.frame
    stops = [a for a in city.amenities if a.kind == "TransitStop"]
    lonlat = frame.to_wgs84(np.array([[s.x, s.y] for s in stops]))
    paths = [
        _write(
            out_dir / "agency.txt",
            ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"],
            [[AGENCY_ID, "Sejong 5-1 mobility (SPC)", "https://cityos.dev", TIMEZONE, "ko"]],
        ),
        _write(
            out_dir / "stops.txt",
            ["stop_id", "stop_name", "stop_lat", "stop_lon", "location_type"],
            [
                [s.key, s.name, round(float(lat), 7), round(float(lon), 7), 0]
                for s, (lon, lat) in zip(stops, lonlat, strict=True)
            ],
        ),
        _write(
            out_dir / "routes.txt",
            [
                "route_id",
                "agency_id",
                "route_short_name",
                "route_long_name",
                "route_type",
                "route_color",
            ],
            [
                ["BRT51", AGENCY_ID, "BRT", "BRT spine: 5-1 West - 5-1 Central", 3, "7B2D8E"],
                ["RING", AGENCY_ID, "Ring", "Autonomous ring shuttle (island stops)", 3, "1F8A70"],
            ],
        ),
        _write(
            out_dir / "calendar.txt",
            [
                "service_id",
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
                "start_date",
                "end_date",
            ],
            [
                [
                    SERVICE_ID,
                    1,
                    1,
                    1,
                    1,
                    1,
                    1,
                    1,
                    f"{city.params.start_year}0101",
                    f"{city.params.end_year + 1}1231",
                ]
            ],
        ),
    ]
    brt = [s for s in stops if s.category == "brt"]
    brt.sort(key=lambda s: s.x)
    shuttle = {s.key: s for s in stops if s.category == "shuttle"}
    ring = LineString(city.frame.ring_polygon.exterior.coords)
    loop = [
        shuttle[k] for k in ("Shuttle-N", "Shuttle-E", "Shuttle-S", "Shuttle-W") if k in shuttle
    ]
    trips, times, shapes = [], [], []
    brt_line = LineString([(s.x, s.y) for s in brt])
    run = brt_line.length / (BRT_SPEED_KMH / 3.6)
    for direction, order in ((0, brt), (1, brt[::-1])):
        shape_id = f"BRT51-{direction}"
        shapes += _shape_rows(city, shape_id, LineString([(s.x, s.y) for s in order]))
        for n, start in enumerate(range(5 * 3600 + 1800, 23 * 3600 + 1800 + 1, BRT_HEADWAY_S)):
            trip = f"BRT51-{direction}-{n:03d}"
            trips.append(["BRT51", SERVICE_ID, trip, order[-1].name, direction, shape_id])
            t = float(start)
            for seq, stop in enumerate(order, start=1):
                depart = t + (DWELL_S if seq < len(order) else 0)
                dist = round((seq - 1) * brt_line.length / 1000, 3)
                times.append([trip, _hms(t), _hms(depart), stop.key, seq, dist])
                t += run + DWELL_S
    if loop:
        seq_stops = [*loop, loop[0]]
        offsets = [0.0]
        length = ring.length
        for a, b in pairwise(seq_stops):
            da, db = ring.project(Point(a.x, a.y)), ring.project(Point(b.x, b.y))
            offsets.append(offsets[-1] + (da - db) % length)  # clockwise = decreasing
        shapes += _shape_rows(city, "RING-0", _clockwise(ring, loop[0]))
        for n, start in enumerate(range(6 * 3600, 24 * 3600, SHUTTLE_HEADWAY_S)):
            trip = f"RING-{n:03d}"
            trips.append(["RING", SERVICE_ID, trip, "Ring (clockwise)", 0, "RING-0"])
            for seq, (stop, dist) in enumerate(zip(seq_stops, offsets, strict=True), start=1):
                t = start + dist / (SHUTTLE_SPEED_KMH / 3.6) + (seq - 1) * DWELL_S
                times.append([trip, _hms(t), _hms(t), stop.key, seq, round(dist / 1000, 3)])
    paths.append(
        _write(
            out_dir / "trips.txt",
            ["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "shape_id"],
            trips,
        )
    )
    paths.append(
        _write(
            out_dir / "stop_times.txt",
            [
                "trip_id",
                "arrival_time",
                "departure_time",
                "stop_id",
                "stop_sequence",
                "shape_dist_traveled",
            ],
            times,
        )
    )
    paths.append(
        _write(
            out_dir / "shapes.txt",
            [
                "shape_id",
                "shape_pt_lat",
                "shape_pt_lon",
                "shape_pt_sequence",
                "shape_dist_traveled",
            ],
            shapes,
        )
    )
    return paths


def _clockwise(ring: LineString, start: object) -> LineString:
    """The ring as a clockwise loop beginning at the point nearest ``start``."""
    s = ring.project(Point(start.x, start.y))  # type: ignore[attr-defined]
    length = ring.length
    steps = max(math.ceil(length / 20.0), 4)
    return LineString(
        [ring.interpolate((s - i * length / steps) % length) for i in range(steps + 1)]
    )


def _shape_rows(city: City, shape_id: str, line: LineString) -> list[list[object]]:
    xy = np.asarray(line.coords)
    dist = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]) / 1000
    lonlat = city.frame.to_wgs84(xy)
    return [
        [shape_id, round(float(lat), 7), round(float(lon), 7), i, round(float(d), 3)]
        for i, ((lon, lat), d) in enumerate(zip(lonlat, dist, strict=True), start=1)
    ]
