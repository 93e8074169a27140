"""Map benchmark: first render of the control centre against an empty MapLibre page, same run.

Starts ``cityos serve`` on loopback with the sample city (``cityos demo --seed-only``; with
``--district`` the browser tests' district instead), then opens each page in a fresh headless
Chromium context (cold cache) and times navigation start -> first ``idle`` event of the map:

* reference: a page loading the same MapLibre bundle with a background-only style;
* map: the control centre, once every layer is fetched from the hub and drawn.

The ratio map / reference is what the control centre costs over MapLibre itself (the fetches
through the NGSI-LD API, GeoJSON parsing, extrusions, icons and terrain). Chromium renders with
its software rasteriser here, so absolute times depend on the machine; the ratio much less.

Run: ``.venv/bin/python bench/map.py [--runs 3] [--district]``; installs chromium with
``scripts/chromium.sh`` when it is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1600, "height": 900}

EMPTY_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="/static/app.css">
<style>html, body, #map { margin: 0; height: 100%; }</style></head>
<body><div id="map"></div>
<script type="module">
import * as maplibregl from '/static/maplibre-gl.mjs';
const map = new maplibregl.Map({
  container: 'map', center: [127.305, 36.497], zoom: 15, pitch: 58, bearing: -24,
  fadeDuration: 0, attributionControl: false,
  style: {version: 8, sources: {},
          layers: [{id: 'bg', type: 'background', paint: {'background-color': '#070b14'}}]},
});
map.once('idle', () => { window.benchIdleAt = performance.now(); });
</script></body></html>"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _seed(base: str, env: dict[str, str], district: bool) -> Counter[str]:
    if district:
        sys.path.insert(0, str(ROOT / "tests" / "web"))
        from district import district as make_district

        response = httpx.post(
            f"{base}/ngsi-ld/v1/entityOperations/upsert", json=make_district(), timeout=120
        )
        response.raise_for_status()
    counts: Counter[str] = Counter()
    for entity_type in httpx.get(f"{base}/ngsi-ld/v1/types", timeout=30).json()["typeList"]:
        response = httpx.get(
            f"{base}/ngsi-ld/v1/entities",
            params={"type": entity_type, "limit": 0, "count": "true"},
            timeout=30,
        )
        counts[entity_type] = int(response.headers["NGSILD-Results-Count"])
    return counts


def _time_empty(browser: Browser, base: str) -> float:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.route(
        f"{base}/bench/empty",
        lambda route: route.fulfill(body=EMPTY_PAGE, content_type="text/html"),
    )
    page.goto(f"{base}/bench/empty")
    page.wait_for_function("window.benchIdleAt !== undefined", timeout=120_000)
    elapsed = page.evaluate("window.benchIdleAt")
    context.close()
    return elapsed / 1000


def _time_map(browser: Browser, base: str) -> float:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/")
    page.wait_for_function("document.body.dataset.state === 'ready'", timeout=300_000)
    elapsed = page.evaluate("window.cityos.readyAt")
    context.close()
    if errors:
        raise RuntimeError(f"console errors on the map: {errors}")
    return elapsed / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="page loads of each kind")
    parser.add_argument(
        "--district", action="store_true", help="load the browser tests' district, not the demo"
    )
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "chromium.sh")], check=True)
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("chromium is not installed and scripts/chromium.sh could not install it")

    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, CITYOS_DATA_DIR=data_dir, CITYOS_LOG_LEVEL="WARNING")
        env.pop("CITYOS_DATABASE_URL", None)
        if not args.district:
            subprocess.run(
                [sys.executable, "-m", "cityos.cli", "demo", "--seed-only"],
                env=env,
                check=True,
                capture_output=True,
            )
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "cityos.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("cityos serve did not start")
                time.sleep(0.2)
            counts = _seed(base, env, args.district)
            city = "district" if args.district else "demo"
            print(f"map first render, {args.runs} runs, city: {city}")
            print("  entities: " + ", ".join(f"{t} {n}" for t, n in sorted(counts.items())))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                _time_map(browser, base)  # warm the server's terrain cache and the OS file cache
                empty, full = [], []
                for _ in range(args.runs):
                    empty.append(_time_empty(browser, base))
                    full.append(_time_map(browser, base))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)

    empty_s, full_s = statistics.median(empty), statistics.median(full)
    print(f"  empty MapLibre page, first idle   {empty_s:7.2f} s (median)")
    print(f"  control centre, first idle        {full_s:7.2f} s (median, all layers)")
    print(f"  ratio map / empty                 {full_s / empty_s:7.2f}")


if __name__ == "__main__":
    main()
