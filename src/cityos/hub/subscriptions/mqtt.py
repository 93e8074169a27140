"""Delivering notifications to MQTT endpoints (ETSI GS CIM 009 §5.2.15, MQTT notification
binding), as Orion-LD does.

An endpoint ``mqtt[s]://[user[:password]@]host[:port]/topic`` names a broker and one topic;
``notifierInfo`` may set ``MQTT-Version`` (``mqtt3.1.1``, default, or ``mqtt5.0``) and
``MQTT-QoS`` (``0``, default, ``1`` or ``2``). The message is a JSON object with ``metadata`` —
what would be the HTTP headers of the notification (``Content-Type``, ``Link``, ``NGSILD-Tenant``
and the ``receiverInfo`` pairs) — and ``body``, the notification itself.

A notification counts as delivered when the broker has acknowledged it (PUBACK at QoS 1, the
PUBREC/PUBCOMP exchange at QoS 2, the packet written at QoS 0); a refused connection, bad
credentials or no acknowledgement within the timeout count as failures and are retried like
HTTP failures. Connections are kept per broker and credentials, and reused.
"""

from __future__ import annotations

import ssl
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from cityos.hub.subscriptions.model import Subscription
from cityos.hub.subscriptions.notification import notification_headers

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
PROTOCOLS = {"mqtt3.1.1": paho.MQTTv311, "mqtt5.0": paho.MQTTv5}


@dataclass(frozen=True)
class MqttTarget:
    """Broker, credentials and topic of an MQTT endpoint, with its version and QoS."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    version: str
    topic: str
    qos: int

    @property
    def connection_key(self) -> tuple[Any, ...]:
        return (self.host, self.port, self.tls, self.username, self.password, self.version)


def target_of(sub: Subscription) -> MqttTarget:
    """The target of a subscription's MQTT endpoint (validated when the subscription was)."""
    parts = urlsplit(sub.uri)
    scheme = parts.scheme.lower()
    info = dict(sub.notifier_info)
    return MqttTarget(
        host=parts.hostname or "",
        port=parts.port or DEFAULT_PORTS[scheme],
        tls=scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        version=info.get("MQTT-Version", "mqtt3.1.1"),
        topic=unquote(parts.path.lstrip("/")),
        qos=int(info.get("MQTT-QoS", "0")),
    )


def mqtt_message(sub: Subscription, body: dict[str, object]) -> bytes:
    """The published payload: ``{"metadata": {headers}, "body": notification}``."""
    return orjson.dumps({"metadata": notification_headers(sub), "body": body})


class _Connection:
    """One connected paho client with its network loop running."""

    def __init__(self, target: MqttTarget, timeout_s: float) -> None:
        self.connected = threading.Event()
        self.refusal: str | None = None
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"cityos-notifier-{uuid.uuid4().hex[:12]}",
            protocol=PROTOCOLS[target.version],
        )
        if target.username is not None:
            client.username_pw_set(target.username, target.password)
        if target.tls:
            client.tls_set_context(ssl.create_default_context())
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self.client = client
        client.connect(target.host, target.port, keepalive=60)  # OSError when unreachable
        client.loop_start()
        if not self.connected.wait(timeout_s):
            self.close()
            raise ConnectionError(
                self.refusal
                or f"no CONNACK from {target.host}:{target.port} within {timeout_s:g} s"
            )

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.refusal = f"the broker refused the connection: {reason}"
            client.disconnect()
        else:
            self.connected.set()

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self.connected.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class MqttPublisher:
    """Publishes notifications to MQTT endpoints, reusing one connection per broker."""

    def __init__(self) -> None:
        self._connections: dict[tuple[Any, ...], _Connection] = {}
        self._lock = threading.Lock()

    def publish(
        self, sub: Subscription, body: dict[str, object], timeout_s: float
    ) -> tuple[bool, str]:
        """Publish a notification; whether the broker acknowledged it, and why not."""
        target = target_of(sub)
        try:
            connection = self._connection(target, timeout_s)
            info = connection.client.publish(target.topic, mqtt_message(sub, body), target.qos)
            if info.rc != paho.MQTT_ERR_SUCCESS:
                raise ConnectionError(paho.error_string(info.rc))
            info.wait_for_publish(timeout_s)
        except (OSError, ValueError, RuntimeError) as exc:
            self._drop(target)
            return False, f"MQTT {target.host}:{target.port}: {exc}"
        if not info.is_published():
            self._drop(target)
            return (
                False,
                f"MQTT {target.host}:{target.port}: no acknowledgement within {timeout_s:g} s",
            )
        return True, ""

    def _connection(self, target: MqttTarget, timeout_s: float) -> _Connection:
        key = target.connection_key
        with self._lock:
            found = self._connections.get(key)
            if found is not None and found.connected.is_set():
                return found
            if found is not None:
                found.close()
            self._connections[key] = _Connection(target, timeout_s)
            return self._connections[key]

    def _drop(self, target: MqttTarget) -> None:
        with self._lock:
            found = self._connections.pop(target.connection_key, None)
        if found is not None:
            found.close()

    def close(self) -> None:
        """Disconnect from every broker."""
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()
