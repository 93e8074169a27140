"""The MQTT agent: device messages from Mosquitto into the hub, commands back to devices.

:class:`Agent` connects with a fixed client id and a persistent session (MQTT 3.1.1
``clean_session=0``) and subscribes with QoS 1, so the broker keeps the messages published while
the agent is down and delivers them when it returns. Messages are acknowledged (PUBACK, paho's
manual acknowledgement) only after the batch they belong to is committed in the hub: a crash
between receipt and commit means redelivery, never loss (at-least-once), and the ingestor's
newest-``observedAt`` rule makes the redelivered copies harmless.

Back-pressure: received messages wait in a bounded queue; when it is full the network thread
blocks, the broker stops sending (its in-flight window fills) and queues for the session.
Reconnection uses paho's exponential backoff. A failing hub write is retried with backoff; the
batch stays unacknowledged meanwhile.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from cityos.core.errors import CityOSError
from cityos.core.logging import get_logger
from cityos.hub.broker import Hub
from cityos.hub.storage.base import DEFAULT_TENANT
from cityos.iot import registry
from cityos.iot.errors import BrokerUnavailable
from cityos.iot.ingest import Ingestor, Message, iso
from cityos.iot.payloads import encode_command
from cityos.iot.topics import SUBSCRIPTIONS, cmd_topic

log = get_logger(__name__)


@dataclass(frozen=True)
class AgentConfig:
    """How an agent connects and batches.

    ``batch_size`` messages at most per hub write, waiting at most ``batch_wait_s`` [s] to fill a
    batch; ``queue_size`` messages received but not yet written before the network thread blocks;
    reconnection waits from ``reconnect_min_s`` doubling up to ``reconnect_max_s`` [s].
    """

    url: str = "mqtt://127.0.0.1:1883"
    client_id: str = "cityos-iot-agent"
    tenant: str = DEFAULT_TENANT
    batch_size: int = 1000
    batch_wait_s: float = 0.05
    queue_size: int = 5000
    command_poll_s: float = 1.0
    status_interval_s: float = 10.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    keepalive_s: int = 30

    def __post_init__(self) -> None:
        parse_mqtt_url(self.url)
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", self.client_id):
            raise ValueError("client id must have 1-128 letters, digits, '_', '.' or '-'")
        for name in ("batch_size", "queue_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.batch_wait_s < 0 or self.command_poll_s <= 0 or self.reconnect_min_s <= 0:
            raise ValueError("waits must be positive")


def parse_mqtt_url(url: str) -> tuple[str, int]:
    """(host, port) of ``mqtt://host[:port]`` (port 1883 by default); ValueError otherwise."""
    parsed = urlparse(url)
    if parsed.scheme != "mqtt" or not parsed.hostname:
        raise ValueError(f"invalid MQTT URL {url!r}: use mqtt://host[:port]")
    try:
        port = parsed.port or 1883
    except ValueError:
        raise ValueError(f"invalid port in MQTT URL {url!r}") from None
    return parsed.hostname, port


