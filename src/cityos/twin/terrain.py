"""Terrain of the site: a digital elevation model, its hillshade and contour lines.

The DEM is synthetic but follows the site facts of ``MISSION.md`` §2 and the 5-1 plan: low ground
at the Geum/Miho confluence south-west of the site (river level ~14 m) rising gently to the
north-east, and a 194 m hill to the east. It is a pure function of the site parameters (not of the
seed), so every generated city stands on the same ground.

The three public functions are what the web layer serves under ``/twin/terrain/...``:
:func:`dem`, :func:`hillshade_png` and :func:`contours_geojson`.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import contourpy
import numpy as np
from PIL import Image

from cityos.twin.nature import distance_to_rivers
from cityos.twin.site import LOCAL_CRS, GeneratorParameters, LocalFrame, SiteParameters

#: Margin of the DEM around the site outline [m].
DEM_MARGIN_M = 300.0


@dataclass(frozen=True)
class Dem:
    """A regular elevation grid in the local frame.

    Attributes
    ----------
    z
        Elevations [m], shape (rows, cols); row 0 is the southernmost row.
    x, y
        Local coordinates of the cell centres [m east, m north of the site centre].
    cell_m
        Cell size [m].
    origin
        EPSG:5186 easting/northing of the local origin [m].
    """

    z: np.ndarray
    x: np.ndarray
    y: np.ndarray
    cell_m: float
    origin: tuple[float, float]

    def sample(self, xy: np.ndarray) -> np.ndarray:
        """Bilinear elevation [m] at local points (n, 2) [m]; clamped at the grid edge."""
        pts = np.asarray(xy, dtype=float).reshape(-1, 2)
        fx = np.clip((pts[:, 0] - self.x[0]) / self.cell_m, 0, len(self.x) - 1.000001)
        fy = np.clip((pts[:, 1] - self.y[0]) / self.cell_m, 0, len(self.y) - 1.000001)
        i, j = fy.astype(int), fx.astype(int)
        ty, tx = fy - i, fx - j
        z = self.z
        return (
            z[i, j] * (1 - tx) * (1 - ty)
            + z[i, j + 1] * tx * (1 - ty)
            + z[i + 1, j] * (1 - tx) * ty
            + z[i + 1, j + 1] * tx * ty
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: grid origin and size in EPSG:5186, rows north first."""
        return {
            "crs": LOCAL_CRS,
            "cellSize": self.cell_m,
            "xllcenter": round(self.origin[0] + float(self.x[0]), 3),
            "yllcenter": round(self.origin[1] + float(self.y[0]), 3),
            "cols": int(self.z.shape[1]),
            "rows": int(self.z.shape[0]),
            "elevation": np.round(self.z[::-1], 2).tolist(),
        }


def _site(params: GeneratorParameters | SiteParameters) -> SiteParameters:
    return params.site if isinstance(params, GeneratorParameters) else params


def dem(params: GeneratorParameters | SiteParameters) -> Dem:
    """The digital elevation model of the site [m].

    Elevation = river level + a rise with distance from the rivers (30 m over ~600 m)
    + gentle undulation (±4 m) + a Gaussian hill (sigma = 330 m) scaled so that its summit reaches
    ``hill_peak_m`` (194 m).
    """
    site = _site(params)
    frame = LocalFrame(site)
    minx, miny, maxx, maxy = frame.site_polygon.bounds
    cell = site.dem_cell_m
    x = np.arange(minx - DEM_MARGIN_M, maxx + DEM_MARGIN_M + cell, cell)
    y = np.arange(miny - DEM_MARGIN_M, maxy + DEM_MARGIN_M + cell, cell)
    gx, gy = np.meshgrid(x, y)
    hx, hy = site.hill_offset_m

    def base(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        rise = 30.0 * (1 - np.exp(-distance_to_rivers(frame, px, py) / 600.0))
        wave = 2.5 * np.sin(px / 210.0 + 0.7) * np.cos(py / 260.0 - 0.4) + 1.5 * np.sin(
            (px + py) / 330.0
        )
        return site.river_level_m + rise + wave

    peak = np.array([[float(hx)]]), np.array([[float(hy)]])
    amplitude = site.hill_peak_m - float(base(*peak)[0, 0])
    hill = amplitude * np.exp(-((gx - hx) ** 2 + (gy - hy) ** 2) / (2 * 330.0**2))
    z = np.maximum(base(gx, gy) + hill, site.river_level_m - 2.0)
    return Dem(z=z, x=x, y=y, cell_m=cell, origin=(frame.origin[0], frame.origin[1]))


def hillshade(surface: Dem, azimuth_deg: float = 315.0, altitude_deg: float = 45.0) -> np.ndarray:
    """Hillshade in [0, 1] of the DEM grid (same shape; row 0 south).

    Lambertian reflectance of the surface normal for a sun at ``azimuth_deg`` (clockwise from
    north) and ``altitude_deg`` above the horizon (Horn-style gradients, ESRI hillshade formula).
    """
    dzdy, dzdx = np.gradient(surface.z, surface.cell_m)
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, -dzdy)  # direction the slope faces, clockwise from north
    zenith = math.radians(90.0 - altitude_deg)
    azimuth = math.radians(azimuth_deg)
    shade = math.cos(zenith) * np.cos(slope) + math.sin(zenith) * np.sin(slope) * np.cos(
        azimuth - aspect
    )
    return np.clip(shade, 0.0, 1.0)


