"""Activity-based daily plans of every virtual citizen, by persona and household type.

Each person gets a weekday tour of activities — home, work, school, shopping, care, leisure —
by occupation and age: workers and students commute (to a building of 5-1 or to a place outside
it: the government complex, Sejong city centre, Daejeon, Osong KTX and Seoul beyond it), some
shop on the way home and go out in the evening; pupils go to school and, half of them, to an
after-school academy; preschoolers are taken to day care; people at home shop, see to care
(health and welfare centres) and leisure. The designer persona travels out of town on two
weekdays in five. Local destinations are drawn by a gravity rule (weight x exp(-d / 800 m)) from
the home. Departure times are normal around each purpose's usual hour. Everything is drawn from
one seeded generator: the same city and seed give the same plans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cityos.twin.generator import City

#: Places outside 5-1: name -> (distance from the site's BRT stop [km], fixed extra time [min]
#: common to every mode, e.g. the KTX ride from Osong to Seoul).
EXTERNAL: dict[str, tuple[float, float]] = {
    "Sejong Government Complex": (8.0, 0.0),
    "Sejong city centre": (6.0, 0.0),
    "Daejeon (Daedeok Innopolis)": (18.0, 0.0),
    "Osong KTX station and bio cluster": (14.0, 0.0),
    "Seoul (via Osong KTX)": (14.0, 50.0),
    "Sejong secondary schools (outside 5-1)": (3.0, 0.0),
    "Universities in Sejong": (7.0, 0.0),
    "Universities in Daejeon": (20.0, 0.0),
}
#: Gravity decay length of local destination choice [m].
DECAY_M = 800.0
#: Purposes.
PURPOSES = ("work", "school", "home", "shopping", "care", "leisure", "daycare", "academy")
#: Purposes counted as commuting.
COMMUTE = ("work", "school")


@dataclass
class Trips:
    """The day's trips as parallel arrays (one row a trip).

    ``origin`` and ``destination`` index :attr:`places` (local buildings first, then
    :data:`EXTERNAL`); ``purpose`` is the activity at the destination and ``commute`` says whether
    the trip goes to or from work or school.
    """

    person: np.ndarray
    purpose: np.ndarray
    depart_s: np.ndarray
    origin: np.ndarray
    destination: np.ndarray
    commute: np.ndarray
    place_xy: np.ndarray  # (n_places, 2) local [m]; externals at the BRT stop
    place_external_km: np.ndarray
    place_extra_min: np.ndarray
    place_names: list[str]

    def __len__(self) -> int:
        return len(self.person)


class _Plans:
    def __init__(self, city: City, rng: np.random.Generator) -> None:
        self.rng = rng
        b = city.buildings
        self.keys = [x.key for x in b]
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.xy = np.array([[x.polygon.centroid.x, x.polygon.centroid.y] for x in b])
        social = np.array([x.use_mix["social"] * x.floor_area_m2 for x in b])
        fac = [x.facility or "" for x in b]
        self.weights = {
            "shopping": social,
            "academy": social * np.array([x.use_mix["social"] >= 0.15 for x in b]),
            "daycare": social * np.array([x.use_mix["living"] > 0 for x in b]) + 1e-9,
            "care": np.array(
                [
                    1.0 if f in ("healthCentre", "welfareCentre", "communityCentre") else 0
                    for f in fac
                ]
            ),
            "leisure": social * 0.2
            + np.array(
                [
                    5e4
                    if f in ("communityCentre", "lifelongLearningCentre", "innovationValley")
                    else 0.0
                    for f in fac
                ]
            ),
        }
        self.cdf: dict[tuple[int, str], np.ndarray] = {}
        brt = [a for a in city.amenities if a.kind == "TransitStop" and a.category == "brt"]
        west = min(brt, key=lambda a: a.x) if brt else None
        self.gateway = (west.x, west.y) if west else (float(self.xy[:, 0].min()), 0.0)
        self.external = dict(EXTERNAL)
        self.ext_names = list(EXTERNAL)
        self.rows: list[tuple[int, str, float, int, int]] = []

    def ext(self, name: str | None) -> int:
        name = name or "elsewhere"
        if name not in self.external:
            self.ext_names.append(name)
            self.external[name] = (8.0, 0.0)  # an unknown outside place: 8 km
        return len(self.keys) + self.ext_names.index(name)

    def pick(self, home: int, purpose: str) -> int:
        key = (home, purpose)
        cdf = self.cdf.get(key)
        if cdf is None:
            d = np.hypot(*(self.xy - self.xy[home]).T)
            w = self.weights[purpose] * np.exp(-d / DECAY_M)
            w[home] = 0.0 if w.sum() > w[home] else w[home]
            cdf = self.cdf[key] = np.cumsum(w / w.sum())
        return int(min(np.searchsorted(cdf, self.rng.random(), side="right"), len(cdf) - 1))

    def time(self, hour: float, sd_min: float, low: float = 5.0, high: float = 23.5) -> float:
        return float(np.clip(self.rng.normal(hour, sd_min / 60), low, high) * 3600)

    def trip(self, person: int, purpose: str, t: float, o: int, d: int) -> None:
        if o != d:
            self.rows.append((person, purpose, t, o, d))

    def tour(self, person: int, home: int, stops: list[tuple[str, int, float]]) -> None:
        """home -> stop 1 -> ... -> home, each (purpose, place, departure time towards it)."""
        here = home
        for purpose, place, t in stops:
            self.trip(person, purpose, t, here, place)
            here = place


def daily_plans(city: City, seed: int) -> Trips:
    """The trips of every resident of ``city`` on one weekday (see the module docstring)."""
    rng = np.random.default_rng([seed, 5_1_6])
    p = _Plans(city, rng)
    households = city.population.households
    for i, person in enumerate(city.population.persons):
        home = p.index[households[person.household].building_key]
        occ = person.occupation
        work: int | None = None
        if person.workplace_key is not None:
            work = p.index[person.workplace_key]
        elif person.workplace_name is not None:
            work = p.ext(person.workplace_name)
        if person.persona == "designer45" and rng.random() < 2 / 5:
            work = p.ext("Daejeon (Daedeok Innopolis)")
        if occ == "preschooler":
            care = p.pick(home, "daycare")
            p.tour(i, home, [("daycare", care, p.time(8.5, 20)), ("home", home, p.time(16.0, 45))])
            continue
        if occ in ("pupil", "student") and work is not None:
            back = p.time(14.5 if occ == "pupil" else 17.0, 45)
            stops = [("school", work, p.time(8.0 if occ == "pupil" else 7.6, 15, 6.5, 9.5))]
            if rng.random() < 0.5:
                stops.append(("academy", p.pick(home, "academy"), back))
                back += 2 * 3600
            stops.append(("home", home, back))
            p.tour(i, home, stops)
            if rng.random() < 0.3:
                p.tour(
                    i,
                    home,
                    [
                        ("leisure", p.pick(home, "leisure"), p.time(19.0, 40)),
                        ("home", home, p.time(20.5, 40)),
                    ],
                )
            continue
        if work is not None and work != home:
            back = p.time(18.0, 60, 12.0, 22.0)
            stops = [("work", work, p.time(8.0, 40, 5.5, 11.0))]
            if rng.random() < 0.4:
                stops.append(("shopping", p.pick(home, "shopping"), back))
                back += 2400
            stops.append(("home", home, back))
            p.tour(i, home, stops)
            if rng.random() < 0.5:
                t = max(back + 3600, p.time(20.0, 45))
                p.tour(i, home, [("leisure", p.pick(home, "leisure"), t), ("home", home, t + 5400)])
            continue
        # at home during the day: homemakers, job seekers, retired people, home workers
        elderly = person.age >= 65
        for purpose, prob, hour in (
            ("shopping", 0.85, 10.5),
            ("care", 0.45 if elderly else 0.25, 14.0),
            ("leisure", 0.65, 16.0),
            ("shopping", 0.3, 18.5),
        ):
            if rng.random() < prob:
                t = p.time(hour, 50, 6.0, 21.5)
                p.tour(i, home, [(purpose, p.pick(home, purpose), t), ("home", home, t + 3600)])
    rows = p.rows
    names = p.keys + p.ext_names
    ext_km = np.zeros(len(names))
    extra = np.zeros(len(names))
    for k, name in enumerate(p.ext_names):
        ext_km[len(p.keys) + k], extra[len(p.keys) + k] = p.external[name]
    place_xy = np.vstack([p.xy, np.tile(p.gateway, (len(p.ext_names), 1))])
    purpose = np.array([r[1] for r in rows])
    dest = np.array([r[4] for r in rows], dtype=int)
    orig = np.array([r[3] for r in rows], dtype=int)
    trips = Trips(
        person=np.array([r[0] for r in rows], dtype=int),
        purpose=purpose,
        depart_s=np.array([r[2] for r in rows]),
        origin=orig,
        destination=dest,
        commute=np.zeros(len(rows), dtype=bool),
        place_xy=place_xy,
        place_external_km=ext_km,
        place_extra_min=extra,
        place_names=names,
    )
    # commute: to work/school, and the return leg home from work/school
    prev_purpose = np.concatenate([["home"], purpose[:-1]])
    same = np.concatenate([[False], trips.person[1:] == trips.person[:-1]])
    trips.commute = np.isin(purpose, COMMUTE) | (
        (purpose == "home") & same & np.isin(prev_purpose, COMMUTE)
    )
    return trips
