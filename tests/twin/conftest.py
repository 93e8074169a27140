"""Fixtures of the twin tests: the default city, generated once per session."""

from __future__ import annotations

from typing import Any

import pytest

from cityos.twin.generator import City, generate
from cityos.twin.site import GeneratorParameters


@pytest.fixture(scope="session")
def city() -> City:
    """Sejong 5-1 with the default parameters (seed 51)."""
    return generate(GeneratorParameters())


@pytest.fixture(scope="session")
def entities(city: City) -> list[dict[str, Any]]:
    """The default city's entities."""
    return city.entities()
