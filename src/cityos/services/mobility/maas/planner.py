"""MaaS journey planner: ranked door-to-door itineraries over any GTFS feed plus access modes.

An itinerary is a first mile (walk, shielded PM, on-demand shuttle or shared car) to a stop,
the transit journey RAPTOR finds, and a walked last mile — or a direct trip by one of the
access modes. First and last miles are straight lines times a detour factor of 1.3 at each
mode's door-to-door speed, within its range. Itineraries are ranked by generalised time:
in-vehicle minutes, walking and waiting counted twice, 5 minutes per transfer, and the fare
at a value of time of 14,000 KRW/h. One fare covers transit, shuttle and PM legs when
transfers are free (the dearest of them); otherwise each leg pays. Shared cars always pay
their own fare.

Profiles: ``walking_difficulty`` caps every walk at 300 m (at 0.8 m/s) and removes PM; age
limits: PM from 16, shared car from 21, shuttle for children under 12 only if allowed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cityos.core.errors import CITYOS_PROBLEM_BASE, BadRequestData
from cityos.services.mobility.maas.gtfs import Feed, distance_m
from cityos.services.mobility.maas.raptor import footpaths, raptor

ACCESS_MODES = ("walk", "pm", "shuttle", "sharedCar")
ALL_MODES = (*ACCESS_MODES, "transit")
DETOUR = 1.3
#: Value of time for ranking [KRW/h]; walk and wait weight; transfer penalty [s].
VALUE_OF_TIME_KRW_H, WALK_WEIGHT, TRANSFER_PENALTY_S = 14_000.0, 2.0, 300.0


class UnknownMode(BadRequestData):
    """A requested mode is not one of the planner's modes."""

    type_uri = CITYOS_PROBLEM_BASE + "UnknownMode"
    title = "Unknown mode"


class OutsideNetwork(BadRequestData):
    """The origin or destination lies beyond reach of the network."""

    type_uri = CITYOS_PROBLEM_BASE + "OutsideNetwork"
    title = "Outside the network"


class NoItinerary(BadRequestData):
    """No itinerary meets the request (modes, profile, time)."""

    type_uri = CITYOS_PROBLEM_BASE + "NoItinerary"
    title = "No itinerary"
    status = 404


@dataclass(frozen=True)
class AccessMode:
    """A first/last-mile mode: door-to-door speed [m/s], range [m], wait [s], fare [KRW]."""

    speed_ms: float
    max_m: float
    wait_s: float = 0.0
    base_krw: float = 0.0
    per_km_krw: float = 0.0
    integrated: bool = True  # part of the one fare with free transfers


DEFAULT_ACCESS = {
    "walk": AccessMode(1.2, 1000.0),
    "pm": AccessMode(15 / 3.6, 4000.0, wait_s=120.0, base_krw=500.0, per_km_krw=250.0),
    "shuttle": AccessMode(20 / 3.6, 5000.0, wait_s=300.0, base_krw=1000.0),
    "sharedCar": AccessMode(
        30 / 3.6, 30_000.0, wait_s=300.0, base_krw=3000.0, per_km_krw=250.0, integrated=False
    ),
}


@dataclass(frozen=True)
class Profile:
    """Who travels: age [years], walking difficulty, whether a child may ride shuttles alone."""

    age: int = 30
    walking_difficulty: bool = False
    children_on_shuttles: bool = True


@dataclass(frozen=True)
class Leg:
    """A leg: mode, from and to (names), times [s], distance [m], fare [KRW], route."""

    mode: str
    origin: str
    destination: str
    depart_s: float
    arrive_s: float
    distance_m: float
    fare_krw: float = 0.0
    route: str = ""
    trip_id: str = ""


@dataclass
class Itinerary:
    """A ranked door-to-door option."""

    id: str
    legs: list[Leg]
    fare_krw: float
    transfers: int
    walk_m: float
    score_s: float = 0.0
    modes: list[str] = field(default_factory=list)

    @property
    def depart_s(self) -> float:
        return self.legs[0].depart_s

    @property
    def arrive_s(self) -> float:
        return self.legs[-1].arrive_s

    @property
    def duration_s(self) -> float:
        return self.arrive_s - self.depart_s


