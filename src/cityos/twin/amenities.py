"""Point amenities: transit stops, car parks, PM stations, EV chargers, CCTV and air quality.

* 2 BRT stops on the existing spine (one at the central axis, one west of the ring);
* 4 autonomous-shuttle stops: shared island stops on the ring, at the four axes;
* 5 public car parks at the ring (shared transfer parking hubs) and the shared-car tower;
* PM stations at stops, schools, community centres and PM-way crossings inside the ring;
* EV chargers at every car park and in every residential block;
* CCTV poles at road crossings and school gates; air-quality stations in each development zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from cityos.twin.blocks import Block, DevelopmentZone
from cityos.twin.buildings import Building
from cityos.twin.roads import Road
from cityos.twin.site import LocalFrame


@dataclass(frozen=True)
class Amenity:
    """A point amenity (local [m]).

    ``kind`` is the entity type it becomes (``TransitStop``, ``OffStreetParking``,
    ``PointOfInterest`` or ``Device``); ``category`` its category; ``attrs`` extra attributes.
    """

    key: str
    kind: str
    category: str
    name: str
    x: float
    y: float
    attrs: dict[str, object] = field(default_factory=dict)


def _ring_point(frame: LocalFrame, angle_deg: float, offset_m: float = 0.0) -> tuple[float, float]:
    """Where a ray from the ring centre at ``angle_deg`` meets the ring, pushed out ``offset_m``."""
    rx, ry = frame.ring_centre
    a = math.radians(angle_deg)
    far = LineString([(rx, ry), (rx + 5000 * math.cos(a), ry + 5000 * math.sin(a))])
    hit = far.intersection(frame.ring_polygon.exterior)
    pt = min(shapely.get_parts(hit), key=lambda p: Point(rx, ry).distance(p))
    return (pt.x + offset_m * math.cos(a), pt.y + offset_m * math.sin(a))


def transit_stops(frame: LocalFrame) -> list[Amenity]:
    """2 BRT stops and 4 shuttle island stops on the ring."""
    rx, ry = frame.ring_centre
    a, _ = frame.site.ring_semi_axes_m
    stops = [
        Amenity("BRT-Central", "TransitStop", "brt", "5-1 Central (BRT)", rx, ry),
        Amenity("BRT-West", "TransitStop", "brt", "5-1 West (BRT)", rx - a - 280.0, ry),
    ]
    for key, name, angle in (
        ("N", "north", 90),
        ("E", "east", 0),
        ("S", "south", 270),
        ("W", "west", 180),
    ):
        x, y = _ring_point(frame, angle)
        stops.append(
            Amenity(f"Shuttle-{key}", "TransitStop", "shuttle", f"Ring {name} island stop", x, y)
        )
    return stops


def car_parks(frame: LocalFrame, tower: Building, rng: np.random.Generator) -> list[Amenity]:
    """5 public car parks just outside the ring and the shared-car parking tower."""
    out = []
    for i, angle in enumerate((45, 135, 225, 315, 165), start=1):
        x, y = _ring_point(frame, angle, 55.0)
        total = int(rng.integers(30, 50)) * 10
        out.append(
            Amenity(
                f"CarPark-{i}",
                "OffStreetParking",
                "publicCarPark",
                f"Ring transfer car park {i}",
                x,
                y,
                {
                    "totalSpotNumber": total,
                    "availableSpotNumber": int(total * rng.uniform(0.2, 0.7)),
                },
            )
        )
    c = tower.polygon.centroid
    total = 600
    out.append(
        Amenity(
            "SharedCarTower",
            "OffStreetParking",
            "sharedCarTower",
            "Shared-car parking tower (underground)",
            c.x,
            c.y,
            {
                "totalSpotNumber": total,
                "availableSpotNumber": int(total * rng.uniform(0.3, 0.6)),
                "refBuilding": tower.key,
            },
        )
    )
    return out


def points_of_interest(
    frame: LocalFrame,
    roads: list[Road],
    blocks: list[Block],
    buildings: list[Building],
    stops: list[Amenity],
    parks: list[Amenity],
) -> list[Amenity]:
    """PM stations, EV chargers and CCTV poles."""
    out: list[Amenity] = []
    pm_sites: list[tuple[str, float, float]] = [(s.name, s.x, s.y) for s in stops]
    for b in buildings:
        if b.facility in ("school", "communityCentre", "dataAICenter", "healthCentre"):
            c = b.polygon.centroid
            pm_sites.append((b.name, c.x, c.y))
    ways = [r.line for r in roads if r.road_class in ("pm", "pedestrian") and r.inside_ring]
    crossings = shapely.union_all(
        [a.intersection(b) for i, a in enumerate(ways) for b in ways[i + 1 :]]
    )
    points = [p for p in shapely.get_parts(crossings) if p.geom_type == "Point"]
    for pt in sorted(points, key=lambda p: (round(p.y), round(p.x))):
        pm_sites.append(("PM-way crossing", pt.x, pt.y))
    for i, (near, x, y) in enumerate(_dedupe(pm_sites, 40.0), start=1):
        out.append(
            Amenity(
                f"PM-{i:03d}",
                "PointOfInterest",
                "pmStation",
                f"PM station {i} ({near})",
                x + 6,
                y + 6,
                {"capacity": 12},
            )
        )

    ev_sites = [(p.name, p.x, p.y) for p in parks]
    for block in blocks:
        if block.kind in ("residential", "detached", "mixed", "employment"):
            c = block.polygon.representative_point()
            ev_sites.append((f"block {block.key}", c.x, c.y))
    for i, (near, x, y) in enumerate(ev_sites, start=1):
        out.append(
            Amenity(
                f"EV-{i:03d}",
                "PointOfInterest",
                "evCharger",
                f"EV chargers {i} ({near})",
                x,
                y,
                {"capacity": 8 if i <= len(parks) else 4},
            )
        )

    nodes = _crossings(roads, frame)
    for b in buildings:
        if b.facility == "school":
            c = b.polygon.centroid
            nodes.append((c.x, c.y - 20.0))
    for i, (_, x, y) in enumerate(_dedupe([("", x, y) for x, y in nodes], 60.0), start=1):
        out.append(
            Amenity(
                f"CCTV-{i:03d}",
                "PointOfInterest",
                "cctv",
                f"CCTV pole {i}",
                x + 3,
                y + 3,
                {"refDevice": f"CCTV-{i:03d}"},
            )
        )
    return out


def devices(frame: LocalFrame, zones: list[DevelopmentZone], pois: list[Amenity]) -> list[Amenity]:
    """A CCTV camera on every CCTV pole and an air-quality station in each zone and the centre."""
    out = [
        Amenity(
            p.key,
            "Device",
            "cctv",
            f"CCTV camera on {p.name}",
            p.x,
            p.y,
            {"controlledProperty": ["image", "motion"]},
        )
        for p in pois
        if p.category == "cctv"
    ]
    rx, ry = frame.ring_centre
    sites = [("Centre", rx + 40.0, ry + 30.0)]
    for zone in zones:
        c = zone.polygon.representative_point()
        sites.append((zone.key, c.x, c.y))
    for key, x, y in sites:
        out.append(
            Amenity(
                f"AirQuality-{key}",
                "Device",
                "airQualityStation",
                f"Air-quality station {key}",
                x,
                y,
                {"controlledProperty": ["airPollution", "temperature", "humidity", "noiseLevel"]},
            )
        )
    return out


def _crossings(roads: list[Road], frame: LocalFrame) -> list[tuple[float, float]]:
    """Crossings of vehicle roads inside the site (ends shared by three or more segments)."""
    count: dict[tuple[float, float], int] = {}
    for r in roads:
        if r.road_class in ("footpath", "pm", "nationalRoad"):
            continue
        for pt in (r.line.coords[0], r.line.coords[-1]):
            k = (round(pt[0], 1), round(pt[1], 1))
            count[k] = count.get(k, 0) + 1
    site = frame.site_polygon
    return sorted(
        (k for k, n in count.items() if n >= 3 and site.contains(Point(k))),
        key=lambda p: (p[1], p[0]),
    )


def _dedupe(
    sites: list[tuple[str, float, float]], spacing: float
) -> list[tuple[str, float, float]]:
    """Drop sites closer than ``spacing`` [m] to an earlier one."""
    kept: list[tuple[str, float, float]] = []
    for s in sites:
        if all(math.hypot(s[1] - k[1], s[2] - k[2]) >= spacing for k in kept):
            kept.append(s)
    return kept
