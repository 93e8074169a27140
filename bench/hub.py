"""Hub benchmark: ingest and query, each printed as a ratio against raw SQLite in the same run.

Ingest batch-upserts N Smart-Data-Model-shaped entities (AirQualityObserved around Sejong 5-1)
through the Python API and through HTTP (a real uvicorn server on loopback), and compares with
``sqlite3.executemany`` of the same JSON rows into a plain table. Query measures p50/p99 latency of
``q`` filters and ``near;maxDistance==500`` geo-queries against hand-written SQL over the raw table.

Run: ``.venv/bin/python bench/hub.py [--entities 200000] [--batch 1000] [--queries 200]
[--rounds 1]``.
Targets: Python API ingest >= 0.30 of raw, HTTP >= 0.10 of raw; query p50 <= 2x raw.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import socket
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from cityos.app import create_app
from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.broker import EntityQuery
from cityos.hub.geo import GeoQuery

LON0, LAT0 = 127.30, 36.49
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


def make_entities(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """AirQualityObserved entities spread over ~6 x 6 km around 5-1."""
    rng = random.Random(seed)
    entities = []
    for index in range(count):
        lon = LON0 + rng.uniform(-0.035, 0.035)
        lat = LAT0 + rng.uniform(-0.027, 0.027)
        observed = f"2026-11-{1 + index % 28:02d}T{index % 24:02d}:00:00Z"
        entities.append(
            {
                "id": f"urn:ngsi-ld:AirQualityObserved:bench-{index}",
                "type": "AirQualityObserved",
                "dateObserved": {"type": "Property", "value": observed},
                "location": {
                    "type": "GeoProperty",
                    "value": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                },
                "pm25": {
                    "type": "Property",
                    "value": round(rng.uniform(0, 80), 1),
                    "unitCode": "GQ",
                    "observedAt": observed,
                },
                "pm10": {"type": "Property", "value": round(rng.uniform(0, 120), 1)},
                "no2": {"type": "Property", "value": round(rng.uniform(0, 0.1), 4)},
                "airQualityLevel": {"type": "Property", "value": rng.choice(["good", "moderate"])},
                "refPointOfInterest": {
                    "type": "Relationship",
                    "object": f"urn:ngsi-ld:PointOfInterest:{index % 100}",
                },
            }
        )
    return entities


def raw_ingest(path: Path, entities: list[dict[str, Any]], batch: int) -> float:
    """The reference: executemany of the same JSON rows into a plain table, one commit per batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE raw (id TEXT PRIMARY KEY, type TEXT, doc TEXT)")
    start = time.perf_counter()
    for offset in range(0, len(entities), batch):
        rows = [
            (e["id"], e["type"], orjson.dumps(e).decode())
            for e in entities[offset : offset + batch]
        ]
        conn.execute("BEGIN")
        conn.executemany("INSERT OR REPLACE INTO raw VALUES (?, ?, ?)", rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def api_ingest(settings: Settings, entities: list[dict[str, Any]], batch: int) -> float:
    hub = open_hub(settings)
    ctx = hub.context()
    start = time.perf_counter()
    for offset in range(0, len(entities), batch):
        result = hub.batch_upsert(entities[offset : offset + batch], ctx)
        if result.errors:
            raise RuntimeError(result.errors[0][1].detail)
    elapsed = time.perf_counter() - start
    hub.storage.close()
    return elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_ingest(settings: Settings, entities: list[dict[str, Any]], batch: int) -> float:
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    bodies = [
        orjson.dumps(entities[offset : offset + batch]) for offset in range(0, len(entities), batch)
    ]
    url = f"http://127.0.0.1:{port}/ngsi-ld/v1/entityOperations/upsert"
    headers = {"Content-Type": "application/json"}
    try:
        with httpx.Client(timeout=120) as client:
            start = time.perf_counter()
            for body in bodies:
                response = client.post(url, content=body, headers=headers)
                if response.status_code not in (201, 204):
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
            elapsed = time.perf_counter() - start
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return elapsed


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return statistics.median(ordered), p99


def query_bench(settings: Settings, raw_path: Path, queries: int, seed: int = 11) -> None:
    hub = open_hub(settings)
    ctx = hub.context()
    raw = sqlite3.connect(raw_path)
    rng = random.Random(seed)
    cases = []
    for _ in range(queries):
        low = round(rng.uniform(0, 75), 1)
        cases.append(("q", low))
    timings: dict[str, tuple[list[float], list[float]]] = {"q": ([], []), "near": ([], [])}
    pm25 = "$.pm25.value"
    for _, low in cases:
        text = f'pm25>={low};pm25<{low + 0.5};airQualityLevel=="good"'
        query = EntityQuery(type="AirQualityObserved", q=text, limit=100)
        start = time.perf_counter()
        ours = hub.query_entities(query, ctx)
        timings["q"][0].append(time.perf_counter() - start)
        start = time.perf_counter()
        rows = raw.execute(
            "SELECT doc FROM raw WHERE type = ? AND json_extract(doc, ?) >= ? "
            "AND json_extract(doc, ?) < ? AND json_extract(doc, '$.airQualityLevel.value') = ? "
            "LIMIT 100",
            ("AirQualityObserved", pm25, low, pm25, low + 0.5, "good"),
        ).fetchall()
        [orjson.loads(r[0]) for r in rows]
        timings["q"][1].append(time.perf_counter() - start)
        if len(rows) != len(ours.entities):
            raise RuntimeError(f"q mismatch: {len(rows)} raw vs {len(ours.entities)} hub")
    for _ in range(queries):
        lon = LON0 + rng.uniform(-0.03, 0.03)
        lat = LAT0 + rng.uniform(-0.02, 0.02)
        geo = GeoQuery(
            georel="near",
            distance_kind="maxDistance",
            distance_m=500.0,
            geometry={"type": "Point", "coordinates": [lon, lat]},
        )
        query = EntityQuery(type="AirQualityObserved", geo=geo, limit=100, count=True)
        start = time.perf_counter()
        ours = hub.query_entities(query, ctx)
        timings["near"][0].append(time.perf_counter() - start)
        start = time.perf_counter()
        dlat = 1.02 * 500 / 110_900
        dlon = dlat / math.cos(math.radians(lat))
        rows = raw.execute(
            "SELECT doc FROM raw WHERE type = ? "
            "AND json_extract(doc, '$.location.value.coordinates[0]') BETWEEN ? AND ? "
            "AND json_extract(doc, '$.location.value.coordinates[1]') BETWEEN ? AND ?",
            ("AirQualityObserved", lon - dlon, lon + dlon, lat - dlat, lat + dlat),
        ).fetchall()
        hits = []
        for (doc,) in rows:
            entity = orjson.loads(doc)
            elon, elat = entity["location"]["value"]["coordinates"]
            distance = _haversine(lon, lat, elon, elat)
            if distance <= 500:
                hits.append((distance, entity["id"], entity))
        hits.sort(key=lambda hit: hit[0])
        page = hits[:100]
        timings["near"][1].append(time.perf_counter() - start)
        assert ours.count is not None and len(page) == len(ours.entities)
        if abs(len(hits) - ours.count) > max(2, 0.01 * len(hits)):
            raise RuntimeError(f"near mismatch: {len(hits)} raw vs {ours.count} hub")
    raw.close()
    hub.storage.close()
    for name, (ours_t, raw_t) in timings.items():
        p50, p99 = _percentiles(ours_t)
        r50, r99 = _percentiles(raw_t)
        print(
            f"query {name:5s} hub p50 {p50 * 1e3:7.2f} ms p99 {p99 * 1e3:7.2f} ms | "
            f"raw p50 {r50 * 1e3:7.2f} ms p99 {r99 * 1e3:7.2f} ms | "
            f"ratio p50 {p50 / r50:5.2f}x (target <= 2x)"
        )


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="ingest rounds (raw, API, HTTP alternating, each into a fresh database); the best "
        "time of each is reported, which steadies the ratios on a busy machine",
    )
    args = parser.parse_args()
    entities = make_entities(args.entities)
    gc.freeze()  # the input data set is long-lived: keep it out of every collection, for all runs
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        raw_s = api_s = http_s = math.inf
        for round_no in range(max(1, args.rounds)):
            suffix = "" if round_no == 0 else f"-{round_no}"
            raw_s = min(raw_s, raw_ingest(base / f"raw{suffix}.db", entities, args.batch))
            api_s = min(
                api_s, api_ingest(Settings(data_dir=base / f"api{suffix}"), entities, args.batch)
            )
            http_s = min(
                http_s, http_ingest(Settings(data_dir=base / f"http{suffix}"), entities, args.batch)
            )
        n = len(entities)
        rounds = f", best of {args.rounds} rounds" if args.rounds > 1 else ""
        print(f"ingest {n} entities, batches of {args.batch}{rounds}")
        print(f"  raw sqlite3.executemany {n / raw_s:10.0f} entities/s")
        print(
            f"  Python API              {n / api_s:10.0f} entities/s  "
            f"ratio {raw_s / api_s:5.3f} (target >= 0.30)"
        )
        print(
            f"  HTTP batch upsert       {n / http_s:10.0f} entities/s  "
            f"ratio {raw_s / http_s:5.3f} (target >= 0.10)"
        )
        query_bench(Settings(data_dir=base / "api"), base / "raw.db", args.queries)


if __name__ == "__main__":
    main()
