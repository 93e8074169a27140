"""Device topics (IoT Agent convention) and the broker script."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cityos.iot.agent import AgentConfig, parse_mqtt_url
from cityos.iot.broker import port_open
from cityos.iot.topics import Topic, masked, parse_topic

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("/k3y/dev-1/attrs", Topic("k3y", "dev-1", "attrs")),
        ("/k3y/dev-1/attrs/t", Topic("k3y", "dev-1", "attr", "t")),
        ("/k3y/dev-1/cmdexe", Topic("k3y", "dev-1", "cmdexe")),
        ("k3y/dev-1/attrs", None),
        ("/k3y/dev-1/cmd", None),
        ("//dev-1/attrs", None),
        ("/k3y//attrs", None),
        ("/k3y/dev-1/attrs/", None),
        ("/k3y/dev-1/attrs/a/b", None),
    ],
)
def test_parse_topic(topic: str, expected: Topic | None):
    assert parse_topic(topic) == expected


def test_masked_topic_hides_the_key():
    assert masked(Topic("abcdefgh", "d", "attr", "t")) == "/abcd…/d/attrs/t"


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://x", "invalid MQTT URL"), ("mqtt://", "invalid MQTT URL"), ("mqtt://h:99999", "port")],
)
def test_bad_mqtt_urls(url: str, reason: str):
    with pytest.raises(ValueError, match=reason):
        parse_mqtt_url(url)


def test_agent_config_checks():
    assert parse_mqtt_url("mqtt://broker") == ("broker", 1883)
    with pytest.raises(ValueError, match="batch_size"):
        AgentConfig(batch_size=0)
    for bad in ("", "has space", "x" * 129):
        with pytest.raises(ValueError, match="client id"):
            AgentConfig(client_id=bad)


def test_broker_script_starts_reuses_and_stops():
    script = str(ROOT / "scripts" / "mosquitto.sh")
    first = subprocess.run([script], capture_output=True, text=True, timeout=300, check=True)
    url = first.stdout.strip().splitlines()[-1]
    port = int(url.rsplit(":", 1)[1])
    try:
        assert url.startswith("mqtt://127.0.0.1:") and port_open(port)
        again = subprocess.run([script], capture_output=True, text=True, timeout=60, check=True)
        assert again.stdout.strip().splitlines()[-1] == url
    finally:
        subprocess.run([script, "stop"], capture_output=True, timeout=60, check=True)
    assert not port_open(port)
    bad = subprocess.run([script, "restart"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "usage" in bad.stderr
    installed = subprocess.run([script, "install"], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0 and installed.stdout.strip().endswith("mosquitto")
