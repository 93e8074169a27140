"""The private Mosquitto broker: starts on loopback, carries QoS 1 messages, restarts."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt

from cityos.iot.broker import (
    MosquittoBroker,
    config_text,
    port_open,
    start_background,
    stop_background,
)


def _roundtrip(port: int, topic: str) -> bytes:
    got: list[bytes] = []
    done = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-sub")
    sub.on_message = lambda c, u, m: (got.append(m.payload), done.set())
    sub.connect("127.0.0.1", port)
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t-pub")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    try:
        for _ in range(50):
            pub.publish(topic, b"hello", qos=1).wait_for_publish(2)
            if done.wait(0.1):
                break
    finally:
        pub.loop_stop()
        sub.loop_stop()
        pub.disconnect()
        sub.disconnect()
    return got[0]


def test_session_broker_carries_messages(mosquitto: MosquittoBroker):
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    assert _roundtrip(mosquitto.port, "/k/dev/attrs") == b"hello"


def test_config_is_loopback_and_persistent(tmp_path: Path):
    text = config_text(1884, tmp_path)
    assert "listener 1884 127.0.0.1" in text
    assert "persistence true" in text and f"persistence_location {tmp_path}/" in text


def test_background_broker_start_reuse_stop(tmp_path: Path):
    url = start_background(tmp_path)
    try:
        port = int(url.rsplit(":", 1)[1])
        assert port_open(port)
        assert start_background(tmp_path) == url  # reused, not a second broker
        assert _roundtrip(port, "a/b") == b"hello"
    finally:
        assert stop_background(tmp_path)
    assert not port_open(port)
    assert not stop_background(tmp_path)
