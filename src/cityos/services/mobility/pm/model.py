"""PM system state: stations, pods and fares, kept in the hub as NGSI-LD entities.

Entities: ``PMStation`` (``name``, ``location``, ``capacity`` [docks]) and ``PMPod``
(``vehicleType`` ``pod1``/``pod2``, ``seats``, ``maxSpeed`` [km/h] ≤ 25, ``batteryLevel`` [0-1],
``location``, ``refStation`` relationship when docked, ``isReserved``, ``isDisabled``).
Ids: ``urn:ngsi-ld:PMStation:<station_id>``, ``urn:ngsi-ld:PMPod:<pod_id>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cityos.core.errors import BadRequestData

#: Top speed of a shielded pod [km/h] (5-1 plan: ≤ 25 km/h).
MAX_SPEED_KMH = 25.0
#: Rider profiles with a fare discount (mobility-disadvantaged riders).
DISCOUNTED_PROFILES = ("disabled", "senior", "lowIncome", "pregnant", "child")


class PMError(BadRequestData):
    """Invalid PM system data or request."""


@dataclass(frozen=True)
class Station:
    station_id: str
    name: str
    lat: float
    lon: float
    docks: int
    renting: bool = True


@dataclass(frozen=True)
class Pod:
    pod_id: str
    seats: int
    lat: float
    lon: float
    battery: float = 1.0
    station_id: str | None = None
    reserved: bool = False
    disabled: bool = False
    max_speed_kmh: float = MAX_SPEED_KMH

    def __post_init__(self) -> None:
        if self.seats not in (1, 2):
            raise PMError(f"pod {self.pod_id}: seats must be 1 or 2, got {self.seats}")
        if not 0 < self.max_speed_kmh <= MAX_SPEED_KMH:
            raise PMError(f"pod {self.pod_id}: top speed must be in (0, {MAX_SPEED_KMH}] km/h")
        if not 0 <= self.battery <= 1:
            raise PMError(f"pod {self.pod_id}: battery level must be in [0, 1]")

    @property
    def vehicle_type_id(self) -> str:
        return f"pod{self.seats}"

    @property
    def public_id(self) -> str:
        """Rotating-free public id (GBFS 2.x asks ids of free vehicles not to track riders; the
        pod id is an asset number, not linked to trips)."""
        return self.pod_id


@dataclass(frozen=True)
class System:
    """Operator-level facts and fares [KRW]."""

    system_id: str = "sejong-5-1-pm"
    name: str = "Sejong 5-1 shielded PM"
    operator: str = "Sejong 5-1 SPC"
    timezone: str = "Asia/Seoul"
    unlock_krw: float = 500.0
    per_minute_krw: float = 100.0
    disadvantaged_discount: float = 0.5


def fare_krw(system: System, minutes: float, profile: str | None = None) -> float:
    """Fare of a ride [KRW]: unlock plus per started minute; ``DISCOUNTED_PROFILES`` pay
    ``1 - disadvantaged_discount`` of it."""
    if not math.isfinite(minutes) or minutes < 0:
        raise PMError(f"ride minutes must be ≥ 0, got {minutes}")
    base = system.unlock_krw + system.per_minute_krw * math.ceil(minutes)
    if profile is not None and profile not in (*DISCOUNTED_PROFILES, "standard"):
        known = ", ".join(("standard", *DISCOUNTED_PROFILES))
        raise PMError(f"unknown rider profile {profile!r}; known: {known}")
    factor = 1.0 - system.disadvantaged_discount if profile in DISCOUNTED_PROFILES else 1.0
    return round(base * factor, 0)


def _prop(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


def _point(lat: float, lon: float) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def station_entity(s: Station) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:PMStation:{s.station_id}",
        "type": "PMStation",
        "name": _prop(s.name),
        "capacity": _prop(s.docks),
        "isRenting": _prop(s.renting),
        "location": _point(s.lat, s.lon),
    }


def pod_entity(p: Pod) -> dict[str, Any]:
    body = {
        "id": f"urn:ngsi-ld:PMPod:{p.pod_id}",
        "type": "PMPod",
        "vehicleType": _prop(p.vehicle_type_id),
        "seats": _prop(p.seats),
        "maxSpeed": _prop(p.max_speed_kmh),
        "batteryLevel": _prop(p.battery),
        "isReserved": _prop(p.reserved),
        "isDisabled": _prop(p.disabled),
        "location": _point(p.lat, p.lon),
    }
    if p.station_id:
        body["refStation"] = {
            "type": "Relationship",
            "object": f"urn:ngsi-ld:PMStation:{p.station_id}",
        }
    return body


def _value(e: dict[str, Any], name: str, default: Any = None) -> Any:
    attr = e.get(name)
    if isinstance(attr, dict):
        return attr.get("value", attr.get("object", default))
    return default if attr is None else attr


def station_from_entity(e: dict[str, Any]) -> Station:
    lon, lat = _value(e, "location")["coordinates"][:2]
    return Station(
        e["id"].rsplit(":", 1)[-1], str(_value(e, "name", "")), float(lat), float(lon),
        int(_value(e, "capacity", 0)), bool(_value(e, "isRenting", True)),
    )  # fmt: skip


def pod_from_entity(e: dict[str, Any]) -> Pod:
    lon, lat = _value(e, "location")["coordinates"][:2]
    ref = _value(e, "refStation")
    return Pod(
        e["id"].rsplit(":", 1)[-1], int(_value(e, "seats", 1)), float(lat), float(lon),
        float(_value(e, "batteryLevel", 1.0)), ref.rsplit(":", 1)[-1] if ref else None,
        bool(_value(e, "isReserved", False)), bool(_value(e, "isDisabled", False)),
        float(_value(e, "maxSpeed", MAX_SPEED_KMH)),
    )  # fmt: skip


def seed_from_twin(city: Any, pods_per_station: int = 6, free_floating: int = 20,
                   seed: int = 0) -> tuple[list[Station], list[Pod]]:  # fmt: skip
    """Stations at the twin's PM stations (``pmStation`` amenities) with ``pods_per_station``
    docked pods, plus ``free_floating`` pods near random stations; one pod in four has 2 seats."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sites = [a for a in city.amenities if a.category == "pmStation"]
    if not sites:
        raise PMError("the city has no PM stations")
    lonlat = city.frame.to_wgs84(np.array([[a.x, a.y] for a in sites]))
    stations = [
        Station(a.key, a.name, round(float(ll[1]), 6), round(float(ll[0]), 6),
                int(a.attrs.get("capacity", 12)))
        for a, ll in zip(sites, lonlat, strict=True)
    ]  # fmt: skip
    pods: list[Pod] = []
    for s in stations:
        for _ in range(min(pods_per_station, s.docks)):
            n = len(pods)
            pods.append(Pod(f"P{n:04d}", 2 if n % 4 == 3 else 1, s.lat, s.lon, 1.0, s.station_id))
    for _ in range(free_floating):
        s = stations[int(rng.integers(len(stations)))]
        n = len(pods)
        dlat, dlon = rng.normal(0, 0.001, 2)
        lat, lon = round(float(s.lat + dlat), 6), round(float(s.lon + dlon), 6)
        battery = round(float(rng.uniform(0.3, 1)), 2)
        pods.append(Pod(f"P{n:04d}", 2 if n % 4 == 3 else 1, lat, lon, battery))
    return stations, pods
