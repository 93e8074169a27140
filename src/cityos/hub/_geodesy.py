"""Plumbing for :mod:`cityos.hub.geo`: coordinate checks, WGS84 geodesics, search boxes.

Everything here works on plain ``(longitude, latitude)`` degrees and metres on the WGS84 ellipsoid
(the GeoJSON coordinate reference system, IETF RFC 7946 §4).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import shapely
from pyproj import Geod

from cityos.core.errors import BadRequestData

#: The WGS84 ellipsoid, shared: its geodesic routines keep no state between calls.
GEOD = Geod(ellps="WGS84")

#: WGS84 semi-major axis [m].
_A = 6378137.0
#: WGS84 first eccentricity squared [-].
_E2 = 0.00669437999014
#: Smallest meridional radius of curvature (at the equator), ``a (1 - e²)`` [m].
_MERIDIAN_RADIUS_MIN = _A * (1.0 - _E2)

#: Nesting depth of ``coordinates`` below which positions sit, per GeoJSON geometry type.
DEPTH: dict[str, int] = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}

#: Longest edge [deg] kept before projecting: longer edges are split so that a straight edge in
#: longitude/latitude and its image in the local projection stay within centimetres of each other.
_SEGMENT_DEG = 0.01

#: Absolute slack [m] added to search radii to absorb projection and rounding error.
_SLACK_M = 1.0


def positions(gtype: str, coordinates: Any) -> Iterator[Sequence[float]]:
    """Yield every position of a validated geometry's ``coordinates``."""
    depth = DEPTH[gtype]
    if depth == 0:
        yield coordinates
        return
    stack: list[tuple[Any, int]] = [(coordinates, depth)]
    while stack:
        items, level = stack.pop()
        if level == 1:
            yield from items
        else:
            stack.extend((item, level - 1) for item in items)


def box_of(gtype: str, coordinates: Any) -> tuple[float, float, float, float]:
    """``(min_lon, max_lon, min_lat, max_lat)`` [deg] of a validated geometry's positions."""
    if gtype == "Point":
        lon, lat = float(coordinates[0]), float(coordinates[1])
        return lon, lon, lat, lat
    lons: list[float] = []
    lats: list[float] = []
    for position in positions(gtype, coordinates):
        lons.append(position[0])
        lats.append(position[1])
    return float(min(lons)), float(max(lons)), float(min(lats)), float(max(lats))


def kind(value: object) -> str:
    """JSON name of a value's kind, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, (list, tuple)) else "object"


def _position(value: object, path: str, gtype: str, dims: list[int]) -> list[float]:
    """Check one position [lon, lat(, alt)]; ``dims`` remembers the dimension seen first."""
    if not isinstance(value, (list, tuple)):
        raise BadRequestData(
            f"{path} must be a position [longitude, latitude], got {kind(value)} "
            f"(wrong nesting depth for {gtype}?)"
        )
    if any(isinstance(item, (list, tuple)) for item in value):
        raise BadRequestData(
            f"{path} must be a position [longitude, latitude] but holds arrays "
            f"(wrong nesting depth for {gtype})"
        )
    if len(value) not in (2, 3):
        raise BadRequestData(f"{path} must hold 2 or 3 numbers, got {len(value)}")
    for index, number in enumerate(value):
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise BadRequestData(f"{path}[{index}] must be a number, got {kind(number)}")
        if not math.isfinite(number):
            raise BadRequestData(f"{path}[{index}] must be a finite number, got {number}")
    lon, lat = value[0], value[1]
    if not -180 <= lon <= 180:
        raise BadRequestData(f"{path}: longitude {lon} is outside [-180, 180]")
    if not -90 <= lat <= 90:
        raise BadRequestData(f"{path}: latitude {lat} is outside [-90, 90]")
    if not dims:
        dims.append(len(value))
    elif dims[0] != len(value):
        raise BadRequestData(f"{path}: {gtype} mixes 2D and 3D positions")
    return list(value)


def _array(value: object, path: str, gtype: str, what: str, minimum: int) -> list[Any]:
    """Check an array of at least ``minimum`` arrays (positions, rings, lines or polygons)."""
    if not isinstance(value, (list, tuple)):
        raise BadRequestData(
            f"{path} must be an array of {what}, got {kind(value)} "
            f"(wrong nesting depth for {gtype}?)"
        )
    stray = [item for item in value if not isinstance(item, (list, tuple))]
    if stray:
        raise BadRequestData(
            f"{path} must be an array of {what} but holds a {kind(stray[0])} "
            f"(wrong nesting depth for {gtype}?)"
        )
    if len(value) < minimum:
        raise BadRequestData(f"{path} must hold at least {minimum} {what}, got {len(value)}")
    return list(value)


def _line(value: object, path: str, gtype: str, dims: list[int]) -> list[list[float]]:
    line = [
        _position(p, f"{path}[{i}]", gtype, dims)
        for i, p in enumerate(_array(value, path, gtype, "positions", 2))
    ]
    if all(p[:2] == line[0][:2] for p in line):
        raise BadRequestData(f"{path}: a line needs 2 distinct positions (use a Point instead)")
    return line


def _polygon(value: object, path: str, gtype: str, dims: list[int]) -> list[list[list[float]]]:
    rings = []
    for r, ring_value in enumerate(_array(value, path, gtype, "linear rings", 1)):
        ring_path = f"{path}[{r}]"
        ring = [
            _position(p, f"{ring_path}[{i}]", gtype, dims)
            for i, p in enumerate(_array(ring_value, ring_path, gtype, "positions", 4))
        ]
        if ring[0] != ring[-1]:
            raise BadRequestData(
                f"{ring_path}: linear ring is not closed (first position {ring[0]} differs "
                f"from last {ring[-1]})"
            )
        rings.append(ring)
    return rings


def check_coordinates(gtype: str, value: object, path: str) -> list[Any]:
    """Check ``coordinates`` for ``gtype`` and return them as fresh lists (numbers untouched)."""
    dims: list[int] = []
    if gtype == "Point":
        return _position(value, path, gtype, dims)
    if gtype == "MultiPoint":
        items = _array(value, path, gtype, "positions", 1)
        return [_position(p, f"{path}[{i}]", gtype, dims) for i, p in enumerate(items)]
    if gtype == "LineString":
        return _line(value, path, gtype, dims)
    if gtype == "MultiLineString":
        items = _array(value, path, gtype, "line strings", 1)
        return [_line(p, f"{path}[{i}]", gtype, dims) for i, p in enumerate(items)]
    if gtype == "Polygon":
        return _polygon(value, path, gtype, dims)
    items = _array(value, path, gtype, "polygons", 1)
    return [_polygon(p, f"{path}[{i}]", gtype, dims) for i, p in enumerate(items)]


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance [m] between two points on the WGS84 ellipsoid."""
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def min_distance(first: Sequence[Sequence[float]], second: Sequence[Sequence[float]]) -> float:
    """Smallest geodesic distance [m] between any point of ``first`` and any point of ``second``."""
    a = np.asarray([p[:2] for p in first], dtype=float)
    b = np.asarray([p[:2] for p in second], dtype=float)
    lon1 = np.repeat(a[:, 0], len(b))
    lat1 = np.repeat(a[:, 1], len(b))
    lon2 = np.tile(b[:, 0], len(a))
    lat2 = np.tile(b[:, 1], len(a))
    return float(np.min(GEOD.inv(lon1, lat1, lon2, lat2)[2]))


