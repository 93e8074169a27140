"""Signal-control benchmark on the Sejong 5-1 network in SUMO.

In one run, on the same generated demand (cars, BRT buses, shuttles, one ambulance):

* average delay (SUMO ``timeLoss``) under fixed-time, SUMO's actuated and max-pressure control
  (bus priority and pre-emption on for every controller); printed as the ratio
  max-pressure / fixed-time (target <= 0.80, i.e. at least 20 % less delay);
* wall time of SUMO's mesoscopic model (``--mesosim``) against the microscopic one, both
  fixed-time, printed as a ratio;
* a PNG of the queues on signal approaches over time (``--plot``).

Run: ``.venv/bin/python bench/signals.py [--seed 1] [--duration 3600] [--cars-per-hour 1200]
[--plot var/signals-queues.png]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cityos.twin.signals.demand import DemandSpec, generate_demand
from cityos.twin.signals.simulation import plot_queues, prepare, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=3600.0)
    parser.add_argument("--cars-per-hour", type=float, default=1200.0)
    parser.add_argument("--plot", type=Path, default=Path("var/signals-queues.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        net = prepare("city", Path(tmp))
        spec = DemandSpec(duration_s=args.duration, cars_per_hour=args.cars_per_hour,
                          ambulance_at_s=min(900.0, args.duration / 2))  # fmt: skip
        vehicles = generate_demand(net, spec, args.seed)
        print(
            f"network + demand: {len(vehicles)} vehicles in {time.perf_counter() - started:.1f} s"
        )
        reports = []
        for name in ("fixed", "actuated", "max-pressure"):
            r = simulate(net, vehicles, name, args.duration, args.seed)
            reports.append(r)
            print(
                f"{name:>13}: delay {r.mean_delay_s:6.1f} s  queue mean {r.mean_queue:5.1f} "
                f"max {r.max_queue:3d}  throughput {r.throughput}/{r.demand}  bus travel "
                f"{r.bus_travel_s or 0:6.0f} s  ambulance travel {r.ambulance_travel_s or 0:4.0f} s"
                f" (red {r.ambulance_red_approaches})  wall {r.wall_s:5.1f} s"
            )
        meso = simulate(net, vehicles, "fixed", args.duration, args.seed, mesoscopic=True)
        print(f"   fixed meso: delay {meso.mean_delay_s:6.1f} s  wall {meso.wall_s:5.1f} s")
    fixed, mp = reports[0], reports[2]
    print(f"delay ratio max-pressure/fixed-time: {mp.mean_delay_s / fixed.mean_delay_s:.3f} "
          "(target <= 0.80)")  # fmt: skip
    print(f"delay ratio actuated/fixed-time: {reports[1].mean_delay_s / fixed.mean_delay_s:.3f}")
    print(f"wall-time ratio mesoscopic/microscopic (fixed-time): {meso.wall_s / fixed.wall_s:.3f}")
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    print(f"plot: {plot_queues(reports, args.plot)}")


if __name__ == "__main__":
    main()
