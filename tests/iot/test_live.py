"""Live sensors of the demo: run when Mosquitto is installed, say why not otherwise."""

from __future__ import annotations

from pathlib import Path

from iot_kit import wait_for

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.broker import EntityQuery
from cityos.iot import broker as broker_module
from cityos.iot.live import start_live_fleet


def test_live_fleet_feeds_the_hub(tmp_path: Path, mosquitto):
    settings = Settings(data_dir=tmp_path, iot_client_id=f"demo-{tmp_path.name}")
    said: list[str] = []
    live = start_live_fleet(settings, said.append, per_kind=1, rate=50.0)
    assert live is not None, said
    hub = open_hub(settings)
    try:
        assert "simulated sensors publishing 50 msgs/s" in said[0]
        wait_for(lambda: live.agent.stats["accepted"] >= 20, what="live messages")
        page = hub.query_entities(EntityQuery(type="Device", limit=1, count=True), hub.context())
        assert page.count == 12
    finally:
        live.stop()
        hub.storage.close()
    assert live.broker.process is None and not live.thread.is_alive()


def test_without_mosquitto_the_demo_says_why(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    said: list[str] = []
    assert start_live_fleet(Settings(data_dir=tmp_path), said.append) is None
    assert said == [
        "IoT: no live sensors (mosquitto is not installed; scripts/mosquitto.sh installs Mosquitto)"
    ]
