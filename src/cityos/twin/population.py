"""The synthetic, pseudonymous population: households in homes, persons with ages and workplaces.

Defaults follow ``MISSION.md`` §1 and §5: 20,164 people in 8,714 households; small households of
one or two persons mostly inside the ring, families of three to four and more outside; a mean age
calibrated to Sejong's 36.7 years; workplaces in 5-1 and outside it (the Sejong government
complex ~8 km, Daejeon, Osong KTX station 14 km, Seoul by KTX). The four personas of §5 are named
agents in every population. Persons and households carry no names: ids are keyed hashes.
"""

from __future__ import annotations

import numpy as np

from cityos.twin.buildings import Building
from cityos.twin.people import Household, Person, Population, pseudonym
from cityos.twin.personas import PERSONA_SIZES, choose_persona_households, persona_members
from cityos.twin.site import (
    MAX_HOUSEHOLD_SIZE,
    PERSONA_PEOPLE,
    GeneratorParameters,
    TwinParameterError,
)

#: Mean household size assumed inside and outside the ring when splitting households [persons].
MEAN_SIZE_INSIDE, MEAN_SIZE_OUTSIDE = 1.6, 3.3
#: Gross living floor area per household inside / outside the ring [m²], and the least allowed.
AREA_PER_HOUSEHOLD_M2 = {True: 60.0, False: 100.0}
MIN_AREA_PER_HOUSEHOLD_M2 = 30.0
MAX_FLOORS = 40
#: Household size distributions (size -> probability).
SIZES_INSIDE = {1: 0.48, 2: 0.37, 3: 0.10, 4: 0.05}
SIZES_OUTSIDE = {1: 0.06, 2: 0.16, 3: 0.33, 4: 0.33, 5: 0.09, 6: 0.03}
#: Workplaces outside 5-1: name, distance [km], share of outside jobs, typical occupations.
OUTSIDE_WORKPLACES = (
    ("Sejong Government Complex", 8.0, 0.45, ("civil servant", "policy researcher")),
    ("Sejong city centre", 6.0, 0.15, ("office worker", "service worker", "teacher")),
    ("Daejeon (Daedeok Innopolis)", 18.0, 0.20, ("researcher", "engineer")),
    ("Osong KTX station and bio cluster", 14.0, 0.12, ("engineer", "researcher")),
    ("Seoul (via Osong KTX)", 120.0, 0.08, ("office worker", "consultant")),
)
_OUTSIDE_CDF = np.cumsum([w[2] for w in OUTSIDE_WORKPLACES])
UNIVERSITIES = ("Universities in Sejong", "Universities in Daejeon")
#: Share of employed working inside 5-1; employment rate of 24-64 year olds.
LOCAL_JOB_SHARE, EMPLOYMENT_RATE = 0.35, 0.78


