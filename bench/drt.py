"""DRT benchmark: the online insertion heuristic against an OR-Tools reference, 30 instances.

Online (requests revealed at their earliest pickup) and offline (all pre-booked). For each
seeded instance (:func:`cityos.services.mobility.drt.instances.random_instance`: 10
requests over 30 min, 2 shuttles of 4 seats, 25 nodes in 2.5 km x 2.5 km), the dispatcher runs
(no rebalancing), then OR-Tools solves the
offline problem of serving the same accepted requests under the same limits (wait 600 s, detour
factor 1.3), seeded with the heuristic's plan and improved by guided local search for
``--limit`` seconds. Prints the gap of the heuristic in vehicle-km over the reference for each
instance and the mean. Target: mean gap <= 10 %.
Run: ``.venv/bin/python bench/drt.py [--instances 30] [--limit 2]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from cityos.services.mobility.drt import dispatch
from cityos.services.mobility.drt.exact import solve_exact
from cityos.services.mobility.drt.instances import random_instance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=30)
    parser.add_argument("--limit", type=float, default=2.0, help="OR-Tools time limit [s]")
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--verbose", action="store_true", help="print every instance")
    args = parser.parse_args()
    for offline in (False, True):
        label = "offline (pre-booked)" if offline else "online"
        gaps, heuristic_s, exact_s, rejected = [], 0.0, 0.0, 0
        for seed in range(args.instances):
            inst = random_instance(seed, n_requests=args.requests)
            t0 = time.perf_counter()
            result = dispatch(inst.requests, inst.vehicles, inst.travel, offline=offline)
            heuristic_s += time.perf_counter() - t0
            rejected += len(result.rejected)
            served = [r for r in inst.requests if r.id in result.assignments]
            routes = {
                v: [(s.request_id, s.kind) for s in stops if s.kind in ("pickup", "dropoff")]
                for v, stops in result.routes.items()
            }
            t0 = time.perf_counter()
            exact = solve_exact(
                served, inst.vehicles, inst.travel, time_limit_s=args.limit, initial_routes=routes
            )
            exact_s += time.perf_counter() - t0
            if exact is None or exact.vehicle_km <= 0:
                print(f"{label} instance {seed:2d}: no reference")
                continue
            gap = result.vehicle_km / exact.vehicle_km - 1
            gaps.append(gap)
            if args.verbose:
                print(
                    f"{label} instance {seed:2d}: served {len(served):2d}/{len(inst.requests)} "
                    f"heuristic {result.vehicle_km:6.2f} km  OR-Tools {exact.vehicle_km:6.2f} km  "
                    f"gap {gap:6.1%}"
                )
        total = args.instances * args.requests
        print(
            f"{label}: mean gap in vehicle-km {statistics.mean(gaps):.1%} over {len(gaps)} "
            f"instances (max {max(gaps):.1%}); rejected {rejected}/{total}; "
            f"heuristic {heuristic_s / len(gaps) * 1000:.1f} ms/instance, "
            f"OR-Tools {exact_s / len(gaps):.2f} s/instance (ratio {exact_s / heuristic_s:,.0f}x)"
        )


if __name__ == "__main__":
    main()
