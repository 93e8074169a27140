"""PostgreSQL ingest benchmark: entities and temporal instances, as a ratio to raw ``COPY``.

Starts (or reuses) the throw-away cluster of ``scripts/postgres.sh``, creates a fresh database for
each run, then:

1. batch-upserts N AirQualityObserved entities through the hub's Python API on the PostgreSQL
   backend, against ``COPY`` of the same JSON rows into a plain ``(id, type, doc jsonb)`` table;
2. appends M temporal instances (N entities x M/N observation rounds of ``pm25``/``pm10`` with a
   new ``observedAt``) through the hub, against ``COPY`` of the same instance rows into a plain
   ``(entity, attr, observed, value)`` table.

Run: ``.venv/bin/python bench/postgres.py [--entities 1000000] [--instances 10000000]``
(defaults are scaled down for a quick run: 20,000 entities and 200,000 instances).
Target: ingest >= 0.25 of raw COPY.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from hub import make_entities

ROOT = Path(__file__).resolve().parents[1]
BATCH = 1000


def cluster_url() -> str:
    """The admin URL printed by ``scripts/postgres.sh`` (the last line of its output)."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "postgres.sh")], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def fresh_database(admin_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(admin_url.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def raw_copy_entities(url: str, entities: list[dict]) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE raw (id text PRIMARY KEY, type text, doc jsonb)")
        start = time.perf_counter()
        for offset in range(0, len(entities), BATCH):
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy("COPY raw (id, type, doc) FROM STDIN") as copy,
            ):
                for e in entities[offset : offset + BATCH]:
                    copy.write_row((e["id"], e["type"], orjson.dumps(e).decode()))
        return time.perf_counter() - start


def observation_rounds(entities: list[dict], rounds: int) -> list[list[dict]]:
    """Batches of attribute updates: each round gives every entity new pm25/pm10 readings."""
    batches = []
    for r in range(rounds):
        observed = f"2026-10-{1 + r % 28:02d}T{r % 24:02d}:{r % 60:02d}:00Z"
        updates = [
            {
                "id": e["id"],
                "type": e["type"],
                "pm25": {"type": "Property", "value": (i * 7 + r) % 80, "observedAt": observed},
                "pm10": {"type": "Property", "value": (i * 11 + r) % 120, "observedAt": observed},
            }
            for i, e in enumerate(entities)
        ]
        batches.extend(updates[o : o + BATCH] for o in range(0, len(updates), BATCH))
    return batches


def raw_copy_instances(url: str, batches: list[list[dict]]) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE raw_instances (entity text, attr text, observed timestamptz, value jsonb)"
        )
        conn.execute("CREATE INDEX ON raw_instances (entity, attr, observed)")
        start = time.perf_counter()
        for batch in batches:
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy("COPY raw_instances FROM STDIN") as copy,
            ):
                for e in batch:
                    for attr in ("pm25", "pm10"):
                        value = orjson.dumps(e[attr]).decode()
                        copy.write_row((e["id"], attr, e[attr]["observedAt"], value))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--instances", type=int, default=200_000)
    args = parser.parse_args()
    rounds = max(1, args.instances // (2 * args.entities))
    entities = make_entities(args.entities)
    updates = observation_rounds(entities, rounds)
    instances = rounds * 2 * args.entities
    gc.freeze()
    admin = cluster_url()
    raw_url, hub_url = fresh_database(admin), fresh_database(admin)
    try:
        raw_e = raw_copy_entities(raw_url, entities)
        raw_i = raw_copy_instances(raw_url, updates)
        hub = open_hub(Settings(data_dir=ROOT / "var" / "bench", database_url=hub_url))
        ctx = hub.context()
        start = time.perf_counter()
        for offset in range(0, len(entities), BATCH):
            result = hub.batch_upsert(entities[offset : offset + BATCH], ctx)
            assert not result.errors, result.errors[0][1].detail
        hub_e = time.perf_counter() - start
        start = time.perf_counter()
        for batch in updates:
            result = hub.batch_upsert(batch, ctx, mode="update")
            assert not result.errors, result.errors[0][1].detail
        hub_i = time.perf_counter() - start
        hub.storage.close()
    finally:
        drop_database(admin, raw_url)
        drop_database(admin, hub_url)
    n = len(entities)
    print(f"PostgreSQL ingest: {n} entities, {instances} temporal instances ({rounds} rounds)")
    print(
        f"  entities  raw COPY {n / raw_e:9.0f}/s  hub {n / hub_e:9.0f}/s  "
        f"ratio {raw_e / hub_e:5.3f}   (target >= 0.25)"
    )
    print(
        f"  instances raw COPY {instances / raw_i:9.0f}/s  hub {instances / hub_i:9.0f}/s  "
        f"ratio {raw_i / hub_i:5.3f}   (target >= 0.25)"
    )


if __name__ == "__main__":
    main()
