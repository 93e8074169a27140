"""Fixtures of the mobility tests: a small twin (1,500 residents) and simulated days on it."""

from __future__ import annotations

import pytest

from cityos.services.mobility.drt.twin_adapter import dispatch_shuttles
from cityos.twin.generator import City
from cityos.twin.mobility.day import DayResult, city_for, simulate_day
from cityos.twin.mobility.scenario import load_scenario
from cityos.twin.site import GeneratorParameters

SMALL = GeneratorParameters(population=1_500, households=650)


@pytest.fixture
def backend() -> str:
    """KPI writes go through the backend-neutral loader: SQLite is enough here."""
    return "sqlite"


@pytest.fixture(scope="session")
def small_params() -> GeneratorParameters:
    return SMALL


@pytest.fixture(scope="session")
def small_city() -> City:
    return city_for(load_scenario("smart-5-1"), SMALL)


@pytest.fixture(scope="session")
def smart_day(small_city: City) -> DayResult:
    return simulate_day(
        load_scenario("smart-5-1"), 7, city=small_city, dispatcher=dispatch_shuttles
    )


@pytest.fixture(scope="session")
def baseline_day(small_city: City) -> DayResult:
    return simulate_day(load_scenario("baseline"), 7, city=small_city)
