"""The day's motor-vehicle demand, for traffic simulators (SUMO) and signal studies.

:func:`vehicle_demand` lists every vehicle movement of a simulated day on the twin's network:
private cars, shared cars and taxis (from their chosen trips, snapped to the nodes their
network mode may use; trips leaving 5-1 start or end at the BRT gateway), shuttle movements are
not included here (their routes come from the dispatcher), and BRT buses come from the GTFS feed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cityos.twin.mobility.day import DayResult
from cityos.twin.mobility.levels import skim

#: Network mode each vehicle mode drives under.
NETWORK_MODE = {"car": "car", "sharedCar": "sharedCar", "taxi": "service"}


@dataclass(frozen=True)
class VehicleTrip:
    """One vehicle movement: id, vehicle mode, from and to network node, departure [s]."""

    id: str
    mode: str
    from_node: int
    to_node: int
    depart_s: float


def vehicle_demand(result: DayResult) -> list[VehicleTrip]:
    """Car, shared-car and taxi movements of the day, by departure time."""
    net = result.city.network
    trips = result.trips
    restricted = result.scenario.zone.car_restricted
    out = []
    for mode, net_mode in NETWORK_MODE.items():
        if net_mode == "service" and not restricted:
            net_mode = "car"
        sk = skim(net, net_mode, car_restricted=restricted)
        idx = np.flatnonzero(result.mode == mode)
        if not len(idx):
            continue
        a, _ = sk.nearest(trips.place_xy[trips.origin[idx]], net)
        b, _ = sk.nearest(trips.place_xy[trips.destination[idx]], net)
        for i, u, v in zip(idx, a, b, strict=True):
            if u != v:
                out.append(
                    VehicleTrip(f"{mode}-{i}", mode, int(u), int(v), float(trips.depart_s[i]))
                )
    out.sort(key=lambda v: (v.depart_s, v.id))
    return out
