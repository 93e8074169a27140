"""IoT fixtures: one real Mosquitto broker per test session (installed from Debian packages by
:mod:`cityos.iot.broker` if missing), and a hub on SQLite for the tests that need one backend.

If Mosquitto cannot be installed or started the IoT tests fail: they are never skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cityos.iot.broker import MosquittoBroker
from cityos.iot.errors import BrokerUnavailable


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    """A Mosquitto broker on 127.0.0.1, for the whole session."""
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    try:
        broker.start()
    except BrokerUnavailable as exc:
        pytest.fail(f"Mosquitto could not start: {exc.detail}", pytrace=False)
    yield broker
    broker.stop()


@pytest.fixture
def client_id() -> str:
    """A fresh MQTT client id for an agent (persistent sessions are per client id)."""
    return f"cityos-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def broker_dir(tmp_path: Path) -> Path:
    return tmp_path / "mqtt"
