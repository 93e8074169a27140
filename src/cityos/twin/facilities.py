"""Facility buildings of the plan, placed where every mode reaches them (``MISSION.md`` §2-§4).

The Urban Integrated Data AI Center, the innovation valley and its incubation centre, a community
centre in each development zone, the welfare centre, the health centre and the emergency control
centre, two elementary schools, a K-12 school, the lifelong-learning centre, the vertical smart
farm, the energy storage station and the shared-car parking tower.

Schools take a whole block (building and playground); the others convert the building nearest
to their anchor point, inside or outside the ring as planned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Point, Polygon

from cityos.twin.blocks import Block
from cityos.twin.buildings import Building, use_mix
from cityos.twin.site import LocalFrame
from cityos.twin.zone import CarRestrictedZone

Anchor = Callable[[LocalFrame, CarRestrictedZone], tuple[float, float]]


@dataclass(frozen=True)
class FacilitySpec:
    """A facility: code, name, anchor point, side of the ring, floors and use shares.

    ``side`` is ``inside``, ``outside`` or ``any`` (relative to the ring); ``block_size`` is the
    footprint (width, depth) [m] of facilities that take a whole block, else None.
    """

    code: str
    name: str
    anchor: Anchor
    side: str
    floors: int
    category: tuple[str, ...]
    living: float
    public: float
    block_size: tuple[float, float] | None = None
    storey_m: float = 4.0


def _ring(fx: float, fy: float) -> Anchor:
    """An anchor at fractions of the ring semi-axes from the ring centre."""

    def anchor(frame: LocalFrame, zone: CarRestrictedZone) -> tuple[float, float]:
        (rx, ry), (a, b) = frame.ring_centre, frame.site.ring_semi_axes_m
        return (rx + fx * a, ry + fy * b)

    return anchor


def _school(index: int) -> Anchor:
    def anchor(frame: LocalFrame, zone: CarRestrictedZone) -> tuple[float, float]:
        return frame.site.school_sites_m[index]

    return anchor


def _tower(frame: LocalFrame, zone: CarRestrictedZone) -> tuple[float, float]:
    return zone.tower_site


def facility_specs(frame: LocalFrame) -> list[FacilitySpec]:
    """Every facility of the plan with its anchor."""
    specs = [
        FacilitySpec(
            "school",
            f"Elementary school {i + 1}",
            _school(i),
            "any",
            4,
            ("school",),
            0.0,
            1.0,
            (66.0, 22.0),
        )
        for i in range(len(frame.site.school_sites_m))
    ]
    specs += [
        FacilitySpec(
            "k12School",
            "K-12 school",
            _ring(0.35, 1.55),
            "outside",
            5,
            ("school",),
            0.0,
            1.0,
            (80.0, 24.0),
        ),
        FacilitySpec(
            "dataAICenter",
            "Urban Integrated Data AI Center",
            _ring(0.15, 0.2),
            "inside",
            9,
            ("office", "civic"),
            0.0,
            0.8,
        ),
        FacilitySpec(
            "lifelongLearningCentre",
            "Lifelong-learning centre (life-cycle academy)",
            _ring(-0.15, -0.2),
            "inside",
            5,
            ("civic",),
            0.0,
            0.9,
        ),
        FacilitySpec(
            "welfareCentre", "Welfare centre", _ring(-0.15, 0.8), "inside", 4, ("civic",), 0.0, 1.0
        ),
        FacilitySpec(
            "healthCentre", "Health centre", _ring(0.8, 0.2), "inside", 5, ("hospital",), 0.0, 0.9
        ),
        FacilitySpec(
            "emergencyControlCentre",
            "Emergency control centre",
            _ring(1.25, -0.2),
            "outside",
            4,
            ("civic",),
            0.0,
            1.0,
        ),
        FacilitySpec(
            "innovationValley",
            "Innovation valley",
            _ring(-1.45, 0.3),
            "outside",
            7,
            ("office",),
            0.0,
            0.3,
        ),
        FacilitySpec(
            "incubationCentre",
            "Startup incubation centre",
            _ring(-1.45, -0.3),
            "outside",
            5,
            ("office",),
            0.0,
            0.4,
        ),
        FacilitySpec(
            "verticalSmartFarm",
            "Vertical smart farm",
            _ring(1.35, -1.2),
            "outside",
            6,
            ("farm",),
            0.0,
            0.5,
        ),
        FacilitySpec(
            "energyStorage",
            "Energy storage station (ESS)",
            _ring(1.55, -0.9),
            "outside",
            1,
            ("service",),
            0.0,
            1.0,
        ),
        FacilitySpec(
            "sharedCarTower",
            "Shared-car parking tower",
            _tower,
            "inside",
            6,
            ("parking",),
            0.0,
            0.7,
            storey_m=3.0,
        ),
    ]
    for i, (fx, fy) in enumerate(((-0.72, 0.72), (0.72, 0.72), (0.72, -0.72), (-0.72, -0.72))):
        specs.append(
            FacilitySpec(
                "communityCentre",
                f"Community centre, zone {i + 1}",
                _ring(fx, fy),
                "any",
                4,
                ("civic",),
                0.0,
                1.0,
            )
        )
    return specs


def school_blocks(
    frame: LocalFrame, zone: CarRestrictedZone, blocks: list[Block], buildable: dict[str, object]
) -> list[tuple[FacilitySpec, Block]]:
    """The blocks taken by schools: the block nearest each school's anchor, one school each."""
    taken: set[str] = set()
    out = []
    for spec in facility_specs(frame):
        if spec.block_size is None:
            continue
        x, y = spec.anchor(frame, zone)
        candidates = [
            b
            for b in blocks
            if b.key not in taken
            and _side_ok(spec.side, b.inside_ring)
            and not buildable[b.key].is_empty  # type: ignore[attr-defined]
        ]
        block = min(candidates, key=lambda b: (b.polygon.distance(Point(x, y)), b.key))
        taken.add(block.key)
        out.append((spec, block))
    return out


