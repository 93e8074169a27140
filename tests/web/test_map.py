"""The control-centre map in a real browser: Debian's Chromium driven by Playwright.

A session starts ``cityos serve`` on a free loopback port with a fresh data directory, loads a
small district through the public NGSI-LD API, and opens the page. Screenshots go to
``tests/artifacts/`` (git-ignored). Chromium comes from ``scripts/chromium.sh``; Playwright never
downloads a browser.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from district import district
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from browser_kit import CHROMIUM_ARGS, ROOT, Console, chromium_path, cityos_server

ARTIFACTS = ROOT / "tests" / "artifacts"
VIEWPORT = {"width": 1600, "height": 900}
READY_TIMEOUT_MS = 120_000
BACKGROUND = (7, 11, 20)  # --bg, #070b14
ENTITIES = district()
BY_ID = {e["id"]: e for e in ENTITIES}


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_path()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real ``cityos serve`` process holding the test district."""
    with cityos_server(tmp_path_factory.mktemp("web-hub")) as base:
        loaded = httpx.post(f"{base}/ngsi-ld/v1/entityOperations/upsert", json=ENTITIES, timeout=60)
        assert loaded.status_code == 201, loaded.text
        yield base


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """Chromium for this module. Playwright's sync API runs an event loop in this thread while
    it is open, so it is closed with the module: later tests may call ``asyncio.run``."""
    with sync_playwright() as playwright:
        the_browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield the_browser
        the_browser.close()


def open_map(browser: Browser, base: str, locale: str = "en-GB") -> tuple[Page, Console]:
    """A new page on the map, returned once every layer is loaded and drawn."""
    # Playwright's string predicates need eval, which the page's CSP forbids; the page itself
    # is checked under its CSP in tests/privacy/test_page_csp.py.
    context = browser.new_context(viewport=VIEWPORT, locale=locale, bypass_csp=True)
    page = context.new_page()
    console = Console(page)
    page.goto(base + "/")
    page.wait_for_function("document.body.dataset.state === 'ready'", timeout=READY_TIMEOUT_MS)
    return page, console


@pytest.fixture(scope="module")
def page(browser: Browser, server: str) -> Iterator[tuple[Page, Console]]:
    """One loaded map shared by the tests of this module; each test leaves it as it found it."""
    page, console = open_map(browser, server)
    yield page, console
    page.context.close()


def settle(page: Page, timeout_s: float = 120) -> None:
    """Wait until the map has drawn every change (MapLibre's ``idle``)."""
    idle = page.evaluate(
        """(timeoutMs) => new Promise((resolve) => {
            const map = window.cityos.map;
            const timer = setTimeout(() => resolve(false), timeoutMs);
            map.once('idle', () => { clearTimeout(timer); resolve(true); });
            map.triggerRepaint();
        })""",
        timeout_s * 1000,
    )
    assert idle, f"the map did not become idle within {timeout_s} s"


