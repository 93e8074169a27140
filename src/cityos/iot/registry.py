"""The device registry: NGSI-LD ``Device`` entities in the hub, with per-device API keys.

A provisioned device is a ``Device`` entity (FIWARE Smart Data Model dataModel.Device) named
``urn:ngsi-ld:Device:<device_id>``, carrying its profile, payload format, owner class
(public / private / citizen), location, state (``active`` / ``revoked``), last-seen time
(``dateLastValueReported``), a Relationship ``refObservation`` to the entity its measures are
written to, and the SHA-256 of its API key with a per-device salt (``apiKeyHash``). The key
itself is shown once, at provisioning, and never stored: it is 192 random bits, so its hash
reveals nothing usable.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from cityos.core.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cityos.core.timeutil import now_iso
from cityos.hub.broker import EntityQuery, Hub
from cityos.hub.representation import RenderOptions
from cityos.hub.storage.base import DEFAULT_TENANT
from cityos.iot.guard import registry_write
from cityos.iot.payloads import FORMATS
from cityos.iot.profiles import check_unit_override, profile

OwnerClass = Literal["public", "private", "citizen"]
OWNER_CLASSES: tuple[str, ...] = ("public", "private", "citizen")
STATES: tuple[str, ...] = ("active", "revoked")
DEVICE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEVICE_TYPE = "Device"
KEY_BYTES = 24


def device_urn(device_id: str) -> str:
    """The ``Device`` entity id of a device."""
    return f"urn:ngsi-ld:Device:{device_id}"


def check_device_id(device_id: str) -> str:
    """A device id usable in MQTT topics and URNs: 1-64 of ``A-Z a-z 0-9 _ -``.

    Raises
    ------
    BadRequestData
        Otherwise.
    """
    if not isinstance(device_id, str) or not DEVICE_ID_RE.fullmatch(device_id):
        raise BadRequestData(
            f"invalid device id {str(device_id)[:80]!r}: use 1-64 letters, digits, '_' or '-'"
        )
    return device_id


def hash_key(api_key: str, salt: str | None = None) -> str:
    """``sha256$<salt>$<hex digest of salt + key>``."""
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256((salt + api_key).encode()).hexdigest()
    return f"sha256${salt}${digest}"


def key_matches(stored: str, api_key: str) -> bool:
    """Whether ``api_key`` is the key whose hash is ``stored`` (constant-time comparison)."""
    try:
        scheme, salt, _ = stored.split("$")
    except ValueError:
        return False
    return scheme == "sha256" and hmac.compare_digest(hash_key(api_key, salt), stored)


@dataclass
class DeviceSpec:
    """What a provisioning request declares about a device."""

    device_id: str
    profile: str
    owner_class: str = "public"
    owner: str | None = None
    protocol: str = "ul"
    location: tuple[float, float] | None = None
    name: str | None = None
    units: dict[str, str] = field(default_factory=dict)
    entity_id: str | None = None
    controlled_property: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Check every field, raising BadRequestData naming the first bad one."""
        check_device_id(self.device_id)
        try:
            prof = profile(self.profile)
            for key, code in self.units.items():
                check_unit_override(prof, key, code)
        except ValueError as exc:
            raise BadRequestData(str(exc)) from None
        if self.owner_class not in OWNER_CLASSES:
            raise BadRequestData(
                f"ownerClass {self.owner_class!r} is not one of {', '.join(OWNER_CLASSES)}"
            )
        if self.protocol not in FORMATS:
            raise BadRequestData(f"protocol {self.protocol!r} is not one of {', '.join(FORMATS)}")
        if self.location is not None:
            lon, lat = self.location
            if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                raise BadRequestData(f"location {self.location} is not a longitude, latitude")
        if self.entity_id is not None and not re.fullmatch(
            r"[A-Za-z][A-Za-z0-9+.-]*:\S+", self.entity_id
        ):
            raise BadRequestData(f"entityId {self.entity_id[:80]!r} is not a URI")


