"""The road and path network of the plan, ranked by speed (``MISSION.md`` §2).

From fastest to slowest: national road 96 west of the site and the outer arterial around it; the
existing BRT spine crossing the site; the ring road (32 m, 4 lanes, the autonomous-shuttle lane on
the inner side, shared island stops); interior roads (25 m); the main pedestrian axis with a 7 m
PM lane and secondary PM ways (4 m); footpaths (riverside and hill trails, mid-block paths).

Inside the ring every road is limited to 30 km/h. Lines are laid out on the block grid of
:mod:`cityos.twin.site`, noded at every crossing and merged into segments between crossings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from cityos.twin.nature import NaturalArea
from cityos.twin.site import LocalFrame

#: Road classes, fastest first.
ROAD_CLASSES = (
    "nationalRoad",
    "arterial",
    "brt",
    "ring",
    "interior",
    "pedestrian",
    "pm",
    "footpath",
)


@dataclass(frozen=True)
class RoadClass:
    """Design values of a road class: width [m], lanes, speed limit [km/h], vehicle types."""

    width_m: float
    lanes: int
    speed_kmh: float
    vehicles: tuple[str, ...]


_MOTOR = ("car", "sharedCar", "van", "serviceVehicle", "deliveryVehicle", "emergencyVehicle")
#: Design values per class (5-1 plan: ring 32 m / 4 lanes, interior 25 m, PM lane 7 m, 4 m).
CLASSES: dict[str, RoadClass] = {
    "nationalRoad": RoadClass(30.0, 4, 80.0, (*_MOTOR, "bus", "lorry", "motorcycle")),
    "arterial": RoadClass(35.0, 6, 60.0, (*_MOTOR, "bus", "lorry", "motorcycle", "shuttle")),
    "brt": RoadClass(40.0, 2, 60.0, ("bus", "emergencyVehicle")),
    "ring": RoadClass(
        32.0, 4, 50.0, (*_MOTOR, "bus", "lorry", "motorcycle", "shuttle", "pm", "bicycle")
    ),
    "interior": RoadClass(25.0, 2, 30.0, (*_MOTOR, "motorcycle", "shuttle", "pm", "bicycle")),
    "pedestrian": RoadClass(
        20.0, 1, 20.0, ("shuttle", "pm", "bicycle", "serviceVehicle", "emergencyVehicle")
    ),
    "pm": RoadClass(4.0, 1, 25.0, ("pm", "bicycle")),
    "footpath": RoadClass(3.0, 0, 10.0, ()),
}
#: Speed limit of every road inside the ring [km/h].
RING_INTERIOR_LIMIT_KMH = 30.0
#: Vehicle types banned from the car-restricted zone (privately owned motor vehicles).
PRIVATE_VEHICLES = ("car", "motorcycle", "lorry")


@dataclass(frozen=True)
class Road:
    """One road segment between two crossings, in the local frame [m]."""

    key: str
    road_class: str
    name: str
    line: LineString
    inside_ring: bool
    width_m: float
    lanes: int
    speed_kmh: float
    vehicles: tuple[str, ...]


def grid_positions(centre: float, lo: float, hi: float, step: float) -> list[tuple[int, float]]:
    """(index, coordinate) of grid lines ``centre + index * step`` within (lo, hi)."""
    first = int(np.ceil((lo - centre) / step))
    last = int(np.floor((hi - centre) / step))
    return [(i, centre + i * step) for i in range(first, last + 1) if lo < centre + i * step < hi]


def _clip(line: LineString, area: BaseGeometry) -> list[LineString]:
    part = line.intersection(area)
    if part.is_empty:
        return []
    return [g for g in getattr(part, "geoms", [part]) if g.geom_type == "LineString"]


def layout_lines(frame: LocalFrame, nature: list[NaturalArea]) -> list[tuple[str, str, LineString]]:
    """The planned lines (class, name, geometry) before noding."""
    site = frame.site
    rivers = shapely.union_all([a.polygon for a in nature if a.category == "river"])
    habitats = shapely.union_all([a.polygon for a in nature if a.category == "habitat"])
    land = frame.site_polygon.buffer(-20.0).difference(rivers.buffer(15.0))
    land = max(getattr(land, "geoms", [land]), key=lambda g: g.area)
    ring = frame.ring_polygon
    minx, miny, maxx, maxy = frame.site_polygon.bounds
    rx, ry = frame.ring_centre
    s_in, s_out = site.inner_block_m, site.outer_block_m
    lines: list[tuple[str, str, LineString]] = []

    nat_x = minx - 270.0
    lines.append(
        (
            "nationalRoad",
            "National Road 96",
            LineString([(nat_x - 40, miny - 350), (nat_x, ry), (nat_x + 30, maxy + 350)]),
        )
    )
    lines.append(("arterial", "Outer Arterial", LineString(land.exterior.coords)))
    lines.append(("ring", "Ring Road", LineString(ring.exterior.coords)))
    east = max(x for x, _ in shapely.get_coordinates(LineString([(0, ry), (maxx, ry)]) & land))
    lines.append(("brt", "BRT Spine", LineString([(nat_x, ry), (east, ry)])))

    outside = land.difference(ring).difference(habitats)
    big = max(maxx - minx, maxy - miny) * 2
    for axis in ("x", "y"):
        centre = rx if axis == "x" else ry
        lo, hi = (minx, maxx) if axis == "x" else (miny, maxy)
        for i, pos in grid_positions(centre, lo, hi, s_in):
            ends = [(pos, -big), (pos, big)] if axis == "x" else [(-big, pos), (big, pos)]
            line = LineString(ends)
            if axis == "y" and i == 0:
                continue  # the BRT spine runs here
            if i == 0:
                inner = ("pedestrian", "Central Pedestrian Axis")
                outer = ("pm", "Central PM Way")
            elif i % 2:
                inner = outer = ("interior", "Interior Road")
            else:
                inner = ("pm", "PM Way")
                outer = ("footpath", "Mid-block Footpath")
            on_outer_grid = abs(((i * s_in - s_in) / s_out) - round((i * s_in - s_in) / s_out))
            if i % 2 and on_outer_grid > 1e-6:
                outer = ("footpath", "Mid-block Footpath")
            lines += [(*inner, g) for g in _clip(line, ring)]
            lines += [(*outer, g) for g in _clip(line, outside)]

    river_bank = rivers.buffer(45.0).exterior if rivers.geom_type == "Polygon" else None
    banks = [river_bank] if river_bank is not None else []
    if river_bank is None:
        banks = [g.exterior for g in rivers.buffer(45.0).geoms]
    for bank in banks:
        lines += [("footpath", "Riverside Trail", g) for g in _clip(bank, land.buffer(-5.0))]
    hx, hy = site.hill_offset_m
    rim = ring.bounds[2]
    trail = LineString([(rim, ry + 60), ((rim + hx) / 2, hy - 40), (hx, hy)])
    lines += [("footpath", "Hill Trail", g) for g in _clip(trail, land.buffer(-2.0))]
    return lines


def build_roads(frame: LocalFrame, nature: list[NaturalArea]) -> list[Road]:
    """Noded, merged and classified road segments with design values."""
    planned = layout_lines(frame, nature)
    noded = shapely.union_all([g for _, _, g in planned], grid_size=0.01)
    pieces = list(getattr(noded, "geoms", [noded]))
    tree = shapely.STRtree([g for _, _, g in planned])
    rank = {c: i for i, c in enumerate(ROAD_CLASSES)}
    labelled: list[tuple[str, str, LineString]] = []
    for piece in pieces:
        if piece.length < 0.05:
            continue
        mid = piece.interpolate(0.5, normalized=True)
        near = tree.query(mid, predicate="dwithin", distance=0.05)
        best = min(near, key=lambda k: (rank[planned[k][0]], planned[k][2].distance(mid)))
        labelled.append((planned[best][0], planned[best][1], piece))
    merged = _merge_chains(labelled)
    ring_area = frame.ring_polygon
    roads = []
    for index, (cls, name, line) in enumerate(merged, start=1):
        design = CLASSES[cls]
        inside = cls != "ring" and ring_area.contains(line.interpolate(0.5, normalized=True))
        speed = min(design.speed_kmh, RING_INTERIOR_LIMIT_KMH) if inside else design.speed_kmh
        roads.append(
            Road(
                key=f"R{index:04d}",
                road_class=cls,
                name=name,
                line=line,
                inside_ring=inside,
                width_m=design.width_m,
                lanes=design.lanes,
                speed_kmh=speed,
                vehicles=design.vehicles,
            )
        )
    return roads


def _merge_chains(pieces: list[tuple[str, str, LineString]]) -> list[tuple[str, str, LineString]]:
    """Join pieces through nodes where exactly two pieces of the same class and name meet."""

    def key(pt: tuple[float, ...]) -> tuple[float, float]:
        return (round(pt[0], 2), round(pt[1], 2))

    at: dict[tuple[float, float], list[int]] = defaultdict(list)
    coords = [list(p[2].coords) for p in pieces]
    for i, c in enumerate(coords):
        at[key(c[0])].append(i)
        at[key(c[-1])].append(i)
    used = [False] * len(pieces)
    out: list[tuple[str, str, LineString]] = []

    def partner(node: tuple[float, float], current: int) -> int | None:
        ids = at[node]
        if len(ids) != 2 or ids[0] == ids[1]:
            return None
        other = ids[1] if ids[0] == current else ids[0]
        same = pieces[other][:2] == pieces[current][:2]
        return other if same and not used[other] else None

    for start in range(len(pieces)):
        if used[start]:
            continue
        used[start] = True
        chain = list(coords[start])
        for forward in (True, False):
            current = start
            while True:
                end = key(chain[-1] if forward else chain[0])
                nxt = partner(end, current)
                if nxt is None:
                    break
                used[nxt] = True
                seg = coords[nxt]
                if key(seg[0]) != end:
                    seg = seg[::-1]
                chain = chain + seg[1:] if forward else seg[:-1] + chain
                current = nxt
        out.append((pieces[start][0], pieces[start][1], LineString(chain)))
    out.sort(
        key=lambda p: (ROAD_CLASSES.index(p[0]), round(p[2].centroid.x), round(p[2].centroid.y))
    )
    return out


def road_area(roads: list[Road]) -> BaseGeometry:
    """The union of carriageways and paths (each line buffered by half its width) [m²]."""
    return shapely.union_all(
        [
            r.line.buffer(r.width_m / 2, cap_style="flat")
            for r in roads
            if r.road_class != "footpath"
        ]
    )


def footpath_area(roads: list[Road]) -> BaseGeometry:
    """The union of footpaths, 3 m wide plus 2 m clearance either side."""
    return shapely.union_all(
        [r.line.buffer(r.width_m / 2 + 2.0) for r in roads if r.road_class == "footpath"]
    )


def polygon_parts(geom: BaseGeometry) -> list[Polygon]:
    """The polygons of a (multi)polygon or collection."""
    if geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]  # type: ignore[list-item]
    return [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
