"""Realistic signals for the simulated fleet: diurnal and weekly cycles, episodes, faults.

Every generator is a pure function of the simulated time [s since the epoch], the device's
parameters and a random stream, plus a small per-device state dict (cumulative energy, fill level,
a stuck value). Local time is Korea Standard Time (UTC+9). Shapes follow common published
profiles: traffic with a morning (08:00) and an evening (18:00) peak and a weekend dip; particulate
matter following traffic, multiplied during a yellow-dust episode; a radiation-fog morning
(visibility below 1 km between 05:00 and 09:00 at high humidity); PV output as a clear-sky bell
between 06:00 and 18:00.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

KST_OFFSET_S = 9 * 3600


@dataclass(frozen=True)
class Episodes:
    """Weather episodes in simulated time [s since the epoch]: a fine-dust (yellow-dust) episode
    and a fog morning, each a [start, end) window (None: no episode)."""

    dust: tuple[float, float] | None = None
    dust_factor: float = 5.0
    fog: tuple[float, float] | None = None

    def dusty(self, t: float) -> float:
        """The particulate multiplier at ``t`` (1 outside the episode, smooth ramps at the ends)."""
        if self.dust is None or not self.dust[0] <= t < self.dust[1]:
            return 1.0
        start, end = self.dust
        ramp = min(1.0, (t - start) / 1800.0, (end - t) / 1800.0)
        return 1.0 + (self.dust_factor - 1.0) * max(0.0, ramp)

    def foggy(self, t: float) -> bool:
        return self.fog is not None and self.fog[0] <= t < self.fog[1]


def local_hour(t: float) -> float:
    """Hour of the day in KST [h]."""
    return ((t + KST_OFFSET_S) % 86400) / 3600.0


def weekend(t: float) -> bool:
    """Saturday or Sunday in KST (1970-01-01 was a Thursday)."""
    return int((t + KST_OFFSET_S) // 86400 + 3) % 7 >= 5


def traffic_level(t: float) -> float:
    """Relative traffic (0..1): morning and evening peaks, low at night, 30 % lower at weekends."""
    h = local_hour(t)
    level = (
        0.08
        + 0.9 * math.exp(-(((h - 8.0) / 1.2) ** 2))
        + 0.8 * math.exp(-(((h - 18.0) / 1.5) ** 2))
        + 0.35 * math.exp(-(((h - 13.0) / 3.0) ** 2))
    )
    return min(1.0, level) * (0.7 if weekend(t) else 1.0)


def daylight(t: float) -> float:
    """Relative clear-sky irradiance (0..1), a sine bell between 06:00 and 18:00."""
    h = local_hour(t)
    return math.sin(math.pi * (h - 6.0) / 12.0) if 6.0 < h < 18.0 else 0.0


def fog_morning(t: float, day_start: float) -> tuple[float, float]:
    """The fog window (05:00-09:00 KST) of the first morning at or after ``day_start``."""
    local = day_start + KST_OFFSET_S
    midnight = local - local % 86400 - KST_OFFSET_S
    start = midnight + 5 * 3600
    if start + 4 * 3600 <= day_start:
        start += 86400
    return start, start + 4 * 3600


def measure(
    kind: str, t: float, params: dict[str, Any], state: dict[str, Any], rng: np.random.Generator,
    episodes: Episodes, dt: float,
) -> dict[str, Any]:  # fmt: skip
    """The raw values (device keys, device units) a device of ``kind`` reports at ``t``; ``dt``
    is the time since its previous report [s]."""
    h = local_hour(t)
    traffic = traffic_level(t)
    temp = 6.0 + 6.0 * math.sin(math.pi * (h - 9.0) / 12.0) + rng.normal(0, 0.3)
    humid = min(100.0, 60.0 - 15.0 * daylight(t) + rng.normal(0, 2.0))
    if episodes.foggy(t):
        humid = min(100.0, 96.0 + rng.normal(0, 1.0))
    if kind == "airQuality":
        dust = episodes.dusty(t)
        height = float(params.get("height", 2.0))
        lift = math.exp(-height / 120.0)  # slightly less at roof level
        pm10 = max(0.0, (25.0 + 35.0 * traffic) * dust * lift + rng.normal(0, 3.0))
        pm25 = max(0.0, pm10 * (0.55 if dust > 1.5 else 0.45) + rng.normal(0, 1.5))
        no2 = max(0.0, 12.0 + 30.0 * traffic * lift + rng.normal(0, 2.0))  # ppb
        return {"pm10": round(pm10, 1), "pm25": round(pm25, 1), "no2": round(no2, 1),
                "o3": round(max(0.0, 20.0 + 25.0 * daylight(t) + rng.normal(0, 2)), 1),
                "t": round(temp - height * 0.0065, 2), "h": round(max(5.0, humid), 1),
                "alt": height}  # fmt: skip
    if kind == "weather":
        haze = 0.5 if episodes.dusty(t) > 1.5 else 1.0
        vis = 150.0 + rng.normal(0, 30.0) if episodes.foggy(t) else 20000.0 + rng.normal(0, 2000)
        if episodes.dusty(t) > 1.5:
            vis = min(vis, 4000.0)
        return {"t": round(temp, 2), "h": round(max(5.0, humid), 1),
                "p": round(1016.0 + rng.normal(0, 0.8), 1),
                "ws": round(max(0.0, 8.0 + rng.normal(0, 3.0)), 1),  # km/h
                "wd": round(float(rng.uniform(250.0, 340.0)), 0),
                "vis": round(max(50.0, vis), 0),
                "sr": round(900.0 * daylight(t) * haze, 0)}  # fmt: skip
    if kind == "traffic":
        per5min = max(0, int(rng.poisson(120.0 * traffic)))
        speed = max(5.0, 50.0 - 30.0 * traffic**2 + rng.normal(0, 3.0))
        return {"c": per5min, "o": round(min(100.0, 60.0 * traffic ** 1.5), 1),
                "s": round(speed, 1), "l": params.get("lane", 1), "dir": "f",
                "cg": 1 if traffic > 0.85 else 0}  # fmt: skip
    if kind == "parking":
        busy = float(params.get("busy", 0.6)) * (0.3 + 0.7 * traffic)
        return {"st": 1 if rng.random() < busy else 0}
    if kind == "meter":
        homes = float(params.get("homes", 0.5))
        evening = math.exp(-(((h - 20.0) / 2.5) ** 2))
        office = daylight(t) * (0.2 if weekend(t) else 1.0)
        kw = float(params.get("kw", 10.0)) * (0.25 + homes * 0.6 * evening + (1 - homes) * office)
        kw = max(0.05, kw * (1 + rng.normal(0, 0.05)))
        state["ei"] = state.get("ei", float(rng.uniform(1e3, 5e4))) + kw * dt / 3600.0
        return {"ei": round(state["ei"], 3), "p": round(kw * 1000.0, 1),
                "v": round(229.0 + rng.normal(0, 1.5), 1)}  # fmt: skip
    if kind == "pv":
        kwp = float(params.get("kwp", 50.0))
        cloud = 0.5 if episodes.dusty(t) > 1.5 or episodes.foggy(t) else 1.0
        kw = kwp * 0.8 * daylight(t) * cloud * (1 + rng.normal(0, 0.03))
        state["ee"] = state.get("ee", float(rng.uniform(1e3, 2e4))) + max(0.0, kw) * dt / 3600.0
        return {"ee": round(state["ee"], 3), "p": round(-max(0.0, kw) * 1000.0, 1)}
    if kind in ("water", "sewage"):
        sewage = kind == "sewage"
        return {"t": round(12.0 + rng.normal(0, 0.3), 2),
                "ph": round((7.6 if sewage else 7.2) + rng.normal(0, 0.1), 2),
                "cond": round((900.0 if sewage else 300.0) + rng.normal(0, 20.0), 0),
                "tur": round(max(0.0, (60.0 if sewage else 4.0) + rng.normal(0, 1.0)), 2),
                "o2": round(max(0.0, (2.0 if sewage else 9.0) + rng.normal(0, 0.3)), 2),
                "lvl": round(max(0.0, (0.4 + 0.3 * traffic if sewage else 2.0)
                                 + rng.normal(0, 0.02)), 3)}  # fmt: skip
    if kind == "noise":
        laeq = 42.0 + 25.0 * traffic + rng.normal(0, 1.5)
        return {"laeq": round(laeq, 1), "lamax": round(laeq + 12.0 + abs(rng.normal(0, 3)), 1),
                "las": round(laeq - 2.0, 1)}  # fmt: skip
    if kind == "foodWaste":
        if 6.0 <= h < 6.5:
            state["fill"] = 0.0  # collected every morning
        meal = 1.0 + 2.0 * (
            math.exp(-(((h - 12.5) / 1.0) ** 2)) + math.exp(-(((h - 19.0) / 1.2) ** 2))
        )
        state["fill"] = min(100.0, state.get("fill", 10.0) + 0.8 * meal * dt / 3600.0)
        return {"fl": round(state["fill"], 1), "w": round(state["fill"] * 0.9, 1),
                "t": round(temp + 4.0, 1), "st": "ok"}  # fmt: skip
    if kind == "streetlight":
        dark = h < 7.0 or h >= 18.0 or episodes.foggy(t)
        level = (100.0 if h >= 18.0 else 60.0) if dark else 0.0  # dimmed after midnight
        lux = 0.5 if dark else 20000.0 * daylight(t) + 50.0
        return {"pw": "on" if dark else "off", "il": level, "lux": round(lux, 1), "st": "ok"}
    if kind == "pmDock":
        docks = int(params.get("docks", 12))
        away = traffic * 0.8
        return {"v": int(rng.binomial(docks, max(0.0, 1.0 - away)))}
    raise ValueError(f"unknown device kind {kind!r}")


@dataclass
class Faults:
    """Occasional faults: a device sticks to its last values, falls silent, or spikes.

    ``rate`` is the chance per report that a fault starts [1].
    """

    rate: float = 0.01

    def apply(
        self, values: dict[str, Any], state: dict[str, Any], t: float, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        """The values the (maybe faulty) device sends, or None when it is silent (a gap)."""
        if state.get("silent_until", 0.0) > t:
            return None
        if state.get("stuck_until", 0.0) > t and "stuck" in state:
            return dict(state["stuck"])
        if self.rate > 0 and rng.random() < self.rate:
            fault = rng.choice(["stuck", "gap", "spike"])
            state["faults"] = state.get("faults", 0) + 1
            if fault == "stuck":
                state["stuck"] = dict(values)
                state["stuck_until"] = t + float(rng.uniform(600.0, 7200.0))
            elif fault == "gap":
                state["silent_until"] = t + float(rng.uniform(300.0, 3600.0))
                return None
            else:
                numeric = [k for k, v in values.items() if isinstance(v, float)]
                if numeric:
                    key = numeric[int(rng.integers(len(numeric)))]
                    values = dict(values, **{key: round(values[key] * 10.0 + 50.0, 2)})
        return values
