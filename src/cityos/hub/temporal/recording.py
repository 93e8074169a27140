"""Recording the history: a built-in ``hub_before_commit`` plugin (ETSI GS CIM 009 §5.6.11).

For every committed :class:`~cityos.hub.broker.Change`, each attribute instance (per datasetId) that
was created, or whose content changed, is added to the history; an instance that disappeared is
recorded as a deletion (its ``deletedAt``), and so is every instance of a deleted entity. Content
is compared without the system timestamps: writing the same value with the same ``observedAt``
again adds nothing, while a new ``observedAt`` is a new observation. Rows are written through
the backend's :class:`~cityos.hub.temporal.store.TemporalStore` in the same transaction, so the
history commits or rolls back with the change.

The temporal provision operations (:mod:`cityos.hub.temporal.service`) ride on the same write: they
stage instances to add, or history to forget, with :func:`staged` around the hub operation, and
the recorder applies them inside its transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from cityos.core.timeutil import now_iso
from cityos.hub.hookspecs import hookimpl
from cityos.hub.model import Entity
from cityos.hub.temporal.instants import to_us
from cityos.hub.temporal.records import EntityMark, InstanceRecord, number_of, pack
from cityos.hub.temporal.store import ALL_DATASETS, TemporalStore

_MISSING = object()


@dataclass
class Staged:
    """What a temporal provision operation adds to the write it makes through the hub.

    Attributes
    ----------
    tenant, entity_id
        The entity the write is about.
    records
        History instances to add (older instances that do not become the current state).
    forget_entity
        On the entity's deletion, delete its history instead of recording the deletion.
    forget_attrs
        ``(attribute IRI, datasetId or ALL_DATASETS)``: on their deletion, delete their history
        instead of recording it.
    """

    tenant: str
    entity_id: str
    records: list[InstanceRecord] = field(default_factory=list)
    forget_entity: bool = False
    forget_attrs: list[tuple[str, str | None]] = field(default_factory=list)
    applied: bool = False


_STAGED: ContextVar[Staged | None] = ContextVar("cityos_temporal_staged", default=None)


@contextmanager
def staged(stage: Staged) -> Iterator[Staged]:
    """Stage history work for the hub write made inside the block (same thread)."""
    token = _STAGED.set(stage)
    try:
        yield stage
    finally:
        _STAGED.reset(token)


class HistoryRecorder:
    """The plugin that writes the history of every change (registered by
    :func:`cityos.hub.backends.register_builtin_plugins`)."""

    def __init__(self, store: TemporalStore) -> None:
        self.store = store

    @hookimpl
    def hub_before_commit(self, transaction: Any, tenant: str, changes: list[Any]) -> None:
        stage = _STAGED.get()
        if stage is not None and stage.tenant != tenant:
            stage = None
        marks: list[EntityMark] = []
        records: list[InstanceRecord] = []
        times: dict[str, int] = {}
        for change in changes:
            staged_here = (
                stage if stage is not None and stage.entity_id == change.entity_id else None
            )
            if change.after is None:
                if staged_here is not None and staged_here.forget_entity:
                    self.store.delete(transaction, change.entity_id)
                    staged_here.applied = True
                    continue
                deleted_at = to_us(now_iso())
                marks.append(EntityMark(change.entity_id, change.before.types, deleted_at))
                _deletions(change.before, change.before.attrs, deleted_at, records, times)
                continue
            after: Entity = change.after
            marks.append(EntityMark(after.id, after.types))
            forget = staged_here.forget_attrs if staged_here is not None else []
            diff(change.before, after, records, times, forget)
            if staged_here is not None:
                records.extend(staged_here.records)
                for iri, dataset in forget:
                    self.store.delete(transaction, after.id, iri, dataset=dataset)
                staged_here.applied = True
        if marks or records:
            self.store.record(transaction, marks, records)


def diff(
    before: Entity | None,
    after: Entity,
    out: list[InstanceRecord],
    times: dict[str, int],
    forget: Sequence[tuple[str, str | None]] = (),
) -> None:
    """Append to ``out`` the history records of ``before`` -> ``after`` (``times`` caches the
    conversion of repeated timestamps)."""
    modified_at = after.modified_at
    if before is None:  # a new entity: every instance is new, nothing is gone
        entity_id = after.id
        for iri, instances in after.attrs.items():
            for instance in instances:
                out.append(_record(entity_id, iri, instance, modified_at, times))
        return
    old_attrs = before.attrs
    entity_id = after.id
    for iri, instances in after.attrs.items():
        old = old_attrs.get(iri)
        for instance in instances:
            if old:
                if len(old) == 1 and len(instances) == 1:
                    previous = old[0]
                    if previous.get("datasetId") != instance.get("datasetId"):
                        previous = None
                else:
                    dataset = instance.get("datasetId")
                    previous = next((i for i in old if i.get("datasetId") == dataset), None)
                if previous is not None and _same(previous, instance):
                    continue
            out.append(_record(entity_id, iri, instance, modified_at, times))
    gone: dict[str, list[dict[str, Any]]] = {}
    new_attrs = after.attrs
    for iri, instances in old_attrs.items():
        now = new_attrs.get(iri)
        if (
            now
            and len(now) == 1
            and len(instances) == 1
            and now[0].get("datasetId") == instances[0].get("datasetId")
        ):
            continue  # the common case: the same single instance is still there
        for instance in instances:
            dataset = instance.get("datasetId")
            if now and any(i.get("datasetId") == dataset for i in now):
                continue
            if forget and ((iri, dataset) in forget or (iri, ALL_DATASETS) in forget):
                continue
            gone.setdefault(iri, []).append(instance)
    if gone:
        _deletions(after, gone, to_us(modified_at), out, times)


def _deletions(
    entity: Entity,
    attrs: dict[str, list[dict[str, Any]]],
    deleted_at: int,
    out: list[InstanceRecord],
    times: dict[str, int],
) -> None:
    for iri, instances in attrs.items():
        for instance in instances:
            created = _us(instance.get("createdAt") or entity.created_at, times)
            out.append(
                InstanceRecord(
                    entity.id,
                    iri,
                    instance.get("datasetId"),
                    {"type": instance["type"]},
                    None,
                    created,
                    deleted_at,
                    True,
                )
            )


def _record(
    entity_id: str, iri: str, instance: dict[str, Any], modified_at: str, times: dict[str, int]
) -> InstanceRecord:
    get = instance.get
    observed = get("observedAt")
    modified = get("modifiedAt") or modified_at
    created = get("createdAt") or modified
    modified_us = times.get(modified)
    if modified_us is None:
        modified_us = times[modified] = to_us(modified)
    return _new_record(
        (
            entity_id,
            iri,
            get("datasetId"),
            pack(instance),
            None if observed is None else _us(observed, times),
            modified_us if created == modified else _us(created, times),
            modified_us,
            False,
            number_of(get("value")),
        )
    )


def _new_record(fields: tuple[Any, ...]) -> InstanceRecord:
    """An InstanceRecord from all its fields, without the keyword handling of its constructor."""
    return tuple.__new__(InstanceRecord, fields)


def _us(text: str, times: dict[str, int]) -> int:
    found = times.get(text)
    if found is None:
        found = times[text] = to_us(text)
    return found


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two instances have the same content, system timestamps aside."""
    for key, member in new.items():
        if key == "createdAt" or key == "modifiedAt":
            continue
        previous = old.get(key, _MISSING)
        if previous is member:
            continue
        if (
            type(member) is dict
            and type(previous) is dict
            and key != "value"
            and "type" in member
            and "type" in previous
        ):
            if not _same(previous, member):
                return False
        elif previous != member:
            return False
    return all(key in new or key == "createdAt" or key == "modifiedAt" for key in old)
