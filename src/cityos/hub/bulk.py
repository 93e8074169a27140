"""Bulk upsert: any number of entities written in one storage transaction, all or none.

The NGSI-LD batch operations (ETSI GS CIM 009 §5.6.7-§5.6.9) let each entity succeed or fail on
its own and are capped at ``max_batch_entities``; loading a whole city (tens of thousands of
entities) through them spans many transactions, so a failure part-way would leave part of it
written. :func:`bulk_upsert` instead

1. parses every entity first (nothing is opened on a bad one, and a repeated id is refused),
2. opens **one** write transaction of the backend (SQLite ``BEGIN IMMEDIATE``; PostgreSQL one
   connection holding the tenant's write lock), stages the entities chunk by chunk with the
   ``hub_validate_entity`` hooks, and runs ``hub_before_commit`` once for all changes, so the
   temporal history and the notification outbox commit or roll back with the entities,
3. commits, then runs ``hub_after_commit``.

Any error in between — a refused entity, a storage error, Ctrl-C — rolls the transaction back:
entities, their history, the outbox and even a tenant the load would have created stay as they
were. Other writers of the tenant wait for the load (it holds the write lock throughout).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cityos.core.errors import BadRequestData, CityOSError
from cityos.core.timeutil import now_iso
from cityos.hub.model import Entity, parse_entity

if TYPE_CHECKING:
    from cityos.hub.broker import BatchResult, Change, Hub
    from cityos.hub.jsonld_context import ActiveContext

#: Entities staged per storage call inside the transaction.
CHUNK_SIZE = 2000

BulkProgress = Callable[[int, int], None]


class _Refused(Exception):
    """Raised inside the transaction to roll it back when a plugin refused an entity."""


def bulk_upsert(
    hub: Hub,
    bodies: Sequence[Any],
    ctx: ActiveContext,
    tenant: str,
    *,
    chunk_size: int = CHUNK_SIZE,
    progress: BulkProgress | None = None,
) -> BatchResult:
    """Create or replace every entity of ``bodies`` in one transaction (see the module doc).

    Returns a :class:`~cityos.hub.broker.BatchResult`: on success every id is in ``success`` (and
    the new ones in ``created``); if any entity is invalid or refused, ``errors`` lists them and
    nothing was written. Storage errors and interruptions propagate after the rollback.
    ``progress`` is called with (entities staged, total) after each chunk and once committed.
    """
    from cityos.hub.broker import BatchResult, Change

    if isinstance(bodies, (str, bytes, dict)) or not isinstance(bodies, Sequence):
        raise BadRequestData("a bulk upsert takes a sequence of entities")
    result = BatchResult()
    now = now_iso()
    contexts: dict[bytes, ActiveContext] = {}
    parsed: list[Entity] = []
    seen: set[str] = set()
    for body in bodies:
        try:
            entity_ctx = hub._entity_context(body, ctx, contexts)
            entity = parse_entity(body, entity_ctx.expand_term, now=now)
        except CityOSError as exc:
            eid = body.get("id") if isinstance(body, dict) else None
            result.errors.append((eid if isinstance(eid, str) else "", exc))
            continue
        if entity.id in seen:
            result.errors.append((entity.id, BadRequestData(f"entity {entity.id} is repeated")))
            continue
        seen.add(entity.id)
        parsed.append(entity)
    if result.errors or not parsed:
        return result
    total = len(parsed)
    chunk_size = max(1, chunk_size)
    changes: list[Change] = []
    try:
        with hub.storage.transaction(tenant) as tx:
            for start in range(0, total, chunk_size):
                part = parsed[start : start + chunk_size]
                existing = tx.get(e.id for e in part)
                new: list[Entity] = []
                replaced: list[Entity] = []
                for entity in part:
                    old = existing.get(entity.id)
                    if old is not None:
                        entity.created_at = old.created_at
                    try:
                        hub._validate(entity, tenant, "upsert")
                    except CityOSError as exc:
                        result.errors.append((entity.id, exc))
                        continue
                    (new if old is None else replaced).append(entity)
                if result.errors:
                    raise _Refused
                tx.insert(new)
                tx.update(replaced)
                changes += [Change("create", e.id, None, e) for e in new]
                changes += [Change("update", e.id, existing[e.id], e) for e in replaced]
                if progress:
                    progress(min(start + chunk_size, total), total)
            hub._before_commit(tx, tenant, changes)
    except _Refused:
        return result
    result.success = [e.id for e in parsed]
    result.created = [c.entity_id for c in changes if c.kind == "create"]
    hub._committed(tenant, changes)
    return result
