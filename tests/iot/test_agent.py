"""The MQTT agent against a real Mosquitto: every profile, bad payloads, bad credentials,
duplicates, restart without loss, back-pressure, hub failures, broker restarts, commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from iot_kit import FakeDevice, wait_for
from test_profiles import SAMPLES

from cityos.hub.broker import EntityQuery, Hub
from cityos.iot import registry
from cityos.iot.agent import Agent, AgentConfig
from cityos.iot.broker import MosquittoBroker
from cityos.iot.topics import attrs_topic, cmd_topic, cmdexe_topic


def _provision(hub: Hub, device_id: str, prof: str, **kw: Any) -> str:
    _, key = registry.provision(hub, registry.DeviceSpec(device_id, prof, **kw))
    return key


def _value(hub: Hub, entity_id: str, attr: str) -> Any:
    data = hub.retrieve(entity_id, hub.context())
    return data.get(attr, {}).get("value")


def _history(client: TestClient, entity_id: str, attr: str) -> list[dict[str, Any]]:
    reply = client.get(
        f"/ngsi-ld/v1/temporal/entities/{entity_id}",
        params={"attrs": attr, "timerel": "after", "timeAt": "2000-01-01T00:00:00Z"},
    )
    assert reply.status_code == 200, reply.text
    found = reply.json().get(attr, [])
    return found if isinstance(found, list) else [found]


@pytest.fixture
def device(mosquitto: MosquittoBroker) -> Iterator[FakeDevice]:
    dev = FakeDevice(mosquitto, "fake-device")
    yield dev
    dev.close()


@pytest.fixture
def agent(hub: Hub, mosquitto: MosquittoBroker, client_id: str) -> Iterator[Agent]:
    config = AgentConfig(url=mosquitto.url, client_id=client_id, command_poll_s=0.1)
    the_agent = Agent(hub, config).start()
    assert the_agent.wait_connected(10)
    yield the_agent
    the_agent.stop()


def test_every_profile_in_ul_and_json(hub: Hub, agent: Agent, device: FakeDevice):
    at = "2026-11-23T09:00:00.000Z"
    for name, (raw, _) in SAMPLES.items():
        for fmt in ("ul", "json"):
            device_id = f"{name[:10].lower()}-{fmt}"
            key = _provision(hub, device_id, name, protocol=fmt)
            if fmt == "ul":
                payload = at + "|" + "|".join(f"{k}|{v}" for k, v in raw.items())
            else:
                payload = '{"TimeInstant": "%s", %s}' % (  # noqa: UP031
                    at,
                    ", ".join(f'"{k}": "{v}"' for k, v in raw.items()),
                )
            device.publish(attrs_topic(key, device_id), payload)
    wait_for(lambda: agent.stats["accepted"] == 2 * len(SAMPLES), what="all profiles")
    for name, (_, expected) in SAMPLES.items():
        for fmt in ("ul", "json"):
            eid = f"urn:ngsi-ld:{name}:{name[:10].lower()}-{fmt}"
            data = hub.retrieve(eid, hub.context())
            for attr, want in expected.items():
                got = data[attr]["value"]
                assert got == (pytest.approx(want) if isinstance(want, float) else want), attr
                assert data[attr]["observedAt"] == at
            seen = registry.get_device(hub, f"{name[:10].lower()}-{fmt}").last_seen
            assert seen is not None and seen > at
    assert agent.stats["dead_letters"] == 0 and agent.stats["rejected"] == 0


def test_single_measure_topic_and_device_units(hub: Hub, agent: Agent, device: FakeDevice):
    key = _provision(hub, "w1", "WeatherObserved", units={"t": "FAH"})
    device.publish(attrs_topic(key, "w1") + "/t", "50")
    device.publish(attrs_topic(key, "w1"), "ws|36")
    eid = "urn:ngsi-ld:WeatherObserved:w1"
    wait_for(lambda: _value(hub, eid, "windSpeed") is not None, what="wind")
    assert _value(hub, eid, "temperature") == pytest.approx(10.0)
    assert _value(hub, eid, "windSpeed") == pytest.approx(10.0)


def test_bad_payloads_go_to_dead_letters_and_the_agent_continues(
    hub: Hub, agent: Agent, device: FakeDevice
):
    key = _provision(hub, "aq-1", "AirQualityObserved")
    topic = attrs_topic(key, "aq-1")
    device.publish(topic, "pm25|abc")
    device.publish(topic, "pm25|5|odd")
    device.publish(topic, "pm25|5000")
    device.publish(topic, b"\xff\xfe")
    device.publish(topic, "pm25|12")
    eid = "urn:ngsi-ld:AirQualityObserved:aq-1"
    wait_for(lambda: _value(hub, eid, "pm25") == 12.0, what="the good message")
    wait_for(lambda: agent.stats["dead_letters"] == 4, what="four dead letters")
    page = hub.query_entities(EntityQuery(type="DeadLetter", limit=10), hub.context())
    letters = hub.render(page.entities, hub.context())
    reasons = sorted(d["reason"]["value"] for d in letters)
    assert any("'abc' is not a number" in r for r in reasons)
    assert any("odd number of fields" in r for r in reasons)
    assert any("outside the range of pm25" in r for r in reasons)
    assert any("not UTF-8" in r for r in reasons)
    for letter in letters:
        assert letter["refDevice"]["object"] == "urn:ngsi-ld:Device:aq-1"
        assert key not in letter["topic"]["value"]  # the key is never stored
    device.publish(topic, "pm25|abc")  # the same bad message again: the same dead letter
    wait_for(lambda: agent.stats["received"] == 6, what="the repeat")
    page = hub.query_entities(EntityQuery(type="DeadLetter", limit=10, count=True), hub.context())
    assert page.count == 4


def test_bad_credentials_are_rejected_and_counted(hub: Hub, agent: Agent, device: FakeDevice):
    key = _provision(hub, "spot-1", "ParkingSpot")
    other = _provision(hub, "spot-2", "ParkingSpot")
    device.publish(attrs_topic(other, "spot-1"), "st|1")  # another device's key
    device.publish(attrs_topic("guessed-key", "spot-1"), "st|1")
    device.publish(attrs_topic(key, "nobody"), "st|1")
    device.publish("/" + key + "/spot-1/attrs/extra/deep", "st|1")  # not a device topic
    wait_for(lambda: agent.stats["received"] >= 3, what="three messages")
    registry.revoke(hub, "spot-2")
    device.publish(attrs_topic(other, "spot-2"), "st|1")
    wait_for(lambda: agent.stats["rejected_revoked"] == 1, what="the revoked device")
    stats = agent.stats
    assert stats["rejected_key"] == 2 and stats["rejected_unknown"] == 1
    assert stats["accepted"] == 0 and stats["dead_letters"] == 0
    assert _value(hub, "urn:ngsi-ld:ParkingSpot:spot-1", "status") is None
    device.publish(attrs_topic(key, "spot-1"), "st|1")
    wait_for(lambda: _value(hub, "urn:ngsi-ld:ParkingSpot:spot-1", "status") == "occupied")


def test_duplicates_and_out_of_order_are_idempotent(
    hub: Hub, agent: Agent, device: FakeDevice, client: TestClient
):
    key = _provision(hub, "n1", "NoiseLevelObserved")
    topic = attrs_topic(key, "n1")
    eid = "urn:ngsi-ld:NoiseLevelObserved:n1"
    device.publish(topic, "2026-11-23T09:00:02Z|laeq|52")
    wait_for(lambda: _value(hub, eid, "LAeq") == 52.0)
    device.publish(topic, "2026-11-23T09:00:01Z|laeq|40")  # older: ignored
    device.publish(topic, "2026-11-23T09:00:02Z|laeq|52")  # duplicate: ignored
    device.publish(topic, "2026-11-23T09:00:03Z|laeq|55#2026-11-23T09:00:04Z|laeq|57")
    wait_for(lambda: _value(hub, eid, "LAeq") == 57.0, what="the newest value")
    assert agent.stats["duplicates"] == 2
    history = _history(client, eid, "LAeq")
    assert sorted(i["observedAt"] for i in history) == [
        "2026-11-23T09:00:02.000Z",
        "2026-11-23T09:00:03.000Z",
        "2026-11-23T09:00:04.000Z",
    ]


def test_restart_loses_nothing(
    hub: Hub, mosquitto: MosquittoBroker, device: FakeDevice, client_id: str, client: TestClient
):
    key = _provision(hub, "meter-1", "DeviceMeasurement")
    topic = attrs_topic(key, "meter-1")
    eid = "urn:ngsi-ld:DeviceMeasurement:meter-1"
    config = AgentConfig(url=mosquitto.url, client_id=client_id)
    first = Agent(hub, AgentConfig(url=mosquitto.url, client_id=client_id, batch_size=5))
    real_write = first.ingestor.write

    def slow_write(messages: Any) -> None:
        time.sleep(0.2)  # a slow hub: messages wait in the queue
        real_write(messages)

    first.ingestor.write = slow_write  # type: ignore[method-assign]
    first.start()
    assert first.wait_connected(10)
    for i in range(40):
        device.publish(topic, f"2026-11-23T09:00:{i:02d}Z|v|{i}")
    wait_for(lambda: first.stats["accepted"] > 0, what="a first batch")
    first.stop(flush=False)  # a crash: what was received but not written is not acknowledged
    assert first.stats["accepted"] < 40
    for i in range(40, 60):  # published while no agent runs: kept by the broker
        device.publish(topic, f"2026-11-23T09:00:{i:02d}Z|v|{i}")
    second = Agent(hub, config).start()
    try:
        wait_for(lambda: _value(hub, eid, "numValue") == 59.0, what="the last value")
        wait_for(lambda: len(_history(client, eid, "numValue")) >= 60, what="all 60 observations")
        history = _history(client, eid, "numValue")
    finally:
        second.stop()
    assert sorted(int(i["value"]) for i in history) == list(range(60))


def test_back_pressure_and_hub_failures(hub: Hub, mosquitto: MosquittoBroker, client_id: str):
    key = _provision(hub, "bin-1", "WasteContainer")
    config = AgentConfig(url=mosquitto.url, client_id=client_id, queue_size=4, batch_size=3)
    agent = Agent(hub, config)
    real_write = agent.ingestor.write
    calls = {"n": 0, "max_queued": 0}

    def flaky_write(messages: Any) -> None:
        calls["n"] += 1
        calls["max_queued"] = max(calls["max_queued"], agent.stats["queued"])
        if calls["n"] in (2, 3):
            raise RuntimeError("database is down")
        real_write(messages)

    agent.ingestor.write = flaky_write  # type: ignore[method-assign]
    agent.start()
    dev = FakeDevice(mosquitto, "bin-device")
    try:
        assert agent.wait_connected(10)
        for i in range(60):
            dev.publish(attrs_topic(key, "bin-1"), f"2026-11-23T10:{i:02d}:00Z|w|{i}")
        eid = "urn:ngsi-ld:WasteContainer:bin-1"
        wait_for(lambda: _value(hub, eid, "cargoWeight") == 59.0, what="the last weight")
    finally:
        dev.close()
        agent.stop()
    assert agent.stats["write_retries"] == 2
    assert calls["max_queued"] <= 4
    assert agent.stats["accepted"] == 60


def test_agent_reconnects_after_a_broker_restart(hub: Hub, tmp_path: Path, client_id: str):
    key = _provision(hub, "s1", "Streetlight")
    with MosquittoBroker(tmp_path / "own-broker") as broker:
        config = AgentConfig(url=broker.url, client_id=client_id, reconnect_min_s=0.5)
        agent = Agent(hub, config).start()
        try:
            assert agent.wait_connected(10)
            broker.restart()
            wait_for(lambda: agent.stats["connections"] >= 2, what="a reconnection")
            dev = FakeDevice(broker, "light")
            dev.publish(attrs_topic(key, "s1"), "pw|0")
            dev.close()
            wait_for(lambda: _value(hub, "urn:ngsi-ld:Streetlight:s1", "powerState") == "off")
        finally:
            agent.stop()


def test_command_round_trip(hub: Hub, agent: Agent, device: FakeDevice, client: TestClient):
    key = _provision(hub, "purifier-1", "AirQualityObserved", protocol="json")
    device.subscribe(cmd_topic(key, "purifier-1"))
    sent = client.post("/iot/v1/commands/purifier-1", json={"name": "purifier", "value": "on"})
    assert sent.status_code == 202
    device.publish(attrs_topic(key, "purifier-1"), '{"pm25": 80}')  # the agent learns its key
    assert device.got.wait(10), "the command never reached the device"
    topic, payload = device.received[0]
    assert topic == cmd_topic(key, "purifier-1") and payload == b'{"purifier":"on"}'
    wait_for(lambda: registry.get_device(hub, "purifier-1").command["status"] == "SENT")
    device.publish(cmdexe_topic(key, "purifier-1"), '{"purifier": "switched on"}')
    shown = wait_for(
        lambda: (
            (c := client.get("/iot/v1/devices/purifier-1").json()["command"])["status"] == "OK"
            and c
        ),
        what="the acknowledgement",
    )
    assert shown["result"] == "switched on" and shown["ackAt"] >= shown["sentAt"]
    assert agent.stats["commands_acked"] == 1 and agent.stats["commands_sent"] == 1
    device.publish(cmdexe_topic(key, "purifier-1"), '{"unknown": 1}')  # no such command sent
    wait_for(lambda: agent.stats["dead_letters"] == 1, what="a dead letter")
