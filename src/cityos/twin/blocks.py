"""Urban blocks, development zones and the form-based code check.

5-1 has no classic zoning: a form-based code gives each block a mix of *living*, *social* and
*public* floor area (``MISSION.md`` §2). Blocks are the land left between roads, outside rivers
and habitats: about 150 m across inside the ring, larger outside. Four development zones each
span inside and outside the ring (the quadrants around the ring centre).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from cityos.twin.roads import Road, polygon_parts, road_area
from cityos.twin.site import LocalFrame

#: The three main uses of the form-based code.
USES = ("living", "social", "public")
#: Smallest block kept [m²] and its smallest mean width (area / perimeter x 4) [m].
MIN_BLOCK_AREA_M2 = 2500.0
MIN_BLOCK_WIDTH_M = 30.0
#: A change of a use's share above this is flagged by :func:`use_mix_changes` [fraction].
USE_CHANGE_THRESHOLD = 0.10


@dataclass(frozen=True)
class DevelopmentZone:
    """One of the four development zones (local polygon [m])."""

    key: str
    name: str
    polygon: Polygon


@dataclass
class Block:
    """An urban block: polygon (local [m]), zone, ring position and form-based-code figures.

    ``kind`` is set by the building layout (``mixed``, ``residential``, ``detached``,
    ``employment``, ``civic`` or ``park``); ``use_mix`` and ``floor_area_m2`` are the sums over
    its buildings.
    """

    key: str
    polygon: Polygon
    zone_key: str
    inside_ring: bool
    kind: str = "park"
    use_mix: dict[str, float] = field(default_factory=lambda: dict.fromkeys(USES, 0.0))
    floor_area_m2: float = 0.0


@dataclass(frozen=True)
class UseChange:
    """A flagged change of one block's use: shares before and after [fraction]."""

    block: str
    use: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        """Change of the share [fraction]."""
        return self.after - self.before


def development_zones(frame: LocalFrame) -> list[DevelopmentZone]:
    """Four zones: the site cut into quadrants around the ring centre."""
    rx, ry = frame.ring_centre
    minx, miny, maxx, maxy = frame.site_polygon.bounds
    quads = [
        ("Z1", "Development zone 1 (north-west)", box(minx, ry, rx, maxy)),
        ("Z2", "Development zone 2 (north-east)", box(rx, ry, maxx, maxy)),
        ("Z3", "Development zone 3 (south-east)", box(rx, miny, maxx, ry)),
        ("Z4", "Development zone 4 (south-west)", box(minx, miny, rx, ry)),
    ]
    return [DevelopmentZone(k, n, frame.site_polygon.intersection(q)) for k, n, q in quads]


def build_blocks(
    frame: LocalFrame,
    roads: list[Road],
    preserved: BaseGeometry,
    zones: list[DevelopmentZone],
) -> list[Block]:
    """The blocks: site minus roads minus preserved nature, slivers dropped, keyed ``B001``..."""
    land = frame.site_polygon.difference(road_area(roads)).difference(preserved)
    ring = frame.ring_polygon
    parts = [
        p
        for p in polygon_parts(land)
        if p.area >= MIN_BLOCK_AREA_M2 and 4 * p.area / p.length >= MIN_BLOCK_WIDTH_M
    ]
    parts = [shapely.normalize(shapely.set_precision(p, 0.01)) for p in parts]
    parts.sort(key=lambda p: (-round(p.centroid.y / 50), round(p.centroid.x, 1)))
    blocks = []
    for index, poly in enumerate(parts, start=1):
        centre = poly.representative_point()
        zone = next((z.key for z in zones if z.polygon.contains(centre)), zones[0].key)
        blocks.append(
            Block(
                key=f"B{index:03d}",
                polygon=poly,
                zone_key=zone,
                inside_ring=bool(ring.contains(centre)),
            )
        )
    return blocks


def check_use_mix(mix: Mapping[str, float]) -> None:
    """Raise ValueError unless ``mix`` has exactly the three uses, each in [0, 1], summing to 1."""
    if set(mix) != set(USES):
        raise ValueError(f"a use mix has exactly the uses {USES}, not {sorted(mix)}")
    if any(not 0 <= v <= 1 for v in mix.values()):
        raise ValueError(f"use shares must be within [0, 1]: {dict(mix)}")
    if abs(sum(mix.values()) - 1) > 1e-6:
        raise ValueError(f"use shares must sum to 1, not {sum(mix.values())}")


def use_mix_changes(
    before: Mapping[str, Mapping[str, float]],
    after: Mapping[str, Mapping[str, float]],
    threshold: float = USE_CHANGE_THRESHOLD,
) -> list[UseChange]:
    """Flag every block whose share of any main use changed by more than ``threshold``.

    Parameters
    ----------
    before, after
        Two versions of the plan: block key -> use mix (shares of floor area summing to 1).
    threshold
        Largest allowed change of a share [fraction]; 0.10 is the form-based code's 10 %.

    Returns
    -------
    list of UseChange
        One entry per (block, use) above the threshold, sorted by block and use. A block that
        exists in only one version is flagged for every use it has (the other side counts 0).
    """
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be within [0, 1), not {threshold}")
    flagged = []
    for key in sorted(set(before) | set(after)):
        old = before.get(key, {})
        new = after.get(key, {})
        for mix in (old, new):
            if mix:
                check_use_mix(mix)
        for use in USES:
            a, b = float(old.get(use, 0.0)), float(new.get(use, 0.0))
            if abs(b - a) > threshold + 1e-9:
                flagged.append(UseChange(key, use, a, b))
    return flagged


def summarise_blocks(blocks: list[Block], buildings: list) -> None:
    """Set each block's floor area [m²] and use mix (floor-area weighted) from its buildings.

    A block without buildings becomes a ``park`` (public open space).
    """
    totals: dict[str, dict[str, float]] = {b.key: dict.fromkeys(USES, 0.0) for b in blocks}
    for bld in buildings:
        area = bld.floor_area_m2
        for use in USES:
            totals[bld.block_key][use] += area * bld.use_mix[use]
    for block in blocks:
        total = sum(totals[block.key].values())
        block.floor_area_m2 = round(total, 1)
        if total > 0:
            shares = {u: round(totals[block.key][u] / total, 4) for u in USES}
            shares["living"] = round(1 - shares["social"] - shares["public"], 4)
            block.use_mix = shares
        else:
            block.kind = "park"  # nothing fitted: open space
            block.use_mix = {"living": 0.0, "social": 0.0, "public": 1.0}
