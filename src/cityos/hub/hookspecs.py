"""Extension points of the hub, as pluggy hooks (the Datasette pattern).

The layers above the hub (privacy, ledger, iot) plug in here; the hub never imports them. Every
hook receives keyword arguments only, so new arguments can be added without breaking plugins.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "cityos.hub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def hub_validate_entity(entity: Any, tenant: str, operation: str) -> None:
    """Check an entity before it is written; raise a :class:`~cityos.core.errors.CityOSError`
    subclass to refuse it. ``operation`` is ``create``, ``replace``, ``merge``, ``append``,
    ``update`` or ``upsert``. ``entity`` is the internal :class:`~cityos.hub.model.Entity` as it
    will be stored."""


@hookspec
def hub_filter_entities(entities: list[Any], tenant: str, purpose: str | None) -> list[Any] | None:
    """Filter or redact entities on every read, before they are rendered.

    Return a new list to replace ``entities`` (implementations are chained in registration
    order), or None to leave them as they are."""


@hookspec
def hub_before_commit(transaction: Any, tenant: str, changes: list[Any]) -> None:
    """Called inside a write transaction, after the entity writes and before the commit, with
    one :class:`~cityos.hub.broker.Change` per created, updated or deleted entity.

    Implementations may write their own rows through ``transaction`` (a backend
    :class:`~cityos.hub.storage.base.Transaction`) so that they commit, or roll back, together with
    the change: the temporal history and the notification outbox use this. Raising aborts the
    whole write."""


@hookspec
def hub_after_commit(tenant: str, changes: list[Any]) -> None:
    """Called after a write transaction commits, with one
    :class:`~cityos.hub.broker.Change` per created, updated or deleted entity."""


def plugin_manager() -> pluggy.PluginManager:
    """A plugin manager with the hub's hookspecs and any installed ``cityos.hub`` plugins."""
    manager = pluggy.PluginManager(PROJECT)
    from cityos.hub import hookspecs

    manager.add_hookspecs(hookspecs)
    manager.load_setuptools_entrypoints(PROJECT)
    return manager
