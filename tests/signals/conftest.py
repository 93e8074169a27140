"""Fixtures: a 3 x 3 signalised grid compiled by netconvert, and demand on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityos.twin.signals.demand import DemandSpec, Vehicle, generate_demand
from cityos.twin.signals.export import build_net, grid


@pytest.fixture(scope="session")
def grid_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_net(grid(), tmp_path_factory.mktemp("grid"), "grid")


@pytest.fixture(scope="session")
def grid_demand(grid_net: Path) -> list[Vehicle]:
    """15 min of busy traffic (1,500 cars/h) with buses every 5 min and an ambulance at 300 s."""
    spec = DemandSpec(duration_s=900, cars_per_hour=1500, ambulance_at_s=300)
    return generate_demand(grid_net, spec, seed=1)
