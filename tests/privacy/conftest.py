"""Fixtures of the privacy tests: production-mode apps, token minting, personal entities."""

from __future__ import annotations

from collections.abc import Iterator
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
