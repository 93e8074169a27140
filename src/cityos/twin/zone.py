"""The car-restricted zone: a geofence with rules per vehicle class (``MISSION.md`` §2).

Privately owned cars may not enter the ring; emergency vehicles move freely; tagged service,
delivery and disabled drivers' vehicles enter through designated gates; shared cars may only drive
to the underground parking tower. The extent is a policy parameter: by default the inside of the
ring road, or the ring interior scaled to a fraction of the site (after a public hearing the zone
shrank to about 1/8 of 5-1), or any polygon given in WGS84.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import shapely
from shapely import affinity
from shapely.geometry import Point, Polygon

from cityos.twin.roads import CLASSES, Road
from cityos.twin.site import LocalFrame

#: Vehicle class -> access rule inside the zone.
ZONE_RULES: dict[str, str] = {
    "car": "banned",
    "motorcycle": "banned",
    "lorry": "banned",
    "emergencyVehicle": "free",
    "bus": "free",
    "shuttle": "free",
    "pm": "free",
    "bicycle": "free",
    "serviceVehicle": "gated",
    "deliveryVehicle": "gated",
    "disabledDriverVehicle": "gated",
    "van": "gated",
    "sharedCar": "parkingTowerOnly",
}
#: Values a rule may take.
RULE_VALUES = ("banned", "free", "gated", "parkingTowerOnly")
#: Half the ring road width: the zone starts at the inner kerb of the ring [m].
RING_HALF_WIDTH_M = CLASSES["ring"].width_m / 2
#: Speed limit of tagged service vehicles inside the zone [km/h].
SERVICE_LIMIT_KMH = 20.0


@dataclass(frozen=True)
class CarRestrictedZone:
    """The zone polygon (local [m]), its rules, gates and the shared-car parking tower site."""

    polygon: Polygon
    rules: dict[str, str] = field(default_factory=lambda: dict(ZONE_RULES))
    gates: tuple[tuple[float, float], ...] = ()
    tower_site: tuple[float, float] = (0.0, 0.0)

    def rule(self, vehicle_type: str) -> str:
        """The rule for a vehicle class; unknown classes are ``banned`` (default deny)."""
        return self.rules.get(vehicle_type, "banned")

    def contains(self, x: float, y: float) -> bool:
        """Whether a local point lies inside the zone."""
        return bool(self.polygon.contains(Point(x, y)))


def zone_polygon(frame: LocalFrame) -> Polygon:
    """The zone extent chosen by the site parameters (see module docstring) [m]."""
    site = frame.site
    if site.zone_polygon is not None:
        return frame.polygon_from_wgs84(site.zone_polygon)
    inner = frame.ring_polygon.buffer(-RING_HALF_WIDTH_M)
    if site.zone_area_fraction is None:
        return inner
    target = site.zone_area_fraction * frame.site_polygon.area
    factor = math.sqrt(target / inner.area)
    return affinity.scale(inner, factor, factor, origin=frame.ring_centre)


def find_gates(polygon: Polygon, roads: list[Road]) -> tuple[tuple[float, float], ...]:
    """Designated gates: where interior roads cross the zone edge, one per compass side.

    For each of north, east, south and west the crossing farthest out on that side is chosen;
    if no interior road crosses the edge, crossings of any vehicle road are used.
    """
    edge = polygon.exterior
    crossings: list[tuple[float, float]] = []
    for classes in (("interior",), ("interior", "pedestrian", "ring", "arterial", "brt")):
        for road in roads:
            if road.road_class not in classes:
                continue
            hit = road.line.intersection(edge)
            for pt in shapely.get_parts(hit):
                if pt.geom_type == "Point":
                    crossings.append((round(pt.x, 2), round(pt.y, 2)))
        if crossings:
            break
    if not crossings:
        return ()
    cx, cy = polygon.centroid.x, polygon.centroid.y
    gates: list[tuple[float, float]] = []
    for dx, dy in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        pick = min(
            sorted(set(crossings)),
            key=lambda p: (-round((p[0] - cx) * dx + (p[1] - cy) * dy), p[0], p[1]),
        )
        if pick not in gates:
            gates.append(pick)
    return tuple(gates)


def tower_site(polygon: Polygon, gates: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """Site of the shared-car parking tower: 70 m inside the southern gate (or the centroid)."""
    centre = polygon.centroid
    if not gates:
        return (round(centre.x, 2), round(centre.y, 2))
    gx, gy = min(gates, key=lambda g: (g[1], g[0]))
    dx, dy = centre.x - gx, centre.y - gy
    norm = math.hypot(dx, dy) or 1.0
    step = min(70.0, norm / 2)
    return (round(gx + dx / norm * step, 2), round(gy + dy / norm * step, 2))


def build_zone(frame: LocalFrame, roads: list[Road]) -> CarRestrictedZone:
    """The car-restricted zone for the site parameters and the road layout."""
    polygon = zone_polygon(frame)
    gates = find_gates(polygon, roads)
    return CarRestrictedZone(polygon=polygon, gates=gates, tower_site=tower_site(polygon, gates))
