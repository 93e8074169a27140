"""Subscriptions and the notification outbox (ETSI GS CIM 009 §5.8, §5.11) in PostgreSQL.

Implements :class:`~cityos.hub.subscriptions.store.SubscriptionStore` over the ``subscriptions``
and ``notification_outbox`` tables (schema version 2 of
:mod:`cityos.hub.storage.postgres_schema`). Outbox rows queued by a write go through the write's
own connection, inside its transaction; everything else runs on pooled connections, a
multi-statement change in a transaction of its own.

Documents, @contexts and notification payloads are ``json`` (kept as written). A subscription's
``seq`` and an outbox row's ``seq`` come from identity columns: creation order and per-subscription
delivery order. The writes of one tenant are serialised (:mod:`cityos.hub.storage.postgres`), so a
subscription's outbox rows commit in ``seq`` order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
import psycopg

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
    from cityos.hub.storage.postgres import PostgresStorage

_SUB_FIELDS = (
    "tenant, id, document::text, context::text, created_at, modified_at, times_sent, "
    "times_failed, last_notification, last_success, last_failure, last_failure_reason, "
    "notify_status, dead_letters"
)
_ROW_FIELDS = "seq, tenant, subscription_id, created_at, due_at, attempts, data::text"
_ENQUEUE = (
    "INSERT INTO notification_outbox (tenant, subscription_id, created_at, due_at, data) "
    "SELECT u.tenant, u.sid, u.created, u.due, u.data "
    "FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::json[]) "
    "WITH ORDINALITY AS u(tenant, sid, created, due, data, n) ORDER BY n"
)


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


class PostgresSubscriptionStore:
    """Subscriptions, their delivery statistics and the outbox in the hub database."""

    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage

    # -- subscriptions --------------------------------------------------------------------------
    def insert(self, sub: StoredSubscription) -> None:
        with self._storage.read() as conn:
            try:
                conn.execute(
                    "INSERT INTO subscriptions (tenant, id, document, context, created_at, "
                    "modified_at) VALUES (%s, %s, %s::json, %s::json, %s, %s)",
                    (
                        sub.tenant,
                        sub.id,
                        _dumps(sub.document),
                        _dumps(sub.context) if sub.context is not None else None,
                        sub.created_at,
                        sub.modified_at,
                    ),
                )
            except psycopg.errors.UniqueViolation:
                raise AlreadyExists(
                    f"subscription {sub.id} already exists", instance=sub.id
                ) from None

    def get(self, tenant: str, sub_id: str) -> StoredSubscription | None:
        with self._storage.read() as conn:
            row = conn.execute(
                f"SELECT {_SUB_FIELDS} FROM subscriptions WHERE tenant = %s AND id = %s",
                (tenant, sub_id),
            ).fetchone()
        return _row_subscription(row) if row else None

    def page(self, tenant: str, *, limit: int, offset: int) -> tuple[list[StoredSubscription], int]:
        with self._storage.read() as conn, conn.transaction():
            total = conn.execute(
                "SELECT count(*) FROM subscriptions WHERE tenant = %s", (tenant,)
            ).fetchone()[0]  # type: ignore[index]
            rows = conn.execute(
                f"SELECT {_SUB_FIELDS} FROM subscriptions WHERE tenant = %s "
                "ORDER BY seq LIMIT %s OFFSET %s",
                (tenant, limit, offset),
            ).fetchall()
        return [_row_subscription(r) for r in rows], total

    def all(self) -> list[StoredSubscription]:
        with self._storage.read() as conn:
            rows = conn.execute(f"SELECT {_SUB_FIELDS} FROM subscriptions ORDER BY seq").fetchall()
        return [_row_subscription(r) for r in rows]

    def replace(self, sub: StoredSubscription) -> bool:
        with self._storage.read() as conn:
            cursor = conn.execute(
                "UPDATE subscriptions SET document = %s::json, context = %s::json, "
                "modified_at = %s WHERE tenant = %s AND id = %s",
                (
                    _dumps(sub.document),
                    _dumps(sub.context) if sub.context is not None else None,
                    sub.modified_at,
                    sub.tenant,
                    sub.id,
                ),
            )
            return cursor.rowcount > 0

    def delete(self, tenant: str, sub_id: str) -> bool:
        with self._storage.read() as conn, conn.transaction():
            cursor = conn.execute(
                "DELETE FROM subscriptions WHERE tenant = %s AND id = %s", (tenant, sub_id)
            )
            conn.execute(
                "DELETE FROM notification_outbox WHERE tenant = %s AND subscription_id = %s",
                (tenant, sub_id),
            )
            return cursor.rowcount > 0

    # -- outbox ---------------------------------------------------------------------------------
    def enqueue(self, entries: Sequence[OutboxEntry], transaction: Transaction | None) -> None:
        if not entries:
            return
        columns = (
            [e.tenant for e in entries],
            [e.subscription_id for e in entries],
            [e.created_at for e in entries],
            [float(e.due_at) for e in entries],
            [_dumps(e.data) for e in entries],
        )
        if transaction is not None:
            transaction.conn.execute(_ENQUEUE, columns)
            return
        with self._storage.read() as conn:
            conn.execute(_ENQUEUE, columns)

    def heads(self, now: float, limit: int) -> list[OutboxRow]:
        with self._storage.read() as conn:
            rows = conn.execute(
                f"SELECT {_ROW_FIELDS} FROM (SELECT DISTINCT ON (tenant, subscription_id) * "
                "FROM notification_outbox WHERE state = 'pending' "
                "ORDER BY tenant, subscription_id, seq) AS h "
                "WHERE due_at <= %s ORDER BY due_at, seq LIMIT %s",
                (now, limit),
            ).fetchall()
        return [_row_outbox(r) for r in rows]

    def pending(self, tenant: str, sub_id: str, limit: int) -> list[OutboxRow]:
        with self._storage.read() as conn:
            rows = conn.execute(
                f"SELECT {_ROW_FIELDS} FROM notification_outbox WHERE state = 'pending' "
                "AND tenant = %s AND subscription_id = %s ORDER BY seq LIMIT %s",
                (tenant, sub_id, limit),
            ).fetchall()
        return [_row_outbox(r) for r in rows]

    def delivered(self, tenant: str, sub_id: str, seqs: Sequence[int], at: str) -> None:
        with self._storage.read() as conn, conn.transaction():
            conn.execute(
                "DELETE FROM notification_outbox WHERE seq = ANY(%s::bigint[])", (list(seqs),)
            )
            conn.execute(
                "UPDATE subscriptions SET times_sent = times_sent + 1, last_notification = %s, "
                "last_success = %s, notify_status = 'ok' WHERE tenant = %s AND id = %s",
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
        with self._storage.read() as conn, conn.transaction():
            if retry_at is None:
                conn.execute(
                    "UPDATE notification_outbox SET state = 'dead', attempts = %s, "
                    "last_error = %s WHERE seq = ANY(%s::bigint[])",
                    (attempts, reason, list(seqs)),
                )
            else:
                conn.execute(
                    "UPDATE notification_outbox SET attempts = %s, due_at = %s, last_error = %s "
                    "WHERE seq = ANY(%s::bigint[])",
                    (attempts, retry_at, reason, list(seqs)),
                )
            conn.execute(
                "UPDATE subscriptions SET times_sent = times_sent + 1, "
                "times_failed = times_failed + 1, last_notification = %s, last_failure = %s, "
                "last_failure_reason = %s, notify_status = 'failed', "
                "dead_letters = dead_letters + %s WHERE tenant = %s AND id = %s",
                (at, at, reason, len(seqs) if retry_at is None else 0, tenant, sub_id),
            )

    def discard(self, tenant: str, sub_id: str) -> int:
        with self._storage.read() as conn:
            cursor = conn.execute(
                "DELETE FROM notification_outbox WHERE state = 'pending' AND tenant = %s "
                "AND subscription_id = %s",
                (tenant, sub_id),
            )
            return cursor.rowcount

    def outbox_counts(self, tenant: str, sub_id: str) -> dict[OutboxState, int]:
        counts: dict[OutboxState, int] = {"pending": 0, "dead": 0}
        with self._storage.read() as conn:
            for state, count in conn.execute(
                "SELECT state, count(*) FROM notification_outbox "
                "WHERE tenant = %s AND subscription_id = %s GROUP BY state",
                (tenant, sub_id),
            ):
                counts[state] = count
        return counts
