"""The storage protocol every hub backend implements (SQLite, then PostgreSQL/PostGIS).

The broker (:mod:`cityos.hub.broker`) owns NGSI-LD semantics; a backend only stores internal
:class:`~cityos.hub.model.Entity` objects per tenant, answers filtered queries, and guarantees
that a transaction either commits whole or leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from cityos.hub.geo import GeoQuery
from cityos.hub.model import Entity
from cityos.hub.type_selection import TypeSelection

#: The tenant used when a request carries no ``NGSILD-Tenant`` header.
DEFAULT_TENANT = ""


@dataclass(frozen=True)
class EntitySelector:
    """One ``entities`` member of a query or subscription (§5.2.33): all given parts must match."""

    id: str | None = None
    id_pattern: str | None = None
    types: TypeSelection | None = None


@dataclass(frozen=True)
class EntityFilter:
    """What a query selects (ETSI GS CIM 009 §5.7.2). Every name is already expanded.

    Attributes
    ----------
    ids
        Entity ids to select (``id=``), or None.
    id_pattern
        A regular expression the id must match (``idPattern=``), or None.
    types
        A type selection in disjunctive normal form, or None for any type.
    q
        A parsed NGSI-LD query (:mod:`cityos.hub.query_language`), or None.
    expand
        Expands attribute names in ``q``.
    attrs_any
        When given, an entity must have at least one of these attributes (``attrs=``/``pick=``).
    geo
        A geo-query, or None; ``geoproperty`` is its expanded attribute IRI.
    selectors
        Alternatives (any may match), from the ``entities`` member of a POSTed query.
    """

    ids: tuple[str, ...] | None = None
    id_pattern: str | None = None
    types: TypeSelection | None = None
    q: Any = None
    expand: Callable[[str], str] | None = None
    attrs_any: frozenset[str] | None = None
    geo: GeoQuery | None = None
    geoproperty: str | None = None
    selectors: tuple[EntitySelector, ...] | None = None


@dataclass
class QueryPage:
    """One page of query results; ``count`` is set when the caller asked for it."""

    entities: list[Entity]
    count: int | None = None


@dataclass
class AttributeSummary:
    """Discovery facts about one attribute (ETSI GS CIM 009 §5.7.8)."""

    iri: str
    count: int = 0
    attribute_types: set[str] = field(default_factory=set)
    type_names: set[str] = field(default_factory=set)


class Transaction(Protocol):
    """Writes within one tenant that commit together (or not at all).

    ``conn`` is the backend's connection inside the open transaction: backend-specific stores
    (temporal history, notification outbox) write through it so their rows commit with the
    entity writes.
    """

    tenant: str
    conn: Any

    def get(self, ids: Iterable[str]) -> dict[str, Entity]:
        """Current state of the named entities that exist."""
        ...

    def insert(self, entities: list[Entity]) -> None:
        """Store new entities (their ids are known not to exist)."""
        ...

    def update(self, entities: list[Entity]) -> None:
        """Replace the stored state of existing entities."""
        ...

    def delete(self, ids: list[str]) -> None:
        """Remove existing entities."""
        ...


class Storage(Protocol):
    """A hub storage backend."""

    def tenant_exists(self, tenant: str) -> bool:
        """Whether the tenant has ever been written to."""
        ...

    def tenants(self) -> list[str]:
        """Every tenant name (the default tenant is ``""``)."""
        ...

    def transaction(self, tenant: str) -> AbstractContextManager[Transaction]:
        """A write transaction; creates the tenant if needed. Commits on clean exit."""
        ...

    def get_entities(self, tenant: str, ids: Iterable[str]) -> dict[str, Entity]:
        """Read entities by id."""
        ...

    def query(
        self, tenant: str, flt: EntityFilter, *, limit: int, offset: int, count: bool
    ) -> QueryPage:
        """Entities matching ``flt`` in a stable order (insertion; by distance for ``near``)."""
        ...

    def type_counts(self, tenant: str) -> dict[str, int]:
        """Expanded entity type -> number of entities of that type."""
        ...

    def attribute_summaries(
        self, tenant: str, types: Iterable[str] | None = None
    ) -> dict[str, AttributeSummary]:
        """Expanded attribute IRI -> discovery facts, optionally for entities of given types."""
        ...

    def iter_entities(self, tenant: str) -> Iterator[Entity]:
        """Every entity of a tenant (for export)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
