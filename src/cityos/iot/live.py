"""Live sensors for the demo: a private Mosquitto, the IoT agent and the simulated fleet, all in
the background of ``cityos demo``.

Only a Mosquitto that is already installed is used (``cityos demo`` never runs ``apt-get``;
``make demo`` installs it first with ``scripts/mosquitto.sh install``); if it is missing or does
not start, the demo runs without live sensors and says why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from cityos.core.settings import Settings
from cityos.hub.broker import Hub
from cityos.iot.agent import Agent, AgentConfig
from cityos.iot.broker import MosquittoBroker
from cityos.iot.errors import BrokerUnavailable

#: Devices of each kind in the demo fleet, and the fleet's messages per second.
DEMO_PER_KIND = 10
DEMO_RATE = 20.0


@dataclass
class LiveFleet:
    """The running broker, agent and publishing thread; :meth:`stop` ends them in order."""

    broker: MosquittoBroker
    hub: Hub
    agent: Agent
    thread: threading.Thread
    stopping: threading.Event

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.agent.stop(timeout=5)
        self.hub.storage.close()
        self.broker.stop()


def start_live_fleet(
    settings: Settings,
    say: Callable[[str], None],
    *,
    per_kind: int = DEMO_PER_KIND,
    rate: float = DEMO_RATE,
) -> LiveFleet | None:
    """Start live simulated sensors for the demo, or return None after saying why not."""
    from cityos.hub.backends import open_hub
    from cityos.iot import registry, simulator
    from cityos.iot.fleet import plan_fleet
    from cityos.twin.generator import generate

    broker = MosquittoBroker(settings.data_dir / "mqtt")
    try:
        broker.start(install=False)
    except BrokerUnavailable as exc:
        say(f"IoT: no live sensors ({exc.detail}; scripts/mosquitto.sh installs Mosquitto)")
        return None
    hub = open_hub(settings)
    try:
        devices = plan_fleet(generate(), per_kind=per_kind)
        keys = registry.provision_fleet(hub, [d.spec() for d in devices])
        agent = Agent(hub, AgentConfig(url=broker.url, client_id=settings.iot_client_id))
        agent.start()
        if not agent.wait_connected(10):
            raise BrokerUnavailable(f"the agent could not connect to {broker.url}")
    except Exception as exc:
        hub.storage.close()
        broker.stop()
        say(f"IoT: no live sensors ({exc})")
        return None
    stopping = threading.Event()
    config = simulator.SimulationConfig(rate=rate, duration_s=7 * 86400, fault_rate=0.005)
    fleet = simulator.Fleet(devices, keys, config)

    def publish() -> None:
        try:
            simulator.run(fleet, broker.url, client_id="cityos-demo-fleet",
                          should_stop=stopping.is_set)  # fmt: skip
        except BrokerUnavailable as exc:
            say(f"IoT: the simulated fleet stopped ({exc.detail})")

    thread = threading.Thread(target=publish, name="cityos-demo-fleet", daemon=True)
    thread.start()
    say(
        f"IoT: {len(devices)} simulated sensors publishing {rate:g} msgs/s to Mosquitto on "
        f"{broker.url}, written to the hub by the agent"
    )
    return LiveFleet(broker, hub, agent, thread, stopping)
