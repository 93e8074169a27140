"""HTTP API of the device registry under ``/iot/v1/``.

``POST /iot/v1/devices`` provisions a device and answers its API key once; ``GET`` lists or shows
devices; ``POST /iot/v1/devices/{device_id}/revoke`` revokes its key; ``DELETE`` removes it;
``POST /iot/v1/commands/{device_id}`` queues a southbound command; ``GET /iot/v1/profiles``
lists the device profiles. Errors are RFC 7807 problem details: 400 bad input, 404 unknown device,
409 a device id already provisioned.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from cityos.iot import registry
from cityos.iot.profiles import PROFILES

router = APIRouter(tags=["IoT: device registry"])
BASE = "/iot/v1"


def _hub(request: Request) -> Any:
    return request.app.state.hub


def _tenant(request: Request) -> str:
    return request.headers.get("NGSILD-Tenant", "")


class PointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=3)


class DeviceIn(BaseModel):
    """A provisioning request."""

    model_config = ConfigDict(extra="forbid")
    deviceId: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    profile: str = Field(min_length=1, max_length=100)
    protocol: Literal["ul", "json"] = "ul"
    ownerClass: Literal["public", "private", "citizen"] = "public"
    owner: str | None = Field(None, min_length=1, max_length=200)
    name: str | None = Field(None, min_length=1, max_length=200)
    location: PointIn | None = None
    units: dict[str, str] = Field(default_factory=dict, max_length=50)
    entityId: str | None = Field(None, min_length=3, max_length=256)
    controlledProperty: list[str] = Field(default_factory=list, max_length=50)


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")
    value: str | float | bool | None = None


@router.post(
    f"{BASE}/devices", status_code=201, summary="Provision a device (its key is shown once)"
)
def provision(body: DeviceIn, request: Request) -> JSONResponse:
    where = None
    if body.location is not None:
        where = (body.location.coordinates[0], body.location.coordinates[1])
    spec = registry.DeviceSpec(
        device_id=body.deviceId,
        profile=body.profile,
        owner_class=body.ownerClass,
        owner=body.owner,
        protocol=body.protocol,
        location=where,
        name=body.name,
        units=body.units,
        entity_id=body.entityId,
        controlled_property=body.controlledProperty,
    )
    record, api_key = registry.provision(_hub(request), spec, _tenant(request))
    out = record.public() | {
        "apiKey": api_key,
        "topics": {
            "attrs": f"/{api_key}/{record.device_id}/attrs",
            "cmd": f"/{api_key}/{record.device_id}/cmd",
            "cmdexe": f"/{api_key}/{record.device_id}/cmdexe",
        },
    }
    location = f"{BASE}/devices/{record.device_id}"
    return JSONResponse(out, status_code=201, headers={"Location": location})


@router.get(f"{BASE}/devices", summary="List provisioned devices")
def list_devices(
    request: Request,
    profile: str | None = Query(None, max_length=100),
    state: Literal["active", "revoked"] | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> JSONResponse:
    hub = _hub(request)
    limit = min(limit, hub.settings.max_limit)
    records, total = registry.list_devices(
        hub, _tenant(request), limit=limit, offset=offset, profile_name=profile, state=state
    )
    return JSONResponse([r.public() for r in records], headers={"NGSILD-Results-Count": str(total)})


@router.get(f"{BASE}/devices/{{device_id}}", summary="One device")
def get_device(device_id: str, request: Request) -> dict[str, Any]:
    return registry.get_device(_hub(request), device_id, _tenant(request)).public()


@router.post(f"{BASE}/devices/{{device_id}}/revoke", summary="Revoke a device's key")
def revoke(device_id: str, request: Request) -> dict[str, Any]:
    return registry.revoke(_hub(request), device_id, _tenant(request)).public()


@router.delete(f"{BASE}/devices/{{device_id}}", status_code=204, summary="Delete a device")
def delete(device_id: str, request: Request) -> Response:
    registry.delete_device(_hub(request), device_id, _tenant(request))
    return Response(status_code=204)


@router.post(
    f"{BASE}/commands/{{device_id}}",
    status_code=202,
    summary="Send a command to a device (acknowledgement recorded on its entity)",
)
def command(device_id: str, body: CommandIn, request: Request) -> JSONResponse:
    sent = registry.request_command(
        _hub(request), device_id, body.name, body.value, _tenant(request)
    )
    return JSONResponse(sent, status_code=202, headers={"Location": f"{BASE}/devices/{device_id}"})


@router.get(f"{BASE}/profiles", summary="The device profiles and their measures")
def profiles() -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "entityType": p.entity_type,
            "description": p.description,
            "commands": list(p.commands),
            "measures": [
                {
                    "key": m.key,
                    "attribute": m.attribute,
                    "kind": m.kind,
                    **({"unitCode": m.unit} if m.unit else {}),
                    **({"deviceUnitCode": m.sent_unit} if m.sent_unit else {}),
                    **({"minimum": m.minimum} if m.minimum is not None else {}),
                    **({"maximum": m.maximum} if m.maximum is not None else {}),
                    **({"choices": list(m.choices)} if m.choices else {}),
                }
                for m in p.measures
            ],
        }
        for p in PROFILES.values()
    ]
