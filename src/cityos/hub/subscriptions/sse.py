"""Server-Sent Events of a subscription's notifications (a CityOS extension, for web pages).

``GET /ngsi-ld/v1/subscriptions/{id}/notifications/stream`` answers ``text/event-stream``: one
``notification`` event per notification, as soon as the write that produced it commits (not when,
or whether, the endpoint accepts it; throttling does not apply), and a ``: keep-alive`` comment
when nothing happened for a while. The fan-out is in-process: :class:`Broadcaster` hands each
notification to the queue of every open stream of that subscription; a stream that falls behind
loses its oldest events rather than slowing anything down.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from cityos.core.logging import get_logger

log = get_logger(__name__)

Key = tuple[str, str]
#: Queued to a stream to end it (the server is stopping).
END: dict[str, Any] = {}


class Listener:
    """One open stream: a bounded queue owned by an event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def offer(self, item: dict[str, Any]) -> None:
        """Queue an item (on the listener's loop), dropping the oldest when full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)


class Broadcaster:
    """Thread-safe fan-out of notifications to the SSE streams of each subscription."""

    def __init__(self, queue_size: int = 256) -> None:
        self._queue_size = queue_size
        self._listeners: dict[Key, list[Listener]] = {}
        self._lock = threading.Lock()

    def has_listeners(self, key: Key) -> bool:
        """Whether any stream of the subscription ``(tenant, id)`` is open."""
        return bool(self._listeners.get(key))

    @contextmanager
    def listen(self, key: Key) -> Iterator[Listener]:
        """Open a stream of ``key`` on the running event loop; closed when the block exits."""
        listener = Listener(asyncio.get_running_loop(), self._queue_size)
        with self._lock:
            self._listeners.setdefault(key, []).append(listener)
        try:
            yield listener
        finally:
            with self._lock:
                remaining = [x for x in self._listeners.get(key, ()) if x is not listener]
                if remaining:
                    self._listeners[key] = remaining
                else:
                    self._listeners.pop(key, None)

    def publish(self, key: Key, notification: dict[str, Any]) -> None:
        """Hand a notification to every stream of ``key`` (from any thread)."""
        for listener in list(self._listeners.get(key, ())):
            try:
                listener.loop.call_soon_threadsafe(listener.offer, notification)
            except RuntimeError:
                log.debug("an SSE stream's event loop is closed", extra={"subscription": key[1]})

    def end_all(self) -> None:
        """End every open stream, e.g. when the server stops (from any thread): their clients
        see the stream close and reconnect to the next server."""
        with self._lock:
            listeners = [x for group in self._listeners.values() for x in group]
        for listener in listeners:
            try:
                listener.loop.call_soon_threadsafe(listener.offer, END)
            except RuntimeError:
                log.debug("an SSE stream's event loop is closed")

    def close(self, key: Key) -> None:
        """Forget the streams of a deleted subscription (they end at their next keep-alive)."""
        with self._lock:
            self._listeners.pop(key, None)


def sse_event(notification: dict[str, Any]) -> bytes:
    """One ``notification`` event (the id lets a client tell events apart)."""
    data = orjson.dumps(notification)
    return b"id: " + notification["id"].encode() + b"\nevent: notification\ndata: " + data + b"\n\n"


async def event_stream(
    broadcaster: Broadcaster, key: Key, keepalive_s: float, still_exists: Any
) -> AsyncIterator[bytes]:
    """The body of an SSE response: events of ``key`` and keep-alive comments.

    ``still_exists()`` is asked at each keep-alive; the stream ends when it turns false (the
    subscription was deleted).
    """
    with broadcaster.listen(key) as listener:
        yield b"retry: 3000\n: connected\n\n"
        while True:
            try:
                item = await asyncio.wait_for(listener.queue.get(), keepalive_s)
            except TimeoutError:
                if not still_exists():
                    return
                yield b": keep-alive\n\n"
                continue
            if item is END:
                return
            yield sse_event(item)
