"""The page, its static bundle and its config, served by the application (no browser)."""

from __future__ import annotations

import gzip
import re

import pytest

from cityos.web.pages import STATIC_DIR

BUNDLE = (
    "index.html",
    "app.js",
    "app.css",
    "scenarios.html",
    "scenarios.js",
    "portal.html",
    "portal.js",
    "maplibre-gl.mjs",
    "maplibre-gl-worker.mjs",
)


@pytest.mark.parametrize("name", BUNDLE)
def test_the_built_bundle_is_in_the_package(name):
    path = STATIC_DIR / name
    assert path.is_file() and path.stat().st_size > 0, f"run `make web` to build {name}"


def test_the_bundle_stays_small():
    sizes = {name: (STATIC_DIR / name).stat().st_size for name in BUNDLE}
    assert sizes["app.js"] < 80 * 1024, sizes  # our own code, minified
    assert sum(sizes.values()) < 2 * 1024 * 1024, sizes  # MapLibre included


def test_index_is_the_control_centre_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<script type="module" src="/static/app.js">' in html
    assert 'href="/static/app.css"' in html
    assert 'id="map"' in html and 'id="layer-list"' in html and 'id="inspector"' in html
    assert response.headers["x-content-type-options"] == "nosniff"


def test_scenarios_is_the_comparison_page(client):
    response = client.get("/scenarios")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<script type="module" src="/static/scenarios.js">' in html
    assert 'id="sc-targets"' in html and 'id="sc-kpis"' in html and 'id="sc-modes"' in html


def test_portal_is_the_citizen_page(client):
    response = client.get("/portal")
    assert response.status_code == 200
    html = response.text
    assert '<script type="module" src="/static/portal.js">' in html
    assert 'id="pt-token"' in html and 'type="password"' in html and 'id="pt-grant-form"' in html


def test_the_page_loads_nothing_remote():
    pages = ("index.html", "app.js", "app.css", "scenarios.html", "scenarios.js", "portal.html",
             "portal.js")  # fmt: skip
    text = "".join((STATIC_DIR / n).read_text() for n in pages)
    remote = re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?(https?://[^"')\s]+)""", text)
    assert remote == []
    # Label glyphs come from the page's own server, not a glyph service.
    assert "/static/fonts/{fontstack}/{range}.pbf" in (STATIC_DIR / "app.js").read_text()


@pytest.mark.parametrize("glyph_range", ["0-255", "256-511", "8192-8447"])
def test_label_glyphs_are_served(client, glyph_range):
    response = client.get(
        f"/static/fonts/Noto%20Sans%20Regular/{glyph_range}.pbf",
        headers={"Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    path = STATIC_DIR / "fonts" / "Noto Sans Regular" / f"{glyph_range}.pbf"
    assert response.content == path.read_bytes() and len(response.content) > 10_000
    assert b"Noto Sans Regular" in response.content[:64]  # the PBF's fontstack name
    missing = client.get("/static/fonts/Noto%20Sans%20Regular/44032-44287.pbf")
    assert missing.status_code == 404  # Hangul is drawn by the browser, not shipped
    assert missing.headers["content-type"] == "application/problem+json"


def test_static_assets_have_types_etags_and_gzip(client):
    response = client.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == (STATIC_DIR / "app.js").read_bytes()  # httpx decompressed it
    etag = response.headers["etag"]
    again = client.get("/static/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    plain = client.get("/static/app.css", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["content-type"].startswith("text/css")


def test_gzip_is_smaller_for_the_library(client):
    raw = (STATIC_DIR / "maplibre-gl.mjs").read_bytes()
    response = client.get("/static/maplibre-gl.mjs", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.status_code == 200
    assert len(gzip.compress(raw)) < len(raw) / 2
    assert response.headers["content-encoding"] == "gzip"


@pytest.mark.parametrize(
    "path",
    [
        "/static/nope.js",
        "/static/../pages.py",
        "/static/%2e%2e/pages.py",
        "/static/..%2Fpages.py",
        "/static/",
        "/static/LICENSE-maplibre-gl",
    ],
)
def test_unknown_or_escaping_static_paths_are_404_problems(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_config_tells_the_page_what_it_may_use(client):
    config = client.get("/web/config.json").json()
    assert set(config) == {"version", "terrain", "liveStream", "liveIntervalS"}
    assert isinstance(config["terrain"], bool)
    assert config["liveIntervalS"] > 0


def test_the_map_routes_do_not_shadow_the_hub(client):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/ngsi-ld/v1/entities", params={"type": "Building"}).json() == []
    spec = client.get("/openapi.json").json()["paths"]
    assert "/twin/terrain/hillshade.png" in spec and "/web/config.json" in spec
    assert "/" not in spec and "/static/{path}" not in spec
