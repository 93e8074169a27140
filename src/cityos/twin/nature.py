"""Rivers and habitats the plan preserves: no building may stand on them.

5-1 lies at Hapgang-ri, where the Miho River joins the Geum River south-west of the site; the
hill east of the site is kept as woodland ("minimal-impact development that preserves terrain",
``MISSION.md`` §2). Positions are schematic, in the local frame of :mod:`cityos.twin.site` [m].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from cityos.twin.site import LocalFrame

#: Clearance kept between any building and a natural area [m].
NATURE_CLEARANCE_M = 10.0


@dataclass(frozen=True)
class NaturalArea:
    """A preserved area: ``category`` is ``river`` or ``habitat``; ``polygon`` in local [m]."""

    key: str
    name: str
    category: str
    polygon: Polygon


def river_centrelines(frame: LocalFrame) -> dict[str, LineString]:
    """Centrelines of the two rivers, scaled to the site outline [m]."""
    _, _, maxx, maxy = frame.site_polygon.bounds
    sx, sy = maxx / 1021.0, maxy / 785.0
    geum = [(1600, -870), (900, -905), (300, -860), (-300, -880), (-800, -900), (-1150, -930)]
    miho = [(-1230, 1300), (-1150, 700), (-1075, 150), (-1090, -400), (-1150, -930)]
    down = [(-1150, -930), (-1500, -1000), (-1900, -1100)]
    scale = lambda pts: [(x * sx, y * sy) for x, y in pts]  # noqa: E731
    return {
        "geum": LineString(scale(geum + down[1:])),
        "miho": LineString(scale(miho)),
    }


def confluence(frame: LocalFrame) -> tuple[float, float]:
    """Where the Miho River joins the Geum River [m east, m north]."""
    _, _, maxx, maxy = frame.site_polygon.bounds
    return (-1150 * maxx / 1021.0, -930 * maxy / 785.0)


def natural_areas(frame: LocalFrame) -> list[NaturalArea]:
    """The rivers (buffered centrelines) and habitats (confluence wetland, hill woodland)."""
    lines = river_centrelines(frame)
    cx, cy = confluence(frame)
    hx, hy = frame.site.hill_offset_m
    wetland = affinity.rotate(
        affinity.scale(Point(cx + 260, cy + 300).buffer(1.0, 32), 190, 120), 35
    )
    woodland = affinity.rotate(affinity.scale(Point(hx, hy).buffer(1.0, 48), 300, 430), -10)
    return [
        NaturalArea("Geum", "Geum River", "river", lines["geum"].buffer(120, cap_style="flat")),
        NaturalArea("Miho", "Miho River", "river", lines["miho"].buffer(75, cap_style="flat")),
        NaturalArea("ConfluenceWetland", "Hapgang confluence wetland", "habitat", wetland),
        NaturalArea("HillWoodland", "Eastern hill woodland", "habitat", woodland),
    ]


def preserved(areas: list[NaturalArea]) -> BaseGeometry:
    """The union of natural areas grown by :data:`NATURE_CLEARANCE_M` (no building inside)."""
    from shapely import union_all

    return union_all([a.polygon.buffer(NATURE_CLEARANCE_M) for a in areas])


def distance_to_rivers(frame: LocalFrame, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance of each point to the nearest river centreline [m]."""
    import shapely

    pts = shapely.points(np.ravel(x), np.ravel(y))
    dist = np.min([shapely.distance(pts, line) for line in river_centrelines(frame).values()], 0)
    return dist.reshape(np.shape(x))
