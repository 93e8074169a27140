"""The population: totals, household sizes by ring side, ages, workplaces and the personas."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cityos.twin.generator import generate
from cityos.twin.personas import PERSONAS
from cityos.twin.population import OUTSIDE_WORKPLACES
from cityos.twin.site import GeneratorParameters


def test_totals_are_exact(city):
    pop = city.population
    assert len(pop.persons) == 20_164
    assert len(pop.households) == 8_714
    assert sum(h.size for h in pop.households) == 20_164
    sizes = np.bincount([p.household for p in pop.persons], minlength=len(pop.households))
    assert (sizes == [h.size for h in pop.households]).all()


def test_small_households_inside_the_ring_families_outside(city):
    hh = city.population.households
    inside = [h.size for h in hh if h.inside_ring]
    outside = [h.size for h in hh if not h.inside_ring]
    assert np.mean([s <= 2 for s in inside]) > 0.75
    assert np.mean([s >= 3 for s in outside]) > 0.6
    assert np.mean(inside) < 2 < 3 < np.mean(outside)


def test_mean_age_is_sejongs(city):
    ages = np.array([p.age for p in city.population.persons])
    assert ages.mean() == pytest.approx(36.7, abs=1.5)
    assert ages.min() >= 0 and ages.max() <= 100
    assert (ages < 12).mean() > 0.08  # a young city with many children


def test_the_four_personas_are_present(city):
    personas = {p.persona: p for p in city.population.persons if p.persona}
    assert set(personas) == set(PERSONAS)
    assert personas["retiredLibrarian75"].age == 75
    assert personas["homemaker32"].age == 32
    assert personas["pupil11"].age == 11
    assert personas["designer45"].age == 45
    hh = city.population.households
    home = lambda p: city.building(hh[p.household].building_key)  # noqa: E731
    assert home(personas["homemaker32"]).typology == "detached"
    pupil_home = home(personas["pupil11"])
    assert pupil_home.use_mix["social"] >= 0.15  # above a shop
    assert hh[personas["pupil11"].household].size == 4
    assert city.building(personas["pupil11"].workplace_key).facility == "school"
    assert hh[personas["retiredLibrarian75"].household].size == 1
    assert personas["designer45"].extra["outOfTownTripsPerWeek"] == 2


def test_personas_exist_in_every_population():
    small = generate(GeneratorParameters(seed=3, population=500, households=200))
    assert {p.persona for p in small.population.persons if p.persona} == set(PERSONAS)
    assert len(small.population.persons) == 500


def test_workplaces_inside_and_outside(city):
    persons = city.population.persons
    names = {p.workplace_name for p in persons if p.workplace_name}
    assert {w[0] for w in OUTSIDE_WORKPLACES} <= names
    local = [p for p in persons if p.workplace_key]
    assert len(local) > 2000
    keys = {b.key for b in city.buildings}
    assert all(p.workplace_key in keys for p in local)
    pupils = [p for p in persons if 6 <= p.age < 12]
    schools = {s.key for s in city.schools()}
    assert all(p.workplace_key in schools for p in pupils)


def test_persons_and_households_are_pseudonymous(entities):
    persons = [e for e in entities if e["type"] == "Person"]
    pattern = re.compile(r"^urn:ngsi-ld:Person:[0-9a-f]{16}$")
    assert all(pattern.match(p["id"]) for p in persons)
    assert len({p["id"] for p in persons}) == len(persons)
    for p in persons[:500]:
        assert "name" not in p and "location" not in p
    households = [e for e in entities if e["type"] == "Household"]
    assert all("location" not in h and "refBuilding" in h for h in households)
    personas = [p for p in persons if "persona" in p]
    assert len(personas) == 4
