"""Choosing a storage backend from ``CITYOS_DATABASE_URL`` and assembling a :class:`Hub`."""

from __future__ import annotations

from urllib.parse import urlparse

from cityos.core.settings import Settings
from cityos.hub.broker import Hub
from cityos.hub.jsonld_context import ContextResolver
from cityos.hub.storage.base import Storage
from cityos.hub.storage.sqlite import SQLiteStorage

#: URL schemes -> backend names, in one visible place.
BACKENDS = {"sqlite": "SQLite (embedded, default)"}


def open_storage(url: str) -> Storage:
    """Open the storage named by ``url`` (``sqlite:///path`` or ``sqlite:///:memory:``).

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
    known = ", ".join(f"{scheme}:// ({label})" for scheme, label in BACKENDS.items())
    raise ValueError(f"unknown storage URL scheme {parsed.scheme!r} in {url!r}; known: {known}")


def open_hub(settings: Settings) -> Hub:
    """A hub on the storage that ``settings`` name, with the built-in plugins registered."""
    storage = open_storage(settings.resolved_database_url())
    resolver = ContextResolver(storage.contexts, settings)  # type: ignore[attr-defined]
    return Hub(storage, resolver, settings)
