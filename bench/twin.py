"""Twin benchmark: generate Sejong 5-1 and load it into the hub, against raw hub batch upserts.

Measures, in one run and on fresh SQLite hubs in a temporary directory:

* ``generate``: :func:`cityos.twin.generator.generate` plus the entity encoding;
* ``load``: :func:`cityos.twin.loader.load_entities` (parse all, then one transaction);
* ``raw``: ``Hub.batch_upsert`` of the same, already generated entities in the same batches.

Prints entities/s for each and the ratios load/raw and (generate + load)/raw.
Run: ``.venv/bin/python bench/twin.py [--seed 51] [--population 20164] [--households 8714]``.
Target: load >= 0.7 of raw (the all-or-nothing guarantee costs little).
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.twin.generator import count_by_type, generate
from cityos.twin.loader import load_entities
from cityos.twin.site import GeneratorParameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=51)
    parser.add_argument("--population", type=int, default=20_164)
    parser.add_argument("--households", type=int, default=8_714)
    parser.add_argument("--batch", type=int, default=5000, help="raw upsert batch size")
    args = parser.parse_args()
    params = GeneratorParameters(
        seed=args.seed, population=args.population, households=args.households
    )

    started = time.perf_counter()
    city = generate(params)
    entities = city.entities()
    t_generate = time.perf_counter() - started
    n = len(entities)
    print(f"entities: {n}  {count_by_type(entities)}")

    with tempfile.TemporaryDirectory() as tmp:
        hub = open_hub(Settings(data_dir=Path(tmp) / "load"))
        gc.collect()
        started = time.perf_counter()
        load_entities(hub, entities)
        t_load = time.perf_counter() - started
        hub.storage.close()

        hub = open_hub(Settings(data_dir=Path(tmp) / "raw"))
        ctx = hub.context()
        gc.collect()
        started = time.perf_counter()
        for start in range(0, n, args.batch):
            result = hub.batch_upsert(entities[start : start + args.batch], ctx)
            assert not result.errors, result.errors[0]
        t_raw = time.perf_counter() - started
        hub.storage.close()

    rate = lambda seconds: n / seconds  # noqa: E731
    print(f"generate        {t_generate:7.2f} s  {rate(t_generate):10,.0f} entities/s")
    print(f"load (twin)     {t_load:7.2f} s  {rate(t_load):10,.0f} entities/s")
    print(f"raw upsert      {t_raw:7.2f} s  {rate(t_raw):10,.0f} entities/s")
    print(f"ratio load/raw              {t_raw / t_load:6.2f}  (target >= 0.70)")
    print(f"ratio (generate+load)/raw   {t_raw / (t_generate + t_load):6.2f}")


if __name__ == "__main__":
    main()
