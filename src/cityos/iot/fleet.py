"""The simulated sensor fleet of Sejong 5-1, placed on the generated twin.

:func:`plan_fleet` lists the devices the plan asks for, each at its place on the twin:
air quality at three heights at every air-quality station (3-D fine-dust sensing), weather and
visibility stations, traffic counters at the ring gates and on the BRT spine, occupancy sensors
in the five public car parks and the shared-car tower, a smart electricity meter per building,
rooftop PV inverters, river water and sewage probes, noise meters on arterial and ring roads,
food-waste bins by weight, street lights and personal-mobility (PM) station docks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cityos.iot.registry import DeviceSpec

#: Device kinds of the fleet -> (profile, payload format).
KINDS: dict[str, tuple[str, str]] = {
    "airQuality": ("AirQualityObserved", "ul"),
    "weather": ("WeatherObserved", "ul"),
    "traffic": ("TrafficFlowObserved", "ul"),
    "parking": ("ParkingSpot", "ul"),
    "meter": ("ElectricityMeter", "json"),
    "pv": ("ElectricityMeter", "json"),
    "water": ("WaterQualityObserved", "json"),
    "sewage": ("WaterQualityObserved", "json"),
    "noise": ("NoiseLevelObserved", "ul"),
    "foodWaste": ("WasteContainer", "json"),
    "streetlight": ("Streetlight", "ul"),
    "pmDock": ("DeviceMeasurement", "ul"),
}
AQ_HEIGHTS_M = (2.0, 15.0, 30.0)


@dataclass
class SimDevice:
    """A simulated device: where it stands and what it measures."""

    device_id: str
    kind: str
    lon: float
    lat: float
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def profile(self) -> str:
        return KINDS[self.kind][0]

    @property
    def protocol(self) -> str:
        return KINDS[self.kind][1]

    def spec(self) -> DeviceSpec:
        owner_class = "citizen" if self.kind in ("pv", "meter") else "public"
        return DeviceSpec(
            device_id=self.device_id,
            profile=self.profile,
            owner_class=owner_class,
            owner="Sejong City" if owner_class == "public" else "resident (pseudonymous)",
            protocol=self.protocol,
            location=(self.lon, self.lat),
            name=self.name,
        )


def _midpoint(line: Any) -> tuple[float, float]:
    p = line.interpolate(0.5, normalized=True)
    return float(p.x), float(p.y)


def plan_fleet(city: Any, per_kind: int | None = None, seed: int = 1) -> list[SimDevice]:
    """Every simulated device of ``city`` (a :class:`cityos.twin.generator.City`), at most
    ``per_kind`` of each kind (None: all), in a stable order."""
    rng = np.random.default_rng(seed)
    frame = city.frame
    places: list[tuple[str, str, float, float, dict[str, Any]]] = []  # kind, name, x, y, params
    stations = [a for a in city.amenities if a.category == "airQualityStation"]
    for a in stations:
        for h in AQ_HEIGHTS_M:
            places.append(("airQuality", f"{a.name}, {h:g} m", a.x, a.y, {"height": h}))
    for a in stations[:2]:
        places.append(("weather", f"Weather at {a.name}", a.x + 5.0, a.y, {}))
    for i, (x, y) in enumerate(city.zone.gates):
        for lane in (1, 2):
            places.append(("traffic", f"Ring gate {i + 1} lane {lane}", x, y, {"lane": lane}))
    for road in [r for r in city.roads if r.road_class == "brt"][::3]:
        x, y = _midpoint(road.line)
        places.append(("traffic", f"BRT crossing {road.name or road.key}", x, y, {"lane": 1}))
    for park in [a for a in city.amenities if a.kind == "OffStreetParking"]:
        for s in range(12):
            dx, dy = rng.uniform(-25.0, 25.0, 2)
            tower = park.category == "sharedCarTower"
            places.append(("parking", f"{park.name} spot {s + 1}", park.x + dx, park.y + dy,
                           {"busy": 0.8 if tower else 0.6}))  # fmt: skip
    for b in city.buildings:
        c = b.polygon.centroid
        homes = float(b.use_mix.get("living", 0.0)) if isinstance(b.use_mix, dict) else 0.5
        load_kw = 5.0 + 0.002 * b.polygon.area * b.floors
        places.append(("meter", f"Meter {b.name}", c.x, c.y, {"kw": load_kw, "homes": homes}))
        if b.typology in ("employment", "mixed", "facility") and int(b.key[1:] or 0) % 3 == 0:
            places.append(("pv", f"Rooftop PV {b.name}", c.x, c.y, {"kwp": 0.15 * b.polygon.area}))
        if b.typology in ("residential", "mixed", "detached"):
            places.append(("foodWaste", f"Food-waste bin {b.name}", c.x + 8.0, c.y, {}))
    for n in city.nature:
        if n.category == "river":
            for j, t in enumerate((0.3, 0.7)):
                p = n.polygon.exterior.interpolate(t, normalized=True)
                places.append(("water", f"{n.name} probe {j + 1}", p.x, p.y, {}))
    for i, b in enumerate(city.buildings[::60]):
        c = b.polygon.centroid
        places.append(("sewage", f"Sewer manhole {i + 1}", c.x, c.y - 10.0, {}))
    for road in [r for r in city.roads if r.road_class in ("arterial", "ring")]:
        x, y = _midpoint(road.line)
        places.append(("streetlight", f"Street light {road.key}", x, y, {}))
    for road in [r for r in city.roads if r.road_class in ("arterial", "ring")][::5]:
        x, y = _midpoint(road.line)
        places.append(("noise", f"Noise at {road.name or road.key}", x + 3.0, y, {}))
    for a in [a for a in city.amenities if a.category == "pmStation"]:
        places.append(("pmDock", f"PM docks {a.name}", a.x, a.y, {"docks": 12}))
    counts: dict[str, int] = {}
    chosen = []
    for kind, name, x, y, params in places:
        n = counts.get(kind, 0)
        if per_kind is not None and n >= per_kind:
            continue
        counts[kind] = n + 1
        chosen.append((kind, name, x, y, params, n + 1))
    xy = np.array([[c[2], c[3]] for c in chosen], dtype=float).reshape(-1, 2)
    lonlat = frame.to_wgs84(xy) if len(chosen) else xy
    return [
        SimDevice(f"{kind}-{i:03d}", kind, round(float(lon), 7), round(float(lat), 7), name, params)
        for (kind, name, _, _, params, i), (lon, lat) in zip(chosen, lonlat, strict=True)
    ]
