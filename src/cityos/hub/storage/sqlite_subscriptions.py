"""Subscriptions and the notification outbox (ETSI GS CIM 009 §5.8, §5.11) in the SQLite backend.

Implements :class:`~cityos.hub.subscriptions.store.SubscriptionStore` over the ``subscriptions``
and ``notification_outbox`` tables (schema version 2). Outbox rows queued by a write go through
the write's own connection, inside its transaction; everything else takes the storage's writer or
a reader like the other sub-stores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from cityos.core.errors import AlreadyExists
from cityos.hub.storage.base import Transaction
from cityos.hub.subscriptions.store import (
    DeliveryStats,
    OutboxEntry,
    OutboxRow,
    OutboxState,
    StoredSubscription,
)

if TYPE_CHECKING:
    from cityos.hub.storage.sqlite import SQLiteStorage

_SUB_FIELDS = (
    "tenant, id, document, context, created_at, modified_at, times_sent, times_failed, "
    "last_notification, last_success, last_failure, last_failure_reason, notify_status, "
    "dead_letters"
)
_ROW_FIELDS = "seq, tenant, subscription_id, created_at, due_at, attempts, data"


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _row_subscription(row: tuple[Any, ...]) -> StoredSubscription:
    tenant, sid, document, context, created, modified, *stats = row
    return StoredSubscription(
        tenant=tenant,
        id=sid,
        document=orjson.loads(document),
        context=orjson.loads(context) if context is not None else None,
        created_at=created,
        modified_at=modified,
        stats=DeliveryStats(*stats),
    )


def _row_outbox(row: tuple[Any, ...]) -> OutboxRow:
    seq, tenant, sid, created, due, attempts, data = row
    return OutboxRow(seq, tenant, sid, created, due, attempts, orjson.loads(data))


class SQLiteSubscriptionStore:
    """Subscriptions, their delivery statistics and the outbox in the hub database."""

    def __init__(self, storage: SQLiteStorage) -> None:
        self._storage = storage

    # -- subscriptions --------------------------------------------------------------------------
    def insert(self, sub: StoredSubscription) -> None:
        with self._storage.write() as conn:
            try:
                conn.execute(
                    "INSERT INTO subscriptions(tenant, id, document, context, created_at, "
                    "modified_at) VALUES (?,?,?,?,?,?)",
                    (
                        sub.tenant,
                        sub.id,
                        _dumps(sub.document),
                        _dumps(sub.context) if sub.context is not None else None,
                        sub.created_at,
                        sub.modified_at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    f"subscription {sub.id} already exists", instance=sub.id
                ) from None

    def get(self, tenant: str, sub_id: str) -> StoredSubscription | None:
        with self._storage.read() as conn:
            row = conn.execute(
                f"SELECT {_SUB_FIELDS} FROM subscriptions WHERE tenant = ? AND id = ?",
                (tenant, sub_id),
            ).fetchone()
        return _row_subscription(row) if row else None

    def page(self, tenant: str, *, limit: int, offset: int) -> tuple[list[StoredSubscription], int]:
        with self._storage.read() as conn:
            total = conn.execute(
                "SELECT count(*) FROM subscriptions WHERE tenant = ?", (tenant,)
            ).fetchone()[0]
            rows = conn.execute(
                f"SELECT {_SUB_FIELDS} FROM subscriptions WHERE tenant = ? "
                "ORDER BY rowid LIMIT ? OFFSET ?",
                (tenant, limit, offset),
            ).fetchall()
        return [_row_subscription(r) for r in rows], total

    def all(self) -> list[StoredSubscription]:
        with self._storage.read() as conn:
            rows = conn.execute(
                f"SELECT {_SUB_FIELDS} FROM subscriptions ORDER BY rowid"
            ).fetchall()
        return [_row_subscription(r) for r in rows]

    def replace(self, sub: StoredSubscription) -> bool:
        with self._storage.write() as conn:
            cur = conn.execute(
                "UPDATE subscriptions SET document = ?, context = ?, modified_at = ? "
                "WHERE tenant = ? AND id = ?",
                (
                    _dumps(sub.document),
                    _dumps(sub.context) if sub.context is not None else None,
                    sub.modified_at,
                    sub.tenant,
                    sub.id,
                ),
            )
            return cur.rowcount > 0

    def delete(self, tenant: str, sub_id: str) -> bool:
        with self._storage.write() as conn:
            cur = conn.execute(
                "DELETE FROM subscriptions WHERE tenant = ? AND id = ?", (tenant, sub_id)
            )
            conn.execute(
                "DELETE FROM notification_outbox WHERE tenant = ? AND subscription_id = ?",
                (tenant, sub_id),
            )
            return cur.rowcount > 0

    # -- outbox ---------------------------------------------------------------------------------
    def enqueue(self, entries: Sequence[OutboxEntry], transaction: Transaction | None) -> None:
        if not entries:
            return
        rows = [
            (e.tenant, e.subscription_id, e.created_at, e.due_at, _dumps(e.data)) for e in entries
        ]
        sql = (
            "INSERT INTO notification_outbox(tenant, subscription_id, created_at, due_at, data) "
            "VALUES (?,?,?,?,?)"
        )
        if transaction is not None:
            transaction.conn.executemany(sql, rows)
            return
        with self._storage.write() as conn:
            conn.executemany(sql, rows)

    def heads(self, now: float, limit: int) -> list[OutboxRow]:
        with self._storage.read() as conn:
            rows = conn.execute(
                f"SELECT {', '.join('o.' + f for f in _ROW_FIELDS.split(', '))} "
                "FROM notification_outbox o JOIN ("
                "  SELECT min(seq) AS seq FROM notification_outbox WHERE state = 'pending' "
                "  GROUP BY tenant, subscription_id"
                ") h ON o.seq = h.seq WHERE o.due_at <= ? ORDER BY o.due_at, o.seq LIMIT ?",
                (now, limit),
            ).fetchall()
        return [_row_outbox(r) for r in rows]

    def pending(self, tenant: str, sub_id: str, limit: int) -> list[OutboxRow]:
        with self._storage.read() as conn:
            rows = conn.execute(
                f"SELECT {_ROW_FIELDS} FROM notification_outbox WHERE state = 'pending' "
                "AND tenant = ? AND subscription_id = ? ORDER BY seq LIMIT ?",
                (tenant, sub_id, limit),
            ).fetchall()
        return [_row_outbox(r) for r in rows]

    def delivered(self, tenant: str, sub_id: str, seqs: Sequence[int], at: str) -> None:
        with self._storage.write() as conn:
            conn.executemany("DELETE FROM notification_outbox WHERE seq = ?", [(s,) for s in seqs])
            conn.execute(
                "UPDATE subscriptions SET times_sent = times_sent + 1, last_notification = ?, "
                "last_success = ?, notify_status = 'ok' WHERE tenant = ? AND id = ?",
                (at, at, tenant, sub_id),
            )

    def failed(
        self,
        tenant: str,
        sub_id: str,
        seqs: Sequence[int],
        *,
        at: str,
        reason: str,
        attempts: int,
        retry_at: float | None,
    ) -> None:
        with self._storage.write() as conn:
            if retry_at is None:
                conn.executemany(
                    "UPDATE notification_outbox SET state = 'dead', attempts = ?, last_error = ? "
                    "WHERE seq = ?",
                    [(attempts, reason, s) for s in seqs],
                )
            else:
                conn.executemany(
                    "UPDATE notification_outbox SET attempts = ?, due_at = ?, last_error = ? "
                    "WHERE seq = ?",
                    [(attempts, retry_at, reason, s) for s in seqs],
                )
            conn.execute(
                "UPDATE subscriptions SET times_sent = times_sent + 1, "
                "times_failed = times_failed + 1, last_notification = ?, last_failure = ?, "
                "last_failure_reason = ?, notify_status = 'failed', "
                "dead_letters = dead_letters + ? WHERE tenant = ? AND id = ?",
                (at, at, reason, len(seqs) if retry_at is None else 0, tenant, sub_id),
            )

    def discard(self, tenant: str, sub_id: str) -> int:
        with self._storage.write() as conn:
            cur = conn.execute(
                "DELETE FROM notification_outbox WHERE state = 'pending' AND tenant = ? "
                "AND subscription_id = ?",
                (tenant, sub_id),
            )
            return cur.rowcount

    def outbox_counts(self, tenant: str, sub_id: str) -> dict[OutboxState, int]:
        counts: dict[OutboxState, int] = {"pending": 0, "dead": 0}
        with self._storage.read() as conn:
            for state, count in conn.execute(
                "SELECT state, count(*) FROM notification_outbox "
                "WHERE tenant = ? AND subscription_id = ? GROUP BY state",
                (tenant, sub_id),
            ):
                counts[state] = count
        return counts
