"""Scopes enforced inside the hub, per entity type: the hooks see every entity a request touches,
whatever the route (single, batch, temporal), so a token scoped to one type cannot reach
another through a query without ``type=`` or a batch.

* reads (``hub_filter_entities``): entities of a type the caller may not read are left out;
* writes (``hub_validate_entity``): an entity of a type the caller may not write is refused (403);
* deletes (``hub_before_commit``): deleting an entity of a type the caller may not delete aborts
  the write (403).
"""

from __future__ import annotations

from typing import Any

from cityos.hub.hookspecs import hookimpl
from cityos.privacy.access import current_access
from cityos.privacy.errors import Forbidden
from cityos.privacy.scopes import allowed, short_name


def _covered(scopes: Any, operation: str, tenant: str, types: list[str]) -> bool:
    return all(allowed(scopes, operation, tenant, t) for t in types)


class ScopeGuard:
    """The type-level scope checks, as hub hooks."""

    @hookimpl
    def hub_filter_entities(
        self, entities: list[Any], tenant: str, purpose: str | None
    ) -> list[Any] | None:
        access = current_access()
        if access is None or not access.enforced or purpose == "notification":
            return None
        scopes = access.principal.scopes
        if any(s.entity_type == "*" and s.allows("read", tenant) for s in scopes):
            return None  # every type is readable: nothing to check per entity
        if all(_covered(scopes, "read", tenant, e.types) for e in entities):
            return None
        return [e for e in entities if _covered(scopes, "read", tenant, e.types)]

    @hookimpl
    def hub_validate_entity(self, entity: Any, tenant: str, operation: str) -> None:
        access = current_access()
        if access is None or not access.enforced:
            return
        for entity_type in entity.types:
            if not allowed(access.principal.scopes, "write", tenant, entity_type):
                raise Forbidden(
                    f"the token has no 'write' scope on type {short_name(entity_type)!r}",
                    instance=entity.id,
                )

    @hookimpl
    def hub_before_commit(self, transaction: Any, tenant: str, changes: list[Any]) -> None:
        access = current_access()
        if access is None or not access.enforced:
            return
        for change in changes:
            if change.kind != "delete" or change.before is None:
                continue
            for entity_type in change.before.types:
                if not allowed(access.principal.scopes, "delete", tenant, entity_type):
                    raise Forbidden(
                        f"the token has no 'delete' scope on type {short_name(entity_type)!r}",
                        instance=change.entity_id,
                    )
