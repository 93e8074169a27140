"""Temporal benchmark: aggregations and ``lastN`` through the Python API against hand-written SQL.

Loads E entities with N hourly pm25 observations each (temporal provision: one transaction per
entity), and the same observations into a plain SQLite table ``raw(entity, t, v)`` indexed on
``(entity, t)``. Then, for random entities, compares p50 latencies of

* hourly and daily ``avg,min,max,totalCount`` over a 30-day window — the temporal store's SQL
  (GROUP BY period) and the whole Python API call (with rendering) — with
  ``GROUP BY (t - origin) / period`` on the raw table;
* ``lastN=100`` (normalized) with ``ORDER BY t DESC LIMIT 100`` on the raw table;

and checks that both give the same numbers. Run: ``.venv/bin/python bench/temporal.py
[--entities 50] [--observations 5000] [--queries 50]``. Target: store SQL p50 <= 3x raw.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.temporal.aggregation import plan_buckets
from cityos.hub.temporal.instants import datetime_to_us
from cityos.hub.temporal.query import make_temporal_query
from cityos.hub.temporal.service import TemporalService

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR_US = 3_600_000_000
PM25 = "https://uri.etsi.org/ngsi-ld/default-context/pm25"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def load(
    base: Path, entities: int, observations: int
) -> tuple[TemporalService, sqlite3.Connection]:
    hub = open_hub(Settings(data_dir=base / "hub", temporal_max_instances=100_000))
    service = TemporalService(hub)
    raw = sqlite3.connect(base / "raw.db", isolation_level=None)
    raw.execute("CREATE TABLE raw (entity TEXT, t INTEGER, v REAL)")
    raw.execute("CREATE INDEX raw_by_time ON raw (entity, t)")
    rng = random.Random(3)
    ctx = hub.context()
    start = time.perf_counter()
    for n in range(entities):
        entity_id = f"urn:ngsi-ld:AirQualityObserved:t{n}"
        points = [
            (T0 + timedelta(hours=h, seconds=rng.randrange(3600)), round(rng.uniform(0, 80), 1))
            for h in range(observations)
        ]
        body = {
            "id": entity_id,
            "type": "AirQualityObserved",
            "pm25": [{"value": v, "observedAt": stamp(m)} for m, v in points],
        }
        service.upsert(body, ctx)
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO raw VALUES (?, ?, ?)",
            [(entity_id, datetime_to_us(m.replace(microsecond=0)), v) for m, v in points],
        )
        raw.execute("COMMIT")
    elapsed = time.perf_counter() - start
    print(f"loaded {entities} x {observations} observations in {elapsed:.1f} s")
    return service, raw


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=50)
    parser.add_argument("--observations", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service, raw = load(Path(tmp), args.entities, args.observations)
        ctx = service.hub.context()
        rng = random.Random(9)
        span_h = max(1, args.observations - 30 * 24)
        for label, period, step in (("hourly", "PT1H", HOUR_US), ("daily", "P1D", 24 * HOUR_US)):
            ours: list[float] = []
            store_only: list[float] = []
            theirs: list[float] = []
            for _ in range(args.queries):
                entity_id = f"urn:ngsi-ld:AirQualityObserved:t{rng.randrange(args.entities)}"
                begin = T0 + timedelta(hours=rng.randrange(span_h))
                end = begin + timedelta(days=30)
                query = make_temporal_query(
                    timerel="between",
                    time_at=stamp(begin),
                    end_time_at=stamp(end),
                    representation="aggregatedValues",
                    aggr_methods="avg,min,max,totalCount",
                    aggr_period=period,
                )
                tick = time.perf_counter()
                got = service.retrieve(entity_id, query, ctx).entities[0]["pm25"]
                ours.append(time.perf_counter() - tick)
                plan = plan_buckets(query.aggr_period, query.window, None, None)
                tick = time.perf_counter()
                service.store.aggregate(
                    "", [(entity_id, PM25)], query.window, plan, query.aggr_methods, limit=None
                )
                store_only.append(time.perf_counter() - tick)
                origin = datetime_to_us(begin)
                tick = time.perf_counter()
                rows = raw.execute(
                    "SELECT (t - ?) / ? AS b, avg(v), min(v), max(v), count(*) FROM raw "
                    "WHERE entity = ? AND t >= ? AND t < ? GROUP BY b ORDER BY b",
                    (origin, step, entity_id, origin, datetime_to_us(end)),
                ).fetchall()
                theirs.append(time.perf_counter() - tick)
                if [r[4] for r in rows] != [c[0] for c in got["totalCount"]] or any(
                    abs(r[1] - a[0]) > 1e-9 for r, a in zip(rows, got["avg"], strict=True)
                ):
                    raise RuntimeError(f"{label} aggregation differs from raw SQL")
            print(
                f"aggregate {label:6s} store SQL p50 {p50(store_only):7.2f} ms | raw p50 "
                f"{p50(theirs):7.2f} ms | ratio {p50(store_only) / p50(theirs):5.2f}x "
                f"(target <= 3x) | Python API, rendered, p50 {p50(ours):7.2f} ms"
            )
        ours, theirs = [], []
        for _ in range(args.queries):
            entity_id = f"urn:ngsi-ld:AirQualityObserved:t{rng.randrange(args.entities)}"
            tick = time.perf_counter()
            got = service.retrieve(entity_id, make_temporal_query(last_n=100), ctx)
            ours.append(time.perf_counter() - tick)
            tick = time.perf_counter()
            rows = raw.execute(
                "SELECT t, v FROM raw WHERE entity = ? ORDER BY t DESC LIMIT 100", (entity_id,)
            ).fetchall()
            theirs.append(time.perf_counter() - tick)
            if [i["value"] for i in got.entities[0]["pm25"]] != [v for _, v in reversed(rows)]:
                raise RuntimeError("lastN differs from raw SQL")
        print(
            f"lastN=100        hub p50 {p50(ours):7.2f} ms | raw p50 {p50(theirs):7.2f} ms"
            f" | ratio {p50(ours) / p50(theirs):5.2f}x"
        )
        raw.close()
        service.hub.storage.close()


if __name__ == "__main__":
    main()
