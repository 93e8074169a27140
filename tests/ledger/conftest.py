"""Fixtures of the ledger tests: a ledger on the hub fixture (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from cityos.ledger.service import Ledger, open_ledger


@pytest.fixture
def ledger(hub, settings) -> Ledger:
    """The ledger on a fresh hub database of the backend under test, keys in its data dir."""
    return open_ledger(hub.storage, settings.data_dir)
