"""Notifications of hub subscriptions to ``mqtt://`` endpoints (ETSI GS CIM 009 §6.3.18).

The endpoint URI names the broker and the topic: ``mqtt://[user[:password]@]host[:port]/topic``.
Each notification is published as JSON ``{"metadata": {...}, "body": {...}}``: the metadata holds
what an HTTP notification carries as headers (``Content-Type``, ``Link``, ``NGSILD-Tenant``,
``receiverInfo``), the body the notification itself. Messages go out with QoS 1 and a delivery
counts once the broker acknowledged it; otherwise the hub's sender retries with backoff as for
HTTP. :func:`install` registers the transport with a hub's subscriptions (the server does it).
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as mqtt

from cityos.core.logging import get_logger
from cityos.hub.broker import Hub
from cityos.hub.subscriptions.model import Subscription
from cityos.hub.subscriptions.notification import notification_headers
from cityos.hub.subscriptions.service import subscriptions_of

log = get_logger(__name__)
QOS = 1


class MqttNotifier:
    """Publishes notifications, one connected client per broker and user (reused)."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, int, str | None], mqtt.Client] = {}
        self._lock = threading.Lock()

    def __call__(
        self, sub: Subscription, body: dict[str, Any], timeout_s: float
    ) -> tuple[bool, str]:
        parts = urlsplit(sub.uri)
        topic = unquote(parts.path.lstrip("/"))
        if not parts.hostname or not topic:
            return False, f"MQTT endpoint {sub.uri!r} names no host or no topic"
        if any(c in topic for c in "+#"):
            return False, f"MQTT topic {topic!r} has wildcards"
        try:
            port = parts.port or 1883
        except ValueError:
            return False, f"invalid port in {sub.uri!r}"
        headers = notification_headers(sub)
        headers.pop("User-Agent", None)
        payload = orjson.dumps({"metadata": headers, "body": body})
        try:
            client = self._client(parts.hostname, port, parts.username, parts.password, timeout_s)
            info = client.publish(topic, payload, qos=QOS)
            info.wait_for_publish(timeout_s)
        except (OSError, RuntimeError, ValueError) as exc:
            self._forget(parts.hostname, port, parts.username)
            return False, f"MQTT: {type(exc).__name__}: {exc}"
        if not info.is_published():
            self._forget(parts.hostname, port, parts.username)
            return False, f"MQTT broker did not acknowledge within {timeout_s:g} s"
        return True, ""

    def _client(
        self, host: str, port: int, user: str | None, password: str | None, timeout_s: float
    ) -> mqtt.Client:
        key = (host, port, user)
        with self._lock:
            client = self._clients.get(key)
            if client is not None and client.is_connected():
                return client
            if client is not None:
                client.loop_stop()
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
            if user:
                client.username_pw_set(unquote(user), unquote(password) if password else None)
            connected = threading.Event()
            client.on_connect = lambda *a: connected.set()
            client.connect(host, port, keepalive=60)
            client.loop_start()
            if not connected.wait(timeout_s):
                client.loop_stop()
                raise OSError(f"no CONNACK from {host}:{port} within {timeout_s:g} s")
            self._clients[key] = client
            return client

    def _forget(self, host: str, port: int, user: str | None) -> None:
        with self._lock:
            client = self._clients.pop((host, port, user), None)
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.disconnect()
            client.loop_stop()


def install(hub: Hub) -> MqttNotifier:
    """Let the hub's subscriptions notify ``mqtt://`` endpoints (idempotent)."""
    service = subscriptions_of(hub)
    existing = service.transports.get("mqtt")
    if isinstance(existing, MqttNotifier):
        return existing
    notifier = MqttNotifier()
    service.transports["mqtt"] = notifier
    return notifier
