"""Delivering queued notifications over HTTP and MQTT (ETSI GS CIM 009 §5.11, §6.3.5, §7.2).

:class:`NotificationSender` runs one dispatcher thread and a pool of at most
``notify_concurrency`` delivery threads. The dispatcher wakes when a write queued something (or a
timer or ``notify_poll_interval_s`` elapses), asks the store for the due *head* row of each
subscription, and hands each to the pool; a subscription has at most one delivery in flight, so
its notifications arrive in order.

A delivery takes the head and the rows queued behind it (up to ``notify_max_batch`` entities) and
POSTs them as one notification (or publishes it, for an MQTT endpoint: :mod:`.mqtt`). A 2xx
answer (a broker's acknowledgement) deletes the rows and counts a success. Anything else
(another status, a timeout, a refused connection) counts a failure and retries the same rows after
``notify_backoff_base_s * 2**(attempt-1)`` seconds (at most ``notify_backoff_max_s``); after
``notify_max_attempts`` attempts they become dead letters and the next rows get their turn.
Delivery is at-least-once: a crash between the POST and its bookkeeping sends again on restart.

Throttling (§5.2.12 ``throttling``) delays, and coalesces: a subscription is not notified again
before ``throttling`` seconds have passed since its last attempt, and what was queued meanwhile goes
out in one notification holding only the latest state of each entity. Periodic subscriptions
(``timeInterval``) are driven from here too: every interval the matching entities are queried,
queued and delivered like any other notification. Notifications of paused or expired subscriptions
are dropped from the queue.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from cityos.core.errors import CityOSError
from cityos.core.logging import get_logger
from cityos.core.timeutil import now_iso
from cityos.hub.broker import EntityQuery
from cityos.hub.subscriptions.model import Subscription
from cityos.hub.subscriptions.notification import (
    merge_data,
    notification_body,
    notification_headers,
    render_data,
)
from cityos.hub.subscriptions.store import OutboxEntry, OutboxRow

if TYPE_CHECKING:
    from cityos.hub.subscriptions.service import SubscriptionService

log = get_logger(__name__)

Key = tuple[str, str]


class NotificationSender:
    """Background delivery of the outbox; :meth:`start` and :meth:`stop` it around its use.

    Parameters
    ----------
    service
        The subscription service whose store, index and settings are used.
    client
        HTTP client for the POSTs; one is created (and closed on :meth:`stop`) when omitted.
    """

    def __init__(self, service: SubscriptionService, *, client: httpx.Client | None = None) -> None:
        settings = service.hub.settings
        self.service = service
        self.concurrency = settings.notify_concurrency
        self.timeout_s = settings.notify_timeout_s
        self.max_attempts = settings.notify_max_attempts
        self.backoff_base_s = settings.notify_backoff_base_s
        self.backoff_max_s = settings.notify_backoff_max_s
        self.poll_interval_s = settings.notify_poll_interval_s
        self.max_batch = settings.notify_max_batch
        self._given_client = client
        self._client: httpx.Client | None = None
        self._mqtt: Any = None  # MqttPublisher, created on the first MQTT notification
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._inflight: set[Key] = set()
        self._last_attempt: dict[Key, float] = {}
        self._next_periodic: dict[Key, float] = {}
        self._timers: list[float] = []
        self._timer_set: set[float] = set()

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the dispatcher thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start delivering; False if already running (or the backend has no outbox)."""
        if self.running or self.service.store is None:
            return False
        self._stopping.clear()
        self._client = self._given_client or httpx.Client(
            timeout=self.timeout_s,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=self.concurrency),
        )
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="cityos-notify")
        self._thread = threading.Thread(
            target=self._run, name="cityos-notify-dispatch", daemon=True
        )
        self._thread.start()
        log.info("notification sender started", extra={"concurrency": self.concurrency})
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop dispatching and wait for the deliveries in flight (each bounded by its timeout)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self._wake.set()
        thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._client is not None and self._given_client is None:
            self._client.close()
        if self._mqtt is not None:
            self._mqtt.close()
            self._mqtt = None
        self._thread = self._pool = self._client = None

    def wake(self) -> None:
        """Look at the outbox now (called after a write queued notifications)."""
        self._wake.set()

    def forget(self, key: Key) -> None:
        """Drop the throttling and timer state of a subscription that changed or was deleted."""
        self._last_attempt.pop(key, None)
        self._next_periodic.pop(key, None)
        self.wake()

    def backoff_s(self, attempts: int) -> float:
        """Delay before retry number ``attempts`` (1 for the first retry) [s]."""
        return float(min(self.backoff_base_s * 2 ** (attempts - 1), self.backoff_max_s))

    # -- dispatching ----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._wait_time())
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self._tick(time.time())
            except Exception:
                log.exception("notification dispatch failed")
                self._stopping.wait(self.poll_interval_s)

    def _timer(self, at: float) -> None:
        """Wake the dispatcher at ``at`` (a Unix time); each instant is kept once."""
        with self._lock:
            if at not in self._timer_set:
                self._timer_set.add(at)
                heapq.heappush(self._timers, at)

    def _wait_time(self) -> float:
        now = time.time()
        with self._lock:
            due = False
            while self._timers and self._timers[0] <= now:
                self._timer_set.discard(heapq.heappop(self._timers))
                due = True
            if due:
                return 0.0
            if self._timers:
                return max(0.0, min(self.poll_interval_s, self._timers[0] - now))
        return self.poll_interval_s

    def _tick(self, now_wall: float) -> None:
        now = now_iso()
        self._run_periodic(now_wall, now)
        store = self.service.store
        assert store is not None and self._pool is not None
        with self._lock:
            busy = set(self._inflight)
        free = self.concurrency - len(busy)
        if free <= 0:
            return
        for row in store.heads(now_wall, free + len(busy) + 32):
            if free <= 0:
                break
            key = (row.tenant, row.subscription_id)
            if key in busy:
                continue
            sub = self.service.index.get(*key) or self.service.refresh(*key)
            if sub is None or not sub.live(now):
                dropped = store.discard(*key)
                log.info(
                    "dropped queued notifications", extra={"subscription": key[1], "n": dropped}
                )
                continue
            if sub.throttling:
                release = self._last_attempt.get(key, 0.0) + sub.throttling
                if release > now_wall:
                    self._timer(release)
                    continue
            with self._lock:
                self._inflight.add(key)
            busy.add(key)
            free -= 1
            self._pool.submit(self._deliver, sub, row)

    # -- one delivery ---------------------------------------------------------------------------
    def _deliver(self, sub: Subscription, head: OutboxRow) -> None:
        key = sub.key
        store = self.service.store
        assert store is not None
        try:
            rows = list(self._batch(sub, head))
            if not rows:
                return
            data = merge_data([r.data for r in rows], latest_only=sub.throttling > 0)
            body = notification_body(sub, data, now_iso())
            ok, reason = self._post(sub, body) if sub.http_endpoint else self._publish(sub, body)
            at = now_iso()
            self._last_attempt[key] = time.time()
            seqs = [r.seq for r in rows]
            if ok:
                store.delivered(sub.tenant, sub.id, seqs, at)
                return
            attempts = head.attempts + 1
            retry_at = None
            if attempts < self.max_attempts:
                retry_at = time.time() + self.backoff_s(attempts)
                self._timer(retry_at)
            else:
                log.warning(
                    "notification dead-lettered",
                    extra={"subscription": sub.id, "attempts": attempts, "reason": reason},
                )
            store.failed(
                sub.tenant, sub.id, seqs, at=at, reason=reason, attempts=attempts, retry_at=retry_at
            )
        except Exception:
            log.exception(
                "notification delivery failed unexpectedly", extra={"subscription": sub.id}
            )
        finally:
            with self._lock:
                self._inflight.discard(key)
            self.wake()

    def _batch(self, sub: Subscription, head: OutboxRow) -> Iterator[OutboxRow]:
        """The head and the rows behind it, up to ``notify_max_batch`` entities (head always)."""
        store = self.service.store
        assert store is not None
        total = 0
        for row in store.pending(sub.tenant, sub.id, self.max_batch):
            if total and total + len(row.data) > self.max_batch:
                return
            total += len(row.data)
            yield row

    def _timeout(self, sub: Subscription) -> float:
        """The subscription's ``endpoint.timeout`` when shorter than the sender's, else that."""
        return min(sub.timeout_s, self.timeout_s) if sub.timeout_s else self.timeout_s

    def _publish(self, sub: Subscription, body: dict[str, object]) -> tuple[bool, str]:
        """Publish a notification to an MQTT endpoint (:mod:`.mqtt`)."""
        timeout = self._timeout(sub)
        with self._lock:
            if self._mqtt is None:
                from cityos.hub.subscriptions.mqtt import MqttPublisher

                self._mqtt = MqttPublisher()
            publisher = self._mqtt
        return publisher.publish(sub, body, timeout)

    def _post(self, sub: Subscription, body: dict[str, object]) -> tuple[bool, str]:
        """POST a notification; whether the receiver answered 2xx, and why not."""
        assert self._client is not None
        timeout = self._timeout(sub)
        try:
            with self._client.stream(
                "POST",
                sub.uri,
                content=orjson.dumps(body),
                headers=notification_headers(sub),
                timeout=timeout,
            ) as response:
                status = response.status_code
        except httpx.TimeoutException:
            return False, f"no answer within {timeout:g} s"
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        if 200 <= status < 300:
            return True, ""
        return False, f"HTTP status {status}"

    # -- periodic subscriptions (timeInterval) --------------------------------------------------
    def _run_periodic(self, now_wall: float, now: str) -> None:
        for sub in self.service.index.periodic():
            if not sub.live(now):
                continue
            key = sub.key
            due = self._next_periodic.get(key, 0.0)
            if due > now_wall:
                self._timer(due)
                continue
            assert sub.time_interval is not None
            following = now_wall + sub.time_interval
            self._next_periodic[key] = following
            self._timer(following)
            try:
                self._queue_matching(sub, now)
            except CityOSError as exc:
                log.debug("periodic notification skipped", extra={"detail": exc.detail})

    def _queue_matching(self, sub: Subscription, now: str) -> None:
        """Query the entities the subscription selects and queue them as notifications."""
        hub = self.service.hub
        page_size = min(self.max_batch, hub.settings.max_limit)
        entries: list[OutboxEntry] = []
        offset = 0
        while True:
            query = EntityQuery(
                entities=sub.document["entities"],
                q=sub.document.get("q"),
                geo=sub.geo,
                limit=page_size,
                offset=offset,
            )
            page = hub.query_entities(query, sub.ctx, sub.tenant)
            if page.entities:
                data = render_data(sub, [("update", e) for e in page.entities], now)
                entries.append(OutboxEntry(sub.tenant, sub.id, now, time.time(), data))
            if len(page.entities) < page_size:
                break
            offset += page_size
        if not entries:
            return
        store = self.service.store
        if store is not None:
            store.enqueue(entries, None)
        if self.service.broadcaster.has_listeners(sub.key):
            for entry in entries:
                self.service.broadcaster.publish(sub.key, notification_body(sub, entry.data, now))
