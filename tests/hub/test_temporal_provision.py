"""Temporal provision (ETSI GS CIM 009 §5.6.11-§5.6.16, §6.18-§6.22) and history retention:
the current state follows the latest instances, deletions forget history, purges honour each
tenant's retention (service, ``cityos hub purge-history``, the server's task)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from typer.testing import CliRunner

from cityos.cli import app as cli
from cityos.core.settings import Settings, parse_retention_overrides
from cityos.core.timeutil import now_iso
from cityos.hub.broker import Hub
from cityos.hub.temporal.instants import from_us, to_us
from cityos.hub.temporal.query import make_temporal_query
from cityos.hub.temporal.retention import start_purger, stop_purger
from cityos.hub.temporal.service import TemporalService
from conftest import make_entity

E = "/ngsi-ld/v1/entities"
T = "/ngsi-ld/v1/temporal/entities"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
S1 = "urn:ngsi-ld:Sensor:1"
DAY_US = 86_400_000_000


def at(hour: int) -> str:
    return f"2026-01-01T{hour:02d}:00:00Z"


def series(*pairs: tuple[Any, int], **extra: Any) -> list[dict[str, Any]]:
    return [{"type": "Property", "value": v, "observedAt": at(h), **extra} for v, h in pairs]


def temps(body: dict[str, Any], attr: str = "temp") -> list[Any]:
    return [i["value"] for i in body.get(attr, [])]


def test_create_temporal_entity_sets_the_current_state(client) -> None:
    body = {"id": S1, "type": "Sensor", "temp": series((3, 3), (1, 1), (2, 2))}
    response = client.post(T, json=body)
    assert response.status_code == 201
    assert response.headers["location"] == f"{T}/{S1}"
    current = client.get(f"{E}/{S1}").json()
    assert current["temp"]["value"] == 3 and current["temp"]["observedAt"] == at(3)
    assert temps(client.get(f"{T}/{S1}").json()) == [1, 2, 3]
    more = {"id": S1, "type": "Sensor", "temp": series((0, 0), (5, 5))}
    assert client.post(T, json=more).status_code == 204
    assert client.get(f"{E}/{S1}").json()["temp"]["value"] == 5
    assert temps(client.get(f"{T}/{S1}").json()) == [0, 1, 2, 3, 5]


def test_older_instances_leave_the_current_state_alone(client) -> None:
    client.post(T, json={"id": S1, "type": "Sensor", "temp": series((9, 9))})
    response = client.post(f"{T}/{S1}/attrs", json={"temp": series((4, 4), (5, 5))})
    assert response.status_code == 204
    assert client.get(f"{E}/{S1}").json()["temp"]["value"] == 9
    assert temps(client.get(f"{T}/{S1}").json()) == [4, 5, 9]
    new_attr = {"humidity": series((40, 1), (41, 2), datasetId="urn:ngsi-ld:D:a")}
    assert client.post(f"{T}/{S1}/attrs", json=new_attr).status_code == 204
    current = client.get(f"{E}/{S1}").json()["humidity"]
    assert current["value"] == 41 and current["datasetId"] == "urn:ngsi-ld:D:a"
    history = client.get(f"{T}/{S1}", params={"attrs": "humidity"}).json()["humidity"]
    assert [(i["value"], i["datasetId"]) for i in history] == [
        (40, "urn:ngsi-ld:D:a"),
        (41, "urn:ngsi-ld:D:a"),
    ]


def test_provision_errors(client) -> None:
    cases = [
        (client.post(f"{T}/{S1}/attrs", json={"temp": series((1, 1))}), 404, "ResourceNotFound"),
        (client.post(T, json={"id": S1, "temp": series((1, 1))}), 400, "BadRequestData"),
        (client.post(T, json={"id": "not a uri", "type": "S"}), 400, "BadRequestData"),
        (client.post(T, json={"id": S1, "type": "S", "temp": []}), 400, "BadRequestData"),
        (client.post(T, json={"id": S1, "type": "S", "temp": [1, 2]}), 400, "BadRequestData"),
        (client.post(T, json=[{"id": S1}]), 400, "BadRequestData"),
        (client.delete(f"{T}/{S1}"), 404, "ResourceNotFound"),
    ]
    for response, status, kind in cases:
        assert response.status_code == status, response.text
        assert response.json()["type"] == ERR + kind
    assert client.get(f"{E}/{S1}").status_code == 404


def test_modify_and_delete_one_instance(client) -> None:
    client.post(T, json={"id": S1, "type": "Sensor", "temp": series((1, 1), (2, 2), (3, 3))})
    first = client.get(f"{T}/{S1}").json()["temp"][0]["instanceId"]
    patched = client.patch(f"{T}/{S1}/attrs/temp/{first}", json={"value": 10, "unitCode": "CEL"})
    assert patched.status_code == 204
    history = client.get(f"{T}/{S1}").json()["temp"]
    assert history[0] == {
        "type": "Property",
        "value": 10,
        "unitCode": "CEL",
        "observedAt": "2026-01-01T01:00:00.000Z",
        "instanceId": first,
    }
    assert client.get(f"{E}/{S1}").json()["temp"]["value"] == 3  # history only
    moved = client.patch(
        f"{T}/{S1}/attrs/temp/{first}", json={"value": 11, "observedAt": "2026-01-01T06:00:00Z"}
    )
    assert moved.status_code == 204
    assert temps(client.get(f"{T}/{S1}").json()) == [2, 3, 11]
    assert client.delete(f"{T}/{S1}/attrs/temp/{first}").status_code == 204
    assert temps(client.get(f"{T}/{S1}").json()) == [2, 3]
    for response in (
        client.delete(f"{T}/{S1}/attrs/temp/{first}"),
        client.patch(f"{T}/{S1}/attrs/temp/urn:ngsi-ld:Instance:999999", json={"value": 1}),
        client.patch(f"{T}/{S1}/attrs/other/{first}", json={"value": 1}),
        client.delete(f"{T}/{S1}/attrs/temp/urn:ngsi-ld:Other:1"),
        client.delete(f"{T}/urn:ngsi-ld:Sensor:9/attrs/temp/{first}"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["type"] == ERR + "ResourceNotFound"
    bad = client.patch(f"{T}/{S1}/attrs/temp/{first}", json={"value": None})
    assert bad.status_code == 400


def test_delete_temporal_attribute_and_entity(client) -> None:
    temp = series((1, 1), (2, 2)) + series((7, 1), datasetId="urn:ngsi-ld:D:b")
    client.post(T, json={"id": S1, "type": "Sensor", "temp": temp, "name": series(("a", 1))})
    assert client.delete(f"{T}/{S1}/attrs/temp").status_code == 204  # the default instance
    current = client.get(f"{E}/{S1}").json()
    assert current["temp"]["datasetId"] == "urn:ngsi-ld:D:b"
    history = client.get(f"{T}/{S1}", params={"timeproperty": "modifiedAt"}).json()
    assert [i.get("datasetId") for i in history["temp"]] == ["urn:ngsi-ld:D:b"]
    everything = client.delete(f"{T}/{S1}/attrs/temp", params={"deleteAll": "true"})
    assert everything.status_code == 204
    after = client.get(f"{T}/{S1}", params={"timeproperty": "modifiedAt"}).json()
    assert "temp" not in after and "temp" not in client.get(f"{E}/{S1}").json()
    assert client.delete(f"{T}/{S1}/attrs/temp").status_code == 404
    assert client.delete(f"{T}/{S1}").status_code == 204
    assert client.get(f"{E}/{S1}").status_code == 404
    assert client.get(f"{T}/{S1}").status_code == 404  # history forgotten too
    client.post(E, json=make_entity(S1, "Sensor", temp=1))
    client.delete(f"{E}/{S1}")
    assert client.get(f"{T}/{S1}").status_code == 200  # deleted, history kept
    assert client.delete(f"{T}/{S1}").status_code == 204
    assert client.get(f"{T}/{S1}").status_code == 404


def test_provision_in_a_tenant(client) -> None:
    tenant = {"NGSILD-Tenant": "city2"}
    body = {"id": S1, "type": "Sensor", "temp": series((1, 1), (2, 2))}
    assert client.post(T, json=body, headers=tenant).status_code == 201
    assert temps(client.get(f"{T}/{S1}", headers=tenant).json()) == [1, 2]
    assert client.get(f"{T}/{S1}").status_code == 404


def test_purge_honours_retention(hub: Hub) -> None:
    service = TemporalService(hub)
    ctx = hub.context()
    hub.create_entity(make_entity(S1, "Sensor", temp=1), ctx)
    hub.create_entity(make_entity(S1, "Sensor", temp=1), ctx, "keep")
    hub.delete_entity(S1, "keep")
    query = make_temporal_query(timeproperty="modifiedAt")
    later = from_us(to_us(now_iso()) + 2 * DAY_US)
    hub.settings.temporal_retention_days = 1
    hub.settings.temporal_retention_overrides = "keep=0"
    assert hub.settings.retention_days("keep") == 0
    assert service.purge_expired(now=later) == {"": 1}
    assert "temp" not in service.retrieve(S1, query, ctx).entities[0]
    assert len(service.retrieve(S1, query, ctx, "keep").entities[0]["temp"]) == 2
    hub.settings.temporal_retention_overrides = "keep=1.5"
    assert service.purge_expired(now=later) == {"": 0, "keep": 2}
    # a deleted entity left without history is forgotten
    assert service.store.entities("keep") == {}


def test_purge_cli(settings: Settings, hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.create_entity(make_entity(S1, "Sensor", temp=1), hub.context())
    monkeypatch.setenv("CITYOS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CITYOS_DATABASE_URL", settings.resolved_database_url())
    runner = CliRunner()
    kept = runner.invoke(cli, ["hub", "purge-history"])
    assert kept.exit_code == 0 and "Purged 0 history instances" in kept.output
    later = from_us(to_us(now_iso()) + DAY_US)
    done = runner.invoke(cli, ["hub", "purge-history", "--tenant", "", "--before", later])
    assert done.exit_code == 0, done.output
    assert "Purged 1 history instances" in done.output
    bad = runner.invoke(cli, ["hub", "purge-history", "--before", "yesterday"])
    assert bad.exit_code == 1 and "'--before' is not an ISO 8601 date-time" in bad.output


def test_server_purges_periodically(hub: Hub) -> None:
    hub.create_entity(make_entity(S1, "Sensor", temp=1), hub.context())
    hub.settings.temporal_retention_days = 1e-9  # everything is already expired
    hub.settings.temporal_purge_interval_s = 0.05
    query = make_temporal_query(timeproperty="modifiedAt")

    async def run() -> None:
        task = start_purger(hub)
        assert task is not None
        deadline = time.monotonic() + 10
        while "temp" in TemporalService(hub).retrieve(S1, query, hub.context()).entities[0]:
            assert time.monotonic() < deadline, "the purge task did not run"
            await asyncio.sleep(0.05)
        await stop_purger(task)
        assert task.cancelled()

    asyncio.run(run())
    hub.settings.temporal_purge_interval_s = 0
    assert start_purger(hub) is None


def test_retention_overrides_are_validated() -> None:
    assert parse_retention_overrides(" a=30, b=365 ,") == {"a": 30.0, "b": 365.0}
    for text in ("a", "a=", "=3", "a=-1", "a=x"):
        with pytest.raises(ValueError, match="tenant=days"):
            parse_retention_overrides(text)
    with pytest.raises(ValueError):
        Settings(temporal_retention_overrides="a=x")
