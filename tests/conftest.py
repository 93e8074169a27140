"""Shared fixtures: settings in a temporary data directory, a hub, and an HTTP client on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cityos.app import create_app
from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.broker import Hub


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with the data directory in a fresh temporary folder."""
    return Settings(
        data_dir=tmp_path, max_body_bytes=64 * 1024, max_limit=100, context_fetch_timeout_s=1.0
    )


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """A hub on a fresh SQLite file."""
    the_hub = open_hub(settings)
    yield the_hub
    the_hub.storage.close()


@pytest.fixture
def client(settings: Settings, hub: Hub) -> Iterator[TestClient]:
    """An HTTP client for the whole application, on the ``hub`` fixture."""
    with TestClient(create_app(settings, hub), raise_server_exceptions=False) as test_client:
        yield test_client


def make_entity(
    entity_id: str = "urn:ngsi-ld:AirQualityObserved:S1",
    entity_type: str = "AirQualityObserved",
    **attrs: Any,
) -> dict[str, Any]:
    """A normalized entity; keyword arguments become Properties unless already attribute objects."""
    entity: dict[str, Any] = {"id": entity_id, "type": entity_type}
    for name, value in attrs.items():
        is_attr = isinstance(value, dict) and "type" in value
        entity[name] = value if is_attr else {"type": "Property", "value": value}
    return entity


def point(lon: float, lat: float) -> dict[str, Any]:
    """A GeoProperty holding a GeoJSON Point."""
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}