def bounds_wgs84(params: GeneratorParameters | SiteParameters) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the DEM grid [degrees]."""
    surface = dem(params)
    frame = LocalFrame(_site(params))
    corners = np.array(
        [
            [surface.x[0], surface.y[0]],
            [surface.x[-1], surface.y[0]],
            [surface.x[-1], surface.y[-1]],
            [surface.x[0], surface.y[-1]],
        ]
    )
    lonlat = frame.to_wgs84(corners)
    return (
        float(lonlat[:, 0].min()),
        float(lonlat[:, 1].min()),
        float(lonlat[:, 0].max()),
        float(lonlat[:, 1].max()),
    )


def hillshade_png(
    params: GeneratorParameters | SiteParameters, *, scale: int = 2
) -> tuple[bytes, tuple[float, float, float, float]]:
    """A hillshade PNG (grey + alpha) on a regular WGS84 grid, and its bounds.

    Parameters
    ----------
    params
        Generator or site parameters.
    scale
        Output pixels per DEM cell along each axis.

    Returns
    -------
    png, bounds
        The PNG bytes (north up, one pixel column per equal longitude step) and
        (west, south, east, north) [degrees], ready for a MapLibre ``image`` source.
    """
    surface = dem(params)
    frame = LocalFrame(_site(params))
    shade = hillshade(surface)
    west, south, east, north = bounds_wgs84(params)
    rows, cols = surface.z.shape[0] * scale, surface.z.shape[1] * scale
    lon = west + (np.arange(cols) + 0.5) * (east - west) / cols
    lat = north - (np.arange(rows) + 0.5) * (north - south) / rows
    glon, glat = np.meshgrid(lon, lat)
    local = frame.to_local(np.column_stack([glon.ravel(), glat.ravel()]))
    inside = (
        (local[:, 0] >= surface.x[0])
        & (local[:, 0] <= surface.x[-1])
        & (local[:, 1] >= surface.y[0])
        & (local[:, 1] <= surface.y[-1])
    )
    shaded = Dem(shade, surface.x, surface.y, surface.cell_m, surface.origin).sample(local)
    grey = np.clip(shaded * 255, 0, 255).astype(np.uint8).reshape(rows, cols)
    alpha = np.where(inside, 255, 0).astype(np.uint8).reshape(rows, cols)
    image = Image.fromarray(np.dstack([grey, alpha]), mode="LA")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), (west, south, east, north)


def contours_geojson(
    params: GeneratorParameters | SiteParameters, interval_m: float = 10.0
) -> dict[str, Any]:
    """Contour lines of the DEM as a GeoJSON FeatureCollection in WGS84.

    Each feature is a LineString with ``elevation`` [m] and ``index`` (true every fifth line).
    """
    if not interval_m > 0:
        raise ValueError(f"interval_m must be positive, not {interval_m}")
    surface = dem(params)
    frame = LocalFrame(_site(params))
    gen = contourpy.contour_generator(surface.x, surface.y, surface.z, line_type="Separate")
    start = math.ceil(float(surface.z.min()) / interval_m) * interval_m
    features = []
    for level in np.arange(start, float(surface.z.max()), interval_m):
        for line in gen.lines(float(level)):
            if len(line) < 2:
                continue
            coords = np.round(frame.to_wgs84(line), 7).tolist()
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": coords},
                    "properties": {
                        "elevation": round(float(level), 2),
                        "index": bool(round(level / interval_m) % 5 == 0),
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}
