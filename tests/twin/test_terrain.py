"""Terrain: the DEM (hill east, low ground at the confluence), hillshade PNG and contours."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cityos.twin.site import GeneratorParameters, LocalFrame, SiteParameters
from cityos.twin.terrain import contours_geojson, dem, hillshade_png


def test_dem_has_the_hill_to_the_east_and_low_ground_south_west():
    surface = dem(GeneratorParameters())
    assert 20 <= surface.cell_m <= 25
    assert surface.z.max() == pytest.approx(194.0, abs=1.0)
    i, j = np.unravel_index(np.argmax(surface.z), surface.z.shape)
    assert surface.x[j] > 700  # east
    site = LocalFrame(SiteParameters()).site_polygon
    minx, miny, maxx, maxy = site.bounds
    south_west = surface.sample(np.array([[minx + 150, miny + 150]]))[0]
    north_east = surface.sample(np.array([[maxx - 300, maxy - 150]]))[0]
    assert south_west < 40 < north_east
    assert surface.sample(np.array([[surface.x[j], surface.y[i]]]))[0] == pytest.approx(
        surface.z[i, j]
    )


def test_dem_depends_on_the_site_not_the_seed():
    a = dem(GeneratorParameters(seed=1))
    b = dem(GeneratorParameters(seed=2))
    assert np.array_equal(a.z, b.z)
    description = a.to_dict()
    assert description["crs"] == "EPSG:5186"
    assert len(description["elevation"]) == description["rows"]


def test_hillshade_png_and_its_bounds():
    png, bounds = hillshade_png(GeneratorParameters())
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "LA"
    west, south, east, north = bounds
    assert 127.27 < west < 127.304 < east < 127.34
    assert 36.47 < south < 36.494 < north < 36.52
    grey = np.asarray(image)[..., 0]
    assert grey.std() > 3  # shaded relief, not a flat image


def test_contours_every_10_m():
    collection = contours_geojson(GeneratorParameters(), interval_m=10)
    levels = {f["properties"]["elevation"] for f in collection["features"]}
    assert {20.0, 100.0, 190.0} <= levels
    assert all(level % 10 == 0 for level in levels)
    first = collection["features"][0]["geometry"]
    assert first["type"] == "LineString"
    lon, lat = first["coordinates"][0]
    assert 127.2 < lon < 127.4 and 36.4 < lat < 36.6
    with pytest.raises(ValueError):
        contours_geojson(GeneratorParameters(), interval_m=0)
