"""Turning a batch of device messages into batch upserts of the hub.

:class:`Ingestor` authenticates each message against the registry (unknown, revoked and wrong-key
devices are refused and counted), decodes it with the device's format, maps it through the
device's profile, and keeps, per observation entity and attribute, the value with the newest
``observedAt`` as the current one: a duplicate (same ``observedAt``) or a message older than the
stored value changes nothing (idempotent). Several observations of one attribute in a batch all
reach the temporal history: they are written in rounds, oldest first, one
:meth:`~cityos.hub.broker.Hub.batch_upsert` (``mode="update"``) per round. Messages that cannot
be decoded or mapped become ``DeadLetter`` entities carrying the reason. Command results from
``/cmdexe`` are recorded on the device's ``command``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cityos.core.logging import get_logger
from cityos.core.timeutil import now_iso
from cityos.hub.broker import EntityQuery, Hub
from cityos.hub.storage.base import DEFAULT_TENANT
from cityos.iot import registry
from cityos.iot.errors import PayloadError
from cityos.iot.guard import registry_write
from cityos.iot.mapping import to_attributes
from cityos.iot.payloads import MeasureGroup, decode, decode_command
from cityos.iot.profiles import profile
from cityos.iot.topics import Topic, masked, parse_topic

log = get_logger(__name__)
MAX_DEAD_PAYLOAD = 1000
LATEST_CACHE = 200_000


@dataclass(frozen=True)
class Message:
    """One MQTT message as received: topic, payload, and when [s since the epoch]."""

    topic: str
    payload: bytes
    received: float


@dataclass
class IngestStats:
    """Counters of an ingestor since it started."""

    received: int = 0
    accepted: int = 0
    attributes_written: int = 0
    duplicates: int = 0
    rejected_unknown: int = 0
    rejected_revoked: int = 0
    rejected_key: int = 0
    rejected_topic: int = 0
    dead_letters: int = 0
    commands_acked: int = 0
    write_errors: int = 0
    batches: int = 0

    @property
    def rejected(self) -> int:
        return (
            self.rejected_unknown + self.rejected_revoked + self.rejected_key + self.rejected_topic
        )

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self)) | {"rejected": self.rejected}

    def add(self, other: IngestStats) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


def _observed(prop: dict[str, Any]) -> str:
    return prop["observedAt"]


def iso(seconds: float) -> str:
    """An epoch time as ISO 8601 UTC with milliseconds."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class _Batch:
    #: entity id -> (type, attribute -> its new instances)
    observations: dict[str, tuple[str, dict[str, list[dict[str, Any]]]]] = field(
        default_factory=dict
    )
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    dead: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    accepted: int = 0


