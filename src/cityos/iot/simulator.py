"""Running the simulated fleet: devices publish over MQTT at a configurable rate.

The simulated clock starts at ``start`` and runs ``speed`` times faster than real time; the
fleet as a whole sends ``rate`` messages per real second, each device in turn (round robin), so
every device reports every ``len(devices) / rate`` real seconds. Messages carry their simulated
time (UltraLight timestamp or JSON ``TimeInstant``) and go out with QoS 1.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import paho.mqtt.client as mqtt

from cityos.iot.agent import parse_mqtt_url
from cityos.iot.errors import BrokerUnavailable
from cityos.iot.fleet import SimDevice
from cityos.iot.ingest import iso
from cityos.iot.patterns import Episodes, Faults, fog_morning, measure
from cityos.iot.payloads import encode_ultralight
from cityos.iot.topics import attrs_topic


@dataclass(frozen=True)
class SimulationConfig:
    """``rate`` messages per real second for ``duration_s`` real seconds; the simulated clock
    starts at ``start`` [s since the epoch; None: now] and runs ``speed`` times real time. The
    fine-dust episode starts ``dust_after_h`` simulated hours in and lasts ``dust_hours``; the fog
    morning is the first 05:00-09:00 KST after the start (``fog``). ``fault_rate`` is the chance
    per report that a device develops a fault."""

    rate: float = 20.0
    duration_s: float = 60.0
    speed: float = 1.0
    start: float | None = None
    seed: int = 1
    fault_rate: float = 0.01
    dust_after_h: float = 0.0
    dust_hours: float = 6.0
    fog: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 100_000:
            raise ValueError(f"rate must be in (0, 100000] messages/s, got {self.rate}")
        if not 0 < self.duration_s <= 7 * 86400:
            raise ValueError(f"duration must be in (0, 604800] s, got {self.duration_s}")
        if not 0 < self.speed <= 100_000:
            raise ValueError(f"speed must be in (0, 100000], got {self.speed}")
        if not 0 <= self.fault_rate <= 1:
            raise ValueError(f"fault rate must be in [0, 1], got {self.fault_rate}")
        if self.dust_after_h < 0 or self.dust_hours < 0:
            raise ValueError("dust episode times must not be negative")


@dataclass
class SimulationReport:
    sent: int = 0
    silent: int = 0
    faults: int = 0
    elapsed_s: float = 0.0
    simulated_s: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Fleet:
    """The devices, their keys and states; produces the next messages (no MQTT here)."""

    def __init__(self, devices: list[SimDevice], keys: dict[str, str], config: SimulationConfig):
        if not devices:
            raise ValueError("the fleet has no devices")
        missing = [d.device_id for d in devices if d.device_id not in keys]
        if missing:
            raise ValueError(f"no API key for {len(missing)} devices, e.g. {missing[0]}")
        self.devices = devices
        self.keys = keys
        self.config = config
        self.start = time.time() if config.start is None else config.start
        dust_start = self.start + config.dust_after_h * 3600.0
        self.episodes = Episodes(
            dust=(dust_start, dust_start + config.dust_hours * 3600.0)
            if config.dust_hours > 0
            else None,
            fog=fog_morning(self.start, self.start) if config.fog else None,
        )
        self.faults = Faults(config.fault_rate)
        self.rng = np.random.default_rng(config.seed)
        self.states: list[dict[str, Any]] = [{} for _ in devices]
        self.last: list[float | None] = [None] * len(devices)
        self.turn = 0

    def sim_time(self, real_elapsed: float) -> float:
        return self.start + real_elapsed * self.config.speed

    def next_message(self, t: float) -> tuple[str, bytes, SimDevice] | None:
        """The next device's message at simulated time ``t`` (None if it is silent)."""
        i = self.turn % len(self.devices)
        self.turn += 1
        device, state = self.devices[i], self.states[i]
        previous = self.last[i]
        dt = t - previous if previous is not None else len(self.devices) / self.config.rate
        self.last[i] = t
        values = measure(device.kind, t, device.params, state, self.rng, self.episodes, dt)
        values = self.faults.apply(values, state, t, self.rng)
        if values is None:
            return None
        at = iso(t)
        if device.protocol == "json":
            payload = orjson.dumps(values | {"TimeInstant": at})
        else:
            payload = encode_ultralight(values, at)
        return attrs_topic(self.keys[device.device_id], device.device_id), payload, device

    def fault_count(self) -> int:
        return sum(int(s.get("faults", 0)) for s in self.states)


def publisher(url: str, client_id: str) -> mqtt.Client:
    """A connected MQTT client for publishing (network loop running)."""
    host, port = parse_mqtt_url(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    try:
        client.connect(host, port)
    except OSError as exc:
        raise BrokerUnavailable(f"cannot reach the MQTT broker at {url}: {exc}") from None
    client.loop_start()
    return client


def run(
    fleet: Fleet,
    url: str,
    *,
    client_id: str = "cityos-fleet",
    progress: Callable[[SimulationReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SimulationReport:
    """Publish the fleet's messages at ``fleet.config.rate`` for ``duration_s`` real seconds."""
    cfg = fleet.config
    client = publisher(url, client_id)
    report = SimulationReport()
    pending: deque[mqtt.MQTTMessageInfo] = deque()
    began = time.monotonic()
    next_progress = began + 1.0
    try:
        for elapsed in _ticks(began, cfg.duration_s):
            if should_stop is not None and should_stop():
                break
            due = min(int(cfg.rate * elapsed) + 1, int(cfg.rate * cfg.duration_s))
            t = fleet.sim_time(elapsed)
            while report.sent + report.silent < due:
                message = fleet.next_message(t)
                if message is None:
                    report.silent += 1
                    continue
                topic, payload, device = message
                pending.append(client.publish(topic, payload, qos=1))
                report.sent += 1
                report.by_kind[device.kind] = report.by_kind.get(device.kind, 0) + 1
            while pending and pending[0].is_published():
                pending.popleft()
            if progress is not None and time.monotonic() >= next_progress:
                next_progress += 1.0
                report.elapsed_s = time.monotonic() - began
                progress(report)
        for info in pending:
            info.wait_for_publish(10)
        report.elapsed_s = time.monotonic() - began
    finally:
        client.disconnect()
        client.loop_stop()
    report.simulated_s = report.elapsed_s * cfg.speed
    report.faults = fleet.fault_count()
    return report


def _ticks(began: float, duration_s: float) -> Iterator[float]:
    """Elapsed real times [s], every ~5 ms, until ``duration_s``."""
    while True:
        elapsed = time.monotonic() - began
        if elapsed >= duration_s:
            return
        yield elapsed
        time.sleep(0.005)
