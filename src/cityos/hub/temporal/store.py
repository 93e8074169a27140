"""The protocol a storage backend implements to keep the history (the temporal store).

A backend attaches its store as ``storage.temporal`` (:mod:`cityos.hub.storage.sqlite_temporal`
for SQLite). Writes happen inside the hub's entity transactions (the backend's
:class:`~cityos.hub.storage.base.Transaction`), so history commits, or rolls back, with the change
it records; reads and :meth:`TemporalStore.purge` use the store's own connections.

An instance is addressed by ``(entity id, attribute IRI)`` — a *key* — and its datasetId; every
stored instance gets a unique integer ``instance_id`` (rendered as ``urn:ngsi-ld:Instance:<n>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from cityos.hub.temporal.aggregation import BucketPlan
from cityos.hub.temporal.records import (
    AggregateRow,
    EntityMark,
    HistoryEntity,
    InstanceRecord,
    StoredInstance,
    TimeWindow,
)

Key = tuple[str, str]
#: ``dataset`` argument of :meth:`TemporalStore.delete` meaning "every datasetId".
ALL_DATASETS = "*"


class TemporalStore(Protocol):
    """Keeps the history of attribute instances per tenant."""

    def record(
        self, tx: Any, marks: Sequence[EntityMark], records: Sequence[InstanceRecord]
    ) -> None:
        """Write entity marks and instances in the open transaction ``tx``.

        Every entity named by a record must have a mark; a mark replaces the entity's types and
        deletion time in the history's registry of entities.
        """
        ...

    def entities(
        self, tenant: str, ids: Iterable[str] | None = None, *, deleted_only: bool = False
    ) -> dict[str, HistoryEntity]:
        """Entities known to the history, by id (all of the tenant's when ``ids`` is None, in
        the order they were first recorded), or only those deleted since."""
        ...

    def attributes(self, tenant: str, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        """Entity id -> IRIs of the attributes that have history."""
        ...

    def instances(
        self,
        tenant: str,
        keys: Sequence[Key],
        window: TimeWindow,
        *,
        limit: int | None,
        newest_first: bool = False,
    ) -> dict[Key, list[StoredInstance]]:
        """Instances in ``window`` per key (all datasetIds together), ordered by the window's
        time property (then by instance id), oldest first unless ``newest_first``; at most
        ``limit`` per key."""
        ...

    def time_range(
        self, tenant: str, keys: Sequence[Key], window: TimeWindow
    ) -> tuple[int | None, int | None]:
        """The oldest and newest instants of the instances in ``window`` over all ``keys``."""
        ...

    def aggregate(
        self,
        tenant: str,
        keys: Sequence[Key],
        window: TimeWindow,
        plan: BucketPlan,
        methods: Sequence[str],
        *,
        limit: int | None,
        newest_first: bool = False,
    ) -> dict[Key, list[AggregateRow]]:
        """Aggregate the non-deleted instances in ``window`` per key, datasetId and period of
        ``plan``: ``totalCount``, ``distinctCount``, ``sum``, ``avg``, ``min``, ``max``,
        ``sumsq``, and for ``stddev`` the sample variance. At most ``limit`` rows per key,
        ordered by period (the latest first if ``newest_first``)."""
        ...

    def replace_instance(
        self,
        tx: Any,
        entity_id: str,
        attr: str,
        instance_id: int,
        body: dict[str, Any],
        observed: int | None,
        modified: int,
        number: int | float | None,
    ) -> bool:
        """Replace the content of one stored (non-deleted) instance in ``tx.tenant``; ``observed``
        None keeps its ``observedAt``. Whether the instance exists."""
        ...

    def delete(
        self,
        tx: Any,
        entity_id: str,
        attr: str | None = None,
        *,
        dataset: str | None = ALL_DATASETS,
        instance_id: int | None = None,
    ) -> int:
        """Delete history in ``tx.tenant``: one instance, the instances of one attribute (one
        datasetId, None for the default instance, or :data:`ALL_DATASETS`), or the whole entity
        with its registry entry. Returns how many instances went."""
        ...

    def purge(self, tenant: str, before: int) -> int:
        """Delete the instances recorded (``modifiedAt``) before ``before`` [µs], in short
        transactions, and forget deleted entities left without history. Returns the count."""
        ...
