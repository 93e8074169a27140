"""Temporal provision (ETSI GS CIM 009 §5.6.11-§5.6.16) and how it meets the current state.

Provision writes history directly, and keeps the current state consistent with it: the latest
given instance of each attribute (per datasetId) becomes the current one unless the current one was
observed later (``observedAt``; an instance without it counts as newest). The older instances go
straight into the history, in the same transaction as the current-state write (staged for the
recorder, :func:`cityos.hub.temporal.recording.staged`). Creating a temporal entity that does not
exist creates the entity. Deleting a temporal entity (or attribute) deletes the entity (or
attribute) *and* its history; modifying or deleting one instance by ``instanceId`` edits the
history only.
"""

from __future__ import annotations

from typing import Any

from cityos.core.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cityos.core.timeutil import now_iso
from cityos.hub.broker import Hub
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.model import ENTITY_RESERVED, Entity, check_entity_id, check_name, parse_instance
from cityos.hub.temporal.instants import to_us
from cityos.hub.temporal.recording import Staged, staged
from cityos.hub.temporal.records import EntityMark, InstanceRecord, number_of, pack
from cityos.hub.temporal.render import parse_instance_uri
from cityos.hub.temporal.store import ALL_DATASETS, TemporalStore


class TemporalWriter:
    """Temporal provision (the provision half of
    :class:`~cityos.hub.temporal.service.TemporalService`)."""

    hub: Hub
    store: TemporalStore

    # -- provision ----------------------------------------------------------------------------
    def upsert(self, body: Any, ctx: ActiveContext, tenant: str = "") -> bool:
        """Create a temporal entity, or add instances to an existing one (§5.6.11). Returns
        whether the entity was created (its latest instances become its current state)."""
        if not isinstance(body, dict):
            raise BadRequestData("the payload must be a temporal entity (a JSON object)")
        entity_id = check_entity_id(body.get("id", body.get("@id")))
        return self._provide(entity_id, body, ctx, tenant, create=True)

    def append(self, entity_id: str, body: Any, ctx: ActiveContext, tenant: str = "") -> None:
        """Add attribute instances to a temporal entity (§5.6.12); ResourceNotFound if the entity
        does not exist."""
        check_entity_id(entity_id)
        if not isinstance(body, dict):
            raise BadRequestData("the payload must be a JSON object of temporal attributes")
        if body.get("id", entity_id) != entity_id:
            raise BadRequestData(f"the id in the payload differs from the URL ({entity_id})")
        self._provide(entity_id, body, ctx, self.hub.read_tenant(tenant), create=False)

    def _provide(
        self, entity_id: str, body: dict[str, Any], ctx: ActiveContext, tenant: str, *, create: bool
    ) -> bool:
        now = now_iso()
        now_us = to_us(now)
        current = self.hub.storage.get_entities(tenant, [entity_id]).get(entity_id)
        if current is None and not create:
            raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
        if current is None and body.get("type", body.get("@type")) is None:
            raise BadRequestData("a new temporal entity needs a 'type'")
        payload: dict[str, Any] = {}
        records: list[InstanceRecord] = []
        for name, raws in _temporal_attributes(body):
            iri = ctx.expand_term(name)
            groups: dict[str | None, list[tuple[Any, dict[str, Any]]]] = {}
            for raw in raws:
                parsed = parse_instance(raw, ctx.expand_term, name=name, now=now)
                groups.setdefault(parsed.get("datasetId"), []).append((raw, parsed))
            newest: list[Any] = []
            for dataset, items in groups.items():
                order = sorted(range(len(items)), key=lambda i: (_observed(items[i][1]), i))
                latest = order[-1]
                existing = _instance(current, iri, dataset)
                if existing is None or _observed(existing) <= _observed(items[latest][1]):
                    newest.append(items[latest][0])
                    older = [items[i][1] for i in order[:-1]]
                else:
                    older = [items[i][1] for i in order]
                records += [_history(entity_id, iri, p, now_us) for p in older]
            if newest:
                payload[name] = newest if len(newest) > 1 else newest[0]
        stage = Staged(tenant, entity_id, records=records)
        created = False
        with staged(stage):
            if current is None:
                entity = {"id": entity_id, "type": body.get("type", body.get("@type"))}
                if "scope" in body:
                    entity["scope"] = body["scope"]
                try:
                    self.hub.create_entity({**entity, **payload}, ctx, tenant)
                    created = True
                except AlreadyExists:
                    self.hub.append_attrs(entity_id, {**entity, **payload}, ctx, tenant)
            elif payload or "type" in body:
                if "type" in body:
                    payload["type"] = body["type"]
                self.hub.append_attrs(entity_id, payload, ctx, tenant)
        if records and not stage.applied:
            entity_now = self.hub.storage.get_entities(tenant, [entity_id]).get(entity_id)
            types = entity_now.types if entity_now is not None else []
            with self.hub.storage.transaction(tenant) as tx:
                self.store.record(tx, [EntityMark(entity_id, types)], records)
        return created

    def delete_entity(self, entity_id: str, tenant: str = "") -> None:
        """Delete a temporal entity (§5.6.16): the entity, if it exists, and all its history."""
        check_entity_id(entity_id)
        name = self.hub.read_tenant(tenant)
        current = self.hub.storage.get_entities(name, [entity_id]).get(entity_id)
        known = self.store.entities(name, [entity_id]).get(entity_id)
        if current is None and known is None:
            raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
        stage = Staged(name, entity_id, forget_entity=True)
        if current is not None:
            with staged(stage):
                self.hub.delete_entity(entity_id, name)
        if not stage.applied:
            with self.hub.storage.transaction(name) as tx:
                self.store.delete(tx, entity_id)

    def delete_attr(
        self,
        entity_id: str,
        attr: str,
        ctx: ActiveContext,
        tenant: str = "",
        *,
        dataset_id: str | None = None,
        delete_all: bool = False,
    ) -> None:
        """Delete a temporal attribute (§5.6.13): its current instance(s) and their history — the
        default instance, the one with ``dataset_id``, or every one with ``delete_all``."""
        check_entity_id(entity_id)
        check_name(attr)
        if dataset_id is not None:
            check_entity_id(dataset_id, where="datasetId")
        name = self.hub.read_tenant(tenant)
        iri = ctx.expand_term(attr)
        dataset = ALL_DATASETS if delete_all else dataset_id
        current = self.hub.storage.get_entities(name, [entity_id]).get(entity_id)
        present = current is not None and any(
            delete_all or i.get("datasetId") == dataset_id for i in current.attrs.get(iri, ())
        )
        stage = Staged(name, entity_id, forget_attrs=[(iri, dataset)])
        if present:
            with staged(stage):
                self.hub.delete_attr(
                    entity_id, attr, ctx, name, dataset_id=dataset_id, delete_all=delete_all
                )
        if not stage.applied:
            with self.hub.storage.transaction(name) as tx:
                gone = self.store.delete(tx, entity_id, iri, dataset=dataset)
                if not gone and not present:
                    raise ResourceNotFound(
                        f"attribute {attr!r} of entity {entity_id} has no history",
                        instance=entity_id,
                    )

    def modify_instance(
        self,
        entity_id: str,
        attr: str,
        instance_id: str,
        body: Any,
        ctx: ActiveContext,
        tenant: str = "",
    ) -> None:
        """Replace one recorded instance (§5.6.14), keeping its instanceId, datasetId and, unless
        the body has one, its ``observedAt``. The current state is not changed."""
        check_entity_id(entity_id)
        check_name(attr)
        number = _instance_number(instance_id)
        if not isinstance(body, dict):
            raise BadRequestData("the payload must be an attribute instance (a JSON object)")
        name = self.hub.read_tenant(tenant)
        now = now_iso()
        parsed = parse_instance(body, ctx.expand_term, name=attr, now=now)
        observed = parsed.get("observedAt")
        with self.hub.storage.transaction(name) as tx:
            found = self.store.replace_instance(
                tx,
                entity_id,
                ctx.expand_term(attr),
                number,
                pack(parsed),
                to_us(observed) if observed is not None else None,
                to_us(now),
                number_of(parsed.get("value")),
            )
            if not found:
                raise ResourceNotFound(
                    f"no instance {instance_id} of {attr!r} in entity {entity_id}",
                    instance=instance_id,
                )

    def delete_instance(
        self, entity_id: str, attr: str, instance_id: str, ctx: ActiveContext, tenant: str = ""
    ) -> None:
        """Delete one recorded instance (§5.6.15); the current state is not changed."""
        check_entity_id(entity_id)
        check_name(attr)
        number = _instance_number(instance_id)
        name = self.hub.read_tenant(tenant)
        with self.hub.storage.transaction(name) as tx:
            if not self.store.delete(tx, entity_id, ctx.expand_term(attr), instance_id=number):
                raise ResourceNotFound(
                    f"no instance {instance_id} of {attr!r} in entity {entity_id}",
                    instance=instance_id,
                )


