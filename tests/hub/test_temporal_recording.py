"""History recording: every entity write adds the changed attribute instances to the history, in
the same transaction (ETSI GS CIM 009 §5.6.11); deletions are recorded with their ``deletedAt``."""

from __future__ import annotations

from typing import Any

import pytest

from cityos.core.errors import BadRequestData, ResourceNotFound
from cityos.hub.broker import Hub
from cityos.hub.hookspecs import hookimpl
from cityos.hub.temporal.query import make_temporal_query
from cityos.hub.temporal.service import TemporalService
from conftest import make_entity

EID = "urn:ngsi-ld:Sensor:1"


MODIFIED = make_temporal_query(timeproperty="modifiedAt")


def history(hub: Hub, query: Any = MODIFIED, entity_id: str = EID) -> dict[str, Any]:
    return TemporalService(hub).retrieve(entity_id, query, hub.context()).entities[0]


def values(hub: Hub, attr: str, query: Any = MODIFIED) -> list[Any]:
    return [i.get("value", i.get("object")) for i in history(hub, query).get(attr, [])]


def obs(value: Any, hour: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Property",
        "value": value,
        "observedAt": f"2026-01-01T{hour:02d}:00:00Z",
        **extra,
    }


def test_create_update_merge_and_replace_are_recorded(hub: Hub) -> None:
    ctx = hub.context()
    hub.create_entity(make_entity(EID, "Sensor", temp=obs(20, 0), name="a"), ctx)
    hub.merge_entity(EID, {"temp": obs(21, 1)}, ctx)
    hub.update_attrs(EID, {"temp": obs(22, 2)}, ctx)
    hub.append_attrs(EID, {"temp": obs(23, 3)}, ctx)
    hub.update_attr(EID, "temp", {"value": 24, "observedAt": "2026-01-01T04:00:00Z"}, ctx)
    hub.update_attr(EID, "temp", obs(25, 5), ctx, replace=True)
    hub.replace_entity(EID, {"type": "Sensor", "temp": obs(26, 6), "name": "a"}, ctx)
    assert values(hub, "temp") == [20, 21, 22, 23, 24, 25, 26]
    assert values(hub, "name") == ["a"]  # unchanged content is not recorded again
    observed = history(hub, make_temporal_query())["temp"]
    assert [i["observedAt"] for i in observed][:2] == [
        "2026-01-01T00:00:00.000Z",
        "2026-01-01T01:00:00.000Z",
    ]
    assert all(i["instanceId"].startswith("urn:ngsi-ld:Instance:") for i in observed)
    assert len({i["instanceId"] for i in observed}) == 7


def test_same_value_with_new_observation_is_recorded(hub: Hub) -> None:
    ctx = hub.context()
    hub.create_entity(make_entity(EID, "Sensor", temp=obs(20, 0)), ctx)
    hub.merge_entity(EID, {"temp": obs(20, 0)}, ctx)  # same observation: nothing new
    hub.merge_entity(EID, {"temp": obs(20, 1)}, ctx)  # same value, new observedAt
    assert values(hub, "temp") == [20, 20]


def test_sub_attributes_and_datasets_are_kept(hub: Hub) -> None:
    ctx = hub.context()
    temp = [
        obs(20, 0, unitCode="CEL", accuracy={"type": "Property", "value": 0.5}),
        obs(30, 0, datasetId="urn:ngsi-ld:Dataset:b"),
    ]
    hub.create_entity({**make_entity(EID, "Sensor"), "temp": temp}, ctx)
    hub.merge_entity(EID, {"temp": obs(31, 1, datasetId="urn:ngsi-ld:Dataset:b")}, ctx)
    recorded = history(hub)["temp"]
    default = [i for i in recorded if "datasetId" not in i]
    assert default == [
        {
            "type": "Property",
            "value": 20,
            "observedAt": "2026-01-01T00:00:00.000Z",
            "unitCode": "CEL",
            "accuracy": {"type": "Property", "value": 0.5},
            "modifiedAt": default[0]["modifiedAt"],
            "instanceId": default[0]["instanceId"],
        }
    ]
    assert [i["value"] for i in recorded if i.get("datasetId")] == [30, 31]
    sys = history(hub, make_temporal_query(timeproperty="modifiedAt", sys_attrs=True))
    assert sys["temp"][0]["accuracy"]["createdAt"] == sys["temp"][0]["createdAt"]


