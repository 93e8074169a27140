"""Mobility benchmark: a full weekday of 5-1 (~20,000 people, ~70,000 trips) with DRT.

Runs, in one process and with the same seed, the car-oriented ``baseline`` day (plans, choice,
no shuttle) as the reference and the ``smart-5-1`` day with the shuttle dispatcher, and prints
each stage's wall time, the day's size, the vehicle demand handed to traffic simulation
(:func:`cityos.twin.mobility.export.vehicle_demand`) and the ratio smart-5-1 / baseline.

Then SUMO's mesoscopic model (``--mesosim``, fixed-time signals) runs the same day's car,
shared-car and taxi trips plus BRT buses every 10 minutes per direction on the same network
(the twin's motor roads exported to SUMO), and the day's wall time is printed as a ratio to
SUMO's (routing the trips with sumolib is not counted on either side).
Run: ``.venv/bin/python bench/mobility.py [--seed 1] [--scenario smart-5-1] [--no-sumo]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

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


def sumo_reference(result: object, seed: int) -> tuple[float, int, object]:
    """SUMO mesoscopic wall time [s] for the day's vehicles, their number and SUMO's report."""
    from cityos.twin.signals.demand import DemandSpec, generate_demand, vehicles_from_trips
    from cityos.twin.signals.simulation import prepare, simulate

    with tempfile.TemporaryDirectory() as tmp:
        net = prepare("city", Path(tmp))
        xy = result.city.network.xy  # type: ignore[attr-defined]
        trips = [(v.depart_s, v.mode, xy[v.from_node], xy[v.to_node])
                 for v in vehicle_demand(result)]  # type: ignore[arg-type]  # fmt: skip
        day = 86_400.0
        buses = DemandSpec(duration_s=day, cars_per_hour=0, shuttles_per_hour=0,
                           bus_headway_s=600, ambulance_at_s=None)  # fmt: skip
        vehicles = vehicles_from_trips(net, trips) + generate_demand(net, buses, seed)
        started = time.perf_counter()
        report = simulate(net, vehicles, "fixed", day + 3_600, seed, mesoscopic=True)
        return time.perf_counter() - started, len(vehicles), report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", default="smart-5-1")
    parser.add_argument("--no-sumo", action="store_true", help="skip the SUMO reference run")
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
    if not args.no_sumo:
        sumo_s, n, report = sumo_reference(smart, args.seed)
        print(
            f"SUMO mesoscopic, same day's {n:,} vehicles (cars, shared cars, taxis, BRT): "
            f"{sumo_s:.1f} s, {report.throughput:,}/{report.demand:,} arrived; "
            f"{args.scenario} day / SUMO = {smart_s / sumo_s:.2f}"
        )


if __name__ == "__main__":
    main()