class JourneyPlanner:
    """Plans over one feed (see the module docstring).

    Parameters
    ----------
    feed
        A GTFS feed (:func:`cityos.services.mobility.maas.gtfs.read_feed`).
    access
        Access modes (default :data:`DEFAULT_ACCESS`).
    free_transfer
        One fare for transit, shuttle and PM legs (the dearest), or each paid.
    transit_fare_krw
        Fare of a transit ride [KRW].
    """

    def __init__(
        self,
        feed: Feed,
        *,
        access: dict[str, AccessMode] | None = None,
        free_transfer: bool = True,
        transit_fare_krw: float = 1400.0,
    ) -> None:
        self.feed = feed
        self.access = access or DEFAULT_ACCESS
        self.free_transfer = free_transfer
        self.transit_fare_krw = transit_fare_krw
        self.transfers = footpaths(feed)
        self.reach_m = max(m.max_m for m in self.access.values())
        self._cache: dict[str, Itinerary] = {}

    def itinerary(self, itinerary_id: str) -> Itinerary | None:
        """A previously planned itinerary by id."""
        return self._cache.get(itinerary_id)

    def _allowed(self, modes: set[str], profile: Profile) -> dict[str, AccessMode]:
        out = {}
        for name in modes & set(self.access):
            mode = self.access[name]
            if name == "pm" and (profile.walking_difficulty or profile.age < 16):
                continue
            if name == "sharedCar" and profile.age < 21:
                continue
            if name == "shuttle" and profile.age < 12 and not profile.children_on_shuttles:
                continue
            if name == "walk" and profile.walking_difficulty:
                mode = AccessMode(0.8, 300.0)
            out[name] = mode
        if "walk" not in out:
            # a few metres on foot are always needed to reach a vehicle
            out["walk"] = AccessMode(0.8 if profile.walking_difficulty else 1.2, 50.0)
        return out

    def plan(
        self,
        origin: tuple[float, float],
        destination: tuple[float, float],
        depart_s: float,
        *,
        modes: set[str] | None = None,
        profile: Profile | None = None,
        max_results: int = 5,
    ) -> list[Itinerary]:
        """Ranked itineraries from ``origin`` to ``destination`` ((lat, lon) [degrees]) leaving
        at ``depart_s`` [s after midnight].

        Raises
        ------
        UnknownMode, OutsideNetwork, NoItinerary, BadRequestData
        """
        profile = profile or Profile()
        modes = set(modes) if modes is not None else set(ALL_MODES)
        unknown = sorted(modes - set(ALL_MODES))
        if unknown:
            raise UnknownMode(
                f"unknown mode(s) {', '.join(unknown)}; known: {', '.join(ALL_MODES)}"
            )
        for label, (lat, lon) in (("origin", origin), ("destination", destination)):
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise BadRequestData(f"{label} ({lat}, {lon}) is not a WGS84 position")
            near = min(
                (distance_m(lat, lon, s.lat, s.lon) for s in self.feed.stops.values()),
                default=float("inf"),
            )
            if near > self.reach_m:
                raise OutsideNetwork(
                    f"{label} ({lat:.5f}, {lon:.5f}) is {near / 1000:.1f} km from the nearest "
                    f"stop; the network reaches {self.reach_m / 1000:.1f} km"
                )
        if not 0 <= depart_s < 48 * 3600:
            raise BadRequestData("departure must lie within [0, 48 h) after midnight")
        allowed = self._allowed(modes, profile)
        options: list[Itinerary] = []
        direct = distance_m(*origin, *destination) * DETOUR
        for name, mode in allowed.items():
            if direct <= mode.max_m and (name != "walk" or "walk" in modes):
                options.append(
                    self._build(
                        [self._access_leg(name, mode, "origin", "destination", depart_s, direct)]
                    )
                )
        if "transit" in modes:
            options += self._transit(origin, destination, depart_s, allowed)
        if not options:
            raise NoItinerary("no itinerary with these modes and this profile")
        for it in options:
            wait_walk = sum((leg.arrive_s - leg.depart_s) for leg in it.legs if leg.mode == "walk")
            it.score_s = (
                it.duration_s
                + (WALK_WEIGHT - 1) * wait_walk
                + TRANSFER_PENALTY_S * it.transfers
                + it.fare_krw / VALUE_OF_TIME_KRW_H * 3600
            )
        options.sort(key=lambda it: (it.score_s, it.id))
        unique: dict[str, Itinerary] = {}
        for it in options:
            unique.setdefault(it.id, it)
        ranked = list(unique.values())[:max_results]
        for it in ranked:
            self._cache[it.id] = it
        return ranked

    def _access_leg(
        self, name: str, mode: AccessMode, a: str, b: str, t: float, metres: float
    ) -> Leg:
        fare = mode.base_krw + mode.per_km_krw * metres / 1000 if metres > 0 else 0.0
        arrive = t + mode.wait_s + metres / mode.speed_ms
        return Leg(name, a, b, t, arrive, metres, fare)

    def _transit(
        self,
        origin: tuple[float, float],
        destination: tuple[float, float],
        depart_s: float,
        allowed: dict[str, AccessMode],
    ) -> list[Itinerary]:
        stops = self.feed.stops
        walk = allowed["walk"]
        last: dict[str, float] = {}
        for s in stops.values():
            d = distance_m(s.lat, s.lon, *destination) * DETOUR
            if d <= walk.max_m:
                last[s.id] = d
        # one RAPTOR run per first-mile mode; a stop within reach of both ends is no source
        runs: list[tuple[dict[str, tuple[float, Leg]], list]] = []
        for name, mode in allowed.items():
            first: dict[str, tuple[float, Leg]] = {}
            for s in stops.values():
                d = distance_m(*origin, s.lat, s.lon) * DETOUR
                if d <= mode.max_m and s.id not in last:
                    leg = self._access_leg(name, mode, "origin", s.id, depart_s, d)
                    first[s.id] = (leg.arrive_s, leg)
            if first and last:
                found = raptor(
                    self.feed,
                    {s: t for s, (t, _leg) in first.items()},
                    set(last),
                    transfers=self.transfers,
                )
                runs.append((first, found))
        out = []
        for first, journeys in runs:
            out += self._assemble(first, journeys, last, walk)
        return out

    def _assemble(
        self,
        first: dict[str, tuple[float, Leg]],
        journeys: list,  # type: ignore[type-arg]
        last: dict[str, float],
        walk: AccessMode,
    ) -> list[Itinerary]:
        out = []
        for j in journeys:
            if j.rides == 0:
                continue
            legs = [first[j.source][1]]
            for tl in j.legs:
                if tl.kind == "ride":
                    legs.append(
                        Leg(
                            "transit",
                            tl.from_stop,
                            tl.to_stop,
                            tl.depart_s,
                            tl.arrive_s,
                            self._ride_m(tl.from_stop, tl.to_stop),
                            self.transit_fare_krw,
                            tl.route_name,
                            tl.trip_id,
                        )
                    )
                else:
                    legs.append(
                        Leg(
                            "walk",
                            tl.from_stop,
                            tl.to_stop,
                            tl.depart_s,
                            tl.arrive_s,
                            tl.distance_m,
                        )
                    )
            egress = last[j.target]
            legs.append(
                self._access_leg("walk", walk, j.target, "destination", legs[-1].arrive_s, egress)
            )
            legs = [leg for leg in legs if leg.distance_m > 0 or leg.mode == "transit"]
            out.append(self._build(legs))
        return out

    def _ride_m(self, a: str, b: str) -> float:
        sa, sb = self.feed.stops[a], self.feed.stops[b]
        return distance_m(sa.lat, sa.lon, sb.lat, sb.lon)

    def _build(self, legs: list[Leg]) -> Itinerary:
        integrated = [
            leg.fare_krw
            for leg in legs
            if leg.mode == "transit"
            or (leg.mode in self.access and self.access[leg.mode].integrated)
        ]
        separate = sum(
            leg.fare_krw
            for leg in legs
            if leg.mode in self.access and not self.access[leg.mode].integrated
        )
        fare = (max(integrated, default=0.0) if self.free_transfer else sum(integrated)) + separate
        vehicles = [leg for leg in legs if leg.mode != "walk"]
        key = "|".join(
            f"{leg.mode}:{leg.origin}:{leg.destination}:{leg.trip_id}:{leg.depart_s:.0f}"
            for leg in legs
        )
        ident = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        return Itinerary(
            id=ident,
            legs=legs,
            fare_krw=round(fare),
            transfers=max(len(vehicles) - 1, 0),
            walk_m=round(sum(leg.distance_m for leg in legs if leg.mode == "walk"), 1),
            modes=[leg.mode for leg in legs],
        )