class Agent:
    """The IoT agent, in-process: :meth:`start`, then :meth:`stop` (or use ``with``)."""

    def __init__(self, hub: Hub, config: AgentConfig | None = None) -> None:
        self.hub = hub
        self.config = config or AgentConfig()
        self.ingestor = Ingestor(hub, self.config.tenant)
        self.connected = threading.Event()
        self._queue: queue.Queue[tuple[Message, int, int]] = queue.Queue(self.config.queue_size)
        self._stopping = threading.Event()
        self._busy = threading.Event()
        self._generation = 0
        self._worker: threading.Thread | None = None
        self._client = self._make_client()
        self.commands_sent = 0
        self.connections = 0
        self.write_retries = 0
        self.on_batch: Callable[[int], None] | None = None

    @property
    def stats(self) -> dict[str, int]:
        """The ingestion counters plus the agent's own."""
        return self.ingestor.stats.as_dict() | {
            "commands_sent": self.commands_sent,
            "connections": self.connections,
            "write_retries": self.write_retries,
            "queued": self._queue.qsize(),
        }

    # -- MQTT -------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        client.reconnect_delay_set(
            min_delay=max(1, round(self.config.reconnect_min_s)),
            max_delay=max(1, round(self.config.reconnect_max_s)),
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        if rc.is_failure:
            log.warning("mqtt connection refused", extra={"reason": str(rc)})
            return
        self._generation += 1
        self.connections += 1
        client.subscribe([(topic, 1) for topic in SUBSCRIPTIONS])
        log.info("mqtt connected", extra={"session_present": bool(flags.session_present)})

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any
    ) -> None:
        if any(c.is_failure for c in codes):
            log.error("mqtt subscription refused", extra={"codes": [str(c) for c in codes]})
            return
        self.connected.set()  # connected and subscribed: nothing published from now is missed

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            log.warning("mqtt disconnected; reconnecting", extra={"reason": str(rc)})

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        item = (Message(msg.topic, msg.payload, time.time()), msg.mid, self._generation)
        while True:  # a full queue blocks the network thread: back-pressure to the broker
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                if self._stopping.is_set():
                    return  # not acknowledged: the broker delivers it again

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Agent:
        """Connect (asynchronously: a broker that is down is retried with backoff) and start
        the worker thread."""
        host, port = parse_mqtt_url(self.config.url)
        self._stopping.clear()
        self._client.connect_async(host, port, keepalive=self.config.keepalive_s)
        self._client.loop_start()
        self._worker = threading.Thread(target=self._work, name="cityos-iot-agent", daemon=True)
        self._worker.start()
        return self

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Wait until connected and subscribed; False after ``timeout`` [s]."""
        return self.connected.wait(timeout)

    def stop(self, flush: bool = True, timeout: float = 30.0) -> None:
        """Stop. With ``flush`` the messages already received are written and acknowledged
        first; without, they are dropped unacknowledged (as in a crash) and the broker delivers
        them again to the next agent with this client id."""
        if flush:
            deadline = time.monotonic() + timeout
            while (not self._queue.empty() or self._busy.is_set()) and time.monotonic() < deadline:
                time.sleep(0.01)
        self._stopping.set()
        if self._worker is not None:
            self._worker.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    def __enter__(self) -> Agent:
        self.start()
        if not self.wait_connected():
            self.stop()
            raise BrokerUnavailable(f"cannot connect to the MQTT broker at {self.config.url}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def idle(self) -> bool:
        """Nothing queued and no batch being written."""
        return self._queue.empty() and not self._busy.is_set()

    # -- the worker ------------------------------------------------------------------------------
    def _take(self) -> list[tuple[Message, int, int]]:
        try:
            first = self._queue.get(timeout=0.1)
        except queue.Empty:
            return []
        self._busy.set()
        items = [first]
        deadline = time.monotonic() + self.config.batch_wait_s
        while len(items) < self.config.batch_size:
            left = deadline - time.monotonic()
            try:
                items.append(
                    self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return items

    def _work(self) -> None:
        next_poll = next_status = 0.0
        while not self._stopping.is_set():
            items = self._take()
            if items:
                self._write(items)
                self._busy.clear()
            now = time.monotonic()
            if now >= next_poll and self.connected.is_set():
                next_poll = now + self.config.command_poll_s
                self._send_commands()
            if now >= next_status:
                next_status = now + self.config.status_interval_s
                self._write_status()

    def _write(self, items: list[tuple[Message, int, int]]) -> None:
        delay = 0.1
        while True:
            try:
                self.ingestor.write([m for m, _, _ in items])
                break
            except Exception as exc:
                if isinstance(exc, CityOSError) and exc.status < 500:
                    # refused as such, it would be refused forever: drop it rather than block
                    log.error("batch refused by the hub", extra={"detail": exc.detail})
                    self.ingestor.stats.write_errors += len(items)
                    break
                if self._stopping.is_set():
                    return  # unacknowledged: redelivered to the next agent
                self.write_retries += 1
                log.exception("hub write failed; retrying", extra={"messages": len(items)})
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        for _, mid, generation in items:
            if generation == self._generation:  # a mid is only valid on its own connection
                self._client.ack(mid, 1)
        if self.on_batch is not None:
            self.on_batch(len(items))

    def _send_commands(self) -> None:
        try:
            pending = registry.pending_commands(self.hub, self.config.tenant)
        except Exception:
            log.exception("cannot read pending commands")
            return
        for device in pending:
            key = self.ingestor.keys.get(device.device_id)
            if key is None or device.command is None:
                continue  # the device has not reported since this agent started: wait for it
            payload = encode_command(
                device.device_id,
                device.command["name"],
                device.command.get("value"),
                device.protocol,
            )
            info = self._client.publish(cmd_topic(key, device.device_id), payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                continue
            registry.update_device(
                self.hub,
                device.device_id,
                registry.command_update(device, "SENT", sentAt=iso(time.time())),
                self.config.tenant,
            )
            self.commands_sent += 1

    def _write_status(self) -> None:
        """The agent's counters as an ``IoTAgent`` entity, for the control centre."""
        eid = f"urn:ngsi-ld:IoTAgent:{self.config.client_id}"
        body = {"id": eid, "type": "IoTAgent"}
        body |= {k: {"type": "Property", "value": v} for k, v in self.stats.items()}
        body["dateModified"] = {"type": "Property", "value": iso(time.time())}
        try:
            self.hub.batch_upsert([body], self.hub.context(), self.config.tenant, mode="update")
        except Exception:
            log.exception("cannot write the agent status")
