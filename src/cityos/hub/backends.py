"""Choosing a storage backend from ``CITYOS_DATABASE_URL`` and assembling a :class:`Hub`."""

from __future__ import annotations

from urllib.parse import urlparse

from cityos.core.settings import Settings
from cityos.hub.broker import Hub
from cityos.hub.jsonld_context import ContextResolver
from cityos.hub.storage.base import Storage
from cityos.hub.storage.sqlite import SQLiteStorage

#: URL schemes -> backend names, in one visible place.
BACKENDS = {
    "sqlite": "SQLite (embedded, default)",
    "postgresql": "PostgreSQL + PostGIS",
}


def open_storage(url: str) -> Storage:
    """Open the storage named by ``url``.

    ``sqlite:///path`` or ``sqlite:///:memory:`` open the embedded SQLite backend;
    ``postgresql://user@host:port/database`` (or ``postgres://``) the PostgreSQL + PostGIS
    backend, migrating its schema (see :mod:`cityos.hub.storage.postgres`).

    Raises
    ------
    ValueError
        For an unknown scheme, naming the known ones.
    """
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else parsed.path
        if not path:
            raise ValueError(f"no file in SQLite URL {url!r}; use sqlite:///path/to/hub.db")
        return SQLiteStorage(path)
    if parsed.scheme in ("postgresql", "postgres"):
        from cityos.hub.storage.postgres import PostgresStorage

        return PostgresStorage(url)
    known = ", ".join(f"{scheme}:// ({label})" for scheme, label in BACKENDS.items())
    raise ValueError(f"unknown storage URL scheme {parsed.scheme!r} in {url!r}; known: {known}")


def open_hub(settings: Settings) -> Hub:
    """A hub on the storage that ``settings`` name, with the built-in plugins registered."""
    storage = open_storage(settings.resolved_database_url())
    resolver = ContextResolver(storage.contexts, settings)  # type: ignore[attr-defined]
    hub = Hub(storage, resolver, settings)
    register_builtin_plugins(hub)
    return hub


def register_builtin_plugins(hub: Hub) -> None:
    """Register the hub's built-in plugins, in one visible place.

    * ``cityos.temporal.recorder``: records the history of every change (temporal API), when
      the backend has a temporal store (``storage.temporal``) and ``CITYOS_TEMPORAL_ENABLED``.
    * ``cityos.subscriptions``: matches every change against the subscriptions and queues the
      notifications in the same transaction (the backend's ``storage.subscriptions`` outbox).
    """
    from cityos.hub.subscriptions.service import install as install_subscriptions
    from cityos.hub.temporal.recording import HistoryRecorder

    store = getattr(hub.storage, "temporal", None)
    if store is not None and hub.settings.temporal_enabled:
        hub.plugins.register(HistoryRecorder(store), name="cityos.temporal.recorder")
    install_subscriptions(hub)