def school_building(
    spec: FacilitySpec, block: Block, area: object, key: str, year: int
) -> Building:
    """One school building centred in its block (shrunk until it fits), the rest is playground."""
    assert spec.block_size is not None
    centre = area.representative_point()  # type: ignore[attr-defined]
    w, d = spec.block_size
    footprint: Polygon | None = None
    for scale in np.linspace(1.0, 0.3, 15):
        for ww, dd in ((w * scale, d * scale), (d * scale, w * scale)):
            box = shapely.box(
                centre.x - ww / 2, centre.y - dd / 2, centre.x + ww / 2, centre.y + dd / 2
            )
            if area.contains(box):  # type: ignore[attr-defined]
                footprint = box
                break
        if footprint is not None:
            break
    if footprint is None:
        footprint = shapely.box(centre.x - 8, centre.y - 8, centre.x + 8, centre.y + 8)
    block.kind = "civic"
    return _facility_building(spec, footprint, block.key, key, year, block.inside_ring)


def convert_facilities(
    frame: LocalFrame,
    zone: CarRestrictedZone,
    buildings: list[Building],
) -> None:
    """Turn the building nearest each non-school facility's anchor into that facility."""
    centroids = np.array([[b.polygon.centroid.x, b.polygon.centroid.y] for b in buildings])
    for spec in facility_specs(frame):
        if spec.block_size is not None:
            continue
        x, y = spec.anchor(frame, zone)
        free = np.array(
            [
                b.facility is None
                and _side_ok(spec.side, b.inside_ring)
                and (spec.code != "sharedCarTower" or zone.polygon.contains(b.polygon.centroid))
                for b in buildings
            ]
        )
        if not free.any():
            continue
        dist = np.hypot(centroids[:, 0] - x, centroids[:, 1] - y)
        dist[~free] = np.inf
        old = buildings[int(np.argmin(dist))]
        new = _facility_building(
            spec, old.polygon, old.block_key, old.key, old.built_year, old.inside_ring
        )
        buildings[buildings.index(old)] = new


def _facility_building(
    spec: FacilitySpec, footprint: Polygon, block: str, key: str, year: int, inside: bool
) -> Building:
    return Building(
        key=key,
        polygon=footprint,
        block_key=block,
        typology="facility",
        floors=spec.floors,
        storey_m=spec.storey_m,
        use_mix=use_mix(spec.living, spec.public),
        category=list(spec.category),
        built_year=year,
        inside_ring=inside,
        name=spec.name,
        facility=spec.code,
    )


def _side_ok(side: str, inside_ring: bool) -> bool:
    return side == "any" or (side == "inside") == inside_ring
