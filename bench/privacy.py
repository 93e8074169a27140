"""Privacy benchmark: query latency with consent enforcement on versus off.

Loads N personal entities (``Trip``, each naming one of N/5 pseudonymous citizens as its data
subject) into an SQLite hub, grants half of the citizens a consent for ``mobility-planning`` to
``sejong-mobility``, then times pages of ``type=Trip`` queries through the Python API:

* ``off``: a hub without any plugin on the same storage (the reference, in the same process);
* ``on``: a hub with the privacy layer attached in production mode, the query made by an
  operator of ``sejong-mobility`` declaring the purpose — type scopes checked, consents looked up
  per page, withheld rows dropped, and the disclosure appended to the hash-chained audit trail.

Each page is queried on both, alternately, so both see the same database state. Prints the
median latency of each and their ratio. Run:
``.venv/bin/python bench/privacy.py [--entities 100000] [--limit 100] [--queries 200]
[--max-offset N]``.
Target: ratio <= 1.3.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.broker import EntityQuery, Hub
from cityos.hub.hookspecs import plugin_manager
from cityos.privacy.access import Access, acting_as
from cityos.privacy.consent import Consent
from cityos.privacy.consent_store import now_us
from cityos.privacy.plugin import attach
from cityos.privacy.scopes import parse_scopes
from cityos.privacy.tokens import Principal

PURPOSE, ORG = "mobility-planning", "sejong-mobility"


def trips(n: int, subjects: int, rng: random.Random) -> list[dict[str, Any]]:
    modes = ["walk", "PM", "shuttle", "BRT", "shared-car"]
    return [
        {
            "id": f"urn:ngsi-ld:Trip:{i:07d}",
            "type": "Trip",
            "dataSubject": {
                "type": "Relationship",
                "object": f"urn:ngsi-ld:Person:{rng.randrange(subjects):06d}",
            },
            "mode": {"type": "Property", "value": rng.choice(modes)},
            "durationMin": {"type": "Property", "value": rng.randint(3, 90)},
        }
        for i in range(n)
    ]


def load(hub: Hub, entities: list[dict[str, Any]], batch: int = 5000) -> None:
    ctx = hub.context()
    for start in range(0, len(entities), batch):
        result = hub.batch_create(entities[start : start + batch], ctx)
        assert not result.errors, result.errors[:1]


def time_pairs(
    off: Hub,
    on: Hub,
    access: Access,
    total: int,
    limit: int,
    queries: int,
    seed: int,
    max_offset: int | None = None,
) -> tuple[list[float], list[float]]:
    """Seconds per query on ``off`` and on ``on`` (as ``access``), the same page each time,
    interleaved so that both see the same database and cache state."""
    rng = random.Random(seed)
    ctx = off.context()
    timings: tuple[list[float], list[float]] = ([], [])
    for n in range(queries):
        top = total - limit if max_offset is None else min(max_offset, total - limit)
        offset = rng.randrange(0, max(1, top))
        query = EntityQuery(type="Trip", limit=limit, offset=offset)
        for which in (0, 1) if n % 2 else (1, 0):
            start = time.perf_counter()
            if which:
                with acting_as(access):
                    on.query_entities(query, ctx)
            else:
                off.query_entities(query, ctx)
            timings[which].append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--max-offset", type=int, default=None, help="Pages start below this (default: anywhere)."
    )
    args = parser.parse_args()
    rng = random.Random(51)
    subjects = max(1, args.entities // 5)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            temporal_enabled=False,
            notify_enabled=False,
            max_limit=1000,
            mode="production",
        )
        hub = open_hub(settings)
        t0 = time.perf_counter()
        load(hub, trips(args.entities, subjects, rng))
        print(f"loaded {args.entities} personal entities in {time.perf_counter() - t0:.1f} s")
        # the reference: a hub on the same storage without any plugin
        bare = Hub(hub.storage, hub.resolver, settings, plugins=plugin_manager())
        privacy = attach(hub, settings)
        now = now_us()
        for s in range(0, subjects, 2):
            privacy.consents.grant(
                Consent(
                    f"urn:ngsi-ld:Consent:{s}", "", f"urn:ngsi-ld:Person:{s:06d}", PURPOSE, ORG,
                    ("Trip",), now - 10**6, None, now - 10**6,
                )
            )  # fmt: skip
        operator = Principal("op-1", frozenset({"operator"}), parse_scopes("read"), org=ORG)
        access = Access(operator, purpose=PURPOSE)
        time_pairs(bare, hub, access, args.entities, args.limit, 20, seed=0)  # warm up
        off, on = time_pairs(
            bare, hub, access, args.entities, args.limit, args.queries, 1, args.max_offset
        )
        with acting_as(access):
            page = hub.query_entities(EntityQuery(type="Trip", limit=args.limit), hub.context())
        entries = privacy.audit.verify().entries
        hub.storage.close()
    med_off, med_on = statistics.median(off), statistics.median(on)
    print(
        f"query type=Trip limit={args.limit} over {args.entities} personal entities "
        f"({args.queries} queries, offsets below {args.max_offset or args.entities})"
    )
    print(f"  enforcement off: median {med_off * 1000:.2f} ms")
    print(
        f"  enforcement on:  median {med_on * 1000:.2f} ms "
        f"({len(page.entities)}/{args.limit} rows released on a page, {entries} audit entries)"
    )
    print(f"  ratio on/off: {med_on / med_off:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
