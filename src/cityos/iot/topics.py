"""MQTT topics of the FIWARE IoT Agent convention, with the device's API key first.

* ``/<apikey>/<device_id>/attrs`` — measures (UltraLight 2.0 or JSON, per the device),
* ``/<apikey>/<device_id>/attrs/<key>`` — one measure, the payload being its raw value,
* ``/<apikey>/<device_id>/cmd`` — commands to the device (published by the agent),
* ``/<apikey>/<device_id>/cmdexe`` — the device's command results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Channel = Literal["attrs", "attr", "cmdexe"]
#: What the agent subscribes to (QoS 1).
SUBSCRIPTIONS: tuple[str, ...] = ("/+/+/attrs", "/+/+/attrs/+", "/+/+/cmdexe")


@dataclass(frozen=True)
class Topic:
    """A parsed device topic."""

    api_key: str
    device_id: str
    channel: Channel
    key: str | None = None


def parse_topic(topic: str) -> Topic | None:
    """The parts of a device topic, or None if it follows no known pattern."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != "" or not parts[1] or not parts[2]:
        return None
    if len(parts) == 4 and parts[3] in ("attrs", "cmdexe"):
        return Topic(parts[1], parts[2], "attrs" if parts[3] == "attrs" else "cmdexe")
    if len(parts) == 5 and parts[3] == "attrs" and parts[4]:
        return Topic(parts[1], parts[2], "attr", parts[4])
    return None


def attrs_topic(api_key: str, device_id: str) -> str:
    return f"/{api_key}/{device_id}/attrs"


def cmd_topic(api_key: str, device_id: str) -> str:
    return f"/{api_key}/{device_id}/cmd"


def cmdexe_topic(api_key: str, device_id: str) -> str:
    return f"/{api_key}/{device_id}/cmdexe"


def masked(topic: Topic) -> str:
    """The topic with the API key hidden, for logs and dead letters."""
    tail = f"/attrs/{topic.key}" if topic.channel == "attr" else f"/{topic.channel}"
    return f"/{topic.api_key[:4]}…/{topic.device_id}{tail}"