def _temporal_attributes(body: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The attributes of a temporal payload: name -> raw instances (§4.5.7)."""
    out = []
    for name, value in body.items():
        if name in ENTITY_RESERVED or name in ("@id", "@type"):
            continue
        check_name(name)
        raws = value if isinstance(value, list) else [value]
        if not raws:
            raise BadRequestData(f"temporal attribute {name!r} has no instance")
        if not all(isinstance(raw, dict) for raw in raws):
            raise BadRequestData(
                f"temporal attribute {name!r} must be an instance or an array of instances"
            )
        out.append((name, raws))
    return out


def _observed(instance: dict[str, Any]) -> float:
    observed = instance.get("observedAt")
    return float(to_us(observed)) if observed is not None else float("inf")


def _instance(entity: Entity | None, iri: str, dataset: str | None) -> dict[str, Any] | None:
    if entity is None:
        return None
    return next((i for i in entity.attrs.get(iri, ()) if i.get("datasetId") == dataset), None)


def _history(entity_id: str, iri: str, instance: dict[str, Any], now_us: int) -> InstanceRecord:
    observed = instance.get("observedAt")
    return InstanceRecord(
        entity_id,
        iri,
        instance.get("datasetId"),
        pack(instance),
        to_us(observed) if observed is not None else None,
        now_us,
        now_us,
        False,
        number_of(instance.get("value")),
    )


def _instance_number(instance_id: str) -> int:
    number = parse_instance_uri(instance_id)
    if number is None:
        raise ResourceNotFound(f"no attribute instance {instance_id!r}", instance=instance_id)
    return number
