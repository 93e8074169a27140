"""``Cached`` @contexts: remote documents fetched once and reused for a TTL (GS CIM 009 §5.13.1).

A remote @context is fetched into the :class:`~cityos.hub.context_store.ContextStore` the
first time it is needed and served from there until ``context_cache_ttl_s`` has elapsed since
the fetch. A stale copy is refetched; when that fails the stale copy keeps being used (with a
warning) and the next attempt waits a short retry delay. Concurrent requests for the same URL
share one fetch, and a caller never waits past its own deadline: the fetch runs on a worker
thread and a caller that gives up leaves it to finish (and be stored) in the background.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from cityos.core.errors import InvalidLdContext, LdContextNotAvailable, LdContextTimeout
from cityos.core.logging import get_logger
from cityos.core.timeutil import isoformat, parse_datetime, utcnow
from cityos.hub.context_fetcher import ContextFetcher
from cityos.hub.context_store import CACHED, ContextStore, StoredContext, as_datetime

logger = get_logger("cityos.hub.jsonld_context")

MAX_FETCH_THREADS = 8
MAX_RETRY_DELAY_S = 60.0


class RemoteContextCache:
    """Fetch remote @contexts into a store, with TTL, stale fallback and single-flight fetches.

    Parameters
    ----------
    store
        Where ``Cached`` contexts are kept (keyed by their URL).
    fetcher
        Does the HTTP work (timeout, size and redirect limits).
    ttl_s
        How long a fetched copy is used before it is refetched [s].
    store_lock
        Serialises read-modify-write sequences on the store with the caller's own.
    """

    def __init__(
        self,
        store: ContextStore,
        fetcher: ContextFetcher,
        ttl_s: float,
        store_lock: threading.Lock,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.ttl_s = ttl_s
        self._store_lock = store_lock
        self._inflight: dict[str, Future[StoredContext]] = {}
        self._inflight_lock = threading.RLock()
        self._executor: ThreadPoolExecutor | None = None

    def get(self, url: str, deadline: float) -> StoredContext:
        """The stored copy of ``url``, fetched when missing or stale.

        Parameters
        ----------
        url
            An absolute http(s) URL.
        deadline
            ``time.monotonic()`` instant after which the caller stops waiting.

        Raises
        ------
        LdContextNotAvailable, LdContextTimeout, InvalidLdContext
            The fetch failed and there is no stored copy to fall back on.
        """
        stored = self.store.get_context(url)
        if stored is not None and utcnow() < self.expires_at(stored):
            return stored
        try:
            return self.refresh(url, deadline)
        except (LdContextNotAvailable, InvalidLdContext) as exc:
            if stored is None:
                raise
            logger.warning(
                "refetching @context failed; using the cached copy",
                extra={"url": url, "reason": exc.detail},
            )
            retry_after = utcnow() + timedelta(seconds=max(1.0, min(self.ttl_s, MAX_RETRY_DELAY_S)))
            with self._store_lock:
                current = self.store.get_context(url) or stored
                extra = {**current.extra, "retryAfter": isoformat(retry_after)}
                updated = replace(current, extra={**extra, "lastError": exc.detail})
                self.store.put_context(updated)
            return updated

    def refresh(self, url: str, deadline: float) -> StoredContext:
        """Fetch ``url`` now, joining a fetch of the same URL already under way.

        Raises
        ------
        LdContextTimeout
            The document did not arrive before ``deadline``.
        LdContextNotAvailable, InvalidLdContext
            The fetch failed; any stored copy is left as it was.
        """
        with self._inflight_lock:
            future = self._inflight.get(url)
            if future is None:
                future = self._pool().submit(self._fetch_and_store, url)
                self._inflight[url] = future
                future.add_done_callback(partial(self._forget, url))
        try:
            return future.result(timeout=max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            raise LdContextTimeout(
                f"@context {url} not available: no complete answer within "
                f"{self.fetcher.timeout_s:g} s"
            ) from None

    def expires_at(self, stored: StoredContext) -> datetime:
        """Until when ``stored`` is used without refetching: last fetch + TTL, or retry time."""
        fetched_at = stored.extra.get("fetchedAt")
        fetched = parse_datetime(fetched_at) if fetched_at else as_datetime(stored.created_at)
        deadline = (fetched or utcnow()) + timedelta(seconds=self.ttl_s)
        retry_after = stored.extra.get("retryAfter")
        if retry_after:
            deadline = max(deadline, parse_datetime(retry_after))
        return deadline

    def close(self) -> None:
        """Stop the fetch threads (fetches under way are abandoned)."""
        with self._inflight_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)

    def _fetch_and_store(self, url: str) -> StoredContext:
        fetched = self.fetcher.fetch(url)
        now = utcnow()
        extra: dict[str, Any] = {"fetchedAt": isoformat(now), "documentUrl": fetched.document_url}
        if fetched.content_type:
            extra["contentType"] = fetched.content_type
        with self._store_lock:
            previous = self.store.get_context(url)
            stored = StoredContext(
                id=url,
                url=url,
                kind=CACHED,
                body=fetched.document,
                created_at=previous.created_at if previous else now,
                last_usage=previous.last_usage if previous else None,
                number_of_hits=previous.number_of_hits if previous else 0,
                content_length=fetched.content_length,
                extra=extra,
            )
            self.store.put_context(stored)
        return stored

    def _forget(self, url: str, future: Future[StoredContext]) -> None:
        with self._inflight_lock:
            if self._inflight.get(url) is future:
                del self._inflight[url]

    def _pool(self) -> ThreadPoolExecutor:
        with self._inflight_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=MAX_FETCH_THREADS, thread_name_prefix="cityos-context-fetch"
                )
            return self._executor
