"""The `cityos` command end to end: demo seeding and a real server process on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cityos.demo import map_url, sample_entities


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CITYOS_DATA_DIR"] = str(tmp_path)
    env.pop("CITYOS_DATABASE_URL", None)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cityos(*args: str) -> list[str]:
    return [sys.executable, "-m", "cityos.cli", *args]


def test_demo_seed_only_writes_the_generated_city(tmp_path):
    result = subprocess.run(
        _cityos("demo", "--seed-only"),
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "twin: generated" in result.stdout  # progress is printed
    assert "Seeded " in result.stdout
    for part in ("20164 Person", "8714 Household", "6 TransitStop", "3 AirQualityObserved"):
        assert part in result.stdout, part
    assert (tmp_path / "hub.db").exists()
    again = subprocess.run(
        _cityos("demo", "--seed-only"),
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr  # seeding twice is idempotent
    assert again.stdout.splitlines()[-1] == result.stdout.splitlines()[-1]


def test_demo_serves_the_sample_city(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        _cityos("demo", "--port", str(port)),
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        health = httpx.get(f"{base}/health").json()
        assert health["status"] == "ok" and health["storage"] == "SQLiteStorage"
        stations = httpx.get(  # the sample stations (live simulated sensors are named otherwise)
            f"{base}/ngsi-ld/v1/entities",
            params={
                "type": "AirQualityObserved",
                "q": "pm25>20",
                "idPattern": "urn:ngsi-ld:AirQualityObserved:Sejong51:.*",
            },
        ).json()
        samples = {e["id"]: e for e in sample_entities() if e["type"] == "AirQualityObserved"}
        expected = [i for i, e in samples.items() if e["pm25"]["value"] > 20]
        assert [s["id"] for s in stations] == expected
        spec = httpx.get(f"{base}/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        assert "/ngsi-ld/v1/entities" in spec["paths"]
        assert "/ngsi-ld/v1/entityOperations/upsert" in spec["paths"]
        schools = httpx.get(
            f"{base}/ngsi-ld/v1/entities",
            params={"type": "Building", "q": 'facility=="school"', "count": "true"},
        )
        assert schools.headers["NGSILD-Results-Count"] == "2"
        stop = httpx.get(
            f"{base}/ngsi-ld/v1/entities",
            params={"type": "TransitStop", "q": 'stopKind=="brt"', "limit": "1"},
        ).json()[0]
        assert stop["location"]["value"]["type"] == "Point"
        page = httpx.get(f"{base}/")  # the URL the demo prints opens the map
        assert page.status_code == 200 and '<div id="map"' in page.text
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f"Control centre map: {base}/\n" in output
    assert "Hub ready: http://127.0.0.1" in output
    assert "IoT: " in output  # live sensors, or why there are none


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/"),
        ("0.0.0.0", "http://127.0.0.1:8000/"),
        ("::", "http://127.0.0.1:8000/"),
        ("", "http://127.0.0.1:8000/"),
        ("::1", "http://[::1]:8000/"),
        ("cityos.local", "http://cityos.local:8000/"),
    ],
)
def test_the_map_url_is_one_a_browser_can_open(host, url):
    assert map_url(host, 8000) == url


def test_unknown_database_scheme_is_a_clear_error(tmp_path):
    env = _env(tmp_path)
    env["CITYOS_DATABASE_URL"] = "mongodb://localhost/x"
    result = subprocess.run(
        _cityos("demo", "--seed-only"), env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "unknown storage URL scheme 'mongodb'" in result.stderr


def test_ctrl_c_stops_the_server_at_once_with_a_map_stream_open(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        _cityos("serve", "--port", str(port)),
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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
            assert process.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.2)
        stream = httpx.get(f"{base}/web/config.json").json()["liveStream"]
        with httpx.stream("GET", base + stream, timeout=10) as response:
            lines = response.iter_lines()
            assert next(lines) == "retry: 3000"
            started = time.monotonic()
            process.send_signal(signal.SIGINT)
            rest = list(lines)  # the server ends the stream cleanly: no protocol error
        assert all(line in ("", ": connected", ": keep-alive") for line in rest)
        process.wait(timeout=10)
        assert time.monotonic() - started < 2.5  # not the 3 s grace period, nor forever
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate(timeout=30)[0]
    assert "Exception in ASGI application" not in output and "Traceback" not in output
