"""Fixtures of the privacy tests: production-mode apps, token minting, personal entities."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from privacy_kit import Mint

from cityos.app import create_app
from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.broker import Hub
from cityos.privacy.keys import load_keys
from cityos.privacy.tokens import mint_token


@pytest.fixture
def prod_settings(tmp_path: Path) -> Settings:
    """Production settings on a fresh SQLite file, without a rate limit."""
    return Settings(data_dir=tmp_path, mode="production", rate_limit_per_minute=0, max_limit=1000)


@pytest.fixture
def mint(prod_settings: Settings) -> Mint:
    """Mint a token signed by the data directory's issuer key."""
    keys = load_keys(prod_settings.data_dir)

    def _mint(subject: str = "op-1", roles: tuple[str, ...] = ("operator",), **kw: Any) -> str:
        return mint_token(keys, prod_settings, subject=subject, roles=roles, **kw)

    return _mint


@pytest.fixture
def prod_hub(prod_settings: Settings) -> Iterator[Hub]:
    the_hub = open_hub(prod_settings)
    yield the_hub
    the_hub.storage.close()


@pytest.fixture
def prod_client(prod_settings: Settings, prod_hub: Hub) -> Iterator[TestClient]:
    """A client of the whole application in production mode (SQLite)."""
    with TestClient(create_app(prod_settings, prod_hub), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def city_settings(settings: Settings) -> Settings:
    """Production settings on the backend under test (SQLite and PostgreSQL), with trips
    releasable pseudonymised for research."""
    return settings.model_copy(
        update={
            "mode": "production",
            "rate_limit_per_minute": 0,
            "privacy_pseudonymise_rules": "Trip=research",
        }
    )


@pytest.fixture
def city(city_settings: Settings, hub: Hub) -> Iterator[City]:
    """A production application on the backend under test, seeded with personal entities:
    persons P1 and P2, trips T1 (of P1) and T2 (of P2), health measurement H1 (of P1) and a
    parking spot (not personal)."""
    keys = load_keys(city_settings.data_dir)

    def mint(subject: str = "op-1", roles: tuple[str, ...] = ("operator",), **kw: Any) -> str:
        return mint_token(keys, city_settings, subject=subject, roles=roles, **kw)

    with TestClient(create_app(city_settings, hub), raise_server_exceptions=False) as client:
        admin = {"Authorization": f"Bearer {mint('seed', scopes=['admin'])}"}
        response = client.post(
            "/ngsi-ld/v1/entityOperations/create", json=city_entities(), headers=admin
        )
        assert response.status_code == 201, response.text
        yield City(client, mint, hub)


@dataclass
class City:
    client: TestClient
    mint: Mint
    hub: Hub


P1 = "urn:ngsi-ld:Person:P1"
P2 = "urn:ngsi-ld:Person:P2"


def city_entities() -> list[dict[str, Any]]:
    def rel(target: str) -> dict[str, Any]:
        return {"type": "Relationship", "object": target}

    def prop(value: Any) -> dict[str, Any]:
        return {"type": "Property", "value": value}

    return [
        {"id": P1, "type": "Person", "name": prop("Kim Min-ji"), "age": prop(75)},
        {"id": P2, "type": "Person", "name": prop("Lee Jun"), "age": prop(32)},
        {
            "id": "urn:ngsi-ld:Trip:T1",
            "type": "Trip",
            "dataSubject": rel(P1),
            "mode": prop("shuttle"),
            "durationMin": prop(14),
            "name": prop("Kim's trip to the clinic"),
        },
        {
            "id": "urn:ngsi-ld:Trip:T2",
            "type": "Trip",
            "dataSubject": rel(P2),
            "mode": prop("BRT"),
            "durationMin": prop(41),
        },
        {
            "id": "urn:ngsi-ld:HealthMeasurement:H1",
            "type": "HealthMeasurement",
            "dataSubject": rel(P1),
            "systolic": prop(142),
        },
        {"id": "urn:ngsi-ld:ParkingSpot:S1", "type": "ParkingSpot", "status": prop("free")},
    ]
