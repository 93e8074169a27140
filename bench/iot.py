"""IoT benchmark: device messages from MQTT publish to queryable in the hub, against Mosquitto.

Starts a private Mosquitto (``cityos.iot.broker``), provisions a slice of the simulated 5-1 fleet
in a fresh SQLite hub, pre-generates N messages (UltraLight and JSON, every profile kind), then:

1. **reference**: a plain paho subscriber (QoS 1) receives the N messages published as fast as
   possible (QoS 1): Mosquitto's own publish -> subscribe rate for these messages;
2. **agent, burst**: the same N messages published as fast as possible to the IoT agent running
   in this process; the rate counts until the last one is committed in the hub (queryable);
   the hub is then queried to check that every entity holds its newest value;
3. **agent, paced**: messages published at ``--rate`` per second; latency publish -> committed
   per message (p50, p99).

Prints the burst rate as a ratio of the reference rate (target >= 0.3).

Run: ``.venv/bin/python bench/iot.py [--messages 10000] [--devices-per-kind 20] [--rate 500]``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.iot import registry, simulator
from cityos.iot.agent import Agent, AgentConfig
from cityos.iot.broker import MosquittoBroker
from cityos.iot.fleet import plan_fleet
from cityos.twin.generator import generate


def make_messages(
    devices: list[Any], keys: dict[str, str], n: int, start: float
) -> list[tuple[str, bytes]]:
    """N fault-free messages of the fleet, in turn, 1 simulated second apart per round."""
    config = simulator.SimulationConfig(rate=len(devices), speed=1.0, start=start, fault_rate=0)
    fleet = simulator.Fleet(devices, keys, config)
    out: list[tuple[str, bytes]] = []
    t = start
    while len(out) < n:
        message = fleet.next_message(t)
        t += 1.0 / len(devices)
        if message is not None:
            out.append((message[0], message[1]))
    return out


def publisher(port: int, name: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def reference_rate(broker: MosquittoBroker, messages: list[tuple[str, bytes]]) -> float:
    """Mosquitto publish -> subscribe [messages/s] for ``messages`` (QoS 1 both ways)."""
    got = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(client: Any, userdata: Any, msg: Any) -> None:
        nonlocal got
        got += 1
        if got == len(messages):
            done.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-reference")
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect("127.0.0.1", broker.port)
    sub.loop_start()
    sub.subscribe("/+/+/attrs", qos=1)
    subscribed.wait(10)
    pub = publisher(broker.port, "bench-reference-pub")
    began = time.perf_counter()
    for topic, payload in messages:
        pub.publish(topic, payload, qos=1)
    if not done.wait(300):
        raise RuntimeError(f"reference run received only {got} of {len(messages)}")
    elapsed = time.perf_counter() - began
    for client in (pub, sub):
        client.disconnect()
        client.loop_stop()
    return len(messages) / elapsed


def agent_run(
    hub: Any, broker: MosquittoBroker, messages: list[tuple[str, bytes]], rate: float | None,
    client_id: str,
) -> tuple[float, np.ndarray]:  # fmt: skip
    """(messages/s until the last is committed, latencies publish -> committed [s])."""
    agent = Agent(hub, AgentConfig(url=broker.url, client_id=client_id, queue_size=5000))
    sent_at: dict[bytes, float] = {}
    committed: list[float] = []
    real_write = agent.ingestor.write

    def timed_write(batch: Any) -> None:
        real_write(batch)
        now = time.perf_counter()
        committed.extend(now - sent_at[m.payload] for m in batch)

    agent.ingestor.write = timed_write  # type: ignore[method-assign]
    with agent:
        pub = publisher(broker.port, f"{client_id}-pub")
        began = time.perf_counter()
        for i, (topic, payload) in enumerate(messages):
            if rate is not None:
                delay = began + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            sent_at[payload] = time.perf_counter()
            pub.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 300
        while len(committed) < len(messages) and time.monotonic() < deadline:
            time.sleep(0.002)
        elapsed = time.perf_counter() - began
        pub.disconnect()
        pub.loop_stop()
    if len(committed) < len(messages):
        raise RuntimeError(f"only {len(committed)} of {len(messages)} messages were committed")
    return len(messages) / elapsed, np.array(committed)


def check_newest(hub: Any, messages: list[tuple[str, bytes]]) -> int:
    """Entities whose current dateLastValueReported device is known: every device seen."""
    seen = {topic.split("/")[2] for topic, _ in messages}
    found = registry.find_devices(hub, seen)
    missing = [d for d in seen if found.get(d) is None or found[d].last_seen is None]
    if missing:
        raise RuntimeError(f"{len(missing)} devices never reported, e.g. {missing[0]}")
    return len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--devices-per-kind", type=int, default=20)
    parser.add_argument("--rate", type=float, default=500.0, help="paced run [messages/s]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, MosquittoBroker(Path(tmp) / "mqtt") as broker:
        hub = open_hub(Settings(data_dir=Path(tmp)))
        devices = plan_fleet(generate(), per_kind=args.devices_per_kind)
        keys = registry.provision_fleet(hub, [d.spec() for d in devices])
        burst = make_messages(devices, keys, args.messages, time.time() - 86400)
        paced = make_messages(devices, keys, max(1, int(args.rate * 5)), time.time() - 3600)
        print(f"{len(devices)} devices, {len(burst)} messages, broker {broker.url}")
        ref = reference_rate(broker, burst)
        print(f"reference   Mosquitto publish -> subscribe : {ref:9.0f} msgs/s   ratio 1.00")
        rate, lat = agent_run(hub, broker, burst, None, "bench-agent-burst")
        devices_ok = check_newest(hub, burst)
        print(
            f"agent burst publish -> queryable in the hub : {rate:9.0f} msgs/s   "
            f"ratio {rate / ref:.2f} (target >= 0.30); p99 latency "
            f"{np.percentile(lat, 99) * 1000:.0f} ms under saturation; {devices_ok} devices current"
        )
        rate2, lat2 = agent_run(hub, broker, paced, args.rate, "bench-agent-paced")
        p50, p99 = (np.percentile(lat2, q) * 1000 for q in (50, 99))
        print(
            f"agent paced at {args.rate:.0f}/s: {rate2:.0f} msgs/s, latency publish -> queryable "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
        hub.storage.close()


if __name__ == "__main__":
    main()
