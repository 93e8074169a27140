"""Demand-responsive transport (DRT): an online pooled dispatcher and an offline reference.

A general library component: plain inputs (:mod:`.model`), the online insertion heuristic with
rejections, idle rebalancing and charging (:mod:`.dispatcher`), an OR-Tools reference solution
for small instances (:mod:`.exact`) and seeded instances (:mod:`.instances`).
"""

from cityos.services.mobility.drt.dispatcher import (
    Assignment,
    Charger,
    DispatchResult,
    Rebalancing,
    Stop,
    dispatch,
)
from cityos.services.mobility.drt.model import (
    DrtInputError,
    InfeasibleFleet,
    MatrixTravelTimes,
    Request,
    ServiceLimits,
    TravelTimes,
    Vehicle,
)

__all__ = [
    "Assignment",
    "Charger",
    "DispatchResult",
    "DrtInputError",
    "InfeasibleFleet",
    "MatrixTravelTimes",
    "Rebalancing",
    "Request",
    "ServiceLimits",
    "Stop",
    "TravelTimes",
    "Vehicle",
    "dispatch",
]
