"""IoT fixtures (the session's Mosquitto broker, ``mosquitto``, is in ``tests/conftest.py``):
client ids and broker directories, and a hub on SQLite for the tests that need one backend.

If Mosquitto cannot be installed or started the IoT tests fail: they are never skipped.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest


@pytest.fixture
def client_id() -> str:
    """A fresh MQTT client id for an agent (persistent sessions are per client id)."""
    return f"cityos-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def broker_dir(tmp_path: Path) -> Path:
    return tmp_path / "mqtt"