@dataclass
class DeviceRecord:
    """A provisioned device, as read back from its ``Device`` entity."""

    device_id: str
    profile: str
    protocol: str
    owner_class: str
    state: str
    key_hash: str
    observation_id: str
    owner: str | None = None
    name: str | None = None
    location: tuple[float, float] | None = None
    units: dict[str, str] = field(default_factory=dict)
    last_seen: str | None = None
    provisioned_at: str | None = None
    command: dict[str, Any] | None = None

    @property
    def entity_id(self) -> str:
        return device_urn(self.device_id)

    @property
    def observation_type(self) -> str:
        return profile(self.profile).entity_type

    def public(self) -> dict[str, Any]:
        """The device as the HTTP API shows it (never the key hash)."""
        out: dict[str, Any] = {
            "deviceId": self.device_id,
            "id": self.entity_id,
            "profile": self.profile,
            "protocol": self.protocol,
            "ownerClass": self.owner_class,
            "state": self.state,
            "observationId": self.observation_id,
            "observationType": self.observation_type,
        }
        optional = {
            "owner": self.owner,
            "name": self.name,
            "units": self.units or None,
            "dateLastValueReported": self.last_seen,
            "dateInstalled": self.provisioned_at,
            "command": self.command,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.location is not None:
            out["location"] = {"type": "Point", "coordinates": list(self.location)}
        return out


def _prop(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


def device_entity(spec: DeviceSpec, key_hash: str, observation_id: str) -> dict[str, Any]:
    """The normalized ``Device`` entity of a newly provisioned device."""
    prof = profile(spec.profile)
    controlled = spec.controlled_property or [m.attribute for m in prof.measures]
    entity: dict[str, Any] = {
        "id": device_urn(spec.device_id),
        "type": DEVICE_TYPE,
        "category": _prop(["actuator", "sensor"] if prof.commands else ["sensor"]),
        "controlledProperty": _prop(controlled),
        "deviceProfile": _prop(spec.profile),
        "protocol": _prop(spec.protocol),
        "ownerClass": _prop(spec.owner_class),
        "deviceState": _prop("active"),
        "apiKeyHash": _prop(key_hash),
        "dateInstalled": _prop(now_iso()),
        "refObservation": {"type": "Relationship", "object": observation_id},
    }
    if spec.owner:
        entity["owner"] = _prop(spec.owner)
    if spec.name:
        entity["name"] = _prop(spec.name)
    if spec.units:
        entity["deviceUnits"] = _prop(dict(spec.units))
    if spec.location is not None:
        entity["location"] = _point(spec.location)
    return entity


def _point(where: tuple[float, float]) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": list(where)}}


def observation_entity(spec: DeviceSpec, observation_id: str) -> dict[str, Any]:
    """The entity the device's measures go to, created at provisioning (its first state)."""
    entity: dict[str, Any] = {
        "id": observation_id,
        "type": profile(spec.profile).entity_type,
        "refDevice": {"type": "Relationship", "object": device_urn(spec.device_id)},
    }
    if spec.name:
        entity["name"] = _prop(spec.name)
    if spec.location is not None:
        entity["location"] = _point(spec.location)
    return entity


def provision(hub: Hub, spec: DeviceSpec, tenant: str = DEFAULT_TENANT) -> tuple[DeviceRecord, str]:
    """Register a device; returns its record and its API key (shown only now).

    Creates the ``Device`` entity and, unless ``spec.entity_id`` names an existing entity, the
    observation entity, in one transaction.

    Raises
    ------
    BadRequestData
        For an invalid spec.
    AlreadyExists
        If a device with this id exists.
    """
    spec.validate()
    prof = profile(spec.profile)
    observation_id = spec.entity_id or f"urn:ngsi-ld:{prof.entity_type}:{spec.device_id}"
    api_key = secrets.token_urlsafe(KEY_BYTES)
    ctx = hub.context()
    if spec.device_id in find_devices(hub, [spec.device_id], tenant):
        raise AlreadyExists(f"device {spec.device_id} exists", instance=device_urn(spec.device_id))
    bodies = [
        device_entity(spec, hash_key(api_key), observation_id),
        observation_entity(spec, observation_id),
    ]
    with registry_write():  # one transaction: both entities, or (on a crash) neither
        result = hub.batch_create(bodies, ctx, tenant)
    failed = dict(result.errors)
    if device_urn(spec.device_id) in failed:
        raise failed[device_urn(spec.device_id)]
    problem = failed.get(observation_id)
    if problem is not None and not (isinstance(problem, AlreadyExists) and spec.entity_id):
        hub.delete_entity(device_urn(spec.device_id), tenant)
        raise problem
    return get_device(hub, spec.device_id, tenant), api_key


def _record(data: dict[str, Any]) -> DeviceRecord:
    """A record from a keyValues-rendered ``Device`` entity."""
    where = data.get("location")
    location = None
    if isinstance(where, dict) and where.get("type") == "Point":
        lon, lat = where["coordinates"][:2]
        location = (float(lon), float(lat))
    command = data.get("command")
    return DeviceRecord(
        device_id=data["id"].rsplit(":", 1)[1],
        profile=data.get("deviceProfile", ""),
        protocol=data.get("protocol", "ul"),
        owner_class=data.get("ownerClass", "public"),
        state=data.get("deviceState", "active"),
        key_hash=data.get("apiKeyHash", ""),
        observation_id=data.get("refObservation", ""),
        owner=data.get("owner"),
        name=data.get("name"),
        location=location,
        units=dict(data.get("deviceUnits") or {}),
        last_seen=data.get("dateLastValueReported"),
        provisioned_at=data.get("dateInstalled"),
        command=command if isinstance(command, dict) else None,
    )


_KEY_VALUES = RenderOptions(format="keyValues")


def _is_device(data: dict[str, Any]) -> bool:
    types = data.get("type")
    return types == DEVICE_TYPE or (isinstance(types, list) and DEVICE_TYPE in types)


def get_device(hub: Hub, device_id: str, tenant: str = DEFAULT_TENANT) -> DeviceRecord:
    """The device ``device_id``; ResourceNotFound if it was never provisioned (or deleted)."""
    check_device_id(device_id)
    found = find_devices(hub, [device_id], tenant)
    if device_id not in found:
        raise ResourceNotFound(f"device {device_id} not found", instance=device_urn(device_id))
    return found[device_id]


def find_devices(
    hub: Hub, device_ids: Iterable[str], tenant: str = DEFAULT_TENANT
) -> dict[str, DeviceRecord]:
    """The provisioned devices among ``device_ids`` (unknown ids are left out)."""
    ids = sorted({device_urn(d) for d in device_ids if DEVICE_ID_RE.fullmatch(d)})
    if not ids or (tenant != DEFAULT_TENANT and not hub.storage.tenant_exists(tenant)):
        return {}
    ctx = hub.context()
    out: dict[str, DeviceRecord] = {}
    step = hub.settings.max_limit
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        page = hub.query_entities(
            EntityQuery(type=DEVICE_TYPE, ids=chunk, limit=len(chunk)), ctx, tenant
        )
        for data in hub.render(page.entities, ctx, _KEY_VALUES):
            if _is_device(data):
                record = _record(data)
                out[record.device_id] = record
    return out


def list_devices(
    hub: Hub,
    tenant: str = DEFAULT_TENANT,
    *,
    limit: int = 100,
    offset: int = 0,
    profile_name: str | None = None,
    state: str | None = None,
) -> tuple[list[DeviceRecord], int]:
    """One page of provisioned devices and the total, optionally by profile and state."""
    if profile_name is not None:
        try:
            profile(profile_name)
        except ValueError as exc:
            raise BadRequestData(str(exc)) from None
    if state is not None and state not in STATES:
        raise BadRequestData(f"state {state!r} is not one of {', '.join(STATES)}")
    if tenant != DEFAULT_TENANT and not hub.storage.tenant_exists(tenant):
        return [], 0
    terms = [f'deviceProfile=="{profile_name}"'] if profile_name else []
    terms += [f'deviceState=="{state}"'] if state else []
    query = EntityQuery(
        type=DEVICE_TYPE,
        q=";".join(terms) or None,
        limit=limit,
        offset=offset,
        count=True,
    )
    ctx = hub.context()
    page = hub.query_entities(query, ctx, tenant)
    records = [_record(d) for d in hub.render(page.entities, ctx, _KEY_VALUES)]
    return records, page.count or 0


def update_device(hub: Hub, device_id: str, attrs: dict[str, Any], tenant: str) -> None:
    """Overwrite some attributes of an existing ``Device`` entity."""
    fragment = {"id": device_urn(device_id), "type": DEVICE_TYPE, **attrs}
    with registry_write():
        result = hub.batch_update([fragment], hub.context(), tenant)
    if result.errors:
        raise result.errors[0][1]


def revoke(hub: Hub, device_id: str, tenant: str = DEFAULT_TENANT) -> DeviceRecord:
    """Revoke a device's key: its messages are refused from now on (the entity stays)."""
    get_device(hub, device_id, tenant)
    update_device(hub, device_id, {"deviceState": _prop("revoked")}, tenant)
    return get_device(hub, device_id, tenant)


def delete_device(hub: Hub, device_id: str, tenant: str = DEFAULT_TENANT) -> None:
    """Delete a device's ``Device`` entity (its observation entity and history stay)."""
    get_device(hub, device_id, tenant)
    hub.delete_entity(device_urn(device_id), tenant)


def request_command(
    hub: Hub, device_id: str, name: str, value: Any, tenant: str = DEFAULT_TENANT
) -> dict[str, Any]:
    """Queue a command for a device: ``command`` on its entity, status ``PENDING``.

    The agent publishes pending commands on ``/<apikey>/<device_id>/cmd`` and records the
    device's acknowledgement from ``/cmdexe`` (status ``OK`` or ``ERROR``).

    Raises
    ------
    BadRequestData
        If the device's profile has no such command, or the device is revoked.
    """
    record = get_device(hub, device_id, tenant)
    prof = profile(record.profile)
    if name not in prof.commands:
        known = ", ".join(prof.commands) or "none"
        raise BadRequestData(f"profile {prof.name} has no command {name!r} (commands: {known})")
    if record.state != "active":
        raise BadRequestData(f"device {device_id} is {record.state}")
    command = {
        "id": f"urn:ngsi-ld:Command:{uuid.uuid4()}",
        "name": name,
        "value": value,
        "status": "PENDING",
        "issuedAt": now_iso(),
    }
    update_device(
        hub, device_id, {"command": _prop(command), "commandStatus": _prop("PENDING")}, tenant
    )
    return command


def pending_commands(
    hub: Hub, tenant: str = DEFAULT_TENANT, limit: int = 100
) -> list[DeviceRecord]:
    """Active devices with a command waiting to be sent."""
    if tenant != DEFAULT_TENANT and not hub.storage.tenant_exists(tenant):
        return []
    query = EntityQuery(
        type=DEVICE_TYPE,
        q='commandStatus=="PENDING";deviceState=="active"',
        limit=min(limit, hub.settings.max_limit),
    )
    ctx = hub.context()
    page = hub.query_entities(query, ctx, tenant)
    return [_record(d) for d in hub.render(page.entities, ctx, _KEY_VALUES)]


def command_update(record: DeviceRecord, status: str, **extra: Any) -> dict[str, Any]:
    """The ``command``/``commandStatus`` attributes after a command moved to ``status``."""
    command = dict(record.command or {}, status=status, **extra)
    return {"command": _prop(command), "commandStatus": _prop(status)}


def provision_fleet(
    hub: Hub, specs: list[DeviceSpec], tenant: str = DEFAULT_TENANT
) -> dict[str, str]:
    """Provision (or re-key) many devices in one transaction, all or none; returns the new API
    key of each device. Existing devices of these ids get new keys and are active again; their
    observation entities restart empty (their history stays)."""
    keys: dict[str, str] = {}
    bodies: list[dict[str, Any]] = []
    for spec in specs:
        spec.validate()
        prof = profile(spec.profile)
        observation_id = spec.entity_id or f"urn:ngsi-ld:{prof.entity_type}:{spec.device_id}"
        keys[spec.device_id] = api_key = secrets.token_urlsafe(KEY_BYTES)
        bodies.append(device_entity(spec, hash_key(api_key), observation_id))
        bodies.append(observation_entity(spec, observation_id))
    if bodies:
        with registry_write():
            hub.bulk_upsert(bodies, hub.context(), tenant)
    return keys
