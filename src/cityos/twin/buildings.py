"""Building footprints, heights and use mixes, laid out block by block.

Each block kind has a *typology*: a lattice of rectangular footprints (width x depth, with gaps)
fitted inside the block after a setback, away from footpaths and preserved nature. Apartment slabs
run east-west with wide north-south spacing (sunlight), as in Korean new towns; the ring interior
has mid-rise mixed-use buildings with shops below homes; detached houses stand on small plots.
Floors are drawn from the typology's range and later scaled to house the population.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from cityos.twin.blocks import USES, Block

#: Setback of buildings from the block edge [m].
SETBACK_M = 6.0


@dataclass(frozen=True)
class Typology:
    """A building type: footprint [m], gaps [m], floor range, storey height [m] and use shares.

    ``living``/``public`` are (low, high) share ranges; ``social`` is the remainder.
    """

    width: float
    depth: float
    gap_x: float
    gap_y: float
    floors: tuple[int, int]
    storey_m: float
    living: tuple[float, float]
    public: tuple[float, float]


TYPOLOGIES: dict[str, Typology] = {
    "mixed": Typology(34.0, 16.0, 22.0, 22.0, (5, 12), 3.3, (0.60, 0.80), (0.03, 0.08)),
    "residential": Typology(46.0, 14.0, 22.0, 42.0, (12, 25), 3.0, (0.92, 0.97), (0.0, 0.02)),
    "detached": Typology(12.0, 10.0, 10.0, 12.0, (2, 2), 3.2, (1.0, 1.0), (0.0, 0.0)),
    "employment": Typology(40.0, 22.0, 20.0, 24.0, (4, 9), 4.0, (0.0, 0.0), (0.05, 0.2)),
}


@dataclass
class Building:
    """A building in the local frame.

    Attributes
    ----------
    key
        Short id (``H0001``...).
    polygon
        Footprint (local [m], counter-clockwise).
    block_key
        The block it stands in.
    typology
        Key of :data:`TYPOLOGIES`, or ``facility``.
    floors, storey_m
        Floors above ground and storey height [m].
    use_mix
        Shares of floor area: living, social, public (sum 1).
    category
        Smart Data Models building categories.
    built_year
        Year of completion.
    inside_ring
        Whether it stands inside the ring road.
    name
        Display name.
    facility
        Facility code for facility buildings (``school``, ``dataAICenter``...), else None.
    households
        Households living in it (set by the population).
    walk_to_school_m
        Walking distance to the nearest elementary school [m].
    ground_m
        Ground elevation at the footprint centroid [m].
    """

    key: str
    polygon: Polygon
    block_key: str
    typology: str
    floors: int
    storey_m: float
    use_mix: dict[str, float]
    category: list[str]
    built_year: int
    inside_ring: bool
    name: str
    facility: str | None = None
    households: int = 0
    walk_to_school_m: float = float("inf")
    ground_m: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def height_m(self) -> float:
        """Height above ground [m] (ground floor of mixed-use buildings is 4.5 m)."""
        extra = 1.2 if self.use_mix["social"] >= 0.15 and self.use_mix["living"] > 0 else 0.0
        return round(self.floors * self.storey_m + extra, 1)

    @property
    def footprint_m2(self) -> float:
        """Footprint area = flat roof area [m²]."""
        return float(self.polygon.area)

    @property
    def floor_area_m2(self) -> float:
        """Gross floor area above ground [m²]."""
        return self.footprint_m2 * self.floors

    @property
    def living_area_m2(self) -> float:
        """Gross floor area in living use [m²]."""
        return self.floor_area_m2 * self.use_mix["living"]

    @property
    def is_home(self) -> bool:
        """Whether households may live here (living use, not a facility)."""
        return self.facility is None and self.use_mix["living"] > 0


def use_mix(living: float, public: float) -> dict[str, float]:
    """A use mix with ``social`` as the remainder, rounded to 4 decimals."""
    living, public = round(living, 4), round(public, 4)
    return {"living": living, "social": round(1 - living - public, 4), "public": public}


def categories(mix: dict[str, float], typology: str) -> list[str]:
    """Smart Data Models categories for a use mix and typology."""
    if mix["living"] >= 0.5:
        base = ["residential", "detached"] if typology == "detached" else ["residential"]
        return [*base, "commercial"] if mix["social"] >= 0.15 else base
    return ["office", "commercial"] if mix["social"] >= 0.5 else ["office"]


def lattice(area: BaseGeometry, typology: Typology, rng: np.random.Generator) -> list[Polygon]:
    """Footprints of a typology fitted in ``area``: a lattice of rectangles wholly inside it.

    The lattice is centred in the area's bounding box and shifted by up to ±3 m at random.
    """
    if area.is_empty:
        return []
    minx, miny, maxx, maxy = area.bounds
    w, d = typology.width, typology.depth
    step_x, step_y = w + typology.gap_x, d + typology.gap_y
    nx = max(int((maxx - minx + typology.gap_x) // step_x), 1)
    ny = max(int((maxy - miny + typology.gap_y) // step_y), 1)
    x0 = minx + (maxx - minx - (nx * step_x - typology.gap_x)) / 2 + rng.uniform(-3, 3)
    y0 = miny + (maxy - miny - (ny * step_y - typology.gap_y)) / 2 + rng.uniform(-3, 3)
    xs = x0 + np.arange(nx) * step_x
    ys = y0 + np.arange(ny) * step_y
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    boxes = shapely.box(gx, gy, gx + w, gy + d)
    keep = shapely.contains(area, boxes)
    return [shapely.set_precision(b, 0.01) for b in boxes[keep]]


def layout_block(
    block: Block,
    kind: str,
    buildable: BaseGeometry,
    rng: np.random.Generator,
    years: tuple[int, int],
    start_index: int,
) -> list[Building]:
    """Buildings of one block for a typology ``kind`` (``mixed``, ``residential``...)."""
    typology = TYPOLOGIES[kind]
    out = []
    for offset, footprint in enumerate(lattice(buildable, typology, rng)):
        living = rng.uniform(*typology.living)
        public = rng.uniform(*typology.public)
        if kind == "employment":
            living, public = 0.0, rng.uniform(*typology.public)
        mix = use_mix(living, min(public, 1 - living))
        floors = int(rng.integers(typology.floors[0], typology.floors[1] + 1))
        key = f"H{start_index + offset:04d}"
        out.append(
            Building(
                key=key,
                polygon=footprint,
                block_key=block.key,
                typology=kind,
                floors=floors,
                storey_m=typology.storey_m,
                use_mix=mix,
                category=categories(mix, kind),
                built_year=int(rng.integers(years[0], years[1] + 1)),
                inside_ring=block.inside_ring,
                name=_name(kind, block.key, offset),
            )
        )
    return out


def _name(kind: str, block: str, offset: int) -> str:
    label = {
        "mixed": "Mixed-use building",
        "residential": "Apartment building",
        "detached": "House",
        "employment": "Office building",
    }[kind]
    return f"{label} {block}-{offset + 1}"


def make_non_residential(building: Building, rng: np.random.Generator) -> None:
    """Turn a building out of reach of the schools into offices and shops (no homes)."""
    building.use_mix = use_mix(0.0, rng.uniform(0.05, 0.2))
    building.category = categories(building.use_mix, building.typology)
    building.name = building.name.replace("Apartment building", "Office building").replace(
        "Mixed-use building", "Commercial building"
    )


def check_mix(building: Building) -> None:
    """Raise ValueError if a building's use mix is not three shares summing to 1."""
    if set(building.use_mix) != set(USES) or abs(sum(building.use_mix.values()) - 1) > 1e-3:
        raise ValueError(f"building {building.key} has a bad use mix {building.use_mix}")
