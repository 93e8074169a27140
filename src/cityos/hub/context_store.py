"""Storage of JSON-LD @context documents (@context Management, ETSI GS CIM 009 §5.13).

The broker keeps three kinds of @context documents (§5.13.1):

``Hosted``
    uploaded by a client with ``POST /ngsi-ld/v1/jsonldContexts`` and served by the broker;
``Cached``
    fetched from a remote URL while resolving a request's @context and reused until the
    cache TTL elapses;
``ImplicitlyCreated``
    created by the broker itself, for example to give an inline @context a URL that can be
    echoed in a ``Link`` header.

:class:`ContextStore` is all the :class:`~cityos.hub.jsonld_context.ContextResolver` needs
from a storage backend; :class:`MemoryContextStore` implements it in process memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol, runtime_checkable

from cityos.core.timeutil import parse_datetime

HOSTED: Final = "Hosted"
CACHED: Final = "Cached"
IMPLICITLY_CREATED: Final = "ImplicitlyCreated"
CONTEXT_KINDS: Final = frozenset({HOSTED, CACHED, IMPLICITLY_CREATED})

CONTEXTS_PATH: Final = "/ngsi-ld/v1/jsonldContexts"
"""Where the broker serves stored @contexts (§6.3.x, ``/jsonldContexts/{contextId}``)."""

LOCAL_ID_PREFIX: Final = "urn:ngsi-ld:jsonldcontext:"
"""Prefix of the identifiers of Hosted and ImplicitlyCreated @contexts."""


def local_context_url(context_id: str) -> str:
    """The broker-relative URL a Hosted or ImplicitlyCreated @context is served at."""
    return f"{CONTEXTS_PATH}/{context_id}"


def as_datetime(value: datetime | str | None) -> datetime | None:
    """A stored timestamp as an aware datetime; ISO 8601 strings (as some backends return
    them, possibly with a space between date and time) are parsed, ``None`` stays ``None``."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str) and "T" not in value and " " in value:
        value = value.replace(" ", "T", 1)
    return parse_datetime(value)


@dataclass(frozen=True, slots=True)
class StoredContext:
    """One stored @context document and its bookkeeping (§5.13.1).

    Attributes
    ----------
    id
        The store key and the ``localId`` of the API: the URL itself for ``Cached``
        contexts, ``urn:ngsi-ld:jsonldcontext:<uuid>`` for the other kinds.
    url
        Where the document lives: the remote URL for ``Cached`` contexts, the broker-relative
        ``/ngsi-ld/v1/jsonldContexts/<id>`` for the other kinds.
    kind
        ``"Hosted"``, ``"Cached"`` or ``"ImplicitlyCreated"``.
    body
        The whole JSON document, ``{"@context": ...}``.
    created_at
        When the document was first stored (timezone-aware UTC).
    last_usage
        When a request last used the document, or ``None`` if never.
    number_of_hits
        How many times requests used or fetched the document.
    content_length
        Size of the document [bytes] (as fetched for ``Cached``, as serialised otherwise).
    extra
        Backend-independent bookkeeping, JSON-serialisable (for ``Cached``: ``fetchedAt``,
        ``retryAfter``, ``lastError``, ``documentUrl``).
    """

    id: str
    url: str
    kind: str
    body: dict[str, Any]
    created_at: datetime
    last_usage: datetime | None = None
    number_of_hits: int = 0
    content_length: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ContextStore(Protocol):
    """What the @context resolver needs from storage.

    Implementations must be safe to call from several threads at once. Every method is a
    single, atomic operation; the resolver never relies on transactions spanning calls.
    """

    def get_context(self, key: str) -> StoredContext | None:
        """Return the context stored under ``key`` (its :attr:`StoredContext.id`).

        Returns ``None`` when there is none; never raises for an unknown key.
        """
        ...

    def put_context(self, context: StoredContext) -> None:
        """Insert ``context``, or replace the one with the same ``id`` entirely."""
        ...

    def delete_context(self, key: str) -> bool:
        """Remove the context stored under ``key``; return whether there was one."""
        ...

    def list_contexts(self, kind: str | None = None) -> list[StoredContext]:
        """All stored contexts, or only those of ``kind``, oldest ``created_at`` first."""
        ...


class MemoryContextStore:
    """A thread-safe, in-process :class:`ContextStore` (tests and single-process use)."""

    def __init__(self) -> None:
        self._items: dict[str, StoredContext] = {}
        self._lock = threading.Lock()

    def get_context(self, key: str) -> StoredContext | None:
        """Return the context stored under ``key``, or ``None``."""
        with self._lock:
            return self._items.get(key)

    def put_context(self, context: StoredContext) -> None:
        """Insert or replace ``context`` (keyed by its ``id``)."""
        with self._lock:
            self._items[context.id] = context

    def delete_context(self, key: str) -> bool:
        """Remove the context under ``key``; return whether it existed."""
        with self._lock:
            return self._items.pop(key, None) is not None

    def list_contexts(self, kind: str | None = None) -> list[StoredContext]:
        """All contexts (optionally of one ``kind``), oldest first."""
        with self._lock:
            items = [c for c in self._items.values() if kind is None or c.kind == kind]
        return sorted(items, key=lambda c: c.created_at)
