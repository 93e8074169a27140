"""Hub subscriptions notify mqtt:// endpoints through the real Mosquitto."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from iot_kit import FakeDevice, wait_for

from cityos.iot.broker import MosquittoBroker, free_port


def _subscribe(client: TestClient, uri: str, **extra) -> str:
    body = {
        "type": "Subscription",
        "entities": [{"type": "AirQualityObserved"}],
        "notification": {"endpoint": {"uri": uri, **extra}},
    }
    reply = client.post("/ngsi-ld/v1/subscriptions", json=body)
    assert reply.status_code == 201, reply.text
    return reply.headers["location"]


def test_notification_reaches_an_mqtt_topic(client: TestClient, mosquitto: MosquittoBroker):
    listener = FakeDevice(mosquitto, "notification-listener")
    try:
        listener.subscribe("city/air")
        url = _subscribe(
            client,
            f"mqtt://127.0.0.1:{mosquitto.port}/city/air",
            receiverInfo=[{"key": "X-City", "value": "sejong"}],
        )
        entity = {"id": "urn:ngsi-ld:AirQualityObserved:n1", "type": "AirQualityObserved",
                  "pm25": {"type": "Property", "value": 42.0}}  # fmt: skip
        assert client.post("/ngsi-ld/v1/entities", json=entity).status_code == 201
        assert listener.got.wait(15), "no notification arrived"
        topic, payload = listener.received[0]
        message = orjson.loads(payload)
        assert topic == "city/air"
        assert message["metadata"]["X-City"] == "sejong"
        assert message["metadata"]["Content-Type"] == "application/json"
        body = message["body"]
        assert body["type"] == "Notification" and body["data"][0]["pm25"]["value"] == 42.0
        sub = wait_for(
            lambda: (s := client.get(url).json())["notification"]["timesSent"] >= 1 and s,
            what="the delivery recorded",
        )
        assert sub["notification"]["status"] == "ok" and sub["status"] == "active"
    finally:
        listener.close()


def test_unreachable_broker_is_a_failed_delivery(client: TestClient):
    url = _subscribe(client, f"mqtt://127.0.0.1:{free_port()}/city/air")
    entity = {"id": "urn:ngsi-ld:AirQualityObserved:n2", "type": "AirQualityObserved",
              "pm25": {"type": "Property", "value": 1.0}}  # fmt: skip
    assert client.post("/ngsi-ld/v1/entities", json=entity).status_code == 201
    sub = wait_for(
        lambda: (s := client.get(url).json())["notification"]["timesFailed"] >= 1 and s,
        what="a failed attempt",
    )
    assert "MQTT" in sub["notification"]["lastFailureReason"]
