"""Notifications to MQTT endpoints through a real Mosquitto broker: the message (metadata and
body), QoS 0 and 1, MQTT 3.1.1 and 5.0, topics per subscription, and an unreachable broker
counted as failures, retried and dead-lettered like an unreachable HTTP receiver."""

from __future__ import annotations

import queue
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from subscription_kit import CORE, dead_port_url, fast_settings, subscription, wait_until

from cityos.core.settings import Settings
from cityos.hub.subscriptions.service import SubscriptionService, subscriptions_of
from cityos.iot.broker import MosquittoBroker

AQ = "urn:ngsi-ld:AirQualityObserved:"


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return fast_settings(tmp_path, database_url=database_url)


@pytest.fixture
def service(hub) -> Iterator[SubscriptionService]:
    the_service = subscriptions_of(hub)
    the_service.sender.start()
    yield the_service
    the_service.sender.stop()


class Listener:
    """A subscriber on one topic, collecting the decoded messages."""

    def __init__(self, broker: MosquittoBroker, topic: str) -> None:
        self.messages: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
        subscribed = queue.Queue()
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
        client.on_message = lambda c, u, m: self.messages.put((m.qos, orjson.loads(m.payload)))
        client.on_subscribe = lambda *a: subscribed.put(True)
        client.on_connect = lambda c, *a: c.subscribe(topic, qos=2)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        subscribed.get(timeout=10)
        self.client = client

    def next(self, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _mqtt_sub(url: str, qos: str | None = None, version: str | None = None, **members: Any):
    body = subscription(url, **members)
    info = [{"key": k, "value": v} for k, v in (("MQTT-QoS", qos), ("MQTT-Version", version)) if v]
    if info:
        body["notification"]["endpoint"]["notifierInfo"] = info
    return body


@pytest.mark.parametrize(("qos", "version"), [(None, None), ("1", "mqtt3.1.1"), ("1", "mqtt5.0")])
def test_notification_is_published_with_metadata_and_body(mosquitto, hub, service, qos, version):
    broker = mosquitto
    topic = f"cityos/test/{uuid.uuid4().hex[:8]}"
    listener = Listener(broker, topic)
    try:
        receiver = {"receiverInfo": [{"key": "X-Team", "value": "air"}]}
        body = _mqtt_sub(f"{broker.url}/{topic}", qos, version, notification={"endpoint": receiver})
        sid = service.create(body, hub.context())
        hub.create_entity({"id": f"{AQ}1", "type": "AirQualityObserved",
                           "pm25": {"type": "Property", "value": 41}}, hub.context())  # fmt: skip
        got_qos, message = listener.next()
    finally:
        listener.close()
    assert got_qos == int(qos or 0)
    assert set(message) == {"metadata", "body"}
    assert message["metadata"]["Content-Type"] == "application/json"
    assert f"<{CORE}>" in message["metadata"]["Link"]
    assert message["metadata"]["X-Team"] == "air"
    notification = message["body"]
    assert notification["type"] == "Notification" and notification["subscriptionId"] == sid
    assert notification["data"] == [
        {"id": f"{AQ}1", "type": "AirQualityObserved", "pm25": {"type": "Property", "value": 41}}
    ]
    stats = wait_until(
        lambda: (s := service.render(service.get(sid, "")))["notification"]["timesSent"] and s,
        what="the delivery to be counted",
    )
    assert stats["notification"]["status"] == "ok" and stats["status"] == "active"


def test_each_subscription_publishes_to_its_own_topic(mosquitto, hub, service):
    broker = mosquitto
    topics = [f"cityos/test/{uuid.uuid4().hex[:8]}" for _ in range(2)]
    listeners = [Listener(broker, t) for t in topics]
    try:
        for topic, q in zip(topics, ("pm25>10", "pm25<=10"), strict=True):
            service.create(_mqtt_sub(f"{broker.url}/{topic}", "1", q=q), hub.context())
        for n, pm25 in enumerate((5, 50, 7)):
            pm = {"type": "Property", "value": pm25}
            hub.create_entity({"id": f"{AQ}{n}", "type": "AirQualityObserved", "pm25": pm},
                              hub.context())  # fmt: skip
        high = [e["id"] for e in listeners[0].next()[1]["body"]["data"]]
        low: list[str] = []
        while len(low) < 2:  # queued changes may go out together in one notification
            low += [e["id"] for e in listeners[1].next()[1]["body"]["data"]]
    finally:
        for listener in listeners:
            listener.close()
    assert high == [f"{AQ}1"] and sorted(low) == [f"{AQ}0", f"{AQ}2"]


def test_unreachable_broker_is_retried_then_dead_lettered(hub, service):
    port = urlsplit(dead_port_url()).port  # a port nobody listens on
    sid = service.create(_mqtt_sub(f"mqtt://127.0.0.1:{port}/city", "1"), hub.context())
    pm = {"type": "Property", "value": 12}
    hub.create_entity({"id": f"{AQ}9", "type": "AirQualityObserved", "pm25": pm}, hub.context())
    status = wait_until(
        lambda: (s := service.render(service.get(sid, "")))["notification"]["deadLetters"] and s,
        timeout=15,
        what="the notification to be dead-lettered",
    )
    notification = status["notification"]
    assert notification["timesFailed"] == 3 and "lastSuccess" not in notification
    assert f"MQTT 127.0.0.1:{port}" in notification["lastFailureReason"]
