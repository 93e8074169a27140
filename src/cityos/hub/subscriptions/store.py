"""The storage protocol of subscriptions and of the notification outbox.

A backend keeps, per tenant, each subscription as the client wrote it (ETSI GS CIM 009 §5.2.12)
with the @context its names are expanded with, the delivery statistics the sender keeps
(§5.2.14: ``timesSent``, ``lastSuccess``...), and the *outbox*: the notifications that matched a
write and wait to be delivered. Outbox rows are written inside the entity write transaction
(:meth:`SubscriptionStore.enqueue` with the :class:`~cityos.hub.storage.base.Transaction`), so a
change that rolls back never notifies and a change that commits is never lost.

Delivery order is per subscription: the sender only ever looks at the oldest pending row of a
subscription (its *head*) and deletes rows once delivered, or marks them ``dead`` after the last
attempt. The SQLite implementation is :mod:`cityos.hub.storage.sqlite_subscriptions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from cityos.hub.storage.base import Transaction

#: Outbox row states: waiting (or being retried), or given up after the last attempt.
OutboxState = Literal["pending", "dead"]


@dataclass
class DeliveryStats:
    """What the sender recorded about a subscription's notifications (§5.2.14).

    Attributes
    ----------
    times_sent
        Delivery attempts made (successful or not).
    times_failed
        Attempts that failed (no 2xx answer, timeout, connection error).
    last_notification, last_success, last_failure
        ISO 8601 instants of the last attempt, success and failure.
    last_failure_reason
        Why the last failed attempt failed (CityOS extension).
    status
        ``"ok"`` if the last attempt succeeded, ``"failed"`` if it failed, None before any.
    dead_letters
        Outbox rows given up after the last retry (CityOS extension).
    """

    times_sent: int = 0
    times_failed: int = 0
    last_notification: str | None = None
    last_success: str | None = None
    last_failure: str | None = None
    last_failure_reason: str | None = None
    status: str | None = None
    dead_letters: int = 0


@dataclass
class StoredSubscription:
    """A subscription as stored.

    Attributes
    ----------
    tenant, id
        Where it lives and its URI.
    document
        The validated members as the client wrote them (names not expanded), without the
        read-only ones; ``id`` and ``type`` included.
    context
        The @context value (URL, object, array) the names are expanded with; None is the core.
    created_at, modified_at
        ISO 8601 instants.
    stats
        Delivery statistics.
    """

    tenant: str
    id: str
    document: dict[str, Any]
    context: Any
    created_at: str
    modified_at: str
    stats: DeliveryStats = field(default_factory=DeliveryStats)


@dataclass
class OutboxEntry:
    """A notification to queue: the rendered entities one write matched for one subscription.

    ``due_at`` is a Unix time [s]; ``data`` is the JSON-ready array of the notification.
    """

    tenant: str
    subscription_id: str
    created_at: str
    due_at: float
    data: list[dict[str, Any]]


@dataclass
class OutboxRow:
    """A queued notification as read back by the sender (``seq`` orders a subscription's rows)."""

    seq: int
    tenant: str
    subscription_id: str
    created_at: str
    due_at: float
    attempts: int
    data: list[dict[str, Any]]


class SubscriptionStore(Protocol):
    """Subscriptions and their outbox in one backend. Every method is thread-safe."""

    # -- subscriptions --------------------------------------------------------------------------
    def insert(self, sub: StoredSubscription) -> None:
        """Store a new subscription; AlreadyExists if its id is taken in its tenant."""
        ...

    def get(self, tenant: str, sub_id: str) -> StoredSubscription | None:
        """One subscription with its statistics."""
        ...

    def page(self, tenant: str, *, limit: int, offset: int) -> tuple[list[StoredSubscription], int]:
        """Subscriptions of a tenant in creation order, and how many there are."""
        ...

    def all(self) -> list[StoredSubscription]:
        """Every subscription of every tenant (to build the in-memory matching index)."""
        ...

    def replace(self, sub: StoredSubscription) -> bool:
        """Replace document, context and ``modified_at`` (statistics stay); whether it existed."""
        ...

    def delete(self, tenant: str, sub_id: str) -> bool:
        """Delete a subscription and its outbox rows; whether it existed."""
        ...

    # -- outbox ---------------------------------------------------------------------------------
    def enqueue(self, entries: Sequence[OutboxEntry], transaction: Transaction | None) -> None:
        """Queue notifications, inside ``transaction`` when given (else in a write of its own)."""
        ...

    def heads(self, now: float, limit: int) -> list[OutboxRow]:
        """The oldest pending row of each subscription, when it is due (``due_at <= now``),
        earliest due first."""
        ...

    def pending(self, tenant: str, sub_id: str, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` pending rows of one subscription, oldest first."""
        ...

    def delivered(self, tenant: str, sub_id: str, seqs: Sequence[int], at: str) -> None:
        """Delete delivered rows and count a successful attempt."""
        ...

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
        """Count a failed attempt on rows ``seqs``: they are retried at ``retry_at`` with
        ``attempts`` recorded, or become dead letters when ``retry_at`` is None."""
        ...

    def discard(self, tenant: str, sub_id: str) -> int:
        """Delete the pending rows of a subscription (paused, expired or gone); how many."""
        ...

    def outbox_counts(self, tenant: str, sub_id: str) -> dict[OutboxState, int]:
        """How many rows of a subscription are pending and dead."""
        ...
