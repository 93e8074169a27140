"""Terrain routes: served from the twin's terrain model, 503 problem details without it."""

from __future__ import annotations

import io
import types

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cityos.app import install_error_handlers
from cityos.web.terrain import (
    PNG_SIGNATURE,
    TerrainCache,
    TerrainUnavailable,
    terrain_available,
    terrain_router,
    to_bounds,
)

BOUNDS = (127.289, 36.484, 127.319, 36.504)


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("LA", (4, 3), (128, 255)).save(out, format="PNG")
    return out.getvalue()


class FakeTerrain:
    """A stand-in terrain model recording its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, dict]] = []

    def module(self) -> types.SimpleNamespace:
        def hillshade_png(params):
            self.calls.append(("hillshade_png", params, {}))
            return _png(), BOUNDS

        def contours_geojson(params, interval_m=10.0):
            self.calls.append(("contours_geojson", params, {"interval_m": interval_m}))
            feature = {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[127.3, 36.49], [127.31, 36.5]]},
                "properties": {"elevation": 30.0, "index": False},
            }
            return {"type": "FeatureCollection", "features": [feature]}

        return types.SimpleNamespace(hillshade_png=hillshade_png, contours_geojson=contours_geojson)


def _client(cache: TerrainCache) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(terrain_router(cache))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def fake() -> FakeTerrain:
    return FakeTerrain()


@pytest.fixture
def terrain_client(fake) -> TestClient:
    return _client(TerrainCache(module=fake.module, params=lambda: "default-city"))


def test_hillshade_is_a_png_computed_once(terrain_client, fake):
    first = terrain_client.get("/twin/terrain/hillshade.png")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert first.content.startswith(PNG_SIGNATURE)
    assert terrain_client.get("/twin/terrain/hillshade.png").content == first.content
    assert terrain_client.get("/twin/terrain/bounds.json").status_code == 200
    assert [c[0] for c in fake.calls] == ["hillshade_png"]
    assert fake.calls[0][1] == "default-city"


def test_bounds_give_the_extent_and_the_image_corners(terrain_client):
    bounds = terrain_client.get("/twin/terrain/bounds.json").json()
    w, s, e, n = BOUNDS
    assert (bounds["west"], bounds["south"], bounds["east"], bounds["north"]) == BOUNDS
    assert bounds["coordinates"] == [[w, n], [e, n], [e, s], [w, s]]


def test_contours_are_geojson_with_the_interval_passed_through(terrain_client, fake):
    response = terrain_client.get("/twin/terrain/contours.geojson", params={"interval_m": 5})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    collection = orjson.loads(response.content)
    assert collection["type"] == "FeatureCollection"
    assert collection["features"][0]["properties"]["elevation"] == 30.0
    assert fake.calls[-1] == ("contours_geojson", "default-city", {"interval_m": 5.0})
    default = terrain_client.get("/twin/terrain/contours.geojson")
    assert default.status_code == 200 and fake.calls[-1][2] == {"interval_m": 10.0}


@pytest.mark.parametrize("interval", ["0", "-5", "1000", "ten"])
def test_bad_contour_intervals_are_400(terrain_client, interval):
    response = terrain_client.get("/twin/terrain/contours.geojson", params={"interval_m": interval})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def _missing() -> types.ModuleType:
    raise TerrainUnavailable("the twin terrain model is not available: No module named 'x'")


@pytest.mark.parametrize(
    "path",
    ["/twin/terrain/hillshade.png", "/twin/terrain/contours.geojson", "/twin/terrain/bounds.json"],
)
def test_without_the_twin_every_route_is_a_503_problem(path):
    client = _client(TerrainCache(module=_missing, params=lambda: None))
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 503 and problem["type"].endswith("/TerrainUnavailable")
    assert "not available" in problem["detail"]


def test_a_terrain_model_answering_nonsense_is_a_503_problem():
    broken = types.SimpleNamespace(hillshade_png=lambda params: (b"GIF89a", BOUNDS))
    client = _client(TerrainCache(module=lambda: broken, params=lambda: None))
    response = client.get("/twin/terrain/hillshade.png")
    assert response.status_code == 503
    assert "PNG" in response.json()["detail"]


@pytest.mark.parametrize(
    "value",
    [(1, 2, 3), "west", (127.3, 36.5, 127.2, 36.6), (400000.0, 200000.0, 410000.0, 210000.0)],
)
def test_bounds_must_be_a_wgs84_extent(value):
    with pytest.raises(TerrainUnavailable):
        to_bounds(value)


def test_the_real_terrain_model_is_served_when_installed(client):
    hillshade = client.get("/twin/terrain/hillshade.png")
    if terrain_available():
        assert hillshade.status_code == 200 and hillshade.content.startswith(PNG_SIGNATURE)
        bounds = client.get("/twin/terrain/bounds.json").json()
        assert bounds["west"] < 127.305 < bounds["east"]
        assert bounds["south"] < 36.497 < bounds["north"]
        contours = orjson.loads(client.get("/twin/terrain/contours.geojson").content)
        assert contours["features"] and all(
            f["geometry"]["type"] == "LineString" for f in contours["features"]
        )
        assert client.get("/web/config.json").json()["terrain"] is True
    else:
        assert hillshade.status_code == 503
        assert client.get("/web/config.json").json()["terrain"] is False
