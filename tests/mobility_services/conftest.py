"""Fixtures: a fresh SQLite hub and the app on it, with the twin's PM system loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cityos.app import create_app
from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.broker import Hub


@pytest.fixture(scope="session")
def pm_city():
    from cityos.twin.generator import generate

    return generate()


@pytest.fixture
def pm_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=None)


@pytest.fixture
def pm_hub(pm_settings: Settings) -> Iterator[Hub]:
    hub = open_hub(pm_settings)
    yield hub
    hub.storage.close()


@pytest.fixture
def pm_client(pm_settings: Settings, pm_hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(pm_settings, pm_hub), raise_server_exceptions=False) as client:
        yield client