def house(buildings: list[Building], params: GeneratorParameters) -> None:
    """Scale floors of homes to the demand and set ``households`` per building.

    Detached houses hold one household each; the other households split between the inside and
    outside of the ring so that the mean household size is met (small inside, families outside),
    and within each side by living floor area (largest remainder).
    """
    homes = [b for b in buildings if b.is_home]
    detached = [b for b in homes if b.typology == "detached"]
    flats = [b for b in homes if b.typology != "detached"]
    if not flats and not detached:
        raise TwinParameterError("the layout has no homes within reach of a school")
    n_det = min(len(detached), params.households // 4)
    for i, b in enumerate(detached):
        b.households = 1 if i < n_det else 0
    rest = params.households - n_det
    mean = params.population / params.households
    share_in = float(
        np.clip((MEAN_SIZE_OUTSIDE - mean) / (MEAN_SIZE_OUTSIDE - MEAN_SIZE_INSIDE), 0.15, 0.85)
    )
    inside = [b for b in flats if b.inside_ring]
    outside = [b for b in flats if not b.inside_ring]
    n_in = round(rest * share_in) if inside and outside else (rest if inside else 0)
    for group, count in ((inside, n_in), (outside, rest - n_in)):
        if count == 0:
            continue
        if not group:
            raise TwinParameterError("no homes to house the households")
        _scale_floors(group, count, AREA_PER_HOUSEHOLD_M2[group[0].inside_ring])
        areas = np.array([b.living_area_m2 for b in group])
        if areas.sum() / count < MIN_AREA_PER_HOUSEHOLD_M2:
            raise TwinParameterError(
                f"{params.households} households do not fit in the homes of the site even at "
                f"{MAX_FLOORS} floors"
            )
        for b, n in zip(group, _largest_remainder(areas, count), strict=True):
            b.households = int(n)


def _scale_floors(group: list[Building], count: int, area_per_household: float) -> None:
    available = sum(b.living_area_m2 for b in group)
    factor = count * area_per_household / available
    for b in group:
        b.floors = int(np.clip(round(b.floors * factor), 2, MAX_FLOORS))


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def populate(
    buildings: list[Building], params: GeneratorParameters, rng: np.random.Generator
) -> Population:
    """Households and persons for homes already given their ``households`` counts."""
    by_key = {b.key: b for b in buildings}
    homes = [b for b in buildings if b.households > 0]
    households: list[Household] = []
    for b in homes:
        for _ in range(b.households):
            households.append(Household("", b.key, 0, b.inside_ring))
    persona_slots = choose_persona_households(households, by_key)
    sizes = _sizes(households, persona_slots, params, rng)
    persons: list[Person] = []
    schools = [b for b in buildings if b.facility == "school"]
    k12 = next((b for b in buildings if b.facility == "k12School"), None)
    jobs = [b for b in buildings if b.use_mix["social"] + b.use_mix["public"] > 0.2]
    job_weights = np.array([b.floor_area_m2 * (1 - b.use_mix["living"]) for b in jobs])
    job_cdf = np.cumsum(job_weights / job_weights.sum())
    for index, hh in enumerate(households):
        hh.id = pseudonym(params, "Household", index)
        hh.size = int(sizes[index])
        if hh.persona is not None:
            members = persona_members(hh.persona, by_key[hh.building_key], buildings)
        else:
            members = [Person("", int(a), index) for a in _ages(hh.size, hh.inside_ring, rng)]
        for m in members:
            m.household = index
        persons.extend(members)
    _calibrate_ages(persons, params.target_mean_age, rng)
    home_xy = {b.key: (b.polygon.centroid.x, b.polygon.centroid.y) for b in homes}
    for person in persons:
        if person.persona is None:
            _occupy(person, households[person.household], home_xy, schools, k12, jobs, job_cdf, rng)
    for i, person in enumerate(persons):
        person.id = pseudonym(params, "Person", i)
    return Population(households, persons)


def _sizes(
    households: list[Household],
    personas: dict[int, str],
    params: GeneratorParameters,
    rng: np.random.Generator,
) -> np.ndarray:
    """Household sizes summing exactly to the population (persona households fixed)."""
    n = len(households)
    sizes = np.zeros(n, dtype=int)
    inside = np.array([hh.inside_ring for hh in households])
    for flag, dist in ((True, SIZES_INSIDE), (False, SIZES_OUTSIDE)):
        idx = np.flatnonzero(inside == flag)
        sizes[idx] = rng.choice(list(dist), size=len(idx), p=list(dist.values()))
    fixed = np.zeros(n, dtype=bool)
    for i, persona in personas.items():
        sizes[i] = PERSONA_SIZES[persona]
        fixed[i] = True
    target = params.population
    diff = target - int(sizes.sum())
    order = rng.permutation(n)
    # grow families outside first; shrink small households inside first
    grow = [i for i in order if not fixed[i] and not inside[i]] + [
        i for i in order if not fixed[i] and inside[i]
    ]
    shrink = [i for i in order if not fixed[i] and inside[i]] + [
        i for i in order if not fixed[i] and not inside[i]
    ]
    while diff != 0:
        moved = 0
        for i in grow if diff > 0 else shrink:
            if diff == 0:
                break
            if diff > 0 and sizes[i] < MAX_HOUSEHOLD_SIZE:
                sizes[i] += 1
                diff -= 1
                moved += 1
            elif diff < 0 and sizes[i] > 1:
                sizes[i] -= 1
                diff += 1
                moved += 1
        if moved == 0:
            raise TwinParameterError(f"cannot fit {target} people into {n} households")
    assert int(sizes.sum()) == target and sum(PERSONA_SIZES.values()) == PERSONA_PEOPLE
    return sizes


def _ages(size: int, inside: bool, rng: np.random.Generator) -> list[int]:
    """Ages of the members of one household (composition by size; Korean household patterns)."""
    u = rng.random()
    if size == 1:
        young, middle = (0.62, 0.85) if inside else (0.35, 0.68)
        if u < young:
            return [int(rng.integers(22, 40))]
        if u < middle:
            return [int(rng.integers(40, 65))]
        return [int(rng.integers(65, 91))]
    if size == 2:
        if u < 0.45:
            a = int(rng.integers(25, 39))
            return [a, _clip(a + int(rng.integers(-3, 4)), 20, 95)]
        if u < 0.70:
            a = int(rng.integers(52, 82))
            return [a, _clip(a + int(rng.integers(-4, 5)), 45, 95)]
        parent = int(rng.integers(30, 52))
        return [parent, int(rng.integers(0, min(18, parent - 22)))]
    parent = int(rng.integers(31, 51))
    ages = [parent, _clip(parent + int(rng.integers(-3, 4)), 24, 70)]
    children = size - 2
    if size >= 5 and rng.random() < 0.5:
        ages.append(int(rng.integers(62, 88)))
        children -= 1
    oldest = _clip(parent - int(rng.integers(26, 34)), 0, 25)
    for c in range(children):
        ages.append(max(oldest - c * int(rng.integers(1, 4)), 0))
    return ages


def _clip(value: int, low: int, high: int) -> int:
    return max(low, min(high, int(value)))


def _calibrate_ages(persons: list[Person], target: float, rng: np.random.Generator) -> None:
    """Shift adults' ages (not personas') by whole years so the mean age meets ``target``."""
    adults = [p for p in persons if p.persona is None and 25 <= p.age <= 90]
    if not adults:
        return
    total_shift = round(target * len(persons) - sum(p.age for p in persons))
    base, extra = divmod(abs(total_shift), len(adults))
    sign = 1 if total_shift >= 0 else -1
    chosen = set(rng.choice(len(adults), size=extra, replace=False).tolist()) if extra else set()
    for i, p in enumerate(adults):
        p.age = _clip(p.age + sign * (base + (1 if i in chosen else 0)), 20, 100)


def _occupy(
    person: Person,
    hh: Household,
    home_xy: dict[str, tuple[float, float]],
    schools: list[Building],
    k12: Building | None,
    jobs: list[Building],
    job_cdf: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Occupation and workplace by age (schools are the nearest elementary / the K-12)."""
    age = person.age
    hx, hy = home_xy[hh.building_key]
    if age < 6:
        person.occupation = "preschooler"
    elif age < 12:
        person.occupation = "pupil"
        near = min(
            schools,
            key=lambda s: (s.polygon.centroid.x - hx) ** 2 + (s.polygon.centroid.y - hy) ** 2,
        )
        person.workplace_key = near.key
    elif age < 18:
        person.occupation = "student"
        if k12 is not None and rng.random() < 0.7:
            person.workplace_key = k12.key
        else:
            person.workplace_name = "Sejong secondary schools (outside 5-1)"
    elif age < 24 and rng.random() < 0.7:
        person.occupation = "university student"
        person.workplace_name = UNIVERSITIES[int(rng.integers(len(UNIVERSITIES)))]
    elif age < 65 or rng.random() < 0.15:
        if age < 65 and rng.random() > EMPLOYMENT_RATE:
            person.occupation = "homemaker" if rng.random() < 0.6 else "jobseeker"
        elif rng.random() < LOCAL_JOB_SHARE or age >= 65:
            job = jobs[
                min(int(np.searchsorted(job_cdf, rng.random(), side="right")), len(jobs) - 1)
            ]
            person.workplace_key = job.key
            person.occupation = _local_occupation(job, rng) if age < 65 else "part-time worker"
        else:
            pick = int(np.searchsorted(_OUTSIDE_CDF, rng.random(), side="right"))
            name, _, _, roles = OUTSIDE_WORKPLACES[min(pick, len(OUTSIDE_WORKPLACES) - 1)]
            person.workplace_name = name
            person.occupation = roles[int(rng.integers(len(roles)))]
    else:
        person.occupation = "retired"


def _local_occupation(job: Building, rng: np.random.Generator) -> str:
    by_facility = {
        "school": ("teacher",),
        "k12School": ("teacher",),
        "healthCentre": ("doctor", "nurse"),
        "emergencyControlCentre": ("control-centre operator", "paramedic"),
        "dataAICenter": ("data scientist", "control-centre operator", "software engineer"),
        "innovationValley": ("startup founder", "software engineer", "designer"),
        "incubationCentre": ("startup founder", "software engineer"),
        "verticalSmartFarm": ("smart-farm technician",),
        "welfareCentre": ("social worker",),
        "communityCentre": ("civil servant",),
        "lifelongLearningCentre": ("lecturer",),
    }
    roles = by_facility.get(job.facility or "", ("office worker", "shopkeeper", "service worker"))
    return roles[int(rng.integers(len(roles)))]