def test_attribute_and_entity_deletions_are_recorded(hub: Hub) -> None:
    ctx = hub.context()
    hub.create_entity(make_entity(EID, "Sensor", temp=obs(20, 0), name="a", level=1), ctx)
    hub.delete_attr(EID, "name", ctx)
    hub.merge_entity(EID, {"level": "urn:ngsi-ld:null"}, ctx)
    name = history(hub)["name"]
    assert name[-1]["value"] == "urn:ngsi-ld:null" and "deletedAt" in name[-1]
    assert history(hub)["level"][-1]["value"] == "urn:ngsi-ld:null"
    hub.delete_entity(EID)
    after = history(hub)
    assert "deletedAt" in after and after["type"] == "Sensor"
    assert after["temp"][-1]["deletedAt"] == after["deletedAt"]
    deleted_only = history(hub, make_temporal_query(timeproperty="deletedAt"))
    assert {name: len(v) for name, v in deleted_only.items() if isinstance(v, list)} == {
        "temp": 1,
        "name": 1,
        "level": 1,
    }
    created = history(hub, make_temporal_query(timeproperty="createdAt"))
    assert [i["value"] for i in created["temp"]] == [20]  # deletions have no createdAt of their own
    hub.create_entity(make_entity(EID, "Sensor", temp=obs(40, 9)), ctx)  # back again
    assert "deletedAt" not in history(hub)


def test_batch_operations_are_recorded(hub: Hub) -> None:
    ctx = hub.context()
    ids = [f"urn:ngsi-ld:Sensor:{n}" for n in range(3)]
    hub.batch_create([make_entity(i, "Sensor", temp=obs(1, 0)) for i in ids], ctx)
    hub.batch_upsert([make_entity(i, "Sensor", temp=obs(2, 1)) for i in ids], ctx)
    hub.batch_update([{"id": ids[0], "temp": obs(3, 2)}], ctx)
    hub.batch_delete(ids[2:])
    service = TemporalService(hub)
    got = {e["id"]: e for e in _all(service, hub)}
    assert [i["value"] for i in got[ids[0]]["temp"]] == [1, 2, 3]
    assert [i["value"] for i in got[ids[1]]["temp"]] == [1, 2]
    assert got[ids[2]]["temp"][-1]["value"] == "urn:ngsi-ld:null"


def _all(service: TemporalService, hub: Hub) -> list[dict[str, Any]]:
    from cityos.hub.broker import EntityQuery

    return service.query(EntityQuery(type="Sensor"), MODIFIED, hub.context()).entities


def test_a_refused_write_leaves_no_history(hub: Hub) -> None:
    class Refuse:
        @hookimpl
        def hub_validate_entity(self, entity: Any, tenant: str, operation: str) -> None:
            if (
                entity.attrs.get("https://uri.etsi.org/ngsi-ld/default-context/temp", [{}])[0].get(
                    "value"
                )
                == 99
            ):
                raise BadRequestData("no 99")

    hub.plugins.register(Refuse())
    ctx = hub.context()
    hub.create_entity(make_entity(EID, "Sensor", temp=obs(1, 0)), ctx)
    with pytest.raises(BadRequestData):
        hub.merge_entity(EID, {"temp": obs(99, 1)}, ctx)
    assert values(hub, "temp") == [1]


def test_failing_history_write_rolls_back_the_entity_write(hub: Hub) -> None:
    ctx = hub.context()
    store = hub.storage.temporal  # type: ignore[attr-defined]
    original = store.record

    def broken(*args: Any) -> None:
        raise RuntimeError("disk full")

    store.record = broken
    try:
        with pytest.raises(RuntimeError):
            hub.create_entity(make_entity(EID, "Sensor", temp=1), ctx)
    finally:
        store.record = original
    with pytest.raises(ResourceNotFound):
        hub.get_entity(EID)


def test_recording_can_be_disabled(tmp_path: Any) -> None:
    from cityos.core.settings import Settings
    from cityos.hub.backends import open_hub

    quiet = open_hub(Settings(data_dir=tmp_path, temporal_enabled=False))
    try:
        quiet.create_entity(make_entity(EID, "Sensor", temp=obs(1, 0)), quiet.context())
        assert "temp" not in history(quiet)
    finally:
        quiet.storage.close()
