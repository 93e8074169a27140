"""GBFS 2.3 feeds of the PM system (General Bikeshare Feed Specification, MobilityData, v2.3).

Every file has ``last_updated`` (POSIX s), ``ttl`` [s], ``version`` and ``data``. Pods are vehicle
type ``pod1`` (1 seat) or ``pod2`` (2 seats), ``form_factor`` ``other`` (a weather-shielded
micro-vehicle; GBFS 2.3 has no pod form factor), ``propulsion_type`` ``electric``,
``max_range_meters`` from the battery. Docked pods count in ``station_status``; pods away from a
station are listed in ``free_bike_status`` with coordinates (docked ones carry ``station_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cityos.services.mobility.pm.model import Pod, Station, System

GBFS_VERSION = "2.3"
FEEDS = (
    "system_information",
    "vehicle_types",
    "station_information",
    "station_status",
    "free_bike_status",
    "system_pricing_plans",
)
#: Range of a full battery [m].
FULL_RANGE_M = 40_000.0


def envelope(data: dict[str, Any], now: int, ttl: int = 60) -> dict[str, Any]:
    """Wrap ``data`` as a GBFS file."""
    return {"last_updated": now, "ttl": ttl, "version": GBFS_VERSION, "data": data}


def gbfs_index(base_url: str, now: int, language: str = "en") -> dict[str, Any]:
    """``gbfs.json``: the feeds, by language."""
    feeds = [{"name": n, "url": f"{base_url}/{n}.json"} for n in FEEDS]
    return envelope({language: {"feeds": feeds}}, now)


def system_information(system: System, now: int) -> dict[str, Any]:
    return envelope(
        {
            "system_id": system.system_id,
            "language": "en",
            "name": system.name,
            "timezone": system.timezone,
            "operator": system.operator,
        },
        now,
        ttl=3600,
    )


def vehicle_types(now: int) -> dict[str, Any]:
    types = [
        {
            "vehicle_type_id": f"pod{seats}",
            "form_factor": "other",
            "propulsion_type": "electric",
            "max_range_meters": FULL_RANGE_M,
            "name": f"Shielded PM pod, {seats} seat{'s' if seats > 1 else ''}",
            "rider_capacity": seats,
        }
        for seats in (1, 2)
    ]
    return envelope({"vehicle_types": types}, now, ttl=3600)


def station_information(stations: Sequence[Station], now: int) -> dict[str, Any]:
    rows = [
        {"station_id": s.station_id, "name": s.name, "lat": s.lat, "lon": s.lon,
         "capacity": s.docks}
        for s in stations
    ]  # fmt: skip
    return envelope({"stations": rows}, now, ttl=3600)


def station_status(stations: Sequence[Station], pods: Sequence[Pod], now: int) -> dict[str, Any]:
    rows = []
    for s in stations:
        here = [p for p in pods if p.station_id == s.station_id]
        ready = [p for p in here if not p.disabled and not p.reserved]
        by_type: dict[str, int] = {}
        for p in ready:
            by_type[p.vehicle_type_id] = by_type.get(p.vehicle_type_id, 0) + 1
        rows.append(
            {
                "station_id": s.station_id,
                "num_bikes_available": len(ready),
                "num_bikes_disabled": sum(p.disabled for p in here),
                "num_docks_available": max(0, s.docks - len(here)),
                "vehicle_types_available": [
                    {"vehicle_type_id": k, "count": v} for k, v in sorted(by_type.items())
                ],
                "is_installed": True,
                "is_renting": s.renting,
                "is_returning": s.renting,
                "last_reported": now,
            }
        )
    return envelope({"stations": rows}, now)


def free_bike_status(pods: Sequence[Pod], now: int) -> dict[str, Any]:
    rows = []
    for p in pods:
        if p.reserved:
            continue
        row: dict[str, Any] = {
            "bike_id": p.public_id,
            "is_reserved": False,
            "is_disabled": p.disabled,
            "vehicle_type_id": p.vehicle_type_id,
            "current_range_meters": round(p.battery * FULL_RANGE_M, 1),
            "last_reported": now,
        }
        if p.station_id:
            row["station_id"] = p.station_id
        else:
            row["lat"], row["lon"] = p.lat, p.lon
        rows.append(row)
    return envelope({"bikes": rows}, now)


def system_pricing_plans(system: System, now: int) -> dict[str, Any]:
    plans = [
        {
            "plan_id": plan_id,
            "name": name,
            "currency": "KRW",
            "price": float(system.unlock_krw * factor),
            "is_taxable": False,
            "description": f"{name}: unlock {system.unlock_krw * factor:.0f} KRW, then "
            f"{system.per_minute_krw * factor:.0f} KRW per minute",
            "per_min_pricing": [
                {"start": 0, "rate": float(system.per_minute_krw * factor), "interval": 1}
            ],
        }
        for plan_id, name, factor in (
            ("standard", "Standard", 1.0),
            ("reduced", "Mobility-disadvantaged rider", 1.0 - system.disadvantaged_discount),
        )
    ]
    return envelope({"plans": plans}, now, ttl=3600)