def map_pixels(page: Page, name: str) -> np.ndarray:
    """A screenshot of the map area as an RGB array, also saved under tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = page.locator("#map").screenshot()
    (ARTIFACTS / f"{name}.png").write_bytes(png)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def count_of(type_: str) -> int:
    return sum(1 for e in ENTITIES if e["type"] == type_)


def test_page_loads_every_layer_without_console_errors(page):
    the_page, console = page
    page_state: dict[str, Any] = the_page.evaluate(
        "({errors: window.cityos.errors, ready: window.cityos.readyAt})"
    )
    assert page_state["errors"] == []
    assert console.errors == []
    assert the_page.locator("#hub-status").get_attribute("data-state") == "live"
    assert the_page.locator("#count-buildings").inner_text() == str(count_of("Building"))
    assert the_page.locator("#count-roads").inner_text() == str(count_of("RoadSegment"))
    assert the_page.locator("#count-air").inner_text() == str(count_of("AirQualityObserved"))
    assert the_page.locator("#kpi-buildings").inner_text() == str(count_of("Building"))
    the_page.screenshot(path=str(ARTIFACTS / "control-centre.png"))


def test_the_map_is_drawn(page):
    the_page, _ = page
    pixels = map_pixels(the_page, "map")
    background = np.abs(pixels - np.array(BACKGROUND)).sum(axis=2) <= 12
    drawn = 1.0 - background.mean()
    assert drawn > 0.35, f"only {drawn:.0%} of the map differs from the background"
    quantised = {tuple(c) for c in (pixels[::3, ::3] // 32).reshape(-1, 3).tolist()}
    assert len(quantised) >= 40, f"only {len(quantised)} distinct colours"
    # The building palette is there: residential amber and office blue, within tolerance.
    for colour in ((233, 169, 58), (79, 143, 247)):
        near = (np.abs(pixels - np.array(colour)).sum(axis=2) < 90).mean()
        assert near > 0.001, f"no pixels near building colour {colour}"


def test_toggling_a_layer_changes_the_picture(page):
    the_page, _ = page
    before = map_pixels(the_page, "map-buildings-on")
    the_page.get_by_label("Buildings (3-D)").uncheck()
    settle(the_page)
    assert (
        the_page.evaluate("window.cityos.map.getLayoutProperty('buildings-3d', 'visibility')")
        == "none"
    )
    after = map_pixels(the_page, "map-buildings-off")
    changed = (np.abs(before - after).sum(axis=2) > 30).mean()
    assert changed > 0.02, f"hiding buildings changed only {changed:.2%} of the pixels"
    the_page.get_by_label("Buildings (3-D)").check()
    settle(the_page)
    restored = map_pixels(the_page, "map-buildings-again")
    assert (np.abs(before - restored).sum(axis=2) > 30).mean() < changed / 4


FIND_BUILDING = """() => {
    const map = window.cityos.map;
    const canvas = map.getCanvas().getBoundingClientRect();
    const others = ['air-circle', 'parking-icon', 'parking-ring', 'stops-icon', 'pois-icon',
                    'devices-icon'];
    for (let y = canvas.height * 0.3; y < canvas.height * 0.85; y += 23) {
        for (let x = canvas.width * 0.25; x < canvas.width * 0.75; x += 23) {
            const box = [[x - 10, y - 10], [x + 10, y + 10]];
            if (map.queryRenderedFeatures(box, {layers: others}).length) continue;
            const hit = map.queryRenderedFeatures([x, y], {layers: ['buildings-3d']});
            if (hit.length) return {x, y};
        }
    }
    return null;
}"""


def _inspected(the_page: Page) -> dict[str, str]:
    the_page.wait_for_selector("#inspector .attr-table", timeout=30_000)
    rows = the_page.locator("#inspector .attr-table tbody tr")
    table = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        table[row.locator("th").inner_text()] = row.locator("td").inner_text()
    return table


def test_clicking_a_building_shows_its_attributes(page):
    the_page, console = page
    point = the_page.evaluate(FIND_BUILDING)
    assert point, "no building found on screen"
    box = the_page.locator("#map").bounding_box()
    the_page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    table = _inspected(the_page)
    entity_id = the_page.locator("#inspector").get_attribute("data-entity-id")
    entity = BY_ID[entity_id]
    assert entity["type"] == "Building"
    assert the_page.locator("#inspector .entity-name").inner_text() == entity["name"]["value"]
    assert the_page.locator("#inspector .entity-id").inner_text() == entity_id
    assert table["Height"] == f"{entity['height']['value']:g} m"
    assert table["Floors"] == str(entity["floorsAboveGround"]["value"])
    assert table["Category"] == ", ".join(entity["category"]["value"])
    assert table["Location"].startswith("Polygon")
    assert table["Built"] == str(entity["builtYear"]["value"])
    # The selection is highlighted on the map too.
    settle(the_page)
    highlighted = "window.cityos.map.queryRenderedFeatures({layers: ['selection-extrusion']})"
    assert the_page.evaluate(f"{highlighted}.length") >= 1
    the_page.screenshot(path=str(ARTIFACTS / "inspector-building.png"))
    # A relationship opens the related entity: the city graph can be walked from the map.
    block_id = entity["refBlock"]["object"]
    the_page.get_by_role("button", name=block_id).click()
    the_page.wait_for_function(
        f"document.getElementById('inspector').dataset.entityId === {block_id!r}"
        " && !!document.querySelector('#inspector .attr-table')"
    )
    assert the_page.locator("#inspector .entity-type").inner_text() == "UrbanBlock"
    the_page.keyboard.press("Escape")
    assert the_page.locator("#inspector").is_hidden()
    assert console.errors == []


def test_clicking_a_facility_shows_its_live_attributes(page):
    the_page, _ = page
    parking = next(e for e in ENTITIES if e["type"] == "OffStreetParking")
    lon, lat = parking["location"]["value"]["coordinates"]
    point = the_page.evaluate(f"window.cityos.map.project([{lon}, {lat}])")
    box = the_page.locator("#map").bounding_box()
    the_page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    table = _inspected(the_page)
    assert the_page.locator("#inspector").get_attribute("data-entity-id") == parking["id"]
    assert table["Free spaces"].startswith(str(parking["availableSpotNumber"]["value"]))
    assert "Observed" in table["Free spaces"]
    assert table["Total spaces"] == str(parking["totalSpotNumber"]["value"])
    the_page.locator("#inspector-close").click()
    assert the_page.locator("#inspector").is_hidden()


def test_keyboard_reaches_and_operates_the_layer_toggles(page):
    the_page, _ = page
    the_page.locator("body").focus()
    reached = []
    for _ in range(40):
        the_page.keyboard.press("Tab")
        reached.append(the_page.evaluate("document.activeElement.id"))
        if reached[-1] == "toggle-roads":
            break
    assert "toggle-roads" in reached, reached
    assert reached.index("toggle-terrain") < reached.index("toggle-roads")
    outline = the_page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # a visible focus indicator
    the_page.keyboard.press("Space")
    assert not the_page.locator("#toggle-roads").is_checked()
    assert (
        the_page.evaluate("window.cityos.map.getLayoutProperty('roads-line', 'visibility')")
        == "none"
    )
    the_page.keyboard.press("Space")
    assert the_page.locator("#toggle-roads").is_checked()


CONTRAST = """(selectors) => {
    const rgb = (s) => s.match(/[\\d.]+/g).map(Number);
    const lum = ([r, g, b]) => {
        const f = (c) => {
            c /= 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
        for (let n = el; n; n = n.parentElement) {
            const c = rgb(getComputedStyle(n).backgroundColor);
            if (c.length < 4 || c[3] > 0.9) return c.slice(0, 3);
        }
        return [7, 11, 20];
    };
    const out = {};
    for (const sel of selectors) {
        const el = document.querySelector(sel);
        if (!el) { out[sel] = null; continue; }
        const a = lum(rgb(getComputedStyle(el).color).slice(0, 3));
        const b = lum(background(el));
        out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }
    return out;
}"""


def test_text_contrast_meets_wcag_aa(page):
    the_page, _ = page
    selectors = [
        ".brand-title", ".brand-place", ".status-label", ".status-detail", ".clock-time",
        ".clock-date", ".panel-title", ".kpi dt", ".kpi dd", ".layer-row label",
        ".layer-row .count", ".legend-list li", ".aqi-range", ".map-hint", "#lang-toggle",
        ".maplibregl-ctrl-attrib-inner",
    ]  # fmt: skip
    ratios = the_page.evaluate(CONTRAST, selectors)
    low = {sel: round(r, 2) for sel, r in ratios.items() if r is None or r < 4.5}
    assert low == {}


def test_korean_interface(page):
    the_page, console = page
    the_page.locator("#lang-toggle").click()
    assert the_page.evaluate("document.documentElement.lang") == "ko"
    assert the_page.locator(".brand-title").inner_text() == "CityOS 통합관제센터"
    assert the_page.get_by_label("건물 (3D)").is_checked()
    assert the_page.locator("#lang-toggle").inner_text() == "English"
    the_page.screenshot(path=str(ARTIFACTS / "control-centre-ko.png"))
    the_page.locator("#lang-toggle").click()
    assert the_page.locator(".brand-title").inner_text() == "CityOS Control Centre"
    assert console.errors == []


RENDERED_LABELS = """() => {
    const map = window.cityos.map;
    const out = {};
    for (const id of ['labels-roads', 'labels-facilities', 'labels-stops']) {
        out[id] = map.queryRenderedFeatures({layers: [id]}).map((f) => f.properties.name);
    }
    return out;
}"""


def test_names_are_drawn_as_labels(page):
    the_page, console = page
    settle(the_page)
    rendered = the_page.evaluate(RENDERED_LABELS)
    stops = {e["name"]["value"] for e in ENTITIES if e["type"] == "TransitStop"}
    facilities = {e["name"]["value"] for e in ENTITIES if "facility" in e}
    assert rendered["labels-stops"] and set(rendered["labels-stops"]) <= stops
    assert rendered["labels-facilities"] and set(rendered["labels-facilities"]) <= facilities
    assert "Ring Road" in rendered["labels-roads"]
    fonts = the_page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/fonts/'))"
    )
    assert any(url.endswith("/Noto%20Sans%20Regular/0-255.pbf") for url in fonts), fonts
    with_labels = map_pixels(the_page, "map-labels-on")
    the_page.get_by_label("Place & road names").uncheck()
    settle(the_page)
    assert the_page.evaluate(RENDERED_LABELS) == {
        "labels-roads": [], "labels-facilities": [], "labels-stops": []
    }  # fmt: skip
    without = map_pixels(the_page, "map-labels-off")
    the_page.get_by_label("Place & road names").check()
    settle(the_page)
    changed = (np.abs(with_labels - without).sum(axis=2) > 60).mean()
    assert changed > 0.002, f"hiding the labels changed only {changed:.3%} of the pixels"
    assert console.errors == []


def test_labels_follow_the_interface_language(page):
    the_page, console = page
    english = map_pixels(the_page, "map-labels-en")
    the_page.locator("#lang-toggle").click()
    try:
        settle(the_page)
        field = the_page.evaluate(
            "window.cityos.map.getLayoutProperty('labels-stops', 'text-field')"
        )
        assert field == ["coalesce", ["get", "alternateName"], ["get", "name"]]
        korean = map_pixels(the_page, "map-labels-ko")
        the_page.screenshot(path=str(ARTIFACTS / "control-centre-ko-labels.png"))
        changed = (np.abs(english - korean).sum(axis=2) > 60).mean()
        assert changed > 0.001, f"Korean labels changed only {changed:.3%} of the pixels"
        assert the_page.evaluate(RENDERED_LABELS)["labels-stops"]  # still placed
    finally:
        the_page.locator("#lang-toggle").click()
        settle(the_page)
    field = the_page.evaluate("window.cityos.map.getLayoutProperty('labels-stops', 'text-field')")
    assert field == ["get", "name"]
    assert console.errors == []


def test_live_observations_update_without_reload(page, server):
    the_page, _ = page
    stations = [e for e in ENTITIES if e["type"] == "AirQualityObserved"]
    before = the_page.locator("#kpi-pm25").inner_text()
    target = stations[0]
    patched = httpx.patch(
        f"{server}/ngsi-ld/v1/entities/{target['id']}/attrs",
        json={"pm25": {"type": "Property", "value": 150, "unitCode": "GQ"}},
    )
    assert patched.status_code == 204, patched.text
    values = [150] + [s["pm25"]["value"] for s in stations[1:]]
    expected = f"{sum(values) / len(values):.0f} µg/m³"
    try:
        the_page.wait_for_function(
            f"document.getElementById('kpi-pm25').textContent === {expected!r}", timeout=30_000
        )
        assert before != expected
        shown = the_page.evaluate(
            "window.cityos.collections.air.features"
            f".find(f => f.properties.entityId === {target['id']!r}).properties.pm25"
        )
        assert shown == 150
    finally:
        httpx.patch(
            f"{server}/ngsi-ld/v1/entities/{target['id']}/attrs",
            json={"pm25": {"type": "Property", "value": target["pm25"]["value"]}},
        )


def test_entity_updates_arrive_over_sse_without_polling(page, server):
    the_page, console = page
    assert the_page.evaluate("window.cityos.live.mode") == "sse"
    queries: list[str] = []

    def record(request: Any) -> None:
        if "/ngsi-ld/v1/entities?" in request.url:
            queries.append(request.url)

    building = next(e for e in ENTITIES if e["type"] == "Building" and "facility" in e)
    the_page.wait_for_timeout(1_000)  # what earlier tests changed has arrived
    the_page.on("request", record)
    try:
        the_page.wait_for_timeout(6_000)  # longer than the polling interval (5 s)
        assert queries == []  # nothing changed, nothing is fetched
        events = the_page.evaluate("window.cityos.live.events")
        renamed = "Data AI Center (renamed live)"
        patched = httpx.patch(
            f"{server}/ngsi-ld/v1/entities/{building['id']}/attrs",
            json={"name": {"type": "Property", "value": renamed}},
        )
        assert patched.status_code == 204, patched.text
        the_page.wait_for_function(
            "window.cityos.collections.buildings.features.some("
            f"f => f.properties.name === {renamed!r})",
            timeout=10_000,
        )
        assert the_page.evaluate("window.cityos.live.events") == events + 1
        assert queries and all("type=Building" in url for url in queries)  # only that layer
        settle(the_page)
        assert renamed in the_page.evaluate(RENDERED_LABELS)["labels-facilities"]
    finally:
        the_page.remove_listener("request", record)
        httpx.patch(
            f"{server}/ngsi-ld/v1/entities/{building['id']}/attrs",
            json={"name": {"type": "Property", "value": building["name"]["value"]}},
        )
    assert console.errors == []
