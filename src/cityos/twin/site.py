"""The site of the twin: parameters, their validation, the local metric CRS and the site outline.

All planning geometry is computed in a *local* frame: metres east/north of the site centre on the
Korea Central Belt 2010 projection (EPSG:5186), then transformed to WGS84 (EPSG:4326) for entities
and exports. Figures default to the Sejong 5-1 master plan (``MISSION.md`` §1-§2): 2.741 km² at
Hapgang-ri, 20,164 people in 8,714 households.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np
import shapely
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import Polygon

from cityos.core.errors import BadRequestData

#: The projected CRS of the local frame: Korea 2000 / Central Belt 2010 [metres].
LOCAL_CRS = "EPSG:5186"
#: The CRS of every entity and export.
WGS84 = "EPSG:4326"
#: Largest household size the generator produces [persons].
MAX_HOUSEHOLD_SIZE = 7
#: People and households reserved for the four personas of ``MISSION.md`` §5.
PERSONA_PEOPLE, PERSONA_HOUSEHOLDS = 11, 4


class TwinParameterError(BadRequestData):
    """A twin generator parameter is invalid (reported before anything is generated or written)."""


@dataclass(frozen=True)
class SiteParameters:
    """Physical facts of the site and its plan.

    Attributes
    ----------
    name
        Site code used in entity ids (``urn:ngsi-ld:Building:<name>:...``).
    centre_lon, centre_lat
        Site centre [degrees WGS84]; Hapgang-ri, Sejong.
    area_km2
        Site area [km²]; 2.741 km² (830,000 pyeong) for 5-1.
    aspect
        East-west over north-south extent of the outline [-].
    ring_semi_axes_m
        East-west and north-south semi-axes of the ring road centreline [m].
    ring_offset_m
        Ring centre relative to the site centre [m east, m north].
    hill_peak_m, hill_offset_m
        Summit elevation [m] and its position [m east, m north] (the hill east of 5-1).
    river_level_m
        Ground elevation at the river confluence south-west of the site [m].
    dem_cell_m
        Cell size of the digital elevation model [m].
    inner_block_m, outer_block_m
        Road spacing inside and outside the ring [m].
    school_sites_m
        Nominal positions of the elementary schools [m east, m north of the centre].
    max_school_walk_m
        Longest walk from any home to an elementary school [m].
    zone_polygon
        Car-restricted zone as a WGS84 ring of (lon, lat); None uses the ring interior.
    zone_area_fraction
        Scale the ring interior to this fraction of the site area (the plan once shrank the
        zone to 1/8 of 5-1); None keeps the ring interior. Ignored if ``zone_polygon`` is given.
    """

    name: str = "Sejong51"
    centre_lon: float = 127.304
    centre_lat: float = 36.494
    area_km2: float = 2.741
    aspect: float = 1.3
    ring_semi_axes_m: tuple[float, float] = (540.0, 420.0)
    ring_offset_m: tuple[float, float] = (-80.0, 0.0)
    hill_peak_m: float = 194.0
    hill_offset_m: tuple[float, float] = (1010.0, 180.0)
    river_level_m: float = 14.0
    dem_cell_m: float = 20.0
    inner_block_m: float = 150.0
    outer_block_m: float = 300.0
    school_sites_m: tuple[tuple[float, float], ...] = ((60.0, 290.0), (-390.0, -290.0))
    max_school_walk_m: float = 600.0
    zone_polygon: tuple[tuple[float, float], ...] | None = None
    zone_area_fraction: float | None = None


@dataclass(frozen=True)
class GeneratorParameters:
    """Everything the generator needs: the site, the population and the random seed.

    Attributes
    ----------
    seed
        Seed of every random draw; the same seed gives an identical city.
    population, households
        Residents [persons] and households; 20,164 in 8,714 (``MISSION.md`` §1).
    target_mean_age
        Mean age of residents [years]; Sejong's average is 36.7.
    start_year, end_year
        Range of construction years of the buildings.
    site
        The :class:`SiteParameters`.
    """

    seed: int = 51
    population: int = 20_164
    households: int = 8_714
    target_mean_age: float = 36.7
    start_year: int = 2025
    end_year: int = 2029
    site: SiteParameters = field(default_factory=SiteParameters)

    def replace(self, **changes: object) -> GeneratorParameters:
        """A copy with some fields changed; site fields may be given by name too."""
        site_names = {f.name for f in fields(SiteParameters)}
        site_changes = {k: v for k, v in changes.items() if k in site_names}
        own = {k: v for k, v in changes.items() if k not in site_names}
        site = SiteParameters(**{**self.site.__dict__, **site_changes})  # type: ignore[arg-type]
        return GeneratorParameters(**{**self.__dict__, **own, "site": site})  # type: ignore[arg-type]


def validate(params: GeneratorParameters) -> None:
    """Check every parameter; raise :class:`TwinParameterError` naming the first bad one.

    Runs before generation, so a bad parameter never reaches the hub.
    """
    site = params.site
    if not isinstance(params.seed, int) or params.seed < 0:
        raise TwinParameterError(f"seed must be a non-negative integer, not {params.seed!r}")
    if params.population < 0:
        raise TwinParameterError(f"population must not be negative ({params.population})")
    if params.households < 0:
        raise TwinParameterError(f"households must not be negative ({params.households})")
    if params.households > params.population:
        raise TwinParameterError(
            f"households ({params.households}) cannot exceed people ({params.population})"
        )
    if params.households < PERSONA_HOUSEHOLDS + 6 or params.population < PERSONA_PEOPLE + 10:
        raise TwinParameterError(
            "the population must have at least 10 households and 20 people (four personas "
            f"and their families are always generated); got {params.population} people in "
            f"{params.households} households"
        )
    rest_people = params.population - PERSONA_PEOPLE
    rest_households = params.households - PERSONA_HOUSEHOLDS
    if rest_people > MAX_HOUSEHOLD_SIZE * rest_households or rest_people < rest_households:
        raise TwinParameterError(
            f"{params.population} people cannot live in {params.households} households "
            f"of 1 to {MAX_HOUSEHOLD_SIZE} persons"
        )
    if not 0 < params.target_mean_age < 90:
        raise TwinParameterError(f"target_mean_age {params.target_mean_age} is not plausible")
    if params.start_year > params.end_year:
        raise TwinParameterError("start_year must not be after end_year")
    if not (-180 <= site.centre_lon <= 180 and -85 <= site.centre_lat <= 85):
        raise TwinParameterError("the site centre is not a WGS84 position")
    if not 0.2 <= site.area_km2 <= 50:
        raise TwinParameterError(f"area_km2 {site.area_km2} is outside 0.2-50 km²")
    if not 0.3 <= site.aspect <= 3:
        raise TwinParameterError(f"aspect {site.aspect} is outside 0.3-3")
    if min(site.ring_semi_axes_m) <= 2 * site.inner_block_m:
        raise TwinParameterError("the ring road must enclose at least two blocks each way")
    if not 5 <= site.dem_cell_m <= 100:
        raise TwinParameterError("dem_cell_m must be within 5-100 m")
    if not 50 <= site.inner_block_m <= site.outer_block_m <= 1000:
        raise TwinParameterError("need 50 <= inner_block_m <= outer_block_m <= 1000")
    if site.hill_peak_m <= site.river_level_m:
        raise TwinParameterError("the hill must be higher than the river")
    if len(site.school_sites_m) < 1:
        raise TwinParameterError("at least one elementary school site is needed")
    if site.max_school_walk_m <= 0:
        raise TwinParameterError("max_school_walk_m must be positive")
    frame = LocalFrame(site)
    if not frame.ring_polygon.within(frame.site_polygon):
        raise TwinParameterError("the ring road does not fit inside the site")
    for x, y in site.school_sites_m:
        if not frame.site_polygon.contains(shapely.Point(x, y)):
            raise TwinParameterError(f"school site ({x}, {y}) is outside the site")
    if site.zone_area_fraction is not None and not 0 < site.zone_area_fraction <= 0.6:
        raise TwinParameterError("zone_area_fraction must be within (0, 0.6]")
    if site.zone_polygon is not None:
        zone = frame.polygon_from_wgs84(site.zone_polygon)
        if zone.is_empty or not zone.is_valid or zone.area <= 0:
            raise TwinParameterError("the car-restricted zone polygon is not a valid polygon")
        if not zone.within(frame.site_polygon.buffer(1.0)):
            raise TwinParameterError("the car-restricted zone polygon lies outside the site")


class LocalFrame:
    """The local metric frame of a site: outline, ring and WGS84 transforms.

    Parameters
    ----------
    site
        The site parameters.
    """

    def __init__(self, site: SiteParameters) -> None:
        self.site = site
        self._to_local = Transformer.from_crs(WGS84, LOCAL_CRS, always_xy=True)
        self._to_wgs = Transformer.from_crs(LOCAL_CRS, WGS84, always_xy=True)
        self.origin = self._to_local.transform(site.centre_lon, site.centre_lat)

    # -- transforms ---------------------------------------------------------------------------
    def to_wgs84(self, xy: np.ndarray) -> np.ndarray:
        """Local (x, y) [m] -> (lon, lat) [degrees], for an (n, 2) array."""
        pts = np.asarray(xy, dtype=float).reshape(-1, 2)
        lon, lat = self._to_wgs.transform(pts[:, 0] + self.origin[0], pts[:, 1] + self.origin[1])
        return np.column_stack([lon, lat])

    def to_local(self, lonlat: np.ndarray) -> np.ndarray:
        """(lon, lat) [degrees] -> local (x, y) [m], for an (n, 2) array."""
        pts = np.asarray(lonlat, dtype=float).reshape(-1, 2)
        x, y = self._to_local.transform(pts[:, 0], pts[:, 1])
        return np.column_stack([np.asarray(x) - self.origin[0], np.asarray(y) - self.origin[1]])

    def to_projected(self, xy: np.ndarray) -> np.ndarray:
        """Local (x, y) [m] -> EPSG:5186 easting/northing [m]."""
        return np.asarray(xy, dtype=float).reshape(-1, 2) + np.asarray(self.origin)

    def polygon_from_wgs84(self, ring: Sequence[Sequence[float]]) -> Polygon:
        """A local polygon from a WGS84 ring of (lon, lat)."""
        if len(ring) < 4:
            raise TwinParameterError("a polygon ring needs at least four positions")
        return Polygon(self.to_local(np.asarray(ring, dtype=float)))

    # -- the plan -----------------------------------------------------------------------------
    @cached_property
    def site_polygon(self) -> Polygon:
        """The site outline: a rounded rectangle (superellipse, n = 2.6) of the site area [m]."""
        b = 1.0
        a = self.site.aspect
        outline = _superellipse(a, b, 2.6, 96)
        scale = math.sqrt(self.site.area_km2 * 1e6 / outline.area)
        return affinity.scale(outline, scale, scale, origin=(0, 0))

    @cached_property
    def ring_polygon(self) -> Polygon:
        """The area enclosed by the ring road centreline (superellipse, n = 3) [m]."""
        a, b = self.site.ring_semi_axes_m
        dx, dy = self.site.ring_offset_m
        return affinity.translate(_superellipse(a, b, 3.0, 128), dx, dy)

    @property
    def ring_centre(self) -> tuple[float, float]:
        """Centre of the ring [m east, m north]."""
        return self.site.ring_offset_m


def _superellipse(a: float, b: float, n: float, count: int) -> Polygon:
    """A superellipse |x/a|^n + |y/b|^n = 1 as a counter-clockwise polygon."""
    t = np.linspace(0, 2 * np.pi, count, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = a * np.sign(c) * np.abs(c) ** (2 / n)
    y = b * np.sign(s) * np.abs(s) ** (2 / n)
    return Polygon(np.column_stack([np.round(x, 3), np.round(y, 3)]))


def rng_for(seed: int, stage: str) -> np.random.Generator:
    """An independent random generator for one generation stage, fixed by ``seed``."""
    code = int.from_bytes(stage.encode()[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng([seed, code])
