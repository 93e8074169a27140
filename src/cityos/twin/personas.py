"""The four personas of ``MISSION.md`` §5, named agents in every generated population.

* ``retiredLibrarian75``: 75, retired librarian with walking difficulty, living alone inside the
  ring (barrier-free routes, shuttle, health);
* ``homemaker32``: 32, homemaker in a detached house with a spouse and two small children
  (delivery, childcare, energy prosumer);
* ``pupil11``: 11, living above a shop with parents and a brother (safe routes, school);
* ``designer45``: 45, designer travelling out of town twice a week (shared car, BRT, MaaS).
"""

from __future__ import annotations

from cityos.twin.buildings import Building
from cityos.twin.people import Household, Person

#: The persona ids.
PERSONAS = ("retiredLibrarian75", "homemaker32", "pupil11", "designer45")
#: Size of each persona's household [persons].
PERSONA_SIZES = {"retiredLibrarian75": 1, "homemaker32": 4, "pupil11": 4, "designer45": 2}
#: Outside workplaces the personas' families use.
GOVERNMENT_COMPLEX = "Sejong Government Complex"
CITY_CENTRE = "Sejong city centre"
DAEJEON = "Daejeon (Daedeok Innopolis)"


def choose_persona_households(
    households: list[Household], by_key: dict[str, Building]
) -> dict[int, str]:
    """Choose the four persona households (first suitable in building order)."""
    rules = {
        "retiredLibrarian75": lambda b: b.inside_ring and b.typology == "mixed",
        "pupil11": lambda b: b.inside_ring and b.use_mix["social"] >= 0.15,
        "homemaker32": lambda b: b.typology == "detached",
        "designer45": lambda b: not b.inside_ring and b.typology == "residential",
    }
    fallback = {"homemaker32": lambda b: not b.inside_ring}
    chosen: dict[int, str] = {}
    for persona in PERSONAS:
        for rule in (rules[persona], fallback.get(persona), lambda b: True):
            if rule is None:
                continue
            pick = next(
                (
                    i
                    for i, hh in enumerate(households)
                    if i not in chosen and rule(by_key[hh.building_key])
                ),
                None,
            )
            if pick is not None:
                chosen[pick] = persona
                households[pick].persona = persona
                break
    return chosen


_PERSONA_SIZES = {"retiredLibrarian75": 1, "homemaker32": 4, "pupil11": 4, "designer45": 2}


def persona_members(persona: str, home: Building, buildings: list[Building]) -> list[Person]:
    """The persona and their family, as MISSION.md §5 describes them."""
    c = home.polygon.centroid
    school = min(
        (b for b in buildings if b.facility == "school"),
        key=lambda b: b.polygon.centroid.distance(c),
    )
    valley = next((b for b in buildings if b.facility == "innovationValley"), None)
    if persona == "retiredLibrarian75":
        return [
            Person(
                "",
                75,
                0,
                "retired librarian",
                persona=persona,
                extra={"mobilityNeeds": ["walkingDifficulty"]},
            )
        ]
    if persona == "homemaker32":
        return [
            Person("", 32, 0, "homemaker", persona=persona),
            Person("", 34, 0, "civil servant", workplace_name=GOVERNMENT_COMPLEX),
            Person("", 4, 0, "preschooler"),
            Person("", 1, 0, "preschooler"),
        ]
    if persona == "pupil11":
        return [
            Person("", 11, 0, "pupil", workplace_key=school.key, persona=persona),
            Person("", 8, 0, "pupil", workplace_key=school.key),
            Person("", 42, 0, "shopkeeper", workplace_key=home.key),
            Person("", 40, 0, "office worker", workplace_name=CITY_CENTRE),
        ]
    return [
        Person(
            "",
            45,
            0,
            "designer",
            workplace_key=valley.key if valley else None,
            workplace_name=None if valley else "Sejong city centre",
            persona=persona,
            extra={"outOfTownTripsPerWeek": 2},
        ),
        Person("", 43, 0, "researcher", workplace_name=DAEJEON),
    ]
