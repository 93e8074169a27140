"""@context handling (ETSI GS CIM 009 §5.5.7): resolve a request's @context to an ActiveContext.

A request names its @context in the body (``"@context"``) or in a ``Link`` header; the value
is a URL, an inline object, or an array of those. :class:`ContextResolver` turns each
distinct value into an :class:`~cityos.hub.active_context.ActiveContext` once and caches it
(LRU, keyed by the canonical JSON of the value).

Processing follows §5.5.7: the user context is processed first and the NGSI-LD core context
is applied on top of it, always. The core context is protected, and JSON-LD would reject a
user context redefining a protected term; like Orion-LD, CityOS does not fail such
requests: the core definition silently wins and the term is listed in
:attr:`ActiveContext.shadowed_terms`. (A user context that itself includes the core context
and then redefines one of its terms is handled the same way.) A user ``@vocab`` is
superseded by the core context's ``@vocab`` for the same reason.

Remote contexts (top-level URLs, URLs inside arrays, ``@import`` and contexts referenced by
fetched contexts) are fetched once, stored as ``Cached`` in the :class:`ContextStore`, and
reused until ``context_cache_ttl_s`` elapses; a failed refetch falls back to the stored copy.
Core context URLs and URLs of @contexts hosted by this broker never touch the network.

pyld 3.3 computes the JSON-LD active context; its private ``_process_context`` is used to
apply the core context with ``override_protected`` (the pinned version is required).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import orjson
from pyld import jsonld
from pyld.context_resolver import ContextResolver as _PyldContextResolver

from cityos.core.errors import (
    BadRequestData,
    CityOSError,
    InvalidLdContext,
    InvalidRequest,
    LdContextNotAvailable,
    PayloadTooLarge,
    ResourceNotFound,
)
from cityos.core.logging import get_logger
from cityos.core.settings import Settings
from cityos.core.timeutil import utcnow
from cityos.hub.active_context import ActiveContext, ContextValue
from cityos.hub.context_cache import RemoteContextCache
from cityos.hub.context_fetcher import ContextFetcher, is_fetchable_url
from cityos.hub.context_store import (
    CACHED,
    CONTEXT_KINDS,
    CONTEXTS_PATH,
    HOSTED,
    IMPLICITLY_CREATED,
    LOCAL_ID_PREFIX,
    ContextStore,
    MemoryContextStore,
    StoredContext,
    as_datetime,
    local_context_url,
)
from cityos.hub.core_context import (
    CORE_CONTEXT_ALIASES,
    CORE_CONTEXT_URL,
    core_context_bytes,
    core_context_document,
    is_core_context_url,
    unprotected_core_context_document,
)

__all__ = [
    "CORE_CONTEXT_URL",
    "ActiveContext",
    "ContextResolver",
    "ContextStore",
    "ContextValue",
    "MemoryContextStore",
    "StoredContext",
    "canonical_key",
    "local_context_id",
]

logger = get_logger("cityos.hub.jsonld_context")

_IMPLICIT_NAMESPACE = uuid.UUID("8f0c1b7e-4a52-5d0e-9c51-2f1f3d7a6b10")


def canonical_key(context: ContextValue) -> bytes:
    """Canonical JSON of a @context value (object keys sorted): the active-context cache key.

    Raises
    ------
    BadRequestData
        If the value is not JSON-serialisable.
    """
    try:
        return orjson.dumps(context, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise BadRequestData(f"@context is not a JSON value: {exc}") from exc


def local_context_id(url: str) -> str | None:
    """The local id in a ``.../ngsi-ld/v1/jsonldContexts/<id>`` URL, or ``None``."""
    path = urlsplit(url).path
    prefix = CONTEXTS_PATH + "/"
    if not path.startswith(prefix) or len(path) == len(prefix):
        return None
    return unquote(path[len(prefix) :])


class ContextResolver:
    """Resolve @context values to cached :class:`ActiveContext` objects (§5.5.7, §5.13).

    Parameters
    ----------
    store
        Where fetched, hosted and implicitly created @contexts are kept.
    settings
        Uses ``context_fetch_timeout_s``, ``context_max_bytes`` and ``context_cache_ttl_s``.
    http_client
        HTTP client for fetching remote contexts; one is created (and closed by
        :meth:`close`) when omitted.
    max_active_contexts
        How many distinct @context values keep their processed form in memory.
    """

    def __init__(
        self,
        store: ContextStore,
        settings: Settings,
        *,
        http_client: httpx.Client | None = None,
        max_active_contexts: int = 512,
    ) -> None:
        self.store = store
        self.settings = settings
        self._fetcher = ContextFetcher(
            timeout_s=settings.context_fetch_timeout_s,
            max_bytes=settings.context_max_bytes,
            http_client=http_client,
        )
        self._store_lock = threading.Lock()
        self._remote = RemoteContextCache(
            store, self._fetcher, settings.context_cache_ttl_s, self._store_lock
        )
        self._max_active = max_active_contexts
        self._active: OrderedDict[bytes, ActiveContext] = OrderedDict()
        self._active_lock = threading.Lock()
        self._usage: dict[str, tuple[int, datetime]] = {}
        self._usage_lock = threading.Lock()
        self._implicit: dict[bytes, str] = {}
        self._started_at = utcnow()
        self._core_hits = 0
        self._core_last_usage: datetime | None = None
        self._core_mappings: dict[str, str | None] = {}
        self.core = self._build_core()

    # -- resolution -------------------------------------------------------------------------

    def resolve(self, context: ContextValue) -> ActiveContext:
        """The active context for a request's @context value.

        Parameters
        ----------
        context
            A URL, an inline context object, an array of those, or ``None`` (the core
            context alone).

        Raises
        ------
        BadRequestData
            The value (or an inline part of it) is not a valid JSON-LD context (400).
        LdContextNotAvailable
            A remote context cannot be fetched (503); :class:`LdContextTimeout` (504) when
            it did not arrive within ``context_fetch_timeout_s``.
        InvalidLdContext
            A remote context was fetched but is not a valid JSON-LD context (503).
        """
        if context is None:
            return self.core
        key = canonical_key(context)
        now = time.monotonic()
        with self._active_lock:
            active = self._active.get(key)
            if active is not None and active.expires_at > now:
                self._active.move_to_end(key)
            else:
                active = None
        if active is None:
            active = self._build(context)
            with self._active_lock:
                self._active[key] = active
                self._active.move_to_end(key)
                while len(self._active) > self._max_active:
                    self._active.popitem(last=False)
        if active.dependencies:
            self._record_usage(active.dependencies)
        return active

    def context_url(self, active: ActiveContext) -> str:
        """A URL naming ``active``'s @context, for a ``Link`` header (§6.3.5).

        A single URL is returned as it is and no @context means the core context; an inline
        or composite @context gets an ``ImplicitlyCreated`` stored copy, whose broker-relative
        URL (``/ngsi-ld/v1/jsonldContexts/<id>``) is returned.
        """
        source = active.source
        if isinstance(source, str):
            return source
        if source is None:
            return CORE_CONTEXT_URL
        key = canonical_key(source)
        url = self._implicit.get(key)
        if url is not None:
            return url
        context_id = f"{LOCAL_ID_PREFIX}{uuid.uuid5(_IMPLICIT_NAMESPACE, key.decode())}"
        url = local_context_url(context_id)
        with self._store_lock:
            if self.store.get_context(context_id) is None:
                body = {"@context": source}
                self.store.put_context(
                    StoredContext(
                        id=context_id,
                        url=url,
                        kind=IMPLICITLY_CREATED,
                        body=body,
                        created_at=utcnow(),
                        content_length=len(orjson.dumps(body)),
                    )
                )
        self._implicit[key] = url
        return url

    # -- @context management (§5.13) -------------------------------------------------------------

    def host(self, body: Any) -> StoredContext:
        """Store a client's @context document as ``Hosted`` (§5.13.2 Add @context).

        Raises
        ------
        InvalidRequest
            ``body`` is not a JSON object with an ``@context`` member.
        BadRequestData
            ``body`` is not ``{"@context": <object|array|string>}`` or is not a valid context.
        PayloadTooLarge
            The document is larger than ``context_max_bytes``.
        """
        if not isinstance(body, dict) or "@context" not in body:
            raise InvalidRequest("the body must be a JSON object with an @context member")
        extra_members = sorted(set(body) - {"@context"})
        if extra_members:
            raise BadRequestData(
                f"the body must only have an @context member, not {', '.join(extra_members)}"
            )
        value = body["@context"]
        if not isinstance(value, dict | list | str):
            raise BadRequestData("@context must be an object, an array or a URL")
        document = {"@context": value}
        size = len(orjson.dumps(document))
        if size > self.settings.context_max_bytes:
            raise PayloadTooLarge(
                f"the @context is {size} bytes, more than the limit of "
                f"{self.settings.context_max_bytes} bytes"
            )
        self.resolve(value)
        context_id = f"{LOCAL_ID_PREFIX}{uuid.uuid4()}"
        stored = StoredContext(
            id=context_id,
            url=local_context_url(context_id),
            kind=HOSTED,
            body=document,
            created_at=utcnow(),
            content_length=size,
        )
        self.store.put_context(stored)
        return stored

    def list_contexts(self, kind: str | None = None) -> list[StoredContext]:
        """Stored @contexts, optionally of one kind (§5.13.3 List @contexts).

        The built-in core context is listed first, as ``Cached``.
        """
        if kind is not None and kind not in CONTEXT_KINDS:
            raise BadRequestData(
                f"kind must be one of {', '.join(sorted(CONTEXT_KINDS))}, not {kind!r}"
            )
        self.flush_usage()
        contexts = self.store.list_contexts(kind)
        if kind in (None, CACHED):
            contexts.insert(0, self._core_entry())
        return contexts

    def get_context(self, context_id: str, *, record_use: bool = True) -> StoredContext:
        """The stored @context with ``context_id`` (§5.13.4 Serve @context).

        Serving the document counts as a hit; reading its details (``record_use=False``) does
        not, so the details report how often the @context was actually used.

        Raises
        ------
        ResourceNotFound
            No @context is stored under ``context_id``.
        """
        now = utcnow()
        if is_core_context_url(context_id):
            if record_use:
                with self._usage_lock:
                    self._core_hits += 1
                    self._core_last_usage = now
            return self._core_entry()
        self.flush_usage()
        with self._store_lock:
            stored = self.store.get_context(context_id)
            if stored is None:
                raise ResourceNotFound(f"no @context is stored with id {context_id!r}")
            if record_use:
                stored = replace(stored, number_of_hits=stored.number_of_hits + 1, last_usage=now)
                self.store.put_context(stored)
        return stored

    def delete_context(self, context_id: str, *, reload: bool = False) -> None:
        """Delete a stored @context, or refetch a ``Cached`` one (§5.13.5 Delete @context).

        Raises
        ------
        BadRequestData
            Deleting the core context, or ``reload`` on a context that is not ``Cached``.
        ResourceNotFound
            No @context is stored under ``context_id``.
        LdContextNotAvailable
            ``reload`` failed; the previously cached copy is kept.
        """
        if is_core_context_url(context_id):
            if reload:
                return
            raise BadRequestData("the NGSI-LD core @context is built in and cannot be deleted")
        stored = self.store.get_context(context_id)
        if stored is None:
            raise ResourceNotFound(f"no @context is stored with id {context_id!r}")
        if reload:
            if stored.kind != CACHED:
                raise BadRequestData(
                    f"@context {context_id} is {stored.kind}: only Cached ones can be reloaded"
                )
            self._remote.refresh(stored.url, time.monotonic() + self._fetcher.timeout_s)
        elif not self.store.delete_context(context_id):
            raise ResourceNotFound(f"no @context is stored with id {context_id!r}")
        self._evict_dependents(context_id)

    def expires_at(self, stored: StoredContext) -> datetime | None:
        """When a ``Cached`` context will be refetched (UTC), else ``None``."""
        if stored.kind != CACHED or stored.extra.get("builtin"):
            return None
        return self._remote.expires_at(stored)

    def flush_usage(self) -> None:
        """Write the usage counters gathered in memory to the store."""
        with self._usage_lock:
            pending, self._usage = self._usage, {}
        if not pending:
            return
        with self._store_lock:
            for key, (count, last) in pending.items():
                stored = self.store.get_context(key)
                if stored is None:
                    continue
                previous = as_datetime(stored.last_usage)
                if previous is not None and previous > last:
                    last = previous
                self.store.put_context(
                    replace(stored, number_of_hits=stored.number_of_hits + count, last_usage=last)
                )

    def close(self) -> None:
        """Stop background fetches and close the HTTP client if this resolver created it."""
        self._remote.close()
        self._fetcher.close()

    # -- building ---------------------------------------------------------------------------

    def _build_core(self) -> ActiveContext:
        processor = jsonld.JsonLdProcessor()
        options = self._pyld_options(self._no_remote)
        processed = processor.process_context(
            processor._get_initial_context(options), core_context_document(), options
        )
        self._core_mappings = {
            term: (definition.get("@id") if definition else None)
            for term, definition in processed["mappings"].items()
        }
        return ActiveContext(CORE_CONTEXT_URL, processed)

    def _build(self, context: ContextValue) -> ActiveContext:
        items = context if isinstance(context, list) else [context]
        _check_items(items)
        if all(is_core_context_url(item) for item in items):
            return self.core.with_source(context)
        deadline = time.monotonic() + self._fetcher.timeout_s
        dependencies: dict[str, float] = {}
        loader = partial(self._load_document, deadline=deadline, dependencies=dependencies)
        processor = jsonld.JsonLdProcessor()
        options = self._pyld_options(loader)
        try:
            user = processor.process_context(
                processor._get_initial_context(options), items, options
            )
            processed = processor._process_context(
                user, core_context_document(), options, override_protected=True
            )
        except CityOSError:
            raise
        except Exception as exc:
            raise self._invalid_context(exc, items, dependencies, loader) from exc
        shadowed = frozenset(
            term
            for term, definition in user["mappings"].items()
            if term in self._core_mappings
            and (definition.get("@id") if definition else None) != self._core_mappings[term]
        )
        if shadowed:
            logger.debug(
                "user @context redefines core terms; the core definitions apply",
                extra={"terms": sorted(shadowed)},
            )
        return ActiveContext(
            context,
            processed,
            dependencies=frozenset(dependencies),
            shadowed_terms=shadowed,
            expires_at=min(dependencies.values(), default=math.inf),
        )

    @staticmethod
    def _pyld_options(loader: Any) -> dict[str, Any]:
        return {
            "base": "",
            "processingMode": "json-ld-1.1",
            "documentLoader": loader,
            "contextResolver": _PyldContextResolver({}, loader),
        }

    def _invalid_context(
        self, exc: Exception, items: list[Any], dependencies: dict[str, float], loader: Any
    ) -> CityOSError:
        cause = _cityos_cause(exc)
        if cause is not None:
            return cause
        reason = _describe(exc)
        if not dependencies:
            return BadRequestData(f"invalid JSON-LD @context: {reason}")
        processor = jsonld.JsonLdProcessor()
        for item in items:
            if not isinstance(item, dict):
                continue
            options = self._pyld_options(loader)
            try:
                processor.process_context(processor._get_initial_context(options), item, options)
            except Exception as inline_exc:
                return BadRequestData(f"invalid JSON-LD @context: {_describe(inline_exc)}")
        return InvalidLdContext(
            f"invalid JSON-LD @context {', '.join(sorted(dependencies))}: {reason}"
        )

    # -- document loading -------------------------------------------------------------------

    @staticmethod
    def _no_remote(url: str, options: Any = None) -> dict[str, Any]:
        raise LdContextNotAvailable(f"@context {url} not available while loading the core")

    def _load_document(
        self, url: str, options: Any = None, *, deadline: float, dependencies: dict[str, float]
    ) -> dict[str, Any]:
        """pyld document loader: core and hosted contexts locally, the rest via the cache."""
        if is_core_context_url(url):
            return _remote_document(url, unprotected_core_context_document())
        local_id = local_context_id(url)
        stored = self.store.get_context(local_id) if local_id else None
        if stored is not None and stored.kind != CACHED:
            dependencies[stored.id] = math.inf
            return _remote_document(url, orjson.loads(orjson.dumps(stored.body)))
        if stored is None and not is_fetchable_url(url):
            if local_id:
                raise LdContextNotAvailable(f"@context {url} not available: no such @context")
            raise BadRequestData(
                f"@context {url!r} cannot be used: only http and https URLs can be fetched"
            )
        stored = self._remote.get(stored.id if stored else url, deadline)
        remaining = (self._remote.expires_at(stored) - utcnow()).total_seconds()
        dependencies[stored.id] = time.monotonic() + max(remaining, 0.0)
        document_url = stored.extra.get("documentUrl", stored.url)
        return _remote_document(document_url, orjson.loads(orjson.dumps(stored.body)))

    # -- bookkeeping ------------------------------------------------------------------------

    def _record_usage(self, keys: frozenset[str]) -> None:
        now = utcnow()
        with self._usage_lock:
            for key in keys:
                count = self._usage.get(key, (0, now))[0]
                self._usage[key] = (count + 1, now)

    def _evict_dependents(self, context_id: str) -> None:
        url = local_context_url(context_id)
        with self._active_lock:
            for key in [k for k, a in self._active.items() if context_id in a.dependencies]:
                del self._active[key]
            for key in [k for k, u in self._implicit.items() if u == url]:
                del self._implicit[key]

    def _core_entry(self) -> StoredContext:
        return StoredContext(
            id=CORE_CONTEXT_URL,
            url=CORE_CONTEXT_URL,
            kind=CACHED,
            body=core_context_document(),
            created_at=self._started_at,
            last_usage=self._core_last_usage,
            number_of_hits=self._core_hits,
            content_length=len(core_context_bytes()),
            extra={"builtin": True, "aliases": sorted(CORE_CONTEXT_ALIASES - {CORE_CONTEXT_URL})},
        )


def _check_items(items: list[Any]) -> None:
    for item in items:
        if item is None or isinstance(item, dict):
            continue
        if isinstance(item, str):
            if is_core_context_url(item) or is_fetchable_url(item) or local_context_id(item):
                continue
            raise BadRequestData(
                f"@context {item!r} cannot be used: only http and https URLs can be fetched"
            )
        raise BadRequestData(f"invalid @context entry {item!r}: expected a URL or an object")


def _remote_document(url: str, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
    }


def _cityos_cause(exc: BaseException | None) -> CityOSError | None:
    while exc is not None:
        if isinstance(exc, CityOSError):
            return exc
        exc = exc.__cause__
    return None


def _describe(exc: BaseException) -> str:
    """A readable account of a pyld error and its causes."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 4:
        message = str(current.args[0]) if current.args else type(current).__name__
        details = getattr(current, "details", None)
        if isinstance(details, dict):
            if details.get("term"):
                message += f" (term {details['term']!r})"
            if details.get("url"):
                message += f" (url {details['url']})"
        if message not in parts:
            parts.append(message)
        current = current.__cause__
    return "; ".join(parts)
