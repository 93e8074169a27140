"""Terrain of the digital twin for the map: hillshade image, contour lines and their extent.

The terrain itself is modelled by :mod:`cityos.twin.terrain` (``dem``, ``hillshade_png``,
``contours_geojson``); this module only serves it. It is imported lazily, so the hub and the map
keep working (the map without its terrain layer) on an installation without the twin: then each
route answers ``503`` problem details.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from cityos.core.errors import CITYOS_PROBLEM_BASE, CityOSError

TERRAIN_MODULE = "cityos.twin.terrain"
SITE_MODULE = "cityos.twin.site"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class TerrainUnavailable(CityOSError):
    """The twin's terrain model is not installed or cannot be computed (503)."""

    type_uri = CITYOS_PROBLEM_BASE + "TerrainUnavailable"
    title = "Terrain unavailable"
    status = 503


@dataclass(frozen=True)
class Bounds:
    """A geographic extent in WGS 84 degrees (west, south, east, north) [°]."""

    west: float
    south: float
    east: float
    north: float

    def as_dict(self) -> dict[str, Any]:
        """The extent, plus the four corners in the order MapLibre's image source wants."""
        w, s, e, n = self.west, self.south, self.east, self.north
        return {
            "west": w,
            "south": s,
            "east": e,
            "north": n,
            "coordinates": [[w, n], [e, n], [e, s], [w, s]],
        }


def to_bounds(value: Any) -> Bounds:
    """Read an extent given as ``(west, south, east, north)`` [°].

    Raises
    ------
    TerrainUnavailable
        When the value is not an extent in degrees.
    """
    try:
        w, s, e, n = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise TerrainUnavailable(
            f"terrain bounds are not (west, south, east, north): {value!r}"
        ) from exc
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise TerrainUnavailable(f"terrain bounds are not a WGS 84 extent: {[w, s, e, n]}")
    return Bounds(w, s, e, n)


def default_params() -> Any:
    """The twin generator's default parameters: the city that ``cityos demo`` seeds."""
    try:
        site = importlib.import_module(SITE_MODULE)
    except ImportError as exc:
        raise TerrainUnavailable(f"the twin site model is not available: {exc}") from exc
    return site.GeneratorParameters()


def load_terrain() -> ModuleType:
    """The twin's terrain module, or ``TerrainUnavailable`` when it is not installed."""
    try:
        return importlib.import_module(TERRAIN_MODULE)
    except ImportError as exc:
        raise TerrainUnavailable(f"the twin terrain model is not available: {exc}") from exc


def terrain_available() -> bool:
    """Whether the twin's terrain model can be imported here (with its dependencies)."""
    try:
        load_terrain()
        default_params()
    except TerrainUnavailable:
        return False
    return True


@dataclass
class TerrainCache:
    """Terrain products computed once per server (the default city does not change).

    Parameters
    ----------
    module
        Returns the terrain model module (default: :func:`load_terrain`).
    params
        Returns the parameters to call it with (default: :func:`default_params`).
    """

    module: Callable[[], ModuleType] = load_terrain
    params: Callable[[], Any] = default_params
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _hillshade: tuple[bytes, Bounds] | None = None
    _contours: dict[float, bytes] = field(default_factory=dict)

    def _call(self, name: str, **kwargs: Any) -> Any:
        func = getattr(self.module(), name, None)
        if not callable(func):
            raise TerrainUnavailable(f"{TERRAIN_MODULE}.{name} does not exist")
        return func(self.params(), **kwargs)

    def hillshade(self) -> tuple[bytes, Bounds]:
        """PNG bytes of the hillshade and the extent it covers."""
        with self._lock:
            if self._hillshade is None:
                result = self._call("hillshade_png")
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise TerrainUnavailable("hillshade_png must return (png_bytes, bounds)")
                png, bounds = result
                if not isinstance(png, bytes | bytearray) or bytes(png[:8]) != PNG_SIGNATURE:
                    raise TerrainUnavailable("hillshade_png did not return a PNG image")
                self._hillshade = (bytes(png), to_bounds(bounds))
            return self._hillshade

    def contours(self, interval_m: float) -> bytes:
        """Contour lines every ``interval_m`` metres as a GeoJSON FeatureCollection (bytes)."""
        with self._lock:
            if interval_m not in self._contours:
                result = self._call("contours_geojson", interval_m=interval_m)
                if isinstance(result, str):
                    result = result.encode()
                if not isinstance(result, bytes | bytearray):
                    result = orjson.dumps(result)
                self._contours[interval_m] = bytes(result)
            return self._contours[interval_m]


def terrain_router(cache: TerrainCache | None = None) -> APIRouter:
    """``GET /twin/terrain/hillshade.png``, ``/contours.geojson`` and ``/bounds.json``."""
    router = APIRouter(prefix="/twin/terrain", tags=["Twin"])
    terrain = cache or TerrainCache()
    cache_headers = {"Cache-Control": "public, max-age=300"}

    @router.get(
        "/hillshade.png",
        summary="Hillshade of the twin's terrain (PNG, WGS 84 extent in bounds.json)",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}, 503: {"description": "No terrain model"}},
    )
    def hillshade() -> Response:
        png, _ = terrain.hillshade()
        return Response(png, media_type="image/png", headers=cache_headers)

    @router.get(
        "/contours.geojson",
        summary="Contour lines of the twin's terrain (GeoJSON FeatureCollection)",
        response_class=Response,
        responses={200: {"content": {"application/geo+json": {}}}},
    )
    def contours(
        interval_m: float = Query(10.0, gt=0.5, le=200.0, description="Contour interval [m]."),
    ) -> Response:
        body = terrain.contours(interval_m)
        return Response(body, media_type="application/geo+json", headers=cache_headers)

    @router.get("/bounds.json", summary="WGS 84 extent of the terrain images [°]")
    def bounds() -> dict[str, Any]:
        _, extent = terrain.hillshade()
        return extent.as_dict()

    return router
