"""Mobility benchmark: a full weekday of 5-1 (~20,000 people, ~70,000 trips) with DRT.

Runs, in one process and with the same seed, the car-oriented ``baseline`` day (plans, choice,
no shuttle) as the reference and the ``smart-5-1`` day with the shuttle dispatcher, and prints
each stage's wall time, the day's size, the vehicle demand handed to traffic simulation
(:func:`cityos.twin.mobility.export.vehicle_demand`) and the ratio smart-5-1 / baseline.
Run: ``.venv/bin/python bench/mobility.py [--seed 1] [--scenario smart-5-1]``.
"""

from __future__ import annotations

import argparse
import time

from cityos.services.mobility.drt.twin_adapter import dispatch_shuttles
from cityos.twin.mobility.day import city_for, simulate_day
from cityos.twin.mobility.export import vehicle_demand
from cityos.twin.mobility.kpis import compute_kpis
from cityos.twin.mobility.scenario import load_scenario


def run(name: str, seed: int) -> tuple[float, object, dict[str, float]]:
    scenario = load_scenario(name)
    stages: dict[str, float] = {}

    def step(stage: str, _frac: float) -> None:
        now = time.perf_counter()
        stages[str(last[1])] = now - float(last[0])
        last[0], last[1] = now, stage.split(" ")[0]

    t0 = time.perf_counter()
    city = city_for(scenario)
    last: list[object] = [time.perf_counter(), "generate"]
    stages["twin"] = float(last[0]) - t0  # type: ignore[arg-type]
    result = simulate_day(scenario, seed, city=city, dispatcher=dispatch_shuttles, progress=step)
    return time.perf_counter() - t0, result, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default="smart-5-1")
    args = parser.parse_args()
    base_s, base, base_stages = run("baseline", args.seed)
    smart_s, smart, stages = run(args.scenario, args.seed)
    demand = vehicle_demand(smart)
    k = compute_kpis(smart, base)
    print(
        f"persons {len(smart.people.age):,}  trips {len(smart.trips):,}  "
        f"shuttle requests {smart.shuttle_requests:,}  rejected {len(smart.shuttle.rejected):,}"
    )
    print("baseline stages [s]: " + ", ".join(f"{s} {t:.1f}" for s, t in base_stages.items()))
    print(f"{args.scenario} stages [s]: " + ", ".join(f"{s} {t:.1f}" for s, t in stages.items()))
    print(f"vehicle demand for traffic simulation: {len(demand):,} car/shared-car/taxi trips")
    print(
        f"car share inside {k['carShareInside']:.1%} outside {k['carShareOutside']:.1%}; "
        f"cars owned / baseline {k['ratioToBaseline']['carsOwned']:.2f}, "
        f"cars running / baseline {k['ratioToBaseline']['carsRunning']:.2f}; "
        f"commute {k['commuteMinPerPersonDay']:.1f} min/person-day"
    )
    print(
        f"wall time: baseline {base_s:.1f} s, {args.scenario} with DRT {smart_s:.1f} s "
        f"(ratio {smart_s / base_s:.1f}x)"
    )


if __name__ == "__main__":
    main()
