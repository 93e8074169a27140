"""Kill -9 the server while it ingests, restart it, and check every acknowledged write.

The server runs as a real subprocess on loopback. A client streams batch upserts of whole
"sensor groups"; after each kill, every batch the server acknowledged must be present, and every
batch that was in flight must be present entirely or not at all (no half-written batch, no
half-written entity).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from cityos.core.settings import Settings

BATCH = 40
KILLS = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["CITYOS_DATA_DIR"] = str(settings.data_dir)
    env["CITYOS_DATABASE_URL"] = settings.resolved_database_url()
    env["CITYOS_LOG_LEVEL"] = "WARNING"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cityos.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
        assert process.poll() is None, log.read_text()
    raise AssertionError("server did not start")


def _batch(number: int) -> list[dict]:
    return [
        {
            "id": f"urn:ngsi-ld:Sensor:b{number}-{i}",
            "type": "Sensor",
            "batch": {"type": "Property", "value": number},
            "seq": {"type": "Property", "value": i},
            "owner": {"type": "Relationship", "object": f"urn:ngsi-ld:Group:{number}"},
            "location": {
                "type": "GeoProperty",
                "value": {"type": "Point", "coordinates": [127.3 + i / 1e4, 36.49]},
            },
        }
        for i in range(BATCH)
    ]


def _stream(port: int, first: int, acked: list[int], stop: threading.Event) -> None:
    url = f"http://127.0.0.1:{port}/ngsi-ld/v1/entityOperations/upsert"
    number = first
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            try:
                response = client.post(url, json=_batch(number))
            except httpx.TransportError:
                return
            if response.status_code in (201, 204):
                acked.append(number)
            number += 1


def test_acknowledged_writes_survive_kill_9(settings: Settings, tmp_path: Path) -> None:
    rng = random.Random(20261123)
    log = tmp_path / "server.log"
    acked: list[int] = []
    attempted = 0
    for _ in range(KILLS):
        port = _free_port()
        process = _start(settings, port, log)
        stop = threading.Event()
        first = attempted
        writer = threading.Thread(target=_stream, args=(port, first, acked, stop))
        writer.start()
        time.sleep(rng.uniform(0.3, 0.9))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        stop.set()
        writer.join(timeout=30)
        attempted = max([first, *acked]) + 2  # skip the batch that may have been in flight

    port = _free_port()
    process = _start(settings, port, log)
    try:
        base = f"http://127.0.0.1:{port}/ngsi-ld/v1/entities"
        counts: dict[int, int] = {}
        offset = 0
        while True:
            page = httpx.get(
                base,
                params={"type": "Sensor", "limit": 1000, "offset": offset, "options": "keyValues"},
                timeout=30,
            ).json()
            for entity in page:
                number, seq = entity["batch"], entity["seq"]
                assert entity["id"] == f"urn:ngsi-ld:Sensor:b{number}-{seq}"
                assert entity["owner"] == f"urn:ngsi-ld:Group:{number}"
                assert entity["location"]["type"] == "Point"  # no half-written entity
                counts[number] = counts.get(number, 0) + 1
            if len(page) < 1000:
                break
            offset += 1000
        assert len(acked) >= KILLS, "too few batches were acknowledged to test anything"
        missing = [n for n in acked if counts.get(n) != BATCH]
        assert not missing, f"acknowledged batches lost or partial: {missing}"
        partial = {n: c for n, c in counts.items() if c != BATCH}
        assert not partial, f"half-written batches: {partial}"
        near = httpx.get(
            base,
            params={
                "type": "Sensor",
                "georel": "near;maxDistance==1",
                "geometry": "Point",
                "coordinates": "[127.3,36.49]",
                "count": "true",
                "limit": 1,
            },
        )
        assert int(near.headers["NGSILD-Results-Count"]) == len(counts)  # spatial index intact
    finally:
        process.terminate()
        process.wait(timeout=30)
