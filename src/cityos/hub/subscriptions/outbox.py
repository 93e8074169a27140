"""The durable notification outbox: matching inside every write transaction (§5.11).

:class:`NotificationOutbox` is the built-in ``cityos.hub`` plugin behind subscriptions. On
``hub_before_commit`` it matches the write's changes against the tenant's subscriptions
(:mod:`~cityos.hub.subscriptions.matching`), renders the notification data with each
subscription's @context and options, and queues one outbox row per notified subscription through
the write's own transaction: the row commits, or rolls back, with the change. On
``hub_after_commit`` it wakes the sender and feeds the SSE streams. A write therefore never waits
for a receiver; it only inserts a row per matching subscription.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cityos.core.timeutil import now_iso
from cityos.hub.hookspecs import hookimpl
from cityos.hub.model import Entity
from cityos.hub.subscriptions.matching import Matched, match_changes
from cityos.hub.subscriptions.notification import notification_body, render_data
from cityos.hub.subscriptions.store import OutboxEntry

if TYPE_CHECKING:
    from cityos.hub.subscriptions.service import SubscriptionService


@dataclass
class _Committed:
    """What a write queued, acted upon once it commits."""

    wake: bool
    streams: list[tuple[tuple[str, str], dict[str, Any]]]


class NotificationOutbox:
    """The hub plugin that turns committed changes into queued notifications."""

    def __init__(self, service: SubscriptionService) -> None:
        self.service = service
        self._local = threading.local()

    @hookimpl
    def hub_before_commit(self, transaction: Any, tenant: str, changes: list[Any]) -> None:
        """Match, render and queue, inside the write transaction."""
        self._local.committed = None
        index = self.service.index.tenant(tenant)
        if index is None or not index.change_driven:
            return
        now = now_iso()
        matched = match_changes(index, changes, now)
        if not matched:
            return
        self._filter(matched, tenant)
        entries: list[OutboxEntry] = []
        streams: list[tuple[tuple[str, str], dict[str, Any]]] = []
        broadcaster = self.service.broadcaster
        due = time.time()
        for entry in matched:
            if not entry.items:
                continue
            sub = entry.sub
            data = render_data(sub, entry.items, now)
            if self.service.deliverable(sub):
                entries.append(OutboxEntry(tenant, sub.id, now, due, data))
            if broadcaster.has_listeners(sub.key):
                streams.append((sub.key, notification_body(sub, data, now)))
        store = self.service.store
        if entries and store is not None:
            store.enqueue(entries, transaction)
        self._local.committed = _Committed(bool(entries), streams)

    @hookimpl
    def hub_after_commit(self, tenant: str, changes: list[Any]) -> None:
        """Wake the sender and feed the SSE streams for what the committed write queued."""
        committed: _Committed | None = getattr(self._local, "committed", None)
        if committed is None:
            return
        self._local.committed = None
        if committed.wake:
            self.service.sender.wake()
        for key, notification in committed.streams:
            self.service.broadcaster.publish(key, notification)

    def _filter(self, matched: list[Matched], tenant: str) -> None:
        """Pass the notified entities through ``hub_filter_entities`` (purpose
        ``notification``), as every read does; an entity a filter removes is not notified."""
        impls = self.service.hub.plugins.hook.hub_filter_entities.get_hookimpls()
        if not impls:
            return
        originals: dict[int, Entity] = {}
        for entry in matched:
            for _, entity in entry.items:
                originals.setdefault(id(entity), entity)
        rank: dict[int, int] = {}
        seen: dict[str, int] = {}
        for key, entity in originals.items():
            rank[key] = seen.get(entity.id, 0)
            seen[entity.id] = rank[key] + 1
        entities = list(originals.values())
        for impl in impls:
            replaced = impl.function(entities=entities, tenant=tenant, purpose="notification")
            if replaced is not None:
                entities = replaced
        kept: dict[str, list[Entity]] = {}
        for entity in entities:
            kept.setdefault(entity.id, []).append(entity)
        for entry in matched:
            items = []
            for kind, entity in entry.items:
                versions = kept.get(entity.id, [])
                if rank[id(entity)] < len(versions):
                    items.append((kind, versions[rank[id(entity)]]))
            entry.items = items