def project(geometry: shapely.Geometry, lon0: float, lat0: float) -> shapely.Geometry:
    """Map a lon/lat geometry to the azimuthal equidistant projection centred on (lon0, lat0).

    The projection is the exact ellipsoidal one: a vertex at geodesic distance ``s`` [m] and
    azimuth ``az`` from the centre lands at ``(s sin az, s cos az)``. Distances from the centre are
    therefore exact; other distances are overestimated by the ratio of geodesic to reduced length
    (under 0.1 % within 300 km of the centre). Long edges are first split in longitude/latitude so
    that the projected shape follows the GeoJSON edges.
    """
    geometry = shapely.segmentize(shapely.force_2d(geometry), _SEGMENT_DEG)

    def _to_plane(xy: np.ndarray) -> np.ndarray:
        lon = np.full(len(xy), lon0)
        lat = np.full(len(xy), lat0)
        azimuth, _, dist = GEOD.inv(lon, lat, xy[:, 0], xy[:, 1])
        angle = np.radians(azimuth)
        return np.column_stack((dist * np.sin(angle), dist * np.cos(angle)))

    return shapely.transform(geometry, _to_plane)


def search_box(
    box: tuple[float, float, float, float], radius_m: float
) -> tuple[float, float, float, float] | None:
    """Widen a lon/lat box so that it holds every point within ``radius_m`` [m] of the box.

    A geodesic of length ``s`` changes latitude by at most ``s / M_min`` (``M_min`` the smallest
    meridional radius) and, while it stays below latitude ``φ``, longitude by at most
    ``s / (a cos φ)`` (``a cos φ`` bounds the radius of every parallel it crosses from below).

    Returns
    -------
    tuple of float or None
        ``(min_lon, max_lon, min_lat, max_lat)`` [deg], or None when the widened box would reach a
        pole or cross the antimeridian (no single box is then both safe and useful).
    """
    min_lon, max_lon, min_lat, max_lat = box
    reach = radius_m * (1.0 + 1e-6) + _SLACK_M
    dlat = math.degrees(reach / _MERIDIAN_RADIUS_MIN)
    south, north = min_lat - dlat, max_lat + dlat
    if south <= -90.0 or north >= 90.0:
        return None
    phi = math.radians(max(abs(south), abs(north)))
    dlon = math.degrees(reach / (_A * math.cos(phi)))
    west, east = min_lon - dlon, max_lon + dlon
    if west < -180.0 or east > 180.0:
        return None
    return west, east, south, north
