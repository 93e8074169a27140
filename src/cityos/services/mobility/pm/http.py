"""HTTP API of PM sharing: the GBFS 2.3 feed under ``/mobility/v1/gbfs/`` and operator endpoints
under ``/mobility/v1/pm/`` (fares, rebalancing plans). State comes from the hub."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from cityos.core.errors import ResourceNotFound
from cityos.services.mobility.pm import gbfs
from cityos.services.mobility.pm.model import PMError, System, fare_krw
from cityos.services.mobility.pm.rebalancing import StationState, Truck, plan_rebalancing
from cityos.services.mobility.pm.service import load_state

router = APIRouter(tags=["Mobility: PM sharing"])
SYSTEM = System()


def _tenant(request: Request) -> str:
    return request.headers.get("NGSILD-Tenant", "")


@router.get("/mobility/v1/gbfs/gbfs.json", summary="GBFS 2.3 auto-discovery file")
def gbfs_json(request: Request) -> dict[str, Any]:
    base = str(request.url).rsplit("/", 1)[0]
    return gbfs.gbfs_index(base, int(time.time()))


@router.get("/mobility/v1/gbfs/{feed}.json", summary="One GBFS 2.3 feed")
def gbfs_feed(feed: str, request: Request) -> dict[str, Any]:
    now = int(time.time())
    if feed not in gbfs.FEEDS:
        raise ResourceNotFound(f"no GBFS feed {feed!r}; feeds: {', '.join(gbfs.FEEDS)}")
    if feed == "system_information":
        return gbfs.system_information(SYSTEM, now)
    if feed == "vehicle_types":
        return gbfs.vehicle_types(now)
    if feed == "system_pricing_plans":
        return gbfs.system_pricing_plans(SYSTEM, now)
    stations, pods = load_state(request.app.state.hub, _tenant(request))
    if feed == "station_information":
        return gbfs.station_information(stations, now)
    if feed == "station_status":
        return gbfs.station_status(stations, pods, now)
    return gbfs.free_bike_status(pods, now)


@router.get("/mobility/v1/pm/fare", summary="Fare of a ride, with the discount by rider profile")
def fare(
    minutes: float = Query(..., ge=0, le=24 * 60, description="Ride length [min]"),
    profile: str = Query("standard", description="standard, disabled, senior, lowIncome, ..."),
) -> dict[str, Any]:
    return {"minutes": minutes, "profile": profile, "fareKRW": fare_krw(SYSTEM, minutes, profile)}


class TruckIn(BaseModel):
    id: str = Field(min_length=1)
    capacity: int = Field(ge=1, le=100)


class RebalancingIn(BaseModel):
    trucks: list[TruckIn] = Field(min_length=1, max_length=50)
    targets: dict[str, int] | None = Field(
        None, description="Target pods per station id; default: pods shared out by docks"
    )
    speedKmh: float = Field(25.0, gt=0, le=120)
    maxRouteMinutes: float = Field(180, gt=0, le=24 * 60)


def _haversine_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lat1, lon1 = np.radians(a[:, None, 0]), np.radians(a[:, None, 1])
    lat2, lon2 = np.radians(b[None, :, 0]), np.radians(b[None, :, 1])
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * np.arcsin(np.sqrt(h))


@router.post("/mobility/v1/pm/rebalancing", summary="Plan truck routes that rebalance docked pods")
def rebalancing(body: RebalancingIn, request: Request) -> dict[str, Any]:
    stations, pods = load_state(request.app.state.hub, _tenant(request))
    if not stations:
        raise PMError("no PM stations in the hub")
    ids = {s.station_id for s in stations}
    if body.targets:
        unknown = sorted(set(body.targets) - ids)
        if unknown:
            raise PMError(f"unknown station ids in targets: {', '.join(unknown[:5])}")
        if any(v < 0 for v in body.targets.values()):
            raise PMError("targets must be ≥ 0")
    docked = {s.station_id: 0 for s in stations}
    for p in pods:
        if p.station_id in docked and not p.disabled:
            docked[p.station_id] += 1
    total = sum(docked.values())
    docks = sum(s.docks for s in stations)
    states = []
    for s in stations:
        default = math.floor(total * s.docks / docks) if docks else 0
        target = (body.targets or {}).get(s.station_id, default)
        states.append(StationState(s.station_id, min(docked[s.station_id], s.docks), target,
                                   s.docks))  # fmt: skip
    xy = np.array([[s.lat, s.lon] for s in stations])
    pts = np.vstack([xy.mean(axis=0), xy])
    times = _haversine_m(pts, pts) * 1.3 / (body.speedKmh / 3.6)
    plan = plan_rebalancing(
        states, [Truck(t.id, t.capacity) for t in body.trucks], times,
        max_route_s=int(body.maxRouteMinutes * 60),
    )  # fmt: skip
    return {
        "moved": plan.moved,
        "unserved": plan.unserved,
        "travelSeconds": plan.travel_s,
        "routes": {
            truck: [
                {
                    "stationId": s.station_id,
                    "change": s.change,
                    "loadAfter": s.load_after,
                    "arrivalSeconds": s.arrival_s,
                }
                for s in stops
            ]
            for truck, stops in plan.routes.items()
        },
        "finalPods": plan.final_pods(states),
    }
