"""PM demand forecast per zone and hour: a seasonal Poisson model fitted on trips.

The expected number of trips starting in zone ``z`` during hour ``h`` of a day of kind ``k``
(weekday or weekend) is

    rate(z, h, k) = (n(z, h, k) + alpha * m(z, h, k)) / (d(k) + alpha)

where ``n`` counts the observed trips, ``d(k)`` the observed days of that kind, ``alpha`` a
smoothing weight in days and ``m(z, h, k)`` the prior: the zone's own daily trips spread over the
hours by the city-wide hourly profile of that day kind. Hours with few observations shrink
towards the zone's level times the city's shape (an empirical-Bayes Poisson-gamma
mean). Trips come from the day simulation or from real rentals alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from cityos.core.errors import BadRequestData


class ForecastError(BadRequestData):
    """No data to fit, or an unknown zone or hour."""


@dataclass
class DemandForecast:
    """A fitted model: ``rates[k, z, h]`` trips per hour for day kind k (0 weekday, 1 weekend)."""

    zones: list[str]
    rates: np.ndarray

    def expected(self, zone: str, when: datetime) -> float:
        """Expected trips starting in ``zone`` in the hour of ``when`` [trips/h]."""
        if zone not in self.zones:
            raise ForecastError(f"unknown zone {zone!r}")
        kind = 1 if when.weekday() >= 5 else 0
        return float(self.rates[kind, self.zones.index(zone), when.hour])

    def day_profile(self, zone: str, weekend: bool = False) -> list[float]:
        """24 hourly rates for ``zone`` [trips/h]."""
        if zone not in self.zones:
            raise ForecastError(f"unknown zone {zone!r}")
        return [float(x) for x in self.rates[int(weekend), self.zones.index(zone)]]


def fit(
    trips: Iterable[tuple[str, datetime]], zones: Sequence[str] | None = None, alpha: float = 1.0
) -> DemandForecast:
    """Fit the model on trips ``(zone, start time)`` (see module docstring)."""
    if alpha < 0:
        raise ForecastError("alpha must be ≥ 0")
    rows = list(trips)
    if not rows:
        raise ForecastError("no trips to fit the forecast on")
    names = list(zones) if zones is not None else sorted({z for z, _ in rows})
    index = {z: i for i, z in enumerate(names)}
    counts = np.zeros((2, len(names), 24))
    days: list[set] = [set(), set()]
    for zone, when in rows:
        if zone not in index:
            raise ForecastError(f"trip in unknown zone {zone!r}")
        kind = 1 if when.weekday() >= 5 else 0
        counts[kind, index[zone], when.hour] += 1
        days[kind].add(when.date())
    rates = np.zeros_like(counts)
    for k in (0, 1):
        d = len(days[k])
        if d == 0:
            other = 1 - k
            rates[k] = rates[other] if len(days[other]) else 0.0
            continue
        total = counts[k].sum()
        shape = counts[k].sum(axis=0) / total if total else np.full(24, 1 / 24)
        level = counts[k].sum(axis=1) / d
        prior = level[:, None] * shape[None, :]
        rates[k] = (counts[k] + alpha * prior) / (d + alpha)
    if not days[1]:
        rates[1] = rates[0]
    return DemandForecast(names, rates)


def targets(
    forecast: DemandForecast,
    when: datetime,
    docks: dict[str, int],
    fleet: int,
    hours: int = 2,
) -> dict[str, int]:
    """Target pods per station zone for the next ``hours``: the fleet shared out in proportion
    to expected departures (largest remainders), never above a station's docks."""
    if fleet < 0 or hours < 1:
        raise ForecastError("fleet must be ≥ 0 and hours ≥ 1")
    zones = [z for z in docks if z in forecast.zones]
    want = np.array([
        sum(forecast.expected(z, when.replace(hour=(when.hour + h) % 24)) for h in range(hours))
        for z in zones
    ])  # fmt: skip
    cap = np.array([docks[z] for z in zones])
    fleet = min(fleet, int(cap.sum()))
    share = want / want.sum() * fleet if want.sum() > 0 else cap / max(cap.sum(), 1) * fleet
    out = np.minimum(np.floor(share).astype(int), cap)
    for i in np.argsort(-(share - np.floor(share))):
        if out.sum() >= fleet:
            break
        if out[i] < cap[i]:
            out[i] += 1
    while out.sum() < fleet:
        i = int(np.argmax(cap - out))
        out[i] += 1
    return {z: int(n) for z, n in zip(zones, out, strict=True)}
