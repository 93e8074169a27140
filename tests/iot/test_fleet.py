"""The simulated fleet: placement on the twin, realistic patterns, faults, and publishing at a
rate through real Mosquitto into the hub."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
from iot_kit import wait_for
from typer.testing import CliRunner

from cityos.cli import app
from cityos.hub.broker import EntityQuery, Hub
from cityos.iot import registry, simulator
from cityos.iot.agent import Agent, AgentConfig
from cityos.iot.broker import MosquittoBroker
from cityos.iot.fleet import KINDS, plan_fleet
from cityos.iot.mapping import to_attributes
from cityos.iot.patterns import Episodes, Faults, fog_morning, local_hour, measure, traffic_level
from cityos.iot.payloads import decode
from cityos.iot.profiles import profile
from cityos.twin.generator import generate


@pytest.fixture(scope="module")
def city():
    return generate()


def _t(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_fleet_covers_every_kind_on_the_site(city):
    fleet = plan_fleet(city)
    kinds = Counter(d.kind for d in fleet)
    assert set(kinds) == set(KINDS)
    assert kinds["airQuality"] == 15  # five stations x three heights
    assert kinds["meter"] == len(city.buildings)
    assert kinds["parking"] == 6 * 12  # five public car parks and the shared-car tower
    assert len({d.device_id for d in fleet}) == len(fleet)
    lons = [d.lon for d in fleet]
    lats = [d.lat for d in fleet]
    assert min(lons) > 127.27 and max(lons) < 127.34  # Sejong 5-1
    assert min(lats) > 36.47 and max(lats) < 36.52
    heights = sorted(d.params["height"] for d in fleet if d.kind == "airQuality")[:3]
    assert heights == [2.0, 2.0, 2.0]
    assert len(plan_fleet(city, per_kind=1)) == len(KINDS)


def test_every_simulated_reading_passes_its_profile(city):
    rng = np.random.default_rng(3)
    episodes = Episodes(dust=(_t("2026-03-20T00:00:00+09:00"), _t("2026-03-20T12:00:00+09:00")))
    for device in plan_fleet(city, per_kind=3):
        state: dict = {}
        for hour in range(0, 48, 5):
            t = _t("2026-03-19T00:00:00+09:00") + hour * 3600
            values = measure(device.kind, t, device.params, state, rng, episodes, 300.0)
            attrs = to_attributes(profile(device.profile), decode_values(values), "x")
            assert attrs, device.kind


def decode_values(values):
    from cityos.iot.payloads import encode_ultralight

    (group,) = decode(encode_ultralight(values), "ul")
    return group


def test_diurnal_traffic_and_dust_episode():
    morning, night = _t("2026-03-18T08:00:00+09:00"), _t("2026-03-18T03:00:00+09:00")
    assert local_hour(morning) == pytest.approx(8.0)
    assert traffic_level(morning) > 3 * traffic_level(night)
    saturday = _t("2026-03-21T08:00:00+09:00")
    assert traffic_level(saturday) == pytest.approx(0.7 * traffic_level(morning))
    dust = Episodes(dust=(morning - 7200, morning + 7200), dust_factor=5.0)
    rng = np.random.default_rng(1)
    clear = np.mean([measure("airQuality", morning - 86400, {}, {}, rng, dust, 60)["pm10"]
                     for _ in range(50)])  # fmt: skip
    dusty = np.mean([measure("airQuality", morning, {}, {}, rng, dust, 60)["pm10"]
                     for _ in range(50)])  # fmt: skip
    assert 4.0 < dusty / clear < 6.0


def test_fog_morning_lowers_visibility():
    start = _t("2026-03-18T22:00:00+09:00")
    fog = fog_morning(start, start)
    assert datetime.fromtimestamp(fog[0], UTC).isoformat() == "2026-03-18T20:00:00+00:00"
    episodes = Episodes(fog=fog)
    rng = np.random.default_rng(2)
    foggy = measure("weather", fog[0] + 3600, {}, {}, rng, episodes, 60)
    clear = measure("weather", fog[1] + 7200, {}, {}, rng, episodes, 60)
    assert foggy["vis"] < 1000 <= clear["vis"] and foggy["h"] > 90


def test_cumulative_meter_energy_integrates_power():
    rng = np.random.default_rng(4)
    state: dict = {}
    t = _t("2026-03-18T12:00:00+09:00")
    first = measure("meter", t, {"kw": 10.0, "homes": 0.5}, state, rng, Episodes(), 900.0)
    second = measure("meter", t + 900, {"kw": 10.0, "homes": 0.5}, state, rng, Episodes(), 900.0)
    assert second["ei"] - first["ei"] == pytest.approx(second["p"] / 1000 * 0.25, abs=2e-3)


def test_faults_stuck_gap_spike():
    rng = np.random.default_rng(5)
    faults = Faults(rate=1.0)
    seen = Counter()
    for i in range(60):
        state: dict = {}
        out = faults.apply({"a": 1.5}, state, 1000.0 + i, rng)
        if out is None:
            seen["gap"] += 1
            assert faults.apply({"a": 2.5}, state, 1001.0 + i, rng) is None  # still silent
        elif out["a"] == 1.5:
            seen["stuck"] += 1
            assert faults.apply({"a": 9.0}, state, 1001.0 + i, rng) == {"a": 1.5}
        else:
            seen["spike"] += 1
            assert out["a"] == pytest.approx(65.0)
    assert set(seen) == {"gap", "stuck", "spike"}
    assert Faults(rate=0.0).apply({"a": 1.0}, {}, 0.0, rng) == {"a": 1.0}


@pytest.mark.parametrize(
    "kwargs",
    [{"rate": 0}, {"rate": -1}, {"duration_s": 0}, {"speed": 0}, {"fault_rate": 2},
     {"dust_hours": -1}],
)  # fmt: skip
def test_bad_simulation_config(kwargs):
    with pytest.raises(ValueError):
        simulator.SimulationConfig(**kwargs)


def test_fleet_needs_keys(city):
    devices = plan_fleet(city, per_kind=1)
    with pytest.raises(ValueError, match="no API key"):
        simulator.Fleet(devices, {}, simulator.SimulationConfig())
    with pytest.raises(ValueError, match="no devices"):
        simulator.Fleet([], {}, simulator.SimulationConfig())


def test_simulated_fleet_reaches_the_hub_at_the_rate(
    city, hub: Hub, mosquitto: MosquittoBroker, client_id: str
):
    devices = plan_fleet(city, per_kind=2)
    keys = registry.provision_fleet(hub, [d.spec() for d in devices])
    assert len(keys) == len(devices) == 2 * len(KINDS)
    config = simulator.SimulationConfig(rate=100, duration_s=2.0, speed=60, fault_rate=0.0)
    fleet = simulator.Fleet(devices, keys, config)
    with Agent(hub, AgentConfig(url=mosquitto.url, client_id=client_id)) as agent:
        report = simulator.run(fleet, mosquitto.url)
        assert 180 <= report.sent <= 201
        try:
            wait_for(lambda: agent.stats["accepted"] == report.sent, what="every message")
        except AssertionError:
            raise AssertionError(f"{report} {agent.stats}") from None
    assert report.elapsed_s == pytest.approx(2.0, abs=1.0)
    ctx = hub.context()
    page = hub.query_entities(EntityQuery(type="AirQualityObserved", limit=10), ctx)
    observed = hub.render(page.entities, ctx)
    assert len(observed) == 2 and all("pm25" in e and "location" in e for e in observed)
    assert all(d.last_seen for d in registry.list_devices(hub, limit=100)[0])


def test_cli_simulate_with_agent(tmp_path, mosquitto: MosquittoBroker, monkeypatch):
    monkeypatch.setenv("CITYOS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CITYOS_IOT_CLIENT_ID", f"cli-{tmp_path.name}")
    args = ["iot", "simulate", "--rate", "50", "--duration", "1", "--per-kind", "1",
            "--agent", "--mqtt-url", mosquitto.url, "--fault-rate", "0"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Provisioned {len(KINDS)} simulated devices" in result.output
    assert "Sent " in result.output and "Agent: accepted" in result.output


@pytest.mark.parametrize(
    "args",
    [["--rate", "0"], ["--duration", "-1"], ["--per-kind", "0"], ["--mqtt-url", "http://x"]],
)
def test_cli_simulate_bad_options(tmp_path, monkeypatch, args):
    monkeypatch.setenv("CITYOS_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["iot", "simulate", *args])
    assert result.exit_code == 2
    assert "error" in result.output
    assert "Provisioned" not in result.output


def test_cli_agent_bad_url(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYOS_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["iot-agent", "--mqtt-url", "tcp://nowhere"])
    assert result.exit_code == 2 and "invalid MQTT URL" in result.output


def test_cli_agent_runs_for_a_duration(tmp_path, monkeypatch, mosquitto: MosquittoBroker):
    monkeypatch.setenv("CITYOS_DATA_DIR", str(tmp_path))
    args = ["iot-agent", "--mqtt-url", mosquitto.url, "--client-id", "cli-agent", "--duration", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "connected True" in result.output