class Ingestor:
    """Batch processing of device messages into the hub (no MQTT here: see :mod:`agent`)."""

    def __init__(
        self, hub: Hub, tenant: str = DEFAULT_TENANT, last_seen_every_s: float = 10.0
    ) -> None:
        self.hub = hub
        self.tenant = tenant
        self.stats = IngestStats()
        self._delta = IngestStats()  # the counters of the batch being prepared
        #: (entity id, attribute) -> newest observedAt written.
        self.latest: dict[tuple[str, str], str] = {}
        self._loaded: set[str] = set()
        #: Seconds between two writes of a device's ``dateLastValueReported`` [s].
        self.last_seen_every_s = last_seen_every_s
        self.seen_written: dict[str, float] = {}
        #: device id -> the API key its last authenticated message used (for commands).
        self.keys: dict[str, str] = {}
        #: Whether every observation is written (the hub keeps history) or only the newest.
        self.keep_history = (
            getattr(hub.storage, "temporal", None) is not None and hub.settings.temporal_enabled
        )

    # -- the batch ---------------------------------------------------------------------------
    def prepare(
        self, messages: Sequence[Message]
    ) -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
        """The entity fragments to upsert for ``messages``, in rounds, and the state to
        :meth:`commit`. Round *k* holds the *k*-th oldest new observation of each attribute, so
        that each round's batch upsert records one instance per attribute in the history."""
        self._delta = delta = IngestStats(received=len(messages))
        parsed: list[tuple[Message, Topic]] = []
        for message in messages:
            topic = parse_topic(message.topic)
            if topic is None:
                self._delta.rejected_topic += 1
            else:
                parsed.append((message, topic))
        devices = registry.find_devices(self.hub, {t.device_id for _, t in parsed}, self.tenant)
        self._load_latest({d.observation_id for d in devices.values()})
        batch = _Batch()
        latest: dict[tuple[str, str], str] = {}
        for message, topic in parsed:
            device = self._authenticate(topic, devices)
            if device is None:
                continue
            try:
                if topic.channel == "cmdexe":
                    self._command_result(batch, device, message)
                else:
                    self._measures(batch, device, topic, message, latest)
                batch.accepted += 1
            except PayloadError as exc:
                self._dead_letter(batch, device, topic, message, exc.detail)
            self._seen(batch, device, message)
        rounds: list[list[dict[str, Any]]] = [[]]
        for eid, (etype, instances) in batch.observations.items():
            if not self.keep_history:  # only the newest matters
                instances = {n: [max(v, key=_observed)] for n, v in instances.items()}
            for name, values in instances.items():
                values.sort(key=_observed)
                for k, prop in enumerate(values):
                    while len(rounds) <= k:
                        rounds.append([])
                    bodies = rounds[k]
                    if not bodies or bodies[-1]["id"] != eid:
                        bodies.append({"id": eid, "type": etype})
                    bodies[-1][name] = prop
        rounds[0] += list(batch.devices.values()) + list(batch.dead.values())
        state = {"latest": latest, "batch": batch, "stats": delta}
        return rounds, state

    def commit(self, state: dict[str, Any], errors: Sequence[tuple[str, Any]] = ()) -> None:
        """Record a written batch: newest observedAt values, counters."""
        batch: _Batch = state["batch"]
        failed = {eid for eid, _ in errors}
        for (eid, attr), at in state["latest"].items():
            if eid not in failed:
                self.latest[(eid, attr)] = at
        if len(self.latest) > LATEST_CACHE:  # bounded: forget, reload from the hub when needed
            self.latest.clear()
            self._loaded.clear()
        for device_id, when in batch.seen.items():
            if registry.device_urn(device_id) not in failed:
                self.seen_written[device_id] = when
        delta: IngestStats = state["stats"]
        delta.accepted += batch.accepted
        delta.write_errors += len(errors)
        delta.dead_letters += len(batch.dead)
        delta.attributes_written += sum(
            sum(len(v) for v in instances.values())
            for eid, (_, instances) in batch.observations.items()
            if eid not in failed
        )
        delta.batches += 1
        self.stats.add(delta)

    def write(self, messages: Sequence[Message]) -> None:
        """Prepare, upsert and commit one batch (raises if the hub cannot be written)."""
        rounds, state = self.prepare(messages)
        errors: list[tuple[str, Any]] = []
        step = self.hub.settings.max_batch_entities
        ctx = self.hub.context()
        with registry_write():  # device last-seen and command results are the registry's
            for bodies in rounds:
                for start in range(0, len(bodies), step):
                    chunk = bodies[start : start + step]
                    errors += self.hub.batch_upsert(chunk, ctx, self.tenant, mode="update").errors
        for eid, exc in errors:
            log.warning("iot write refused", extra={"entity": eid, "detail": exc.detail})
        self.commit(state, errors)

    # -- steps --------------------------------------------------------------------------------
    def _authenticate(
        self, topic: Topic, devices: dict[str, registry.DeviceRecord]
    ) -> registry.DeviceRecord | None:
        device = devices.get(topic.device_id)
        if device is None:
            self._delta.rejected_unknown += 1
            return None
        if device.state != "active":
            self._delta.rejected_revoked += 1
            return None
        if self.keys.get(device.device_id) != topic.api_key:
            if not registry.key_matches(device.key_hash, topic.api_key):
                self._delta.rejected_key += 1
                return None
            self.keys[device.device_id] = topic.api_key
        return device

    def _measures(
        self,
        batch: _Batch,
        device: registry.DeviceRecord,
        topic: Topic,
        message: Message,
        latest: dict[tuple[str, str], str],
    ) -> None:
        if topic.channel == "attr":
            try:
                text = message.payload.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise PayloadError("measure value is not UTF-8 text") from None
            groups = [MeasureGroup({topic.key: text})]
        else:
            groups = decode(message.payload, device.protocol)
        prof = profile(device.profile)
        received = iso(message.received)
        mapped = [to_attributes(prof, g, g.observed_at or received, device.units) for g in groups]
        eid = device.observation_id
        seen = {
            (eid, n): {p["observedAt"] for p in props}
            for n, props in batch.observations.get(eid, ("", {}))[1].items()
        }
        for attrs in mapped:  # every group valid: apply them; older than the stored: dropped
            for name, prop in attrs.items():
                at = prop["observedAt"]
                newest = self.latest.get((eid, name))
                if (newest is not None and at <= newest) or at in seen.get((eid, name), ()):
                    self._delta.duplicates += 1
                    continue
                _, instances = batch.observations.setdefault(eid, (prof.entity_type, {}))
                instances.setdefault(name, []).append(prop)
                if at > latest.get((eid, name), ""):
                    latest[(eid, name)] = at

    def _command_result(
        self, batch: _Batch, device: registry.DeviceRecord, message: Message
    ) -> None:
        name, result = decode_command(message.payload, device.protocol, device.device_id)
        command = device.command
        if command is None or command.get("name") != name:
            raise PayloadError(f"no command {name!r} was sent to device {device.device_id}")
        if command.get("status") in ("OK", "ERROR"):
            self._delta.duplicates += 1
            return
        failed = isinstance(result, str) and result.upper().startswith("ERROR")
        status = "ERROR" if failed else "OK"
        body = self._device_body(batch, device)
        body.update(registry.command_update(device, status, result=result, ackAt=now_iso()))
        self._delta.commands_acked += 1

    def _seen(self, batch: _Batch, device: registry.DeviceRecord, message: Message) -> None:
        """Update ``dateLastValueReported``, at most every :attr:`last_seen_every_s` per device
        (unless the device entity is written anyway, for a command result)."""
        written = self.seen_written.get(device.device_id)
        due = written is None or message.received - written >= self.last_seen_every_s
        if not due and device.entity_id not in batch.devices:
            return
        batch.seen[device.device_id] = max(message.received, batch.seen.get(device.device_id, 0))
        body = self._device_body(batch, device)
        at = iso(message.received)
        current = body.get("dateLastValueReported")
        if current is None or current["value"] < at:
            body["dateLastValueReported"] = {"type": "Property", "value": at}

    @staticmethod
    def _device_body(batch: _Batch, device: registry.DeviceRecord) -> dict[str, Any]:
        return batch.devices.setdefault(
            device.entity_id, {"id": device.entity_id, "type": registry.DEVICE_TYPE}
        )

    def _dead_letter(
        self,
        batch: _Batch,
        device: registry.DeviceRecord,
        topic: Topic,
        message: Message,
        reason: str,
    ) -> None:
        digest = hashlib.sha256(message.topic.encode() + b"\0" + message.payload).hexdigest()
        eid = f"urn:ngsi-ld:DeadLetter:{digest[:24]}"
        text = message.payload[:MAX_DEAD_PAYLOAD].decode("utf-8", errors="replace")
        batch.dead[eid] = {
            "id": eid,
            "type": "DeadLetter",
            "topic": {"type": "Property", "value": masked(topic)},
            "payload": {"type": "Property", "value": text},
            "reason": {"type": "Property", "value": reason[:2000]},
            "dateReceived": {"type": "Property", "value": iso(message.received)},
            "refDevice": {"type": "Relationship", "object": device.entity_id},
        }

    def _load_latest(self, entity_ids: set[str]) -> None:
        """Read the newest observedAt of entities seen for the first time (after a restart)."""
        todo = sorted(entity_ids - self._loaded)
        if not todo:
            return
        ctx = self.hub.context()
        step = self.hub.settings.max_limit
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            page = self.hub.query_entities(
                EntityQuery(ids=chunk, limit=len(chunk), local=True), ctx, self.tenant
            )
            for data in self.hub.render(page.entities, ctx):
                for name, attr in data.items():
                    if isinstance(attr, dict) and isinstance(attr.get("observedAt"), str):
                        key = (data["id"], name)
                        self.latest[key] = max(attr["observedAt"], self.latest.get(key, ""))
        self._loaded.update(todo)
